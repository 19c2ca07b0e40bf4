/**
 * Losses as forward/backward pairs. Each forward returns the mean loss over
 * the batch; each backward returns ∂L/∂(its input).
 */
import { Tensor, shapeStr } from "./matrix.ts";
import { softmaxRows } from "./activations.ts";

function assertSame(yPred: Tensor, yTrue: Tensor, who: string): void {
  if (yPred.rank !== yTrue.rank || yPred.shape.some((d, i) => d !== yTrue.shape[i])) {
    throw new Error(`${who}: predictions have shape ${shapeStr(yPred.shape)} but targets have shape ${shapeStr(yTrue.shape)}`);
  }
}

export interface MseCache {
  diff: Tensor;
}

/** L = (1/n) Σ (ŷ − y)² over all n entries (Keras's mean_squared_error, averaged over the batch). */
export function mseForward(yPred: Tensor, yTrue: Tensor): { loss: number; cache: MseCache } {
  assertSame(yPred, yTrue, "mean_squared_error");
  const diff = new Tensor(yPred.shape);
  let s = 0;
  for (let i = 0; i < diff.size; i++) {
    const d = yPred.data[i] - yTrue.data[i];
    diff.data[i] = d;
    s += d * d;
  }
  return { loss: s / diff.size, cache: { diff } };
}

/** ∂L/∂ŷ = 2(ŷ − y)/n, scaled by dLoss (1 by default). */
export function mseBackward(cache: MseCache, dLoss = 1): Tensor {
  const { diff } = cache;
  const g = new Tensor(diff.shape);
  const f = (2 * dLoss) / diff.size;
  for (let i = 0; i < g.size; i++) g.data[i] = f * diff.data[i];
  return g;
}

export interface SoftmaxCECache {
  /** p = softmax(z), (N, K). */
  probs: Tensor;
  yTrue: Tensor;
}

/**
 * Categorical cross-entropy fused with softmax, from the logits z (N, K):
 * L = (1/N) Σ_n Σ_k y_nk (logΣ_j e^(z_nj) − z_nk). The log-sum-exp is taken
 * after subtracting the row maximum, so no exp overflows and no log sees 0.
 */
export function softmaxCrossEntropyForward(logits: Tensor, yTrue: Tensor): { loss: number; cache: SoftmaxCECache } {
  assertSame(logits, yTrue, "categorical_crossentropy");
  const K = logits.shape[logits.rank - 1];
  const N = logits.size / K;
  const z = logits.data, y = yTrue.data;
  const probs = new Tensor(logits.shape);
  softmaxRows(z, probs.data, K);
  let total = 0;
  for (let r = 0; r < z.length; r += K) {
    let max = -Infinity;
    for (let j = 0; j < K; j++) if (z[r + j] > max) max = z[r + j];
    let sum = 0;
    for (let j = 0; j < K; j++) sum += Math.exp(z[r + j] - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < K; j++) if (y[r + j] !== 0) total += y[r + j] * (lse - z[r + j]);
  }
  return { loss: total / N, cache: { probs, yTrue } };
}

/** ∂L/∂z = (p · Σ_k y_k − y)/N, which is (p − y)/N for one-hot targets. */
export function softmaxCrossEntropyBackward(cache: SoftmaxCECache, dLoss = 1): Tensor {
  const { probs, yTrue } = cache;
  const K = probs.shape[probs.rank - 1];
  const N = probs.size / K;
  const g = new Tensor(probs.shape);
  const p = probs.data, y = yTrue.data;
  for (let r = 0; r < p.length; r += K) {
    let ysum = 0;
    for (let j = 0; j < K; j++) ysum += y[r + j];
    for (let j = 0; j < K; j++) g.data[r + j] = (dLoss * (p[r + j] * ysum - y[r + j])) / N;
  }
  return g;
}

/** A loss as the model uses it: forward gives the mean loss, backward ∂L/∂(model output). */
export interface Loss {
  readonly name: string;
  /** The output activation this loss absorbs: the model feeds it z instead of σ(z). */
  readonly fusedActivation?: "softmax";
  forward(yPred: Tensor, yTrue: Tensor): { loss: number; cache: unknown };
  backward(cache: unknown): Tensor;
}

export const meanSquaredError: Loss = {
  name: "mean_squared_error",
  forward: mseForward,
  backward: (cache) => mseBackward(cache as MseCache),
};

export const categoricalCrossentropy: Loss = {
  name: "categorical_crossentropy",
  fusedActivation: "softmax",
  forward: softmaxCrossEntropyForward,
  backward: (cache) => softmaxCrossEntropyBackward(cache as SoftmaxCECache),
};

const LOSSES: Record<string, Loss> = {
  mean_squared_error: meanSquaredError,
  mse: meanSquaredError,
  categorical_crossentropy: categoricalCrossentropy,
};

export function getLoss(name: string | Loss): Loss {
  if (typeof name !== "string") return name;
  const loss = LOSSES[name];
  if (!loss) throw new Error(`unknown loss '${name}'; expected one of ${Object.keys(LOSSES).join(", ")}`);
  return loss;
}
