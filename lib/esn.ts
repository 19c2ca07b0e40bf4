/**
 * Echo state networks (Jaeger 2001), the lecture's third way to learn an RNN:
 * initialise the input→hidden and hidden→hidden connections very carefully, so
 * that the hidden state is a big reservoir of weakly coupled oscillators, and
 * learn only the hidden→output connections.
 *
 * The reservoir is fixed:
 *   h(t) = tanh(W_hx x(t) + W_hh h(t−1)),   h(0) = 0,
 * with W_hh sparse (each unit hears `connections` random units, weights N(0, 1))
 * and then scaled so that its spectral radius is ρ, and W_hx uniform on
 * [−s, s] (the input scaling s). With ρ < 1 the network has the echo-state
 * property: h(t) forgets h(0), so the state is a function of the input history.
 *
 * The readout is linear in the last state, y = W_yh [h(T); 1], and is fitted in
 * closed form by ridge regression on the collected states Φ (M, u+1), rows [h(T); 1]:
 *   W_yh = (ΦᵀΦ + β D)⁻¹ Φᵀ Y,   D = diag(1, …, 1, 0)  (the bias is not penalised).
 * Nothing else is learned; the reservoir's weights never change.
 *
 * Shapes: x (N, T, F), states (N, u); batches are rows, as in rnn.ts.
 */
import { Tensor, shapeStr, sequenceDims, matmul } from "./matrix.ts";
import { type Mat, cholesky, choleskySolve } from "./linalg.ts";
import type { Rng } from "./random.ts";

export interface Reservoir {
  F: number;
  u: number;
  /** W_hx as rows: Win (F, u), so that the input term is x·Win. */
  Win: Tensor;
  /** W_hh in compressed rows: unit j's incoming weights are vals[rowStart[j] .. rowStart[j+1]) from units cols[...]. */
  rowStart: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
  /** The spectral radius W_hh was scaled to. */
  rho: number;
}

export interface ReservoirOptions {
  /** Spectral radius ρ of W_hh, > 0 (echo states need ρ < 1 for any input; tanh saturation helps above). */
  rho: number;
  /** Input scaling s: W_hx ~ U(−s, s) (default 1). */
  inputScale?: number;
  /** Incoming connections per unit (default min(10, u)). */
  connections?: number;
  rng: Rng;
}

/** A fixed random reservoir with F inputs and u units, W_hh scaled to spectral radius ρ. */
export function makeReservoir(F: number, u: number, opts: ReservoirOptions): Reservoir {
  const { rho, rng } = opts;
  const s = opts.inputScale ?? 1;
  const k = opts.connections ?? Math.min(10, u);
  if (!Number.isInteger(F) || F < 1 || !Number.isInteger(u) || u < 1) throw new Error(`makeReservoir: F and u must be whole numbers ≥ 1, got F = ${F}, u = ${u}`);
  if (!(rho > 0) || !Number.isFinite(rho)) throw new Error(`makeReservoir: the spectral radius ρ must be a positive number, got ${rho}`);
  if (!(s > 0) || !Number.isFinite(s)) throw new Error(`makeReservoir: the input scaling must be a positive number, got ${s}`);
  if (!Number.isInteger(k) || k < 1 || k > u) throw new Error(`makeReservoir: connections per unit must be a whole number in 1..${u}, got ${k}`);
  const Win = new Tensor([F, u]);
  for (let i = 0; i < Win.size; i++) Win.data[i] = rng.uniform(-s, s);
  const rowStart = new Int32Array(u + 1), cols = new Int32Array(u * k), vals = new Float64Array(u * k);
  for (let j = 0; j < u; j++) {
    rowStart[j] = j * k;
    // k distinct source units, sorted: the first k of a random permutation of the u units
    const pick = rng.permutation(u).slice(0, k).sort();
    for (let m = 0; m < k; m++) {
      cols[j * k + m] = pick[m];
      vals[j * k + m] = rng.normal();
    }
  }
  rowStart[u] = u * k;
  const res: Reservoir = { F, u, Win, rowStart, cols, vals, rho: 1 };
  const r0 = reservoirSpectralRadius(res);
  if (!(r0 > 0)) throw new Error(`makeReservoir: the random W_hh has spectral radius ${r0}; try more connections per unit`);
  for (let i = 0; i < vals.length; i++) vals[i] *= rho / r0;
  res.rho = rho;
  return res;
}

