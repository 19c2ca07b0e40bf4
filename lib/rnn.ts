/**
 * The SimpleRNN cell: one hidden layer with a recurrent weight, in the lecture's notation.
 *
 * Lecture (column vectors):
 *   z_h(t) = W_hx x(t) + W_hh h(t−1) + b_h,   h(t) = σ_h(z_h(t)).
 * Here the batch is a matrix of ROW vectors, x(t): (N, F), h(t): (N, u), and the
 * weights keep Keras's layout, kernel (F, u) and recurrent kernel (u, u), so
 *   z_h(t) = x(t)·Whx + h(t−1)·Whh + bh,   with Whx = W_hxᵀ and Whh = W_hhᵀ.
 * The output layer z_y(t) = W_yh h(t) + b_y is an ordinary Dense layer on top.
 *
 * σ_h is tanh (Keras's default), relu, sigmoid or linear.
 */
import { Tensor, matmul, matmulAtB, colSums, shapeStr, matmulABt, full, packAll } from "./matrix.ts";
import { type ActivationCache, activationForward, activationForwardBias, activationBackward } from "./activations.ts";
import { type Cell, type SequenceKernels, type SequenceBands, isZeroState } from "./bptt.ts";
import { type ChunkTask, type TaskKernels, runChunks } from "./threads.ts";
import { stepRows, stackDims, bandRows, restoreInputRows, sharedCopy } from "./bptt-sequence.ts";

export type RnnActivation = "tanh" | "relu" | "sigmoid" | "linear";
export const RNN_ACTIVATIONS: readonly RnnActivation[] = ["tanh", "relu", "sigmoid", "linear"];

export function checkRnnActivation(name: string, who: string): RnnActivation {
  if (!(RNN_ACTIVATIONS as readonly string[]).includes(name)) throw new Error(`${who}: activation '${name}' is not supported; expected one of ${RNN_ACTIVATIONS.join(", ")}`);
  return name as RnnActivation;
}

/** Whx: (F, u) = W_hxᵀ (Keras's kernel), Whh: (u, u) = W_hhᵀ (recurrent_kernel), bh: (u) (bias). */
export type RnnParams = { Whx: Tensor; Whh: Tensor; bh: Tensor };

export interface RnnStepCache {
  p: RnnParams;
  /** x(t): (N, F). */
  x: Tensor;
  /** h(t−1): (N, u). */
  hPrev: Tensor;
  /** z_h(t) and h(t) = σ_h(z_h(t)). */
  act: ActivationCache;
}

function checkStep(p: RnnParams, x: Tensor, hPrev: Tensor): { F: number; u: number } {
  const [F, u] = p.Whx.shape;
  const who = `SimpleRNN(${u})`;
  if (p.Whh.rank !== 2 || p.Whh.shape[0] !== u || p.Whh.shape[1] !== u) throw new Error(`${who}: Whh has shape ${shapeStr(p.Whh.shape)}, expected (${u}, ${u})`);
  if (p.bh.size !== u) throw new Error(`${who}: bh has shape ${shapeStr(p.bh.shape)}, expected (${u},)`);
  if (x.rank !== 2 || x.shape[1] !== F) throw new Error(`${who}: x(t) has shape ${shapeStr(x.shape)}, expected (N, ${F})`);
  if (hPrev.rank !== 2 || hPrev.shape[0] !== x.shape[0] || hPrev.shape[1] !== u) throw new Error(`${who}: h(t−1) has shape ${shapeStr(hPrev.shape)}, expected (${x.shape[0]}, ${u})`);
  return { F, u };
}

/** One step forward. x: (N, F), hPrev: (N, u) → h: (N, u). */
export function rnnStepForward(p: RnnParams, x: Tensor, hPrev: Tensor, activation: RnnActivation = "tanh"): { h: Tensor; cache: RnnStepCache } {
  const { u } = checkStep(p, x, hPrev);
  // z_h(t) = W_hx x(t) + W_hh h(t−1) + b_h   (rows: x·Whx + hPrev·Whh + bh)
  const zh = matmul(x, p.Whx);
  if (!isZeroState(hPrev)) matmul(hPrev, p.Whh, zh, true); // h(0) = 0 adds nothing
  const z = zh.data, b = p.bh.data;
  for (let r = 0; r < z.length; r += u) for (let j = 0; j < u; j++) z[r + j] += b[j];
  // h(t) = σ_h(z_h(t))
  const { out: h, cache: act } = activationForward(activation, zh);
  return { h, cache: { p, x, hPrev, act } };
}

/**
 * One step backward. dh: ∂L/∂h(t) (N, u), all of it (from above and from step t+1).
 * Adds ∂L/∂Whx, ∂L/∂Whh, ∂L/∂bh of this step into `grads` (fresh zeros if omitted).
 * With needPrev = false, ∂L/∂h(t−1) is not computed (null).
 */
