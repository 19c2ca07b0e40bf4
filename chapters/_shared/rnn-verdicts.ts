/**
 * The sentences chapters 06, 08 and 10 print about their own runs, computed
 * from the run's numbers (tested on made-up numbers in test/rnn-verdicts.test.ts).
 */
import { fmt } from "./plot.ts";

/** The standard error of a mean of squared errors: sqrt(Var(e²) / n). */
export function mseStandardError(squaredErrors: number[]): number {
  const n = squaredErrors.length;
  const m = squaredErrors.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(squaredErrors.reduce((a, v) => a + (v - m) ** 2, 0) / n / n);
}

/**
 * Chapter 06: the network's train MSE against the ideal predictor's on the same
 * noise, and against the lecture's Keras figure, each within 3 standard errors.
 */
export function sineVerdict(o: { trainMSE: number; idealMSE: number; lectureMSE: number; se: number }): string[] {
  const tol = 3 * o.se;
  const aboveIdeal = o.trainMSE - o.idealMSE;
  const floor = aboveIdeal <= tol
    ? `The network is within 3 standard errors (±${fmt(tol, 2)}) of the ideal predictor: it has learnt about all there is to learn here.`
    : `The network is ${fmt(aboveIdeal / o.se, 3)} standard errors above the ideal predictor (tolerance 3, one standard error ${fmt(o.se, 2)}): it has not yet learnt all it could.`;
  const d = o.trainMSE - o.lectureMSE;
  const lecture = Math.abs(d) <= tol
    ? `The lecture's Keras run printed a train MSE of ${o.lectureMSE}; this run's ${fmt(o.trainMSE, 4)} agrees within 3 standard errors (±${fmt(tol, 2)}).`
    : `The lecture's Keras run printed a train MSE of ${o.lectureMSE}; this run's ${fmt(o.trainMSE, 4)} does NOT agree within 3 standard errors (±${fmt(tol, 2)}): it is ${d > 0 ? "higher" : "lower"}.`;
  return [floor, lecture];
}

/** What the lecture's notebook showed for each network of chapter 10, as a checkable claim. */
export const EXTRAPOLATION_LECTURE_MSE: Record<string, number | undefined> = {
  rnn: 7.9e-5,
  rnn_2layers: 0.33,
  dnn2_gru2: 4.2e-3,
};

/**
 * Chapter 10: whether this run agrees with the lecture's, per network.
 * An MSE agrees when it is within a factor of 10 of the lecture's (one Keras
 * run is one draw: the seeds here spread by a factor of several); rnn_2layers
 * must also end flat, and "standard" must flatten away from the truth (its last
 * step less than half the truth's, and more than 0.1 off at the end).
 */
export function extrapolationAgreement(name: string, r: { mse: number; predictions: number[] }, truth: number[]): string {
  const p = r.predictions, n = p.length;
  const tail = Math.max(...p.slice(-4)) - Math.min(...p.slice(-4));
  if (name === "lstm_2layers") return "— (the lecture never ran it)";
  if (name === "standard") {
    const lastStep = Math.abs(p[n - 1] - p[n - 2]), trueStep = Math.abs(truth[n - 1] - truth[n - 2]);
    const off = Math.abs(p[n - 1] - truth[n - 1]);
    return lastStep < 0.5 * trueStep && off > 0.1
      ? `agrees: flattens (last step ${fmt(lastStep, 2)} vs ${fmt(trueStep, 2)}), ${fmt(off, 2)} off at the end`
      : `does NOT agree: last step ${fmt(lastStep, 2)} vs the truth's ${fmt(trueStep, 2)}, ${fmt(off, 2)} off at the end`;
  }
  const lecture = EXTRAPOLATION_LECTURE_MSE[name];
  if (lecture === undefined || !Number.isFinite(r.mse)) return "—";
  const factor = r.mse / lecture;
  const within = factor <= 10 && factor >= 0.1;
  const flatOk = name !== "rnn_2layers" || tail < 0.05;
  const how = factor >= 1 ? `${fmt(factor, 2)}× the lecture's` : `${fmt(1 / factor, 2)}× below the lecture's`;
  if (within && flatOk) return `agrees (${how}${name === "rnn_2layers" ? ", flat" : ""}; tolerance 10×)`;
  return `does NOT agree (${how}${name === "rnn_2layers" && !flatOk ? `, not flat: last 4 span ${fmt(tail, 2)}` : ""}; tolerance 10×)`;
}

/** Chapter 10: the rnn_2layers sentence; "more weights are not better" only when rnn (40,601 weights) did better. */
export function twoLayerSentence(tail: number, mse2: number, rnnMSE: number | undefined): string | null {
  if (tail >= 0.05) return null;
  const cmp = rnnMSE === undefined
    ? ""
    : mse2 > rnnMSE
      ? `: 752,001 weights and 9 samples, and more weights are not better (rnn, 40,601 weights: ${fmt(rnnMSE, 3)})`
      : ` (its MSE ${fmt(mse2, 3)} is no worse than rnn's ${fmt(rnnMSE, 3)} on this run)`;
  return `rnn_2layers: its prediction ends in a flat line (the last 4 values span ${fmt(tail, 3)})${cmp}.`;
}

/** Chapter 08: where λ_max crosses zero, read off the sweep. */
export function crossingSentence(gains: number[], lyapunov: number[], band: number): string {
  const nearZero = gains.filter((_, i) => Math.abs(lyapunov[i]) < band);
  if (nearZero.length > 1) return `   Near g = 1 there is no single crossing point: |λ_max| < ${band} at g = ${nearZero.join(", ")}; in a finite network λ_max stays close to 0 over that range.`;
  if (nearZero.length === 1) return `   |λ_max| < ${band} only at g = ${nearZero[0]}: the sweep shows a single crossing there.`;
  return `   No gain in the sweep has |λ_max| < ${band}: the crossing lies between the sampled gains.`;
}

/** Chapter 08: how often the learned h(0) won, seed by seed. */
export function initialSeedsSentence(wins: number, nSeeds: number): string {
  const head = `   the lowest first-5-step loss in ${wins} of ${nSeeds} seed(s)`;
  if (nSeeds === 1) return `${head}: one seed cannot tell the effect of h(0) from training noise.`;
  if (wins === nSeeds) return `${head}: in every seed, so the effect of h(0) is larger than the training noise here.`;
  if (wins === 0) return `${head}: in no seed did the learned h(0) give the lowest loss, so it did not help here.`;
  return `${head}: training noise is as large as the effect of h(0) on a single run.`;
}
