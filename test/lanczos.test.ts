/** lib/lanczos.ts: the spectral norm by Lanczos against power iteration (matrix.ts spectralNorm) and exact cases. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, spectralNorm, matmul, matmulABt } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { spectralNormLanczos, spectralNormVector, largestEigenvalue } from "../lib/lanczos.ts";
import { randn, assertThrowsMatching } from "./_helpers.ts";

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test("random matrices, square, tall and wide: equals power iteration within 1e-11", () => {
  const rng = new Rng(5);
  for (const [m, n] of [[1, 1], [3, 3], [20, 20], [64, 64], [30, 7], [7, 30]]) {
    const A = randn([m, n], rng, 1);
    assert.ok(rel(spectralNormLanczos(A), spectralNorm(A)) <= 1e-11, `(${m}, ${n})`);
  }
});

test("known singular values: diagonal, a close pair, orthogonal·diagonal, zero, identity", () => {
  const D = new Tensor([4, 4]);
  [3, -2.9999, 1, 0.5].forEach((v, i) => (D.data[i * 5] = v));
  assert.ok(rel(spectralNormLanczos(D), 3) <= 1e-14);
  // U·diag(σ)·Vᵀ with σ₁ = 5, σ₂ = 5(1 − 1e−6): power iteration would need millions of steps
  const rng = new Rng(9);
  const q = (n: number) => {
    // Householder reflection I − 2vvᵀ/‖v‖²: orthogonal
    const v = randn([n, 1], rng, 1);
    const H = matmulABt(v, v);
    const s = 2 / v.data.reduce((a, b) => a + b * b, 0);
    for (let i = 0; i < n * n; i++) H.data[i] = (i % (n + 1) === 0 ? 1 : 0) - s * H.data[i];
    return H;
  };
  const S = new Tensor([8, 8]);
  [5, 5 * (1 - 1e-6), 3, 2, 1, 0.5, 0.1, 0].forEach((v, i) => (S.data[i * 9] = v));
  const A = matmul(matmul(q(8), S), q(8));
  assert.ok(rel(spectralNormLanczos(A), 5) <= 1e-13, `close pair: ${spectralNormLanczos(A)}`);
  assert.is(spectralNormLanczos(new Tensor([3, 5])), 0);
  assert.is(spectralNormLanczos(new Tensor([0, 4])), 0);
  const I = new Tensor([6, 6]);
  for (let i = 0; i < 6; i++) I.data[i * 7] = 1;
  assert.ok(rel(spectralNormLanczos(I), 1) <= 1e-15);
});

test("scaled by 1e±200: the result scales with it (no over- or underflow of AᵀA)", () => {
  const A = randn([10, 10], new Rng(2), 1);
  const s = spectralNormLanczos(A);
  for (const c of [1e200, 1e-200]) {
    const B = new Tensor([10, 10], A.data.map((v) => v * c));
    assert.ok(rel(spectralNormLanczos(B), s * c) <= 1e-13, `scale ${c}`);
  }
  assert.ok(Number.isNaN(spectralNormLanczos(new Tensor([2, 2], Float64Array.from([1, NaN, 0, 1])))));
  assertThrowsMatching(() => spectralNormLanczos(new Tensor([2, 2, 2])), /must be a matrix, got shape \(2, 2, 2\)/, "rank 3");
});

test("a start vector changes the route, not the result; its singular vector comes back as the warm start", () => {
  const rng = new Rng(4);
  const A = randn([12, 12], rng, 1);
  const cold = spectralNormVector(A);
  assert.ok(cold.v !== null && Math.abs(Math.hypot(...cold.v) - 1) < 1e-12);
  const start = randn([12, 1], rng, 1).data;
  assert.ok(rel(spectralNormLanczos(A, 1e-15, start), cold.sigma) <= 1e-13);
  // ‖A v‖ = σ for the returned v
  const Av = matmul(A, new Tensor([12, 1], cold.v!));
  assert.ok(rel(Math.hypot(...Av.data), cold.sigma) <= 1e-10);
  // a zero start falls back to the fixed one
  assert.ok(rel(spectralNormLanczos(A, 1e-15, new Float64Array(12)), cold.sigma) <= 1e-13);
  assertThrowsMatching(() => spectralNormLanczos(A, 1e-15, new Float64Array(5)), /start vector has 5 entries, A has 12 columns/, "start length");
});

test("largestEigenvalue of a tridiagonal matrix: known cases", () => {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3
  assert.ok(Math.abs(largestEigenvalue([2, 2], [1], 0) - 3) <= 1e-15);
  // the n×n matrix with 2 on the diagonal and −1 beside it: 2 − 2cos(nπ/(n+1))
  const n = 10;
  const lmax = 2 - 2 * Math.cos((n * Math.PI) / (n + 1));
  assert.ok(Math.abs(largestEigenvalue(new Array(n).fill(2), new Array(n - 1).fill(-1), 0) - lmax) <= 1e-14);
});

test.run();
