/**
 * Seeded randomness and Keras's weight initialisers.
 *
 * Nothing in lib/ uses the global, unseeded generator: every random draw comes from an `Rng`
 * made from a seed, so the same seed gives bit-identical results.
 */
import { Tensor, type Shape, shapeStr, fromGenerator } from "./matrix.ts";

/** xoshiro128** seeded through splitmix32: small, fast and good enough for initialisers and shuffling. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    // splitmix32 spreads any seed over the four state words.
    let x = seed >>> 0 ^ Math.floor(seed / 4294967296);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform on [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Normal with the given mean and standard deviation (Box–Muller; the second draw is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in 0..n-1. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** An independent generator derived from this one (for a sub-task such as one model of a grid). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------- tensors

export function uniformTensor(shape: Shape, lo: number, hi: number, rng: Rng): Tensor {
  return fromGenerator(shape, () => rng.uniform(lo, hi));
}

export function normalTensor(shape: Shape, mean: number, std: number, rng: Rng): Tensor {
  return fromGenerator(shape, () => rng.normal(mean, std));
}

// ---------------------------------------------------------------- Keras initialisers

/**
 * Keras's fans: a matrix (in, out) has fan_in = in and fan_out = out; a conv
 * kernel (kh, kw, Cin, Cout) has fan_in = kh·kw·Cin and fan_out = kh·kw·Cout.
 * A packed recurrent kernel (in, k·units) is a matrix, so fan_out = k·units.
 */
export function computeFans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 1) throw new Error(`computeFans: shape ${shapeStr(shape)} has no dimensions`);
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: receptive * shape[shape.length - 2], fanOut: receptive * shape[shape.length - 1] };
}

/** glorot_uniform: U(−limit, limit) with limit = √(6 / (fan_in + fan_out)). Keras's default kernel initialiser. */
export function glorotUniform(shape: Shape, rng: Rng): Tensor {
  const { fanIn, fanOut } = computeFans(shape);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return uniformTensor(shape, -limit, limit, rng);
}

/** zeros: Keras's default bias initialiser. */
export function zerosInit(shape: Shape): Tensor {
  return new Tensor(shape);
}

/**
 * orthogonal: Keras's default recurrent-kernel initialiser. For a shape
 * (rows, cols) it draws a normal matrix of shape (max, min), factors it as
 * Q·R by Householder reflections, multiplies each column of Q by the sign of
 * R's diagonal entry (so the result is uniformly distributed over orthogonal
 * matrices), and transposes when rows < cols. Rows (or columns) come out
 * orthonormal: QᵀQ = I.
 */
export function orthogonal(shape: Shape, rng: Rng, gain = 1): Tensor {
  if (shape.length < 2) throw new Error(`orthogonal: needs at least 2 dimensions, got ${shapeStr(shape)}`);
  const cols = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const m = Math.max(rows, cols), n = Math.min(rows, cols);
  const a = normalTensor([m, n], 0, 1, rng);
  const { Q, rDiag } = householderQR(a);
  // q ← q · sign(diag(r))
  for (let j = 0; j < n; j++) {
    const s = rDiag[j] < 0 ? -1 : 1;
    for (let i = 0; i < m; i++) Q.data[i * n + j] *= s;
  }
  const out = new Tensor([rows, cols]);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      // rows < cols: the result is Qᵀ.
      out.data[i * cols + j] = gain * (rows < cols ? Q.data[j * n + i] : Q.data[i * n + j]);
    }
  }
  return out.reshape(shape);
}

/**
 * The thin QR factorisation of A (m, n), m ≥ n, by Householder reflections: Q (m, n) and the diagonal of R.
 *
 * Fast path of householderQRNaive, bit-identical to it: the same reflections,
 * each column's dot product summed in the same order i = j, j+1, …, m−1. The
 * naive version's time goes into those dot products, each one long chain of
 * dependent additions (every add waits for the previous one). Here a
 * reflection is applied to eight columns at a time (reflectColumns): eight
 * independent chains run side by side and v[i] is read once for all eight.
 * Q is formed the same way: H_{n−1} first, then H_{n−2}, …, H_0, each applied
 * to all columns c ≥ j, which is per column the naive order H_c, H_{c−1}, …, H_0.
 */
export function householderQR(A: Tensor): { Q: Tensor; rDiag: Float64Array } {
  const [m, n] = A.shape;
  if (A.rank !== 2 || m < n) throw new Error(`householderQR: expected a matrix (m, n) with m ≥ n, got ${shapeStr(A.shape)}`);
  // Column-major: column c of A is a[c·m … c·m + m), reduced in place to R.
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let c = 0; c < n; c++) a[c * m + i] = A.data[i * n + c];
  const vs = new Float64Array(n * m); // v_j is vs[j·m … j·m + m), zero above row j
  const rDiag = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // v = x − α e_j with α = −sign(x_j)‖x‖, for x the column below the diagonal; H = I − 2vvᵀ/vᵀv.
    const x = j * m, v = j * m;
    let norm = 0;
    for (let i = j; i < m; i++) norm += a[x + i] * a[x + i];
    norm = Math.sqrt(norm);
    const alpha = a[x + j] >= 0 ? -norm : norm;
    for (let i = j; i < m; i++) vs[v + i] = a[x + i];
    vs[v + j] -= alpha;
    let vv = 0;
    for (let i = j; i < m; i++) vv += vs[v + i] * vs[v + i];
    if (vv > 0) {
      const inv = 1 / Math.sqrt(vv);
      for (let i = j; i < m; i++) vs[v + i] *= inv; // now H = I − 2vvᵀ
      reflectColumns(a, m, n, vs, j);
    }
    rDiag[j] = a[x + j];
  }
  // Q = H_0 H_1 … H_{n−1} applied to the first n columns of I.
  const q = new Float64Array(m * n);
  for (let c = 0; c < n; c++) q[c * m + c] = 1;
  for (let j = n - 1; j >= 0; j--) reflectColumns(q, m, n, vs, j);
  const Q = new Tensor([m, n]);
  for (let c = 0; c < n; c++) for (let i = 0; i < m; i++) Q.data[i * n + c] = q[c * m + i];
  return { Q, rDiag };
}

