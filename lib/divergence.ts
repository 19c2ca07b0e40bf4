/**
 * Why a training run diverged, in words: the learning rate η, the l2
 * strengths λ, the weight norm ‖w‖ and the two parts of the loss, and which
 * knob is out of range. A pure function of those figures, so that it can be
 * tested on made-up ones.
 *
 * With an l2 penalty λΣw² one SGD step is w ← (1 − 2ηλ) w − η ∂L_data/∂w: the
 * decay factor no longer shrinks |w| once ηλ ≥ 1, whatever the data. Below
 * that, a penalty many times the data loss still says that λ dominates the
 * loss; otherwise the data term ran away, which is η's doing.
 */
import type { Param } from "./layer.ts";

export interface DivergenceFacts {
  learningRate: number;
  /** The distinct λ of the regularised parameters (empty without regularisation). */
  lambdas: number[];
  /** ‖w‖ over every trainable parameter. */
  weightNorm: number;
  /** The loss without the penalty (NaN or ∞ when that is what ran away). */
  dataLoss: number;
  /** The penalty Σ λ‖W‖². */
  penalty: number;
}

/** The penalty "dominates" the loss when it is this many times the data loss. */
export const DOMINANCE = 10;

/** Which knob to turn: "lambda" when the penalty drives the run away, otherwise "eta". */
export function divergenceCause(f: DivergenceFacts): "lambda" | "eta" {
  const lambda = Math.max(0, ...f.lambdas);
  // |1 − 2ηλ| ≥ 1: the decay step alone no longer shrinks w
  if (f.learningRate * lambda >= 1) return "lambda";
  if (lambda > 0 && Number.isFinite(f.dataLoss) && f.penalty > DOMINANCE * Math.abs(f.dataLoss)) return "lambda";
  return "eta";
}

const g = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : String(x));

/** One sentence: the figures and the suggestion, e.g. "η = 10, λ = 1e-4, ‖w‖ = 812; ... try a smaller η". */
export function describeDivergence(f: DivergenceFacts): string {
  const lambda = Math.max(0, ...f.lambdas);
  const lam = f.lambdas.length === 0 ? "no l2 penalty" : `λ = ${f.lambdas.map(g).join(", ")}`;
  const figures = `η = ${g(f.learningRate)}, ${lam}, ‖w‖ = ${g(f.weightNorm)}, data loss ${g(f.dataLoss)}, penalty λΣw² ${g(f.penalty)}`;
  if (divergenceCause(f) === "lambda") {
    if (f.learningRate * lambda >= 1) {
      return `${figures}: ηλ = ${g(f.learningRate * lambda)} ≥ 1, so the decay factor 1 − 2ηλ = ${g(1 - 2 * f.learningRate * lambda)} of every step no longer shrinks w; ` +
        `λ is too large for this η, try a smaller λ (below 1/η = ${g(1 / f.learningRate)})`;
    }
    return `${figures}: the penalty λΣw² is more than ${DOMINANCE} times the data loss; λ is too large, try a smaller λ`;
  }
  return `${figures}: the penalty is not what grew, the steps along the data gradient are; the learning rate η is too large, try a smaller η`;
}

/**
 * The facts from a model's parameters and a (total) loss. `penaltyAtLoss` is
 * the penalty at the weights that gave `totalLoss`, when the weights have
 * changed since (an update was applied); by default the current weights'.
 */
export function divergenceFacts(params: readonly Param[], learningRate: number, totalLoss: number, penaltyAtLoss?: number): DivergenceFacts {
  let sq = 0;
  const lambdas = new Set<number>();
  for (const p of params) {
    for (const v of p.value.data) sq += v * v;
    if (p.regularizer?.lambda !== undefined) lambdas.add(p.regularizer.lambda);
  }
  const penalty = penaltyAtLoss ?? penaltyOf(params);
  return { learningRate, lambdas: [...lambdas], weightNorm: Math.sqrt(sq), dataLoss: totalLoss - penalty, penalty };
}

/** Σ λ‖W‖² over the regularised parameters. */
export function penaltyOf(params: readonly Param[]): number {
  let s = 0;
  for (const p of params) if (p.regularizer) s += p.regularizer.penalty(p.value);
  return s;
}
