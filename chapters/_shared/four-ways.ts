/**
 * Chapter 09's five ways of training a recurrent network on one long-range task,
 * each a function from the same data to a result. They run on worker threads
 * (four-ways-worker.ts) or in the main thread; every draw comes from the way's
 * own seed, so a result does not depend on where or when it runs (only its
 * wall-clock seconds do).
 *
 *   lstm               LSTM(u) + Dense(K), Adam with clipping (way 1)
 *   hessian-free       SimpleRNN(u) + Dense(K), Hessian-free optimisation (way 2)
 *   esn                fixed reservoir, ridge readout (way 3)
 *   esn-init-momentum  SimpleRNN(u) started as an ESN, SGD with Nesterov momentum rising towards 0.99 (way 4)
 *   plain-sgd          SimpleRNN(u) with small random weights, SGD without momentum (the baseline)
 * and the ablations: lstm with forget-gate bias 0, ESN init with plain SGD, small init with Nesterov.
 */
import { Tensor, matmul, matmulAtB, matmulABt, colSums, takeRows } from "../../lib/matrix.ts";
import { Rng, glorotUniform, orthogonal, normalTensor } from "../../lib/random.ts";
import { bpttForward, bpttBackward, type BpttForward } from "../../lib/bptt.ts";
import { type LstmParams, type LstmStepCache, lstmCell } from "../../lib/lstm.ts";
import { Adam, SGD, type Optimizer } from "../../lib/optimizers.ts";
import type { Param } from "../../lib/layer.ts";
import { type RnnNet, NET_KEYS, netForward, netGradient, vectorToNet, HessianFree } from "../../lib/hessian-free.ts";
import { makeReservoir, reservoirStates, reservoirWhh, ridgeFit, readout } from "../../lib/esn.ts";
import { TASK_SPECS, scoreTask, type TaskName, type TaskData } from "./long-range-tasks.ts";

export const WAYS = ["lstm", "hessian-free", "esn", "esn-init-momentum", "plain-sgd"] as const;
export const ABLATIONS = ["lstm-forget-bias-0", "esn-init-sgd", "small-init-momentum"] as const;
export type WayName = (typeof WAYS)[number] | (typeof ABLATIONS)[number];

/** What every way is given: the task, its length, the data sizes and seeds, and the training budget. */
export interface WayConfig {
  task: TaskName;
  T: number;
  nTrain: number;
  nTest: number;
  /** The data's seed: the same training and test sets for every way. */
  dataSeed: number;
  /** The way's own seed (initial weights, mini-batch order). */
  seed: number;
  /** Updates (mini-batch steps) of the first-order ways. */
  updates: number;
  /** Outer steps of HF. */
  hfSteps: number;
  /** Evaluations of the test MSE along the way (for the curve). */
  evals: number;
  /** The ESN's spectral radius (default HP.esn.rho). */
  rho?: number;
  /** HF's CG iteration cap (default HP.hf.maxCgIters). */
  maxCgIters?: number;
  /** The ESN's reservoir size (default UNITS.esn). */
  esnUnits?: number;
}

export interface WayResult {
  name: WayName;
  testMSE: number;
  solvedFraction: number;
  /** Mini-batch updates; for HF the CG iterations (each a Gauss–Newton product); 1 for the ESN's one linear solve. */
  updates: number;
  /** HF's outer steps (null for the others). */
  outerSteps: number | null;
  seconds: number;
  /** log10‖∂L/∂h(1)‖ of the trained network on the test set: how much gradient reaches the first step. */
  firstStepGradLog10: number;
  /** Test MSE against wall-clock seconds. */
  curve: { seconds: number; testMSE: number }[];
  /** One line on the settings, for the chapter's table notes. */
  settings: string;
}

/** The training and test sets, drawn from the data seed (the same for every way). */
export function makeData(cfg: Pick<WayConfig, "task" | "T" | "nTrain" | "nTest" | "dataSeed">): { train: TaskData; test: TaskData } {
  const spec = TASK_SPECS[cfg.task];
  const rng = new Rng(cfg.dataSeed);
  return { train: spec.generate(cfg.nTrain, cfg.T, rng), test: spec.generate(cfg.nTest, cfg.T, rng) };
}

// ---------------------------------------------------------------- hyperparameters (one place)

