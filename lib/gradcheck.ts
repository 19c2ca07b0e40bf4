/**
 * Finite-difference gradient checks.
 *
 * The numerical gradient uses centred differences,
 *   ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h,
 * whose error is O(h²). An array-valued f is reduced to the scalar Σ f(x)·dOut
 * with an arbitrary upstream gradient dOut, which checks the whole
 * vector–Jacobian product that a backward pass computes.
 */
import { Tensor, shapeStr } from "./matrix.ts";

/** ∂f/∂x by centred differences. `x` is perturbed in place and restored; f must read it. */
export function numericalGradient(f: () => number, x: Tensor, h = 1e-5): Tensor {
  const g = new Tensor(x.shape);
  for (let i = 0; i < x.size; i++) {
    const old = x.data[i];
    x.data[i] = old + h;
    const fp = f();
    x.data[i] = old - h;
    const fm = f();
    x.data[i] = old;
    g.data[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** ∂(Σ f(x)·dOut)/∂x by centred differences, for an array-valued f. */
export function numericalGradientArray(f: () => Tensor, x: Tensor, dOut: Tensor, h = 1e-5): Tensor {
  return numericalGradient(() => {
    const y = f();
    if (y.size !== dOut.size) throw new Error(`numericalGradientArray: f returned ${shapeStr(y.shape)} but dOut is ${shapeStr(dOut.shape)}`);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * dOut.data[i];
    return s;
  }, x, h);
}

/**
 * The relative error between an analytic gradient a and a numerical one n:
 * max_i |a_i − n_i| / max(1e-8, max_i |a_i| + max_i |n_i|).
 */
export function relError(a: Tensor, n: Tensor): number {
  if (a.size !== n.size) throw new Error(`relError: shapes ${shapeStr(a.shape)} and ${shapeStr(n.shape)} differ`);
  let diff = 0, ma = 0, mn = 0;
  for (let i = 0; i < a.size; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - n.data[i]));
    ma = Math.max(ma, Math.abs(a.data[i]));
    mn = Math.max(mn, Math.abs(n.data[i]));
  }
  if (Number.isNaN(diff)) return NaN;
  return diff / Math.max(1e-8, ma + mn);
}
