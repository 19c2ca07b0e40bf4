/**
 * The spectral norm ‖A‖₂ = σ_max(A) by the Lanczos method on AᵀA.
 *
 * Power iteration (matrix.ts `spectralNorm`, the reference) converges like
 * (σ₂/σ₁)^(2i): slowly when the two largest singular values are close, as for a
 * product of Jacobians whose leading eigenvalues are a complex pair. Lanczos
 * keeps every vector it has made: after j steps it has the best estimate of σ₁²
 * in the Krylov space span{v, AᵀAv, …, (AᵀA)^(j−1) v}, the largest eigenvalue
 * θ_j of the small tridiagonal matrix T_j = Qᵀ(AᵀA)Q, and it is exact after at
 * most n steps. The vectors are reorthogonalised in full (twice), so rounding
 * does not bring back directions already found.
 *
 * A is scaled by a power of two (exact in floating point) so that AᵀA neither
 * overflows nor underflows; σ is scaled back at the end.
 */
import { Tensor, shapeStr } from "./matrix.ts";

/**
 * σ_max(A) for A (m, n); stops when θ_j changes by ≤ tol·θ_j, or the Krylov space is invariant.
 * `start` (n) is the first Lanczos vector (e.g. the previous matrix's singular vector, when
 * neighbouring matrices are alike); any vector not orthogonal to the top singular vector gives the same σ.
 */
export function spectralNormLanczos(A: Tensor, tol = 1e-15, start?: Float64Array): number {
  return spectralNormVector(A, tol, start).sigma;
}

/** spectralNormLanczos with the right singular vector v (unit length, an approximation for a warm start; null for A = 0). */
export function spectralNormVector(A: Tensor, tol = 1e-15, start?: Float64Array): { sigma: number; v: Float64Array | null } {
  if (A.rank !== 2) throw new Error(`spectralNormLanczos: A must be a matrix, got shape ${shapeStr(A.shape)}`);
  const [m, n] = A.shape;
  if (start !== undefined && start.length !== n) throw new Error(`spectralNormLanczos: the start vector has ${start.length} entries, A has ${n} columns`);
  if (A.size === 0) return { sigma: 0, v: null };
  const a = A.data;
  let big = 0, nan = false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x > big) big = x;
    else if (-x > big) big = -x;
    else if (x !== x) nan = true;
  }
  if (nan) return { sigma: NaN, v: null };
  if (big === Infinity) return { sigma: big, v: null };
  if (big === 0) return { sigma: 0, v: null };
  // c = 2^(−e) brings A's largest entry into [1, 2); multiplying by c (in two halves, each
  // representable) is exact, so the vectors below are those of B = c·A without forming it
  const e = Math.floor(Math.log2(big));
  const c1 = 2 ** -Math.trunc(e / 2), c2 = 2 ** -(e - Math.trunc(e / 2));

  const Q: Float64Array[] = []; // the Lanczos vectors q_1..q_j
  const alpha: number[] = [], beta: number[] = [];
  let w = new Float64Array(n);
  // q_1: the given start, else the same deterministic start as spectralNorm
  let s = 0;
  if (start) for (let k = 0; k < n; k++) s += (w[k] = start[k]) ** 2;
  if (!(s > 0 && Number.isFinite(s))) {
    s = 0;
    for (let k = 0; k < n; k++) s += (w[k] = 1 + 0.1 * Math.sin(k + 1)) ** 2;
  }
  s = Math.sqrt(s);
  for (let k = 0; k < n; k++) w[k] /= s;
  let theta = 0;
  for (let j = 0; j < n; j++) {
    const q = w;
    Q.push(q);
    // y = B q_j,  w = Bᵀ y = (BᵀB) q_j,  α_j = q_jᵀ BᵀB q_j = ‖y‖²
    w = new Float64Array(n);
    const aj = normalMatVec(a, m, n, c1, c2, q, w);
    alpha.push(aj);
    // w ⊥ q_1..q_j: the three-term recurrence w −= α_j q_j + β_{j−1} q_{j−1}, made exact by full reorthogonalisation (twice)
    for (let pass = 0; pass < 2; pass++) {
      for (const qi of Q) {
        let d = 0;
        for (let k = 0; k < n; k++) d += qi[k] * w[k];
        for (let k = 0; k < n; k++) w[k] -= d * qi[k];
      }
    }
    let b = 0;
    for (let k = 0; k < n; k++) b += w[k] * w[k];
    b = Math.sqrt(b);
    const next = largestEigenvalue(alpha, beta, theta, tol);
    // converged, or the Krylov space holds an invariant subspace (then θ is exact), or it is the whole space
    const done = (j > 0 && next - theta <= tol * next) || b <= 1e-15 * Math.max(next, aj) || j === n - 1;
    theta = next;
    if (done) break;
    beta.push(b);
    for (let k = 0; k < n; k++) w[k] /= b;
  }
  return { sigma: Math.sqrt(theta) / c1 / c2, v: ritzVector(Q, alpha, beta, theta) };
}