/** Hidden units of the SimpleRNN ways and of the LSTM, and the ESN's reservoir. */
export const UNITS = { rnn: 32, lstm: 32, esn: 400 };
export const BATCH = 50;
export const HP = {
  lstm: { learningRate: 3e-3, clipnorm: 1 },
  /** ESN-style init for ways 3 and 4: spectral radius, input scaling, connections per unit. */
  esnInit: { rho: 1.1, inputScale: 1, connections: 15 },
  esn: { rho: 0.9, inputScale: 0.5, connections: 10, betas: [1e-8, 1e-6, 1e-4, 1e-2, 1] },
  momentum: { learningRate: 0.03, maxMomentum: 0.99, clipnorm: 1, finalFraction: 0.25, finalMomentum: 0.9, finalLearningRate: 0.005, every: 75 },
  plain: { learningRate: 0.01, smallInitStd: 0.01 },
  hf: { maxCgIters: 50, gradBatch: 1000, curvBatch: 100, structuralDamping: 0, initialDamping: 1 },
};

// ---------------------------------------------------------------- the networks

/** SimpleRNN(u) + linear readout with the given recurrent and input weights; readout and biases start at 0. */
function rnnNet(F: number, u: number, K: number, Whh: Tensor, Whx: Tensor, rng: Rng): RnnNet {
  return { Whx, Whh, bh: new Tensor([u]), Wy: glorotUniform([u, K], rng), by: new Tensor([K]) };
}

/** Small random init: every weight N(0, std²) (the baseline's "small random recurrent weights"). */
function smallInitNet(F: number, u: number, K: number, std: number, rng: Rng): RnnNet {
  return rnnNet(F, u, K, normalTensor([u, u], 0, std, rng), normalTensor([F, u], 0, std, rng), rng);
}

/** ESN-style init: W_hh a sparse reservoir at spectral radius ρ, W_hx uniform on ±inputScale. */
function esnInitNet(F: number, u: number, K: number, rng: Rng): RnnNet {
  const res = makeReservoir(F, u, { ...HP.esnInit, rng });
  return rnnNet(F, u, K, reservoirWhh(res), res.Win, rng);
}

export interface LstmNet {
  p: LstmParams;
  Wy: Tensor;
  by: Tensor;
}

const lstm = lstmCell();

/** Keras's LSTM init (glorot_uniform, orthogonal, zeros; forget-gate bias 1 with unitForgetBias) and a Dense readout. */
function lstmNet(F: number, u: number, K: number, unitForgetBias: boolean, rng: Rng): LstmNet {
  const b = new Tensor([4 * u]);
  if (unitForgetBias) b.data.fill(1, u, 2 * u);
  return { p: { W: glorotUniform([F, 4 * u], rng), U: orthogonal([u, 4 * u], rng), b }, Wy: glorotUniform([u, K], rng), by: new Tensor([K]) };
}

function lstmPredict(net: LstmNet, x: Tensor): { y: Tensor; fwd: BpttForward<LstmStepCache> } {
  const fwd = bpttForward(lstm, net.p, x);
  const y = matmul(fwd.last.h, net.Wy);
  const K = y.shape[1];
  for (let n = 0; n < y.shape[0]; n++) for (let k = 0; k < K; k++) y.data[n * K + k] += net.by.data[k];
  return { y, fwd };
}

/** L = (1/2N)Σ‖y − t‖² for the LSTM: gradients [W, U, b, Wy, by] and ‖∂L/∂h(t)‖. */
function lstmGradient(net: LstmNet, x: Tensor, t: Tensor): { grads: Tensor[]; dLdhNorms: number[] } {
  const { y, fwd } = lstmPredict(net, x);
  const N = y.shape[0];
  const dy = new Tensor(y.shape);
  for (let i = 0; i < dy.size; i++) dy.data[i] = (y.data[i] - t.data[i]) / N;
  const dWy = matmulAtB(fwd.last.h, dy), dby = colSums(dy);
  const r = bpttBackward(lstm, net.p, fwd, { dhT: matmulABt(dy, net.Wy), initialStateGrad: false });
  return { grads: [r.grads.W, r.grads.U, r.grads.b, dWy, dby], dLdhNorms: r.dLdhNorms };
}

const log10 = (v: number): number => (v > 0 ? Math.log10(v) : -Infinity);

// ---------------------------------------------------------------- the training loops

export type Progress = (text: string) => void;

