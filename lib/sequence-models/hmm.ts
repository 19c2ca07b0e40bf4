/**
 * A hidden Markov model (HMM): a discrete one-of-N hidden state s_t with
 * stochastic transitions and stochastic outputs o_t ∈ {0, …, M−1}.
 *
 *   p(s_1 = i) = π_i,   p(s_{t+1} = j | s_t = i) = A_ij,   p(o_t = k | s_t = i) = B_ik
 *
 * Scaled forward algorithm (filtering; α̂_t(j) = p(s_t = j | o_1..t), N numbers):
 *   c_1 α̂_1(j) = π_j B_j(o_1)
 *   c_t α̂_t(j) = [Σ_i α̂_{t−1}(i) A_ij] B_j(o_t)             c_t = p(o_t | o_1..t−1) normalises
 *   log p(o_1..T) = Σ_t log c_t
 * Scaled backward pass and smoothing:
 *   β̂_T(i) = 1,   β̂_t(i) = Σ_j A_ij B_j(o_{t+1}) β̂_{t+1}(j) / c_{t+1}
 *   γ_t(i) = α̂_t(i) β̂_t(i) = p(s_t = i | o_1..T)
 *   ξ_t(i, j) = α̂_t(i) A_ij B_j(o_{t+1}) β̂_{t+1}(j) / c_{t+1} = p(s_t = i, s_{t+1} = j | o_1..T)
 * Viterbi (the most probable path), in logs:
 *   δ_1(j) = log π_j + log B_j(o_1),   δ_t(j) = max_i [δ_{t−1}(i) + log A_ij] + log B_j(o_t)
 *   and back along the argmax pointers ψ_t(j).
 * Baum–Welch (EM): from γ and ξ of every sequence under the current model,
 *   π_i = mean over sequences of γ_1(i)
 *   A_ij = Σ_t ξ_t(i, j) / Σ_{t<T} γ_t(i),   B_ik = Σ_{t: o_t = k} γ_t(i) / Σ_t γ_t(i)
 * and each iteration can only raise log p(o) (EM's guarantee).
 * Predictive distribution of the next symbol:
 *   p(o_{t+1} = k | o_1..t) = Σ_j [Σ_i α̂_t(i) A_ij] B_jk
 */
import type { Rng } from "../random.ts";

export interface Hmm {
  /** (N) initial distribution π */
  pi: number[];
  /** (N, N) transitions, A[i][j] = p(s_{t+1} = j | s_t = i) */
  A: number[][];
  /** (N, M) emissions, B[i][k] = p(o_t = k | s_t = i) */
  B: number[][];
}

const ROW_TOL = 1e-9;

function checkDistribution(row: readonly number[], what: string): void {
  let s = 0;
  for (const v of row) {
    if (!(v >= 0 && v <= 1)) throw new Error(`HMM: ${what} has an entry ${v}; probabilities must lie in [0, 1]`);
    s += v;
  }
  if (Math.abs(s - 1) > ROW_TOL) throw new Error(`HMM: ${what} sums to ${s}, expected 1`);
}

/** Checks shapes and that π and every row of A and B sum to 1; returns N and M. */
export function checkHmm(hmm: Hmm): { N: number; M: number } {
  const N = hmm.pi.length;
  if (N === 0) throw new Error("HMM: π is empty; expected one probability per state");
  if (hmm.A.length !== N || hmm.A.some((r) => r.length !== N)) throw new Error(`HMM: the transition matrix A must be ${N}×${N} (π has ${N} states), got ${hmm.A.length} rows of ${hmm.A.map((r) => r.length).join("/")}`);
  if (hmm.B.length !== N) throw new Error(`HMM: the emission matrix B has ${hmm.B.length} rows, expected ${N} (one per state)`);
  const M = hmm.B[0].length;
  if (M === 0 || hmm.B.some((r) => r.length !== M)) throw new Error(`HMM: every row of B needs the same number M ≥ 1 of symbols, got ${hmm.B.map((r) => r.length).join("/")}`);
  checkDistribution(hmm.pi, "π");
  hmm.A.forEach((r, i) => checkDistribution(r, `row ${i} of the transition matrix A`));
  hmm.B.forEach((r, i) => checkDistribution(r, `row ${i} of the emission matrix B`));
  return { N, M };
}

