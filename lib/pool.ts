/**
 * Max and average pooling of image batches (N, H, W, C), as Keras's
 * MaxPooling2D and AveragePooling2D compute them.
 *
 * A ph×pw window slides over every channel separately, with strides that
 * default to the pool size (non-overlapping windows), and reduces each
 * window to one number:
 *
 *   max:      y(n, i, j, c) = max_{p<ph, q<pw} x(n, i·s + p, j·s + q, c)
 *   average:  y(n, i, j, c) = (1/|window|) Σ_{p<ph, q<pw} x(n, i·s + p, j·s + q, c)
 *
 * Max pooling has no weights; its backward pass routes each output gradient
 * to the one input that won the max. Forward records those winners, the
 * "switches", as flat indices into x, so backward is a single scatter:
 * dX[switch(k)] += dY[k]. Ties go to the first maximum in (p, q) order.
 *
 * Padding: 'valid' (default) or 'same' (Ho = ⌈H/s⌉); padded positions never
 * win a max and are not counted in an average, as in Keras.
 */
import { Tensor, shapeStr, type Shape } from "./matrix.ts";
import { type Padding, type ConvGeometry, checkPadding, windowGeometry } from "./conv.ts";
import type { Layer, Param, ForwardContext } from "./layer.ts";
import type { Workspace } from "./workspace.ts";

export interface PoolOptions {
  /** s, one number or [sh, sw]; defaults to the pool size. */
  strides?: number | readonly [number, number];
  padding?: Padding;
}

