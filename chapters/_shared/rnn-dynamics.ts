/**
 * The experiments of chapter 08 (what RNNs can do, and the basic layout), as
 * functions that return data: the chapter prints and plots them, the tests
 * assert on them. Nothing here prints.
 */
import { Tensor, spectralRadius } from "../../lib/matrix.ts";
import { Rng, normalTensor } from "../../lib/random.ts";
import type { RnnParams } from "../../lib/rnn.ts";
import { bpttForward, bpttBackward, stepJacobians } from "../../lib/bptt.ts";
import { largestLyapunov, trajectorySeparation } from "../../lib/lyapunov.ts";
import { hebbianWeights, hopfieldRnnParams, overlaps, flipEntries, randomPatterns } from "../../lib/hopfield.ts";
import { kmeans } from "../../lib/kmeans.ts";
import { type Automaton, extractAutomaton, minimizeAutomaton, runAutomaton } from "../../lib/automaton.ts";
import { numericalGradient, relError } from "../../lib/gradcheck.ts";
import { leastSquaresSlope } from "./bptt-experiment.ts";
import { type SeqNet, type SeqBatch, tanhCell, initNet, trainSeq, seqForward, seqLossAndGrads } from "./rnn-train.ts";

type Progress = (text: string) => void;

/** The chapter's default seed (tests train with it too). */
export const DEFAULT_SEED = 1;

/** θ of the rotation network and of the trained sines: a period of 25 steps. */
export const THETA = (2 * Math.PI) / 25;

/** A network with no input: x = 0 (1, T, 1) and Whx = 0 (1, u). */
function noInput(T: number, N = 1): Tensor {
  return new Tensor([N, T, 1]);
}

/** h(1..T) of an input-free network from h0 (u,), as T rows. */
export function runAutonomous(p: RnnParams, h0: Tensor, T: number): number[][] {
  const u = p.Whh.shape[0];
  const hs = bpttForward(tanhCell, p, noInput(T), { h0: h0.reshape([u]) }).hs.data;
  return Array.from({ length: T }, (_, t) => Array.from(hs.subarray(t * u, (t + 1) * u)));
}

// ================================================================ 1. oscillation

/** h(t) = tanh(r·R(θ) h(t−1)): Whh = (r R(θ))ᵀ in the row-vector layout, no input, no bias. */
export function rotationNetwork(r: number, theta: number): RnnParams {
  const c = r * Math.cos(theta), s = r * Math.sin(theta);
  // W_hh = r [[cos, −sin], [sin, cos]];  Whh = W_hhᵀ
  return { Whx: new Tensor([1, 2]), Whh: new Tensor([2, 2], Float64Array.from([c, s, -s, c])), bh: new Tensor([2]) };
}

/**
 * The period of a series from its upward zero crossings after step `skip`, located by linear
 * interpolation: the mean spacing. NaN with fewer than two crossings.
 */
export function measurePeriod(series: number[], skip = 0): { period: number; crossings: number } {
  const at: number[] = [];
  for (let t = Math.max(1, skip); t < series.length; t++) {
    const a = series[t - 1], b = series[t];
    if (a < 0 && b >= 0) at.push(t - 1 + a / (a - b));
  }
  if (at.length < 2) return { period: NaN, crossings: at.length };
  return { period: (at[at.length - 1] - at[0]) / (at.length - 1), crossings: at.length };
}

export interface RotationRun {
  r: number;
  h1: number[];
  period: number;
  /** max |h₁| over the first and the last 50 steps */
  ampStart: number;
  ampEnd: number;
}

export function rotationRun(r: number, theta: number, T: number): RotationRun {
  const hs = runAutonomous(rotationNetwork(r, theta), new Tensor([2], Float64Array.from([0.5, 0])), T);
  const h1 = hs.map((h) => h[0]);
  const amp = (a: number[]) => Math.max(...a.map(Math.abs));
  return { r, h1, period: measurePeriod(h1, Math.floor(T / 2)).period, ampStart: amp(h1.slice(0, 50)), ampEnd: amp(h1.slice(-50)) };
}

/** y(t) = sin(θ t + φ) for t = 1..T, with no input: one sequence (1, T, ·). */
export function sineBatch(T: number, theta: number, phase = 0): SeqBatch {
  const y = new Tensor([1, T, 1]);
  for (let t = 0; t < T; t++) y.data[t] = Math.sin(theta * (t + 1) + phase);
  return { x: noInput(T), y, mask: null };
}

