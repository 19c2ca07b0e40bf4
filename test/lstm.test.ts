/** The LSTM cell: Keras's gate order, the fused step against the gate-by-gate reference, and BPTT gradient checks. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { sigmoid } from "../lib/activations.ts";
import { type LstmParams, lstmStepForward, lstmStepBackward, lstmStepNaive, lstmCell } from "../lib/lstm.ts";
import { bpttForward, bpttBackward, stepJacobians } from "../lib/bptt.ts";
import { sequenceGradCheck } from "../chapters/_shared/bptt-gradcheck.ts";
import { randn, assertGrad, weighted, assertThrowsMatching, TOL, assertSequenceGradCheck, assertJacobianFD } from "./_helpers.ts";

function lstmParams(F: number, u: number, rng: Rng): LstmParams {
  return { W: randn([F, 4 * u], rng, 0.5), U: randn([u, 4 * u], rng, 0.5), b: randn([4 * u], rng, 0.4) };
}

test("LSTM step: the fused x·W + h·U for four gates equals the gate-by-gate reference", () => {
  const rng = new Rng(1);
  const p = lstmParams(3, 5, rng);
  const x = randn([4, 3], rng), h = randn([4, 5], rng), c = randn([4, 5], rng);
  const fast = lstmStepForward(p, x, h, c), naive = lstmStepNaive(p, x, h, c);
  for (let i = 0; i < fast.h.size; i++) {
    assert.ok(Math.abs(fast.h.data[i] - naive.h.data[i]) < 1e-14);
    assert.ok(Math.abs(fast.c.data[i] - naive.c.data[i]) < 1e-14);
  }
});

test("LSTM: Keras's packing order i, f, c, o (kernel columns and bias)", () => {
  // W = U = 0: each gate is its bias; distinct biases per block tell the blocks apart.
  const u = 2;
  const p: LstmParams = { W: new Tensor([1, 4 * u]), U: new Tensor([u, 4 * u]), b: new Tensor([4 * u], Float64Array.from([0.3, 0.3, -1.2, -1.2, 0.7, 0.7, 2.0, 2.0])) };
  const cPrev = new Tensor([1, u], Float64Array.from([0.5, -0.4]));
  const { h, c } = lstmStepForward(p, new Tensor([1, 1]), new Tensor([1, u]), cPrev);
  const i = sigmoid(0.3), f = sigmoid(-1.2), g = Math.tanh(0.7), o = sigmoid(2.0);
  for (let j = 0; j < u; j++) {
    const cc = f * cPrev.data[j] + i * g;
    assert.ok(Math.abs(c.data[j] - cc) < 1e-15, "c(t) = f⊙c(t−1) + i⊙g");
    assert.ok(Math.abs(h.data[j] - o * Math.tanh(cc)) < 1e-15, "h(t) = o⊙tanh(c(t))");
  }
});

test("LSTM step: backward matches centred differences for x, h(t−1), c(t−1), W, U, b", () => {
  const rng = new Rng(2);
  const p = lstmParams(3, 4, rng);
  const x = randn([3, 3], rng), h = randn([3, 4], rng), c = randn([3, 4], rng);
  const dh = randn([3, 4], rng), dc = randn([3, 4], rng);
  const { cache } = lstmStepForward(p, x, h, c);
  const g = lstmStepBackward(dh, dc, cache);
  const f = () => {
    const s = lstmStepForward(p, x, h, c);
    return weighted(s.h, dh) + weighted(s.c, dc);
  };
  assertGrad("x", f, x, g.dx);
  assertGrad("hPrev", f, h, g.dhPrev as Tensor);
  assertGrad("cPrev", f, c, g.dcPrev);
  assertGrad("W", f, p.W, g.grads.W);
  assertGrad("U", f, p.U, g.grads.U);
  assertGrad("b", f, p.b, g.grads.b);
});

for (const returnSequences of [true, false]) {
  test(`LSTM over T = 6, N = 3, returnSequences = ${returnSequences}: BPTT gradients of x, W, U, b and learned h(0), c(0)`, () => {
    const rng = new Rng(3);
    const p = lstmParams(2, 4, rng);
    const r = sequenceGradCheck(lstmCell(), p, randn([3, 6, 2], rng), { h0: randn([4], rng, 0.5), c0: randn([4], rng, 0.5) }, { returnSequences });
    assertSequenceGradCheck(r);
  });
}

test("LSTM: truncated BPTT (k = 2) equals the finite-difference gradient of the truncated objective; per-sequence (N, u) states", () => {
  const rng = new Rng(4);
  const p = lstmParams(2, 3, rng);
  const r = sequenceGradCheck(lstmCell(), p, randn([2, 7, 2], rng), { h0: randn([2, 3], rng), c0: randn([2, 3], rng) }, { truncate: 2 });
  assert.ok(r.maxRelError < TOL, JSON.stringify(r.errors));
  assert.ok(r.maxAbs.U > 1e-6 && r.maxAbs.c0 > 1e-6);
});

test("LSTM: a gradient on the final cell state (dcT) flows back correctly", () => {
  const rng = new Rng(5);
  const p = lstmParams(2, 3, rng);
  const x = randn([2, 4, 2], rng), dcT = randn([2, 3], rng);
  const cell = lstmCell();
  const r = bpttBackward(cell, p, bpttForward(cell, p, x), { dcT });
  assertGrad("U via c(T)", () => weighted(bpttForward(cell, p, x).last.c as Tensor, dcT), p.U, r.grads.U);
  assertGrad("x via c(T)", () => weighted(bpttForward(cell, p, x).last.c as Tensor, dcT), x, r.dx);
});

test("LSTM: the state Jacobian ∂(h, c)(t)/∂(h, c)(t−1) from the backward pass equals finite differences", () => {
  const rng = new Rng(6);
  const p = lstmParams(2, 3, rng);
  const x = randn([2, 3, 2], rng);
  const cell = lstmCell();
  const fwd = bpttForward(cell, p, x, { h0: randn([2, 3], rng), c0: randn([2, 3], rng) });
  const J = stepJacobians(cell, p, x, fwd, 1)[1]; // step t = 2, sample 1
  const xt = new Tensor([1, 2], Float64Array.from([x.get(1, 1, 0), x.get(1, 1, 1)]));
  const s = new Float64Array(6);
  for (let j = 0; j < 3; j++) { s[j] = fwd.hs.get(1, 0, j); s[3 + j] = (fwd.cs as Tensor).get(1, 0, j); }
  const step = (v: Float64Array) => {
    const o = lstmStepForward(p, xt, new Tensor([1, 3], v.slice(0, 3)), new Tensor([1, 3], v.slice(3)));
    return [...o.h.data, ...o.c.data];
  };
  assertJacobianFD(step, s, J, "J");
});

test("LSTM: shape errors name what was received and what was expected", () => {
  const rng = new Rng(7);
  const p = lstmParams(3, 2, rng);
  assertThrowsMatching(() => lstmStepForward(p, new Tensor([1, 4]), new Tensor([1, 2]), new Tensor([1, 2])), /x\(t\) has shape \(1, 4\), expected \(N, 3\)/, "x");
  assertThrowsMatching(() => lstmStepForward(p, new Tensor([1, 3]), new Tensor([1, 2]), new Tensor([1, 5])), /c\(t−1\) has shape \(1, 5\), expected \(1, 2\)/, "c");
  assertThrowsMatching(() => bpttForward(lstmCell(), p, new Tensor([2, 4, 3]), { c0: new Tensor([3, 2]) }), /initial state c0 has shape \(3, 2\), expected \(2, 2\) .* or \(2,\)/, "c0");
});

test.run();
