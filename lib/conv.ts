/**
 * 2-D convolution of image batches, as Keras's Conv2D computes it.
 *
 * Images are NHWC, x: (N, H, W, C); the kernel is laid out as Keras lays it
 * out, K: (kh, kw, C, F) for F filters; the bias is b: (F). Like every deep-
 * learning "convolution", this is a cross-correlation (the kernel is not
 * flipped):
 *
 *   z(n, i, j, f) = b(f) + Σ_{p<kh} Σ_{q<kw} Σ_{c<C} x(n, i·s + p − pad, j·s + q − pad, c) K(p, q, c, f).
 *
 * The fast path writes every receptive field as one row of a patch matrix
 * (im2col), cols: (N·Ho·Wo, kh·kw·C), with the entries of a row in the order
 * (p, q, c) that K (kh, kw, C, F) has when viewed as a matrix (kh·kw·C, F).
 * The whole convolution is then one matrix product, Z = cols · K + b, and its
 * result (N·Ho·Wo, F) is already the NHWC output (N, Ho, Wo, F). Backward is
 * three more products and col2im, the adjoint of im2col:
 *
 *   dK = colsᵀ · dZ,   db = Σ_rows dZ,   dcols = dZ · Kᵀ,   dX = col2im(dcols).
 *
 * `conv2dNaive` and `conv2dBackwardNaive` are the sliding-window loops of the
 * formula above: the reference the fast path is tested against.
 *
 * Padding follows Keras: 'valid' (no padding, Ho = ⌊(H − kh)/s⌋ + 1) and
 * 'same' (Ho = ⌈H/s⌉, zero padding split as evenly as possible, the odd
 * pixel at the bottom/right). Strides may differ along height and width.
 */
import { Tensor, shapeStr, matmul, matmulAtB, matmulABt, colSums, type Shape } from "./matrix.ts";
import { Rng, glorotUniform, zerosInit } from "./random.ts";
import { type ActivationName, type ActivationCache, activationForward, activationBackward, checkActivation } from "./activations.ts";
import type { Regularizer } from "./regularizers.ts";
import type { Layer, Param, ForwardContext } from "./layer.ts";
import type { Workspace } from "./workspace.ts";

export type Padding = "valid" | "same";

export interface ConvOptions {
  /** s, one number for both axes or [sh, sw]; default 1. */
  strides?: number | readonly [number, number];
  /** 'valid' (default) or 'same'. */
  padding?: Padding;
}

/** Everything the loops need to know about one convolution (or pooling window). */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  C: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Zero rows above and zero columns left of the image (the rest of the padding is at the bottom/right). */
  padTop: number;
  padLeft: number;
  Ho: number;
  Wo: number;
}

export function checkPadding(padding: string, who: string): Padding {
  if (padding !== "valid" && padding !== "same") throw new Error(`${who}: padding must be 'valid' or 'same', got '${padding}'`);
  return padding;
}