export interface SineFitOptions {
  units: number;
  T: number;
  theta: number;
  phase?: number;
  updates: number;
  learningRate: number;
  h0: "zero" | "learned" | number;
  progress?: Progress;
}

/** A SimpleRNN with no input and a linear readout, trained by BPTT to produce the sine over t = 1..T. */
export function trainSine(seed: number, o: SineFitOptions): { net: SeqNet; history: [number, number][] } {
  const net = initNet({ F: 1, units: o.units, O: 1, h0: o.h0 }, new Rng(seed));
  const batch = sineBatch(o.T, o.theta, o.phase);
  const { history } = trainSeq(net, () => batch, {
    updates: o.updates,
    learningRate: o.learningRate,
    onUpdate: o.progress ? (k, l) => k % 25 === 0 && o.progress?.(`update ${k}/${o.updates}, loss ${l.toExponential(2)}`) : undefined,
  });
  return { net, history };
}

/** The trained net's output for t = 1..T (it was trained on fewer steps: the rest is extrapolation). */
export function netOutput(net: SeqNet, T: number): number[] {
  const f = seqForward(net, sineBatch(T, 0));
  return Array.from(f.z.data);
}

// ================================================================ 2. point attractors

export interface HopfieldOptions {
  units: number;
  patterns: number;
  /** entries flipped in each corrupted start */
  flips: number;
  startsPerPattern: number;
  beta: number;
  T: number;
}

/** The chapter's Hopfield network: 3 patterns in 32 units, 4 entries (12.5%, the fewest that make at least 10%) flipped in each start. */
export const HOPFIELD_DEFAULTS: HopfieldOptions = { units: 32, patterns: 3, flips: 4, startsPerPattern: 10, beta: 4, T: 30 };

export interface HopfieldRun {
  patterns: Tensor;
  /** overlap with its own pattern at t = 0..T, for every start */
  overlapPaths: number[][];
  /** which pattern each start was made from */
  source: number[];
  /** each start: sign(h(T)) equals its pattern in every entry */
  recalled: boolean[];
  recallFraction: number;
  /** the largest overlap with another pattern at t = T */
  maxCrossOverlap: number;
}

export function hopfieldRun(seed: number, o: HopfieldOptions): HopfieldRun {
  const rng = new Rng(seed);
  const xi = randomPatterns(o.patterns, o.units, rng);
  const p = hopfieldRnnParams(hebbianWeights(xi), o.beta);
  const M = o.patterns * o.startsPerPattern, N = o.units;
  const h0 = new Tensor([M, N]);
  const source: number[] = [];
  for (let mu = 0; mu < o.patterns; mu++) {
    for (let s = 0; s < o.startsPerPattern; s++) {
      const m = mu * o.startsPerPattern + s;
      h0.data.set(flipEntries(xi.data.subarray(mu * N, (mu + 1) * N), o.flips, rng), m * N);
      source.push(mu);
    }
  }
  const fwd = bpttForward(tanhCell, p, noInput(o.T, M), { h0 });
  const overlapPaths: number[][] = Array.from({ length: M }, () => []);
  const stateAt = (t: number): Tensor => {
    if (t === 0) return h0;
    const s = new Tensor([M, N]);
    for (let m = 0; m < M; m++) s.data.set(fwd.hs.data.subarray((m * o.T + t - 1) * N, (m * o.T + t) * N), m * N);
    return s;
  };
  let last = h0;
  for (let t = 0; t <= o.T; t++) {
    last = stateAt(t);
    const ov = overlaps(last, xi);
    for (let m = 0; m < M; m++) overlapPaths[m].push(ov.data[m * o.patterns + source[m]]);
  }
  const recalled: boolean[] = [];
  let maxCross = 0;
  const ovT = overlaps(last, xi);
  for (let m = 0; m < M; m++) {
    let ok = true;
    for (let i = 0; i < N; i++) if (Math.sign(last.data[m * N + i]) !== xi.data[source[m] * N + i]) ok = false;
    recalled.push(ok);
    for (let mu = 0; mu < o.patterns; mu++) if (mu !== source[m]) maxCross = Math.max(maxCross, Math.abs(ovT.data[m * o.patterns + mu]));
  }
  return { patterns: xi, overlapPaths, source, recalled, recallFraction: recalled.filter(Boolean).length / M, maxCrossOverlap: maxCross };
}

