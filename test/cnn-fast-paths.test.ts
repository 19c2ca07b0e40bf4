import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, takeRows } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { activationForward, activationBackward } from "../lib/activations.ts";
import { conv2dForward, conv2dBackward, conv2dReluBackward, conv2dBackwardNaive, type ConvOptions } from "../lib/conv.ts";
import { maxPoolForward, maxPoolBackward, maxPoolForwardGeneral, poolGeometry } from "../lib/pool.ts";
import { denseForward } from "../lib/layers.ts";
import { Workspace } from "../lib/workspace.ts";
import { createConvolutionalNeuralNetwork } from "../chapters/_shared/lecture-cnn-model.ts";
import { randn, maxAbsDiff, relDiff } from "./_helpers.ts";

const CASES: { name: string; x: number[]; k: number[]; opts: ConvOptions }[] = [
  { name: "the lecture's: 8×8, 3×3, 10 filters", x: [5, 8, 8, 1], k: [3, 3, 1, 10], opts: {} },
  { name: "3 channels, non-square image", x: [2, 5, 7, 3], k: [3, 3, 3, 4], opts: {} },
  { name: "same, stride 2, even kernel", x: [2, 7, 8, 2], k: [4, 2, 2, 3], opts: { padding: "same", strides: 2 } },
];

test("conv2dReluBackward equals activationBackward + conv2dBackward, and the sliding-window reference, to 1e-12", () => {
  const rng = new Rng(11);
  for (const c of CASES) {
    const x = randn(c.x, rng), K = randn(c.k, rng), b = randn([c.k[3]], rng);
    const { out: z, cache } = conv2dForward(x, K, b, c.opts);
    const act = activationForward("relu", z);
    // a gradient with zeros, as max pooling routes it: every other entry
    const dOut = randn(z.shape, rng);
    for (let i = 0; i < dOut.size; i += 2) dOut.data[i] = 0;
    const dZ = activationBackward(dOut, act.cache);
    const ref = conv2dBackward(dZ, cache);
    const naive = conv2dBackwardNaive(dZ, x, K, c.opts);
    const fast = conv2dReluBackward(dOut, act.out, cache);
    for (const [name, f, r, n] of [["dX", fast.dX!, ref.dX!, naive.dX], ["dW", fast.dW, ref.dW, naive.dW], ["db", fast.db!, ref.db!, naive.db]] as const) {
      assert.ok(relDiff(f, r) < 1e-12, `${c.name}: ${name} vs the im2col path`);
      assert.ok(relDiff(f, n) < 1e-12, `${c.name}: ${name} vs the naive loops`);
    }
    assert.is(conv2dReluBackward(dOut, act.out, cache, false).dX, null);
    // into reused buffers holding garbage: the same numbers
    const junk = (shape: number[]): Tensor => new Tensor(shape, new Float64Array(shape.reduce((p, d) => p * d, 1)).fill(7));
    const reused = conv2dReluBackward(dOut, act.out, cache, true, { dcols: junk(cache.cols.shape), dX: junk(x.shape) });
    assert.is(maxAbsDiff(reused.dX!, fast.dX!), 0, c.name);
  }
});

test("conv2dForward into reused buffers holding garbage gives the same Z, with and without a bias", () => {
  const rng = new Rng(12);
  for (const c of CASES) {
    const x = randn(c.x, rng), K = randn(c.k, rng), b = randn([c.k[3]], rng);
    for (const bias of [b, null]) {
      const fresh = conv2dForward(x, K, bias, c.opts);
      const cols = new Tensor(fresh.cache.cols.shape).reshape(fresh.cache.cols.shape);
      cols.data.fill(3);
      const z = new Tensor(fresh.out.shape);
      z.data.fill(-5);
      const reused = conv2dForward(x, K, bias, c.opts, "conv2d", { cols, z });
      assert.is(maxAbsDiff(reused.out, fresh.out), 0, c.name);
    }
  }
});