/** Checks that every symbol is a whole number in 0 … M−1. */
export function checkObservations(obs: readonly number[], M: number): void {
  if (obs.length === 0) throw new Error("HMM: an empty observation sequence");
  for (let t = 0; t < obs.length; t++) {
    const o = obs[t];
    if (!Number.isInteger(o) || o < 0 || o >= M) throw new Error(`HMM: observation ${t + 1} is ${o}; symbols must be whole numbers 0 … ${M - 1}`);
  }
}

function draw(p: readonly number[], rng: Rng): number {
  let u = rng.next();
  for (let i = 0; i < p.length - 1; i++) {
    u -= p[i];
    if (u < 0) return i;
  }
  return p.length - 1;
}

/** Samples states s_1..T and observations o_1..T. */
export function sampleHmm(hmm: Hmm, T: number, rng: Rng): { states: number[]; obs: number[] } {
  checkHmm(hmm);
  if (!Number.isInteger(T) || T < 1) throw new Error(`HMM: sequence length must be a whole number ≥ 1, got ${T}`);
  const states: number[] = [], obs: number[] = [];
  let s = draw(hmm.pi, rng);
  for (let t = 0; t < T; t++) {
    if (t > 0) s = draw(hmm.A[s], rng);
    states.push(s);
    obs.push(draw(hmm.B[s], rng));
  }
  return { states, obs };
}

export interface ForwardResult {
  /** α̂_t = p(s_t | o_1..t), (T, N). */
  alphaHat: number[][];
  /** c_t = p(o_t | o_1..t−1), (T). */
  c: number[];
  /** log p(o_1..T) = Σ log c_t. */
  logLik: number;
}

/** The scaled forward algorithm. */
export function forward(hmm: Hmm, obs: readonly number[]): ForwardResult {
  const { N, M } = checkHmm(hmm);
  checkObservations(obs, M);
  return forwardUnchecked(hmm, obs, N);
}

function forwardUnchecked(hmm: Hmm, obs: readonly number[], N: number): ForwardResult {
  const { pi, A, B } = hmm;
  const alphaHat: number[][] = [], c: number[] = [];
  let logLik = 0;
  let prev: number[] | null = null;
  for (let t = 0; t < obs.length; t++) {
    const a = new Array<number>(N).fill(0);
    for (let j = 0; j < N; j++) {
      // [Σ_i α̂_{t−1}(i) A_ij] B_j(o_t), or π_j B_j(o_1) at t = 1
      let prior = 0;
      if (prev === null) prior = pi[j];
      else for (let i = 0; i < N; i++) prior += prev[i] * A[i][j];
      a[j] = prior * B[j][obs[t]];
    }
    let ct = 0;
    for (let j = 0; j < N; j++) ct += a[j];
    if (!(ct > 0)) throw new Error(`HMM: observation ${t + 1} (symbol ${obs[t]}) has probability 0 under the model`);
    for (let j = 0; j < N; j++) a[j] /= ct;
    alphaHat.push(a);
    c.push(ct);
    logLik += Math.log(ct);
    prev = a;
  }
  return { alphaHat, c, logLik };
}

export interface SmoothingResult extends ForwardResult {
  /** β̂_t, (T, N). */
  betaHat: number[][];
  /** γ_t = p(s_t | o_1..T), (T, N). */
  gamma: number[][];
  /** Σ_t ξ_t(i, j), (N, N): the expected number of i → j transitions. */
  xiSum: number[][];
}

/** Forward–backward: the smoothing distributions γ and the expected transition counts. */
export function forwardBackward(hmm: Hmm, obs: readonly number[]): SmoothingResult {
  const { N, M } = checkHmm(hmm);
  checkObservations(obs, M);
  return forwardBackwardUnchecked(hmm, obs, N);
}

