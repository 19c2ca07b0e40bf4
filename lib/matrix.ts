/**
 * Row-major Float64Array tensors and the few operations every layer needs.
 *
 * A `Tensor` is a flat `Float64Array` plus a shape. Element (i, j) of a matrix
 * of shape (m, n) lives at `data[i * n + j]`; an image batch (N, H, W, C) and a
 * sequence batch (N, T, F) are laid out the same way, last index fastest, as
 * NumPy and Keras lay them out.
 *
 * Every function that combines tensors checks their shapes and throws an Error
 * that names the operation and both shapes.
 */

import { parallelProduct } from "./threads.ts";

export type Shape = readonly number[];

/** A nested array of numbers, e.g. [[1, 2], [3, 4]]. */
export type Nested = number | Nested[];

export function shapeStr(shape: Shape): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}

function sizeOf(shape: Shape): number {
  let s = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`shape ${shapeStr(shape)}: dimensions must be non-negative integers`);
    s *= d;
  }
  return s;
}

export class Tensor {
  readonly shape: number[];
  readonly data: Float64Array;

  /** Wraps `data` (no copy) or allocates zeros. */
  constructor(shape: Shape, data?: Float64Array) {
    this.shape = [...shape];
    const n = sizeOf(shape);
    if (data === undefined) data = new Float64Array(n);
    else if (data.length !== n) {
      throw new Error(`Tensor: shape ${shapeStr(shape)} needs ${n} values, got ${data.length}`);
    }
    this.data = data;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A view with another shape over the same data (no copy). */
  reshape(shape: Shape): Tensor {
    const n = sizeOf(shape);
    if (n !== this.size) throw new Error(`reshape: cannot view ${shapeStr(this.shape)} (${this.size} values) as ${shapeStr(shape)} (${n} values)`);
    return new Tensor(shape, this.data);
  }

  clone(): Tensor {
    return new Tensor(this.shape, this.data.slice());
  }

  /** Element at a full index, e.g. t.get(i, j). */
  get(...idx: number[]): number {
    return this.data[this.offset(idx)];
  }

  set(value: number, ...idx: number[]): void {
    this.data[this.offset(idx)] = value;
  }

  private offset(idx: number[]): number {
    if (idx.length !== this.rank) throw new Error(`index [${idx.join(", ")}] has ${idx.length} entries, tensor ${shapeStr(this.shape)} has rank ${this.rank}`);
    let o = 0;
    for (let a = 0; a < idx.length; a++) {
      const i = idx[a];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[a]) throw new Error(`index [${idx.join(", ")}] is out of range for shape ${shapeStr(this.shape)}`);
      o = o * this.shape[a] + i;
    }
    return o;
  }

  /** Nested plain arrays, for printing and JSON. */
  toArray(): Nested {
    const build = (axis: number, off: number): Nested => {
      if (axis === this.rank) return this.data[off];
      const stride = this.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const out: Nested[] = [];
      for (let i = 0; i < this.shape[axis]; i++) out.push(build(axis + 1, off + i * stride));
      return out;
    };
    return build(0, 0);
  }
}

// ---------------------------------------------------------------- creation

export function zeros(shape: Shape): Tensor {
  return new Tensor(shape);
}

export function full(shape: Shape, value: number): Tensor {
  const t = new Tensor(shape);
  t.data.fill(value);
  return t;
}

/** A tensor from nested arrays; every row at one depth must have the same length. */
export function fromArray(nested: Nested): Tensor {
  const shape: number[] = [];
  let probe: Nested = nested;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const data = new Float64Array(sizeOf(shape));
  let k = 0;
  const walk = (v: Nested, axis: number, path: number[]): void => {
    if (axis === shape.length) {
      if (typeof v !== "number") throw new Error(`fromArray: expected a number at [${path.join(", ")}], got an array (ragged input, shape ${shapeStr(shape)})`);
      data[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      throw new Error(`fromArray: entry [${path.join(", ")}] has length ${Array.isArray(v) ? v.length : "(a number)"}, expected ${shape[axis]} (ragged input, shape ${shapeStr(shape)})`);
    }
    v.forEach((u, i) => walk(u, axis + 1, [...path, i]));
  };
  walk(nested, 0, []);
  return new Tensor(shape, data);
}

/** A tensor whose entries are drawn one by one, in row-major order, from `draw` (e.g. a seeded generator). */
export function fromGenerator(shape: Shape, draw: () => number): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = draw();
  return t;
}

// ---------------------------------------------------------------- checks

export function assertShape(t: Tensor, expected: Shape, what: string): void {
  if (t.rank !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${what}: expected shape ${shapeStr(expected)}, got ${shapeStr(t.shape)}`);
  }
}

function assertSameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ`);
  }
}

function assertMatrix(t: Tensor, op: string, name: string): void {
  if (t.rank !== 2) throw new Error(`${op}: ${name} must be a matrix (2-D), got shape ${shapeStr(t.shape)}`);
}

function outputFor(op: string, m: number, n: number, out?: Tensor): Tensor {
  if (out === undefined) return new Tensor([m, n]);
  if (out.rank !== 2 || out.shape[0] !== m || out.shape[1] !== n) {
    throw new Error(`${op}: out has shape ${shapeStr(out.shape)}, expected (${m}, ${n})`);
  }
  return out;
}

