/**
 * The GRU cell as TensorFlow 2 defines it by default (reset_after = True).
 *
 *   z = σ(x W_z + b_z + h(t−1) U_z + b′_z)              update gate
 *   r = σ(x W_r + b_r + h(t−1) U_r + b′_r)              reset gate
 *   ĥ = tanh(x W_h + b_h + r ⊙ (h(t−1) U_h + b′_h))     candidate (the reset acts after the product)
 *   h(t) = z ⊙ h(t−1) + (1 − z) ⊙ ĥ
 *
 * Keras's layout: kernel W (F, 3u) and recurrent kernel U (u, 3u), columns
 * [z | r | h]; the bias b is (2, 3u), row 0 the input bias b, row 1 the
 * recurrent bias b′. One step is one x·W and one h·U product for all three gates.
 */
import { Tensor, matmul, matmulAtB, shapeStr, matmulABt } from "./matrix.ts";
import { sigmoid } from "./activations.ts";
import { type Cell, type SequenceKernels, isZeroState } from "./bptt.ts";

/** W: (F, 3u), U: (u, 3u), b: (2, 3u) = [input bias; recurrent bias]; gates packed z, r, h. */
export type GruParams = { W: Tensor; U: Tensor; b: Tensor };

export interface GruStepCache {
  p: GruParams;
  /** x(t): (N, F). */
  x: Tensor;
  /** h(t−1): (N, u). */
  hPrev: Tensor;
  /** The activations packed [z | r | ĥ]: (N, 3u). */
  gates: Tensor;
  /** h(t−1) U_h + b′_h, the candidate's recurrent part before the reset: (N, u). */
  hUh: Tensor;
}

function checkStep(p: GruParams, x: Tensor, hPrev: Tensor): { F: number; u: number } {
  const F = p.W.shape[0], u = p.W.shape[1] / 3;
  const who = `GRU(${u})`;
  if (p.W.rank !== 2 || !Number.isInteger(u)) throw new Error(`GRU: kernel W has shape ${shapeStr(p.W.shape)}, expected (F, 3·units)`);
  if (p.U.rank !== 2 || p.U.shape[0] !== u || p.U.shape[1] !== 3 * u) throw new Error(`${who}: recurrent kernel U has shape ${shapeStr(p.U.shape)}, expected (${u}, ${3 * u})`);
  if (p.b.rank !== 2 || p.b.shape[0] !== 2 || p.b.shape[1] !== 3 * u) throw new Error(`${who}: bias b has shape ${shapeStr(p.b.shape)}, expected (2, ${3 * u})`);
  if (x.rank !== 2 || x.shape[1] !== F) throw new Error(`${who}: x(t) has shape ${shapeStr(x.shape)}, expected (N, ${F})`);
  if (hPrev.rank !== 2 || hPrev.shape[0] !== x.shape[0] || hPrev.shape[1] !== u) throw new Error(`${who}: h(t−1) has shape ${shapeStr(hPrev.shape)}, expected (${x.shape[0]}, ${u})`);
  return { F, u };
}

/** One step forward. x: (N, F), hPrev: (N, u) → h: (N, u). */
export function gruStepForward(p: GruParams, x: Tensor, hPrev: Tensor): { h: Tensor; cache: GruStepCache } {
  const { u } = checkStep(p, x, hPrev);
  const N = x.shape[0];
  const xw = matmul(x, p.W); // x W: (N, 3u)
  const hu = matmul(hPrev, p.U); // h(t−1) U: (N, 3u)
  const h = new Tensor([N, u]), hUh = new Tensor([N, u]);
  gruGates(xw, hu, p.b, hPrev, h, hUh);
  // xw now holds the activations [z | r | ĥ]
  return { h, cache: { p, x, hPrev, gates: xw, hUh } };
}

/** The step's gate equations. xw = x W and hu = h(t−1) U (N, 3u); xw is overwritten by [z | r | ĥ]; writes h(t) and h U_h + b′_h. */
function gruGates(xw: Tensor, hu: Tensor, bias: Tensor, hPrev: Tensor, h: Tensor, hUh: Tensor): void {
  const [N, u] = h.shape, u3 = 3 * u;
  const b = bias.data; // b at [0, 3u), b′ at [3u, 6u)
  const a = xw.data, r_ = hu.data, hp = hPrev.data, hd = h.data, hh = hUh.data;
  for (let n = 0; n < N; n++) {
    const q = n * u3;
    for (let j = 0; j < u; j++) {
      // z = σ(x W_z + b_z + h U_z + b′_z),  r = σ(x W_r + b_r + h U_r + b′_r)
      const z = sigmoid(a[q + j] + b[j] + r_[q + j] + b[u3 + j]);
      const r = sigmoid(a[q + u + j] + b[u + j] + r_[q + u + j] + b[u3 + u + j]);
      // ĥ = tanh(x W_h + b_h + r ⊙ (h U_h + b′_h))
      const rec = r_[q + 2 * u + j] + b[u3 + 2 * u + j];
      const cand = Math.tanh(a[q + 2 * u + j] + b[2 * u + j] + r * rec);
      a[q + j] = z; a[q + u + j] = r; a[q + 2 * u + j] = cand;
      const k = n * u + j;
      hh[k] = rec;
      // h(t) = z ⊙ h(t−1) + (1 − z) ⊙ ĥ
      hd[k] = z * hp[k] + (1 - z) * cand;
    }
  }
}

