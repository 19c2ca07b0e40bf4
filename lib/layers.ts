/**
 * Dense (fully connected) and Flatten, the layers of an ordinary neural network.
 *
 * Dense keeps Keras's layout: kernel W (in, out) and bias b (out), so that
 * z = x·W + b for a batch of row vectors x (N, in). Like Keras's Dense, it
 * also acts on a sequence batch (N, T, in), separately at every time step.
 */
import { Tensor, matmul, matmulAtB, matmulABt, colSums, shapeStr, type Shape } from "./matrix.ts";
import { Rng, glorotUniform, zerosInit } from "./random.ts";
import { type ActivationName, type ActivationCache, activationForward, activationForwardBias, activationBackward, checkActivation } from "./activations.ts";
import type { Regularizer } from "./regularizers.ts";
import type { Layer, Param, ForwardContext } from "./layer.ts";
import type { Workspace } from "./workspace.ts";

// ---------------------------------------------------------------- the kernel pair

export interface DenseCache {
  /** x as a matrix (rows, in): (N, in), or (N·T, in) for a sequence batch. */
  x2: Tensor;
  /** x's own shape, restored for dX. */
  xShape: number[];
  W: Tensor;
  hasBias: boolean;
}

/**
 * z = x·W + b. x: (N, in) or (N, T, in); W: (in, out); b: (out) or null → z: (N, out) or (N, T, out).
 * Written into `out` if given (a reused buffer with as many entries; overwritten). With `relu`,
 * the result is a = max(0, z) instead, in the same pass as the bias.
 */
export function denseForward(x: Tensor, W: Tensor, b: Tensor | null, who = "Dense", out?: Tensor, relu = false): { out: Tensor; cache: DenseCache } {
  const [nIn, nOut] = W.shape;
  const F = x.shape[x.rank - 1];
  if (x.rank < 2) throw new Error(`${who}: expected input (N, features) or (N, T, features), got ${shapeStr(x.shape)}`);
  if (F !== nIn) throw new Error(`${who}: input ${shapeStr(x.shape)} has ${F} features, kernel expects ${nIn}`);
  const x2 = x.reshape([x.size / F, F]);
  const z2 = matmul(x2, W, out?.reshape([x2.shape[0], nOut]));
  // z + b written over z; with the ReLU, a = max(0, z + b) in the same pass (each entry is read before it is written)
  if (b !== null) activationForwardBias(relu ? "relu" : "linear", z2, b, z2);
  else if (relu) activationForward("relu", z2, true);
  return { out: z2.reshape([...x.shape.slice(0, -1), nOut]), cache: { x2, xShape: x.shape, W, hasBias: b !== null } };
}

/** dX = dZ·Wᵀ, dW = xᵀ·dZ, db = Σ_rows dZ; dX written into `dXOut` if given (a reused buffer; overwritten). */
export function denseBackward(dOut: Tensor, cache: DenseCache, dXOut?: Tensor): { dX: Tensor; dW: Tensor; db: Tensor | null } {
  const { x2, xShape, W, hasBias } = cache;
  const nOut = W.shape[1];
  if (dOut.size !== x2.shape[0] * nOut) {
    throw new Error(`Dense backward: dOut has shape ${shapeStr(dOut.shape)}, expected ${shapeStr([...xShape.slice(0, -1), nOut])}`);
  }
  const dZ2 = dOut.reshape([x2.shape[0], nOut]);
  const dX = matmulABt(dZ2, W, dXOut?.reshape([x2.shape[0], x2.shape[1]])).reshape(xShape);
  const dW = matmulAtB(x2, dZ2);
  const db = hasBias ? colSums(dZ2) : null;
  return { dX, dW, db };
}

// ---------------------------------------------------------------- Dense

export interface DenseOptions {
  activation?: ActivationName;
  kernelRegularizer?: Regularizer;
  useBias?: boolean;
  /** Keras's input_shape, per sample: [features] or [T, features]. */
  inputShape?: number[];
}

export interface DenseLayerCache {
  dense: DenseCache;
  act: ActivationCache | null;
  /** The model's reused buffers, when forward had them: backward takes dZ's and dX's from there too. */
  workspace?: Workspace;
}