// ---------------------------------------------------------------- matrix products
//
// The three products below are the hot path of Dense, im2col convolution and
// the recurrent cells. V8 does not vectorise, so speed comes from keeping
// several partial sums in registers ("register blocking") and from reading
// memory in the order it lies in. One loop, in two forms:
//
//  - `gemmPacked` (large products: B has at least 512×512 entries, or rows 4 KB
//    apart, and A at least 32 rows) is the i-k-j loop below on B packed a block at a time
//    (256 rows × 128 columns, 256 KB, copied contiguous whatever B's layout),
//    so the block stays in cache while every row of A passes over it instead
//    of all of B streaming from memory for every 8 rows of A. Its results are
//    bit-identical to the unpacked loop's.
//  - `axpyKernel` is the i-k-j loop: row i of C gains A(i,p)·(row p of B).
//    Its block, `axpyBlock`, works on 8 (or 9) rows of C and 8 rows of B at a time,
//    so each step of its inner loop does 64 multiply-adds per 8 loads of B and 8
//    loads/stores of C; the 64 entries of A wait on the stack, not in
//    registers, and that costs less than the array accesses it saves (V8
//    checks the bounds of every typed-array access). The 4×4 block it grew
//    from measured 1.2–1.6× slower on every shape `npm run bench` times. A is
//    read through strides, so the same kernel serves A·B and Aᵀ·B. (A 3×4
//    block of C in registers, dot-product style over packed 4-column panels,
//    measured slower than a 4×4 i-k-j block in V8.)
//  - A·Bᵀ goes through the same loop: with few rows of A as (B·Aᵀ)ᵀ, which
//    reads B once, and otherwise with Bᵀ gathered into the packed blocks.
//
// Every C(i, j) is then the same sum in the same order whichever rows a call
// covers and however many: splitting the rows between threads (threads.ts), or
// stacking the time steps of BPTT into one product (bptt-sequence.ts, with a batch a
// multiple of 4), changes no bit. The sum is C(i, j) (+)= (4 terms) + (4 terms) + ... in p order, then the
// k mod 4 last terms one at a time; test/matrix-kernel.test.ts writes that order
// out and compares every path with it bit for bit. `matmulNaive`, the textbook
// triple loop, is the reference they are all tested against; `matmulUnpacked` (axpyKernel alone) is the one
// the benchmark compares the packed kernel with.
// With `accumulate` the result is added to `out` (C += ...): that is how
// gradients accumulate over time steps and mini-batch chunks.

/**
 * c(i, :) (+)= Σ_p A(i, p) · b(p, :) for i < m, p < k, where A(i, p) is
 * a[i·si + p·sp] and b is (k, n) row-major.
 */
export function axpyKernel(a: Float64Array, si: number, sp: number, b: Float64Array, c: Float64Array, m: number, k: number, n: number, accumulate: boolean): void {
  if (!accumulate) c.fill(0, 0, m * n);
  axpyBlock(a, 0, si, sp, b, n, c, 0, n, m, k, n);
}

/**
 * The i-k-j loop on a block: C(i, j) += Σ_p A(i, p)·B(p, j) for i < m, p < k, j < w, with
 * A(i, p) = a[a0 + i·si + p·sp], B(p, j) = b[p·bs + j] and C(i, j) = c[c0 + i·cs + j].
 *
 * Every C(i, j) gains its terms in groups of 4 in p order, c += (A(i,p)B(p,j) + … + A(i,p+3)B(p+3,j)),
 * then the last k mod 4 terms one at a time: the same sum, in the same order, whichever rows a
 * call covers. The loop takes 8 rows of C and 8 rows of B (two groups of 4) at a time: its inner
 * loop does 64 multiply-adds per 8 loads of B and 8 loads/stores of C. The 64 entries of A do not
 * fit in the 16 float registers; V8 keeps them on the stack and multiplies from there, which costs
 * far less than the bounds-checked array accesses they save. `c = c + g0 + g1` rounds exactly as
 * two passes `c += g0; c += g1`. While the rows left are not a multiple of 8, a ninth row rides
 * along with a block (it shares the block's loads of B): m = 9 or 18, the rows of one or two
 * stacked time steps of the extrapolation chapters, is then one or two blocks, 1.2–1.3× faster
 * than 8 rows plus a lone row. Rows left over go 4 at a time (`axpyFourRows`, the kernel's loop
 * before it took 8 rows), then one at a time (`axpyOneRow`); so do the k mod 8 last terms of a block.
 * It uses no outside names but those two, so that a worker thread can run the very same code.
 */
