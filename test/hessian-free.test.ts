/** Hessian-free optimisation: the Gauss–Newton product, the R-operator, G's symmetry, CG, and one step that lowers the loss. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { type RnnNet, netForward, netGradient, netLoss, netToVector, vectorToNet, netSize, rForward, gaussNewtonProduct, timeSlices, conjugateGradient, HessianFree } from "../lib/hessian-free.ts";
import { solve } from "../lib/linalg.ts";
import { randn } from "./_helpers.ts";

/** A tiny SimpleRNN(3) over T = 5 steps of 2 features, 2 outputs, batch 4, with random biases. */
function tiny(seed = 1): { net: RnnNet; x: Tensor; t: Tensor } {
  const rng = new Rng(seed);
  const net: RnnNet = { Whx: randn([2, 3], rng, 0.7), Whh: randn([3, 3], rng, 0.6), bh: randn([3], rng, 0.3), Wy: randn([3, 2], rng, 0.8), by: randn([2], rng, 0.3) };
  return { net, x: randn([4, 5, 2], rng), t: randn([4, 2], rng) };
}

/** y(θ) flattened, for θ a flat vector. */
function outputs(theta: Float64Array, like: RnnNet, x: Tensor): Float64Array {
  return netForward(vectorToNet(theta, like), x).y.data.slice();
}

function relErr(a: Float64Array, b: Float64Array): number {
  let d = 0, ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    ma = Math.max(ma, Math.abs(a[i]));
    mb = Math.max(mb, Math.abs(b[i]));
  }
  return d / Math.max(1e-12, ma + mb);
}

const dotv = (a: Float64Array, b: Float64Array) => a.reduce((s, ai, i) => s + ai * b[i], 0);

test("R-operator: J·v equals the centred difference (f(θ + εv) − f(θ − εv))/2ε to 1e-7", () => {
  const { net, x } = tiny();
  const rng = new Rng(7);
  const theta = netToVector(net);
  const v = Float64Array.from({ length: theta.length }, () => rng.normal());
  const Jv = rForward(net, netForward(net, x), x, v).Ry.data;
  const eps = 1e-5;
  const plus = outputs(theta.map((w, i) => w + eps * v[i]), net, x);
  const minus = outputs(theta.map((w, i) => w - eps * v[i]), net, x);
  const fd = plus.map((p, i) => (p - minus[i]) / (2 * eps));
  const err = relErr(Jv, fd);
  assert.ok(err < 1e-7, `relative error ${err}`);
  assert.ok(Math.max(...fd.map(Math.abs)) > 1e-3, "a vacuous check");
});

test("Gauss–Newton product: G·v equals Jᵀ(H_L(J v)) with J built column by column by finite differences, to 1e-6", () => {
  const { net, x } = tiny(2);
  const theta = netToVector(net);
  const P = theta.length, N = x.shape[0];
  // one forward pass at θ: its size for J, and the stored pass both products below use
  const f = netForward(net, x);
  const M = f.y.size;
  // J (M, P), column j by centred differences
  const J = new Float64Array(M * P), h = 1e-5;
  for (let j = 0; j < P; j++) {
    const tp = theta.slice(), tm = theta.slice();
    tp[j] += h;
    tm[j] -= h;
    const yp = outputs(tp, net, x), ym = outputs(tm, net, x);
    for (let m = 0; m < M; m++) J[m * P + j] = (yp[m] - ym[m]) / (2 * h);
  }
  const rng = new Rng(3);
  const v = Float64Array.from({ length: P }, () => rng.normal());
  // Jᵀ (I/N) (J v)
  const Jv = new Float64Array(M);
  for (let m = 0; m < M; m++) for (let j = 0; j < P; j++) Jv[m] += J[m * P + j] * v[j];
  const ref = new Float64Array(P);
  for (let j = 0; j < P; j++) for (let m = 0; m < M; m++) ref[j] += (J[m * P + j] * Jv[m]) / N;
  const Gv = gaussNewtonProduct(net, f, x, v);
  const err = relErr(Gv, ref);
  assert.ok(err < 1e-6, `relative error ${err}`);
  // damping adds λv exactly
  const Gd = gaussNewtonProduct(net, f, x, v, { damping: 0.5 });
  assert.ok(relErr(Gd, Gv.map((g, i) => g + 0.5 * v[i])) < 1e-14);
});