function pair(v: number | readonly [number, number] | undefined, dflt: number, what: string, who: string): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1)) throw new Error(`${who}: ${what} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
}

/**
 * Output length and leading padding along one axis, as Keras computes them:
 * 'valid': out = ⌊(n − k)/s⌋ + 1, no padding; 'same': out = ⌈n/s⌉ and
 * pad_total = max((out − 1)·s + k − n, 0), of which ⌊pad_total/2⌋ goes before.
 */
export function windowAxis(n: number, k: number, s: number, padding: Padding): { out: number; padBefore: number } {
  if (padding === "valid") return { out: n >= k ? Math.floor((n - k) / s) + 1 : 0, padBefore: 0 };
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return { out, padBefore: Math.floor(total / 2) };
}

/**
 * The geometry of a kh×kw window sliding over an image batch of shape
 * (N, H, W, C). Throws on a batch that is not 4-D and on a window larger
 * than the image under 'valid' padding.
 */
export function windowGeometry(xShape: Shape, kh: number, kw: number, opts: ConvOptions, who: string): ConvGeometry {
  if (xShape.length !== 4) throw new Error(`${who}: expected an image batch of shape (N, H, W, C), got ${shapeStr(xShape)}`);
  const [N, H, W, C] = xShape;
  const [sh, sw] = pair(opts.strides, 1, "strides", who);
  const padding = checkPadding(opts.padding ?? "valid", who);
  if (padding === "valid" && (kh > H || kw > W)) {
    throw new Error(`${who}: the ${kh}×${kw} window is larger than the ${H}×${W} image (input ${shapeStr(xShape)}); with padding 'valid' it must fit inside`);
  }
  const a = windowAxis(H, kh, sh, padding);
  const b = windowAxis(W, kw, sw, padding);
  return { N, H, W, C, kh, kw, sh, sw, padTop: a.padBefore, padLeft: b.padBefore, Ho: a.out, Wo: b.out };
}

/** The geometry of x (N, H, W, C) convolved with K (kh, kw, C, F); checks that the channels agree. */
export function convGeometry(x: Tensor, K: Tensor, opts: ConvOptions, who = "conv2d"): ConvGeometry {
  if (K.rank !== 4) throw new Error(`${who}: expected a kernel of shape (kh, kw, C_in, C_out), got ${shapeStr(K.shape)}`);
  const g = windowGeometry(x.shape, K.shape[0], K.shape[1], opts, who);
  if (g.C !== K.shape[2]) throw new Error(`${who}: input ${shapeStr(x.shape)} has ${g.C} channels, kernel ${shapeStr(K.shape)} expects ${K.shape[2]}`);
  return g;
}

// ---------------------------------------------------------------- im2col / col2im

/**
 * The patch matrix of x (N, H, W, C): row (n·Ho + i)·Wo + j holds the
 * receptive field of output pixel (n, i, j), entries in (p, q, c) order;
 * padding reads as zeros. cols: (N·Ho·Wo, kh·kw·C). Writes into `out` if given
 * (a reused buffer); every entry is overwritten.
 */
export function im2col(x: Tensor, g: ConvGeometry, out?: Tensor): Tensor {
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = g;
  if (x.size !== N * H * W * C) throw new Error(`im2col: x has shape ${shapeStr(x.shape)}, expected ${shapeStr([N, H, W, C])}`);
  const K = kh * kw * C;
  const rows = N * Ho * Wo;
  let cols: Tensor;
  if (out === undefined) cols = new Tensor([rows, K]);
  else if (out.size !== rows * K) throw new Error(`im2col: out has shape ${shapeStr(out.shape)}, expected (${rows}, ${K})`);
  else cols = out.rank === 2 && out.shape[0] === rows ? out : out.reshape([rows, K]);
  const xd = x.data, cd = cols.data;
  const rowStride = W * C, kwC = kw * C;
  let o = 0;
  for (let n = 0; n < N; n++) {
    const xn = n * H * rowStride;
    for (let i = 0; i < Ho; i++) {
      const i0 = i * sh - padTop;
      for (let j = 0; j < Wo; j++) {
        const j0 = j * sw - padLeft;
        // The common case: the window lies inside the image, and each of its rows is kw·C contiguous values.
        if (i0 >= 0 && j0 >= 0 && i0 + kh <= H && j0 + kw <= W) {
          let src = xn + i0 * rowStride + j0 * C;
          for (let p = 0; p < kh; p++, src += rowStride) {
            for (let t = 0; t < kwC; t++) cd[o++] = xd[src + t];
          }
          continue;
        }
        for (let p = 0; p < kh; p++) {
          const ii = i0 + p;
          for (let q = 0; q < kw; q++) {
            const jj = j0 + q;
            if (ii < 0 || ii >= H || jj < 0 || jj >= W) {
              for (let c = 0; c < C; c++) cd[o++] = 0;
            } else {
              const src = xn + ii * rowStride + jj * C;
              for (let c = 0; c < C; c++) cd[o++] = xd[src + c];
            }
          }
        }
      }
    }
  }
  return cols;
}

/**
 * The adjoint of im2col: every entry of a patch matrix (N·Ho·Wo, kh·kw·C) is
 * added back onto the pixel it was copied from (entries that came from the
 * padding are dropped). Overlapping windows therefore sum. Returns
 * (N, H, W, C); accumulates into `out` if given.
 */
export function col2im(cols: Tensor, g: ConvGeometry, out?: Tensor): Tensor {
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = g;
  const K = kh * kw * C;
  if (cols.size !== N * Ho * Wo * K) throw new Error(`col2im: cols has shape ${shapeStr(cols.shape)}, expected (${N * Ho * Wo}, ${K})`);
  const x = out ?? new Tensor([N, H, W, C]);
  if (x.size !== N * H * W * C) throw new Error(`col2im: out has shape ${shapeStr(x.shape)}, expected ${shapeStr([N, H, W, C])}`);
  const xd = x.data, cd = cols.data;
  const rowStride = W * C, kwC = kw * C;
  let o = 0;
  for (let n = 0; n < N; n++) {
    const xn = n * H * rowStride;
    for (let i = 0; i < Ho; i++) {
      const i0 = i * sh - padTop;
      for (let j = 0; j < Wo; j++) {
        const j0 = j * sw - padLeft;
        if (i0 >= 0 && j0 >= 0 && i0 + kh <= H && j0 + kw <= W) {
          let dst = xn + i0 * rowStride + j0 * C;
          for (let p = 0; p < kh; p++, dst += rowStride) {
            for (let t = 0; t < kwC; t++) xd[dst + t] += cd[o++];
          }
          continue;
        }
        for (let p = 0; p < kh; p++) {
          const ii = i0 + p;
          for (let q = 0; q < kw; q++) {
            const jj = j0 + q;
            if (ii < 0 || ii >= H || jj < 0 || jj >= W) {
              o += C;
            } else {
              const dst = xn + ii * rowStride + jj * C;
              for (let c = 0; c < C; c++) xd[dst + c] += cd[o++];
            }
          }
        }
      }
    }
  }
  return x;
}

// ---------------------------------------------------------------- the kernel pair

export interface Conv2DCache {
  /** The patch matrix of the input, (N·Ho·Wo, kh·kw·C). */
  cols: Tensor;
  /** The kernel (kh, kw, C, F) the output was computed with. */
  K: Tensor;
  hasBias: boolean;
  geometry: ConvGeometry;
}

/** Buffers for conv2dForward to write into instead of allocating (e.g. from a Workspace); any previous contents are overwritten. */
export interface Conv2DBuffers {
  /** The patch matrix, (N·Ho·Wo, kh·kw·C) entries. */
  cols?: Tensor;
  /** The output Z, (N, Ho, Wo, F) entries. */
  z?: Tensor;
}

/**
 * Z = im2col(x) · K + b, reshaped to (N, Ho, Wo, F).
 * x: (N, H, W, C); K: (kh, kw, C, F); b: (F) or null.
 */
export function conv2dForward(x: Tensor, K: Tensor, b: Tensor | null, opts: ConvOptions = {}, who = "conv2d", buffers: Conv2DBuffers = {}): { out: Tensor; cache: Conv2DCache } {
  const g = convGeometry(x, K, opts, who);
  const F = K.shape[3];
  if (b !== null && (b.rank !== 1 || b.shape[0] !== F)) throw new Error(`${who}: bias has shape ${shapeStr(b.shape)}, expected (${F},) for ${F} filters`);
  const cols = im2col(x, g, buffers.cols);
  // Z = cols · K + b: every row of Z starts as b, and the product is added onto it
  // (N·Ho·Wo, kh·kw·C) · (kh·kw·C, F)
  const Z = buffers.z === undefined ? new Tensor([cols.shape[0], F]) : buffers.z.reshape([cols.shape[0], F]);
  if (b !== null) {
    // b in the first row, then the filled part copied onto the rest, doubling each time (native copies)
    const z = Z.data;
    if (z.length > 0) z.set(b.data);
    for (let filled = F; filled < z.length; filled *= 2) z.copyWithin(filled, 0, Math.min(filled, z.length - filled));
  }
  matmul(cols, K.reshape([g.kh * g.kw * g.C, F]), Z, b !== null);
  return { out: Z.reshape([g.N, g.Ho, g.Wo, F]), cache: { cols, K, hasBias: b !== null, geometry: g } };
}

/**
 * dK = colsᵀ · dZ, db = Σ_rows dZ, dX = col2im(dZ · Kᵀ).
 * dOut: (N, Ho, Wo, F) → dX: (N, H, W, C), dW: (kh, kw, C, F), db: (F) or null.
 * With `inputGradient` false, dX is not computed (null): the first layer of a
 * network never needs it.
 */
export function conv2dBackward(dOut: Tensor, cache: Conv2DCache, inputGradient = true): { dX: Tensor | null; dW: Tensor; db: Tensor | null } {
  const { cols, K, hasBias, geometry: g } = cache;
  const F = K.shape[3];
  const rows = g.N * g.Ho * g.Wo, kk = g.kh * g.kw * g.C;
  if (dOut.size !== rows * F) throw new Error(`conv2d backward: dOut has shape ${shapeStr(dOut.shape)}, expected ${shapeStr([g.N, g.Ho, g.Wo, F])}`);
  const dZ = dOut.reshape([rows, F]);
  const K2 = K.reshape([kk, F]);
  const dW = matmulAtB(cols, dZ).reshape(K.shape);
  const db = hasBias ? colSums(dZ) : null;
  const dX = inputGradient ? col2im(matmulABt(dZ, K2), g) : null;
  return { dX, dW, db };
}

// ---------------------------------------------------------------- ReLU + convolution backward (Conv2D's fast path)

/**
 * conv2dBackward applied to dZ = dOut ⊙ relu'(z), for a Conv2D whose ReLU
 * output is a (relu'(z) = [a > 0]), with the zeros of dZ skipped. Behind a
 * 2×2 max pooling only one pixel in four receives a gradient, and the ReLU
 * zeroes more, so most terms of the three products are exactly 0: this loop
 * visits each output entry once and does the work only for the nonzero
 * dz(r, f), adding dz·cols(r, :) to column f of dK, dz to db(f), and
 * dz·K(:, f) to row r of dcols. It equals activationBackward followed by
 * conv2dBackward up to the order of the sums (one term at a time rather than
 * four rows at a time): tested to 1e-12. It also saves the pass that makes dZ.
 */
export function conv2dReluBackward(dOut: Tensor, a: Tensor, cache: Conv2DCache, inputGradient = true, buffers: { dcols?: Tensor; dX?: Tensor } = {}): { dX: Tensor | null; dW: Tensor; db: Tensor | null } {
  const { cols, K, hasBias, geometry: g } = cache;
  const F = K.shape[3];
  const rows = g.N * g.Ho * g.Wo, kk = g.kh * g.kw * g.C;
  if (dOut.size !== rows * F) throw new Error(`conv2d backward: dOut has shape ${shapeStr(dOut.shape)}, expected ${shapeStr([g.N, g.Ho, g.Wo, F])}`);
  if (a.size !== rows * F) throw new Error(`conv2d backward: the ReLU output has shape ${shapeStr(a.shape)}, expected ${shapeStr([g.N, g.Ho, g.Wo, F])}`);
  // K and dK transposed, (F, kh·kw·C): a filter's weights contiguous
  const Kt = new Float64Array(F * kk), dKt = new Float64Array(F * kk), db = new Float64Array(F);
  for (let t = 0; t < kk; t++) for (let f = 0; f < F; f++) Kt[f * kk + t] = K.data[t * F + f];
  let dcols: Tensor | null = null;
  if (inputGradient) {
    dcols = buffers.dcols === undefined ? new Tensor([rows, kk]) : buffers.dcols.reshape([rows, kk]);
    if (buffers.dcols !== undefined) dcols.data.fill(0);
  }
  reluConvGradients(dOut.data, a.data, cols.data, Kt, dKt, db, dcols === null ? null : dcols.data, rows, F, kk);
  const dW = new Tensor(K.shape);
  for (let t = 0; t < kk; t++) for (let f = 0; f < F; f++) dW.data[t * F + f] = dKt[f * kk + t];
  let dX: Tensor | null = null;
  if (dcols !== null) {
    if (buffers.dX !== undefined) buffers.dX.data.fill(0);
    dX = col2im(dcols, g, buffers.dX?.reshape([g.N, g.H, g.W, g.C]));
  }
  return { dX, dW, db: hasBias ? new Tensor([F], db) : null };
}

/**
 * The loop of conv2dReluBackward, on its own so that V8 optimises it apart from the
 * set-up around it. For every row r of cols and filter f with dz = dOut(r, f)·[a(r, f) > 0] ≠ 0:
 * db(f) += dz, dKᵀ(f, :) += dz·cols(r, :), and (if dcols is given) dcols(r, :) += dz·Kᵀ(f, :).
 */
function reluConvGradients(
  go: Float64Array, ad: Float64Array, cd: Float64Array, Kt: Float64Array, dKt: Float64Array, db: Float64Array,
  dc: Float64Array | null, rows: number, F: number, kk: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * F, c = r * kk;
    for (let f = 0; f < F; f++) {
      // dz = dOut ⊙ relu'(z) = dOut·[a > 0]; nothing to add where it is 0
      const dz = go[o + f];
      if (dz === 0 || !(ad[o + f] > 0)) continue;
      db[f] += dz;
      const k = f * kk;
      // dK(:, f) += dz · cols(r, :)
      for (let t = 0; t < kk; t++) dKt[k + t] += dz * cd[c + t];
      // dcols(r, :) += dz · K(:, f)
      if (dc !== null) for (let t = 0; t < kk; t++) dc[c + t] += dz * Kt[k + t];
    }
  }
}

// ---------------------------------------------------------------- the naive reference

/** The sliding-window loops of the convolution formula, seven nested loops, no im2col. */
export function conv2dNaive(x: Tensor, K: Tensor, b: Tensor | null, opts: ConvOptions = {}): Tensor {
  const g = convGeometry(x, K, opts, "conv2dNaive");
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = g;
  const F = K.shape[3];
  const z = new Tensor([N, Ho, Wo, F]);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let f = 0; f < F; f++) {
          let s = b === null ? 0 : b.data[f];
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const ii = i * sh + p - padTop, jj = j * sw + q - padLeft;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              for (let c = 0; c < C; c++) s += x.data[((n * H + ii) * W + jj) * C + c] * K.data[((p * kw + q) * C + c) * F + f];
            }
          z.data[((n * Ho + i) * Wo + j) * F + f] = s;
        }
  return z;
}

/**
 * The same loops run backwards: each output gradient dz(n, i, j, f) flows to
 * the pixels and kernel weights its receptive field multiplied.
 *   dX(n, i·s+p, j·s+q, c) += dz(n,i,j,f) K(p,q,c,f);  dK(p,q,c,f) += dz(n,i,j,f) x(n, i·s+p, j·s+q, c);  db(f) += dz(n,i,j,f).
 */
export function conv2dBackwardNaive(dOut: Tensor, x: Tensor, K: Tensor, opts: ConvOptions = {}): { dX: Tensor; dW: Tensor; db: Tensor } {
  const g = convGeometry(x, K, opts, "conv2dBackwardNaive");
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = g;
  const F = K.shape[3];
  const dX = new Tensor(x.shape), dW = new Tensor(K.shape), db = new Tensor([F]);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let f = 0; f < F; f++) {
          const dz = dOut.data[((n * Ho + i) * Wo + j) * F + f];
          db.data[f] += dz;
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const ii = i * sh + p - padTop, jj = j * sw + q - padLeft;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              for (let c = 0; c < C; c++) {
                const xi = ((n * H + ii) * W + jj) * C + c, ki = ((p * kw + q) * C + c) * F + f;
                dX.data[xi] += dz * K.data[ki];
                dW.data[ki] += dz * x.data[xi];
              }
            }
        }
  return { dX, dW, db };
}

// ---------------------------------------------------------------- Conv2D

export interface Conv2DOptions extends ConvOptions {
  activation?: ActivationName;
  kernelRegularizer?: Regularizer;
  useBias?: boolean;
  /** Keras's input_shape, per sample: [H, W, C]. */
  inputShape?: number[];
}

export interface Conv2DLayerCache {
  conv: Conv2DCache;
  act: ActivationCache | null;
  /** The model's reused buffers, when forward had them: backward takes dX's from there too. */
  workspace?: Workspace;
}

/**
 * a = max(0, z) = (z + |z|)/2 in place: activationForward's relu case, the same operations and bits. A function
 * of its own because the model's last Dense calls activationForward with softmax: with Conv2D's large ReLU in it
 * too, V8 threw activationForward's optimised code away on every training step (node --trace-deopt).
 */
function reluInPlace(z: Float64Array): void {
  for (let i = 0; i < z.length; i++) z[i] = 0.5 * (z[i] + Math.abs(z[i]));
}

/**
 * Keras's Conv2D(filters, kernel_size, strides=1, padding='valid',
 * activation=None, use_bias=True, kernel_regularizer=None): kernel
 * (kh, kw, C, filters) with glorot_uniform, bias (filters) with zeros.
 */
export class Conv2D implements Layer<Conv2DLayerCache> {
  readonly className = "Conv2D";
  name = "conv2d";
  readonly activation: ActivationName;
  readonly inputShape?: number[];
  readonly useBias: boolean;
  readonly kernelRegularizer?: Regularizer;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  kernel: Tensor | null = null;
  bias: Tensor | null = null;
  /** The per-sample input shape (H, W, C) the layer was built for. */
  private builtShape: number[] | null = null;

  constructor(readonly filters: number, kernelSize: number | readonly [number, number], opts: Conv2DOptions = {}) {
    if (!Number.isInteger(filters) || filters < 1) throw new Error(`Conv2D: filters must be a positive integer, got ${filters}`);
    const who = `Conv2D(${filters})`;
    this.kernelSize = pair(kernelSize, 1, "kernel size", who);
    this.strides = pair(opts.strides, 1, "strides", who);
    this.padding = checkPadding(opts.padding ?? "valid", who);
    this.activation = checkActivation(opts.activation ?? "linear", who);
    this.useBias = opts.useBias ?? true;
    this.kernelRegularizer = opts.kernelRegularizer;
    this.inputShape = opts.inputShape;
  }

  private get who(): string {
    return `Conv2D(${this.filters}, ${this.kernelSize[0]}×${this.kernelSize[1]})`;
  }

  build(inputShape: Shape, rng: Rng): number[] {
    if (inputShape.length !== 3) throw new Error(`${this.who}: expected a per-sample input shape (H, W, C), got ${shapeStr(inputShape)}`);
    const [H, W, C] = inputShape;
    const [kh, kw] = this.kernelSize;
    const g = windowGeometry([1, H, W, C], kh, kw, { strides: this.strides, padding: this.padding }, this.who);
    this.kernel = glorotUniform([kh, kw, C, this.filters], rng);
    this.bias = this.useBias ? zerosInit([this.filters]) : null;
    this.builtShape = [H, W, C];
    return [g.Ho, g.Wo, this.filters];
  }

  params(): Param[] {
    if (!this.kernel) throw new Error(`${this.who} is not built yet: add it to a model with a known input shape`);
    const ps: Param[] = [{ name: "kernel", value: this.kernel, regularizer: this.kernelRegularizer }];
    if (this.bias) ps.push({ name: "bias", value: this.bias });
    return ps;
  }

  forward(x: Tensor, ctx: ForwardContext): { out: Tensor; cache: Conv2DLayerCache } {
    if (!this.kernel || !this.builtShape) throw new Error(`${this.who} is not built yet`);
    const [H, W, C] = this.builtShape;
    if (x.rank !== 4 || x.shape[1] !== H || x.shape[2] !== W || x.shape[3] !== C) {
      throw new Error(`${this.who}: expected an image batch of shape (N, H, W, C) = (N, ${H}, ${W}, ${C}), got ${shapeStr(x.shape)}`);
    }
    const ws = ctx.workspace;
    const g = convGeometry(x, this.kernel, { strides: this.strides, padding: this.padding }, this.who);
    // the patch matrix and Z in the model's reused buffers during training
    const buffers = ws === undefined ? {} : { cols: ws.tensor(this, "cols", [g.N * g.Ho * g.Wo, g.kh * g.kw * g.C]), z: ws.tensor(this, "z", [g.N, g.Ho, g.Wo, this.filters]) };
    const { out: z, cache: conv } = conv2dForward(x, this.kernel, this.bias, { strides: this.strides, padding: this.padding }, this.who, buffers);
    if (ctx.linearOutput || this.activation === "linear") return { out: z, cache: { conv, act: null, workspace: ws } };
    if (this.activation === "relu") {
      // a = max(0, z), written over z (the bias is in z already)
      reluInPlace(z.data);
      return { out: z, cache: { conv, act: { name: "relu", a: z }, workspace: ws } };
    }
    // a = σ(z), written over z
    const { out, cache: act } = activationForward(this.activation, z, true);
    return { out, cache: { conv, act, workspace: ws } };
  }

  backward(dOut: Tensor, cache: Conv2DLayerCache): { dX: Tensor; grads: Tensor[] } {
    const { dX, dW, db } = this.gradients(dOut, cache, true);
    return { dX: dX!, grads: db ? [dW, db] : [dW] };
  }

  /** backward without dX = col2im(dZ·Kᵀ), for the first layer of a model. */
  paramGradients(dOut: Tensor, cache: Conv2DLayerCache): Tensor[] {
    const { dW, db } = this.gradients(dOut, cache, false);
    return db ? [dW, db] : [dW];
  }

  /** dZ = σ'(z) ⊙ dOut, then conv2dBackward; for the ReLU both at once in conv2dReluBackward, which skips the zeros of dZ. */
  private gradients(dOut: Tensor, cache: Conv2DLayerCache, inputGradient: boolean): { dX: Tensor | null; dW: Tensor; db: Tensor | null } {
    const { conv, act, workspace: ws } = cache;
    if (act === null) return conv2dBackward(dOut, conv, inputGradient);
    if (act.name !== "relu") return conv2dBackward(activationBackward(dOut, act), conv, inputGradient);
    const g = conv.geometry;
    const buffers = ws === undefined || !inputGradient ? {} : { dcols: ws.tensor(this, "dcols", conv.cols.shape), dX: ws.tensor(this, "dX", [g.N, g.H, g.W, g.C]) };
    return conv2dReluBackward(dOut, act.a, conv, inputGradient, buffers);
  }
}