export function axpyBlock(a: Float64Array, a0: number, si: number, sp: number, b: Float64Array, bs: number, c: Float64Array, c0: number, cs: number, m: number, k: number, w: number): void {
  const k8 = k - (k % 8);
  let i = 0;
  while (i + 8 <= m) {
    // a ninth row rides along while the rows left are not a multiple of 8 (m = 9 or 18 is then one or two blocks)
    const nine = (m - i) % 8 !== 0 && m - i >= 9;
    const r0 = c0 + i * cs, r1 = r0 + cs, r2 = r1 + cs, r3 = r2 + cs, r4 = r3 + cs, r5 = r4 + cs, r6 = r5 + cs, r7 = r6 + cs, r8 = r7 + cs;
    const q0 = a0 + i * si, q1 = q0 + si, q2 = q1 + si, q3 = q2 + si, q4 = q3 + si, q5 = q4 + si, q6 = q5 + si, q7 = q6 + si, q8 = q7 + si;
    for (let p = 0; p < k8; p += 8) {
      const o0 = p * sp, o1 = o0 + sp, o2 = o1 + sp, o3 = o2 + sp, o4 = o3 + sp, o5 = o4 + sp, o6 = o5 + sp, o7 = o6 + sp;
      const a00 = a[q0 + o0], a01 = a[q0 + o1], a02 = a[q0 + o2], a03 = a[q0 + o3], a04 = a[q0 + o4], a05 = a[q0 + o5], a06 = a[q0 + o6], a07 = a[q0 + o7];
      const a10 = a[q1 + o0], a11 = a[q1 + o1], a12 = a[q1 + o2], a13 = a[q1 + o3], a14 = a[q1 + o4], a15 = a[q1 + o5], a16 = a[q1 + o6], a17 = a[q1 + o7];
      const a20 = a[q2 + o0], a21 = a[q2 + o1], a22 = a[q2 + o2], a23 = a[q2 + o3], a24 = a[q2 + o4], a25 = a[q2 + o5], a26 = a[q2 + o6], a27 = a[q2 + o7];
      const a30 = a[q3 + o0], a31 = a[q3 + o1], a32 = a[q3 + o2], a33 = a[q3 + o3], a34 = a[q3 + o4], a35 = a[q3 + o5], a36 = a[q3 + o6], a37 = a[q3 + o7];
      const a40 = a[q4 + o0], a41 = a[q4 + o1], a42 = a[q4 + o2], a43 = a[q4 + o3], a44 = a[q4 + o4], a45 = a[q4 + o5], a46 = a[q4 + o6], a47 = a[q4 + o7];
      const a50 = a[q5 + o0], a51 = a[q5 + o1], a52 = a[q5 + o2], a53 = a[q5 + o3], a54 = a[q5 + o4], a55 = a[q5 + o5], a56 = a[q5 + o6], a57 = a[q5 + o7];
      const a60 = a[q6 + o0], a61 = a[q6 + o1], a62 = a[q6 + o2], a63 = a[q6 + o3], a64 = a[q6 + o4], a65 = a[q6 + o5], a66 = a[q6 + o6], a67 = a[q6 + o7];
      const a70 = a[q7 + o0], a71 = a[q7 + o1], a72 = a[q7 + o2], a73 = a[q7 + o3], a74 = a[q7 + o4], a75 = a[q7 + o5], a76 = a[q7 + o6], a77 = a[q7 + o7];
      const a80 = nine ? a[q8 + o0] : 0, a81 = nine ? a[q8 + o1] : 0, a82 = nine ? a[q8 + o2] : 0, a83 = nine ? a[q8 + o3] : 0;
      const a84 = nine ? a[q8 + o4] : 0, a85 = nine ? a[q8 + o5] : 0, a86 = nine ? a[q8 + o6] : 0, a87 = nine ? a[q8 + o7] : 0;
      const b0 = p * bs, b1 = b0 + bs, b2 = b1 + bs, b3 = b2 + bs, b4 = b3 + bs, b5 = b4 + bs, b6 = b5 + bs, b7 = b6 + bs;
      for (let j = 0; j < w; j++) {
        const x0 = b[b0 + j], x1 = b[b1 + j], x2 = b[b2 + j], x3 = b[b3 + j], x4 = b[b4 + j], x5 = b[b5 + j], x6 = b[b6 + j], x7 = b[b7 + j];
        c[r0 + j] = c[r0 + j] + (a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3) + (a04 * x4 + a05 * x5 + a06 * x6 + a07 * x7);
        c[r1 + j] = c[r1 + j] + (a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3) + (a14 * x4 + a15 * x5 + a16 * x6 + a17 * x7);
        c[r2 + j] = c[r2 + j] + (a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3) + (a24 * x4 + a25 * x5 + a26 * x6 + a27 * x7);
        c[r3 + j] = c[r3 + j] + (a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3) + (a34 * x4 + a35 * x5 + a36 * x6 + a37 * x7);
        c[r4 + j] = c[r4 + j] + (a40 * x0 + a41 * x1 + a42 * x2 + a43 * x3) + (a44 * x4 + a45 * x5 + a46 * x6 + a47 * x7);
        c[r5 + j] = c[r5 + j] + (a50 * x0 + a51 * x1 + a52 * x2 + a53 * x3) + (a54 * x4 + a55 * x5 + a56 * x6 + a57 * x7);
        c[r6 + j] = c[r6 + j] + (a60 * x0 + a61 * x1 + a62 * x2 + a63 * x3) + (a64 * x4 + a65 * x5 + a66 * x6 + a67 * x7);
        c[r7 + j] = c[r7 + j] + (a70 * x0 + a71 * x1 + a72 * x2 + a73 * x3) + (a74 * x4 + a75 * x5 + a76 * x6 + a77 * x7);
        if (nine) c[r8 + j] = c[r8 + j] + (a80 * x0 + a81 * x1 + a82 * x2 + a83 * x3) + (a84 * x4 + a85 * x5 + a86 * x6 + a87 * x7);
      }
    }
    if (k8 < k) {
      axpyFourRows(a, a0, si, sp, b, bs, c, c0, cs, i, k8, k, w);
      axpyFourRows(a, a0, si, sp, b, bs, c, c0, cs, i + 4, k8, k, w);
      if (nine) axpyOneRow(a, a0, si, sp, b, bs, c, c0, cs, i + 8, k8, k, w);
    }
    i += nine ? 9 : 8;
  }
  for (; i + 4 <= m; i += 4) axpyFourRows(a, a0, si, sp, b, bs, c, c0, cs, i, 0, k, w);
  for (; i < m; i++) axpyOneRow(a, a0, si, sp, b, bs, c, c0, cs, i, 0, k, w);
}