test("G is symmetric: uᵀGv = vᵀGu to 1e-10 (also with structural damping)", () => {
  const { net, x } = tiny(4);
  const rng = new Rng(5);
  const P = netSize(net);
  const u = Float64Array.from({ length: P }, () => rng.normal());
  const v = Float64Array.from({ length: P }, () => rng.normal());
  const f = netForward(net, x);
  for (const opts of [{}, { damping: 0.3, structuralDamping: 0.7 }]) {
    const a = dotv(u, gaussNewtonProduct(net, f, x, v, opts)), b = dotv(v, gaussNewtonProduct(net, f, x, u, opts));
    assert.ok(Math.abs(a - b) <= 1e-10 * Math.max(1, Math.abs(a)), `uᵀGv = ${a}, vᵀGu = ${b}`);
    assert.ok(Math.abs(a) > 1e-3);
  }
  // positive semi-definite
  assert.ok(dotv(v, gaussNewtonProduct(net, f, x, v)) >= 0);
  // x(t) and h(t) cut out once and reused, as HessianFree's CG does: the same bits, twice over
  const slices = timeSlices(f, x), opts = { damping: 0.3, structuralDamping: 0.7 };
  const fresh = Array.from(gaussNewtonProduct(net, f, x, v, opts));
  assert.equal(Array.from(gaussNewtonProduct(net, f, x, v, opts, slices)), fresh);
  assert.equal(Array.from(gaussNewtonProduct(net, f, x, v, opts, slices)), fresh);
});

test("CG on a random SPD system reaches the direct solve's solution to 1e-8", () => {
  const rng = new Rng(11), n = 30;
  const B = Float64Array.from({ length: n * n }, () => rng.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? 1 : 0;
    for (let k = 0; k < n; k++) s += (B[i * n + k] * B[j * n + k]) / n;
    A[i * n + j] = s;
  }
  const b = Float64Array.from({ length: n }, () => rng.normal());
  const Av = (v: Float64Array) => { const o = new Float64Array(n); for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) o[i] += A[i * n + j] * v[j]; return o; };
  const cg = conjugateGradient(Av, b, null, { maxIters: 500, tol: 1e-14, martensStop: false });
  const direct = Float64Array.from(solve(Array.from({ length: n }, (_, i) => [...A.subarray(i * n, (i + 1) * n)]), [...b].map((v) => [v])), (r) => r[0]);
  const err = relErr(cg.x, direct);
  assert.ok(err < 1e-8, `relative error ${err} after ${cg.iterations} iterations`);
  // φ decreases monotonically
  for (let i = 1; i < cg.phis.length; i++) assert.ok(cg.phis[i] <= cg.phis[i - 1] + 1e-12);
});

test("a CG iteration cap < 1 is an error that names the cap", () => {
  assert.throws(() => conjugateGradient((v) => v, new Float64Array(2), null, { maxIters: 0 }), /iteration cap must be a whole number ≥ 1, got 0/);
  assert.throws(() => new HessianFree({ maxCgIters: 0 }), /iteration cap must be a whole number ≥ 1, got 0/);
});

test("netGradient equals finite differences of the loss", () => {
  const { net, x, t } = tiny(6);
  const theta = netToVector(net);
  const { grad } = netGradient(net, x, t);
  const num = theta.map((_, j) => {
    const tp = theta.slice(), tm = theta.slice();
    tp[j] += 1e-5; tm[j] -= 1e-5;
    return (netLoss(netForward(vectorToNet(tp, net), x).y, t) - netLoss(netForward(vectorToNet(tm, net), x).y, t)) / 2e-5;
  });
  assert.ok(relErr(grad, num) < 1e-7, `relative error ${relErr(grad, num)}`);
});

test("HF steps lower the loss, and λ follows the reduction ratio", () => {
  const { net, x, t } = tiny(8);
  const hf = new HessianFree({ maxCgIters: 20, structuralDamping: 0.3 });
  const l0 = netGradient(net, x, t).loss;
  let info = hf.step(net, { x, t }, { x, t });
  for (let i = 0; i < 4; i++) info = hf.step(net, { x, t }, { x, t });
  assert.ok(info.lossAfter < 0.5 * l0, `${l0} → ${info.lossAfter}`);
  assert.ok(hf.cgIterationsTotal >= 5);
});

test.run();
