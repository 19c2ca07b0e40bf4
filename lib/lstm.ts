/**
 * The LSTM cell, with Keras's weight layout and gate order i, f, c, o.
 *
 *   i = σ(x W_i + h(t−1) U_i + b_i)        input gate
 *   f = σ(x W_f + h(t−1) U_f + b_f)        forget gate
 *   g = tanh(x W_c + h(t−1) U_c + b_c)     candidate cell state
 *   o = σ(x W_o + h(t−1) U_o + b_o)        output gate
 *   c(t) = f ⊙ c(t−1) + i ⊙ g
 *   h(t) = o ⊙ tanh(c(t))
 *
 * The four gates are packed side by side: kernel W (F, 4u), recurrent kernel
 * U (u, 4u), bias b (4u), columns [i | f | c | o]. One step is then one x·W and
 * one h·U product for all four gates together (the fast path); `lstmStepNaive`
 * computes each gate on its own, entry by entry.
 *
 * Keras's unit_forget_bias (on by default) starts b_f at 1, so the cell
 * remembers by default; that is done where the layer initialises its weights.
 */
import { Tensor, matmul, matmulAtB, colSums, shapeStr, matmulABt, packAll } from "./matrix.ts";
import { type ChunkTask, type TaskKernels, runChunks } from "./threads.ts";
import { stepRows, stackDims, bandRows, restoreInputRows, sharedCopy } from "./bptt-sequence.ts";
import { type Cell, type SequenceKernels, type SequenceBands, type SequenceStack, type CellState, isZeroState } from "./bptt.ts";

/** W: (F, 4u) kernel, U: (u, 4u) recurrent kernel, b: (4u) bias; gates packed i, f, c, o. */
export type LstmParams = { W: Tensor; U: Tensor; b: Tensor };

export interface LstmStepCache {
  p: LstmParams;
  /** x(t): (N, F). */
  x: Tensor;
  /** h(t−1), c(t−1): (N, u). */
  hPrev: Tensor;
  cPrev: Tensor;
  /** The gate activations packed [i | f | g | o]: (N, 4u). */
  gates: Tensor;
  /** tanh(c(t)): (N, u). */
  tanhC: Tensor;
}

function checkStep(p: LstmParams, x: Tensor, hPrev: Tensor, cPrev: Tensor): { F: number; u: number } {
  const F = p.W.shape[0], u = p.W.shape[1] / 4;
  const who = `LSTM(${u})`;
  if (p.W.rank !== 2 || !Number.isInteger(u)) throw new Error(`LSTM: kernel W has shape ${shapeStr(p.W.shape)}, expected (F, 4·units)`);
  if (p.U.rank !== 2 || p.U.shape[0] !== u || p.U.shape[1] !== 4 * u) throw new Error(`${who}: recurrent kernel U has shape ${shapeStr(p.U.shape)}, expected (${u}, ${4 * u})`);
  if (p.b.size !== 4 * u) throw new Error(`${who}: bias b has shape ${shapeStr(p.b.shape)}, expected (${4 * u},)`);
  if (x.rank !== 2 || x.shape[1] !== F) throw new Error(`${who}: x(t) has shape ${shapeStr(x.shape)}, expected (N, ${F})`);
  const N = x.shape[0];
  if (hPrev.rank !== 2 || hPrev.shape[0] !== N || hPrev.shape[1] !== u) throw new Error(`${who}: h(t−1) has shape ${shapeStr(hPrev.shape)}, expected (${N}, ${u})`);
  if (cPrev.rank !== 2 || cPrev.shape[0] !== N || cPrev.shape[1] !== u) throw new Error(`${who}: c(t−1) has shape ${shapeStr(cPrev.shape)}, expected (${N}, ${u})`);
  return { F, u };
}