/** v ↦ W_hh v for the sparse W_hh (out may not alias v). */
function sparseMatVec(res: Reservoir, v: Float64Array, out: Float64Array): void {
  const { rowStart, cols, vals, u } = res;
  for (let j = 0; j < u; j++) {
    let s = 0;
    for (let p = rowStart[j]; p < rowStart[j + 1]; p++) s += vals[p] * v[cols[p]];
    out[j] = s;
  }
}

/**
 * The spectral radius of the sparse W_hh, by Gelfand's formula ρ = lim ‖Wᵐv‖^(1/m):
 * the mean growth rate log(‖W v‖/‖v‖) of a power iteration over the second half of
 * `iters` steps (the first half lets the dominant eigenvalues take over). Works for
 * complex eigenvalues, where the plain power iteration oscillates.
 */
export function reservoirSpectralRadius(res: Reservoir, iters = 2000): number {
  const u = res.u;
  let v = new Float64Array(u), w = new Float64Array(u);
  for (let j = 0; j < u; j++) v[j] = 1 + 0.1 * Math.sin(j + 1);
  let logSum = 0, counted = 0;
  for (let it = 0; it < iters; it++) {
    sparseMatVec(res, v, w);
    let nw = 0, nv = 0;
    for (let j = 0; j < u; j++) {
      nw += w[j] * w[j];
      nv += v[j] * v[j];
    }
    if (nw === 0) return 0;
    if (it >= iters / 2) {
      logSum += 0.5 * Math.log(nw / nv);
      counted++;
    }
    const inv = 1 / Math.sqrt(nw);
    for (let j = 0; j < u; j++) w[j] *= inv;
    [v, w] = [w, v];
  }
  return Math.exp(logSum / counted);
}

/** W_hh as a dense matrix in the row layout of rnn.ts, Whh (u, u) with Whh(k, j) = W_hh(j, k): for a SimpleRNN started as an ESN. */
export function reservoirWhh(res: Reservoir): Tensor {
  const { u, rowStart, cols, vals } = res;
  const W = new Tensor([u, u]);
  for (let j = 0; j < u; j++) for (let p = rowStart[j]; p < rowStart[j + 1]; p++) W.data[cols[p] * u + j] = vals[p];
  return W;
}

/**
 * Runs the reservoir over x (N, T, F) from h0 (N, u) (zeros if omitted).
 * Returns the last states h(T) (N, u) and, with keepAll, every h(t) (N, T, u).
 */
export function reservoirStates(res: Reservoir, x: Tensor, opts: { h0?: Tensor; keepAll?: boolean } = {}): { last: Tensor; all: Tensor | null } {
  const { u, F, Win } = res;
  const who = `reservoir(${u})`;
  const { N, T, F: Fx } = sequenceDims(x, who);
  if (Fx !== F) throw new Error(`${who}: the sequence ${shapeStr(x.shape)} has ${Fx} features per step, the reservoir expects ${F}`);
  if (opts.h0 && (opts.h0.rank !== 2 || opts.h0.shape[0] !== N || opts.h0.shape[1] !== u)) throw new Error(`${who}: h0 has shape ${shapeStr(opts.h0.shape)}, expected (${N}, ${u})`);
  const last = new Tensor([N, u]);
  const all = opts.keepAll ? new Tensor([N, T, u]) : null;
  let h = new Float64Array(u), z = new Float64Array(u);
  const xd = x.data, wi = Win.data;
  for (let n = 0; n < N; n++) {
    if (opts.h0) h.set(opts.h0.data.subarray(n * u, (n + 1) * u));
    else h.fill(0);
    for (let t = 0; t < T; t++) {
      // z(t) = W_hh h(t−1) + W_hx x(t)
      sparseMatVec(res, h, z);
      const xo = (n * T + t) * F;
      for (let f = 0; f < F; f++) {
        const xf = xd[xo + f];
        if (xf === 0) continue;
        for (let j = 0; j < u; j++) z[j] += xf * wi[f * u + j];
      }
      // h(t) = tanh(z(t))
      for (let j = 0; j < u; j++) z[j] = Math.tanh(z[j]);
      [h, z] = [z, h];
      if (all) all.data.set(h, (n * T + t) * u);
    }
    last.data.set(h, n * u);
  }
  return { last, all };
}

/**
 * Ridge regression in closed form: W = (ΦᵀΦ + β D)⁻¹ ΦᵀY for Φ = [S, 1] (M, D+1),
 * D = diag(1, …, 1, 0). S: (M, D) states, Y: (M, K) targets → W: (D+1, K), bias last.
 */
