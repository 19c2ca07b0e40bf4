/** The SimpleRNN cell: the fast step against the lecture's equation entry by entry, and gradient checks over whole sequences. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, transpose } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { RNN_ACTIVATIONS, rnnStepForward, rnnStepBackward, rnnStepNaive, simpleRnnCell } from "../lib/rnn.ts";
import { bpttForward, stepJacobians } from "../lib/bptt.ts";
import { sequenceGradCheck } from "../chapters/_shared/bptt-gradcheck.ts";
import { randn, assertGrad, weighted, assertThrowsMatching, TOL, rnnParams, assertSequenceGradCheck } from "./_helpers.ts";

for (const act of RNN_ACTIVATIONS) {
  test(`SimpleRNN step (${act}): the matrix form equals the lecture's z_h = W_hx x + W_hh h(t−1) + b_h entry by entry`, () => {
    const rng = new Rng(1);
    const p = rnnParams(3, 5, rng);
    const x = randn([4, 3], rng), hPrev = randn([4, 5], rng);
    const fast = rnnStepForward(p, x, hPrev, act).h, naive = rnnStepNaive(p, x, hPrev, act);
    for (let i = 0; i < fast.size; i++) assert.ok(Math.abs(fast.data[i] - naive.data[i]) < 1e-14, `entry ${i}: ${fast.data[i]} vs ${naive.data[i]}`);
  });

  test(`SimpleRNN step (${act}): backward matches centred differences for x, h(t−1), Whx, Whh, bh`, () => {
    const rng = new Rng(2);
    const p = rnnParams(3, 4, rng);
    const x = randn([3, 3], rng), hPrev = randn([3, 4], rng), dh = randn([3, 4], rng);
    const { cache } = rnnStepForward(p, x, hPrev, act);
    const { dx, dhPrev, grads } = rnnStepBackward(dh, cache);
    const f = () => weighted(rnnStepForward(p, x, hPrev, act).h, dh);
    assertGrad("x", f, x, dx);
    assertGrad("hPrev", f, hPrev, dhPrev as Tensor);
    assertGrad("Whx", f, p.Whx, grads.Whx);
    assertGrad("Whh", f, p.Whh, grads.Whh);
    assertGrad("bh", f, p.bh, grads.bh);
  });

  for (const returnSequences of [true, false]) {
    test(`SimpleRNN (${act}) over T = 6, N = 3, returnSequences = ${returnSequences}: BPTT gradients of x, every weight and a learned h(0)`, () => {
      const rng = new Rng(3);
      // σ' ≤ 1/4 for the sigmoid: a larger W_hh keeps ∂L/∂h(0) well above the finite-difference noise after 6 steps
      const p = rnnParams(2, 4, rng, act === "sigmoid" ? 1.5 : 0.5);
      const x = randn([3, 6, 2], rng);
      const r = sequenceGradCheck(simpleRnnCell(act), p, x, { h0: randn([4], rng, 0.5) }, { returnSequences });
      assertSequenceGradCheck(r);
    });
  }
}

test("SimpleRNN: a per-sequence initial state (N, u) gets its own gradient", () => {
  const rng = new Rng(4);
  const p = rnnParams(2, 3, rng);
  const r = sequenceGradCheck(simpleRnnCell("tanh"), p, randn([2, 5, 2], rng), { h0: randn([2, 3], rng) });
  assert.ok(r.maxRelError < TOL, JSON.stringify(r.errors));
  assert.ok(r.maxAbs.h0 > 1e-6);
});

test("SimpleRNN: ∂h(t)/∂h(t−1) = diag(σ'(z_h(t))) W_hh, with W_hh = Whhᵀ (lecture orientation)", () => {
  const rng = new Rng(5);
  const p = rnnParams(1, 4, rng);
  const x = randn([2, 3, 1], rng);
  // linear: exactly W_hh at every step
  const lin = simpleRnnCell("linear");
  const Js = stepJacobians(lin, p, x, bpttForward(lin, p, x), 1);
  const Whh = transpose(p.Whh);
  for (const J of Js) for (let i = 0; i < J.size; i++) assert.ok(Math.abs(J.data[i] - Whh.data[i]) < 1e-15);
  // tanh: row j scaled by 1 − h_j(t)²
  const th = simpleRnnCell("tanh");
  const fwd = bpttForward(th, p, x);
  const Jt = stepJacobians(th, p, x, fwd, 1);
  for (let t = 0; t < 3; t++) {
    for (let j = 0; j < 4; j++) {
      const h = fwd.hs.get(1, t, j);
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(Jt[t].get(j, k) - (1 - h * h) * Whh.get(j, k)) < 1e-15);
    }
  }
});

test("SimpleRNN: the step rejects an input with the wrong feature size and a state of the wrong shape, naming both shapes", () => {
  const rng = new Rng(6);
  const p = rnnParams(3, 4, rng);
  assertThrowsMatching(() => rnnStepForward(p, new Tensor([2, 5]), new Tensor([2, 4])), /x\(t\) has shape \(2, 5\), expected \(N, 3\)/, "features");
  assertThrowsMatching(() => rnnStepForward(p, new Tensor([2, 3]), new Tensor([2, 3])), /h\(t−1\) has shape \(2, 3\), expected \(2, 4\)/, "state");
  assertThrowsMatching(() => simpleRnnCell("softmax" as never), /activation 'softmax' is not supported/, "activation");
});

test.run();
