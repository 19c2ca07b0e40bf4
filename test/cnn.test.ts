import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, takeRows } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { numericalGradient, relError } from "../lib/gradcheck.ts";
import { toCategorical } from "../lib/data.ts";
import { loadDigits } from "../chapters/_shared/datasets.ts";
import { Conv2D } from "../lib/conv.ts";
import { createConvolutionalNeuralNetwork, trainLectureCnn, prepareData } from "../chapters/_shared/lecture-cnn.ts";
import { runGrid } from "../chapters/_shared/grid-pool.ts";
import type { GridTask, GridWorkerData } from "../chapters/_shared/grid-worker.ts";
import { randn } from "./_helpers.ts";

/** Five real digits (raw values 0..16) and their one-hot labels. */
function fiveDigits(): { x: Tensor; y: Tensor } {
  const d = loadDigits();
  const idx = [0, 11, 22, 33, 44];
  return { x: takeRows(d.images, idx), y: takeRows(toCategorical(d.labels, 10), idx) };
}

test("the lecture's CNN: Keras's summary, 5,160 weights ('valid'), 8,660 with padding 'same'", () => {
  const model = createConvolutionalNeuralNetwork({ inputShape: [8, 8, 1], eta: 0.01, lmbd: 1e-4, seed: 1 });
  assert.equal(model.layerOutputShapes(), [[6, 6, 10], [3, 3, 10], [90], [50], [10]]);
  assert.is(model.countParams(), 5160);
  assert.match(model.summary(), /Total params: 5,160/);
  const same = createConvolutionalNeuralNetwork({ inputShape: [8, 8, 1], eta: 0.01, lmbd: 1e-4, seed: 1, padding: "same" });
  assert.equal(same.layerOutputShapes()[1], [4, 4, 10]);
  assert.is(same.countParams(), 8660);
  const mnist = createConvolutionalNeuralNetwork({ inputShape: [28, 28, 1], eta: 0.01, lmbd: 1e-4, seed: 1 });
  assert.equal(mnist.layerOutputShapes(), [[26, 26, 10], [13, 13, 10], [1690], [50], [10]]);
  assert.is(mnist.countParams(), 100 + 1690 * 50 + 50 + 510);
});

test("gradient check of the whole lecture CNN: the loss (with l2) w.r.t. every parameter", () => {
  const rng = new Rng(31);
  const { x, y } = fiveDigits();
  const model = createConvolutionalNeuralNetwork({ inputShape: [8, 8, 1], eta: 0.01, lmbd: 1e-3, seed: 5 });
  const params = model.trainableParams();
  assert.equal(params.map((p) => p.name), ["kernel", "bias", "kernel", "bias", "kernel", "bias"]);
  // Random non-zero biases, so no bias gradient is checked at a special point.
  for (const p of params) if (p.name === "bias") p.value.data.set(randn(p.value.shape, rng, 0.1).data);
  const { grads } = model.lossAndGradients(x, y);
  const loss = (): number => model.evaluate(x, y).loss;
  params.forEach((p, k) => {
    const numeric = numericalGradient(loss, p.value, 1e-6);
    const err = relError(grads[k], numeric);
    assert.ok(err < 1e-7, `${model.layers[[0, 0, 3, 3, 4, 4][k]].name} ${p.name}: relative error ${err.toExponential(2)}`);
    assert.ok(numeric.data.some((v) => Math.abs(v) > 1e-6), `${p.name}: vacuous check`);
  });
});

test("Conv2D.paramGradients, which the model uses for its first layer, equals backward's grads", () => {
  const rng = new Rng(32);
  const conv = new Conv2D(4, 3, { activation: "relu" });
  conv.build([6, 7, 2], rng);
  conv.bias!.data.set([0.1, -0.2, 0.3, -0.1]);
  const x = randn([3, 6, 7, 2], rng);
  const { out, cache } = conv.forward(x, { training: true });
  const dOut = randn(out.shape, rng);
  const full = conv.backward(dOut, cache).grads, only = conv.paramGradients(dOut, cache);
  assert.is(only.length, 2);
  only.forEach((g, i) => assert.ok(g.data.every((v, j) => v === full[i].data[j])));
});

test("training is deterministic for a seed, and a few epochs already learn the digits", () => {
  const data = prepareData("digits", 3);
  assert.equal([data.xTrain.shape[0], data.xTest.shape[0]], [1437, 360]);
  const a = trainLectureCnn(data, { eta: 0.01, lmbd: 1e-4, epochs: 10, seed: 3 });
  const b = trainLectureCnn(data, { eta: 0.01, lmbd: 1e-4, epochs: 10, seed: 3 });
  assert.equal(a.loss, b.loss);
  assert.is(a.testAccuracy, b.testAccuracy);
  assert.ok(a.loss[9] < a.loss[0], `loss ${a.loss}`);
  assert.ok(a.testAccuracy > 0.7, `test accuracy ${a.testAccuracy} after 10 epochs`);
  assert.not.ok(a.diverged);
});

test("a learning rate of 10 diverges without crashing, and is reported at chance level", () => {
  const data = prepareData("digits", 3);
  const r = trainLectureCnn(data, { eta: 10, lmbd: 1e-4, epochs: 100, seed: 3 });
  assert.ok(r.diverged);
  assert.ok(r.epochsRun < 100);
  assert.match(r.divergence!, /loss became|weights ran away/);
  assert.ok(r.testAccuracy < 0.2 && r.trainAccuracy < 0.2, `accuracies ${r.trainAccuracy}, ${r.testAccuracy}`);
});

test("a batch of the wrong shape names the expected (N, H, W, C)", () => {
  const model = createConvolutionalNeuralNetwork({ inputShape: [8, 8, 1], eta: 0.01, lmbd: 1e-4, seed: 1 });
  const bad = new Tensor([4, 64]);
  try {
    model.evaluate(bad, new Tensor([4, 10]));
    assert.unreachable("expected an error");
  } catch (e) {
    assert.match((e as Error).message, /\(N, 8, 8, 1\), got \(4, 64\)/);
  }
});

test("the grid's worker pool: each cell's result is the same on 1 or 2 threads, and a diverging cell does not crash", async () => {
  const tasks: GridTask[] = [
    { index: 0, eta: 0.01, lmbd: 1e-4, seed: 11 },
    { index: 1, eta: 10, lmbd: 1e-4, seed: 12 },
    { index: 2, eta: 0.1, lmbd: 1e-3, seed: 13 },
  ];
  const wd: GridWorkerData = { dataset: "digits", seed: 3, mnistImages: 500, epochs: 1, padding: "valid" };
  const seen: number[] = [];
  const one = await runGrid(tasks, wd, 1, (done) => seen.push(done));
  const two = await runGrid(tasks, wd, 2, () => {});
  assert.equal(seen, [1, 2, 3]);
  for (let k = 0; k < 3; k++) {
    assert.equal(one[k].loss, two[k].loss, `cell ${k}`);
    assert.is(one[k].testAccuracy, two[k].testAccuracy);
  }
  assert.equal(one.map((r) => r.diverged), [false, true, false]);
});

test("a failing grid worker rejects with its error", async () => {
  const wd: GridWorkerData = { dataset: "nope", seed: 3, mnistImages: 500, epochs: 1, padding: "valid" };
  try {
    await runGrid([{ index: 0, eta: 0.01, lmbd: 1e-4, seed: 1 }], wd, 1, () => {});
    assert.unreachable("expected a rejection");
  } catch (e) {
    assert.match((e as Error).message, /unknown dataset 'nope'/);
  }
});

test.run();
