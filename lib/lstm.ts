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
import { Tensor, matmul, matmulAtB, colSums, shapeStr, matmulABt } from "./matrix.ts";
import { sigmoid } from "./activations.ts";
import { type Cell, type SequenceKernels, type CellState, isZeroState } from "./bptt.ts";

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
  lstmGates(gates, p.b, cPrev, h, c, tanhC);
  return { h, c, cache: { p, x, hPrev, cPrev, gates, tanhC } };
}

/** The step's gate equations. gates: z = x W + h(t−1) U (N, 4u), overwritten by [i | f | g | o]; writes c(t), tanh c(t), h(t). */
function lstmGates(gates: Tensor, bias: Tensor, cPrev: Tensor, h: Tensor, c: Tensor, tanhC: Tensor): void {
  const [N, u] = h.shape, u4 = 4 * u;
  const a = gates.data, b = bias.data, hd = h.data, cd = c.data, td = tanhC.data, cp = cPrev.data;
  for (let n = 0; n < N; n++) {
    const r = n * u4;
    for (let j = 0; j < u; j++) {
      // i, f, o = σ(z + b), g = tanh(z + b)
      const i = sigmoid(a[r + j] + b[j]);
      const f = sigmoid(a[r + u + j] + b[u + j]);
      const g = Math.tanh(a[r + 2 * u + j] + b[2 * u + j]);
      const o = sigmoid(a[r + 3 * u + j] + b[3 * u + j]);
      a[r + j] = i; a[r + u + j] = f; a[r + 2 * u + j] = g; a[r + 3 * u + j] = o;
      // c(t) = f ⊙ c(t−1) + i ⊙ g,  h(t) = o ⊙ tanh(c(t))
      const k = n * u + j;
      const cc = f * cp[k] + i * g;
      const tc = Math.tanh(cc);
      cd[k] = cc;
      td[k] = tc;
      hd[k] = o * tc;
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
  lstmGatesBackward(dh, dc, cache, dz, dcPrev);
  // ∂L/∂W += xᵀ dz,  ∂L/∂U += h(t−1)ᵀ dz,  ∂L/∂b += Σ_n dz
  matmulAtB(x, dz, g.W, true);
  if (!isZeroState(hPrev)) matmulAtB(hPrev, dz, g.U, true);
  colSums(dz, g.b);
  // ∂L/∂x(t) = dz Wᵀ,  ∂L/∂h(t−1) = dz Uᵀ
  const dx = matmulABt(dz, p.W);
  const dhPrev = needPrev ? matmulABt(dz, p.U) : null;
  return { dx, dhPrev, dcPrev, grads: g };
}

/** The gate equations backward: writes dz = ∂L/∂z (N, 4u) and ∂L/∂c(t−1) (unless dcPrev is null). */
function lstmGatesBackward(dh: Tensor, dc: Tensor, cache: LstmStepCache, dz: Tensor, dcPrev: Tensor | null): void {
  const { cPrev, gates, tanhC } = cache;
  const [N, u] = cPrev.shape, u4 = 4 * u;
  const a = gates.data, z = dz.data, td = tanhC.data, cp = cPrev.data, dhd = dh.data, dcd = dc.data, dcp = dcPrev?.data;
  for (let n = 0; n < N; n++) {
    const r = n * u4;
    for (let j = 0; j < u; j++) {
      const k = n * u + j;
      const i = a[r + j], f = a[r + u + j], gg = a[r + 2 * u + j], o = a[r + 3 * u + j], tc = td[k];
      // ∂L/∂c(t) = dcNext + dh ⊙ o ⊙ (1 − tanh²c(t))
      const dct = dcd[k] + dhd[k] * o * (1 - tc * tc);
      // ∂L/∂o = dh ⊙ tanh c(t),  ∂L/∂i = dc ⊙ g,  ∂L/∂f = dc ⊙ c(t−1),  ∂L/∂g = dc ⊙ i
      const dO = dhd[k] * tc, dI = dct * gg, dF = dct * cp[k], dG = dct * i;
      // ∂L/∂c(t−1) = dc ⊙ f
      if (dcp) dcp[k] = dct * f;
      // through the gate nonlinearities: σ' = σ(1 − σ), tanh' = 1 − tanh²
      z[r + j] = dI * i * (1 - i);
      z[r + u + j] = dF * f * (1 - f);
      z[r + 2 * u + j] = dG * (1 - gg * gg);
      z[r + 3 * u + j] = dO * o * (1 - o);
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
      lstmGates(xw, p.b, cPrev, next.h, next.c as Tensor, tanhC);
      return { p, x, hPrev: prev.h, cPrev, gates: xw, tanhC };
    },
    stepBackward(dState: CellState, cache, dz, _same, dPrev, ws) {
      lstmGatesBackward(dState.h, dState.c as Tensor, cache, dz, dPrev ? (dPrev.c as Tensor) : null);
      // ∂L/∂h(t−1) = dz Uᵀ
      if (dPrev) ws.timesTransposed(dz, cache.p.U, dPrev.h);
    },
    biasGrad: (dZ, _same, gb) => void colSums(dZ, gb),
  };
}

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