/** One step forward. x: (N, F), hPrev, cPrev: (N, u) → h, c: (N, u). */
export function lstmStepForward(p: LstmParams, x: Tensor, hPrev: Tensor, cPrev: Tensor): { h: Tensor; c: Tensor; cache: LstmStepCache } {
  const { u } = checkStep(p, x, hPrev, cPrev);
  const N = x.shape[0];
  // z = x W + h(t−1) U (+ b below) for all four gates at once: (N, 4u)
  const gates = matmul(x, p.W);
  if (!isZeroState(hPrev)) matmul(hPrev, p.U, gates, true); // h(0) = 0 adds nothing
  const h = new Tensor([N, u]), c = new Tensor([N, u]), tanhC = new Tensor([N, u]);
  lstmGates(gates.data, p.b.data, cPrev.data, h.data, c.data, tanhC.data, N, u);
  return { h, c, cache: { p, x, hPrev, cPrev, gates, tanhC } };
}

/**
 * The step's gate equations for `rows` rows of the batch. z: x W + h(t−1) U (rows, 4u), overwritten by
 * [i | f | g | o]; b: the bias (4u); cPrev: c(t−1) (rows, u); writes c(t), tanh c(t), h(t) (rows, u).
 * It names nothing outside itself but Math, so that a helper thread runs this very code (lstmBandForward).
 */
function lstmGates(z: Float64Array, b: Float64Array, cPrev: Float64Array, h: Float64Array, c: Float64Array, tanhC: Float64Array, rows: number, u: number): void {
  const u4 = 4 * u;
  for (let n = 0; n < rows; n++) {
    const r = n * u4;
    for (let j = 0; j < u; j++) {
      // i, f, o = σ(z + b) with σ(v) = 1 / (1 + e^−v),  g = tanh(z + b)
      const i = 1 / (1 + Math.exp(-(z[r + j] + b[j])));
      const f = 1 / (1 + Math.exp(-(z[r + u + j] + b[u + j])));
      const g = Math.tanh(z[r + 2 * u + j] + b[2 * u + j]);
      const o = 1 / (1 + Math.exp(-(z[r + 3 * u + j] + b[3 * u + j])));
      z[r + j] = i; z[r + u + j] = f; z[r + 2 * u + j] = g; z[r + 3 * u + j] = o;
      // c(t) = f ⊙ c(t−1) + i ⊙ g,  h(t) = o ⊙ tanh(c(t))
      const k = n * u + j;
      const cc = f * cPrev[k] + i * g;
      const tc = Math.tanh(cc);
      c[k] = cc;
      tanhC[k] = tc;
      h[k] = o * tc;
    }
  }
}

/**
 * One step backward. dh, dc: ∂L/∂h(t) and ∂L/∂c(t) reaching step t (N, u).
 * Adds this step's ∂L/∂W, ∂L/∂U, ∂L/∂b into `grads` (fresh zeros if omitted).
 * With needPrev = false, ∂L/∂h(t−1) is not computed (null).
 */
export function lstmStepBackward(dh: Tensor, dc: Tensor, cache: LstmStepCache, grads?: LstmParams, needPrev = true): { dx: Tensor; dhPrev: Tensor | null; dcPrev: Tensor; grads: LstmParams } {
  const { p, x, hPrev } = cache;
  const [N, u] = hPrev.shape;
  if (dh.size !== N * u || dc.size !== N * u) throw new Error(`LSTM(${u}) backward: dh ${shapeStr(dh.shape)} and dc ${shapeStr(dc.shape)} must be (${N}, ${u})`);
  const g = grads ?? { W: new Tensor(p.W.shape), U: new Tensor(p.U.shape), b: new Tensor(p.b.shape) };
  const dz = new Tensor([N, 4 * u]), dcPrev = new Tensor([N, u]);
  lstmGatesBackward(dh.data, dc.data, cache.gates.data, cache.tanhC.data, cache.cPrev.data, dz.data, dcPrev.data, N, u);
  // ∂L/∂W += xᵀ dz,  ∂L/∂U += h(t−1)ᵀ dz,  ∂L/∂b += Σ_n dz
  matmulAtB(x, dz, g.W, true);
  if (!isZeroState(hPrev)) matmulAtB(hPrev, dz, g.U, true);
  colSums(dz, g.b);
  // ∂L/∂x(t) = dz Wᵀ,  ∂L/∂h(t−1) = dz Uᵀ
  const dx = matmulABt(dz, p.W);
  const dhPrev = needPrev ? matmulABt(dz, p.U) : null;
  return { dx, dhPrev, dcPrev, grads: g };
}

