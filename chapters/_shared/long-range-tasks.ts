/**
 * Hochreiter & Schmidhuber's long-range tasks (Neural Computation 9(8), 1997), the
 * data of chapter 09. Every draw comes from the caller's seeded `Rng`.
 *
 * The adding problem (their experiment 4). A sequence has T steps; step t's input is a
 * pair (value, marker):
 *   - value ~ U(−1, 1);
 *   - marker ∈ {−1, 0, 1}: exactly two steps are marked with 1, one chosen uniformly
 *     among the first 10 steps (its value is X₁) and one chosen uniformly among the
 *     first ⌊T/2⌋ − 1 steps still unmarked (its value is X₂). The first and the last
 *     step carry marker −1 unless marked; every other marker is 0. When the first step
 *     is the marked one, X₁ is set to 0 (as in the paper).
 *   - the target, read at the last step only, is 0.5 + (X₁ + X₂)/4 ∈ [0, 1].
 *   - a sequence is solved when |y − target| < 0.04.
 * Predicting the mean target 0.5 gives MSE = Var((X₁ + X₂)/4) = 2·(1/3)/16 = 1/24 ≈ 0.0417
 * (slightly less in practice, since X₁ = 0 when the first step is marked); about 16% of
 * sequences are then "solved" by chance. The paper draws lengths in [T, T + T/10]; here
 * every sequence has exactly T steps, so a batch is one (N, T, 2) tensor. T ≥ 12.
 *
 * The temporal-order problem (their experiment 6a), for length T ≥ 20. Eight symbols
 * {a, b, c, d, B, E, X, Y}, one-hot (8 inputs). The sequence starts with B and ends
 * with E; two steps t₁ ∈ [T/10, 2T/10] and t₂ ∈ [5T/10, 6T/10] (uniform; the paper's
 * [10, 20] and [50, 60] at T = 100) hold X or Y; every other step holds one of a, b, c, d.
 * The class is the order of the two: XX → Q, XY → R, YX → S, YY → U; the target is its
 * one-hot code (4 outputs). A sequence is solved when every output is within 0.3 of
 * its target (the paper's criterion). Predicting 1/4 everywhere gives MSE 3/16 = 0.1875
 * (mean over the 4 outputs) and solves nothing.
 */
import { Tensor } from "../../lib/matrix.ts";
import type { Rng } from "../../lib/random.ts";

export type TaskName = "adding" | "order";
export const TASKS: readonly TaskName[] = ["adding", "order"];

export interface TaskData {
  /** Inputs (N, T, F): F = 2 for adding, 8 for order. */
  x: Tensor;
  /** Targets at the last step (N, K): K = 1 for adding, 4 for order. */
  y: Tensor;
}

export interface TaskSpec {
  name: TaskName;
  /** Input features F and outputs K. */
  F: number;
  K: number;
  /** The shortest length the task is defined for. */
  minT: number;
  /** The MSE of predicting the mean target (mean over the K outputs). */
  baselineMSE: number;
  /** |error| below which a sequence counts as solved (every output). */
  tolerance: number;
  generate(N: number, T: number, rng: Rng): TaskData;
}

export const ADDING_BASELINE_MSE = 1 / 24;

function checkLength(name: string, N: number, T: number, minT: number): void {
  if (!Number.isInteger(N) || N < 1) throw new Error(`${name}: the number of sequences must be a whole number ≥ 1, got ${N}`);
  if (!Number.isInteger(T) || T < minT) throw new Error(`${name} problem: T must be a whole number ≥ ${minT}, got ${T}` + (name === "adding" ? " (it needs room for a mark among the first 10 steps and one among the first T/2 − 1)" : " (it needs room for X/Y at 10–20% and 50–60% of the sequence)"));
}