/** Rows i .. i+3 of axpyBlock's C gain the terms p0 ≤ p < k (p0 a multiple of 4): groups of 4, then singles. */
export function axpyFourRows(a: Float64Array, a0: number, si: number, sp: number, b: Float64Array, bs: number, c: Float64Array, c0: number, cs: number, i: number, p0: number, k: number, w: number): void {
  const k4 = k - (k % 4);
  const r0 = c0 + i * cs, r1 = r0 + cs, r2 = r1 + cs, r3 = r2 + cs;
  const q0 = a0 + i * si, q1 = q0 + si, q2 = q1 + si, q3 = q2 + si;
  let p = p0;
  for (; p < k4; p += 4) {
    const o0 = p * sp, o1 = o0 + sp, o2 = o1 + sp, o3 = o2 + sp;
    const a00 = a[q0 + o0], a01 = a[q0 + o1], a02 = a[q0 + o2], a03 = a[q0 + o3];
    const a10 = a[q1 + o0], a11 = a[q1 + o1], a12 = a[q1 + o2], a13 = a[q1 + o3];
    const a20 = a[q2 + o0], a21 = a[q2 + o1], a22 = a[q2 + o2], a23 = a[q2 + o3];
    const a30 = a[q3 + o0], a31 = a[q3 + o1], a32 = a[q3 + o2], a33 = a[q3 + o3];
    const b0 = p * bs, b1 = b0 + bs, b2 = b1 + bs, b3 = b2 + bs;
    for (let j = 0; j < w; j++) {
      const x0 = b[b0 + j], x1 = b[b1 + j], x2 = b[b2 + j], x3 = b[b3 + j];
      c[r0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
      c[r1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
      c[r2 + j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
      c[r3 + j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
    }
  }
  // the last k mod 4 terms one at a time, two per pass over the rows (c + t_p + t_p+1 rounds as c += t_p; c += t_p+1):
  // a product with 1–3 input features (x(t)·W of the lecture's RNNs) is all singles
  for (; p + 2 <= k; p += 2) {
    const op = p * sp, oq = op + sp, bp = p * bs, bq = bp + bs;
    const x0 = a[q0 + op], x1 = a[q1 + op], x2 = a[q2 + op], x3 = a[q3 + op];
    const y0 = a[q0 + oq], y1 = a[q1 + oq], y2 = a[q2 + oq], y3 = a[q3 + oq];
    for (let j = 0; j < w; j++) {
      const x = b[bp + j], y = b[bq + j];
      c[r0 + j] = c[r0 + j] + x0 * x + y0 * y;
      c[r1 + j] = c[r1 + j] + x1 * x + y1 * y;
      c[r2 + j] = c[r2 + j] + x2 * x + y2 * y;
      c[r3 + j] = c[r3 + j] + x3 * x + y3 * y;
    }
  }
  if (p < k) {
    const op = p * sp, bp = p * bs;
    const x0 = a[q0 + op], x1 = a[q1 + op], x2 = a[q2 + op], x3 = a[q3 + op];
    for (let j = 0; j < w; j++) {
      const x = b[bp + j];
      c[r0 + j] += x0 * x; c[r1 + j] += x1 * x; c[r2 + j] += x2 * x; c[r3 + j] += x3 * x;
    }
  }
}

/** Row i of axpyBlock's C gains the terms p0 ≤ p < k (p0 a multiple of 4) the same way: groups of 4, then singles. */
export function axpyOneRow(a: Float64Array, a0: number, si: number, sp: number, b: Float64Array, bs: number, c: Float64Array, c0: number, cs: number, i: number, p0: number, k: number, w: number): void {
  const k4 = k - (k % 4);
  const r = c0 + i * cs, q = a0 + i * si;
  let p = p0;
  for (; p < k4; p += 4) {
    const x0 = a[q + p * sp], x1 = a[q + (p + 1) * sp], x2 = a[q + (p + 2) * sp], x3 = a[q + (p + 3) * sp];
    const b0 = p * bs, b1 = b0 + bs, b2 = b1 + bs, b3 = b2 + bs;
    for (let j = 0; j < w; j++) c[r + j] += x0 * b[b0 + j] + x1 * b[b1 + j] + x2 * b[b2 + j] + x3 * b[b3 + j];
  }
  for (; p < k; p++) {
    const x = a[q + p * sp], bp = p * bs;
    for (let j = 0; j < w; j++) c[r + j] += x * b[bp + j];
  }
}

/** Columns (NC) and rows (KC) of B packed at a time: a packed block is KC·NC numbers (256 KB). */
export const GEMM_NC = 128;
export const GEMM_KC = 256;

/**
 * The i-k-j loop of `axpyKernel` on packed blocks of B, for the rows r0 ≤ i < r1 of C (m, n) only:
 * C(i, j) (+)= Σ_p A(i, p)·B(p, j), p < k, with A(i, p) = a[i·si + p·sp], B(p, j) = b[p·bs + j·bt] and
 * C(i, j) = c[i·cs + j] (cs = n for a whole C; cs > n for a band of C's columns, as a thread computes):
 * (si, sp) = (k, 1) reads A, (1, m) reads Aᵀ; (bs, bt) = (n, 1) reads B, (1, k) reads Bᵀ.
 * B is copied a block of GEMM_KC rows × GEMM_NC columns at a time into `pack` (row-major, contiguous),
 * so the inner loop streams 8 short contiguous rows whatever B's layout, and the block stays in cache
 * while every row of A passes over it. C accumulates in memory in the same order as in axpyKernel
 * (blocks of 4 p, KC a multiple of 4), so the result is bit-identical to it, and to any split of the rows.
 * It uses no outside name but `axpyBlock`, so that a worker thread can run the very same code.
 */
export function gemmPacked(
  a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number, c: Float64Array, cs: number,
  n: number, k: number, r0: number, r1: number, accumulate: boolean, pack: Float64Array,
): void {
  const NC = 128, KC = 256;
  if (!accumulate) for (let i = r0; i < r1; i++) c.fill(0, i * cs, i * cs + n);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const w = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = Math.min(KC, k - p0);
      // pack B(p0 .. p0+kb, j0 .. j0+w) as kb rows of w
      for (let p = 0, o = 0; p < kb; p++) {
        const r = (p0 + p) * bs + j0 * bt;
        for (let j = 0; j < w; j++) pack[o++] = b[r + j * bt];
      }
      // rows r0 .. r1 of C, columns j0 .. j0+w, gain A(:, p0 .. p0+kb) · (the packed block)
      axpyBlock(a, r0 * si + p0 * sp, si, sp, pack, w, c, r0 * cs + j0, cs, r1 - r0, kb, w);
    }
  }
}

/**
 * B (k, n) packed once for many products with it (a recurrent kernel, multiplied at every time step): every block
 * gemmPacked would pack at each call, in its order, one after the other. The band of columns j0 .. j0+w (w ≤ GEMM_NC)
 * starts at j0·k, and within it the block of rows p0 .. p0+kb at p0·w. B(p, j) = b[p·bs + j·bt] as in gemmPacked.
 */
export function packAll(b: Float64Array, bs: number, bt: number, k: number, n: number, out: Float64Array): void {
  const NC = 128, KC = 256;
  let o = 0;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const w = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = Math.min(KC, k - p0);
      for (let p = 0; p < kb; p++) {
        const r = (p0 + p) * bs + j0 * bt;
        for (let j = 0; j < w; j++) out[o++] = b[r + j * bt];
      }
    }
  }
}