export class Dense implements Layer<DenseLayerCache> {
  readonly className = "Dense";
  name = "dense";
  readonly activation: ActivationName;
  readonly inputShape?: number[];
  readonly useBias: boolean;
  readonly kernelRegularizer?: Regularizer;
  kernel: Tensor | null = null;
  bias: Tensor | null = null;

  constructor(readonly units: number, opts: DenseOptions = {}) {
    if (!Number.isInteger(units) || units < 1) throw new Error(`Dense: units must be a positive integer, got ${units}`);
    this.activation = checkActivation(opts.activation ?? "linear", `Dense(${units})`);
    this.inputShape = opts.inputShape;
    this.useBias = opts.useBias ?? true;
    this.kernelRegularizer = opts.kernelRegularizer;
  }

  build(inputShape: Shape, rng: Rng): number[] {
    if (inputShape.length < 1 || inputShape.length > 2) {
      throw new Error(`Dense(${this.units}): expected a per-sample input shape (features) or (T, features), got ${shapeStr(inputShape)}`);
    }
    const nIn = inputShape[inputShape.length - 1];
    this.kernel = glorotUniform([nIn, this.units], rng);
    this.bias = this.useBias ? zerosInit([this.units]) : null;
    return [...inputShape.slice(0, -1), this.units];
  }

  params(): Param[] {
    if (!this.kernel) throw new Error(`Dense(${this.units}) is not built yet: add it to a model with a known input shape`);
    const ps: Param[] = [{ name: "kernel", value: this.kernel, regularizer: this.kernelRegularizer }];
    if (this.bias) ps.push({ name: "bias", value: this.bias });
    return ps;
  }

  forward(x: Tensor, ctx: ForwardContext): { out: Tensor; cache: DenseLayerCache } {
    if (!this.kernel) throw new Error(`Dense(${this.units}) is not built yet`);
    const ws = ctx.workspace;
    // z in the model's reused buffer during training
    const zOut = ws?.tensor(this, "z", [...x.shape.slice(0, -1), this.units]);
    const linear = ctx.linearOutput || this.activation === "linear", relu = !linear && this.activation === "relu";
    // with the ReLU, z + b and a = max(0, z + b) in one pass (a written over z)
    const { out: z, cache: dense } = denseForward(x, this.kernel, this.bias, `Dense(${this.units})`, zOut, relu);
    if (relu) return { out: z, cache: { dense, act: { name: "relu", a: z }, workspace: ws } };
    if (linear) return { out: z, cache: { dense, act: null, workspace: ws } };
    // a = σ(z)
    const { out, cache: act } = activationForward(this.activation, z, true);
    return { out, cache: { dense, act, workspace: ws } };
  }

  backward(dOut: Tensor, cache: DenseLayerCache): { dX: Tensor; grads: Tensor[] } {
    const ws = cache.workspace;
    const dZ = cache.act ? activationBackward(dOut, cache.act, ws?.tensor(this, "dz", dOut.shape)) : dOut;
    const { dX, dW, db } = denseBackward(dZ, cache.dense, ws?.tensor(this, "dX", cache.dense.xShape));
    return { dX, grads: db ? [dW, db] : [dW] };
  }
}

// ---------------------------------------------------------------- Flatten

export interface FlattenCache {
  xShape: number[];
}

/** (N, d1, d2, ...) → (N, d1·d2·...), in row-major order as Keras flattens NHWC. */
export class Flatten implements Layer<FlattenCache> {
  readonly className = "Flatten";
  name = "flatten";
  readonly inputShape?: number[];

  constructor(opts: { inputShape?: number[] } = {}) {
    this.inputShape = opts.inputShape;
  }

  build(inputShape: Shape): number[] {
    return [inputShape.reduce((a, b) => a * b, 1)];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor): { out: Tensor; cache: FlattenCache } {
    if (x.rank < 2) throw new Error(`Flatten: expected a batch (N, ...), got ${shapeStr(x.shape)}`);
    const N = x.shape[0];
    return { out: x.reshape([N, N === 0 ? 0 : x.size / N]), cache: { xShape: x.shape } };
  }

  backward(dOut: Tensor, cache: FlattenCache): { dX: Tensor; grads: Tensor[] } {
    return { dX: dOut.reshape(cache.xShape), grads: [] };
  }
}