function forwardBackwardUnchecked(hmm: Hmm, obs: readonly number[], N: number): SmoothingResult {
  const { A, B } = hmm;
  const f = forwardUnchecked(hmm, obs, N);
  const T = obs.length;
  const betaHat: number[][] = new Array(T);
  betaHat[T - 1] = new Array<number>(N).fill(1);
  const xiSum = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  for (let t = T - 2; t >= 0; t--) {
    const next = betaHat[t + 1], o = obs[t + 1], cn = f.c[t + 1];
    // w_j = B_j(o_{t+1}) β̂_{t+1}(j) / c_{t+1}
    const w = next.map((b, j) => (B[j][o] * b) / cn);
    const b = new Array<number>(N).fill(0);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        b[i] += A[i][j] * w[j];
        // ξ_t(i, j) = α̂_t(i) A_ij w_j
        xiSum[i][j] += f.alphaHat[t][i] * A[i][j] * w[j];
      }
    }
    betaHat[t] = b;
  }
  const gamma = f.alphaHat.map((a, t) => a.map((v, i) => v * betaHat[t][i]));
  return { ...f, betaHat, gamma, xiSum };
}

/** Viterbi: the most probable state path and its log-probability log p(s*, o). */
export function viterbi(hmm: Hmm, obs: readonly number[]): { path: number[]; logProb: number } {
  const { N, M } = checkHmm(hmm);
  checkObservations(obs, M);
  const T = obs.length;
  const { pi, A, B } = hmm;
  const psi: Int32Array[] = [];
  let delta = pi.map((p, j) => Math.log(p) + Math.log(B[j][obs[0]]));
  for (let t = 1; t < T; t++) {
    const d = new Array<number>(N), back = new Int32Array(N);
    for (let j = 0; j < N; j++) {
      let best = -Infinity, arg = 0;
      for (let i = 0; i < N; i++) {
        const v = delta[i] + Math.log(A[i][j]);
        if (v > best) { best = v; arg = i; }
      }
      d[j] = best + Math.log(B[j][obs[t]]);
      back[j] = arg;
    }
    psi.push(back);
    delta = d;
  }
  let last = 0;
  for (let j = 1; j < N; j++) if (delta[j] > delta[last]) last = j;
  const path = new Array<number>(T);
  path[T - 1] = last;
  for (let t = T - 1; t > 0; t--) path[t - 1] = psi[t - 1][path[t]];
  return { path, logProb: delta[last] };
}

/** p(o_{t+1} = k | o_1..t) from the filtering distribution α̂_t. */
export function predictNext(hmm: Hmm, alphaHatT: readonly number[]): number[] {
  const N = hmm.pi.length, M = hmm.B[0].length;
  const out = new Array<number>(M).fill(0);
  for (let j = 0; j < N; j++) {
    let pj = 0;
    for (let i = 0; i < N; i++) pj += alphaHatT[i] * hmm.A[i][j];
    for (let k = 0; k < M; k++) out[k] += pj * hmm.B[j][k];
  }
  return out;
}

/** A random model: π and every row of A and B drawn uniformly from the simplex (Dirichlet(1)). */
export function randomHmm(N: number, M: number, rng: Rng): Hmm {
  const row = (k: number) => {
    const g = Array.from({ length: k }, () => -Math.log(1 - rng.next()));
    const s = g.reduce((a, b) => a + b, 0);
    return g.map((v) => v / s);
  };
  return { pi: row(N), A: Array.from({ length: N }, () => row(N)), B: Array.from({ length: N }, () => row(M)) };
}

/** The expected counts of one E-step, summed over sequences. */
export interface ExpectedCounts {
  /** Σ_seq γ_1(i) */
  pi: number[];
  /** Σ_seq Σ_t ξ_t(i, j) */
  A: number[][];
  /** Σ_seq Σ_{t: o_t = k} γ_t(i) */
  B: number[][];
  /** Σ_seq log p(o) under the model */
  logLik: number;
}

