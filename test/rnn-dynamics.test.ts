/** Chapter 08's pieces: Lyapunov exponents, the oscillator, the Hopfield network, the learned adder, ∂L/∂h(0), k-means and automata. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng, normalTensor, orthogonal } from "../lib/random.ts";
import { simpleRnnCell, type RnnParams } from "../lib/rnn.ts";
import { largestLyapunov, largestLyapunovNaive, trajectorySeparation } from "../lib/lyapunov.ts";
import { hebbianWeights, hopfieldRnnParams, randomPatterns } from "../lib/hopfield.ts";
import { kmeans } from "../lib/kmeans.ts";
import { extractAutomaton, minimizeAutomaton, runAutomaton } from "../lib/automaton.ts";
import { numericalGradient, relError } from "../lib/gradcheck.ts";
import * as D from "../chapters/_shared/rnn-dynamics.ts";
import { initNet, seqLossAndGrads, seqForward, type SeqBatch } from "../chapters/_shared/rnn-train.ts";

const linear = simpleRnnCell("linear");
const tanh = simpleRnnCell("tanh");

/** The cell's weights for h(t) = A h(t−1): Whh = Aᵀ in the row-vector layout, no input, no bias. */
function mapParams(A: Tensor): RnnParams {
  const u = A.shape[0];
  const Whh = new Tensor([u, u]);
  for (let i = 0; i < u; i++) for (let j = 0; j < u; j++) Whh.data[j * u + i] = A.data[i * u + j];
  return { Whx: new Tensor([1, u]), Whh, bh: new Tensor([u]) };
}

test("Lyapunov exponent of a linear map h → A h is log ρ(A) (non-normal A, both estimators)", () => {
  // upper triangular: eigenvalues 0.9, 0.5, −0.3, 0.2 on the diagonal, large couplings above it
  const A = new Tensor([4, 4], Float64Array.from([0.9, 2, -1, 0.5, 0, 0.5, 3, 1, 0, 0, -0.3, 2, 0, 0, 0, 0.2]));
  const p = mapParams(A);
  const x = new Tensor([1, 600, 1]);
  const h0 = new Tensor([4], Float64Array.from([1, -1, 0.5, 0.3]));
  const want = Math.log(0.9);
  const fast = largestLyapunov(linear, p, x, { h0 }, { align: 150 });
  const naive = largestLyapunovNaive(linear, p, x, { h0 }, { align: 150 });
  assert.ok(Math.abs(fast.exponent - want) < 1e-6, `backward: ${fast.exponent} vs ${want}`);
  assert.ok(Math.abs(naive.exponent - want) < 1e-6, `naive: ${naive.exponent} vs ${want}`);
  assert.is(fast.counted, 450);
  // without the alignment steps the estimate is off: the option matters
  const raw = largestLyapunov(linear, p, new Tensor([1, 20, 1]), { h0 });
  assert.ok(Math.abs(raw.exponent - want) > 1e-3, `an unaligned 20-step estimate ${raw.exponent} should differ from ${want}`);
});

test("Lyapunov exponent of an orthogonal map is 0", () => {
  const Q = orthogonal([6, 6], new Rng(3));
  const p = mapParams(Q);
  const x = new Tensor([1, 300, 1]);
  const h0 = normalTensor([6], 0, 1, new Rng(4));
  assert.ok(Math.abs(largestLyapunov(linear, p, x, { h0 }).exponent) < 1e-12);
  assert.ok(Math.abs(largestLyapunovNaive(linear, p, x, { h0 }).exponent) < 1e-12);
  assert.throws(() => largestLyapunov(linear, p, x, { h0 }, { discard: 200, align: 100 }), /leaves none to count/);
  assert.throws(() => largestLyapunov(linear, p, new Tensor([2, 300, 1]), { h0 }), /expects one sequence x \(1, T, F\)/);
});

test("the backward-pass estimator agrees with the explicit-Jacobian reference on a chaotic tanh network", () => {
  const p = D.randomTanhNetwork(20, 3, new Rng(5));
  const x = new Tensor([1, 3000, 1]);
  const h0 = normalTensor([20], 0, 1, new Rng(6));
  const a = largestLyapunov(tanh, p, x, { h0 }, { discard: 100, align: 100 }).exponent;
  const b = largestLyapunovNaive(tanh, p, x, { h0 }, { discard: 100, align: 100 }).exponent;
  assert.ok(Math.abs(a - b) < 0.01, `backward ${a} vs forward ${b}`);
  assert.ok(a > 0, `g = 3 should be chaotic, λ = ${a}`);
});

