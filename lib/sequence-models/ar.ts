/**
 * The autoregressive model AR(p): a memoryless predictor with p delay taps.
 *
 *   x̂(t) = c + Σ_{k=1..p} a_k x(t−k)
 *
 * Fitted in closed form by least squares over the windows of the training
 * series: with rows [1, x(t−1), …, x(t−p)] stacked into X and the targets x(t)
 * into y, (c, a) = argmin ‖X (c, a) − y‖², solved by QR (lib/linalg.ts) or, as
 * a reference, by the normal equations (XᵀX)(c, a) = Xᵀy.
 *
 * Windows are written oldest first, as the lecture's convertToMatrix writes
 * them: window = [x(t−p), …, x(t−1)], target x(t).
 */
import { lstsqQR, lstsqNormal, type Mat } from "../linalg.ts";

export interface ArModel {
  p: number;
  /** The intercept c (0 without one). */
  c: number;
  /** a[k−1] = a_k multiplies x(t−k). */
  a: number[];
}

export interface ArFitOptions {
  /** "qr" (default) or the normal equations. */
  method?: "qr" | "normal";
  /** Fit the intercept c (default true). */
  intercept?: boolean;
}

function checkOrder(p: number): void {
  if (!Number.isInteger(p) || p < 1) throw new Error(`AR(p): the order p must be a whole number ≥ 1, got ${p}`);
}

/** The windows [x(t−p), …, x(t−1)] and targets x(t) for t = p … n−1. */
export function arWindows(series: readonly number[], p: number): { windows: number[][]; targets: number[] } {
  checkOrder(p);
  if (p >= series.length) throw new Error(`AR(${p}): the order p = ${p} must be smaller than the series length, got a series of ${series.length} values`);
  const windows: number[][] = [], targets: number[] = [];
  for (let t = p; t < series.length; t++) {
    windows.push(series.slice(t - p, t));
    targets.push(series[t]);
  }
  return { windows, targets };
}

/** Fits AR(p) to windows (oldest first) and their targets. */
export function fitArWindows(windows: readonly (readonly number[])[], targets: readonly number[], opts: ArFitOptions = {}): ArModel {
  if (windows.length === 0) throw new Error("AR(p): no windows to fit");
  const p = windows[0].length;
  checkOrder(p);
  if (windows.length !== targets.length) throw new Error(`AR(${p}): ${windows.length} windows but ${targets.length} targets`);
  const intercept = opts.intercept ?? true;
  const d = p + (intercept ? 1 : 0);
  if (windows.length < d) throw new Error(`AR(${p}): ${windows.length} windows cannot determine ${d} coefficients; use a longer series or a smaller p`);
  // Row [1, x(t−1), …, x(t−p)]: the taps nearest in time first.
  const X: Mat = windows.map((w, i) => {
    if (w.length !== p) throw new Error(`AR(${p}): window ${i} has ${w.length} values, expected ${p}`);
    const taps = Array.from({ length: p }, (_, k) => w[p - 1 - k]);
    return intercept ? [1, ...taps] : taps;
  });
  const Y: Mat = targets.map((v) => [v]);
  const beta = (opts.method === "normal" ? lstsqNormal : lstsqQR)(X, Y).map((r) => r[0]);
  return { p, c: intercept ? beta[0] : 0, a: intercept ? beta.slice(1) : beta };
}

/** Fits AR(p) to a series, over every t = p … n−1. */
export function fitAR(series: readonly number[], p: number, opts: ArFitOptions = {}): ArModel {
  const { windows, targets } = arWindows(series, p);
  return fitArWindows(windows, targets, opts);
}

/** x̂(t) = c + Σ a_k x(t−k) for one window [x(t−p), …, x(t−1)]. */
export function arPredict(model: ArModel, window: readonly number[]): number {
  if (window.length !== model.p) throw new Error(`AR(${model.p}): a window of ${window.length} values, expected ${model.p}`);
  let s = model.c;
  for (let k = 1; k <= model.p; k++) s += model.a[k - 1] * window[model.p - k];
  return s;
}

/** The mean squared one-step error of the model on windows and targets. */
export function arMSE(model: ArModel, windows: readonly (readonly number[])[], targets: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < windows.length; i++) s += (arPredict(model, windows[i]) - targets[i]) ** 2;
  return s / windows.length;
}