/**
 * The gate equations backward for `rows` rows of the batch: from dh, dc (rows, u) reaching step t and the step's
 * gates [i | f | g | o] (rows, 4u), tanh c(t) and c(t−1) (rows, u), writes dz = ∂L/∂z (rows, 4u) and ∂L/∂c(t−1)
 * (unless dcPrev is null). It names nothing outside itself, so that a helper thread runs this very code (lstmBandBackward).
 */
function lstmGatesBackward(dh: Float64Array, dc: Float64Array, gates: Float64Array, tanhC: Float64Array, cPrev: Float64Array, dz: Float64Array, dcPrev: Float64Array | null, rows: number, u: number): void {
  const u4 = 4 * u, a = gates;
  for (let n = 0; n < rows; n++) {
    const r = n * u4;
    for (let j = 0; j < u; j++) {
      const k = n * u + j;
      const i = a[r + j], f = a[r + u + j], gg = a[r + 2 * u + j], o = a[r + 3 * u + j], tc = tanhC[k];
      // ∂L/∂c(t) = dcNext + dh ⊙ o ⊙ (1 − tanh²c(t))
      const dct = dc[k] + dh[k] * o * (1 - tc * tc);
      // ∂L/∂o = dh ⊙ tanh c(t),  ∂L/∂i = dc ⊙ g,  ∂L/∂f = dc ⊙ c(t−1),  ∂L/∂g = dc ⊙ i
      const dO = dh[k] * tc, dI = dct * gg, dF = dct * cPrev[k], dG = dct * i;
      // ∂L/∂c(t−1) = dc ⊙ f
      if (dcPrev) dcPrev[k] = dct * f;
      // through the gate nonlinearities: σ' = σ(1 − σ), tanh' = 1 − tanh²
      dz[r + j] = dI * i * (1 - i);
      dz[r + u + j] = dF * f * (1 - f);
      dz[r + 2 * u + j] = dG * (1 - gg * gg);
      dz[r + 3 * u + j] = dO * o * (1 - o);
    }
  }
}

/** The reference: each gate on its own, entry by entry, in the equations above. Returns h(t), c(t). */
export function lstmStepNaive(p: LstmParams, x: Tensor, hPrev: Tensor, cPrev: Tensor): { h: Tensor; c: Tensor } {
  const { F, u } = checkStep(p, x, hPrev, cPrev);
  const N = x.shape[0], u4 = 4 * u;
  const h = new Tensor([N, u]), c = new Tensor([N, u]);
  // gate q ∈ {0: i, 1: f, 2: c, 3: o}, unit j: x W_q + h U_q + b_q
  const pre = (n: number, q: number, j: number): number => {
    const col = q * u + j;
    let s = p.b.data[col];
    for (let m = 0; m < F; m++) s += x.data[n * F + m] * p.W.data[m * u4 + col];
    for (let m = 0; m < u; m++) s += hPrev.data[n * u + m] * p.U.data[m * u4 + col];
    return s;
  };
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < u; j++) {
      const i = sig(pre(n, 0, j)), f = sig(pre(n, 1, j)), g = Math.tanh(pre(n, 2, j)), o = sig(pre(n, 3, j));
      const cc = f * cPrev.data[n * u + j] + i * g;
      c.data[n * u + j] = cc;
      h.data[n * u + j] = o * Math.tanh(cc);
    }
  }
  return { h, c };
}