export function ridgeFit(S: Tensor, Y: Tensor, beta: number): Tensor {
  if (S.rank !== 2 || Y.rank !== 2 || S.shape[0] !== Y.shape[0]) throw new Error(`ridgeFit: states ${shapeStr(S.shape)} and targets ${shapeStr(Y.shape)} need the same number of rows`);
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new Error(`ridgeFit: the ridge parameter β must be a number ≥ 0, got ${beta}`);
  const [M, D] = S.shape, K = Y.shape[1], D1 = D + 1;
  // A = ΦᵀΦ + β D and B = ΦᵀY, accumulated row by row (the upper triangle, then mirrored)
  const A = new Float64Array(D1 * D1), B = new Float64Array(D1 * K), phi = new Float64Array(D1);
  for (let m = 0; m < M; m++) {
    phi.set(S.data.subarray(m * D, (m + 1) * D));
    phi[D] = 1;
    for (let i = 0; i < D1; i++) {
      const pi = phi[i];
      if (pi === 0) continue;
      const row = i * D1;
      for (let j = i; j < D1; j++) A[row + j] += pi * phi[j];
      for (let k = 0; k < K; k++) B[i * K + k] += pi * Y.data[m * K + k];
    }
  }
  for (let i = 0; i < D1; i++) for (let j = 0; j < i; j++) A[i * D1 + j] = A[j * D1 + i];
  for (let i = 0; i < D; i++) A[i * D1 + i] += beta;
  // W = A⁻¹ B by Cholesky, A = L Lᵀ (linalg.ts)
  const rowsOf = (a: Float64Array, k: number): Mat => Array.from({ length: a.length / k }, (_, i) => Array.from(a.subarray(i * k, (i + 1) * k)));
  let W: Mat;
  try {
    W = choleskySolve(cholesky(rowsOf(A, D1)), rowsOf(B, K));
  } catch (e) {
    throw new Error(`ridgeFit: ΦᵀΦ + βD is not positive definite (${(e as Error).message}); use a larger ridge parameter`);
  }
  return new Tensor([D1, K], Float64Array.from(W.flat()));
}

/** y = [S, 1]·W: the readout of states S (N, u) with W (u+1, K) from ridgeFit → (N, K). */
export function readout(S: Tensor, W: Tensor): Tensor {
  const [N, D] = S.shape, K = W.shape[1];
  if (W.shape[0] !== D + 1) throw new Error(`readout: ${D} state features need a readout of shape (${D + 1}, K), got ${shapeStr(W.shape)}`);
  // y = b + S·W_S: every row starts at the bias (W's last row), then matmul adds S·W_S (W's first D rows) to it
  const y = new Tensor([N, K]);
  for (let n = 0; n < N; n++) y.data.set(W.data.subarray(D * K), n * K);
  return matmul(S, new Tensor([D, K], W.data.subarray(0, D * K)), y, true);
}

/** Fits an ESN's readout on x (N, T, F), y (N, K): the last states, then ridge regression. The reservoir is only read. */
export function fitEsn(res: Reservoir, x: Tensor, y: Tensor, beta: number): { W: Tensor; states: Tensor } {
  const states = reservoirStates(res, x).last;
  return { W: ridgeFit(states, y, beta), states };
}

/** The ESN's predictions for x (N, T, F) with readout W. */
export function esnPredict(res: Reservoir, W: Tensor, x: Tensor): Tensor {
  return readout(reservoirStates(res, x).last, W);
}

/**
 * The echo-state property, measured: two runs over the same input x (1, T, F) from
 * different initial states h0a, h0b (u,); returns ‖h_a(t) − h_b(t)‖ for t = 1..T.
 * It goes to 0 when the reservoir forgets its initial state.
 */
export function echoStateDistance(res: Reservoir, x: Tensor, h0a: Tensor, h0b: Tensor): number[] {
  const { T } = sequenceDims(x, "echoStateDistance");
  if (x.shape[0] !== 1) throw new Error(`echoStateDistance: expected one sequence (1, T, F), got ${shapeStr(x.shape)}`);
  const a = reservoirStates(res, x, { h0: h0a.reshape([1, res.u]), keepAll: true }).all as Tensor;
  const b = reservoirStates(res, x, { h0: h0b.reshape([1, res.u]), keepAll: true }).all as Tensor;
  const d: number[] = [];
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let j = 0; j < res.u; j++) {
      const e = a.data[t * res.u + j] - b.data[t * res.u + j];
      s += e * e;
    }
    d.push(Math.sqrt(s));
  }
  return d;
}