/** Mini-batch training with an optimiser: the loop shared by the LSTM and the SGD ways. */
function miniBatchLoop(
  cfg: WayConfig,
  data: { train: TaskData; test: TaskData },
  rng: Rng,
  step: (x: Tensor, t: Tensor, update: number) => void,
  predict: (x: Tensor) => Tensor,
  name: string,
  progress: Progress,
): { curve: WayResult["curve"]; seconds: number } {
  const spec = TASK_SPECS[cfg.task];
  const { train, test } = data;
  const N = train.x.shape[0];
  const perEpoch = Math.max(1, Math.floor(N / BATCH));
  const every = Math.max(1, Math.floor(cfg.updates / cfg.evals));
  const t0 = performance.now();
  const curve: WayResult["curve"] = [{ seconds: 0, testMSE: scoreTask(predict(test.x), test.y, spec.tolerance).mse }];
  let order = rng.permutation(N);
  for (let u = 0; u < cfg.updates; u++) {
    const b = u % perEpoch;
    if (b === 0 && u > 0) order = rng.permutation(N);
    const idx = order.subarray(b * BATCH, (b + 1) * BATCH);
    step(takeRows(train.x, idx), takeRows(train.y, idx), u);
    if ((u + 1) % every === 0 || u === cfg.updates - 1) {
      const seconds = (performance.now() - t0) / 1000;
      const mse = scoreTask(predict(test.x), test.y, spec.tolerance).mse;
      curve.push({ seconds, testMSE: mse });
      progress(`${name}: update ${u + 1}/${cfg.updates}, test MSE ${mse.toPrecision(3)}, ${seconds.toFixed(0)} s`);
      if (!Number.isFinite(mse)) break;
    }
  }
  return { curve, seconds: (performance.now() - t0) / 1000 };
}

function finish(name: WayName, cfg: WayConfig, yTest: Tensor, test: TaskData, run: { curve: WayResult["curve"]; seconds: number }, updates: number, outer: number | null, dLdh1: number, settings: string): WayResult {
  const s = scoreTask(yTest, test.y, TASK_SPECS[cfg.task].tolerance);
  return { name, testMSE: s.mse, solvedFraction: s.solvedFraction, updates, outerSteps: outer, seconds: run.seconds, firstStepGradLog10: log10(dLdh1), curve: run.curve, settings };
}

function trainLstm(name: WayName, cfg: WayConfig, data: { train: TaskData; test: TaskData }, unitForgetBias: boolean, progress: Progress): WayResult {
  const spec = TASK_SPECS[cfg.task], rng = new Rng(cfg.seed), u = UNITS.lstm;
  const net = lstmNet(spec.F, u, spec.K, unitForgetBias, rng);
  const params: Param[] = [["W", net.p.W], ["U", net.p.U], ["b", net.p.b], ["Wy", net.Wy], ["by", net.by]].map(([n, v]) => ({ name: n as string, value: v as Tensor }));
  const opt = new Adam({ learningRate: HP.lstm.learningRate, globalClipnorm: HP.lstm.clipnorm });
  const predict = (x: Tensor) => lstmPredict(net, x).y;
  const run = miniBatchLoop(cfg, data, rng, (x, t) => opt.apply(params, lstmGradient(net, x, t).grads), predict, name, progress);
  progress(`${name}: ∂L/∂h(1) on the ${data.test.x.shape[0]} test sequences`);
  const g = lstmGradient(net, data.test.x, data.test.y);
  return finish(name, cfg, predict(data.test.x), data.test, run, cfg.updates, null, g.dLdhNorms[0],
    `LSTM(${u}), forget-gate bias ${unitForgetBias ? 1 : 0}, Adam η = ${HP.lstm.learningRate}, clipnorm ${HP.lstm.clipnorm}, batch ${BATCH}`);
}

/** Sutskever et al. (2013)'s schedule: μ_t = min(1 − 2^(−1 − log2(⌊t/every⌋ + 1)), μ_max), with every = 250 in the paper. */
export function momentumSchedule(t: number, maxMomentum: number, every = HP.momentum.every): number {
  return Math.min(1 - 2 ** (-1 - Math.log2(Math.floor(t / every) + 1)), maxMomentum);
}