/** The noisy-burst task: x(t) ~ N(0, 1) for t ≤ burst, 0 after; target sign(Σ x) on the last `lastK` of T steps. */
export function burstBatch(N: number, T: number, burst: number, lastK: number, rng: Rng): SeqBatch & { sign: number[] } {
  const x = new Tensor([N, T, 1]), y = new Tensor([N, T, 1]), mask = new Tensor([N, T, 1]);
  const sign: number[] = [];
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let t = 0; t < burst; t++) s += x.data[n * T + t] = rng.normal();
    const target = s >= 0 ? 1 : -1;
    sign.push(target);
    for (let t = T - lastK; t < T; t++) {
      y.data[n * T + t] = target;
      mask.data[n * T + t] = 1;
    }
  }
  return { x, y, mask, sign };
}

export interface AttractorOptions {
  units: number;
  T: number;
  burst: number;
  lastK: number;
  batch: number;
  updates: number;
  learningRate: number;
  /** the length of the long run after training */
  runT: number;
  progress?: Progress;
}

/** The chapter's attractor task: target on the last 5 of 30 steps, then a 300-step run. */
export const ATTRACTOR_DEFAULTS: AttractorOptions = { units: 16, T: 30, burst: 5, lastK: 5, batch: 64, updates: 500, learningRate: 0.003, runT: 300 };

export interface AttractorRun {
  history: [number, number][];
  /** sign accuracy of the readout at t = T (trained) and at t = runT (never trained) */
  accAtT: number;
  accAtRun: number;
  /** max over the test sequences of ‖h(t+1) − h(t)‖, for t = 1..runT−1 */
  drift: number[];
  /**
   * The points reached, one per sign of the readout at t = runT: the mean h(runT) of those
   * sequences, how many, their largest distance from the mean, and the spectral radius of
   * ∂h(t)/∂h(t−1) there.
   */
  fixedPoints: { sign: number; h: number[]; members: number; spread: number; spectralRadius: number }[];
}

export function learnedAttractor(seed: number, o: AttractorOptions): AttractorRun {
  const rng = new Rng(seed);
  const net = initNet({ F: 1, units: o.units, O: 1, h0: "zero" }, rng);
  const { history } = trainSeq(net, () => burstBatch(o.batch, o.T, o.burst, o.lastK, rng), {
    updates: o.updates,
    learningRate: o.learningRate,
    onUpdate: o.progress ? (k, l) => k % 25 === 0 && o.progress?.(`update ${k}/${o.updates}, loss ${l.toExponential(2)}`) : undefined,
  });
  // the long run: the same kind of input (burst, then zeros) for runT steps
  const test = burstBatch(200, o.runT, o.burst, 1, rng);
  const f = seqForward(net, test);
  const N = 200, u = o.units;
  const acc = (t: number) => test.sign.filter((s, n) => Math.sign(f.z.data[n * o.runT + t - 1]) === s).length / N;
  const hs = f.fwd.hs.data;
  const drift: number[] = [];
  for (let t = 1; t < o.runT; t++) {
    let worst = 0;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let j = 0; j < u; j++) s += (hs[(n * o.runT + t) * u + j] - hs[(n * o.runT + t - 1) * u + j]) ** 2;
      worst = Math.max(worst, Math.sqrt(s));
    }
    drift.push(worst);
  }
  const fixedPoints: AttractorRun["fixedPoints"] = [];
  // the sequences grouped by the sign the readout settled on at t = runT: one group per attractor
  const endSign = test.sign.map((_, n) => (f.z.data[n * o.runT + o.runT - 1] >= 0 ? 1 : -1));
  for (const sign of [1, -1]) {
    const members = endSign.map((s, n) => (s === sign ? n : -1)).filter((n) => n >= 0);
    if (members.length === 0) continue;
    const h = new Array<number>(u).fill(0);
    for (const n of members) for (let j = 0; j < u; j++) h[j] += hs[(n * o.runT + o.runT - 1) * u + j] / members.length;
    let spread = 0;
    for (const n of members) {
      let s = 0;
      for (let j = 0; j < u; j++) s += (hs[(n * o.runT + o.runT - 1) * u + j] - h[j]) ** 2;
      spread = Math.max(spread, Math.sqrt(s));
    }
    // ∂h(t)/∂h(t−1) at the fixed point: one more step from h*, through bptt.ts's stepJacobians
    const x1 = noInput(1);
    const fp = bpttForward(tanhCell, net.p, x1, { h0: new Tensor([u], Float64Array.from(h)) });
    const [J] = stepJacobians(tanhCell, net.p, x1, fp);
    fixedPoints.push({ sign, h, members: members.length, spread, spectralRadius: spectralRadius(J) });
  }
  return { history, accAtT: acc(o.T), accAtRun: acc(o.runT), drift, fixedPoints };
}

