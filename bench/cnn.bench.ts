/**
 * The lecture's CNN, single-threaded: one epoch on the 1437 training digits
 * (batch 100; forward, backward and SGD), and training throughput at 28×28
 * on MNIST, in images per second.
 */
import { takeRows, type Tensor } from "../lib/matrix.ts";
import type { Sequential } from "../lib/model.ts";
import { createConvolutionalNeuralNetwork, prepareData } from "../chapters/_shared/lecture-cnn.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "cnn";

/** One epoch as fit runs it: batches of 100 in a fixed shuffled order, one SGD step each. */
function epoch(model: Sequential, batches: { x: Tensor; y: Tensor }[]): void {
  for (const b of batches) model.trainStep(b.x, b.y);
}

function batchesOf(x: Tensor, y: Tensor, size: number): { x: Tensor; y: Tensor }[] {
  const n = x.shape[0], out: { x: Tensor; y: Tensor }[] = [];
  for (let s = 0; s < n; s += size) {
    const idx = Array.from({ length: Math.min(size, n - s) }, (_, i) => s + i);
    out.push({ x: takeRows(x, idx), y: takeRows(y, idx) });
  }
  return out;
}

export function run({ quick }: { quick: boolean }): BenchResult {
  // the digits: 1437 training images, the lecture's network; a small η keeps the weights sane over many epochs
  const digits = prepareData("digits", 1);
  const model = createConvolutionalNeuralNetwork({ inputShape: digits.inputShape, eta: 1e-3, lmbd: 1e-4, seed: 1 });
  const digitBatches = batchesOf(digits.xTrain, digits.yTrain, 100);
  const digitsEpochMs = bestMs(() => epoch(model, digitBatches), quick ? { warmup: 1, rounds: 1, minMs: 50 } : { warmup: 5, rounds: 12, minMs: 400 });

  // MNIST 28×28: the first 2,000 of the 8,000 training images, batch 100
  const mnist = prepareData("mnist", 1);
  const nImages = quick ? 200 : 2000;
  const mx = takeRows(mnist.xTrain, Array.from({ length: nImages }, (_, i) => i));
  const my = takeRows(mnist.yTrain, Array.from({ length: nImages }, (_, i) => i));
  const mnistModel = createConvolutionalNeuralNetwork({ inputShape: mnist.inputShape, eta: 1e-3, lmbd: 1e-4, seed: 1 });
  const mnistBatches = batchesOf(mx, my, 100);
  const mnistEpochMs = bestMs(() => epoch(mnistModel, mnistBatches), quick ? { warmup: 1, rounds: 1, minMs: 0 } : { warmup: 1, rounds: 8, minMs: 0 });
  const mnistImagesPerSec = nImages / (mnistEpochMs / 1000);

  const table = [
    ["benchmark", "value", "target / reference"],
    ["digits: one epoch, 1437 images, batch 100 (ms)", digitsEpochMs.toFixed(1), "≤ 20, issue 9 (PyTorch CPU ≈ 13.6, ConvNetJS ≈ 135, TF.js pure JS ≈ 1,130)"],
    ["MNIST 28×28: training images per second", mnistImagesPerSec.toFixed(0), "≥ 4,000, issue 9 (PyTorch CPU ≈ 7,900)"],
  ];
  const note = "Best of several rounds, float64, single-threaded: forward, backward and the SGD update of the lecture's CNN.";
  return { table, note, json: { digitsEpochMs, mnistImagesPerSec } };
}