export function rnnStepBackward(dh: Tensor, cache: RnnStepCache, grads?: RnnParams, needPrev = true): { dx: Tensor; dhPrev: Tensor | null; grads: RnnParams } {
  const { p, x, hPrev, act } = cache;
  const g = grads ?? { Whx: new Tensor(p.Whx.shape), Whh: new Tensor(p.Whh.shape), bh: new Tensor(p.bh.shape) };
  // ∂L/∂z_h(t) = ∂L/∂h(t) ⊙ σ_h'(z_h(t))
  const dzh = activationBackward(dh, act);
  // ∂L/∂W_hx += ∂L/∂z_h(t) x(t)ᵀ,  ∂L/∂W_hh += ∂L/∂z_h(t) h(t−1)ᵀ,  ∂L/∂b_h += ∂L/∂z_h(t)   (transposed here)
  matmulAtB(x, dzh, g.Whx, true);
  if (!isZeroState(hPrev)) matmulAtB(hPrev, dzh, g.Whh, true);
  colSums(dzh, g.bh);
  // ∂L/∂x(t) = W_hxᵀ ∂L/∂z_h(t),  ∂L/∂h(t−1) = W_hhᵀ ∂L/∂z_h(t)
  const dx = matmulABt(dzh, p.Whx);
  const dhPrev = needPrev ? matmulABt(dzh, p.Whh) : null;
  return { dx, dhPrev, grads: g };
}

/**
 * The reference: the lecture's equation entry by entry, with W_hx(j, f) = Whx(f, j)
 * and W_hh(j, k) = Whh(k, j). Returns h(t) (N, u).
 */
export function rnnStepNaive(p: RnnParams, x: Tensor, hPrev: Tensor, activation: RnnActivation = "tanh"): Tensor {
  const { F, u } = checkStep(p, x, hPrev);
  const N = x.shape[0];
  const h = new Tensor([N, u]);
  const sigma = (z: number): number =>
    activation === "tanh" ? Math.tanh(z) : activation === "relu" ? Math.max(0, z) : activation === "sigmoid" ? 1 / (1 + Math.exp(-z)) : z;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < u; j++) {
      // z_h,j = Σ_f W_hx(j, f) x_f + Σ_k W_hh(j, k) h_k(t−1) + b_h,j
      let z = p.bh.data[j];
      for (let f = 0; f < F; f++) z += p.Whx.data[f * u + j] * x.data[n * F + f];
      for (let k = 0; k < u; k++) z += p.Whh.data[k * u + j] * hPrev.data[n * u + k];
      h.data[n * u + j] = sigma(z);
    }
  }
  return h;
}

// ---------------------------------------------------------------- the sequence-level fast path

/**
 * rnnStepForward and rnnStepBackward for bptt-sequence.ts: the same equations, with
 * x(t)·Whx given (one product over all steps before the loop) and the weight gradients
 * left to one product each after it; results go into the loop's buffers, not fresh tensors.
 * The forward step is bit-identical to rnnStepForward.
 */
function rnnSequenceKernels(activation: RnnActivation): SequenceKernels<RnnParams, RnnStepCache> {
  return {
    inputKey: "Whx",
    biasKey: "bh",
    separateRecurrentGrad: false,
    stepForward(p, x, zh, prev, next, ws) {
      checkStep(p, x, prev.h);
      // z_h(t) = [x(t)·Whx, given] + h(t−1)·Whh (+ bh below)
      ws.times(prev.h, p.Whh, zh, true); // skipped at t = 1 from the default h(0) = 0 (StepWorkspace.times)
      // h(t) = σ_h(z_h(t) + bh), written straight into h(t)'s block of the stack (one pass, no copy)
      const act = activationForwardBias(activation, zh, p.bh, next.h);
      return { p, x, hPrev: prev.h, act };
    },
    stepBackward(dState, cache, dzh, _same, dPrev, ws) {
      // ∂L/∂z_h(t) = ∂L/∂h(t) ⊙ σ_h'(z_h(t))
      activationBackward(dState.h, cache.act, dzh);
      // ∂L/∂h(t−1) = W_hhᵀ ∂L/∂z_h(t)
      if (dPrev) ws.timesTransposed(dzh, cache.p.Whh, dPrev.h);
    },
    biasGrad: (dZ, _same, gb) => void colSums(dZ, gb),
    ...(activation === "tanh" ? { bands: rnnBands } : {}),
  };
}

// ---------------------------------------------------------------- the same loops on two threads, by rows of the batch