/**
 * Columns j … n−1 of M (column-major, columns of length m), rows i ≥ j:
 * M ← (I − 2vvᵀ) M with v = vs[j·m …]. Per column: s = Σ_{i≥j} v_i M_ic in
 * order of i, then M_ic −= 2s·v_i; eight columns share one pass over v.
 */
function reflectColumns(M: Float64Array, m: number, n: number, vs: Float64Array, j: number): void {
  const v = j * m;
  let c = j;
  for (; c + 8 <= n; c += 8) {
    const o0 = c * m, o1 = o0 + m, o2 = o1 + m, o3 = o2 + m, o4 = o3 + m, o5 = o4 + m, o6 = o5 + m, o7 = o6 + m;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let i = j; i < m; i++) {
      const vi = vs[v + i];
      s0 += vi * M[o0 + i]; s1 += vi * M[o1 + i]; s2 += vi * M[o2 + i]; s3 += vi * M[o3 + i];
      s4 += vi * M[o4 + i]; s5 += vi * M[o5 + i]; s6 += vi * M[o6 + i]; s7 += vi * M[o7 + i];
    }
    s0 *= 2; s1 *= 2; s2 *= 2; s3 *= 2; s4 *= 2; s5 *= 2; s6 *= 2; s7 *= 2;
    for (let i = j; i < m; i++) {
      const vi = vs[v + i];
      M[o0 + i] -= s0 * vi; M[o1 + i] -= s1 * vi; M[o2 + i] -= s2 * vi; M[o3 + i] -= s3 * vi;
      M[o4 + i] -= s4 * vi; M[o5 + i] -= s5 * vi; M[o6 + i] -= s6 * vi; M[o7 + i] -= s7 * vi;
    }
  }
  for (; c < n; c++) {
    const o = c * m;
    let s = 0;
    for (let i = j; i < m; i++) s += vs[v + i] * M[o + i];
    s *= 2;
    for (let i = j; i < m; i++) M[o + i] -= s * vs[v + i];
  }
}

/**
 * The reference for householderQR: the same thin QR, one column at a time
 * (every reflection's dot product and update run down one column, the columns
 * kept as separate contiguous arrays). Slower, because each column's dot
 * product is one long chain of dependent additions. householderQR does the same
 * arithmetic in the same order and agrees bit for bit (test/random.test.ts).
 */
export function householderQRNaive(A: Tensor): { Q: Tensor; rDiag: Float64Array } {
  const [m, n] = A.shape;
  if (A.rank !== 2 || m < n) throw new Error(`householderQRNaive: expected a matrix (m, n) with m ≥ n, got ${shapeStr(A.shape)}`);
  // Work on columns: cols[c] is column c of A, contiguous, so every inner loop runs along memory.
  const cols: Float64Array[] = [];
  for (let c = 0; c < n; c++) {
    const col = new Float64Array(m);
    for (let i = 0; i < m; i++) col[i] = A.data[i * n + c];
    cols.push(col);
  }
  const vs: Float64Array[] = [];
  const rDiag = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // v = x − α e_j with α = −sign(x_j)‖x‖, for x the column below the diagonal; H = I − 2vvᵀ/vᵀv.
    const x = cols[j];
    let norm = 0;
    for (let i = j; i < m; i++) norm += x[i] * x[i];
    norm = Math.sqrt(norm);
    const alpha = x[j] >= 0 ? -norm : norm;
    const v = new Float64Array(m);
    for (let i = j; i < m; i++) v[i] = x[i];
    v[j] -= alpha;
    let vv = 0;
    for (let i = j; i < m; i++) vv += v[i] * v[i];
    if (vv > 0) {
      const inv = 1 / Math.sqrt(vv);
      for (let i = j; i < m; i++) v[i] *= inv; // now H = I − 2vvᵀ
      for (let c = j; c < n; c++) {
        const col = cols[c];
        let s = 0;
        for (let i = j; i < m; i++) s += v[i] * col[i];
        s *= 2;
        for (let i = j; i < m; i++) col[i] -= s * v[i];
      }
    }
    vs.push(v);
    rDiag[j] = cols[j][j];
  }
  // Q = H_0 H_1 … H_{n−1} applied to the first n columns of I, column by column.
  const Q = new Tensor([m, n]);
  for (let c = 0; c < n; c++) {
    const q = new Float64Array(m);
    q[c] = 1;
    for (let j = Math.min(c, n - 1); j >= 0; j--) {
      const v = vs[j];
      let s = 0;
      for (let i = j; i < m; i++) s += v[i] * q[i];
      s *= 2;
      for (let i = j; i < m; i++) q[i] -= s * v[i];
    }
    for (let i = 0; i < m; i++) Q.data[i * n + c] = q[i];
  }
  return { Q, rDiag };
}
