import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { Sequential } from "../lib/model.ts";
import { Dense, Flatten } from "../lib/layers.ts";
import { SGD, Adam } from "../lib/optimizers.ts";
import { l2 } from "../lib/regularizers.ts";
import { toCategorical } from "../lib/data.ts";
import { relError, numericalGradient } from "../lib/gradcheck.ts";
import { randn, assertThrowsMatching } from "./_helpers.ts";

/** Two noisy Gaussian blobs per class in 2-D, three classes: a small problem a dense net must learn. */
function blobs(n: number, seed: number): { x: Tensor; y: Tensor; labels: number[] } {
  const rng = new Rng(seed);
  const centres = [[-2, 0], [2, 0], [0, 2.5]];
  const x = new Tensor([n, 2]);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels.push(c);
    x.data[2 * i] = centres[c][0] + 0.6 * rng.normal();
    x.data[2 * i + 1] = centres[c][1] + 0.6 * rng.normal();
  }
  return { x, y: toCategorical(labels, 3), labels };
}

function classifier(seed: number, lr = 0.1): Sequential {
  const model = new Sequential({ seed });
  model.add(new Dense(16, { inputShape: [2], activation: "relu" }));
  model.add(new Dense(3, { activation: "softmax" }));
  model.compile({ loss: "categorical_crossentropy", optimizer: new SGD({ learningRate: lr }), metrics: ["accuracy"] });
  return model;
}

test("summary: Dense(50) on 90 inputs then Dense(10) has 5,060 parameters, as Keras prints", () => {
  const model = new Sequential();
  model.add(new Dense(50, { inputShape: [90], activation: "relu" }));
  model.add(new Dense(10, { activation: "softmax" }));
  const s = model.summary();
  assert.match(s, /Total params: 5,060/);
  assert.match(s, /dense \(Dense\)\s+\(None, 50\)\s+4,550/);
  assert.match(s, /dense_1 \(Dense\)\s+\(None, 10\)\s+510/);
  assert.is(model.countParams(), 5060);
});

test("a small dense network learns three blobs (test accuracy ≥ 0.95, loss falls below 0.2)", () => {
  const train = blobs(300, 1), testSet = blobs(150, 2);
  const model = classifier(3);
  const before = model.evaluate(testSet.x, testSet.y);
  const history = model.fit(train.x, train.y, { epochs: 40, batchSize: 16, verbose: 0 });
  const after = model.evaluate(testSet.x, testSet.y);
  assert.ok(before.accuracy! < 0.8, `untrained accuracy ${before.accuracy} should be poor`);
  assert.ok(after.accuracy! >= 0.95, `test accuracy ${after.accuracy}`);
  const loss = history.history.loss;
  assert.ok(loss[loss.length - 1] < 0.2, `final loss ${loss[loss.length - 1]}`);
  assert.ok(loss[loss.length - 1] < loss[0] / 3, "the loss falls");
  assert.is(history.stopped, null);
});

test("the same seed gives a bit-identical history; another seed does not", () => {
  const { x, y } = blobs(120, 4);
  const run = (seed: number) => classifier(seed).fit(x, y, { epochs: 5, batchSize: 10, validationSplit: 0.25, verbose: 0 }).history;
  const a = run(9), b = run(9), c = run(10);
  assert.equal(a, b);
  assert.not.equal(a.loss, c.loss);
  assert.equal(Object.keys(a).sort(), ["accuracy", "loss", "val_accuracy", "val_loss"]);
});

test("validationSplit holds out the LAST fraction of the samples, before shuffling (as Keras)", () => {
  const { x, y } = blobs(100, 5);
  const model = classifier(1);
  const h = model.fit(x, y, { epochs: 1, batchSize: 10, validationSplit: 0.2, verbose: 0 });
  // evaluate the trained model on the last 20 samples: must equal the logged val_loss
  const xs = new Tensor([20, 2], x.data.slice(160));
  const ys = new Tensor([20, 3], y.data.slice(240));
  assert.ok(Math.abs(model.evaluate(xs, ys).loss - h.history.val_loss[0]) < 1e-12);
  // and not on the first 20
  const xf = new Tensor([20, 2], x.data.slice(0, 40));
  const yf = new Tensor([20, 3], y.data.slice(0, 60));
  assert.ok(Math.abs(model.evaluate(xf, yf).loss - h.history.val_loss[0]) > 1e-6);
});