/**
 * gemmPacked with B packed beforehand by packAll: the same blocks through the same loop, so the same bits, without
 * packing B again at each call (9–18% faster for 16 or 32 rows × 128 · 128 × 512, an LSTM(128) step, 27 Nov 2026).
 * It uses no outside name but `axpyBlock`, so that a worker thread can run the very same code.
 */
export function gemmPrepacked(
  a: Float64Array, si: number, sp: number, packed: Float64Array, c: Float64Array, cs: number,
  n: number, k: number, r0: number, r1: number, accumulate: boolean,
): void {
  const NC = 128, KC = 256;
  if (!accumulate) for (let i = r0; i < r1; i++) c.fill(0, i * cs, i * cs + n);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const w = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = Math.min(KC, k - p0);
      axpyBlock(a, r0 * si + p0 * sp, si, sp, packed.subarray(j0 * k + p0 * w), w, c, r0 * cs + j0, cs, r1 - r0, kb, w);
    }
  }
}

/** Reused scratch: the packed block of B, and the transposed copies of the (B·Aᵀ)ᵀ path (grown on demand, never shrunk). */
const packScratch = new Float64Array(GEMM_KC * GEMM_NC);
const scratchBuffers = [new Float64Array(0), new Float64Array(0)];
function scratch(slot: number, size: number): Float64Array {
  if (scratchBuffers[slot].length < size) scratchBuffers[slot] = new Float64Array(size);
  return scratchBuffers[slot];
}

/**
 * Worth packing B: A has enough rows to pay for the copy, and B has at least 512×512 entries (2 MB, twice
 * the L2 cache of a core here) or rows a multiple of 4 KB apart (n a multiple of 512, e.g. LSTM(128)'s
 * 4·128 gates). Otherwise the unpacked loop measured 3–15% faster (n = 128 … 384, 100×1690·1690×50,
 * 64×300·300×300). With rows 4 KB apart the unpacked loop's loads of B and stores of C can fall on the
 * same cache sets: A·B at n = 512 ran 1.7× faster packed, and 32×128·128×512 1.3–1.9× (27 Nov 2026).
 */
function packs(m: number, k: number, n: number): boolean {
  return m >= 32 && k >= 16 && (k * n >= 262144 || (n % 512 === 0 && k * n > 16384));
}