/**
 * One step backward. dh: ∂L/∂h(t) reaching step t (N, u).
 * Adds this step's ∂L/∂W, ∂L/∂U, ∂L/∂b into `grads` (fresh zeros if omitted).
 * With needPrev = false, ∂L/∂h(t−1) is not computed (null).
 */
export function gruStepBackward(dh: Tensor, cache: GruStepCache, grads?: GruParams, needPrev = true): { dx: Tensor; dhPrev: Tensor | null; grads: GruParams } {
  const { p, x, hPrev } = cache;
  const [N, u] = hPrev.shape, u3 = 3 * u;
  if (dh.size !== N * u) throw new Error(`GRU(${u}) backward: dh has shape ${shapeStr(dh.shape)}, expected (${N}, ${u})`);
  const g = grads ?? { W: new Tensor(p.W.shape), U: new Tensor(p.U.shape), b: new Tensor(p.b.shape) };
  // dxw: ∂L/∂(x W + b) and dhu: ∂L/∂(h U + b′), both (N, 3u); the direct path h(t−1) → h(t) is z ⊙ dh.
  const dxw = new Tensor([N, u3]), dhu = new Tensor([N, u3]), dhDirect = new Tensor([N, u]);
  gruGatesBackward(dh, cache, dxw, dhu, dhDirect);
  // ∂L/∂W += xᵀ dxw,  ∂L/∂U += h(t−1)ᵀ dhu,  ∂L/∂b += Σ_n dxw,  ∂L/∂b′ += Σ_n dhu
  matmulAtB(x, dxw, g.W, true);
  if (!isZeroState(hPrev)) matmulAtB(hPrev, dhu, g.U, true);
  const gb = g.b.data, dX = dxw.data, dH = dhu.data;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < u3; j++) {
      gb[j] += dX[n * u3 + j];
      gb[u3 + j] += dH[n * u3 + j];
    }
  }
  // ∂L/∂x(t) = dxw Wᵀ,  ∂L/∂h(t−1) = dhu Uᵀ + dh ⊙ z
  const dx = matmulABt(dxw, p.W);
  if (!needPrev) return { dx, dhPrev: null, grads: g };
  const dhPrev = matmulABt(dhu, p.U);
  const dp = dhPrev.data, dD = dhDirect.data;
  for (let k = 0; k < dp.length; k++) dp[k] += dD[k];
  return { dx, dhPrev, grads: g };
}

/** The gate equations backward: writes dxw = ∂L/∂(x W + b), dhu = ∂L/∂(h U + b′) (N, 3u) and the direct part dh ⊙ z (N, u). */
function gruGatesBackward(dh: Tensor, cache: GruStepCache, dxw: Tensor, dhu: Tensor, dhDirect: Tensor): void {
  const { hPrev, gates, hUh } = cache;
  const [N, u] = hPrev.shape, u3 = 3 * u;
  const a = gates.data, hp = hPrev.data, hh = hUh.data, d = dh.data, dX = dxw.data, dH = dhu.data, dD = dhDirect.data;
  for (let n = 0; n < N; n++) {
    const q = n * u3;
    for (let j = 0; j < u; j++) {
      const k = n * u + j;
      const z = a[q + j], r = a[q + u + j], cand = a[q + 2 * u + j];
      // ∂L/∂z = dh ⊙ (h(t−1) − ĥ),  ∂L/∂ĥ = dh ⊙ (1 − z),  direct: ∂L/∂h(t−1) ∋ dh ⊙ z
      const dz = d[k] * (hp[k] - cand);
      const dcand = d[k] * (1 - z);
      dD[k] = d[k] * z;
      // through tanh: ∂L/∂(pre-activation of ĥ)
      const dah = dcand * (1 - cand * cand);
      // pre-activation of ĥ = x W_h + b_h + r ⊙ rec:  ∂/∂rec = r,  ∂/∂r = rec
      const dr = dah * hh[k];
      const daz = dz * z * (1 - z), dar = dr * r * (1 - r);
      dX[q + j] = daz; dX[q + u + j] = dar; dX[q + 2 * u + j] = dah;
      dH[q + j] = daz; dH[q + u + j] = dar; dH[q + 2 * u + j] = dah * r;
    }
  }
}

