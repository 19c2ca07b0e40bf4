import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, MaxPooling2D, AveragePooling2D, type PoolOptions } from "../lib/pool.ts";
import { randn, assertGrad, weighted, assertThrowsMatching } from "./_helpers.ts";

const CASES: { name: string; x: number[]; pool: number | [number, number]; opts: PoolOptions }[] = [
  { name: "2×2, stride 2 (the lecture's)", x: [2, 6, 6, 3], pool: 2, opts: {} },
  { name: "2×2 on an odd, non-square image", x: [2, 7, 5, 2], pool: 2, opts: {} },
  { name: "3×3, stride 2 (overlapping)", x: [2, 7, 7, 2], pool: 3, opts: { strides: 2 } },
  { name: "(2, 3), 'same'", x: [1, 5, 7, 3], pool: [2, 3], opts: { padding: "same" } },
];

test("max pooling of a 4×4 image picks each 2×2 block's maximum and records where it was", () => {
  const x = new Tensor([1, 4, 4, 1], Float64Array.from([
    1, 3, 2, 1,
    4, 2, 0, 9,
    5, 6, 7, 8,
    0, 1, 8, 2,
  ]));
  const { out, cache } = maxPoolForward(x, 2);
  assert.equal(out.shape, [1, 2, 2, 1]);
  assert.equal(Array.from(out.data), [4, 9, 6, 8]);
  // the last block holds 8 twice; the first (index 11) wins
  assert.equal(Array.from(cache.switches), [4, 7, 9, 11]);
  const { dX } = maxPoolBackward(new Tensor([1, 2, 2, 1], Float64Array.from([10, 20, 30, 40])), cache);
  const expected = new Array(16).fill(0);
  expected[4] = 10; expected[7] = 20; expected[9] = 30; expected[11] = 40;
  assert.equal(Array.from(dX.data), expected);
});

test("max pooling works per channel, and a tie goes to the first maximum", () => {
  // 2×2 image, 2 channels: channel 0 has a tie, channel 1 does not
  const x = new Tensor([1, 2, 2, 2], Float64Array.from([5, -1, 5, -3, 1, -2, 0, -4]));
  const { out, cache } = maxPoolForward(x, 2);
  assert.equal(Array.from(out.data), [5, -1]);
  assert.equal(Array.from(cache.switches), [0, 1]);
});

test("gradient check: max pooling (several windows, strides, paddings, channels)", () => {
  const rng = new Rng(21);
  for (const c of CASES) {
    const x = randn(c.x, rng);
    const { out, cache } = maxPoolForward(x, c.pool, c.opts);
    const dOut = randn(out.shape, rng);
    const { dX } = maxPoolBackward(dOut, cache);
    // h far below the gap between any two inputs, so no perturbation changes a winner
    assertGrad(`max pool ${c.name}`, () => weighted(maxPoolForward(x, c.pool, c.opts).out, dOut), x, dX, 1e-7, 1e-6);
    // non-overlapping windows: exactly one input per output receives a gradient
    if (c.opts.strides === undefined && c.opts.padding === undefined) {
      assert.is(dX.data.filter((v) => v !== 0).length, out.size);
    }
  }
});

test("average pooling: values and gradient check", () => {
  const x = new Tensor([1, 2, 4, 1], Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.equal(Array.from(avgPoolForward(x, 2).out.data), [3.5, 5.5]);
  // 'same' padding on a 3-wide row: the last window holds one pixel and averages over it alone
  const y = new Tensor([1, 1, 3, 1], Float64Array.from([2, 4, 9]));
  assert.equal(Array.from(avgPoolForward(y, [1, 2], { padding: "same" }).out.data), [3, 9]);
  const rng = new Rng(22);
  for (const c of CASES) {
    const xr = randn(c.x, rng);
    const { out, cache } = avgPoolForward(xr, c.pool, c.opts);
    const dOut = randn(out.shape, rng);
    const { dX } = avgPoolBackward(dOut, cache);
    assertGrad(`avg pool ${c.name}`, () => weighted(avgPoolForward(xr, c.pool, c.opts).out, dOut), xr, dX);
  }
});

test("MaxPooling2D and AveragePooling2D layers: Keras output shapes, no parameters", () => {
  assert.equal(new MaxPooling2D(2).build([6, 6, 10]), [3, 3, 10]);
  assert.equal(new MaxPooling2D([2, 2]).build([26, 26, 10]), [13, 13, 10]);
  assert.equal(new MaxPooling2D(2).build([7, 7, 4]), [3, 3, 4]);
  assert.equal(new MaxPooling2D(2, { padding: "same" }).build([7, 7, 4]), [4, 4, 4]);
  assert.equal(new MaxPooling2D(3, { strides: 1 }).build([5, 6, 2]), [3, 4, 2]);
  assert.equal(new AveragePooling2D(2).build([8, 8, 3]), [4, 4, 3]);
  const mp = new MaxPooling2D(2);
  assert.equal(mp.params(), []);
  assert.equal(mp.strides, [2, 2]);
  mp.build([4, 4, 2]);
  const rng = new Rng(23);
  const x = randn([3, 4, 4, 2], rng);
  const { out, cache } = mp.forward(x);
  assert.equal(out.shape, [3, 2, 2, 2]);
  const r = mp.backward(randn(out.shape, rng), cache);
  assert.equal(r.dX.shape, x.shape);
  assert.equal(r.grads, []);
});

test("pooling errors name the shapes", () => {
  const mp = new MaxPooling2D(2);
  mp.build([6, 6, 10]);
  assertThrowsMatching(() => mp.forward(new Tensor([100, 360])), /expected an image batch of shape \(N, H, W, C\) = \(N, 6, 6, 10\), got \(100, 360\)/, "flat input");
  assertThrowsMatching(() => maxPoolForward(new Tensor([1, 1, 3, 1]), 2), /2×2 window is larger than the 1×3 image/, "too small");
  assertThrowsMatching(() => new MaxPooling2D(0), /pool size must be positive integers/, "pool 0");
  assertThrowsMatching(() => maxPoolForward(new Tensor([4, 4]), 2), /expected an image batch of shape \(N, H, W, C\), got \(4, 4\)/, "rank 2");
});

test.run();