/** C = A·B for A (m, k), B (k, n). */
export function matmul(A: Tensor, B: Tensor, out?: Tensor, accumulate = false): Tensor {
  assertMatrix(A, "matmul", "A");
  assertMatrix(B, "matmul", "B");
  const [m, k] = A.shape;
  const [k2, n] = B.shape;
  if (k !== k2) throw new Error(`matmul: A is ${shapeStr(A.shape)} and B is ${shapeStr(B.shape)}; A's columns (${k}) must equal B's rows (${k2})`);
  const C = outputFor("matmul", m, n, out);
  const kernel = packs(m, k, n) ? "packed" : "axpy";
  if (!parallelProduct(kernel, A.data, k, 1, B.data, n, 1, C.data, m, k, n, accumulate)) {
    if (kernel === "packed") gemmPacked(A.data, k, 1, B.data, n, 1, C.data, n, n, k, 0, m, accumulate, packScratch);
    else axpyKernel(A.data, k, 1, B.data, C.data, m, k, n, accumulate);
  }
  return C;
}

/** C = Aᵀ·B for A (k, m), B (k, n), without forming Aᵀ. */
export function matmulAtB(A: Tensor, B: Tensor, out?: Tensor, accumulate = false): Tensor {
  assertMatrix(A, "matmulAtB", "A");
  assertMatrix(B, "matmulAtB", "B");
  const [k, m] = A.shape;
  const [k2, n] = B.shape;
  if (k !== k2) throw new Error(`matmulAtB: A is ${shapeStr(A.shape)} and B is ${shapeStr(B.shape)}; their rows (${k} and ${k2}) must agree`);
  const C = outputFor("matmulAtB", m, n, out);
  // Aᵀ(i, p) = A(p, i) sits at a[i + p·m].
  // The unpacked loop: packing B measured 6–20% slower here, except with B's rows 4 KB apart (n a multiple of
  // 512) and k ≤ 512, where the unpacked loop fell to 2.6–2.8 GFLOP/s and packing ran at 5.2–5.4
  // (128×32·32×512, 128×128·128×512, 512×512·512×512; at k = 1024 … 3200 unpacked was faster again).
  const kernel = m >= 32 && k >= 16 && k <= 512 && n % 512 === 0 ? "packed" : "axpy";
  if (!parallelProduct(kernel, A.data, 1, m, B.data, n, 1, C.data, m, k, n, accumulate)) {
    if (kernel === "packed") gemmPacked(A.data, 1, m, B.data, n, 1, C.data, n, n, k, 0, m, accumulate, packScratch);
    else axpyKernel(A.data, 1, m, B.data, C.data, m, k, n, accumulate);
  }
  return C;
}

/** C = A·Bᵀ for A (m, k), B (n, k), without forming Bᵀ. */
export function matmulABt(A: Tensor, B: Tensor, out?: Tensor, accumulate = false): Tensor {
  assertMatrix(A, "matmulABt", "A");
  assertMatrix(B, "matmulABt", "B");
  const [m, k] = A.shape;
  const [n, k2] = B.shape;
  if (k !== k2) throw new Error(`matmulABt: A is ${shapeStr(A.shape)} and B is ${shapeStr(B.shape)}; their columns (${k} and ${k2}) must agree`);
  const C = outputFor("matmulABt", m, n, out);
  // Both ways compute every entry in the i-k-j loop's order, whatever m is: a row's result never depends on its neighbours
  // (with accumulate, the few-rows way adds the finished product onto out, not term by term).
  if (m <= 32) {
    // Few rows (e.g. dZ·Wᵀ for a small batch): C = (B·Aᵀ)ᵀ streams B once through the i-k-j loop.
    const at = scratch(0, k * m), ct = scratch(1, n * m);
    const a = A.data, c = C.data;
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) at[p * m + i] = a[i * k + p];
    if (!parallelProduct("axpy", B.data, k, 1, at, m, 1, ct, n, k, m, false)) axpyKernel(B.data, k, 1, at, ct, n, k, m, false);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[i * n + j] = accumulate ? c[i * n + j] + ct[j * m + i] : ct[j * m + i];
  } else {
    // packing gathers Bᵀ into contiguous rows: k·n moves against m·k·n multiply-adds. Bᵀ(p, j) = B(j, p) sits at b[p + j·k].
    if (!parallelProduct("packed", A.data, k, 1, B.data, 1, k, C.data, m, k, n, accumulate)) gemmPacked(A.data, k, 1, B.data, 1, k, C.data, n, n, k, 0, m, accumulate, packScratch);
  }
  return C;
}

/** C = A·B by the unpacked i-k-j loop alone (`axpyKernel`): the reference the benchmark compares the packed kernel with. */
export function matmulUnpacked(A: Tensor, B: Tensor, out?: Tensor): Tensor {
  assertMatrix(A, "matmulUnpacked", "A");
  assertMatrix(B, "matmulUnpacked", "B");
  const [m, k] = A.shape;
  const [k2, n] = B.shape;
  if (k !== k2) throw new Error(`matmulUnpacked: A is ${shapeStr(A.shape)} and B is ${shapeStr(B.shape)}; A's columns (${k}) must equal B's rows (${k2})`);
  const C = outputFor("matmulUnpacked", m, n, out);
  axpyKernel(A.data, k, 1, B.data, C.data, m, k, n, false);
  return C;
}

