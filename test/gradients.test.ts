/** Finite-difference checks of every activation, both losses, Dense (2-D and 3-D) and the l2 penalty. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { ACTIVATIONS, activationForward, activationForwardBias, activationBackward } from "../lib/activations.ts";
import { mseForward, mseBackward, softmaxCrossEntropyForward, softmaxCrossEntropyBackward } from "../lib/losses.ts";
import { denseForward, denseBackward, Dense } from "../lib/layers.ts";
import { l2 } from "../lib/regularizers.ts";
import { toCategorical } from "../lib/data.ts";
import { randn, assertGrad, weighted } from "./_helpers.ts";

for (const name of ACTIVATIONS) {
  test(`activation ${name}: backward matches centred differences`, () => {
    const rng = new Rng(10);
    const z = randn([4, 5], rng, 1.5);
    // keep relu away from its kink at 0, where the derivative is undefined
    if (name === "relu") for (let i = 0; i < z.size; i++) if (Math.abs(z.data[i]) < 0.05) z.data[i] += 0.1;
    const dOut = randn([4, 5], rng);
    const { cache } = activationForward(name, z);
    const dz = activationBackward(dOut, cache);
    assertGrad(name, () => weighted(activationForward(name, z).out, dOut), z, dz);
  });
}

test("tanh: activationForwardBias and σ' (four numbers per pass) give the one-at-a-time loops' bits for every width, remainders included", () => {
  const rng = new Rng(13);
  for (let u = 1; u <= 9; u++) {
    const z = randn([3, u], rng, 1.5), b = randn([u], rng), dOut = randn([3, u], rng);
    const { a } = activationForwardBias("tanh", z, b, new Tensor([3, u]));
    const dz = activationBackward(dOut, { name: "tanh", a });
    for (let i = 0; i < 3 * u; i++) {
      const h = Math.tanh(z.data[i] + b.data[i % u]);
      assert.ok(Object.is(a.data[i], h), `u = ${u}, entry ${i}: tanh(z + b) ${a.data[i]}, expected ${h}`);
      const d = dOut.data[i] * (1 - h * h);
      assert.ok(Object.is(dz.data[i], d), `u = ${u}, entry ${i}: σ' ${dz.data[i]}, expected ${d}`);
    }
  }
});

test("mean squared error: ∂L/∂ŷ", () => {
  const rng = new Rng(11);
  const yPred = randn([6, 3], rng), yTrue = randn([6, 3], rng);
  const { loss, cache } = mseForward(yPred, yTrue);
  let s = 0;
  for (let i = 0; i < yPred.size; i++) s += (yPred.data[i] - yTrue.data[i]) ** 2;
  assert.ok(Math.abs(loss - s / 18) < 1e-15);
  assertGrad("mse", () => mseForward(yPred, yTrue).loss, yPred, mseBackward(cache));
});

test("softmax + cross-entropy (fused): ∂L/∂z, and it equals softmax then CE", () => {
  const rng = new Rng(12);
  const z = randn([5, 4], rng, 2);
  const y = toCategorical([0, 3, 1, 1, 2], 4);
  const { loss, cache } = softmaxCrossEntropyForward(z, y);
  assertGrad("softmax-CE", () => softmaxCrossEntropyForward(z, y).loss, z, softmaxCrossEntropyBackward(cache));
  const p = activationForward("softmax", z).out;
  let ce = 0;
  for (let i = 0; i < p.size; i++) if (y.data[i]) ce -= Math.log(p.data[i]);
  assert.ok(Math.abs(loss - ce / 5) < 1e-12);
});

test("softmax + cross-entropy stays finite for huge logits (log-sum-exp)", () => {
  const z = new Tensor([1, 3], Float64Array.from([1000, -1000, 0]));
  const y = toCategorical([1], 3);
  const { loss, cache } = softmaxCrossEntropyForward(z, y);
  assert.ok(Math.abs(loss - 2000) < 1e-9, `loss ${loss}`);
  assert.ok(softmaxCrossEntropyBackward(cache).data.every(Number.isFinite));
});

function checkDense(xShape: number[]): void {
  const rng = new Rng(13);
  const F = xShape[xShape.length - 1];
  const x = randn(xShape, rng), W = randn([F, 4], rng), b = randn([4], rng);
  const dOut = randn([...xShape.slice(0, -1), 4], rng);
  const { cache } = denseForward(x, W, b);
  const { dX, dW, db } = denseBackward(dOut, cache);
  const f = () => weighted(denseForward(x, W, b).out, dOut);
  assertGrad("dX", f, x, dX);
  assertGrad("dW", f, W, dW);
  assertGrad("db", f, b, db!);
}

test("Dense kernel on 2-D input (N, F): input, kernel, bias", () => checkDense([5, 3]));
test("Dense kernel on 3-D input (N, T, F), per time step: input, kernel, bias", () => checkDense([2, 4, 3]));

function checkDenseLayer(activation: "tanh" | "relu", perSample: number[]): void {
  const rng = new Rng(14);
  const layer = new Dense(3, { activation });
  layer.build(perSample, rng);
  layer.bias!.data.set(randn([3], rng).data);
  const x = randn([6, ...perSample], rng), dOut = randn([6, ...perSample.slice(0, -1), 3], rng);
  // keep relu away from its kink at 0
  const z = layer.forward(x, { training: true, linearOutput: true }).out;
  assert.ok(z.data.every((v) => Math.abs(v) > 1e-4), "a pre-activation too close to 0 for a finite-difference check");
  const { cache } = layer.forward(x, { training: true });
  const { dX, grads } = layer.backward(dOut, cache);
  const f = () => weighted(layer.forward(x, { training: true }).out, dOut);
  assertGrad("dX", f, x, dX);
  assertGrad("dW", f, layer.kernel!, grads[0]);
  assertGrad("db", f, layer.bias!, grads[1]);
}

test("Dense layer with its activation: input, kernel and a random non-zero bias", () => checkDenseLayer("tanh", [4]));
test("Dense layer on a sequence batch (N, T, F), relu: input, kernel and bias", () => checkDenseLayer("relu", [4, 2]));

test("l2 penalty: λΣw² and its gradient 2λw", () => {
  const rng = new Rng(15);
  const w = randn([3, 4], rng);
  const reg = l2(0.3);
  let s = 0;
  for (const v of w.data) s += v * v;
  assert.ok(Math.abs(reg.penalty(w) - 0.3 * s) < 1e-14);
  const g = new Tensor(w.shape);
  reg.addGradient(w, g);
  assertGrad("l2", () => reg.penalty(w), w, g);
});

test("backward passes leave their inputs and caches unchanged", () => {
  const rng = new Rng(16);
  const x = randn([3, 2], rng), W = randn([2, 2], rng), b = randn([2], rng), dOut = randn([3, 2], rng);
  const before = [x, W, b, dOut].map((t) => Array.from(t.data));
  const { cache } = denseForward(x, W, b);
  denseBackward(dOut, cache);
  const first = denseBackward(dOut, cache);
  const second = denseBackward(dOut, cache);
  assert.equal(Array.from(first.dW.data), Array.from(second.dW.data));
  assert.equal([x, W, b, dOut].map((t) => Array.from(t.data)), before);
});

test.run();
