/**
 * A SimpleRNN with a readout, trained by BPTT on sequences whose targets may be
 * given at any subset of (time step, unit): the "basic layout" of chapter 08.
 *
 *   h(t) = tanh(x(t)·Whx + h(t−1)·Whh + bh),      h(0): zero, a constant, given per sequence, or learned
 *   ŷ(t) = h(t)·Wyh + by   (readout "dense")   or   ŷ(t) = h(t)   (readout "units": targets on the units)
 *   L = Σ m(t,k)·ℓ(ŷ_k(t), y_k(t)) / Σ m,       ℓ the squared error, or the cross-entropy of σ(ŷ) for "sigmoid"
 *
 * The mask m says where a target is given: at every step, at the last few, or on a
 * subset of the units. Its entries become the extra error derivatives ∂L/∂h(t) that
 * bpttBackward adds in as it goes back through time.
 */
import { Tensor, shapeStr } from "../../lib/matrix.ts";
import { Rng, glorotUniform, orthogonal, uniformTensor } from "../../lib/random.ts";
import { type RnnParams, type RnnStepCache, simpleRnnCell } from "../../lib/rnn.ts";
import { type BpttForward, bpttForward, bpttBackward } from "../../lib/bptt.ts";
import { denseForward, denseBackward } from "../../lib/layers.ts";
import { Adam } from "../../lib/optimizers.ts";
import type { Param } from "../../lib/layer.ts";
import { sigmoid } from "../../lib/activations.ts";

export const tanhCell = simpleRnnCell("tanh");

export interface SeqNet {
  p: RnnParams;
  /** The readout (u, O) and its bias (O), or null: the targets are on the units themselves. */
  Wyh: Tensor | null;
  by: Tensor | null;
  /** h(0) shared by all sequences (u,), or null for zeros; a batch's own h0 overrides it. */
  h0: Tensor | null;
  /** Learn h(0) by backpropagating to t = 0. */
  learnH0: boolean;
  /** "linear": squared error on ŷ; "sigmoid": cross-entropy on σ(ŷ). */
  out: "linear" | "sigmoid";
}

export interface SeqBatch {
  /** (N, T, F) */
  x: Tensor;
  /** targets (N, T, O) */
  y: Tensor;
  /** where a target is given (N, T, O), 0 or 1; null: everywhere */
  mask: Tensor | null;
  /** a per-sequence initial state (N, u): the input given as the initial state */
  h0?: Tensor;
}

export interface NetSpec {
  F: number;
  units: number;
  /** outputs of a dense readout; 0 for targets on the units */
  O: number;
  /** "zero", a constant for every unit, or "learned" (from a random guess in (−0.5, 0.5)) */
  h0: "zero" | "learned" | number;
  out?: "linear" | "sigmoid";
}

/** Keras's initial weights: kernels glorot_uniform, recurrent kernel orthogonal, biases zero. */
export function initNet(spec: NetSpec, rng: Rng): SeqNet {
  const { F, units: u, O } = spec;
  const p: RnnParams = { Whx: glorotUniform([F, u], rng), Whh: orthogonal([u, u], rng), bh: new Tensor([u]) };
  const Wyh = O > 0 ? glorotUniform([u, O], rng) : null;
  const by = O > 0 ? new Tensor([O]) : null;
  const h0 = spec.h0 === "zero" ? null : spec.h0 === "learned" ? uniformTensor([u], -0.5, 0.5, rng) : new Tensor([u], new Float64Array(u).fill(spec.h0));
  return { p, Wyh, by, h0, learnH0: spec.h0 === "learned", out: spec.out ?? "linear" };
}

export interface SeqForward {
  fwd: BpttForward<RnnStepCache>;
  /** ŷ (N, T, O) before the sigmoid */
  z: Tensor;
  loss: number;
  dense: ReturnType<typeof denseForward>["cache"] | null;
}

/** softplus(z) = log(1 + eᶻ), without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export function seqForward(net: SeqNet, b: SeqBatch): SeqForward {
  const fwd = bpttForward(tanhCell, net.p, b.x, { h0: b.h0 ?? net.h0 ?? undefined });
  let z = fwd.hs, dense: SeqForward["dense"] = null;
  if (net.Wyh) {
    const d = denseForward(fwd.hs, net.Wyh, net.by, "readout");
    z = d.out;
    dense = d.cache;
  }
  if (z.size !== b.y.size) throw new Error(`seqForward: the network gives ${shapeStr(z.shape)}, the targets are ${shapeStr(b.y.shape)}`);
  let loss = 0, count = 0;
  const m = b.mask?.data, y = b.y.data, zd = z.data;
  for (let i = 0; i < zd.length; i++) {
    const w = m ? m[i] : 1;
    if (w === 0) continue;
    count += w;
    // squared error, or −[y log σ(z) + (1 − y) log(1 − σ(z))] = y·softplus(−z) + (1 − y)·softplus(z)
    loss += w * (net.out === "linear" ? (zd[i] - y[i]) ** 2 : y[i] * softplus(-zd[i]) + (1 - y[i]) * softplus(zd[i]));
  }
  if (count === 0) throw new Error("seqForward: the mask gives no target at all");
  return { fwd, z, loss: loss / count, dense };
}

export interface SeqGrads {
  Whx: Tensor;
  Whh: Tensor;
  bh: Tensor;
  Wyh: Tensor | null;
  by: Tensor | null;
  /** ∂L/∂h(0): (u,) for a shared h(0), (N, u) for a batch's own */
  h0: Tensor | null;
}