// ---------------------------------------------------------------- the sequence-level fast path

/**
 * lstmStepForward and lstmStepBackward for bptt-sequence.ts: the same gate equations, with
 * x(t)·W given (one product over all steps before the loop) and the weight gradients left
 * to one product each after it; results go into the loop's buffers, not fresh tensors.
 * The forward step is bit-identical to lstmStepForward.
 */
function lstmSequenceKernels(): SequenceKernels<LstmParams, LstmStepCache> {
  return {
    inputKey: "W",
    biasKey: "b",
    separateRecurrentGrad: false,
    stepForward(p, x, xw, prev, next, ws) {
      const cPrev = prev.c as Tensor;
      const { u } = checkStep(p, x, prev.h, cPrev);
      // z = [x W, given] + h(t−1) U: only the recurrent product is left in the loop
      ws.times(prev.h, p.U, xw, true); // skipped at t = 1 from the default h(0) = 0 (StepWorkspace.times)
      const tanhC = ws.block("tanhC", u);
      lstmGates(xw.data, p.b.data, cPrev.data, next.h.data, (next.c as Tensor).data, tanhC.data, x.shape[0], u);
      return { p, x, hPrev: prev.h, cPrev, gates: xw, tanhC };
    },
    stepBackward(dState: CellState, cache, dz, _same, dPrev, ws) {
      const [N, u] = cache.cPrev.shape;
      lstmGatesBackward(dState.h.data, (dState.c as Tensor).data, cache.gates.data, cache.tanhC.data, cache.cPrev.data, dz.data, dPrev ? (dPrev.c as Tensor).data : null, N, u);
      // ∂L/∂h(t−1) = dz Uᵀ
      if (dPrev) ws.timesTransposed(dz, cache.p.U, dPrev.h);
    },
    biasGrad: (dZ, _same, gb) => void colSums(dZ, gb),
    bands: lstmBands,
  };
}

// ---------------------------------------------------------------- the same loops on two threads, by rows of the batch

/**
 * The forward loop of the fast path (bpttForwardSequence's loop over lstmSequenceKernels' stepForward) for
 * chunk i of the batch's rows only: rows n0 ≤ n < n1, n0 = i·size. The stacks as in bptt-sequence.ts:
 * Z = x(t)·W (T·N, 4u), overwritten by the gates; H, C ((T+1)·N, u) with h(s), c(s) in block T − s;
 * TC (T·N, u) with tanh c(t) in block t; U packed by packAll, b. v = [N, T, u, size, skipFirst (h(0) = 0 by default:
 * skip h(0)·U)]. It names nothing outside this file but Math (the product kernels come in as `k`): a helper thread
 * compiles this very source (runChunks, threads.ts).
 */
function lstmBandForward(i: number, s: Float64Array[], v: number[], k: TaskKernels): void {
  const [Z, H, C, TC, Up, b] = s;
  const [N, T, u, size, skipFirst] = v;
  const n0 = i * size, n1 = Math.min(N, n0 + size), rows = n1 - n0, G = 4 * u;
  // the band's rows of one block of a stack `width` columns wide
  const band = (S: Float64Array, block: number, width: number): Float64Array => S.subarray((block * N + n0) * width, (block * N + n1) * width);
  for (let t = 0; t < T; t++) {
    const z = band(Z, T - 1 - t, G);
    // z = x W (given) + h(t−1) U
    if (!(skipFirst === 1 && t === 0)) k.gemmPrepacked(band(H, T - t, u), u, 1, Up, z, G, G, u, 0, rows, true);
    lstmGates(z, b, band(C, T - t, u), band(H, T - 1 - t, u), band(C, T - 1 - t, u), band(TC, t, u), rows, u);
  }
}

