import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, fromArray } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { l2 } from "../lib/regularizers.ts";
import {
  type ConvOptions, windowAxis, windowGeometry, convGeometry, im2col, col2im,
  conv2dForward, conv2dBackward, conv2dNaive, conv2dBackwardNaive, Conv2D,
} from "../lib/conv.ts";
import { randn, assertGrad, weighted, assertThrowsMatching, maxAbsDiff } from "./_helpers.ts";

/** Random non-zero biases, as the gradient checks require. */
function randomBias(F: number, rng: Rng): Tensor {
  const b = randn([F], rng);
  for (let f = 0; f < F; f++) b.data[f] += b.data[f] >= 0 ? 0.1 : -0.1;
  return b;
}

// The configurations every agreement and gradient test runs over: multi-channel, several filters,
// non-square images and kernels, strides and both paddings.
const CASES: { name: string; x: number[]; k: number[]; opts: ConvOptions }[] = [
  { name: "valid, stride 1, 1 channel", x: [2, 8, 8, 1], k: [3, 3, 1, 4], opts: {} },
  { name: "valid, 3 channels, non-square image", x: [2, 5, 7, 3], k: [3, 3, 3, 4], opts: { padding: "valid" } },
  { name: "valid, non-square kernel, stride (2, 1)", x: [3, 7, 6, 2], k: [3, 2, 2, 5], opts: { strides: [2, 1] } },
  { name: "same, stride 1", x: [2, 5, 6, 3], k: [3, 3, 3, 2], opts: { padding: "same" } },
  { name: "same, stride 2, even kernel", x: [2, 7, 8, 2], k: [4, 2, 2, 3], opts: { padding: "same", strides: 2 } },
];

test("output sizes and padding follow Keras", () => {
  assert.equal(windowAxis(8, 3, 1, "valid"), { out: 6, padBefore: 0 });
  assert.equal(windowAxis(28, 3, 1, "valid"), { out: 26, padBefore: 0 });
  assert.equal(windowAxis(7, 3, 2, "valid"), { out: 3, padBefore: 0 });
  assert.equal(windowAxis(8, 3, 1, "same"), { out: 8, padBefore: 1 });
  // pad_total = (4 − 1)·2 + 3 − 7 = 2, one before, one after
  assert.equal(windowAxis(7, 3, 2, "same"), { out: 4, padBefore: 1 });
  // pad_total = (4 − 1)·2 + 4 − 8 = 2
  assert.equal(windowAxis(8, 4, 2, "same"), { out: 4, padBefore: 1 });
  // an even kernel at stride 1 pads 1 total, all of it after
  assert.equal(windowAxis(5, 2, 1, "same"), { out: 5, padBefore: 0 });
  const g = windowGeometry([10, 8, 8, 1], 3, 3, {}, "test");
  assert.equal([g.Ho, g.Wo, g.padTop, g.padLeft], [6, 6, 0, 0]);
});

test("im2col of a tiny image lists each 2×2 receptive field as a row", () => {
  // x = [[1 2 3], [4 5 6], [7 8 9]] as (1, 3, 3, 1)
  const x = new Tensor([1, 3, 3, 1], Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const g = windowGeometry(x.shape, 2, 2, {}, "test");
  const cols = im2col(x, g);
  assert.equal(cols.toArray(), [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]]);
  // With 'same' padding the windows run off the bottom/right and read zeros there.
  const gs = windowGeometry(x.shape, 2, 2, { padding: "same" }, "test");
  const s = im2col(x, gs).toArray() as number[][];
  assert.is(s.length, 9);
  assert.equal(s[2], [3, 0, 6, 0]);
  assert.equal(s[8], [9, 0, 0, 0]);
});

test("im2col keeps channels innermost, in the order of a (kh, kw, C, F) kernel", () => {
  // two channels: channel 1 is channel 0 plus 100
  const x = new Tensor([1, 2, 2, 2]);
  for (let k = 0; k < 4; k++) { x.data[2 * k] = k + 1; x.data[2 * k + 1] = k + 101; }
  const cols = im2col(x, windowGeometry(x.shape, 2, 2, {}, "test"));
  assert.equal(cols.toArray(), [[1, 101, 2, 102, 3, 103, 4, 104]]);
});