/**
 * w = Bᵀ(B q) for B = c₁c₂·A, A (m, n) row-major in a; returns ‖B q‖² (c₁, c₂ powers of two, applied one at a time). One pass over A: each
 * block of four rows gives its four entries of y = B q, then adds their share y_i·(row i)
 * into w while the rows are still in cache, so A is read once per Lanczos step, not twice.
 * (Two products, y = B q then w = Bᵀ y, give the same numbers up to the order of additions.)
 */
function normalMatVec(a: Float64Array, m: number, n: number, c1: number, c2: number, q: Float64Array, w: Float64Array): number {
  let yy = 0, i = 0;
  for (; i + 3 < m; i += 4) {
    const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (let k = 0; k < n; k++) {
      const qk = q[k];
      t0 += a[r0 + k] * qk;
      t1 += a[r1 + k] * qk;
      t2 += a[r2 + k] * qk;
      t3 += a[r3 + k] * qk;
    }
    t0 = t0 * c1 * c2;
    t1 = t1 * c1 * c2;
    t2 = t2 * c1 * c2;
    t3 = t3 * c1 * c2;
    yy += t0 * t0 + t1 * t1 + (t2 * t2 + t3 * t3);
    for (let k = 0; k < n; k++) w[k] += a[r0 + k] * t0 + a[r1 + k] * t1 + (a[r2 + k] * t2 + a[r3 + k] * t3);
  }
  for (; i < m; i++) {
    const r = i * n;
    let t = 0;
    for (let k = 0; k < n; k++) t += a[r + k] * q[k];
    t = t * c1 * c2;
    yy += t * t;
    for (let k = 0; k < n; k++) w[k] += a[r + k] * t;
  }
  for (let k = 0; k < n; k++) w[k] = w[k] * c1 * c2;
  return yy;
}

/**
 * The Ritz vector Σ_i s_i q_i for θ, with s the eigenvector of T_j for θ by inverse iteration:
 * two solves of (μI − T_j) s' = s with μ just above θ, a positive definite tridiagonal system
 * (so elimination without pivoting is stable). A warm start for the next matrix; null if it breaks down.
 */
function ritzVector(Q: Float64Array[], alpha: number[], beta: number[], theta: number): Float64Array | null {
  const j = Q.length, n = Q[0].length;
  const mu = theta * (1 + 1e-12) + Number.MIN_VALUE;
  let sv = new Array<number>(j).fill(1);
  const d = new Array<number>(j);
  for (let it = 0; it < 2; it++) {
    const x = sv.slice();
    // forward elimination: d_i = (μ − α_i) − β_{i−1}²/d_{i−1}
    d[0] = mu - alpha[0];
    for (let i = 1; i < j; i++) {
      const l = -beta[i - 1] / d[i - 1];
      d[i] = mu - alpha[i] + l * beta[i - 1];
      x[i] -= l * x[i - 1];
    }
    // back substitution
    x[j - 1] /= d[j - 1];
    for (let i = j - 2; i >= 0; i--) x[i] = (x[i] + beta[i] * x[i + 1]) / d[i];
    let nx = 0;
    for (const xi of x) nx += xi * xi;
    nx = Math.sqrt(nx);
    if (!(nx > 0 && Number.isFinite(nx))) return null;
    sv = x.map((xi) => xi / nx);
  }
  const v = new Float64Array(n);
  for (let i = 0; i < j; i++) for (let k = 0; k < n; k++) v[k] += sv[i] * Q[i][k];
  let nv = 0;
  for (let k = 0; k < n; k++) nv += v[k] * v[k];
  nv = Math.sqrt(nv);
  if (!(nv > 0 && Number.isFinite(nv))) return null;
  for (let k = 0; k < n; k++) v[k] /= nv;
  return v;
}

/**
 * The largest eigenvalue of the symmetric tridiagonal matrix with diagonal α and off-diagonal β, by
 * bisection on Sturm counts (the number of positive pivots of T − xI = LDLᵀ is the number of
 * eigenvalues above x). `atLeast` is a lower bound: the previous step's θ (the values interlace);
 * when no eigenvalue lies above atLeast·(1 + tol), atLeast itself is returned.
 */
export function largestEigenvalue(alpha: number[], beta: number[], atLeast: number, tol = 0): number {
  const j = alpha.length;
  const above = (x: number): number => {
    let d = 1, count = 0;
    for (let i = 0; i < j; i++) {
      d = alpha[i] - x - (i > 0 ? (beta[i - 1] * beta[i - 1]) / d : 0);
      if (d === 0) d = -1e-300;
      if (d > 0) count++;
    }
    return count;
  };
  // nothing above atLeast·(1 + tol): atLeast is the answer within tol (Lanczos has converged)
  if (atLeast > 0 && above(atLeast * (1 + tol)) === 0) return atLeast;
  // Gershgorin: every eigenvalue is ≤ max_i α_i + |β_{i−1}| + |β_i|
  let hi = -Infinity;
  for (let i = 0; i < j; i++) hi = Math.max(hi, alpha[i] + (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < j - 1 ? Math.abs(beta[i]) : 0));
  let lo = Math.min(atLeast, hi);
  while (hi - lo > 2e-16 * hi) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (above(mid) > 0) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
