/**
 * Recurrent layers:
 *  - one training step (forward, BPTT and Adam) of the lecture's LSTM(250) → LSTM(250) → Dense(1) on 9 sequences of length 2;
 *  - a forward and backward pass of one LSTM(128) over T = 100 with batch 32 and one input feature,
 *    through the sequence-level fast path and through the step-by-step loop (the reference), and on 2 threads;
 *  - one training update (forward, BPTT, Adam) of LSTM(32) → Dense(1) and SimpleRNN(64, tanh) → Dense(1)
 *    on the adding problem, T = 50, batch 64: the small networks the coming chapters train thousands of times.
 */
import { Rng, normalTensor } from "../lib/random.ts";
import { Tensor, matmul, matmulAtB, transpose } from "../lib/matrix.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { Adam } from "../lib/optimizers.ts";
import { LSTM, SimpleRNN } from "../lib/recurrent.ts";
import { lstmCell } from "../lib/lstm.ts";
import { bpttForward, bpttBackward } from "../lib/bptt.ts";
import { SequenceWorkspace } from "../lib/bptt-sequence.ts";
import { setThreads } from "../lib/threads.ts";
import { bestMs, type TimingOptions } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "rnn";

/**
 * The adding problem (Hochreiter & Schmidhuber): x(t) = (value in [0, 1), marker), with exactly two
 * markers, one in each half of the sequence; the target is the sum of the two marked values.
 */
function addingProblem(N: number, T: number, rng: Rng): { x: Tensor; y: Tensor } {
  const x = new Tensor([N, T, 2]), y = new Tensor([N, 1]);
  const half = Math.floor(T / 2);
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) x.data[(n * T + t) * 2] = rng.uniform(0, 1);
    const a = Math.floor(rng.uniform(0, half)), b = half + Math.floor(rng.uniform(0, T - half));
    x.data[(n * T + a) * 2 + 1] = 1;
    x.data[(n * T + b) * 2 + 1] = 1;
    y.data[n] = x.data[(n * T + a) * 2] + x.data[(n * T + b) * 2];
  }
  return { x, y };
}

/**
 * The products of one SimpleRNN(u) training pass on the fast path (N sequences of T steps, F features), with
 * nothing around them: T−1 of h(t−1)·Whh and of dz(t)·Whhᵀ (as dz·(Whhᵀ)), then X·Whx, Σ_t h(t−1)ᵀdz(t) and
 * Σ_t x(t)ᵀdz(t) over the stacked T·N rows. What the update costs beyond this is the rest: tanh, BPTT, Dense, Adam.
 */
function rnnProducts(N: number, u: number, T: number, F: number, rng: Rng): () => void {
  const h = normalTensor([N, u], 0, 0.5, rng), Whh = normalTensor([u, u], 0, 0.5, rng), WhhT = transpose(Whh), z = new Tensor([N, u]), dh = new Tensor([N, u]);
  const X = normalTensor([T * N, F], 0, 1, rng), Whx = normalTensor([F, u], 0, 1, rng), H = normalTensor([T * N, u], 0, 1, rng), dZ = normalTensor([T * N, u], 0, 1, rng);
  const XW = new Tensor([T * N, u]), gW = new Tensor([F, u]), gU = new Tensor([u, u]);
  return () => {
    matmul(X, Whx, XW);
    // the same operands at every call (h, and z = h·Whh), so the values stay finite from call to call
    for (let t = 1; t < T; t++) matmul(h, Whh, z);
    for (let t = 1; t < T; t++) matmul(z, WhhT, dh);
    matmulAtB(H, dZ, gU);
    matmulAtB(X, dZ, gW);
  };
}

