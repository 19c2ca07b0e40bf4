/** SimpleRNN, LSTM and GRU as Sequential layers: Keras's parameter counts and initialisers, gradient checks through layers and stacks, training, errors. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, matmulABt } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { Adam } from "../lib/optimizers.ts";
import { numericalGradient, relError } from "../lib/gradcheck.ts";
import type { Layer } from "../lib/layer.ts";
import { SimpleRNN, LSTM, GRU } from "../lib/recurrent.ts";
import { randn, weighted, assertThrowsMatching, TOL } from "./_helpers.ts";

// ---------------------------------------------------------------- Keras's counts

const kerasCounts: [string, () => Sequential, number][] = [
  ["SimpleRNN(32) on (1, 4) → Dense(8) → Dense(1)", () => new Sequential().add(new SimpleRNN(32, { inputShape: [1, 4] })).add(new Dense(8)).add(new Dense(1)), 1457],
  ["SimpleRNN(200) on (2, 1) → Dense(1)", () => new Sequential().add(new SimpleRNN(200, { inputShape: [2, 1] })).add(new Dense(1)), 40601],
  ["SimpleRNN(500) → SimpleRNN(500) → Dense(1) on (2, 1)", () => new Sequential().add(new SimpleRNN(500, { inputShape: [2, 1], returnSequences: true })).add(new SimpleRNN(500)).add(new Dense(1)), 752001],
  ["LSTM(250) → LSTM(250) → Dense(1) on (2, 1)", () => new Sequential().add(new LSTM(250, { inputShape: [2, 1], returnSequences: true })).add(new LSTM(250)).add(new Dense(1)), 753251],
  [
    "Dense(125, relu) → Dense(125, relu) → GRU(250) → GRU(250) → Dense(1) on (2, 1)",
    () =>
      new Sequential()
        .add(new Dense(125, { inputShape: [2, 1], activation: "relu" }))
        .add(new Dense(125, { activation: "relu" }))
        .add(new GRU(250, { returnSequences: true }))
        .add(new GRU(250))
        .add(new Dense(1)),
    675501,
  ],
];
for (const [name, make, count] of kerasCounts) {
  test(`summary(): ${name} has ${count.toLocaleString("en-US")} parameters, as Keras counts`, () => {
    const model = make();
    assert.is(model.countParams(), count);
    assert.ok(model.summary().includes(`Total params: ${count.toLocaleString("en-US")}`));
  });
}

test("summary(): Keras's layer names and output shapes for stacked recurrent layers", () => {
  const model = new Sequential().add(new LSTM(4, { inputShape: [3, 2], returnSequences: true })).add(new LSTM(5)).add(new Dense(1));
  const s = model.summary();
  assert.match(s, /lstm \(LSTM\)\s+\(None, 3, 4\)\s+112/);
  assert.match(s, /lstm_1 \(LSTM\)\s+\(None, 5\)\s+200/);
});

// ---------------------------------------------------------------- initialisers

test("initialisers: kernel glorot_uniform, recurrent kernel orthogonal, bias zeros, LSTM forget-gate bias 1", () => {
  const rng = new Rng(1);
  const F = 3, u = 4;
  const rnn = new SimpleRNN(u), lstm = new LSTM(u), gru = new GRU(u), lstmNoForget = new LSTM(u, { unitForgetBias: false });
  for (const l of [rnn, lstm, gru, lstmNoForget]) l.build([5, F], rng);
  const checkLayer = (l: Layer, gates: number) => {
    const [kernel, rec, bias] = l.params();
    assert.equal([kernel.name, rec.name, bias.name], ["kernel", "recurrent_kernel", "bias"]);
    const limit = Math.sqrt(6 / (F + gates * u));
    assert.ok(kernel.value.data.every((v) => Math.abs(v) <= limit), "glorot_uniform bound");
    assert.ok(kernel.value.data.some((v) => Math.abs(v) > limit / 2), "not a degenerate kernel");
    // orthogonal (u, gates·u): orthonormal rows, rec·recᵀ = I
    const G = matmulABt(rec.value, rec.value);
    for (let i = 0; i < u; i++) for (let j = 0; j < u; j++) assert.ok(Math.abs(G.get(i, j) - (i === j ? 1 : 0)) < 1e-12);
    return bias.value;
  };
  assert.ok(checkLayer(rnn, 1).data.every((v) => v === 0));
  const b = checkLayer(lstm, 4);
  assert.equal(Array.from(b.data), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(checkLayer(lstmNoForget, 4).data.every((v) => v === 0));
  const gb = checkLayer(gru, 3);
  assert.equal(gb.shape, [2, 12]);
  assert.ok(gb.data.every((v) => v === 0));
});

// ---------------------------------------------------------------- gradient checks through layers

/** Builds `layers` in a chain, fills every parameter with random non-zero values, and checks ∂(Σ out·G)/∂(x and every parameter). */
function checkStack(layers: Layer[], inputShape: number[], N: number, seed: number): number {
  const rng = new Rng(seed);
  let shape = inputShape;
  for (const l of layers) shape = l.build(shape, rng);
  for (const l of layers) for (const p of l.params()) p.value.data.set(randn(p.value.shape, rng, 0.5).data);
  const x = randn([N, ...inputShape], rng);
  const G = randn([N, ...shape], rng);
  const forward = () => {
    let a = x;
    const caches: unknown[] = [];
    for (const l of layers) {
      const r = l.forward(a, { training: true });
      caches.push(r.cache);
      a = r.out;
    }
    return { out: a, caches };
  };
  const { out, caches } = forward();
  let d = G;
  const grads: Tensor[][] = [];
  for (let i = layers.length - 1; i >= 0; i--) {
    const r = layers[i].backward(d, caches[i]);
    grads[i] = r.grads;
    d = r.dX;
  }
  assert.equal(out.shape, [N, ...shape]);
  const f = () => weighted(forward().out, G);
  let worst = relError(d, numericalGradient(f, x));
  layers.forEach((l, i) =>
    l.params().forEach((p, k) => {
      const num = numericalGradient(f, p.value);
      const err = relError(grads[i][k], num);
      assert.ok(err < TOL, `${l.className} ${p.name}: relative error ${err.toExponential(2)}`);
      assert.ok(num.data.some((v) => Math.abs(v) > 1e-6), `${l.className} ${p.name}: vacuous check`);
      worst = Math.max(worst, err);
    }),
  );
  assert.ok(worst < TOL, `worst relative error ${worst.toExponential(2)}`);
  return worst;
}