/**
 * The E-step of Baum–Welch, from forwardBackward's γ and ξ: the readable
 * reference for expectedCounts.
 */
export function expectedCountsNaive(hmm: Hmm, sequences: readonly (readonly number[])[]): ExpectedCounts {
  const { N, M } = checkHmm(hmm);
  const out: ExpectedCounts = { pi: new Array(N).fill(0), A: Array.from({ length: N }, () => new Array(N).fill(0)), B: Array.from({ length: N }, () => new Array(M).fill(0)), logLik: 0 };
  for (const obs of sequences) {
    const r = forwardBackward(hmm, obs);
    out.logLik += r.logLik;
    for (let i = 0; i < N; i++) {
      out.pi[i] += r.gamma[0][i];
      for (let j = 0; j < N; j++) out.A[i][j] += r.xiSum[i][j];
      for (let t = 0; t < obs.length; t++) out.B[i][obs[t]] += r.gamma[t][i];
    }
  }
  return out;
}

/**
 * The same E-step on flat typed arrays without per-step allocation (the
 * equations of forwardBackward, one sequence at a time); Baum–Welch runs it
 * once per iteration over every sequence.
 */
export function expectedCounts(hmm: Hmm, sequences: readonly (readonly number[])[]): ExpectedCounts {
  const { N, M } = checkHmm(hmm);
  if (sequences.length === 0) throw new Error("HMM: no observation sequences");
  sequences.forEach((o) => checkObservations(o, M));
  return expectedCountsUnchecked(hmm, sequences, N, M);
}

/** expectedCounts on a model and sequences already checked (Baum–Welch checks them once, not every iteration). */
function expectedCountsUnchecked(hmm: Hmm, sequences: readonly (readonly number[])[], N: number, M: number): ExpectedCounts {
  const A = Float64Array.from(hmm.A.flat()), B = Float64Array.from(hmm.B.flat());
  const piC = new Float64Array(N), aC = new Float64Array(N * N), bC = new Float64Array(N * M);
  let logLik = 0;
  const Tmax = Math.max(...sequences.map((o) => o.length));
  const alpha = new Float64Array(Tmax * N), c = new Float64Array(Tmax);
  const beta = new Float64Array(N), w = new Float64Array(N), nb = new Float64Array(N);
  for (const obs of sequences) {
    const T = obs.length;
    // forward: c_t α̂_t(j) = [Σ_i α̂_{t−1}(i) A_ij] B_j(o_t)
    for (let t = 0; t < T; t++) {
      const o = obs[t];
      let ct = 0;
      for (let j = 0; j < N; j++) {
        let prior = 0;
        if (t === 0) prior = hmm.pi[j];
        else for (let i = 0; i < N; i++) prior += alpha[(t - 1) * N + i] * A[i * N + j];
        const v = prior * B[j * M + o];
        alpha[t * N + j] = v;
        ct += v;
      }
      if (!(ct > 0)) throw new Error(`HMM: observation ${t + 1} (symbol ${o}) has probability 0 under the model`);
      for (let j = 0; j < N; j++) alpha[t * N + j] /= ct;
      c[t] = ct;
      logLik += Math.log(ct);
    }
    // backward, accumulating γ_t = α̂_t β̂_t and ξ_t(i, j) = α̂_t(i) A_ij w_j, w_j = B_j(o_{t+1}) β̂_{t+1}(j) / c_{t+1}
    beta.fill(1);
    for (let j = 0; j < N; j++) bC[j * M + obs[T - 1]] += alpha[(T - 1) * N + j];
    for (let t = T - 2; t >= 0; t--) {
      const o = obs[t + 1];
      for (let j = 0; j < N; j++) w[j] = (B[j * M + o] * beta[j]) / c[t + 1];
      for (let i = 0; i < N; i++) {
        let b = 0;
        const ai = alpha[t * N + i];
        for (let j = 0; j < N; j++) {
          const aw = A[i * N + j] * w[j];
          b += aw;
          aC[i * N + j] += ai * aw;
        }
        nb[i] = b;
      }
      beta.set(nb);
      for (let i = 0; i < N; i++) bC[i * M + obs[t]] += alpha[t * N + i] * beta[i];
    }
    for (let i = 0; i < N; i++) piC[i] += alpha[i] * beta[i];
  }
  const rows = (a: Float64Array, k: number) => Array.from({ length: a.length / k }, (_, i) => Array.from(a.subarray(i * k, (i + 1) * k)));
  return { pi: Array.from(piC), A: rows(aC, N), B: rows(bC, M), logLik };
}