/**
 * The forward loop of the fast path (bpttForwardSequence's loop over rnnSequenceKernels("tanh")'s stepForward) for
 * chunk i of the batch's rows only: rows n0 ≤ n < n1, n0 = i·size. The stacks as in bptt-sequence.ts: Z = x(t)·Whx
 * (T·N, u), step t's block T − 1 − t gaining h(t−1)·Whh; H ((T+1)·N, u) with h(s) in block T − s. s = [Z, H, Whh
 * packed by packAll, bh]; v = [N, T, u, size, skipFirst (h(0) = 0 by default: skip h(0)·Whh)]. Math.tanh gives the
 * bits of activationForwardBias's tanhArray. It names nothing outside itself but Math (the product kernels come in
 * as `k`): a helper thread compiles this very source (runChunks, threads.ts).
 */
function rnnBandForward(i: number, s: Float64Array[], v: number[], k: TaskKernels): void {
  const [Z, H, Wp, bh] = s;
  const [N, T, u, size, skipFirst] = v;
  const n0 = i * size, n1 = Math.min(N, n0 + size), rows = n1 - n0;
  const band = (S: Float64Array, block: number): Float64Array => S.subarray((block * N + n0) * u, (block * N + n1) * u);
  for (let t = 0; t < T; t++) {
    const z = band(Z, T - 1 - t), h = band(H, T - 1 - t);
    // z_h(t) = [x(t)·Whx, given] + h(t−1)·Whh
    if (!(skipFirst === 1 && t === 0)) k.gemmPrepacked(band(H, T - t), u, 1, Wp, z, u, u, u, 0, rows, true);
    // h(t) = tanh(z_h(t) + bh)
    for (let n = 0; n < rows; n++) for (let j = 0; j < u; j++) h[n * u + j] = Math.tanh(z[n * u + j] + bh[j]);
  }
}

/**
 * The backward loop of the fast path (bpttBackwardSequence's loop over rnnSequenceKernels("tanh")'s stepBackward) for
 * chunk i of the batch's rows: fills the band's rows of the stacked dz (T·N, u), block T − 1 − t for step t.
 * s = [dZ, H, Whhᵀ packed by packAll, D0, D1 (N, u): ∂L/∂h, two buffers swapped each step as in the loop,
 * dhT (N, u), dhs (N, T, u)]; v = [N, T, u, size, truncate (0: none), initialStateGrad, has dhT, has dhs].
 * Self-contained like rnnBandForward.
 */
function rnnBandBackward(i: number, s: Float64Array[], v: number[], k: TaskKernels): void {
  const [dZ, H, WTp, D0, D1, dhT, dhs] = s;
  const [N, T, u, size, truncate, initialStateGrad, hasDhT, hasDhs] = v;
  const n0 = i * size, n1 = Math.min(N, n0 + size), rows = n1 - n0;
  const band = (S: Float64Array, block: number): Float64Array => S.subarray((block * N + n0) * u, (block * N + n1) * u);
  let dh = band(D0, 0), dhPrev = band(D1, 0);
  if (hasDhT === 1) dh.set(band(dhT, 0));
  else dh.fill(0);
  for (let t = T - 1; t >= 0; t--) {
    // ∂L/∂h(t) = from above at this step + carried back from step t+1
    if (hasDhs === 1) for (let n = 0; n < rows; n++) for (let j = 0; j < u; j++) dh[n * u + j] += dhs[((n0 + n) * T + t) * u + j];
    // ∂L/∂z_h(t) = ∂L/∂h(t) ⊙ (1 − h(t)²)
    const dz = band(dZ, T - 1 - t), h = band(H, T - 1 - t);
    for (let q = 0; q < rows * u; q++) dz[q] = dh[q] * (1 - h[q] * h[q]);
    if (!(t > 0 || initialStateGrad === 1)) break;
    // ∂L/∂h(t−1) = ∂L/∂z_h(t)·Whhᵀ
    k.gemmPrepacked(dz, u, 1, WTp, dhPrev, u, u, u, 0, rows, false);
    [dh, dhPrev] = [dhPrev, dh];
    // truncation: the state entering a chunk is a constant of the truncated objective
    if (truncate > 0 && t > 0 && t % truncate === 0) dh.fill(0);
  }
}

const forwardTask: ChunkTask = { name: "rnnBandForward", run: rnnBandForward, uses: [] };
const backwardTask: ChunkTask = { name: "rnnBandBackward", run: rnnBandBackward, uses: [] };