const makers: [string, (o: { returnSequences: boolean; trainableInitialState: boolean }) => Layer][] = [
  ["SimpleRNN tanh", (o) => new SimpleRNN(4, o)],
  ["SimpleRNN relu", (o) => new SimpleRNN(4, { ...o, activation: "relu" })],
  ["LSTM", (o) => new LSTM(3, o)],
  ["GRU", (o) => new GRU(3, o)],
];
for (const [name, make] of makers) {
  for (const returnSequences of [true, false]) {
    test(`${name} layer, returnSequences = ${returnSequences}, learned initial state: gradients of x and every parameter (T = 5, N = 3)`, () => {
      const layer = make({ returnSequences, trainableInitialState: true });
      checkStack([layer], [5, 2], 3, 11);
      assert.ok(layer.params().some((p) => p.name === "initial_h"));
    });
  }
}

test("two stacked recurrent layers: SimpleRNN(returnSequences) → LSTM, and GRU(returnSequences) → GRU, gradients through both", () => {
  checkStack([new SimpleRNN(4, { returnSequences: true, trainableInitialState: true }), new LSTM(3, { trainableInitialState: true })], [5, 2], 2, 12);
  checkStack([new GRU(3, { returnSequences: true }), new GRU(4, { returnSequences: true })], [6, 2], 2, 13);
});

