/** getWeights/setWeights, saveWeights/loadWeights, Dense on sequences and fit's per-epoch lines for recurrent models. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor, timeStep } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { SimpleRNN, GRU, LSTM } from "../lib/recurrent.ts";
import { Adam, RMSprop } from "../lib/optimizers.ts";
import { encodeFloat64, decodeFloat64 } from "../lib/weights-file.ts";
import { randn, maxAbsDiff, assertThrowsMatching } from "./_helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "scratchnets-weights-"));

function gruNet(seed: number, units = 5): Sequential {
  const m = new Sequential({ seed });
  m.add(new Dense(6, { inputShape: [2, 1], activation: "relu" })).add(new GRU(units, { returnSequences: true })).add(new GRU(units)).add(new Dense(1));
  m.compile({ loss: "mse", optimizer: new Adam() });
  return m;
}

test("Dense on (N, T, F) equals Dense applied to each time step (N, F) separately", () => {
  const rng = new Rng(1);
  const layer = new Dense(4, { activation: "tanh" });
  layer.build([3, 5], rng);
  layer.bias!.data.set(randn([4], rng).data);
  const x = randn([2, 3, 5], rng);
  const out = layer.forward(x, { training: false }).out;
  assert.equal(out.shape, [2, 3, 4]);
  for (let t = 0; t < 3; t++) {
    const step = layer.forward(timeStep(x, t), { training: false }).out;
    assert.ok(maxAbsDiff(timeStep(out, t), step) < 1e-15, `time step ${t}`);
  }
});

test("getWeights: Keras's order and layouts (kernel, recurrent_kernel, bias per layer), as copies", () => {
  const m = new Sequential({ seed: 3 });
  m.add(new SimpleRNN(4, { inputShape: [2, 3], returnSequences: true })).add(new LSTM(2, { returnSequences: true })).add(new GRU(3)).add(new Dense(1));
  const shapes = m.getWeights().map((w) => w.shape);
  assert.equal(shapes, [[3, 4], [4, 4], [4], [4, 8], [2, 8], [8], [2, 9], [3, 9], [2, 9], [3, 1], [1]]);
  const w = m.getWeights();
  w[0].data[0] += 1;
  assert.is.not(m.getWeights()[0].data[0], w[0].data[0]);
});

test("setWeights copies the values in; a wrong count or shape is refused naming the weight", () => {
  const a = gruNet(4), b = gruNet(5);
  b.setWeights(a.getWeights());
  const x = randn([3, 2, 1], new Rng(6));
  assert.equal(Array.from(b.predict(x).data), Array.from(a.predict(x).data));
  const w = a.getWeights();
  assertThrowsMatching(() => b.setWeights(w.slice(1)), /setWeights: got 9 arrays, the model has 10 \(dense\/kernel, dense\/bias, gru\/kernel/, "count");
  const bad = [...w];
  bad[2] = new Tensor([1, 18]);
  assertThrowsMatching(() => b.setWeights(bad), /setWeights: array 3 \(gru\/kernel\) has shape \(1, 18\), expected \(6, 15\)/, "shape");
});

test("float64 ↔ base64 keeps every bit, -0, NaN, ±Infinity and subnormals included", () => {
  const v = Float64Array.from([0, -0, NaN, Infinity, -Infinity, 5e-324, Math.PI, -1 / 3, 1e308]);
  const back = decodeFloat64(encodeFloat64(v), v.length, "t");
  assert.equal(new Uint8Array(back.buffer), new Uint8Array(v.buffer));
});

test("saveWeights/loadWeights round-trip bit for bit, after training", () => {
  const a = gruNet(7);
  const x = randn([9, 2, 1], new Rng(8)), y = randn([9, 1], new Rng(9));
  a.fit(x, y, { epochs: 3, verbose: 0 });
  const path = join(dir, "gru.weights.json");
  a.saveWeights(path);
  const b = gruNet(10);
  b.loadWeights(path);
  const wa = a.getWeights(), wb = b.getWeights();
  wa.forEach((t, i) => assert.equal(new Uint8Array(wb[i].data.buffer), new Uint8Array(t.data.buffer), `weight ${i}`));
});

test("loadWeights refuses another architecture, naming the first layer that differs", () => {
  const path = join(dir, "gru5.weights.json");
  gruNet(1, 5).saveWeights(path);
  assertThrowsMatching(() => gruNet(1, 6).loadWeights(path), /holds another network: layer 2 \(gru\) is GRU with kernel \(6, 15\).* in the file, but GRU with kernel \(6, 18\)/, "units");
  const rnn = new Sequential({ seed: 1 });
  rnn.add(new SimpleRNN(5, { inputShape: [2, 1] })).add(new Dense(1));
  assertThrowsMatching(() => rnn.loadWeights(path), /layer 1 \(simple_rnn\) is Dense with kernel \(1, 6\), bias \(6,\) in the file, but SimpleRNN/, "class");
  const short = new Sequential({ seed: 1 });
  short.add(new Dense(6, { inputShape: [2, 1], activation: "relu" })).add(new GRU(5, { returnSequences: true })).add(new GRU(5));
  assertThrowsMatching(() => short.loadWeights(path), /layer 4 \(dense_1, Dense\) is beyond the model's 3 layers/, "length");
});

test("loadWeights: a missing file, a file that is not JSON, JSON that is not a weights file, a truncated weight", () => {
  const m = gruNet(1);
  assertThrowsMatching(() => m.loadWeights(join(dir, "nope.json")), /no such weights file '.*nope\.json'/, "missing");
  const notJson = join(dir, "not.json");
  writeFileSync(notJson, "hello");
  assertThrowsMatching(() => m.loadWeights(notJson), /not\.json' is not JSON/, "not JSON");
  const other = join(dir, "other.json");
  writeFileSync(other, JSON.stringify({ a: 1 }));
  assertThrowsMatching(() => m.loadWeights(other), /not a scratchnets weights file/, "other JSON");
  const good = join(dir, "good.json");
  m.saveWeights(good);
  const file = JSON.parse(readFileSync(good, "utf8"));
  file.layers[0].weights[0].data = file.layers[0].weights[0].data.slice(0, 8);
  writeFileSync(good, JSON.stringify(file));
  assertThrowsMatching(() => m.loadWeights(good), /dense\/kernel: expected 6 float64 values \(48 bytes\), the file holds 6 bytes/, "truncated");
});

test("fit with verbose 1 prints loss and val_loss per epoch for a recurrent model, Keras's number format", () => {
  const m = gruNet(11);
  const x = randn([10, 2, 1], new Rng(12)), y = randn([10, 1], new Rng(13));
  const lines: string[] = [];
  const h = m.fit(x, y, { epochs: 3, verbose: 1, validationSplit: 0.05, log: (l) => lines.push(l) });
  assert.is(lines.length, 3);
  lines.forEach((l, i) => assert.match(l, new RegExp(`^Epoch ${i + 1}/3 - loss: \\d\\.\\d{4}(e[+-]\\d+)? - val_loss: \\d\\.\\d{4}(e[+-]\\d+)?$`), l));
  assert.is(h.history.val_loss.length, 3);
});

test("Adam and RMSprop keep their state across model.trainStep calls (a layer's params() records are fresh each call)", () => {
  for (const make of [() => new Adam(), () => new RMSprop()]) {
    const x = randn([4, 2, 1], new Rng(20)), y = randn([4, 1], new Rng(21));
    const viaModel = gruNet(22);
    viaModel.compile({ loss: "mse", optimizer: make() });
    const byHand = gruNet(22);
    byHand.compile({ loss: "mse", optimizer: make() });
    const opt = make(), params = byHand.trainableParams();
    for (let step = 0; step < 3; step++) {
      viaModel.trainStep(x, y);
      opt.apply(params, byHand.lossAndGradients(x, y).grads);
    }
    const a = viaModel.getWeights(), b = byHand.getWeights();
    a.forEach((t, i) => assert.ok(maxAbsDiff(t, b[i]) < 1e-15, `${opt.name}: weight ${i}`));
  }
});

test.run();