// ================================================================ 3. chaos

/** h(t) = tanh(g·W h(t−1)) with W_ij ~ N(0, 1/N): Whh = g·Wᵀ (a Gaussian matrix either way). */
export function randomTanhNetwork(N: number, g: number, rng: Rng): RnnParams {
  const Whh = normalTensor([N, N], 0, 1 / Math.sqrt(N), rng);
  for (let i = 0; i < Whh.size; i++) Whh.data[i] *= g;
  return { Whx: new Tensor([1, N]), Whh, bh: new Tensor([N]) };
}

export interface ChaosOptions {
  N: number;
  gains: number[];
  networks: number;
  /** trajectory steps: discarded at the start, counted, and for the tangent vector to line up */
  discard: number;
  count: number;
  align: number;
  progress?: Progress;
}

export interface ChaosSweep {
  gains: number[];
  /** λ_max per gain (mean over the networks) and per network */
  lyapunov: number[];
  perNetwork: number[][];
}

/** W with W_hh scaled by the gain g. */
function withGain(W: RnnParams, g: number): RnnParams {
  return { ...W, Whh: new Tensor(W.Whh.shape, W.Whh.data.map((v) => g * v)) };
}

/** A network drawn from rng at gain g, run `discard` steps from h(0) ~ N(0, 1) (also from rng): its weights and the state h it settled at, (N). */
function settledNetwork(rng: Rng, N: number, g: number, discard: number): { p: RnnParams; settled: Tensor } {
  const W = randomTanhNetwork(N, 1, rng);
  const start = normalTensor([N], 0, 1, rng);
  const p = withGain(W, g);
  return { p, settled: new Tensor([N], Float64Array.from(runAutonomous(p, start, discard)[discard - 1])) };
}

/** The same W for every gain (network k is drawn once, then scaled by g), from a random start h(0) ~ N(0, 1). */
export function lyapunovSweep(seed: number, o: ChaosOptions): ChaosSweep {
  const rng = new Rng(seed);
  const Ws = Array.from({ length: o.networks }, () => randomTanhNetwork(o.N, 1, rng));
  const starts = Array.from({ length: o.networks }, () => normalTensor([o.N], 0, 1, rng));
  const T = o.discard + o.count + o.align;
  const perNetwork = o.gains.map((g, gi) =>
    Ws.map((W, k) => {
      o.progress?.(`Lyapunov exponents: gain ${g} (${gi + 1}/${o.gains.length}), network ${k + 1}/${o.networks}`);
      return largestLyapunov(tanhCell, withGain(W, g), noInput(T), { h0: starts[k] }, { discard: o.discard, align: o.align, seed: seed + k }).exponent;
    }),
  );
  return { gains: o.gains, lyapunov: perNetwork.map((l) => l.reduce((a, b) => a + b, 0) / l.length), perNetwork };
}

/** ‖h'(t) − h(t)‖ for two starts 1e-8 apart, after `discard` steps on the attractor; one network at gain g. */
export function separationRun(seed: number, N: number, g: number, discard: number, T: number, delta = 1e-8): number[] {
  const { p, settled } = settledNetwork(new Rng(seed), N, g, discard);
  return trajectorySeparation(tanhCell, p, noInput(T), settled, delta, seed);
}

/**
 * Chapter 05's quantity in the same networks: ‖∂L/∂h(t)‖ of BPTT from a loss at t = T, for
 * T steps on the attractor. Returns log ‖∂L/∂h(t)‖ for t = 1..T and the fitted rate per step.
 */
