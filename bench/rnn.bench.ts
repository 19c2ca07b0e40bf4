/**
 * Recurrent layers: one training step (forward, BPTT and Adam) of the lecture's
 * LSTM(250) → LSTM(250) → Dense(1) on 9 sequences of length 2, and a forward and
 * backward pass of one LSTM(128) over T = 100 with batch 32 and one input feature.
 */
import { Rng, normalTensor } from "../lib/random.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { Adam } from "../lib/optimizers.ts";
import { LSTM } from "../lib/recurrent.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "rnn";

export function run({ quick }: { quick: boolean }): BenchResult {
  const timing = quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 5, rounds: 7, minMs: 300 };
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
  const lstm128T100Ms = bestMs(() => {
    const { cache } = lstm.forward(xs, { training: true });
    lstm.backward(dOut, cache);
  }, quick ? timing : { warmup: 2, rounds: 5, minMs: 300 });

  const table = [
    ["benchmark", "ms", "target / reference"],
    ["LSTM(250)→LSTM(250)→Dense(1), 9×(2, 1): one step (forward, BPTT, Adam)", lstm2x250StepMs.toFixed(1), "≤ 45 (PyTorch CPU ≈ 15, TF.js WASM 54, pure JS 363)"],
    ["  of which forward + BPTT (lossAndGradients)", lstm2x250GradMs.toFixed(1), ""],
    ["  of which Adam's update", lstm2x250AdamMs.toFixed(1), ""],
    ["LSTM(128), T = 100, batch 32, F = 1: forward + backward", lstm128T100Ms.toFixed(1), ""],
  ];
  const note = "Best of several rounds, float64, single-threaded.";
  return { table, note, json: { lstm2x250StepMs, lstm128T100Ms, lstm2x250GradMs, lstm2x250AdamMs } };
}