function poolPair(v: number | readonly [number, number], what: string, who: string): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1)) throw new Error(`${who}: ${what} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
}

/** The window geometry of a pooling: x (N, H, W, C), pool (ph, pw), strides defaulting to the pool size. */
export function poolGeometry(xShape: Shape, poolSize: number | readonly [number, number], opts: PoolOptions, who: string): ConvGeometry {
  const [ph, pw] = poolPair(poolSize, "pool size", who);
  return windowGeometry(xShape, ph, pw, { strides: opts.strides ?? [ph, pw], padding: opts.padding ?? "valid" }, who);
}

// ---------------------------------------------------------------- max pooling

export interface MaxPoolCache {
  /** For every output entry, the flat index into x of the input that won the max (the switch). */
  switches: Int32Array;
  xShape: number[];
}

/** Buffers for maxPoolForward to write into instead of allocating (e.g. from a Workspace); every entry is overwritten. */
export interface MaxPoolBuffers {
  /** y, (N, Ho, Wo, C) entries. */
  out?: Tensor;
  switches?: Int32Array;
}

/**
 * y = max over each window. x: (N, H, W, C) → y: (N, Ho, Wo, C), with the switches in the cache.
 * The lecture's 2×2 pooling with stride 2 takes the fast path maxPool2x2; every other window
 * the general loop of maxPoolForwardGeneral.
 */
export function maxPoolForward(x: Tensor, poolSize: number | readonly [number, number], opts: PoolOptions = {}, who = "max_pool2d", buffers: MaxPoolBuffers = {}): { out: Tensor; cache: MaxPoolCache } {
  const g = poolGeometry(x.shape, poolSize, opts, who);
  const { N, Ho, Wo, C } = g;
  const out = buffers.out === undefined ? new Tensor([N, Ho, Wo, C]) : buffers.out.reshape([N, Ho, Wo, C]);
  const switches = buffers.switches ?? new Int32Array(out.size);
  if (switches.length !== out.size) throw new Error(`${who}: the switches buffer has ${switches.length} entries, expected ${out.size}`);
  if (g.kh === 2 && g.kw === 2 && g.sh === 2 && g.sw === 2 && g.padTop === 0 && g.padLeft === 0 && 2 * Ho <= g.H && 2 * Wo <= g.W) maxPool2x2(x, g, out, switches);
  else maxPoolForwardGeneral(x, g, out, switches);
  return { out, cache: { switches, xShape: x.shape } };
}

/**
 * maxPoolForwardGeneral for 2×2 windows with stride 2 that lie inside the image: the four
 * candidates are read and compared in (p, q) order without the loops over the window, which
 * for a window of four cost more than the comparisons. Same maxima and switches (tested).
 */
function maxPool2x2(x: Tensor, g: ConvGeometry, out: Tensor, switches: Int32Array): void {
  const { N, H, W, C, Ho, Wo } = g;
  const xd = x.data, yd = out.data, rowStride = W * C;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      // the top-left pixel of the window (i, 0)
      let k00 = ((n * H + 2 * i) * W) * C;
      for (let j = 0; j < Wo; j++, k00 += 2 * C) {
        for (let c = 0; c < C; c++, o++) {
          const k = k00 + c;
          // a: the index of the largest value so far, in (p, q) order, ties to the first; best = x[a]
          let a = k, best = xd[k];
          let v = xd[k + C], gt = v > best;
          best = gt ? v : best;
          a = gt ? k + C : a;
          v = xd[k + rowStride];
          gt = v > best;
          best = gt ? v : best;
          a = gt ? k + rowStride : a;
          v = xd[k + rowStride + C];
          gt = v > best;
          best = gt ? v : best;
          a = gt ? k + rowStride + C : a;
          yd[o] = best;
          switches[o] = a;
        }
      }
    }
  }
}

/** The general max pooling into out (N, Ho, Wo, C) and its switches: any window, stride and padding. The reference maxPool2x2 is tested against. */
export function maxPoolForwardGeneral(x: Tensor, g: ConvGeometry, out: Tensor, switches: Int32Array): void {
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = g;
  const xd = x.data, yd = out.data, rowStride = W * C;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      // the window's rows p0..p1-1 and columns q0..q1-1, clipped to the image ('same' padding)
      const p0 = Math.max(0, i * sh - padTop), p1 = Math.min(H, i * sh - padTop + kh);
      for (let j = 0; j < Wo; j++, o += C) {
        const q0 = Math.max(0, j * sw - padLeft), q1 = Math.min(W, j * sw - padLeft + kw);
        const start = ((n * H + p0) * W + q0) * C;
        for (let c = 0; c < C; c++) {
          // a: the index of the largest value seen so far, starting at the window's first pixel; best = x[a]
          let a = start + c, best = xd[a];
          for (let p = p0, row = a; p < p1; p++, row += rowStride) {
            for (let q = q0, k = row; q < q1; q++, k += C) {
              // a ← k if x[k] > best, as conditional moves rather than a branch (which mispredicts on data)
              const v = xd[k], gt = v > best;
              best = gt ? v : best;
              a = gt ? k : a;
            }
          }
          yd[o + c] = best;
          switches[o + c] = a;
        }
      }
    }
  }
}

/**
 * dX[switch(k)] += dY[k]: each gradient goes back to the input that won its window. dOut: (N, Ho, Wo, C) → dX: (N, H, W, C),
 * written into `out` if given (a reused buffer, zeroed here first).
 */
export function maxPoolBackward(dOut: Tensor, cache: MaxPoolCache, out?: Tensor): { dX: Tensor } {
  const { switches, xShape } = cache;
  if (dOut.size !== switches.length) throw new Error(`max_pool2d backward: dOut has ${dOut.size} entries ${shapeStr(dOut.shape)}, the forward output had ${switches.length}`);
  const dX = out === undefined ? new Tensor(xShape) : out.reshape(xShape);
  if (out !== undefined) dX.data.fill(0);
  scatterToSwitches(dOut.data, switches, dX.data);
  return { dX };
}

/** dx[switches[k]] += dy[k] for every k: on its own, so that V8 optimises the loop apart from the set-up around it. */
function scatterToSwitches(dy: Float64Array, switches: Int32Array, dx: Float64Array): void {
  for (let k = 0; k < switches.length; k++) dx[switches[k]] += dy[k];
}

// ---------------------------------------------------------------- average pooling

export interface AvgPoolCache {
  geometry: ConvGeometry;
}

/** y = the mean of each window (padding excluded). x: (N, H, W, C) → y: (N, Ho, Wo, C). */
export function avgPoolForward(x: Tensor, poolSize: number | readonly [number, number], opts: PoolOptions = {}, who = "avg_pool2d"): { out: Tensor; cache: AvgPoolCache } {
  const g = poolGeometry(x.shape, poolSize, opts, who);
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = g;
  const out = new Tensor([N, Ho, Wo, C]);
  const xd = x.data, yd = out.data;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++) {
      const p0 = Math.max(0, i * sh - padTop), p1 = Math.min(H, i * sh - padTop + kh);
      for (let j = 0; j < Wo; j++) {
        const q0 = Math.max(0, j * sw - padLeft), q1 = Math.min(W, j * sw - padLeft + kw);
        const o = ((n * Ho + i) * Wo + j) * C;
        const inv = 1 / ((p1 - p0) * (q1 - q0));
        for (let p = p0; p < p1; p++)
          for (let q = q0; q < q1; q++) {
            const src = ((n * H + p) * W + q) * C;
            for (let c = 0; c < C; c++) yd[o + c] += xd[src + c] * inv;
          }
      }
    }
  return { out, cache: { geometry: g } };
}

/** dX(window) += dY / |window|. dOut: (N, Ho, Wo, C) → dX: (N, H, W, C). */
export function avgPoolBackward(dOut: Tensor, cache: AvgPoolCache): { dX: Tensor } {
  const { N, H, W, C, kh, kw, sh, sw, padTop, padLeft, Ho, Wo } = cache.geometry;
  if (dOut.size !== N * Ho * Wo * C) throw new Error(`avg_pool2d backward: dOut has shape ${shapeStr(dOut.shape)}, expected ${shapeStr([N, Ho, Wo, C])}`);
  const dX = new Tensor([N, H, W, C]);
  const dx = dX.data, dy = dOut.data;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++) {
      const p0 = Math.max(0, i * sh - padTop), p1 = Math.min(H, i * sh - padTop + kh);
      for (let j = 0; j < Wo; j++) {
        const q0 = Math.max(0, j * sw - padLeft), q1 = Math.min(W, j * sw - padLeft + kw);
        const o = ((n * Ho + i) * Wo + j) * C;
        const inv = 1 / ((p1 - p0) * (q1 - q0));
        for (let p = p0; p < p1; p++)
          for (let q = q0; q < q1; q++) {
            const dst = ((n * H + p) * W + q) * C;
            for (let c = 0; c < C; c++) dx[dst + c] += dy[o + c] * inv;
          }
      }
    }
  return { dX };
}

// ---------------------------------------------------------------- layers

abstract class Pooling2D<C> implements Layer<C> {
  abstract readonly className: string;
  abstract name: string;
  readonly inputShape?: number[];
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  /** The per-sample input shape (H, W, C) the layer was built for. */
  protected builtShape: number[] | null = null;

  constructor(poolSize: number | readonly [number, number], opts: PoolOptions & { inputShape?: number[] }, kind: string) {
    const who = `${kind}(${JSON.stringify(poolSize)})`;
    this.poolSize = poolPair(poolSize, "pool size", who);
    this.strides = opts.strides === undefined ? this.poolSize : poolPair(opts.strides, "strides", who);
    this.padding = checkPadding(opts.padding ?? "valid", who);
    this.inputShape = opts.inputShape;
  }

  protected get who(): string {
    return `${this.className}(${this.poolSize[0]}×${this.poolSize[1]})`;
  }

  build(inputShape: Shape): number[] {
    if (inputShape.length !== 3) throw new Error(`${this.who}: expected a per-sample input shape (H, W, C), got ${shapeStr(inputShape)}`);
    const g = windowGeometry([1, ...inputShape], this.poolSize[0], this.poolSize[1], { strides: this.strides, padding: this.padding }, this.who);
    this.builtShape = [...inputShape];
    return [g.Ho, g.Wo, g.C];
  }

  params(): Param[] {
    return [];
  }

  protected checkInput(x: Tensor): void {
    const s = this.builtShape;
    if (s && (x.rank !== 4 || x.shape[1] !== s[0] || x.shape[2] !== s[1] || x.shape[3] !== s[2])) {
      throw new Error(`${this.who}: expected an image batch of shape (N, H, W, C) = (N, ${s.join(", ")}), got ${shapeStr(x.shape)}`);
    }
  }

  abstract forward(x: Tensor, ctx?: ForwardContext): { out: Tensor; cache: C };
  abstract backward(dOut: Tensor, cache: C): { dX: Tensor; grads: Tensor[] };
}

/** Keras's MaxPooling2D(pool_size=(2, 2), strides=None → pool_size, padding='valid'). */
export interface MaxPoolLayerCache extends MaxPoolCache {
  /** The model's reused buffers, when forward had them: backward takes dX's from there too. */
  workspace?: Workspace;
}

export class MaxPooling2D extends Pooling2D<MaxPoolLayerCache> {
  readonly className = "MaxPooling2D";
  name = "max_pooling2d";

  constructor(poolSize: number | readonly [number, number] = 2, opts: PoolOptions & { inputShape?: number[] } = {}) {
    super(poolSize, opts, "MaxPooling2D");
  }

  forward(x: Tensor, ctx: ForwardContext = { training: false }): { out: Tensor; cache: MaxPoolLayerCache } {
    this.checkInput(x);
    const ws = ctx.workspace, opts = { strides: this.strides, padding: this.padding };
    let buffers: MaxPoolBuffers = {};
    if (ws !== undefined) {
      // y and the switches in the model's reused buffers during training
      const g = poolGeometry(x.shape, this.poolSize, opts, this.who);
      const n = g.N * g.Ho * g.Wo * g.C;
      buffers = { out: ws.tensor(this, "out", [g.N, g.Ho, g.Wo, g.C]), switches: ws.int32(this, "switches", n) };
    }
    const { out, cache } = maxPoolForward(x, this.poolSize, opts, this.who, buffers);
    return { out, cache: { ...cache, workspace: ws } };
  }

  backward(dOut: Tensor, cache: MaxPoolLayerCache): { dX: Tensor; grads: Tensor[] } {
    const out = cache.workspace?.tensor(this, "dX", cache.xShape);
    return { dX: maxPoolBackward(dOut, cache, out).dX, grads: [] };
  }
}

/** Keras's AveragePooling2D(pool_size=(2, 2), strides=None → pool_size, padding='valid'). */
export class AveragePooling2D extends Pooling2D<AvgPoolCache> {
  readonly className = "AveragePooling2D";
  name = "average_pooling2d";

  constructor(poolSize: number | readonly [number, number] = 2, opts: PoolOptions & { inputShape?: number[] } = {}) {
    super(poolSize, opts, "AveragePooling2D");
  }

  forward(x: Tensor): { out: Tensor; cache: AvgPoolCache } {
    this.checkInput(x);
    return avgPoolForward(x, this.poolSize, { strides: this.strides, padding: this.padding }, this.who);
  }

  backward(dOut: Tensor, cache: AvgPoolCache): { dX: Tensor; grads: Tensor[] } {
    return { dX: avgPoolBackward(dOut, cache).dX, grads: [] };
  }
}