export function gradientGrowth(seed: number, N: number, g: number, discard: number, T: number): { logNorms: number[]; ratePerStep: number } {
  const rng = new Rng(seed);
  const { p, settled } = settledNetwork(rng, N, g, discard);
  const fwd = bpttForward(tanhCell, p, noInput(T), { h0: settled });
  const dhT = normalTensor([1, N], 0, 1, rng);
  const r = bpttBackward(tanhCell, p, fwd, { dhT, initialStateGrad: false });
  const logNorms = r.dLdhNorms.map(Math.log);
  // least-squares slope of log ‖∂L/∂h(T−k)‖ against k
  const ks = logNorms.map((_, t) => T - 1 - t);
  return { logNorms, ratePerStep: leastSquaresSlope(ks, logNorms) };
}

// ================================================================ 4. binary addition

/**
 * Pairs of random `bits`-bit numbers, least significant bit first, and their sum: T = bits + 1
 * steps (the last input is (0, 0) and its output is the final carry). x (N, T, 2), y (N, T, 1).
 */
export function additionBatch(N: number, bits: number, rng: Rng): SeqBatch {
  const T = bits + 1;
  const x = new Tensor([N, T, 2]), y = new Tensor([N, T, 1]);
  for (let n = 0; n < N; n++) {
    let carry = 0;
    for (let t = 0; t < T; t++) {
      const a = t < bits && rng.next() < 0.5 ? 1 : 0;
      const b = t < bits && rng.next() < 0.5 ? 1 : 0;
      x.data[(n * T + t) * 2] = a;
      x.data[(n * T + t) * 2 + 1] = b;
      // sum bit and carry of a + b + carry
      const s = a + b + carry;
      y.data[n * T + t] = s & 1;
      carry = s >> 1;
    }
  }
  return { x, y, mask: null };
}

export interface AdderOptions {
  units: number;
  bits: number;
  updates: number;
  batch: number;
  learningRate: number;
  progress?: Progress;
}

export const ADDER_DEFAULTS = { updates: 2000, batch: 32, learningRate: 0.05 };

/** A SimpleRNN(units) with a sigmoid output, trained by BPTT on random `bits`-bit additions. */
export function trainAdder(seed: number, o: AdderOptions): { net: SeqNet; history: [number, number][] } {
  const rng = new Rng(seed);
  const net = initNet({ F: 2, units: o.units, O: 1, h0: "zero", out: "sigmoid" }, rng);
  const { history } = trainSeq(net, () => additionBatch(o.batch, o.bits, rng), {
    updates: o.updates,
    learningRate: o.learningRate,
    clipNorm: 5,
    onUpdate: o.progress ? (k, l) => k % 100 === 0 && o.progress?.(`update ${k}/${o.updates}, loss ${l.toExponential(2)}`) : undefined,
  });
  return { net, history };
}

/** The fraction of output bits right (σ(ŷ) > ½ ⇔ 1) on N random pairs of `bits`-bit numbers. */
export function adderAccuracy(net: SeqNet, bits: number, N: number, rng: Rng): number {
  const b = additionBatch(N, bits, rng);
  const z = seqForward(net, b).z.data;
  let ok = 0;
  for (let i = 0; i < z.length; i++) if ((z[i] > 0 ? 1 : 0) === b.y.data[i]) ok++;
  return ok / z.length;
}

export interface AdderAutomaton {
  /** the k-means clusters of h(1..T) that were kept: mean hidden state, size, and the minimal automaton's state they merge into */
  clusters: { mean: number[]; count: number; state: number }[];
  /** the automaton over the clusters (state k is h(0)) */
  automaton: Automaton;
  /** the minimal automaton (outputs on the transitions) */
  minimal: Automaton;
  /** the number of states of the minimal Moore machine (the output bit read off the state), h(0) included */
  mooreStates: number;
  /** the minimal automaton's bit accuracy on fresh additions, run on its own */
  automatonAccuracy: number;
  /** the hidden states (n, u) and their cluster */
  points: number[][];
  labels: number[];
}

/**
 * Reads the carry automaton off a trained adder: k-means on the hidden states h(1..T) for
 * k = 2, 3, …, kMax; the first k whose transition table reproduces the network's own outputs
 * on ≥ 99.9% of the steps is kept, then equivalent states are merged. h(0) is a state of its own.
 */