test("im2col into a reused buffer overwrites every entry", () => {
  const rng = new Rng(3);
  const x = randn([2, 5, 6, 3], rng);
  const g = windowGeometry(x.shape, 3, 3, { padding: "same", strides: 2 }, "test");
  const ref = im2col(x, g);
  const buf = new Tensor(ref.shape);
  buf.data.fill(NaN);
  assert.is(maxAbsDiff(im2col(x, g, buf), ref), 0);
});

test("col2im is the adjoint of im2col: <im2col(x), Y> = <x, col2im(Y)>", () => {
  const rng = new Rng(4);
  for (const c of CASES) {
    const x = randn(c.x, rng);
    const g = windowGeometry(x.shape, c.k[0], c.k[1], c.opts, "test");
    const cols = im2col(x, g);
    const Y = randn(cols.shape, rng);
    const lhs = weighted(cols, Y), rhs = weighted(x, col2im(Y, g));
    assert.ok(Math.abs(lhs - rhs) < 1e-10 * Math.max(1, Math.abs(lhs)), `${c.name}: ${lhs} vs ${rhs}`);
  }
});

test("the im2col convolution equals the sliding-window convolution to 1e-12", () => {
  const rng = new Rng(5);
  for (const c of CASES) {
    const x = randn(c.x, rng), K = randn(c.k, rng), b = randomBias(c.k[3], rng);
    const fast = conv2dForward(x, K, b, c.opts).out;
    const slow = conv2dNaive(x, K, b, c.opts);
    assert.ok(fast.data.some((v) => v !== 0));
    assert.ok(maxAbsDiff(fast, slow) < 1e-12, `${c.name}: ${maxAbsDiff(fast, slow)}`);
  }
});

test("a hand-computed convolution: a vertical-edge kernel", () => {
  // 3×4 image with a step between columns 1 and 2; K = [[-1, 1]] finds it.
  const x = fromArray([[[0], [0], [1], [1]], [[0], [0], [1], [1]], [[0], [0], [1], [1]]]).reshape([1, 3, 4, 1]);
  const K = fromArray([[[[-1]], [[1]]]]); // (1, 2, 1, 1)
  const z = conv2dForward(x, K, fromArray([0.5]), {}).out;
  assert.equal(z.shape, [1, 3, 3, 1]);
  assert.equal(Array.from(z.data), [0.5, 1.5, 0.5, 0.5, 1.5, 0.5, 0.5, 1.5, 0.5]);
});

test("the im2col backward pass equals the sliding-window backward pass to 1e-12", () => {
  const rng = new Rng(6);
  for (const c of CASES) {
    const x = randn(c.x, rng), K = randn(c.k, rng), b = randomBias(c.k[3], rng);
    const { out, cache } = conv2dForward(x, K, b, c.opts);
    const dOut = randn(out.shape, rng);
    const fast = conv2dBackward(dOut, cache);
    const slow = conv2dBackwardNaive(dOut, x, K, c.opts);
    assert.ok(maxAbsDiff(fast.dX!, slow.dX) < 1e-12, `${c.name} dX`);
    assert.ok(maxAbsDiff(fast.dW, slow.dW) < 1e-12, `${c.name} dW`);
    assert.ok(maxAbsDiff(fast.db!, slow.db) < 1e-12, `${c.name} db`);
    assert.is(conv2dBackward(dOut, cache, false).dX, null);
  }
});

test("gradient check: conv2d w.r.t. input, kernel and bias (multi-channel, several filters, non-square)", () => {
  const rng = new Rng(7);
  for (const c of CASES) {
    const x = randn(c.x, rng), K = randn(c.k, rng, 0.5), b = randomBias(c.k[3], rng);
    const { out, cache } = conv2dForward(x, K, b, c.opts);
    const dOut = randn(out.shape, rng);
    const { dX, dW, db } = conv2dBackward(dOut, cache);
    const f = (): number => weighted(conv2dForward(x, K, b, c.opts).out, dOut);
    assertGrad(`${c.name} dX`, f, x, dX!);
    assertGrad(`${c.name} dK`, f, K, dW);
    assertGrad(`${c.name} db`, f, b, db!);
  }
});

test("backward leaves its inputs untouched", () => {
  const rng = new Rng(8);
  const x = randn([2, 6, 5, 2], rng), K = randn([3, 3, 2, 3], rng), b = randomBias(3, rng);
  const { out, cache } = conv2dForward(x, K, b);
  const dOut = randn(out.shape, rng);
  const before = [dOut.clone(), cache.cols.clone(), K.clone()];
  conv2dBackward(dOut, cache);
  assert.is(maxAbsDiff(dOut, before[0]), 0);
  assert.is(maxAbsDiff(cache.cols, before[1]), 0);
  assert.is(maxAbsDiff(K, before[2]), 0);
});