test("random tanh networks: λ_max < −0.03 at g = 0.9 and > +0.02 at g = 1.5; separation grows only when λ > 0", () => {
  const sw = D.lyapunovSweep(D.DEFAULT_SEED, { N: 100, gains: [0.9, 1.5], networks: 3, discard: 100, count: 200, align: 50 });
  assert.ok(sw.lyapunov[0] < -0.03, `g = 0.9: ${sw.lyapunov[0]}`);
  assert.ok(sw.lyapunov[1] > 0.02, `g = 1.5: ${sw.lyapunov[1]}`);
  const conv = D.separationRun(1, 100, 0.9, 100, 100);
  const div = D.separationRun(1, 100, 2.5, 100, 100);
  assert.ok(conv[100] < 1e-10, `g = 0.9 separation ${conv[100]}`);
  assert.ok(div[100] > 1e-4, `g = 2.5 separation ${div[100]}`);
  assert.throws(() => trajectorySeparation(tanh, D.randomTanhNetwork(4, 1, new Rng(1)), new Tensor([1, 5, 1]), new Tensor([4]), 0), /delta must be positive/);
});

test("the rotation network: period within 2% of 2π/θ on the limit cycle, and the r < 1 oscillation dies out", () => {
  const cycle = D.rotationRun(1.05, D.THETA, 1000);
  const want = (2 * Math.PI) / D.THETA;
  assert.ok(Math.abs(cycle.period - want) / want < 0.02, `period ${cycle.period} vs ${want}`);
  assert.ok(cycle.ampEnd > 0.1, `limit cycle amplitude ${cycle.ampEnd}`);
  const decay = D.rotationRun(0.95, D.THETA, 1000);
  assert.ok(decay.ampEnd < 1e-10, `r = 0.95 amplitude ${decay.ampEnd}`);
  assert.ok(Math.abs(D.measurePeriod(Array.from({ length: 200 }, (_, t) => Math.sin((2 * Math.PI * t) / 17))).period - 17) < 1e-3);
});

test("Hopfield: symmetric Hebbian weights, and every stored pattern recalled from 10%-flipped starts", () => {
  const xi = randomPatterns(3, 32, new Rng(1));
  const W = hebbianWeights(xi);
  for (let i = 0; i < 32; i++) {
    assert.is(W.data[i * 32 + i], 0);
    for (let j = 0; j < 32; j++) assert.is(W.data[i * 32 + j], W.data[j * 32 + i]);
  }
  assert.throws(() => hopfieldRnnParams(W, 0), /β must be positive/);
  const h = D.hopfieldRun(D.DEFAULT_SEED, D.HOPFIELD_DEFAULTS);
  assert.is(D.HOPFIELD_DEFAULTS.flips / D.HOPFIELD_DEFAULTS.units >= 0.09, true);
  assert.is(h.recalled.length, 30);
  assert.ok(h.recalled.every(Boolean), `recalled ${h.recalled.filter(Boolean).length} of ${h.recalled.length}`);
  for (const path of h.overlapPaths) assert.ok(path[path.length - 1] > path[0], "the overlap grows");
});

test("the 3-unit binary-addition RNN (default seed) adds 32-bit numbers exactly, and its automaton is the carry automaton", () => {
  const { net } = D.trainAdder(D.DEFAULT_SEED, { units: 3, bits: 8, ...D.ADDER_DEFAULTS });
  const acc = D.adderAccuracy(net, 32, 1000, new Rng(D.DEFAULT_SEED + 100));
  assert.is(acc, 1, `bit accuracy on 1,000 pairs of 32-bit numbers: ${acc}`);
  const ex = D.extractAdderAutomaton(net, 8, new Rng(2));
  assert.is(ex.minimal.states, 2);
  // as a Moore machine: (carry, sum bit) = 4 states, and h(0)
  assert.is(ex.mooreStates, 5);
  assert.is(ex.automatonAccuracy, 1);
});

test("additionBatch: the targets are the bits of a + b", () => {
  const b = D.additionBatch(50, 10, new Rng(9));
  for (let n = 0; n < 50; n++) {
    let a = 0, c = 0, s = 0;
    for (let t = 0; t < 11; t++) {
      a += b.x.data[(n * 11 + t) * 2] * 2 ** t;
      c += b.x.data[(n * 11 + t) * 2 + 1] * 2 ** t;
      s += b.y.data[n * 11 + t] * 2 ** t;
    }
    assert.is(s, a + c);
  }
});

