/**
 * The main experiment of chapter 05: how ∂L/∂h(t) vanishes or explodes in a
 * single-hidden-layer RNN, as a function of the spectral radius ρ of W_hh.
 *
 * One base matrix W is drawn with Gaussian entries; each run uses
 * W_hh = (ρ / ρ(W)) W, so the runs differ only in ρ. The input x(t) (one
 * feature), W_hx and the output layer W_yh, b_y are drawn once and shared.
 * The loss is at the last step only:
 *   L = ½ (W_yh h(T) + b_y − y)²,   ∂L/∂h(T) = W_yhᵀ (ŷ − y).
 * Backward, ∂L/∂h(t−1) = ∂L/∂h(t) · ∂h(t)/∂h(t−1) = ∂L/∂h(t) · diag(σ'(z_h(t))) W_hh,
 * so for a linear RNN ‖∂L/∂h(T−k)‖ grows or decays like ρᵏ once the largest
 * eigenvalue dominates: `fittedRate` fits that rate over k = 20..80.
 *
 * The chapter prints these runs and the tests assert the 5% criterion on the
 * same function.
 */
import { Tensor, spectralRadius, spectralNorm, frobeniusNorm, scale } from "../../lib/matrix.ts";
import { Rng, normalTensor, glorotUniform } from "../../lib/random.ts";
import { type RnnActivation, type RnnParams, type RnnStepCache, simpleRnnCell } from "../../lib/rnn.ts";
import { type Cell, type BpttForward, bpttForward, bpttBackward, stepJacobians, jacobianNorms } from "../../lib/bptt.ts";

export const RHOS = [0.5, 0.9, 1.0, 1.1, 1.5, 2] as const;

export interface GradientFlowSetup {
  T: number;
  units: number;
  /** The base recurrent matrix W (u, u), Gaussian, before rescaling. */
  W: Tensor;
  /** ρ(W), its spectral radius, computed once: every run rescales W by ρ / ρ(W). */
  rhoW: number;
  /** Whx (1, u), the input x (1, T, 1), the output layer Wyh (u, 1), b_y, and the target y. */
  Whx: Tensor;
  x: Tensor;
  Wyh: Tensor;
  by: number;
  y: number;
}

export interface GradientFlowRun {
  activation: RnnActivation;
  rho: number;
  /** The largest singular value of W_hh: ≥ ρ, equal only for a normal matrix. */
  sigmaMax: number;
  /** ‖∂L/∂h(t)‖ for t = 1..T. */
  dLdh: number[];
  /** ‖∂h(T)/∂h(k)‖₂ (spectral) and ‖·‖_F for k = 1..T. */
  jacobianNorms: number[];
  jacobianFrobenius: number[];
  /** ‖contribution of step t to ∂L/∂W_hh‖ for t = 1..T. */
  stepContributions: number[];
  /** ‖∂L/∂W_hh‖ summed over all steps. */
  dWhhNorm: number;
  /** The rate r in ‖∂L/∂h(T−k)‖ ∝ rᵏ, fitted by least squares on log‖·‖ over k = 20..80. */
  fittedRate: number;
}

/** Draws the shared parts of the experiment. Input scale 1: x(t) ~ N(0, 1). */
export function gradientFlowSetup(seed: number, T = 100, units = 32): GradientFlowSetup {
  const rng = new Rng(seed);
  const W = normalTensor([units, units], 0, 1 / Math.sqrt(units), rng);
  const Whx = glorotUniform([1, units], rng);
  const x = normalTensor([1, T, 1], 0, 1, rng);
  const Wyh = glorotUniform([units, 1], rng);
  return { T, units, W, rhoW: spectralRadius(W), Whx, x, Wyh, by: 0, y: 1 };
}

/** The least-squares slope b of y ≈ a + b x: Σ (x − x̄)(y − ȳ) / Σ (x − x̄)². */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** The fitted per-step rate r of a norm series: ‖g(T−k)‖ ∝ rᵏ over k = kFrom..kTo. */
export function fitRate(dLdh: number[], kFrom = 20, kTo = 80): number {
  const T = dLdh.length;
  const ks: number[] = [], ls: number[] = [];
  for (let k = kFrom; k <= kTo; k++) {
    ks.push(k);
    ls.push(Math.log(dLdh[T - 1 - k])); // ∂L/∂h(T−k) sits at index T−1−k
  }
  return Math.exp(leastSquaresSlope(ks, ls));
}

export interface GradientFlowProblem {
  cell: Cell<RnnParams, RnnStepCache>;
  params: RnnParams;
  fwd: BpttForward<RnnStepCache>;
  /** ∂L/∂h(T) = W_yhᵀ(ŷ − y): (1, u). */
  dhT: Tensor;
  loss: number;
}

/** The RNN with W_hh rescaled to spectral radius ρ, run forward over T steps, and ∂L/∂h(T) of the loss at t = T. */
export function gradientFlowProblem(setup: GradientFlowSetup, activation: RnnActivation, rho: number): GradientFlowProblem {
  const { units: u, W, rhoW, Whx, x, Wyh, by, y } = setup;
  const Whh = scale(W, rho / rhoW);
  const params: RnnParams = { Whx, Whh, bh: new Tensor([u]) };
  const cell = simpleRnnCell(activation);
  const fwd = bpttForward(cell, params, x);
  // ŷ = W_yh h(T) + b_y;  L = ½(ŷ − y)²;  ∂L/∂h(T) = W_yhᵀ(ŷ − y)
  const hT = fwd.last.h.data;
  let yHat = by;
  for (let j = 0; j < u; j++) yHat += Wyh.data[j] * hT[j];
  const dhT = new Tensor([1, u]);
  for (let j = 0; j < u; j++) dhT.data[j] = Wyh.data[j] * (yHat - y);
  return { cell, params, fwd, dhT, loss: 0.5 * (yHat - y) ** 2 };
}

/** One run: BPTT from the loss at t = T, with the norms the chapter plots. */
export function gradientFlowRun(setup: GradientFlowSetup, activation: RnnActivation, rho: number): GradientFlowRun {
  const { cell, params, fwd, dhT } = gradientFlowProblem(setup, activation, rho);
  const r = bpttBackward(cell, params, fwd, { dhT, recordSteps: "norms" });
  const norms = jacobianNorms(stepJacobians(cell, params, setup.x, fwd), setup.T);
  return {
    activation,
    rho,
    sigmaMax: spectralNorm(params.Whh),
    dLdh: r.dLdhNorms,
    jacobianNorms: norms.slice(1).map((n) => n.spectral),
    jacobianFrobenius: norms.slice(1).map((n) => n.frobenius),
    stepContributions: r.stepGradNorms as number[],
    dWhhNorm: frobeniusNorm(r.grads.Whh),
    fittedRate: fitRate(r.dLdhNorms),
  };
}
