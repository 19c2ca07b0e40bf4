/** The GRU cell (TF2's reset_after = True): the fused step against the gate-by-gate reference, a hand example, BPTT gradient checks. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { sigmoid } from "../lib/activations.ts";
import { type GruParams, gruStepForward, gruStepBackward, gruStepNaive, gruCell } from "../lib/gru.ts";
import { sequenceGradCheck } from "../chapters/_shared/bptt-gradcheck.ts";
import { randn, assertGrad, weighted, assertThrowsMatching, TOL, assertSequenceGradCheck } from "./_helpers.ts";

function gruParams(F: number, u: number, rng: Rng): GruParams {
  return { W: randn([F, 3 * u], rng, 0.5), U: randn([u, 3 * u], rng, 0.5), b: randn([2, 3 * u], rng, 0.4) };
}

test("GRU step: the fused products equal the gate-by-gate reference", () => {
  const rng = new Rng(1);
  const p = gruParams(3, 5, rng);
  const x = randn([4, 3], rng), h = randn([4, 5], rng);
  const fast = gruStepForward(p, x, h).h, naive = gruStepNaive(p, x, h);
  for (let i = 0; i < fast.size; i++) assert.ok(Math.abs(fast.data[i] - naive.data[i]) < 1e-14);
});

test("GRU: one unit by hand — gate order z, r, h; input bias row 0, recurrent bias row 1; the reset acts after h·U_h", () => {
  // F = 1, u = 1: W = [Wz, Wr, Wh], U = [Uz, Ur, Uh], b = [[bz, br, bh], [b'z, b'r, b'h]]
  const p: GruParams = {
    W: new Tensor([1, 3], Float64Array.from([0.5, -0.3, 0.8])),
    U: new Tensor([1, 3], Float64Array.from([0.2, 0.7, -0.6])),
    b: new Tensor([2, 3], Float64Array.from([0.1, 0.2, 0.3, -0.1, 0.05, 0.4])),
  };
  const x = 1.5, hPrev = -0.7;
  const z = sigmoid(0.5 * x + 0.1 + 0.2 * hPrev - 0.1);
  const r = sigmoid(-0.3 * x + 0.2 + 0.7 * hPrev + 0.05);
  const hh = Math.tanh(0.8 * x + 0.3 + r * (-0.6 * hPrev + 0.4)); // reset_after: r ⊙ (h U_h + b'_h)
  const want = z * hPrev + (1 - z) * hh;
  const got = gruStepForward(p, new Tensor([1, 1], Float64Array.from([x])), new Tensor([1, 1], Float64Array.from([hPrev]))).h.data[0];
  assert.ok(Math.abs(got - want) < 1e-15, `${got} vs ${want}`);
  // reset_before would give a different value: the two conventions are distinguishable here
  const hhBefore = Math.tanh(0.8 * x + 0.3 + -0.6 * (r * hPrev) + 0.4);
  assert.ok(Math.abs(z * hPrev + (1 - z) * hhBefore - want) > 1e-3);
});

test("GRU step: backward matches centred differences for x, h(t−1), W, U and both bias rows", () => {
  const rng = new Rng(2);
  const p = gruParams(3, 4, rng);
  const x = randn([3, 3], rng), h = randn([3, 4], rng), dh = randn([3, 4], rng);
  const { cache } = gruStepForward(p, x, h);
  const g = gruStepBackward(dh, cache);
  const f = () => weighted(gruStepForward(p, x, h).h, dh);
  assertGrad("x", f, x, g.dx);
  assertGrad("hPrev", f, h, g.dhPrev as Tensor);
  assertGrad("W", f, p.W, g.grads.W);
  assertGrad("U", f, p.U, g.grads.U);
  assertGrad("b", f, p.b, g.grads.b);
});

for (const returnSequences of [true, false]) {
  test(`GRU over T = 6, N = 3, returnSequences = ${returnSequences}: BPTT gradients of x, W, U, b and a learned h(0)`, () => {
    const rng = new Rng(3);
    const p = gruParams(2, 4, rng);
    const r = sequenceGradCheck(gruCell(), p, randn([3, 6, 2], rng), { h0: randn([4], rng, 0.5) }, { returnSequences });
    assertSequenceGradCheck(r);
  });
}

test("GRU: truncated BPTT (k = 3) equals the finite-difference gradient of the truncated objective", () => {
  const rng = new Rng(4);
  const p = gruParams(2, 3, rng);
  const r = sequenceGradCheck(gruCell(), p, randn([2, 8, 2], rng), { h0: randn([3], rng) }, { truncate: 3 });
  assert.ok(r.maxRelError < TOL, JSON.stringify(r.errors));
  assert.ok(r.maxAbs.U > 1e-6 && r.maxAbs.h0 > 1e-6);
});

test("GRU: a bias of the wrong shape is rejected, naming (2, 3u)", () => {
  const rng = new Rng(5);
  const p = { ...gruParams(2, 3, rng), b: new Tensor([9]) };
  assertThrowsMatching(() => gruStepForward(p, new Tensor([1, 2]), new Tensor([1, 3])), /bias b has shape \(9,\), expected \(2, 9\)/, "bias");
});

test.run();