/** The tanh SimpleRNN's loops on bands of rows (SequenceBands, bptt.ts): bit-identical to rnnSequenceKernels("tanh")'s loops. */
const rnnBands: SequenceBands<RnnParams, RnnStepCache> = {
  forward(p, s, arrays) {
    const { N, T, u } = stackDims(s);
    const size = bandRows(N, T, u, u);
    if (size === 0) return null;
    checkStep(p, stepRows(s.X, 0, N), stepRows(s.H, T, N));
    // Whh, packed once for all the steps' products, and bh, where the helper can read them
    const Wp = arrays.take("band Whh packed", u, u), bh = arrays.take("band bh", 1, u);
    packAll(p.Whh.data, u, 1, u, u, Wp.data);
    bh.data.set(p.bh.data);
    const stacks = [s.XW.data, s.H.data, Wp.data, bh.data], v = [N, T, u, size, s.zeroStart ? 1 : 0];
    const done = runChunks(forwardTask, stacks, v, Math.ceil(N / size), T * N * u * u, (i, kernels, pack) => {
      // the helper failed midway: x(t)·Whx back on the chunk's rows (some have gained h(t−1)·Whh), then the chunk here
      restoreInputRows(s, p.Whx, i * size, Math.min(N, (i + 1) * size) - i * size, kernels, pack);
      rnnBandForward(i, stacks, v, kernels);
    });
    if (!done) return null;
    // the caches the loop would have made, over the same blocks
    const stack = new Array<RnnStepCache>(T);
    for (let t = 0; t < T; t++) stack[t] = { p, x: stepRows(s.X, T - 1 - t, N), hPrev: stepRows(s.H, T - t, N), act: { name: "tanh", a: stepRows(s.H, T - 1 - t, N) } };
    return stack;
  },
  backward(p, s, dZ, o, arrays) {
    const { N, T, u } = stackDims(s);
    const size = bandRows(N, T, u, u);
    if (size === 0) return null;
    // Whhᵀ packed once for all the steps' products, the two ∂L/∂h buffers and the starting gradients, where the helper can read them
    const WTp = arrays.take("band Whh transposed packed", u, u);
    packAll(p.Whh.data, 1, u, u, u, WTp.data);
    const D = [arrays.take("band dh", N, u), arrays.take("band dhPrev", N, u)];
    const stacks = [dZ.data, s.H.data, WTp.data, D[0].data, D[1].data, sharedCopy(arrays, "band dhT", o.dhT, N, u), sharedCopy(arrays, "band dhs", o.dhs, N * T, u)];
    const v = [N, T, u, size, o.truncate ?? 0, o.initialStateGrad ? 1 : 0, o.dhT ? 1 : 0, o.dhs ? 1 : 0];
    const done = runChunks(backwardTask, stacks, v, Math.ceil(N / size), T * N * u * u, (i, kernels) =>
      // the helper failed midway: the chunk's inputs are intact (it starts from dhT), so it runs again here
      rnnBandBackward(i, stacks, v, kernels),
    );
    if (!done) return null;
    // after T steps, each swapping the pair: ∂L/∂h(0) is in the buffer of T's parity
    return { dh: o.initialStateGrad ? D[T % 2].clone() : null, dc: null };
  },
};

/** The SimpleRNN as a cell for the BPTT loop. */
export function simpleRnnCell(activation: RnnActivation = "tanh"): Cell<RnnParams, RnnStepCache> {
  checkRnnActivation(activation, "simpleRnnCell");
  return {
    kind: "SimpleRNN",
    hasCellState: false,
    recurrentKey: "Whh",
    dims: (p) => ({ F: p.Whx.shape[0], units: p.Whx.shape[1] }),
    stepForward(p, x, prev) {
      const { h, cache } = rnnStepForward(p, x, prev.h, activation);
      return { state: { h }, cache };
    },
    stepBackward(dState, cache, grads, needPrev = true) {
      const { dx, dhPrev } = rnnStepBackward(dState.h, cache, grads, needPrev);
      return { dx, dPrev: dhPrev ? { h: dhPrev } : null };
    },
    sequence: rnnSequenceKernels(activation),
    stepJacobian(cache, row) {
      // ∂h_j(t)/∂h_k(t−1) = σ_h'(z_j(t)) W_hh(j, k) = σ_h'(z_j(t)) Whh(k, j)
      const [N, u] = cache.act.a.shape;
      if (!(Number.isInteger(row) && row >= 0 && row < N)) throw new Error(`SimpleRNN(${u}) stepJacobian: row ${row} is outside 0..${N - 1}`);
      // σ_h'(z_h(t)) of this row only: the activation's backward pass on a (1, u) view of the row, with da = 1
      const a = new Tensor([1, u], cache.act.a.data.subarray(row * u, (row + 1) * u));
      const dsigma = activationBackward(full([1, u], 1), { ...cache.act, a }).data;
      const J = new Tensor([u, u]), Jd = J.data, w = cache.p.Whh.data;
      for (let j = 0; j < u; j++) {
        const s = dsigma[j], r = j * u;
        for (let k = 0; k < u; k++) Jd[r + k] = s * w[k * u + j];
      }
      return J;
    },
  };
}