function trainSgd(name: WayName, cfg: WayConfig, data: { train: TaskData; test: TaskData }, init: "esn" | "small", momentum: boolean, progress: Progress): WayResult {
  const spec = TASK_SPECS[cfg.task], rng = new Rng(cfg.seed), u = UNITS.rnn;
  const net = init === "esn" ? esnInitNet(spec.F, u, spec.K, rng) : smallInitNet(spec.F, u, spec.K, HP.plain.smallInitStd, rng);
  const params: Param[] = NET_KEYS.map((k) => ({ name: k, value: net[k] }));
  const lr = momentum ? HP.momentum.learningRate : HP.plain.learningRate;
  const opt: Optimizer & { momentum: number } = momentum
    ? new SGD({ learningRate: lr, momentum: momentumSchedule(0, HP.momentum.maxMomentum), nesterov: true, globalClipnorm: HP.momentum.clipnorm })
    : new SGD({ learningRate: lr });
  const predict = (x: Tensor) => netForward(net, x).y;
  const run = miniBatchLoop(cfg, data, rng, (x, t, update) => {
    // μ rises as scheduled; the last quarter of the updates runs at μ = 0.9 (Sutskever et al.'s fine-tuning phase)
    if (momentum) {
      const final = update >= (1 - HP.momentum.finalFraction) * cfg.updates;
      opt.momentum = final ? HP.momentum.finalMomentum : momentumSchedule(update, HP.momentum.maxMomentum);
      if (final) opt.learningRate = HP.momentum.finalLearningRate;
    }
    const { grad } = netGradient(net, x, t);
    const g = vectorToNet(grad, net);
    opt.apply(params, NET_KEYS.map((k) => g[k]));
  }, predict, name, progress);
  progress(`${name}: ∂L/∂h(1) on the ${data.test.x.shape[0]} test sequences`);
  const g = netGradient(net, data.test.x, data.test.y);
  const initText = init === "esn" ? `ESN init (sparse W_hh at ρ = ${HP.esnInit.rho}, ${HP.esnInit.connections} inputs/unit, W_hx ±${HP.esnInit.inputScale})` : `small init (all weights N(0, ${HP.plain.smallInitStd}²))`;
  const optText = momentum ? `SGD η = ${lr}, Nesterov μ rising to ${HP.momentum.maxMomentum} (reached ${momentumSchedule(Math.ceil((1 - HP.momentum.finalFraction) * cfg.updates) - 1, HP.momentum.maxMomentum).toFixed(3)}, then μ = ${HP.momentum.finalMomentum} and η = ${HP.momentum.finalLearningRate} for the last ${HP.momentum.finalFraction * 100}%), clipnorm ${HP.momentum.clipnorm}` : `plain SGD η = ${lr}`;
  return finish(name, cfg, predict(data.test.x), data.test, run, cfg.updates, null, g.dLdhNorms[0], `SimpleRNN(${u}), ${initText}, ${optText}, batch ${BATCH}`);
}

function trainHf(cfg: WayConfig, data: { train: TaskData; test: TaskData }, progress: Progress): WayResult {
  const spec = TASK_SPECS[cfg.task], rng = new Rng(cfg.seed), u = UNITS.rnn;
  const net = esnInitNet(spec.F, u, spec.K, rng);
  const maxCg = cfg.maxCgIters ?? HP.hf.maxCgIters;
  const hf = new HessianFree({ maxCgIters: maxCg, structuralDamping: HP.hf.structuralDamping, initialDamping: HP.hf.initialDamping });
  const { train, test } = data;
  const N = train.x.shape[0], nGrad = Math.min(N, HP.hf.gradBatch), nCurv = Math.min(nGrad, HP.hf.curvBatch);
  const t0 = performance.now();
  const mseOf = () => scoreTask(netForward(net, test.x).y, test.y, spec.tolerance).mse;
  const curve: WayResult["curve"] = [{ seconds: 0, testMSE: mseOf() }];
  const every = Math.max(1, Math.floor(cfg.hfSteps / cfg.evals));
  for (let s = 0; s < cfg.hfSteps; s++) {
    // the gradient on a batch of nGrad sequences taken in turn from the training set, the curvature on its first nCurv
    const start = (s * nGrad) % N;
    const idx = Int32Array.from({ length: nGrad }, (_, i) => (start + i) % N);
    const gx = takeRows(train.x, idx), gy = takeRows(train.y, idx);
    const ci = idx.subarray(0, nCurv).map((_, i) => i);
    const info = hf.step(net, { x: gx, t: gy }, { x: takeRows(gx, ci), t: takeRows(gy, ci) });
    if ((s + 1) % every === 0 || s === cfg.hfSteps - 1) {
      const seconds = (performance.now() - t0) / 1000, mse = mseOf();
      curve.push({ seconds, testMSE: mse });
      progress(`hessian-free: step ${s + 1}/${cfg.hfSteps}, ${hf.cgIterationsTotal} CG iterations, λ = ${info.damping.toPrecision(2)}, test MSE ${mse.toPrecision(3)}, ${seconds.toFixed(0)} s`);
    }
  }
  const run = { curve, seconds: (performance.now() - t0) / 1000 };
  progress(`hessian-free: ∂L/∂h(1) on the ${test.x.shape[0]} test sequences`);
  const g = netGradient(net, test.x, test.y);
  return finish("hessian-free", cfg, netForward(net, test.x).y, test, run, hf.cgIterationsTotal, cfg.hfSteps, g.dLdhNorms[0],
    `SimpleRNN(${u}), ESN init, ${cfg.hfSteps} outer steps, gradient on ${nGrad} sequences, ≤ ${maxCg} CG iterations each on ${nCurv} of them, structural damping μ = ${HP.hf.structuralDamping}`);
}

