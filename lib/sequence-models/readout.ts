/**
 * A linear readout: decoding a target (e.g. an HMM's belief p(s_t | o_1..t))
 * from features (e.g. an RNN's hidden state h(t)) by least squares, and the
 * R² that says how much of the target's variance it explains.
 *
 *   Ŷ = [1, X] W,   W = argmin ‖[1, X] W − Y‖²   (QR, lib/linalg.ts)
 *   R² = 1 − Σ_{t,j} (Ŷ_tj − Y_tj)² / Σ_{t,j} (Y_tj − Ȳ_j)²   (pooled over the outputs j)
 *
 * And the simplest memory a readout can use: an exponential moving average
 * of the one-hot observations,
 *   e(t) = λ e(t−1) + (1 − λ) onehot(o_t),   e(0) = (1/M, …, 1/M).
 */
import { type Mat, lstsqQR, matMul } from "../linalg.ts";

export interface Readout {
  /** (d + 1, k) with the intercept, (d, k) without; row 0 is the intercept. */
  W: Mat;
  intercept: boolean;
}

function rows(X: Mat, intercept: boolean): Mat {
  return intercept ? X.map((r) => [1, ...r]) : X;
}

/** Fits Y ≈ [1, X] W. Without `intercept` (features that already sum to a constant), Y ≈ X W. */
export function fitReadout(X: Mat, Y: Mat, opts: { intercept?: boolean } = {}): Readout {
  const intercept = opts.intercept ?? true;
  if (X.length !== Y.length) throw new Error(`readout: ${X.length} feature rows but ${Y.length} target rows`);
  return { W: lstsqQR(rows(X, intercept), Y), intercept };
}

/** Ŷ = [1, X] W (without the intercept, X W). */
export function applyReadout(r: Readout, X: Mat): Mat {
  const d = r.W.length - (r.intercept ? 1 : 0);
  X.forEach((x, i) => {
    if (x.length !== d) throw new Error(`readout: row ${i} has ${x.length} features, the readout was fitted on ${d}`);
  });
  return X.length === 0 ? [] : matMul(rows(X, r.intercept), r.W);
}

/** R² of predictions against targets, pooled over the output columns. */
export function rSquared(pred: Mat, Y: Mat): number {
  if (pred.length !== Y.length || Y.length === 0) throw new Error(`R²: ${pred.length} predictions for ${Y.length} targets`);
  const k = Y[0].length;
  const mean = new Array<number>(k).fill(0);
  for (const y of Y) for (let j = 0; j < k; j++) mean[j] += y[j] / Y.length;
  let res = 0, tot = 0;
  Y.forEach((y, i) => {
    for (let j = 0; j < k; j++) {
      res += (pred[i][j] - y[j]) ** 2;
      tot += (y[j] - mean[j]) ** 2;
    }
  });
  return 1 - res / tot;
}

/** e(1..T) for one sequence of symbols in 0 … M−1. */
export function emaOfOneHot(obs: readonly number[], M: number, lambda: number): number[][] {
  if (!(lambda >= 0 && lambda < 1)) throw new Error(`EMA: the decay λ must lie in [0, 1), got ${lambda}`);
  let e = new Array<number>(M).fill(1 / M);
  return obs.map((o, t) => {
    if (!Number.isInteger(o) || o < 0 || o >= M) throw new Error(`EMA: observation ${t + 1} is ${o}; symbols must be whole numbers 0 … ${M - 1}`);
    e = e.map((v, k) => lambda * v + (1 - lambda) * (k === o ? 1 : 0));
    return e;
  });
}
