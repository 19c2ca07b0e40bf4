/**
 * A Hopfield network as a tanh RNN with symmetric weights: point attractors.
 *
 * Hebb's rule stores P patterns ξ_μ ∈ {−1, +1}^N in the weights
 *   W = (1/N) Σ_μ ξ_μ ξ_μᵀ,  W_ii = 0,
 * and the network h(t) = tanh(β W h(t−1)) runs downhill on the energy
 * E = −½ hᵀ W h, so that a start close to a stored pattern settles onto it.
 * It is an ordinary SimpleRNN cell with W_hh = β W, no input and no bias:
 * `hopfieldRnnParams` builds those weights for rnn.ts and bptt.ts to run.
 */
import { Tensor, shapeStr } from "./matrix.ts";
import { Rng } from "./random.ts";
import type { RnnParams } from "./rnn.ts";

function checkPatterns(patterns: Tensor, who: string): { P: number; N: number } {
  if (patterns.rank !== 2) throw new Error(`${who}: patterns must be a matrix (P, N), got ${shapeStr(patterns.shape)}`);
  for (const v of patterns.data) if (v !== 1 && v !== -1) throw new Error(`${who}: pattern entries must be −1 or +1, got ${v}`);
  const [P, N] = patterns.shape;
  return { P, N };
}

/** P random patterns of N entries ±1: (P, N). */
export function randomPatterns(P: number, N: number, rng: Rng): Tensor {
  const out = new Tensor([P, N]);
  for (let i = 0; i < out.size; i++) out.data[i] = rng.next() < 0.5 ? -1 : 1;
  return out;
}

/** Hebb's rule: W = (1/N) Σ_μ ξ_μ ξ_μᵀ with a zero diagonal. patterns (P, N) → W (N, N), symmetric. */
export function hebbianWeights(patterns: Tensor): Tensor {
  const { P, N } = checkPatterns(patterns, "hebbianWeights");
  const W = new Tensor([N, N]);
  const xi = patterns.data;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (i === j) continue;
      // W_ij = (1/N) Σ_μ ξ_μ,i ξ_μ,j
      let s = 0;
      for (let mu = 0; mu < P; mu++) s += xi[mu * N + i] * xi[mu * N + j];
      W.data[i * N + j] = s / N;
    }
  }
  return W;
}

/** The SimpleRNN weights of the network h(t) = tanh(β W h(t−1)): Whh = β W (= its transpose), no input (F = 1, Whx = 0), bh = 0. */
export function hopfieldRnnParams(W: Tensor, beta: number): RnnParams {
  const [N] = W.shape;
  if (!(beta > 0)) throw new Error(`hopfieldRnnParams: the gain β must be positive, got ${beta}`);
  const Whh = new Tensor([N, N], W.data.map((v) => beta * v));
  return { Whx: new Tensor([1, N]), Whh, bh: new Tensor([N]) };
}

/** The overlaps m_μ = (1/N) Σ_i ξ_μ,i h_i: states (M, N), patterns (P, N) → (M, P). m = 1 is the pattern itself. */
export function overlaps(states: Tensor, patterns: Tensor): Tensor {
  const { P, N } = checkPatterns(patterns, "overlaps");
  if (states.rank !== 2 || states.shape[1] !== N) throw new Error(`overlaps: states have shape ${shapeStr(states.shape)}, expected (M, ${N})`);
  const M = states.shape[0];
  const out = new Tensor([M, P]);
  for (let m = 0; m < M; m++) {
    for (let mu = 0; mu < P; mu++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += patterns.data[mu * N + i] * states.data[m * N + i];
      out.data[m * P + mu] = s / N;
    }
  }
  return out;
}

/** A copy of `pattern` (N,) with `count` distinct entries, chosen at random, flipped in sign. */
export function flipEntries(pattern: Float64Array, count: number, rng: Rng): Float64Array {
  const N = pattern.length;
  if (!(Number.isInteger(count) && count >= 0 && count <= N)) throw new Error(`flipEntries: count must be a whole number in 0..${N}, got ${count}`);
  const out = pattern.slice();
  const order = rng.permutation(N);
  for (let k = 0; k < count; k++) out[order[k]] = -out[order[k]];
  return out;
}