test("∂L/∂h(0) and every weight gradient of the masked-target trainer pass a finite-difference check", () => {
  const rng = new Rng(11);
  for (const out of ["linear", "sigmoid"] as const) {
    const net = initNet({ F: 2, units: 5, O: 2, h0: "learned", out }, rng);
    net.p.bh = normalTensor([5], 0, 0.5, rng); // random biases
    (net.by as Tensor).data.set([0.3, -0.2]);
    const x = normalTensor([3, 7, 2], 0, 1, rng);
    const y = out === "linear" ? normalTensor([3, 7, 2], 0, 1, rng) : new Tensor([3, 7, 2], Float64Array.from({ length: 42 }, () => (rng.next() < 0.5 ? 0 : 1)));
    const mask = new Tensor([3, 7, 2], Float64Array.from({ length: 42 }, (_, i) => (i % 3 === 0 ? 0 : 1)));
    const batch: SeqBatch = { x, y, mask };
    const g = seqLossAndGrads(net, batch).grads;
    const f = () => seqForward(net, batch).loss;
    for (const [name, analytic, param] of [["h0", g.h0, net.h0], ["Whx", g.Whx, net.p.Whx], ["Whh", g.Whh, net.p.Whh], ["bh", g.bh, net.p.bh], ["Wyh", g.Wyh, net.Wyh], ["by", g.by, net.by]] as const) {
      const numeric = numericalGradient(f, param as Tensor);
      const err = relError(analytic as Tensor, numeric);
      assert.ok(err < 1e-7, `${out} ${name}: relative error ${err}`);
      assert.ok(numeric.data.some((v) => Math.abs(v) > 1e-6), `${out} ${name}: vacuous check`);
    }
  }
  // the chapter's own check, on the sine task
  const net = initNet({ F: 1, units: 6, O: 1, h0: "learned" }, new Rng(12));
  const gc = D.h0GradCheck(net, D.sineBatch(30, D.THETA, Math.PI / 2));
  assert.ok(gc.relError < 1e-7, `h0GradCheck: ${gc.relError}`);
});

test("the learned attractor (chapter settings): the states settle (drift → 0) on fixed points with spectral radius < 1", () => {
  const a = D.learnedAttractor(D.DEFAULT_SEED, D.ATTRACTOR_DEFAULTS);
  assert.is(a.drift.length, D.ATTRACTOR_DEFAULTS.runT - 1);
  assert.ok(a.drift[a.drift.length - 1] < 1e-6, `drift ${a.drift[a.drift.length - 1]}`);
  assert.ok(a.fixedPoints.length >= 2, "one fixed point per sign");
  for (const fp of a.fixedPoints) {
    assert.ok(fp.spectralRadius < 1, `spectral radius ${fp.spectralRadius}`);
    assert.ok(fp.spread < 1e-6, `the sequences of one sign end ${fp.spread} apart`);
  }
  assert.ok(a.accAtRun > 0.9, `sign accuracy at t = 300: ${a.accAtRun}`);
});

test("initial states (chapter settings, 5 seeds × 400 updates): the learned h(0) has the lowest mean loss on the first 5 steps", () => {
  const cmp = D.initialStateComparison(D.DEFAULT_SEED, 5, 400);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const [z, h, l] = [mean(cmp.first5.zero), mean(cmp.first5.half), mean(cmp.first5.learned)];
  assert.ok(l < z && l < h, `first-5 MSE: zero ${z}, half ${h}, learned ${l}`);
  assert.is(cmp.first5.learned.length, 5);
});

test("k-means finds separated clusters", () => {
  const rng = new Rng(13);
  const centres = [[0, 0], [5, 5], [-5, 5]];
  const X = new Tensor([90, 2]);
  for (let i = 0; i < 90; i++) for (let j = 0; j < 2; j++) X.data[i * 2 + j] = centres[i % 3][j] + 0.1 * rng.normal();
  const { labels } = kmeans(X, 3, rng);
  for (let i = 3; i < 90; i++) assert.is(labels[i], labels[i % 3]);
  assert.is(new Set(labels).size, 3);
  assert.throws(() => kmeans(X, 0, rng), /k must be/);
});

test("automaton extraction: a 2-state machine observed through 4 labels minimises to 2 states", () => {
  // parity of the 1s seen, with the last input: labels 0/2 both mean "even", 1/3 "odd"; the output is the parity after the step
  const rng = new Rng(14);
  const states: number[][] = [], inputs: number[][] = [], outputs: number[][] = [];
  for (let n = 0; n < 40; n++) {
    let parity = 0;
    const s = [9], xs: number[] = [], ys: number[] = [];
    for (let t = 0; t < 12; t++) {
      const x = rng.next() < 0.5 ? 1 : 0;
      parity ^= x;
      xs.push(x);
      ys.push(parity);
      s.push(parity + 2 * x);
    }
    states.push(s);
    inputs.push(xs);
    outputs.push(ys);
  }
  const a = extractAutomaton({ states, inputs, outputs });
  assert.is(a.consistency, 1);
  assert.is(a.states, 5);
  const m = minimizeAutomaton(a);
  assert.is(m.states, 2);
  assert.equal(runAutomaton(m, [1, 1, 0, 1]), [1, 0, 0, 1]);
});

test.run();