/** The reference: each gate on its own, entry by entry, in the equations above. Returns h(t). */
export function gruStepNaive(p: GruParams, x: Tensor, hPrev: Tensor): Tensor {
  const { F, u } = checkStep(p, x, hPrev);
  const N = x.shape[0], u3 = 3 * u;
  const h = new Tensor([N, u]);
  // gate q ∈ {0: z, 1: r, 2: h}, unit j: the input part x W_q + b_q and the recurrent part h U_q + b′_q
  const inPart = (n: number, q: number, j: number): number => {
    let s = p.b.data[q * u + j];
    for (let m = 0; m < F; m++) s += x.data[n * F + m] * p.W.data[m * u3 + q * u + j];
    return s;
  };
  const recPart = (n: number, q: number, j: number): number => {
    let s = p.b.data[u3 + q * u + j];
    for (let m = 0; m < u; m++) s += hPrev.data[n * u + m] * p.U.data[m * u3 + q * u + j];
    return s;
  };
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < u; j++) {
      const z = sig(inPart(n, 0, j) + recPart(n, 0, j));
      const r = sig(inPart(n, 1, j) + recPart(n, 1, j));
      const cand = Math.tanh(inPart(n, 2, j) + r * recPart(n, 2, j));
      h.data[n * u + j] = z * hPrev.data[n * u + j] + (1 - z) * cand;
    }
  }
  return h;
}

// ---------------------------------------------------------------- the sequence-level fast path

/**
 * gruStepForward and gruStepBackward for bptt-sequence.ts: the same gate equations, with
 * x(t)·W given (one product over all steps before the loop) and the weight gradients left
 * to one product each after it; results go into the loop's buffers, not fresh tensors.
 * The forward step is bit-identical to gruStepForward.
 */
function gruSequenceKernels(): SequenceKernels<GruParams, GruStepCache> {
  return {
    inputKey: "W",
    biasKey: "b",
    separateRecurrentGrad: true,
    stepForward(p, x, xw, prev, next, ws) {
      const { u } = checkStep(p, x, prev.h);
      // [x W, given]; h(t−1) U is the one product left in the loop
      const hu = ws.scratch("hu", 3 * u);
      ws.times(prev.h, p.U, hu, false); // zeros at t = 1 from the default h(0) = 0, without the product (StepWorkspace.times)
      const hUh = ws.block("hUh", u);
      gruGates(xw, hu, p.b, prev.h, next.h, hUh);
      return { p, x, hPrev: prev.h, gates: xw, hUh };
    },
    stepBackward(dState, cache, dxw, dhu, dPrev, ws) {
      const dhDirect = ws.scratch("dhDirect", dState.h.shape[1]);
      gruGatesBackward(dState.h, cache, dxw, dhu, dhDirect);
      if (!dPrev) return;
      // ∂L/∂h(t−1) = dhu Uᵀ + dh ⊙ z
      ws.timesTransposed(dhu, cache.p.U, dPrev.h);
      const dp = dPrev.h.data, dD = dhDirect.data;
      for (let k = 0; k < dp.length; k++) dp[k] += dD[k];
    },
    biasGrad(dZx, dZh, gb) {
      // row 0: ∂L/∂b = Σ dxw,  row 1: ∂L/∂b′ = Σ dhu, row by row as gruStepBackward adds them
      const u3 = dZx.shape[1], g = gb.data, dX = dZx.data, dH = dZh.data;
      for (let r = 0; r < dZx.shape[0]; r++) {
        for (let j = 0; j < u3; j++) {
          g[j] += dX[r * u3 + j];
          g[u3 + j] += dH[r * u3 + j];
        }
      }
    },
  };
}

/** The GRU as a cell for the BPTT loop. */
export function gruCell(): Cell<GruParams, GruStepCache> {
  return {
    kind: "GRU",
    hasCellState: false,
    recurrentKey: "U",
    dims: (p) => ({ F: p.W.shape[0], units: p.W.shape[1] / 3 }),
    stepForward(p, x, prev) {
      const { h, cache } = gruStepForward(p, x, prev.h);
      return { state: { h }, cache };
    },
    stepBackward(dState, cache, grads, needPrev = true) {
      const { dx, dhPrev } = gruStepBackward(dState.h, cache, grads, needPrev);
      return { dx, dPrev: dhPrev ? { h: dhPrev } : null };
    },
    sequence: gruSequenceKernels(),
  };
}