function trainEsn(cfg: WayConfig, data: { train: TaskData; test: TaskData }, progress: Progress): WayResult {
  const spec = TASK_SPECS[cfg.task], rng = new Rng(cfg.seed), u = cfg.esnUnits ?? UNITS.esn;
  const t0 = performance.now();
  const rho = cfg.rho ?? HP.esn.rho;
  const res = makeReservoir(spec.F, u, { rho, inputScale: HP.esn.inputScale, connections: HP.esn.connections, rng });
  progress(`esn: collecting ${data.train.x.shape[0]} states of a ${u}-unit reservoir`);
  const S = reservoirStates(res, data.train.x).last;
  // β chosen on the last fifth of the training set, then the readout refitted on all of it
  const N = S.shape[0], nFit = Math.floor(0.8 * N);
  const fitIdx = Int32Array.from({ length: nFit }, (_, i) => i), valIdx = Int32Array.from({ length: N - nFit }, (_, i) => nFit + i);
  let beta = HP.esn.betas[0], bestVal = Infinity;
  for (const [i, b] of HP.esn.betas.entries()) {
    progress(`esn: ridge readout, β = ${b} (${i + 1}/${HP.esn.betas.length}) on ${nFit} states`);
    const W = ridgeFit(takeRows(S, fitIdx), takeRows(data.train.y, fitIdx), b);
    const v = scoreTask(readout(takeRows(S, valIdx), W), takeRows(data.train.y, valIdx), spec.tolerance).mse;
    if (v < bestVal) [bestVal, beta] = [v, b];
  }
  progress(`esn: refitting the readout on all ${N} states with β = ${beta}; then the test states`);
  const W = ridgeFit(S, data.train.y, beta);
  const yTest = readout(reservoirStates(res, data.test.x).last, W);
  const seconds = (performance.now() - t0) / 1000;
  // ∂L/∂h(1) through the fixed reservoir, seen as a SimpleRNN with W_hh, W_hx and the fitted readout
  const net: RnnNet = { Whx: res.Win, Whh: reservoirWhh(res), bh: new Tensor([u]), Wy: new Tensor([u, spec.K], W.data.slice(0, u * spec.K)), by: new Tensor([spec.K], W.data.slice(u * spec.K)) };
  progress(`esn: ∂L/∂h(1) through the reservoir on ${data.test.x.shape[0]} test sequences`);
  const g = netGradient(net, data.test.x, data.test.y);
  // before the fit the readout is zero, and so is every prediction
  const mse0 = scoreTask(new Tensor(data.test.y.shape), data.test.y, spec.tolerance).mse;
  return finish("esn", cfg, yTest, data.test, { curve: [{ seconds: 0, testMSE: mse0 }, { seconds, testMSE: scoreTask(yTest, data.test.y, spec.tolerance).mse }], seconds }, 1, null, g.dLdhNorms[0],
    `reservoir of ${u} tanh units, ${HP.esn.connections} inputs/unit, ρ = ${rho}, W_hx ±${HP.esn.inputScale}, ridge β = ${beta} (chosen on a held-out fifth)`);
}

/** Trains one way (or ablation) on the task's data. */
export function trainWay(name: WayName, cfg: WayConfig, progress: Progress = () => {}, data = makeData(cfg)): WayResult {
  switch (name) {
    case "lstm": return trainLstm(name, cfg, data, true, progress);
    case "lstm-forget-bias-0": return trainLstm(name, cfg, data, false, progress);
    case "hessian-free": return trainHf(cfg, data, progress);
    case "esn": return trainEsn(cfg, data, progress);
    case "esn-init-momentum": return trainSgd(name, cfg, data, "esn", true, progress);
    case "plain-sgd": return trainSgd(name, cfg, data, "small", false, progress);
    case "esn-init-sgd": return trainSgd(name, cfg, data, "esn", false, progress);
    case "small-init-momentum": return trainSgd(name, cfg, data, "small", true, progress);
  }
}