export function extractAdderAutomaton(net: SeqNet, bits: number, rng: Rng, kMax = 8): AdderAutomaton {
  const b = additionBatch(300, bits, rng);
  const f = seqForward(net, b);
  const [N, T, u] = f.fwd.hs.shape;
  const X = new Tensor([N * T, u], f.fwd.hs.data.slice());
  const inputs = Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => 2 * b.x.data[(n * T + t) * 2] + b.x.data[(n * T + t) * 2 + 1]));
  const outputs = Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => (f.z.data[n * T + t] > 0 ? 1 : 0)));
  let kept: { k: number; a: Automaton; labels: Int32Array } | null = null;
  for (let k = 2; k <= kMax; k++) {
    const { labels } = kmeans(X, k, rng);
    // state k stands for h(0)
    const states = Array.from({ length: N }, (_, n) => [k, ...Array.from(labels.subarray(n * T, (n + 1) * T))]);
    const a = extractAutomaton({ states, inputs, outputs });
    kept = { k, a, labels };
    if (a.consistency >= 0.999) break;
  }
  const { k, a, labels } = kept as NonNullable<typeof kept>;
  const minimal = minimizeAutomaton(a);
  // the automaton alone, on fresh additions of 32-bit numbers
  const test = additionBatch(200, 32, rng);
  const T2 = 33;
  let ok = 0;
  for (let n = 0; n < 200; n++) {
    const xs = Array.from({ length: T2 }, (_, t) => 2 * test.x.data[(n * T2 + t) * 2] + test.x.data[(n * T2 + t) * 2 + 1]);
    const out = runAutomaton(minimal, xs);
    for (let t = 0; t < T2; t++) if (out[t] === test.y.data[n * T2 + t]) ok++;
  }
  const points = Array.from({ length: N * T }, (_, i) => Array.from(X.data.subarray(i * u, (i + 1) * u)));
  const clusters = Array.from({ length: k }, (_, l) => {
    const mean = new Array<number>(u).fill(0);
    let count = 0;
    labels.forEach((lab, i) => {
      if (lab !== l) return;
      count++;
      for (let j = 0; j < u; j++) mean[j] += points[i][j];
    });
    return { mean: mean.map((v) => (count ? v / count : NaN)), count, state: minimal.merged.get(l) ?? -1 };
  });
  return { clusters, automaton: a, minimal, mooreStates: minimizeAutomaton(a, "states").states, automatonAccuracy: ok / (200 * T2), points, labels: Array.from(labels) };
}

// ================================================================ 5. learned initial states

/** ∂L/∂h(0) of a net with a learned h(0) against centred differences: the relative error. */
export function h0GradCheck(net: SeqNet, batch: SeqBatch): { relError: number; analytic: Tensor; numeric: Tensor } {
  if (!net.h0 || !net.learnH0) throw new Error("h0GradCheck: the net has no learned initial state");
  const analytic = seqLossAndGrads(net, batch).grads.h0 as Tensor;
  const numeric = numericalGradient(() => seqForward(net, batch).loss, net.h0, 1e-5);
  return { relError: relError(analytic, numeric), analytic, numeric };
}

/** The task of the initial-state comparison: cos(θt) from t = 1, no input. */
export const INITIAL_TASK = { units: 16, T: 50, theta: THETA, phase: Math.PI / 2, learningRate: 0.003 };

export type InitialStateKind = "zero" | "half" | "learned";
export const INITIAL_KINDS: readonly [InitialStateKind, "zero" | "learned" | number][] = [["zero", "zero"], ["half", 0.5], ["learned", "learned"]];

export interface InitialComparison {
  /** per kind, the loss on t = 1..5 and on the whole sequence, one entry per seed */
  first5: Record<InitialStateKind, number[]>;
  whole: Record<InitialStateKind, number[]>;
  /** the learned-h(0) net of the first seed */
  learnedNet: SeqNet;
}

/** The three initial states, each trained from the same seeds seed..seed+nSeeds−1 with the same number of updates. */
export function initialStateComparison(seed: number, nSeeds: number, updates: number, progress?: Progress): InitialComparison {
  const batch = sineBatch(INITIAL_TASK.T, INITIAL_TASK.theta, INITIAL_TASK.phase);
  const first5 = { zero: [], half: [], learned: [] } as Record<InitialStateKind, number[]>;
  const whole = { zero: [], half: [], learned: [] } as Record<InitialStateKind, number[]>;
  let learnedNet: SeqNet | null = null;
  for (const [name, h0] of INITIAL_KINDS) {
    for (let i = 0; i < nSeeds; i++) {
      const { net } = trainSine(seed + i, { ...INITIAL_TASK, updates, h0, progress: progress && ((t) => progress(`h(0) ${name}, seed ${i + 1}/${nSeeds}, ${t}`)) });
      first5[name].push(stepLoss(net, batch, 0, 5));
      whole[name].push(stepLoss(net, batch, 0, INITIAL_TASK.T));
      if (name === "learned" && i === 0) learnedNet = net;
    }
  }
  return { first5, whole, learnedNet: learnedNet as SeqNet };
}