/**
 * The backward loop of the fast path (bpttBackwardSequence's loop over lstmSequenceKernels' stepBackward) for
 * chunk i of the batch's rows: fills the band's rows of the stacked dz (T·N, 4u), block T − 1 − t for step t.
 * s = [dZ, Z (the gates), TC, C, Uᵀ (4u, u) packed by packAll, D0, D1, E0, E1 (N, u): ∂L/∂h and ∂L/∂c, two of each, swapped each
 * step as in the loop, dhT, dcT (N, u), dhs (N, T, u)]; v = [N, T, u, size, truncate (0: none),
 * initialStateGrad, has dhT, has dcT, has dhs]. Self-contained like lstmBandForward.
 */
function lstmBandBackward(i: number, s: Float64Array[], v: number[], k: TaskKernels): void {
  const [dZ, Z, TC, C, Utp, D0, D1, E0, E1, dhT, dcT, dhs] = s;
  const [N, T, u, size, truncate, initialStateGrad, hasDhT, hasDcT, hasDhs] = v;
  const n0 = i * size, n1 = Math.min(N, n0 + size), rows = n1 - n0, G = 4 * u;
  const band = (S: Float64Array, block: number, width: number): Float64Array => S.subarray((block * N + n0) * width, (block * N + n1) * width);
  let dh = band(D0, 0, u), dhPrev = band(D1, 0, u), dc = band(E0, 0, u), dcPrev = band(E1, 0, u);
  if (hasDhT === 1) dh.set(band(dhT, 0, u));
  else dh.fill(0);
  if (hasDcT === 1) dc.set(band(dcT, 0, u));
  else dc.fill(0);
  for (let t = T - 1; t >= 0; t--) {
    // ∂L/∂h(t) = from above at this step + carried back from step t+1
    if (hasDhs === 1) for (let n = 0; n < rows; n++) for (let j = 0; j < u; j++) dh[n * u + j] += dhs[((n0 + n) * T + t) * u + j];
    const needPrev = t > 0 || initialStateGrad === 1;
    const dz = band(dZ, T - 1 - t, G);
    lstmGatesBackward(dh, dc, band(Z, T - 1 - t, G), band(TC, t, u), band(C, T - t, u), dz, needPrev ? dcPrev : null, rows, u);
    if (!needPrev) break;
    // ∂L/∂h(t−1) = dz Uᵀ
    k.gemmPrepacked(dz, G, 1, Utp, dhPrev, u, u, G, 0, rows, false);
    [dh, dhPrev] = [dhPrev, dh];
    [dc, dcPrev] = [dcPrev, dc];
    // truncation: the state entering a chunk is a constant of the truncated objective
    if (truncate > 0 && t > 0 && t % truncate === 0) {
      dh.fill(0);
      dc.fill(0);
    }
  }
}

const forwardTask: ChunkTask = { name: "lstmBandForward", run: lstmBandForward, uses: [lstmGates] };
const backwardTask: ChunkTask = { name: "lstmBandBackward", run: lstmBandBackward, uses: [lstmGatesBackward] };