test("the 2×2 max-pool fast path gives the general loop's maxima and switches (ties included)", () => {
  const rng = new Rng(13);
  for (const shape of [[3, 6, 6, 10], [2, 7, 5, 3], [1, 2, 2, 1], [2, 26, 26, 4]]) {
    const x = randn(shape, rng);
    // ties: many zeros, as a ReLU leaves them
    for (let i = 0; i < x.size; i++) if (x.data[i] < 0) x.data[i] = 0;
    const g = poolGeometry(x.shape, 2, {}, "test");
    const fast = maxPoolForward(x, 2);
    const out = new Tensor([g.N, g.Ho, g.Wo, g.C]), switches = new Int32Array(out.size);
    maxPoolForwardGeneral(x, g, out, switches);
    assert.equal(Array.from(fast.out.data), Array.from(out.data), `${shape}`);
    assert.equal(Array.from(fast.cache.switches), Array.from(switches), `${shape}`);
    // backward into a reused buffer holding garbage
    const dY = randn(fast.out.shape, rng);
    const buf = new Tensor(x.shape);
    buf.data.fill(9);
    assert.is(maxAbsDiff(maxPoolBackward(dY, fast.cache, buf).dX, maxPoolBackward(dY, fast.cache).dX), 0);
  }
});

test("Dense's fused bias + ReLU gives activationForward's bits", () => {
  const rng = new Rng(14);
  const x = randn([7, 9], rng), W = randn([9, 5], rng), b = randn([5], rng);
  const z = denseForward(x, W, b).out;
  const ref = activationForward("relu", z).out;
  const fused = denseForward(x, W, b, "Dense", undefined, true).out;
  assert.equal(Array.from(fused.data), Array.from(ref.data));
  const noBias = denseForward(x, W, null).out;
  const fusedNoBias = denseForward(x, W, null, "Dense", undefined, true).out;
  assert.equal(Array.from(fusedNoBias.data), Array.from(activationForward("relu", noBias).out.data));
});

test("a Workspace hands back the same memory for the same owner and name, grown when too small and kept when smaller", () => {
  const ws = new Workspace();
  const owner = {};
  const same = (u: ArrayBufferView, v: ArrayBufferView): boolean => u.buffer === v.buffer && u.byteOffset === v.byteOffset;
  const a = ws.tensor(owner, "z", [2, 3]);
  assert.ok(same(ws.tensor(owner, "z", [3, 2]).data, a.data));
  assert.equal(ws.tensor(owner, "z", [3, 2]).shape, [3, 2]);
  assert.ok(!same(ws.tensor(owner, "other", [2, 3]).data, a.data));
  assert.ok(!same(ws.tensor({}, "z", [2, 3]).data, a.data));
  // a smaller request (an epoch's last batch) keeps the array; a larger one grows it, and later requests get the grown one
  const small = ws.tensor(owner, "z", [1, 3]);
  assert.ok(same(small.data, a.data) && small.size === 3);
  const big = ws.tensor(owner, "z", [4, 3]);
  assert.ok(big.size === 12 && !same(big.data, a.data));
  assert.ok(same(ws.tensor(owner, "z", [2, 3]).data, big.data));
  assert.ok(same(ws.int32(owner, "s", 5), ws.int32(owner, "s", 3)) && ws.int32(owner, "s", 3).length === 3);
});

test("training with reused buffers: lossAndGradients twice gives the same result, and a step leaves earlier outputs alone", () => {
  const rng = new Rng(15);
  const x = randn([30, 8, 8, 1], rng), y = new Tensor([30, 10]);
  for (let n = 0; n < 30; n++) y.data[n * 10 + (n % 10)] = 1;
  const model = createConvolutionalNeuralNetwork({ inputShape: [8, 8, 1], eta: 0.01, lmbd: 1e-4, seed: 3 });
  const first = model.lossAndGradients(x, y);
  const out1 = first.output.clone(), grads1 = first.grads.map((g) => g.clone());
  // another batch in between, with another batch size
  const idx = [3, 1, 4, 1, 5, 9, 2, 6];
  model.lossAndGradients(takeRows(x, idx), takeRows(y, idx));
  const again = model.lossAndGradients(x, y);
  assert.is(again.loss, first.loss);
  again.grads.forEach((g, i) => assert.is(maxAbsDiff(g, grads1[i]), 0, `grad ${i}`));
  assert.is(maxAbsDiff(again.output, out1), 0);
  // what the first call returned was not overwritten by the later ones
  assert.is(maxAbsDiff(first.output, out1), 0);
  first.grads.forEach((g, i) => assert.is(maxAbsDiff(g, grads1[i]), 0, `first grad ${i}`));
});

test.run();