test("whole model: LSTM → LSTM → Dense(1) with MSE, lossAndGradients matches finite differences for every parameter", () => {
  const model = new Sequential({ seed: 3 });
  model.add(new LSTM(3, { inputShape: [4, 1], returnSequences: true })).add(new LSTM(3)).add(new Dense(1));
  model.compile({ loss: "mse", optimizer: new Adam() });
  const rng = new Rng(4);
  for (const p of model.trainableParams()) p.value.data.set(randn(p.value.shape, rng, 0.5).data);
  const x = randn([2, 4, 1], rng), y = randn([2, 1], rng);
  const { grads } = model.lossAndGradients(x, y);
  model.trainableParams().forEach((p, i) => {
    const err = relError(grads[i], numericalGradient(() => model.lossAndGradients(x, y).loss, p.value));
    assert.ok(err < TOL, `${p.name}: ${err.toExponential(2)}`);
  });
});

test("a layer's second backward pass from the same cache gives identical gradients", () => {
  const rng = new Rng(5);
  const l = new GRU(3, { returnSequences: true });
  l.build([4, 2], rng);
  const { cache } = l.forward(randn([2, 4, 2], rng), { training: true });
  const dOut = randn([2, 4, 3], rng);
  const a = l.backward(dOut, cache), b = l.backward(dOut, cache);
  a.grads.forEach((g, i) => assert.equal(Array.from(g.data), Array.from(b.grads[i].data)));
  assert.equal(Array.from(a.dX.data), Array.from(b.dX.data));
});

// ---------------------------------------------------------------- training

test("training: SimpleRNN(8) → Dense(1) learns the mean of a sequence of 5 numbers with Adam", () => {
  const rng = new Rng(6);
  const n = 64;
  const x = randn([n, 5, 1], rng);
  const y = new Tensor([n, 1]);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < 5; t++) s += x.get(i, t, 0);
    y.data[i] = s / 5;
  }
  const model = new Sequential({ seed: 7 });
  model.add(new SimpleRNN(8, { inputShape: [5, 1] })).add(new Dense(1));
  model.compile({ loss: "mse", optimizer: new Adam({ learningRate: 0.01 }) });
  const before = model.evaluate(x, y).loss;
  model.fit(x, y, { epochs: 60, batchSize: 16, verbose: 0 });
  const after = model.evaluate(x, y).loss;
  assert.ok(after < before / 10, `loss ${before} → ${after}`);
});

// ---------------------------------------------------------------- errors

test("bad input: a 2-D input, the wrong feature size, a non-sequence input shape", () => {
  const rng = new Rng(8);
  const l = new SimpleRNN(4);
  l.build([6, 3], rng);
  assertThrowsMatching(() => l.forward(new Tensor([5, 3]), { training: false }), /SimpleRNN\(4\): expected a sequence batch \(N, T, F\) with F = 3, got a 2-D input \(5, 3\)/, "2-D");
  assertThrowsMatching(() => l.forward(new Tensor([5, 6, 2]), { training: false }), /SimpleRNN\(4\): the sequence \(5, 6, 2\) has 2 features per time step, the kernel expects 3/, "features");
  assertThrowsMatching(() => new LSTM(4).build([3], rng), /LSTM\(4\): expected a per-sample input shape \(T, features\), got \(3,\)/, "build");
  assertThrowsMatching(() => new Sequential().add(new GRU(2, { inputShape: [7] })).build(), /GRU\(2\): expected a per-sample input shape \(T, features\), got \(7,\)/, "model");
  assertThrowsMatching(() => new LSTM(0), /units must be a positive integer, got 0/, "units");
  const { cache } = l.forward(new Tensor([2, 6, 3]), { training: false });
  assertThrowsMatching(() => l.backward(new Tensor([2, 6, 4]), cache), /dOut has shape \(2, 6, 4\), expected \(2, 4\)/, "dOut");
});

test.run();
