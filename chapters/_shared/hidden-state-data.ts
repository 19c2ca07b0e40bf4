/**
 * The models chapter 07 samples its data from (and the tests check against):
 * a noisy logistic map (a non-linear AR process), a damped noisy rotation (an
 * LDS) and a dishonest casino (an HMM).
 */
import type { Rng } from "../../lib/random.ts";
import type { Lds } from "../../lib/sequence-models/kalman.ts";
import type { Hmm } from "../../lib/sequence-models/hmm.ts";

/**
 * A noisy logistic map: x(t+1) = r x(t) (1 − x(t)) + ε(t), ε ~ N(0, σ²),
 * reflected back into [0, 1] when the noise pushes it out. Its next value is a
 * parabola of the last one, which no linear AR model can follow.
 */
export function noisyLogisticMap(n: number, rng: Rng, r = 3.8, sigma = 0.02): number[] {
  const x: number[] = [0.3 + 0.4 * rng.next()];
  for (let t = 1; t < n; t++) {
    let v = r * x[t - 1] * (1 - x[t - 1]) + sigma * rng.normal();
    if (v < 0) v = -v;
    if (v > 1) v = 2 - v;
    x.push(v);
  }
  return x;
}

/**
 * A damped, noisy rotation in the plane, observed through its first coordinate:
 *   A = r [[cos θ, −sin θ], [sin θ, cos θ]],  Q = q I,  C = [1, 0],  R = [σ²_y],
 * started from its stationary distribution (covariance q/(1 − r²) I).
 */
export function oscillatorLds(r = 0.98, theta = 0.3, q = 0.01, obsVar = 0.1): Lds {
  const c = Math.cos(theta), s = Math.sin(theta);
  const p0 = q / (1 - r * r);
  return {
    A: [[r * c, -r * s], [r * s, r * c]],
    C: [[1, 0]],
    Q: [[q, 0], [0, q]],
    R: [[obsVar]],
    mu0: [0, 0],
    P0: [[p0, 0], [0, p0]],
  };
}

/** The names of the casino's states and of its symbols (the faces 1 … 6). */
export const CASINO_STATES = ["fair", "loaded-6", "loaded-1"];
export const CASINO_FACES = ["1", "2", "3", "4", "5", "6"];

/**
 * A dishonest casino with N = 3 dice: a fair one, one loaded towards 6 and one
 * towards 1 (p = 0.5 for the favoured face, 0.1 for each other face). The
 * casino keeps a die with probability `stay` and otherwise switches to one of
 * the other two at random; the first die is drawn uniformly.
 */
export function dishonestCasino(stay = 0.95, loaded = 0.5): Hmm {
  const other = (1 - loaded) / 5;
  const sw = (1 - stay) / 2;
  return {
    pi: [1 / 3, 1 / 3, 1 / 3],
    A: [0, 1, 2].map((i) => [0, 1, 2].map((j) => (i === j ? stay : sw))),
    B: [
      [1, 1, 1, 1, 1, 1].map(() => 1 / 6),
      [other, other, other, other, other, loaded],
      [loaded, other, other, other, other, other],
    ],
  };
}