test("whole-model gradient check: Dense-tanh → Dense-softmax with l2, every parameter", () => {
  const rng = new Rng(6);
  const model = new Sequential({ seed: 6 });
  model.add(new Dense(5, { inputShape: [2, 3], activation: "tanh", kernelRegularizer: l2(0.01) }));
  model.add(new Flatten());
  model.add(new Dense(4, { activation: "softmax", kernelRegularizer: l2(0.02) }));
  model.compile({ loss: "categorical_crossentropy", optimizer: new SGD() });
  const params = model.trainableParams();
  for (const p of params) if (p.name === "bias") p.value.data.set(randn(p.value.shape, rng, 0.5).data);
  const x = randn([3, 2, 3], rng), y = toCategorical([0, 3, 2], 4);
  const { grads } = model.lossAndGradients(x, y);
  params.forEach((p, i) => {
    const num = numericalGradient(() => model.lossAndGradients(x, y).loss, p.value);
    const err = relError(grads[i], num);
    assert.ok(err < 1e-7, `${p.name} #${i}: ${err}`);
  });
});

test("fit with x and y of different lengths says so", () => {
  const model = classifier(1);
  assertThrowsMatching(() => model.fit(new Tensor([10, 2]), new Tensor([9, 3])), /x has 10 samples but y has 9/, "fit");
  assertThrowsMatching(() => model.fit(new Tensor([10, 3]), new Tensor([10, 3])), /expects input of shape \(N, 2\), got \(10, 3\)/, "fit shape");
  assertThrowsMatching(() => model.predict(new Tensor([4, 5])), /expects input of shape \(N, 2\), got \(4, 5\)/, "predict");
});

test("a Dense layer given the wrong number of features names both counts", () => {
  const d = new Dense(50);
  d.build([90], new Rng(0));
  assertThrowsMatching(() => d.forward(new Tensor([2, 64]), { training: false }), /Dense\(50\): input \(2, 64\) has 64 features, kernel expects 90/, "Dense");
});

test("a loss that turns NaN stops training, names epoch and step, and records it", () => {
  const { x, y } = blobs(60, 7);
  const model = new Sequential({ seed: 1 });
  model.add(new Dense(8, { inputShape: [2], activation: "relu" }));
  model.add(new Dense(3, { activation: "softmax" }));
  model.compile({ loss: "categorical_crossentropy", optimizer: new SGD({ learningRate: 1e6 }), metrics: ["accuracy"] });
  const said: string[] = [];
  const h = model.fit(x, y, { epochs: 50, batchSize: 6, verbose: 0, log: (line) => said.push(line) });
  assert.ok(h.stopped !== null, "training should have stopped");
  assert.is(said.length, 1, "fit says so once, even with verbose 0");
  assert.match(said[0], /fit stopped: the loss became (NaN|Infinity|-Infinity) at epoch \d+, step \d+/);
  assert.match(h.stopped!.message, /epoch \d+, step \d+/);
  assert.ok(h.history.loss.length < 50, "no epochs after the stop");
  assert.ok(!Number.isFinite(h.history.loss[h.history.loss.length - 1]));
  assert.ok(model.trainableParams().every((p) => p.value.data.every(Number.isFinite)), "no NaN step was applied");
});

test("onBatchEnd can stop training with a message, recorded like a NaN stop", () => {
  const { x, y } = blobs(60, 8);
  const model = classifier(2);
  const said: string[] = [];
  const h = model.fit(x, y, {
    epochs: 5, batchSize: 10, verbose: 0, log: (l) => said.push(l),
    onBatchEnd: (epoch, step) => (epoch === 2 && step === 3 ? "enough" : null),
  });
  assert.equal(h.stopped, { epoch: 2, step: 3, message: "enough" });
  assert.is(h.history.loss.length, 2);
  assert.equal(said, ["fit stopped: enough"]);
});

test("compile checks the loss against the output layer", () => {
  const model = new Sequential();
  model.add(new Dense(3, { inputShape: [2], activation: "relu" }));
  assertThrowsMatching(() => model.compile({ loss: "categorical_crossentropy", optimizer: new Adam() }), /softmax/, "compile");
  assertThrowsMatching(() => model.compile({ loss: "hinge", optimizer: new Adam() }), /unknown loss 'hinge'/, "loss name");
});

test.run();