export function run({ quick }: { quick: boolean }): BenchResult {
  const before = setThreads(1);
  const timing: TimingOptions = quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 5, rounds: 7, minMs: 300 };
  const long: TimingOptions = quick ? timing : { warmup: 2, rounds: 5, minMs: 300 };
  const rng = new Rng(1);

  // LSTM(250) → LSTM(250) → Dense(1), 753,251 parameters, one Adam step on a batch of 9 sequences (2, 1)
  const model = new Sequential({ seed: 1 });
  model.add(new LSTM(250, { inputShape: [2, 1], returnSequences: true })).add(new LSTM(250)).add(new Dense(1));
  model.compile({ loss: "mse", optimizer: new Adam() });
  const x = normalTensor([9, 2, 1], 0, 1, rng), y = normalTensor([9, 1], 0, 1, rng);
  const lstm2x250StepMs = bestMs(() => model.trainStep(x, y), timing);
  // where the step's time goes: forward + BPTT, and Adam's update of 753,251 weights
  const lstm2x250GradMs = bestMs(() => model.lossAndGradients(x, y), timing);
  const adam = new Adam(), params = model.trainableParams(), { grads } = model.lossAndGradients(x, y);
  const lstm2x250AdamMs = bestMs(() => adam.apply(params, grads), timing);

  // LSTM(128) over T = 100, batch 32, F = 1: forward and BPTT
  const lstm = new LSTM(128);
  lstm.build([100, 1], rng);
  const xs = normalTensor([32, 100, 1], 0, 1, rng), dOut = normalTensor([32, 128], 0, 1, rng);
  const layerPass = () => {
    const { cache } = lstm.forward(xs, { training: true });
    lstm.backward(dOut, cache);
  };
  const lstm128T100Ms = bestMs(layerPass, long);
  // the same pass through bptt.ts directly: the sequence-level fast path against the step-by-step loop
  // (the fast path in a workspace reused from pass to pass, as a layer runs it)
  const cell = lstmCell(), w = lstm.weights as NonNullable<typeof lstm.weights>, workspace = new SequenceWorkspace();
  const pass = (stepwise: boolean) => () => {
    const f = bpttForward(cell, w, xs, {}, { stepwise, workspace });
    bpttBackward(cell, w, f, { dhT: dOut, stepwise, initialStateGrad: false });
  };
  const bpttStepVsSequence = { stepMs: bestMs(pass(true), long), sequenceMs: bestMs(pass(false), long) };
  // 1 and 2 threads, back to back on the wall clock
  const wall: TimingOptions = { ...long, clock: "wall" };
  const lstm128T100Ms1ThreadWall = bestMs(layerPass, wall);
  setThreads(2);
  const lstm128T100Ms2Threads = bestMs(layerPass, wall);
  setThreads(1);

  // one training update on the adding problem, T = 50, batch 64
  const adding = addingProblem(64, 50, new Rng(3));
  const update = (layer: LSTM | SimpleRNN, options = timing): number => {
    const m = new Sequential({ seed: 1 });
    m.add(layer).add(new Dense(1));
    m.compile({ loss: "mse", optimizer: new Adam() });
    return bestMs(() => m.trainStep(adding.x, adding.y), options);
  };
  const lstm32T50UpdateMs = update(new LSTM(32, { inputShape: [50, 2] }));
  const rnn64T50UpdateMs = update(new SimpleRNN(64, { inputShape: [50, 2], activation: "tanh" }));
  // the same on 2 threads (its loops by bands of the batch's rows), wall clock, beside 1 thread on the wall clock
  const rnn64T50UpdateMs1ThreadWall = update(new SimpleRNN(64, { inputShape: [50, 2], activation: "tanh" }), wall);
  setThreads(2);
  const rnn64T50UpdateMs2Threads = update(new SimpleRNN(64, { inputShape: [50, 2], activation: "tanh" }), wall);
  setThreads(1);
  // the floor the matrix kernel sets: the SimpleRNN(64) update's products alone, in the fast path's shapes
  const rnn64T50ProductsMs = bestMs(rnnProducts(64, 64, 50, 2, rng), timing);
  setThreads(before);

  const table = [
    ["benchmark", "ms", "target / reference"],
    ["LSTM(250)→LSTM(250)→Dense(1), 9×(2, 1): one step (forward, BPTT, Adam)", lstm2x250StepMs.toFixed(1), "≤ 30 (PyTorch f64 1 thread ≈ 17)"],
    ["  of which forward + BPTT (lossAndGradients)", lstm2x250GradMs.toFixed(1), ""],
    ["  of which Adam's update", lstm2x250AdamMs.toFixed(1), ""],
    ["LSTM(128), T = 100, batch 32, F = 1: forward + backward", lstm128T100Ms.toFixed(1), "≤ 160 (PyTorch ≈ 79)"],
    ["  the same through bptt.ts, sequence-level fast path", bpttStepVsSequence.sequenceMs.toFixed(1), ""],
    ["  the same through bptt.ts, step by step (the reference)", bpttStepVsSequence.stepMs.toFixed(1), `fast path ${(bpttStepVsSequence.stepMs / bpttStepVsSequence.sequenceMs).toFixed(2)}× faster`],
    ["  wall clock, 1 thread", lstm128T100Ms1ThreadWall.toFixed(1), ""],
    ["  wall clock, 2 threads", lstm128T100Ms2Threads.toFixed(1), `${(lstm128T100Ms1ThreadWall / lstm128T100Ms2Threads).toFixed(2)}× the 1-thread speed`],
    ["LSTM(32)→Dense(1), adding problem T = 50, batch 64: one update", lstm32T50UpdateMs.toFixed(1), "≤ 30 (PyTorch ≈ 15)"],
    ["SimpleRNN(64, tanh)→Dense(1), the same: one update", rnn64T50UpdateMs.toFixed(1), "≤ 16 (PyTorch ≈ 8)"],
    ["  its matrix products alone (h·Whh, dz·Whhᵀ per step; X·Whx, Σ hᵀdz, Σ xᵀdz)", rnn64T50ProductsMs.toFixed(1), `${((100 * rnn64T50ProductsMs) / rnn64T50UpdateMs).toFixed(0)}% of the update`],
    ["  wall clock, 1 thread", rnn64T50UpdateMs1ThreadWall.toFixed(1), ""],
    ["  wall clock, 2 threads (loops by bands of the batch's rows)", rnn64T50UpdateMs2Threads.toFixed(1), `${(rnn64T50UpdateMs1ThreadWall / rnn64T50UpdateMs2Threads).toFixed(2)}× the 1-thread speed`],
  ];
  const note = "Best of 5–7 rounds (≥ 300 ms each, after warm-up), float64, one thread, CPU time unless marked wall clock.";
  return {
    table, note,
    json: { lstm2x250StepMs, lstm128T100Ms, lstm2x250GradMs, lstm2x250AdamMs, bpttStepVsSequence, lstm128T100Ms1ThreadWall, lstm128T100Ms2Threads, lstm32T50UpdateMs, rnn64T50UpdateMs, rnn64T50ProductsMs, rnn64T50UpdateMs1ThreadWall, rnn64T50UpdateMs2Threads },
  };
}