export interface BaumWelchResult {
  hmm: Hmm;
  /** log p(all sequences) under the model before each update; the last entry is under the returned model. */
  logLiks: number[];
  iterations: number;
  converged: boolean;
}

/**
 * Baum–Welch on several sequences from an initial model, until the
 * log-likelihood rises by less than `tol` in an iteration or `maxIter` updates.
 */
export function baumWelch(sequences: readonly (readonly number[])[], init: Hmm, opts: { maxIter?: number; tol?: number } = {}): BaumWelchResult {
  const { N, M } = checkHmm(init);
  if (sequences.length === 0) throw new Error("Baum–Welch: no sequences to learn from");
  sequences.forEach((o) => checkObservations(o, M));
  const maxIter = opts.maxIter ?? 500, tol = opts.tol ?? 1e-8;
  let hmm: Hmm = { pi: init.pi.slice(), A: init.A.map((r) => r.slice()), B: init.B.map((r) => r.slice()) };
  const logLiks: number[] = [];
  for (let it = 0; it <= maxIter; it++) {
    // E-step: expected counts under the current model
    const e = expectedCountsUnchecked(hmm, sequences, N, M);
    logLiks.push(e.logLik);
    const n = logLiks.length;
    if (it === maxIter || (n > 1 && logLiks[n - 1] - logLiks[n - 2] < tol)) {
      return { hmm, logLiks, iterations: it, converged: it < maxIter };
    }
    // M-step: the counts normalised row by row (a state never visited keeps its row)
    const norm = (row: number[], old: number[]) => {
      const s = row.reduce((a, b) => a + b, 0);
      return s > 0 ? row.map((v) => v / s) : old.slice();
    };
    hmm = { pi: norm(e.pi, hmm.pi), A: e.A.map((r, i) => norm(r, hmm.A[i])), B: e.B.map((r, i) => norm(r, hmm.B[i])) };
  }
  throw new Error("unreachable");
}

/** All permutations of 0 … n−1. */
function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k < n; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

/**
 * The relabelling of a learned model's states that best matches a reference
 * model (smallest max abs error over A and B), by trying all N! permutations.
 * perm[i] is the learned state that plays reference state i.
 */
export function matchStates(learned: Hmm, reference: Hmm): { perm: number[]; hmm: Hmm; transitionMaxAbsError: number; emissionMaxAbsError: number } {
  const { N } = checkHmm(reference);
  if (learned.pi.length !== N) throw new Error(`matchStates: the learned model has ${learned.pi.length} states, the reference ${N}`);
  let best: ReturnType<typeof matchStates> | null = null;
  for (const perm of permutations(N)) {
    const hmm: Hmm = {
      pi: perm.map((p) => learned.pi[p]),
      A: perm.map((p) => perm.map((q) => learned.A[p][q])),
      B: perm.map((p) => learned.B[p].slice()),
    };
    let ea = 0, eb = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) ea = Math.max(ea, Math.abs(hmm.A[i][j] - reference.A[i][j]));
      for (let k = 0; k < reference.B[i].length; k++) eb = Math.max(eb, Math.abs(hmm.B[i][k] - reference.B[i][k]));
    }
    if (!best || Math.max(ea, eb) < Math.max(best.transitionMaxAbsError, best.emissionMaxAbsError)) {
      best = { perm, hmm, transitionMaxAbsError: ea, emissionMaxAbsError: eb };
    }
  }
  return best!;
}
