/** Echo state networks: the reservoir's spectral radius, the ridge readout, the fixed reservoir, the echo-state property. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, spectralRadius } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { makeReservoir, reservoirWhh, reservoirSpectralRadius, reservoirStates, ridgeFit, readout, fitEsn, esnPredict, echoStateDistance } from "../lib/esn.ts";
import { randn } from "./_helpers.ts";
import { solve, matMul, transposeMat } from "../lib/linalg.ts";

test("the reservoir's W_hh has the asked spectral radius (against matrix.ts's dense spectralRadius)", () => {
  const res = makeReservoir(2, 60, { rho: 0.9, connections: 6, rng: new Rng(1) });
  const dense = spectralRadius(reservoirWhh(res));
  assert.ok(Math.abs(dense - 0.9) < 0.02 * 0.9, `dense ρ = ${dense}`);
  assert.ok(Math.abs(reservoirSpectralRadius(res) - 0.9) < 0.01);
  // sparse: each unit hears 6 others
  assert.is(reservoirWhh(res).data.filter((w) => w !== 0).length, 60 * 6);
});

test("ρ ≤ 0 is an error that names ρ", () => {
  assert.throws(() => makeReservoir(1, 10, { rho: 0, rng: new Rng(1) }), /spectral radius ρ must be a positive number, got 0/);
  assert.throws(() => makeReservoir(1, 10, { rho: -1, rng: new Rng(1) }), /got -1/);
});

/** The normal equations (ΦᵀΦ + βD) W = ΦᵀY for Φ = [S, 1], built entry by entry and solved by linalg.ts's Gaussian elimination. */
function normalEquations(S: Tensor, Y: Tensor, beta: number): number[][] {
  const [M, D] = S.shape, K = Y.shape[1];
  const Phi = Array.from({ length: M }, (_, m) => [...S.data.subarray(m * D, (m + 1) * D), 1]);
  const Ym = Array.from({ length: M }, (_, m) => [...Y.data.subarray(m * K, (m + 1) * K)]);
  const A = matMul(transposeMat(Phi), Phi);
  for (let i = 0; i < D; i++) A[i][i] += beta;
  return solve(A, matMul(transposeMat(Phi), Ym));
}

test("the ESN readout equals the ridge normal-equation solution", () => {
  const rng = new Rng(2);
  const S = randn([50, 8], rng), Y = randn([50, 2], rng);
  for (const beta of [0, 1e-3, 1]) {
    const W = ridgeFit(S, Y, beta), ref = normalEquations(S, Y, beta);
    for (let i = 0; i < 9; i++) for (let k = 0; k < 2; k++) assert.ok(Math.abs(W.data[i * 2 + k] - ref[i][k]) < 1e-10, `β = ${beta}: W[${i}][${k}] = ${W.data[i * 2 + k]}, normal equations ${ref[i][k]}`);
    // y = [S, 1]·W, against the same product written out
    const y = readout(S, W);
    for (let m = 0; m < 50; m++) {
      for (let k = 0; k < 2; k++) {
        let s = W.data[8 * 2 + k];
        for (let i = 0; i < 8; i++) s += S.data[m * 8 + i] * W.data[i * 2 + k];
        assert.ok(Math.abs(y.data[m * 2 + k] - s) <= 1e-12 * Math.max(1, Math.abs(s)), `y[${m}][${k}] = ${y.data[m * 2 + k]}, written out ${s}`);
      }
    }
  }
  // all-zero states with β = 0: ΦᵀΦ is singular
  assert.throws(() => ridgeFit(new Tensor([3, 2]), new Tensor([3, 1]), 0), /ridgeFit: .*not positive definite.*use a larger ridge parameter/);
});

test("fitting the readout changes no reservoir weight, and the fit beats the mean on a memory task", () => {
  const rng = new Rng(3);
  const res = makeReservoir(1, 80, { rho: 0.9, inputScale: 0.5, rng });
  const before = { Win: res.Win.data.slice(), vals: res.vals.slice(), cols: res.cols.slice(), rowStart: res.rowStart.slice() };
  // target: the input 3 steps before the end
  const x = randn([300, 12, 1], rng, 0.5);
  const y = new Tensor([300, 1]);
  for (let n = 0; n < 300; n++) y.data[n] = x.data[n * 12 + 8];
  const { W } = fitEsn(res, x, y, 1e-6);
  assert.equal(res.Win.data, before.Win);
  assert.equal(res.vals, before.vals);
  assert.equal(res.cols, before.cols);
  assert.equal(res.rowStart, before.rowStart);
  const yp = esnPredict(res, W, x);
  let se = 0, v = 0;
  for (let n = 0; n < 300; n++) { se += (yp.data[n] - y.data[n]) ** 2; v += y.data[n] ** 2; }
  assert.ok(se < 0.1 * v, `readout MSE ${se / 300} against variance ${v / 300}`);
});

test("echo-state property: at ρ = 0.9 two runs from different h(0) converge on the same input", () => {
  const rng = new Rng(4);
  const res = makeReservoir(1, 50, { rho: 0.9, rng });
  const x = randn([1, 200, 1], rng);
  const d = echoStateDistance(res, x, randn([50], rng), randn([50], rng));
  assert.ok(d[0] > 0.1 && d[199] < 1e-6 * d[0], `distance ${d[0]} → ${d[199]}`);
  // the reservoir run is the same as h(t) = tanh(x·Win + h·Whh) with the dense Whh
  const s = reservoirStates(res, x.reshape([1, 200, 1]).clone(), { keepAll: true });
  const Whh = reservoirWhh(res);
  let h = new Float64Array(50), maxd = 0;
  for (let t = 0; t < 200; t++) {
    const z = new Float64Array(50);
    for (let j = 0; j < 50; j++) { z[j] = x.data[t] * res.Win.data[j]; for (let k = 0; k < 50; k++) z[j] += h[k] * Whh.data[k * 50 + j]; }
    h = z.map(Math.tanh);
    for (let j = 0; j < 50; j++) maxd = Math.max(maxd, Math.abs(h[j] - (s.all as Tensor).data[t * 50 + j]));
  }
  assert.ok(maxd < 1e-12, `sparse and dense runs differ by ${maxd}`);
});

test.run();