test("Conv2D layer: Keras shapes, parameter count and initialisers", () => {
  const rng = new Rng(9);
  const conv = new Conv2D(10, 3, { activation: "relu", kernelRegularizer: l2(0.01) });
  assert.equal(conv.build([8, 8, 1], rng), [6, 6, 10]);
  const ps = conv.params();
  assert.equal(ps.map((p) => p.name), ["kernel", "bias"]);
  assert.equal(ps[0].value.shape, [3, 3, 1, 10]);
  assert.is(ps.reduce((s, p) => s + p.value.size, 0), 100);
  assert.ok(ps[0].regularizer !== undefined && ps[1].regularizer === undefined);
  // glorot_uniform limit √(6 / (9·1 + 9·10))
  const limit = Math.sqrt(6 / (9 + 90));
  assert.ok(ps[0].value.data.every((v) => Math.abs(v) <= limit));
  assert.ok(ps[1].value.data.every((v) => v === 0));
  assert.equal(new Conv2D(4, [3, 2], { padding: "same", strides: 2 }).build([7, 8, 3], rng), [4, 4, 4]);
  assert.equal(new Conv2D(4, 5).build([28, 28, 1], rng), [24, 24, 4]);
});

test("Conv2D layer: gradient check through the ReLU, and linearOutput returns z", () => {
  const rng = new Rng(10);
  const conv = new Conv2D(3, [3, 2], { activation: "relu" });
  conv.build([5, 6, 2], rng);
  const [K, b] = conv.params().map((p) => p.value);
  b.data.set([0.3, -0.2, 0.1]);
  const x = randn([2, 5, 6, 2], rng);
  const { out, cache } = conv.forward(x, { training: true });
  assert.ok(out.data.every((v) => v >= 0) && out.data.some((v) => v > 0));
  const z = conv.forward(x, { training: true, linearOutput: true }).out;
  assert.ok(z.data.some((v) => v < 0));
  const dOut = randn(out.shape, rng);
  const { dX, grads } = conv.backward(dOut, cache);
  const f = (): number => weighted(conv.forward(x, { training: true }).out, dOut);
  assertGrad("Conv2D dX", f, x, dX);
  assertGrad("Conv2D dK", f, K, grads[0]);
  assertGrad("Conv2D db", f, b, grads[1]);
});

test("clear errors: wrong batch shape, kernel larger than the image, channel mismatch", () => {
  const rng = new Rng(11);
  const conv = new Conv2D(10, 3, { activation: "relu" });
  conv.build([8, 8, 1], rng);
  assertThrowsMatching(() => conv.forward(new Tensor([100, 64]), { training: false }), /expected an image batch of shape \(N, H, W, C\) = \(N, 8, 8, 1\), got \(100, 64\)/, "flat batch");
  assertThrowsMatching(() => conv.forward(new Tensor([5, 8, 8, 3]), { training: false }), /\(N, 8, 8, 1\), got \(5, 8, 8, 3\)/, "channels");
  assertThrowsMatching(() => new Conv2D(2, 5).build([3, 4, 1], rng), /5×5 window is larger than the 3×4 image/, "kernel too large");
  assertThrowsMatching(() => conv2dForward(new Tensor([1, 3, 3, 1]), new Tensor([4, 4, 1, 1]), null), /4×4 window is larger than the 3×3 image/, "kernel too large (kernel)");
  assertThrowsMatching(() => conv2dForward(new Tensor([1, 5, 5, 2]), new Tensor([3, 3, 1, 4]), null), /has 2 channels, kernel \(3, 3, 1, 4\) expects 1/, "channel mismatch");
  assertThrowsMatching(() => convGeometry(new Tensor([5, 5, 1]), new Tensor([3, 3, 1, 1]), {}), /expected an image batch of shape \(N, H, W, C\), got \(5, 5, 1\)/, "rank 3");
  assertThrowsMatching(() => new Conv2D(0, 3), /filters must be a positive integer/, "filters");
  assertThrowsMatching(() => new Conv2D(2, 3, { padding: "full" as "same" }), /padding must be 'valid' or 'same'/, "padding");
  assertThrowsMatching(() => new Conv2D(2, 3, { activation: "gelu" as "relu" }), /unknown activation 'gelu'/, "activation");
});

test.run();