/** The textbook i-j-k triple loop: the reference the fast products are tested and benchmarked against. */
export function matmulNaive(A: Tensor, B: Tensor): Tensor {
  assertMatrix(A, "matmulNaive", "A");
  assertMatrix(B, "matmulNaive", "B");
  const [m, k] = A.shape;
  const [k2, n] = B.shape;
  if (k !== k2) throw new Error(`matmulNaive: A is ${shapeStr(A.shape)} and B is ${shapeStr(B.shape)}; A's columns (${k}) must equal B's rows (${k2})`);
  const C = new Tensor([m, n]);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A.data[i * k + p] * B.data[p * n + j];
      C.data[i * n + j] = s;
    }
  }
  return C;
}

/** The transpose of a matrix, materialised (for printing and tests; the products above never need it). */
export function transpose(A: Tensor): Tensor {
  assertMatrix(A, "transpose", "A");
  const [m, n] = A.shape;
  const T = new Tensor([n, m]);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T.data[j * m + i] = A.data[i * n + j];
  return T;
}

// ---------------------------------------------------------------- elementwise

export function add(a: Tensor, b: Tensor): Tensor {
  assertSameShape(a, b, "add");
  const out = new Tensor(a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = a.data[i] + b.data[i];
  return out;
}

export function sub(a: Tensor, b: Tensor): Tensor {
  assertSameShape(a, b, "sub");
  const out = new Tensor(a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = a.data[i] - b.data[i];
  return out;
}

/** Elementwise (Hadamard) product a ⊙ b. */
export function mul(a: Tensor, b: Tensor): Tensor {
  assertSameShape(a, b, "mul");
  const out = new Tensor(a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = a.data[i] * b.data[i];
  return out;
}

export function scale(a: Tensor, s: number): Tensor {
  const out = new Tensor(a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = a.data[i] * s;
  return out;
}

/** a += s·b, in place on `a` (s defaults to 1). */
export function addInPlace(a: Tensor, b: Tensor, s = 1): Tensor {
  assertSameShape(a, b, "addInPlace");
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) x[i] += s * y[i];
  return a;
}

/** f applied to every entry. */
export function map(a: Tensor, f: (v: number) => number): Tensor {
  const out = new Tensor(a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = f(a.data[i]);
  return out;
}

/** Σ a⊙b over all entries. */
export function dot(a: Tensor, b: Tensor): number {
  assertSameShape(a, b, "dot");
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.data[i] * b.data[i];
  return s;
}

/** A (m, n) + b (n) added to every row; also works on (N, T, n) or any tensor whose last axis is n. */
export function addRowVector(A: Tensor, b: Tensor): Tensor {
  const n = A.shape[A.rank - 1];
  if (b.rank !== 1 || b.shape[0] !== n) throw new Error(`addRowVector: A is ${shapeStr(A.shape)} and b is ${shapeStr(b.shape)}; b must have shape (${n},)`);
  const out = new Tensor(A.shape);
  const a = A.data, o = out.data, bb = b.data;
  for (let r = 0; r < a.length; r += n) for (let j = 0; j < n; j++) o[r + j] = a[r + j] + bb[j];
  return out;
}

/** Σ over rows: (m, n) → (n); works on any tensor, summing over every axis but the last. Adds into `out` if given. */
export function colSums(A: Tensor, out?: Tensor): Tensor {
  const n = A.shape[A.rank - 1];
  if (out === undefined) out = new Tensor([n]);
  else if (out.size !== n) throw new Error(`colSums: A is ${shapeStr(A.shape)} but out is ${shapeStr(out.shape)}; expected (${n},)`);
  const a = A.data, o = out.data;
  const rows = a.length / n, r4 = rows - (rows % 4);
  let r = 0;
  // four rows per pass: a quarter of the read-modify-writes of `out`
  for (; r < r4; r += 4) {
    const b = r * n;
    for (let j = 0; j < n; j++) o[j] += a[b + j] + a[b + n + j] + a[b + 2 * n + j] + a[b + 3 * n + j];
  }
  for (; r < rows; r++) for (let j = 0; j < n; j++) o[j] += a[r * n + j];
  return out;
}

/** The column index of the largest entry in each row of A (m, n). */
export function argmaxRows(A: Tensor): Int32Array {
  assertMatrix(A, "argmaxRows", "A");
  const [m, n] = A.shape;
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let best = -Infinity, arg = 0;
    for (let j = 0; j < n; j++) {
      const v = A.data[i * n + j];
      if (v > best) { best = v; arg = j; }
    }
    idx[i] = arg;
  }
  return idx;
}

// ---------------------------------------------------------------- norms

/** ‖A‖_F = √(Σ a²). Works on any tensor. */
export function frobeniusNorm(A: Tensor): number {
  let s = 0;
  for (let i = 0; i < A.size; i++) s += A.data[i] * A.data[i];
  return Math.sqrt(s);
}

/**
 * The spectral norm σ_max(A), the largest singular value, by power iteration
 * on AᵀA: v ← AᵀA v / ‖AᵀA v‖ until σ = ‖A v‖ settles.
 */
export function spectralNorm(A: Tensor, maxIter = 1000, tol = 1e-13): number {
  assertMatrix(A, "spectralNorm", "A");
  const [, n] = A.shape;
  if (A.size === 0) return 0;
  // A deterministic, generic start vector (no randomness needed).
  let v = new Tensor([n, 1]);
  for (let j = 0; j < n; j++) v.data[j] = 1 + 0.1 * Math.sin(j + 1);
  let sigma = 0;
  for (let it = 0; it < maxIter; it++) {
    const Av = matmul(A, v);
    const w = matmulAtB(A, Av);
    const nw = frobeniusNorm(w);
    if (nw === 0) return 0;
    v = scale(w, 1 / nw);
    const next = Math.sqrt(nw);
    if (Math.abs(next - sigma) <= tol * next) return next;
    sigma = next;
  }
  return sigma;
}

/**
 * The spectral radius ρ(A) = max |λ| of a square matrix, by Gelfand's formula
 * ρ = lim ‖A^m‖^(1/m), with m = 2^squarings. The matrix is squared and
 * renormalised each time and the scale is kept as a logarithm, so neither
 * ρ < 1 nor ρ > 1 under- or overflows. Unlike power iteration, this converges
 * for complex eigenvalues too (random W_hh has them).
 */
export function spectralRadius(A: Tensor, squarings = 40): number {
  assertMatrix(A, "spectralRadius", "A");
  const [m, n] = A.shape;
  if (m !== n) throw new Error(`spectralRadius: A must be square, got shape ${shapeStr(A.shape)}`);
  let norm = frobeniusNorm(A);
  if (norm === 0) return 0;
  // A^(2^k) = exp(logScale) · B with ‖B‖_F = 1.
  let B = scale(A, 1 / norm);
  let logScale = Math.log(norm);
  let power = 1;
  for (let k = 0; k < squarings; k++) {
    B = matmul(B, B);
    norm = frobeniusNorm(B);
    if (norm === 0) return 0; // nilpotent
    B = scale(B, 1 / norm);
    logScale = 2 * logScale + Math.log(norm);
    power *= 2;
  }
  return Math.exp(logScale / power);
}

// ---------------------------------------------------------------- views

/** The dimensions of an image batch (N, H, W, C), checked. */
export function imageDims(x: Tensor, who: string): { N: number; H: number; W: number; C: number } {
  if (x.rank !== 4) throw new Error(`${who}: expected an image batch of shape (N, H, W, C), got ${shapeStr(x.shape)}`);
  const [N, H, W, C] = x.shape;
  return { N, H, W, C };
}

/** The dimensions of a sequence batch (N, T, F), checked. */
export function sequenceDims(x: Tensor, who: string): { N: number; T: number; F: number } {
  if (x.rank !== 3) throw new Error(`${who}: expected a sequence batch of shape (N, T, F), got ${shapeStr(x.shape)}`);
  const [N, T, F] = x.shape;
  return { N, T, F };
}

/** x(t): the (N, F) slice of a sequence batch (N, T, F) at time t, copied. */
export function timeStep(x: Tensor, t: number): Tensor {
  const { N, T, F } = sequenceDims(x, "timeStep");
  if (t < 0 || t >= T) throw new Error(`timeStep: t = ${t} is outside 0..${T - 1}`);
  const out = new Tensor([N, F]);
  for (let n = 0; n < N; n++) out.data.set(x.data.subarray((n * T + t) * F, (n * T + t + 1) * F), n * F);
  return out;
}

/** y(t) ← v: writes an (N, F) slice into a sequence batch (N, T, F) at time t; adds instead with `accumulate`. */
export function setTimeStep(y: Tensor, t: number, v: Tensor, accumulate = false): void {
  const { N, T, F } = sequenceDims(y, "setTimeStep");
  assertShape(v, [N, F], `setTimeStep at t = ${t}`);
  if (t < 0 || t >= T) throw new Error(`setTimeStep: t = ${t} is outside 0..${T - 1}`);
  for (let n = 0; n < N; n++) {
    const o = (n * T + t) * F;
    for (let f = 0; f < F; f++) {
      if (accumulate) y.data[o + f] += v.data[n * F + f];
      else y.data[o + f] = v.data[n * F + f];
    }
  }
}

/** The rows `idx` of x along its first axis, copied (into `out`, a reused buffer, if given): a mini-batch. */
export function takeRows(x: Tensor, idx: ArrayLike<number>, out?: Tensor): Tensor {
  const row = x.size / (x.shape[0] || 1);
  if (out === undefined) out = new Tensor([idx.length, ...x.shape.slice(1)]);
  else if (out.size !== idx.length * row) throw new Error(`takeRows: out has shape ${shapeStr(out.shape)}, expected ${idx.length} rows of ${row} values`);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (r < 0 || r >= x.shape[0]) throw new Error(`takeRows: row ${r} is outside 0..${x.shape[0] - 1} of ${shapeStr(x.shape)}`);
    out.data.set(x.data.subarray(r * row, (r + 1) * row), i * row);
  }
  return out;
}

/** Rows [r0, r1) of x along its first axis, as a view over the same data (no copy). */
export function rowSlice(x: Tensor, r0: number, r1: number): Tensor {
  const row = x.size / (x.shape[0] || 1);
  return new Tensor([r1 - r0, ...x.shape.slice(1)], x.data.subarray(r0 * row, r1 * row));
}