/** The adding problem: x (N, T, 2) of (value, marker) pairs, y (N, 1) = 0.5 + (X₁ + X₂)/4. */
export function addingProblem(N: number, T: number, rng: Rng): TaskData {
  checkLength("adding", N, T, 12);
  const x = new Tensor([N, T, 2]), y = new Tensor([N, 1]);
  const half = Math.floor(T / 2) - 1;
  for (let n = 0; n < N; n++) {
    const o = n * T * 2;
    for (let t = 0; t < T; t++) x.data[o + 2 * t] = rng.uniform(-1, 1);
    x.data[o + 1] = -1;
    x.data[o + 2 * (T - 1) + 1] = -1;
    // one mark among the first 10 steps, one among the first ⌊T/2⌋ − 1 still unmarked
    const i1 = rng.int(10);
    let i2: number;
    if (i1 < half) {
      i2 = rng.int(half - 1);
      if (i2 >= i1) i2++;
    } else i2 = rng.int(half);
    if (i1 === 0) x.data[o] = 0; // X₁ = 0 when the first step is marked
    x.data[o + 2 * i1 + 1] = 1;
    x.data[o + 2 * i2 + 1] = 1;
    y.data[n] = 0.5 + (x.data[o + 2 * i1] + x.data[o + 2 * i2]) / 4;
  }
  return { x, y };
}

/** Symbol indices of the temporal-order problem's one-hot code. */
const SYM = { a: 0, b: 1, c: 2, d: 3, B: 4, E: 5, X: 6, Y: 7 } as const;

/** The temporal-order problem: x (N, T, 8) one-hot symbols, y (N, 4) one-hot class of (X|Y, X|Y). */
export function temporalOrderProblem(N: number, T: number, rng: Rng): TaskData {
  checkLength("temporal-order", N, T, 20);
  const x = new Tensor([N, T, 8]), y = new Tensor([N, 4]);
  const lo1 = Math.round(T / 10), hi1 = Math.round((2 * T) / 10);
  const lo2 = Math.round((5 * T) / 10), hi2 = Math.round((6 * T) / 10);
  for (let n = 0; n < N; n++) {
    const sym = new Array<number>(T);
    for (let t = 0; t < T; t++) sym[t] = rng.int(4); // a, b, c, d
    sym[0] = SYM.B;
    sym[T - 1] = SYM.E;
    const t1 = lo1 + rng.int(hi1 - lo1 + 1), t2 = lo2 + rng.int(hi2 - lo2 + 1);
    const s1 = rng.int(2), s2 = rng.int(2); // 0 = X, 1 = Y
    sym[t1] = SYM.X + s1;
    sym[t2] = SYM.X + s2;
    for (let t = 0; t < T; t++) x.data[(n * T + t) * 8 + sym[t]] = 1;
    // XX → Q, XY → R, YX → S, YY → U
    y.data[n * 4 + 2 * s1 + s2] = 1;
  }
  return { x, y };
}

export const TASK_SPECS: Record<TaskName, TaskSpec> = {
  adding: { name: "adding", F: 2, K: 1, minT: 12, baselineMSE: ADDING_BASELINE_MSE, tolerance: 0.04, generate: addingProblem },
  order: { name: "order", F: 8, K: 4, minT: 20, baselineMSE: 3 / 16, tolerance: 0.3, generate: temporalOrderProblem },
};

/** The MSE over all N·K outputs and the fraction of sequences whose every output is within `tolerance`. */
export function scoreTask(yPred: Tensor, y: Tensor, tolerance: number): { mse: number; solvedFraction: number } {
  if (yPred.size !== y.size) throw new Error(`scoreTask: ${yPred.size} predictions for ${y.size} targets`);
  const [N, K] = y.shape;
  let se = 0, solved = 0;
  for (let n = 0; n < N; n++) {
    let ok = true;
    for (let k = 0; k < K; k++) {
      const e = yPred.data[n * K + k] - y.data[n * K + k];
      se += e * e;
      if (!(Math.abs(e) < tolerance)) ok = false;
    }
    if (ok) solved++;
  }
  return { mse: se / (N * K), solvedFraction: solved / N };
}
