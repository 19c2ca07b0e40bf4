/** The BPTT loop shared by all cells: accumulation over steps, repeatability, linearity, truncation, clipping, Jacobians, chapter 05's rates. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, frobeniusNorm, spectralNorm, matmulABt } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { type RnnParams, simpleRnnCell, rnnStepForward } from "../lib/rnn.ts";
import { type LstmParams, lstmCell } from "../lib/lstm.ts";
import { bpttForward, bpttBackward, stepJacobians, jacobianProduct, jacobianNorms, jacobianProducts, jacobianNormStep } from "../lib/bptt.ts";
import { RHOS, gradientFlowSetup, gradientFlowRun, gradientFlowProblem } from "../chapters/_shared/bptt-experiment.ts";
import { sequenceGradCheck } from "../chapters/_shared/bptt-gradcheck.ts";
import { randn, assertThrowsMatching, rnnParams, assertJacobianFD } from "./_helpers.ts";

function sameTensor(a: Tensor, b: Tensor, what: string): void {
  assert.equal(a.shape, b.shape, `${what}: shape`);
  for (let i = 0; i < a.size; i++) assert.ok(Object.is(a.data[i], b.data[i]), `${what}[${i}]: ${a.data[i]} vs ${b.data[i]}`);
}

test("a weight used at every time step accumulates its gradient over the steps: ∂L/∂W_hh = Σ_t (step t's share)", () => {
  const rng = new Rng(1);
  const p = rnnParams(2, 3, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([2, 5, 2], rng), dhs = randn([2, 5, 3], rng);
  const fwd = bpttForward(cell, p, x, { h0: randn([2, 3], rng) });
  const total = bpttBackward(cell, p, fwd, { dhs });
  const rec = bpttBackward(cell, p, fwd, { dhs, recordSteps: true });
  const steps = rec.stepGrads as RnnParams[];
  assert.is(steps.length, 5);
  for (const k of ["Whx", "Whh", "bh"] as const) {
    const sum = new Tensor(p[k].shape);
    for (const s of steps) for (let i = 0; i < sum.size; i++) sum.data[i] += s[k].data[i];
    for (let i = 0; i < sum.size; i++) assert.ok(Math.abs(sum.data[i] - total.grads[k].data[i]) < 1e-14, `${k}: Σ_t ≠ total`);
    // every step contributes, and no single step is the whole gradient
    for (let t = 0; t < 5; t++) {
      assert.ok(frobeniusNorm(steps[t][k]) > 1e-6, `${k}: step ${t + 1} contributes nothing`);
      assert.ok(frobeniusNorm(steps[t][k]) < frobeniusNorm(total.grads[k]) * 0.999 || frobeniusNorm(steps[t][k]) > frobeniusNorm(total.grads[k]) * 1.001, `${k}: step ${t + 1} equals the total`);
    }
  }
  assert.equal(rec.stepGradNorms, steps.map((s) => frobeniusNorm(s.Whh)));
});

test("recordSteps \"norms\" gives recordSteps true's per-step norms and gradients bit for bit, without keeping the steps", () => {
  const rng = new Rng(4);
  const p = rnnParams(2, 3, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([2, 6, 2], rng), dhs = randn([2, 6, 3], rng);
  const fwd = bpttForward(cell, p, x, { h0: randn([2, 3], rng) });
  const all = bpttBackward(cell, p, fwd, { dhs, recordSteps: true });
  const norms = bpttBackward(cell, p, fwd, { dhs, recordSteps: "norms" });
  assert.is(norms.stepGrads, null);
  assert.equal(norms.stepGradNorms, all.stepGradNorms);
  assert.ok((norms.stepGradNorms as number[]).every((v) => v > 0));
  for (const k of ["Whx", "Whh", "bh"] as const) sameTensor(norms.grads[k], all.grads[k], k);
  assert.is(norms.gradNormBefore, all.gradNormBefore);
});

test("a second backward pass over the same forward pass gives bit-identical results (gradients start from zero, the stack is intact)", () => {
  const rng = new Rng(2);
  const cell = lstmCell();
  const p: LstmParams = { W: randn([2, 12], rng, 0.5), U: randn([3, 12], rng, 0.5), b: randn([12], rng, 0.3) };
  const x = randn([2, 4, 2], rng), dhs = randn([2, 4, 3], rng);
  const fwd = bpttForward(cell, p, x, { h0: randn([3], rng), c0: randn([3], rng) });
  const a = bpttBackward(cell, p, fwd, { dhs });
  const b = bpttBackward(cell, p, fwd, { dhs });
  assert.is(fwd.stack.length, 4, "the forward result's stack is untouched");
  for (const k of ["W", "U", "b"] as const) sameTensor(a.grads[k], b.grads[k], k);
  sameTensor(a.dx, b.dx, "dx");
  sameTensor(a.dh0 as Tensor, b.dh0 as Tensor, "dh0");
  sameTensor(a.dc0 as Tensor, b.dc0 as Tensor, "dc0");
  assert.equal(a.dLdhNorms, b.dLdhNorms);
});

test("a zero h(0) (the default): the skipped products change nothing; initialStateGrad = false leaves ∂L/∂h(0) out and nothing else", () => {
  const rng = new Rng(9);
  const cell = lstmCell();
  const p: LstmParams = { W: randn([2, 12], rng, 0.5), U: randn([3, 12], rng, 0.5), b: randn([12], rng, 0.3) };
  const x = randn([2, 4, 2], rng), dhs = randn([2, 4, 3], rng);
  const fwd = bpttForward(cell, p, x);
  const all = bpttBackward(cell, p, fwd, { dhs });
  const noH0 = bpttBackward(cell, p, fwd, { dhs, initialStateGrad: false });
  assert.is(noH0.dh0, null);
  assert.is(noH0.dc0, null);
  assert.ok(all.dh0 !== null && frobeniusNorm(all.dh0) > 1e-6);
  for (const k of ["W", "U", "b"] as const) sameTensor(noH0.grads[k], all.grads[k], k);
  sameTensor(noH0.dx, all.dx, "dx");
  // with h(0) = 0 the result is the same as with an explicit h(0) that is zero only up to a tiny entry
  const tiny = new Tensor([2, 3]);
  tiny.data[0] = 1e-300;
  const t = bpttBackward(cell, p, bpttForward(cell, p, x, { h0: tiny, c0: new Tensor([2, 3]) }), { dhs });
  for (const k of ["W", "U", "b"] as const) for (let i = 0; i < p[k].size; i++) assert.ok(Math.abs(t.grads[k].data[i] - all.grads[k].data[i]) < 1e-14, k);
  const r = sequenceGradCheck(cell, p, x); // no initial state given: zeros
  assert.ok(r.maxRelError < 1e-7, JSON.stringify(r.errors));
});

test("the backward pass is linear: doubling ∂L/∂h from above doubles every gradient", () => {
  const rng = new Rng(3);
  const p = rnnParams(2, 4, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([3, 6, 2], rng), dhs = randn([3, 6, 4], rng);
  const fwd = bpttForward(cell, p, x, { h0: randn([4], rng) });
  const one = bpttBackward(cell, p, fwd, { dhs });
  const two = bpttBackward(cell, p, fwd, { dhs: new Tensor(dhs.shape, dhs.data.map((v) => 2 * v)) });
  const pairs: [Tensor, Tensor][] = [[one.grads.Whx, two.grads.Whx], [one.grads.Whh, two.grads.Whh], [one.grads.bh, two.grads.bh], [one.dx, two.dx], [one.dh0 as Tensor, two.dh0 as Tensor]];
  for (const [a, b] of pairs) for (let i = 0; i < a.size; i++) assert.ok(Math.abs(b.data[i] - 2 * a.data[i]) <= 1e-15 * Math.abs(a.data[i]) * 4 + 1e-300);
  one.dLdhNorms.forEach((n, t) => assert.ok(Math.abs(two.dLdhNorms[t] / n - 2) < 1e-14));
});

test("truncated BPTT: k ≥ T is full BPTT; k = 1 keeps only each step's own ∂L(t)/∂h(t)", () => {
  const rng = new Rng(4);
  const p = rnnParams(1, 3, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([2, 5, 1], rng), dhs = randn([2, 5, 3], rng);
  const fwd = bpttForward(cell, p, x);
  const full = bpttBackward(cell, p, fwd, { dhs });
  const k5 = bpttBackward(cell, p, fwd, { dhs, truncate: 5 });
  sameTensor(full.grads.Whh, k5.grads.Whh, "k = T");
  const k1 = bpttBackward(cell, p, fwd, { dhs, truncate: 1 });
  for (let t = 0; t < 5; t++) {
    let own = 0;
    for (let n = 0; n < 2; n++) for (let j = 0; j < 3; j++) own += dhs.get(n, t, j) ** 2;
    assert.ok(Math.abs(k1.dLdhNorms[t] - Math.sqrt(own)) < 1e-14, `t = ${t + 1}`);
  }
  assert.ok(frobeniusNorm(k1.grads.Whh) !== frobeniusNorm(full.grads.Whh));
  assertThrowsMatching(() => bpttBackward(cell, p, fwd, { dhs, truncate: 0 }), /truncate must be a positive integer/, "truncate 0");
});

test("clipping by global norm: the norm becomes the threshold, the direction is kept (cosine 1), small gradients pass unchanged", () => {
  const rng = new Rng(5);
  const p = rnnParams(2, 4, rng);
  const cell = simpleRnnCell("linear");
  const h0 = randn([4], rng);
  const x = randn([2, 6, 2], rng), dhs = randn([2, 6, 4], rng);
  const fwd = bpttForward(cell, p, x, { h0 });
  const raw = bpttBackward(cell, p, fwd, { dhs });
  const c = bpttBackward(cell, p, fwd, { dhs, clipNorm: 0.5 });
  const flat = (r: typeof raw) => [...r.grads.Whx.data, ...r.grads.Whh.data, ...r.grads.bh.data, ...(r.dh0 as Tensor).data];
  const a = flat(raw), b = flat(c);
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(c.gradNormBefore > 0.5);
  assert.ok(Math.abs(c.gradNormBefore - norm(a)) < 1e-12 * norm(a), "the learned h(0) is part of the global norm");
  assert.ok(Math.abs(norm(b) - 0.5) < 1e-12 && Math.abs(c.gradNormAfter - 0.5) < 1e-12);
  const cos = a.reduce((s, v, i) => s + v * b[i], 0) / (norm(a) * norm(b));
  assert.ok(Math.abs(cos - 1) < 1e-14, `cosine ${cos}`);
  const big = bpttBackward(cell, p, fwd, { dhs, clipNorm: 1e9 });
  sameTensor(big.grads.Whh, raw.grads.Whh, "below the threshold");
  assert.is(big.gradNormAfter, big.gradNormBefore);
});

test("a learned initial state (u,) gets the batch sum of the per-sequence gradients ∂L/∂h(0)", () => {
  const rng = new Rng(6);
  const p = rnnParams(2, 3, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([3, 4, 2], rng), dhs = randn([3, 4, 3], rng), h0 = randn([3], rng);
  const h0N = new Tensor([3, 3]);
  for (let n = 0; n < 3; n++) h0N.data.set(h0.data, n * 3);
  const shared = bpttBackward(cell, p, bpttForward(cell, p, x, { h0 }), { dhs });
  const perSeq = bpttBackward(cell, p, bpttForward(cell, p, x, { h0: h0N }), { dhs });
  assert.equal(shared.dh0!.shape, [3]);
  assert.equal(perSeq.dh0!.shape, [3, 3]);
  for (let j = 0; j < 3; j++) {
    const s = perSeq.dh0!.get(0, j) + perSeq.dh0!.get(1, j) + perSeq.dh0!.get(2, j);
    assert.ok(Math.abs(shared.dh0!.data[j] - s) < 1e-14);
  }
});

test("∂h(t)/∂h(k) as a product of step Jacobians equals finite differences of h(t) in h(k); norms agree with the product", () => {
  const rng = new Rng(7);
  const p = rnnParams(1, 4, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([2, 6, 1], rng);
  const fwd = bpttForward(cell, p, x, { h0: randn([2, 4], rng) });
  const Js = stepJacobians(cell, p, x, fwd, 1);
  const k = 2, t = 5;
  const P = jacobianProduct(Js, k, t);
  // rerun steps k+1..t from a perturbed h(k) for sample 1
  const hk = new Float64Array(4);
  for (let j = 0; j < 4; j++) hk[j] = fwd.hs.get(1, k - 1, j);
  const run = (h: Float64Array) => {
    let s = new Tensor([1, 4], h.slice());
    for (let i = k; i < t; i++) s = rnnStepForward(p, new Tensor([1, 1], Float64Array.from([x.get(1, i, 0)])), s, "tanh").h;
    return s.data;
  };
  assertJacobianFD(run, hk, P, "∂h(t)/∂h(k)");
  const norms = jacobianNorms(Js, t);
  assert.is(norms.length, t + 1);
  assert.ok(Math.abs(norms[k].frobenius - frobeniusNorm(P)) < 1e-14);
  assert.ok(Math.abs(norms[k].spectral - spectralNorm(P)) < 1e-12);
  assert.ok(Math.abs(norms[t].spectral - 1) < 1e-12, "∂h(t)/∂h(t) = I");
  assertThrowsMatching(() => jacobianProduct(Js, 4, 2), /0 ≤ k ≤ t ≤ T = 6/, "k > t");
});

test("stepJacobians: the SimpleRNN's closed form diag(σ_h'(z_h)) W_hh equals the backward passes (reference) for every activation and path", () => {
  const rng = new Rng(11);
  const p = rnnParams(2, 5, rng);
  const x = randn([3, 7, 2], rng);
  const h0 = randn([3, 5], rng);
  for (const act of ["tanh", "linear", "relu", "sigmoid"] as const) {
    const cell = simpleRnnCell(act);
    for (const stepwise of [false, true]) {
      const fwd = bpttForward(cell, p, x, { h0 }, { stepwise });
      for (const sample of [0, 2]) {
        const fast = stepJacobians(cell, p, x, fwd, sample);
        const ref = stepJacobians(cell, p, x, fwd, sample, { reference: true });
        assert.is(fast.length, 7);
        for (let t = 0; t < 7; t++) {
          assert.equal(fast[t].shape, [5, 5]);
          for (let i = 0; i < 25; i++) assert.ok(Math.abs(fast[t].data[i] - ref[t].data[i]) <= 1e-12, `${act}, stepwise ${stepwise}, sample ${sample}, t ${t + 1}, entry ${i}`);
        }
      }
    }
  }
  const fwd = bpttForward(simpleRnnCell("tanh"), p, x);
  assertThrowsMatching(() => stepJacobians(simpleRnnCell("tanh"), p, x, fwd, 3), /sample 3 is outside 0\.\.2/, "sample out of range");
});

test("jacobianNorms: Lanczos equals power iteration (reference) within 1e-10 for chapter 05's T = 300, 64 units", () => {
  const setup = gradientFlowSetup(2023, 300, 64);
  for (const [act, rho] of [["tanh", 0.9], ["linear", 1.5]] as const) {
    const { cell, params, fwd } = gradientFlowProblem(setup, act, rho);
    const Js = stepJacobians(cell, params, setup.x, fwd);
    const fast = jacobianNorms(Js, 300), ref = jacobianNorms(Js, 300, { reference: true });
    let worst = 0;
    for (let k = 0; k <= 300; k++) {
      worst = Math.max(worst, Math.abs(fast[k].spectral - ref[k].spectral) / ref[k].spectral);
      assert.is(fast[k].frobenius, ref[k].frobenius);
    }
    assert.ok(worst <= 1e-10, `${act}, ρ = ${rho}: relative difference ${worst}`);
    assert.ok(ref[0].spectral !== ref[300].spectral, "the norms vary with k");
  }
});

test("jacobianProducts yields ∂h(t)/∂h(k) for k = t..0 as jacobianProduct does; its steps with jacobianNormStep give jacobianNorms bit for bit (the page's two workers)", () => {
  const rng = new Rng(11);
  const p = rnnParams(1, 6, rng);
  const cell = simpleRnnCell("tanh");
  const x = randn([1, 9, 1], rng);
  const Js = stepJacobians(cell, p, x, bpttForward(cell, p, x));
  const t = 8, norms = jacobianNorms(Js, t);
  let expectK = t, v: Float64Array | null = null;
  for (const { k, P } of jacobianProducts(Js, t)) {
    assert.is(k, expectK--);
    const ref = jacobianProduct(Js, k, t);
    for (let i = 0; i < P.size; i++) assert.ok(Math.abs(P.data[i] - ref.data[i]) <= 1e-14 * (1 + Math.abs(ref.data[i])), `k = ${k}, entry ${i}`);
    // a copy, as the page's norms worker receives it
    const r = jacobianNormStep(new Tensor(P.shape, P.data.slice()), k, k < t ? Js[k] : null, v);
    v = r.v;
    assert.is(r.norm.spectral, norms[k].spectral);
    assert.is(r.norm.frobenius, norms[k].frobenius);
  }
  assert.is(expectK, -1);
  assertThrowsMatching(() => jacobianProducts(Js, 10).next(), /t = 10 is outside 0\.\.9/, "t > T");
});

test("chapter 05: for the linear RNN the rate of ‖∂L/∂h(T−k)‖ fitted over k = 20..80 matches ρ within 5% for every ρ; tanh stays below ρ", () => {
  const setup = gradientFlowSetup(2023, 100, 32); // the chapter's defaults
  for (const rho of RHOS) {
    const lin = gradientFlowRun(setup, "linear", rho);
    assert.ok(Math.abs(lin.fittedRate / rho - 1) < 0.05, `ρ = ${rho}: fitted rate ${lin.fittedRate}`);
    assert.ok(lin.sigmaMax >= rho * (1 - 1e-9), "σ_max ≥ ρ");
    assert.is(lin.dLdh.length, 100);
    assert.is(lin.jacobianNorms.length, 100);
    // vanishing below 1, exploding above
    if (rho < 1) assert.ok(lin.dLdh[0] < 1e-4 * lin.dLdh[99], `ρ = ${rho} should vanish`);
    if (rho > 1) assert.ok(lin.dLdh[0] > 1e3 * lin.dLdh[99], `ρ = ${rho} should explode`);
    const th = gradientFlowRun(setup, "tanh", rho);
    assert.ok(th.fittedRate < rho, `tanh, ρ = ${rho}: saturation keeps the rate ${th.fittedRate} below ρ`);
  }
});

test("bad input: a 2-D sequence, the wrong feature size, an initial state of the wrong shape, dhs of the wrong shape", () => {
  const rng = new Rng(8);
  const p = rnnParams(3, 4, rng);
  const cell = simpleRnnCell("tanh");
  assertThrowsMatching(() => bpttForward(cell, p, new Tensor([5, 3])), /SimpleRNN\(4\): expected a sequence batch \(N, T, F\) with F = 3, got a 2-D input \(5, 3\)/, "2-D");
  assertThrowsMatching(() => bpttForward(cell, p, new Tensor([2, 6, 5])), /sequence \(2, 6, 5\) has 5 features per time step, the kernel expects 3/, "features");
  assertThrowsMatching(() => bpttForward(cell, p, new Tensor([2, 6, 3]), { h0: new Tensor([2, 5]) }), /initial state h0 has shape \(2, 5\), expected \(2, 4\) for a batch of 2 or \(4,\)/, "h0");
  assertThrowsMatching(() => bpttForward(cell, p, new Tensor([2, 6, 3]), { c0: new Tensor([4]) }), /a SimpleRNN has no cell state/, "c0");
  const fwd = bpttForward(cell, p, new Tensor([2, 6, 3]));
  assertThrowsMatching(() => bpttBackward(cell, p, fwd, { dhs: new Tensor([2, 5, 4]) }), /dhs .* has shape \(2, 5, 4\), expected \(2, 6, 4\)/, "dhs");
  assertThrowsMatching(() => bpttBackward(cell, p, fwd, { dhT: new Tensor([6, 4]) }), /dhT .* has shape \(6, 4\), expected \(2, 4\)/, "dhT");
});

test.run();