/** The LSTM's loops on bands of rows (SequenceBands, bptt.ts): bit-identical to lstmSequenceKernels' loops. */
const lstmBands: SequenceBands<LstmParams, LstmStepCache> = {
  forward(p, s, arrays) {
    const { N, T, u } = stackDims(s), G = 4 * u;
    const size = bandRows(N, T, u, G);
    if (size === 0) return null;
    const C = s.C as Tensor, TC = s.stack("tanhC", u);
    checkStep(p, stepRows(s.X, 0, N), stepRows(s.H, T, N), stepRows(C, T, N));
    // U, packed once for all the steps' products, and b, where the helper can read them
    const Up = arrays.take("band U packed", u, G), b = arrays.take("band b", 1, G);
    packAll(p.U.data, G, 1, u, G, Up.data);
    b.data.set(p.b.data);
    const stacks = [s.XW.data, s.H.data, C.data, TC.data, Up.data, b.data], v = [N, T, u, size, s.zeroStart ? 1 : 0];
    const done = runChunks(forwardTask, stacks, v, Math.ceil(N / size), T * N * u * G, (i, kernels, pack) => {
      // the helper failed midway: x(t)·W back on the chunk's rows (the gates overwrote some), then the chunk here
      restoreInputRows(s, p.W, i * size, Math.min(N, (i + 1) * size) - i * size, kernels, pack);
      lstmBandForward(i, stacks, v, kernels);
    });
    if (!done) return null;
    // the caches the loop would have made, over the same blocks
    const stack = new Array<LstmStepCache>(T);
    for (let t = 0; t < T; t++) {
      stack[t] = { p, x: stepRows(s.X, T - 1 - t, N), hPrev: stepRows(s.H, T - t, N), cPrev: stepRows(C, T - t, N), gates: stepRows(s.XW, T - 1 - t, N), tanhC: stepRows(TC, t, N) };
    }
    return stack;
  },
  backward(p, s, dZ, o, arrays) {
    const { N, T, u } = stackDims(s), G = 4 * u;
    const size = bandRows(N, T, u, G);
    if (size === 0) return null;
    // Uᵀ (4u, u) packed once for all the steps' products, the four ∂L/∂h, ∂L/∂c buffers and the starting gradients, where the helper can read them
    const Utp = arrays.take("band Ut packed", G, u);
    packAll(p.U.data, 1, G, G, u, Utp.data);
    const D = ["dh", "dhPrev", "dc", "dcPrev"].map((name) => arrays.take(`band ${name}`, N, u));
    const stacks = [dZ.data, s.XW.data, s.stack("tanhC", u).data, (s.C as Tensor).data, Utp.data, ...D.map((d) => d.data),
      sharedCopy(arrays, "band dhT", o.dhT, N, u), sharedCopy(arrays, "band dcT", o.dcT, N, u), sharedCopy(arrays, "band dhs", o.dhs, N * T, u)];
    const v = [N, T, u, size, o.truncate ?? 0, o.initialStateGrad ? 1 : 0, o.dhT ? 1 : 0, o.dcT ? 1 : 0, o.dhs ? 1 : 0];
    const done = runChunks(backwardTask, stacks, v, Math.ceil(N / size), T * N * u * G, (i, kernels) =>
      // the helper failed midway: the chunk's inputs are intact (it starts from dhT, dcT), so it runs again here
      lstmBandBackward(i, stacks, v, kernels),
    );
    if (!done) return null;
    if (!o.initialStateGrad) return { dh: null, dc: null };
    // after T steps, each swapping the pairs: ∂L/∂h(0) and ∂L/∂c(0) are in the buffers of T's parity
    const last = T % 2;
    return { dh: D[last].clone(), dc: D[2 + last].clone() };
  },
};

/** The LSTM as a cell for the BPTT loop; its state is (h, c). */
export function lstmCell(): Cell<LstmParams, LstmStepCache> {
  return {
    kind: "LSTM",
    hasCellState: true,
    recurrentKey: "U",
    dims: (p) => ({ F: p.W.shape[0], units: p.W.shape[1] / 4 }),
    stepForward(p, x, prev) {
      if (!prev.c) throw new Error(`LSTM: the state has no cell state c(t−1)`);
      const { h, c, cache } = lstmStepForward(p, x, prev.h, prev.c);
      return { state: { h, c }, cache };
    },
    stepBackward(dState, cache, grads, needPrev = true) {
      const dc = dState.c ?? new Tensor(dState.h.shape);
      const { dx, dhPrev, dcPrev } = lstmStepBackward(dState.h, dc, cache, grads, needPrev);
      return { dx, dPrev: dhPrev ? { h: dhPrev, c: dcPrev } : null };
    },
    sequence: lstmSequenceKernels(),
  };
}