/** The loss and every gradient, by BPTT; ∂L/∂h(0) is what reaches t = 0. */
export function seqLossAndGrads(net: SeqNet, b: SeqBatch): { loss: number; grads: SeqGrads; dLdhNorms: number[] } {
  const f = seqForward(net, b);
  const m = b.mask?.data, y = b.y.data, zd = f.z.data;
  let count = 0;
  for (let i = 0; i < zd.length; i++) count += m ? m[i] : 1;
  // ∂L/∂ŷ = m·2(ŷ − y)/Σm (squared error), m·(σ(ŷ) − y)/Σm (cross-entropy)
  const dz = new Tensor(f.z.shape);
  for (let i = 0; i < zd.length; i++) {
    const w = m ? m[i] : 1;
    if (w !== 0) dz.data[i] = (w * (net.out === "linear" ? 2 * (zd[i] - y[i]) : sigmoid(zd[i]) - y[i])) / count;
  }
  let dhs = dz, dWyh: Tensor | null = null, dby: Tensor | null = null;
  if (f.dense) {
    const d = denseBackward(dz, f.dense);
    dhs = d.dX;
    dWyh = d.dW;
    dby = d.db;
  }
  const wantH0 = net.learnH0 || b.h0 !== undefined;
  const r = bpttBackward(tanhCell, net.p, f.fwd, { dhs, initialStateGrad: wantH0 });
  return { loss: f.loss, grads: { ...r.grads, Wyh: dWyh, by: dby, h0: wantH0 ? r.dh0 : null }, dLdhNorms: r.dLdhNorms };
}

/** The trainable tensors, in a fixed order, for the optimiser. */
export function netParams(net: SeqNet): Param[] {
  const ps: Param[] = [{ name: "Whx", value: net.p.Whx }, { name: "Whh", value: net.p.Whh }, { name: "bh", value: net.p.bh }];
  if (net.Wyh && net.by) ps.push({ name: "Wyh", value: net.Wyh }, { name: "by", value: net.by });
  if (net.learnH0 && net.h0) ps.push({ name: "h0", value: net.h0 });
  return ps;
}

function gradList(net: SeqNet, g: SeqGrads): Tensor[] {
  const gs = [g.Whx, g.Whh, g.bh];
  if (net.Wyh) gs.push(g.Wyh as Tensor, g.by as Tensor);
  if (net.learnH0 && net.h0) gs.push(g.h0 as Tensor);
  return gs;
}

export interface TrainOptions {
  updates: number;
  learningRate: number;
  /** Adam's global clip norm (default 1). */
  clipNorm?: number;
  /** Record the loss every `logEvery` updates (and at the first and last). */
  logEvery?: number;
  /** Called after every update with its number (1..) and loss. */
  onUpdate?: (update: number, loss: number) => void;
  /** Freeze some tensors (by name in netParams: "Whx", ...); they keep their values. */
  frozen?: readonly string[];
}

export interface TrainResult {
  /** [update, loss before that update] pairs: update 0 is the untrained net. */
  history: [number, number][];
  finalLoss: number;
}

/** Adam on the batches `batchAt(update)`; throws if the loss turns non-finite. */
export function trainSeq(net: SeqNet, batchAt: (update: number) => SeqBatch, opts: TrainOptions): TrainResult {
  const { updates, learningRate, clipNorm = 1, logEvery = Math.max(1, Math.floor(updates / 20)), onUpdate, frozen = [] } = opts;
  const opt = new Adam({ learningRate, globalClipnorm: clipNorm });
  const all = netParams(net);
  const keep = all.map((p) => !frozen.includes(p.name));
  const params = all.filter((_, i) => keep[i]);
  const history: [number, number][] = [];
  let loss = NaN;
  for (let k = 0; k < updates; k++) {
    const r = seqLossAndGrads(net, batchAt(k));
    loss = r.loss;
    if (!Number.isFinite(loss)) throw new Error(`training diverged: the loss is ${loss} at update ${k + 1}`);
    if (k % logEvery === 0) history.push([k, loss]);
    opt.apply(params, gradList(net, r.grads).filter((_, i) => keep[i]));
    onUpdate?.(k + 1, loss);
  }
  const finalLoss = seqForward(net, batchAt(updates)).loss;
  history.push([updates, finalLoss]);
  return { history, finalLoss };
}