/** The mean loss over the steps t0 < t ≤ t1 (1-based) of one sequence. */
export function stepLoss(net: SeqNet, batch: SeqBatch, t0: number, t1: number): number {
  const z = seqForward(net, batch).z.data;
  let s = 0;
  for (let t = t0; t < t1; t++) s += (z[t] - batch.y.data[t]) ** 2;
  return s / (t1 - t0);
}

// ================================================================ 6. the layout: inputs and targets

export type InputWay = "initial-all" | "initial-subset" | "clamped-subset";
export type TargetWay = "final-all" | "last-few-all" | "every-step-all" | "final-subset";

export interface LayoutOptions {
  units: number;
  T: number;
  /** the units that form the "subset": 0..subset−1 */
  subset: number;
  /** "last few" = the last `lastK` steps */
  lastK: number;
  batch: number;
  updates: number;
  learningRate: number;
}

/**
 * Remember a number v ~ U(−0.8, 0.8) and hold it for T steps; the network is the units
 * themselves (targets are desired activities of units). The input v is given
 *   initial-all: as h(0) of every unit;  initial-subset: as h(0) of units 0..subset−1 (others 0);
 *   clamped-subset: as x(t) = v at every step, i.e. input units clamped to v, feeding in through Whx.
 * The target is v on
 *   final-all: every unit at t = T;  last-few-all: every unit at the last lastK steps;
 *   every-step-all: every unit at every step;  final-subset: units 0..subset−1 at t = T.
 */
export function layoutBatch(N: number, inputWay: InputWay, targetWay: TargetWay, o: LayoutOptions, rng: Rng): SeqBatch & { v: number[] } {
  const { units: u, T, subset, lastK } = o;
  const x = new Tensor([N, T, 1]), y = new Tensor([N, T, u]), mask = new Tensor([N, T, u]);
  const h0 = inputWay === "clamped-subset" ? undefined : new Tensor([N, u]);
  const v: number[] = [];
  for (let n = 0; n < N; n++) {
    const vn = rng.uniform(-0.8, 0.8);
    v.push(vn);
    if (inputWay === "clamped-subset") for (let t = 0; t < T; t++) x.data[n * T + t] = vn;
    else for (let j = 0; j < (inputWay === "initial-all" ? u : subset); j++) (h0 as Tensor).data[n * u + j] = vn;
    for (let t = 0; t < T; t++) {
      const on = targetWay === "every-step-all" || (targetWay === "last-few-all" ? t >= T - lastK : t === T - 1);
      if (!on) continue;
      for (let j = 0; j < (targetWay === "final-subset" ? subset : u); j++) {
        y.data[(n * T + t) * u + j] = vn;
        mask.data[(n * T + t) * u + j] = 1;
      }
    }
  }
  return { x, y, mask, h0, v };
}

export interface LayoutRun {
  inputWay: InputWay;
  targetWay: TargetWay;
  /** [update, training loss] */
  history: [number, number][];
  /** the common yardstick: mean squared error of unit 0 against v at t = T, on held-out numbers */
  recallMSE: number;
}

export function layoutRun(seed: number, inputWay: InputWay, targetWay: TargetWay, o: LayoutOptions): LayoutRun {
  const rng = new Rng(seed);
  const net = initNet({ F: 1, units: o.units, O: 0, h0: "zero" }, rng);
  const { history } = trainSeq(net, () => layoutBatch(o.batch, inputWay, targetWay, o, rng), { updates: o.updates, learningRate: o.learningRate, logEvery: Math.max(1, Math.ceil(o.updates / 8)) });
  const test = layoutBatch(500, inputWay, "final-subset", o, new Rng(seed + 1));
  const hs = seqForward(net, test).fwd.hs.data;
  let mse = 0;
  for (let n = 0; n < 500; n++) mse += (hs[(n * o.T + o.T - 1) * o.units] - test.v[n]) ** 2;
  return { inputWay, targetWay, history, recallMSE: mse / 500 };
}
