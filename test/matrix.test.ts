import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Tensor, fromArray, matmul, matmulAtB, matmulABt, matmulNaive, matmulUnpacked, transpose, addRowVector, colSums, argmaxRows, gemmPacked, GEMM_KC, GEMM_NC,
  frobeniusNorm, spectralNorm, spectralRadius, add, mul, timeStep, setTimeStep, imageDims, sequenceDims, takeRows,
} from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { randn, assertThrowsMatching, maxAbsDiff } from "./_helpers.ts";

test("fromArray builds row-major data and rejects ragged input", () => {
  const t = fromArray([[1, 2, 3], [4, 5, 6]]);
  assert.equal(t.shape, [2, 3]);
  assert.equal(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
  assert.is(t.get(1, 0), 4);
  assert.equal(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assertThrowsMatching(() => fromArray([[1, 2], [3]]), /ragged/, "ragged");
});

test("the three fast products agree with the naive triple loop for awkward sizes", () => {
  const rng = new Rng(1);
  // sizes that exercise the unrolled blocks, the remainders and the packed-Bᵀ path
  for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [4, 8, 4], [9, 250, 13], [9, 250, 100], [1, 130, 129], [33, 130, 129], [65, 67, 3], [40, 200, 100], [7, 600, 131], [10, 257, 65], [5, 513, 200], [2, 300, 9]]) {
    const A = randn([m, k], rng), B = randn([k, n], rng);
    const ref = matmulNaive(A, B);
    assert.ok(maxAbsDiff(matmul(A, B), ref) < 1e-12, `A·B ${m}x${k}x${n}`);
    assert.ok(maxAbsDiff(matmulAtB(transpose(A), B), ref) < 1e-12, `Aᵀ·B ${m}x${k}x${n}`);
    assert.ok(maxAbsDiff(matmulABt(A, transpose(B)), ref) < 1e-12, `A·Bᵀ ${m}x${k}x${n}`);
    assert.ok(maxAbsDiff(matmulUnpacked(A, B), ref) < 1e-12, `unpacked A·B ${m}x${k}x${n}`);
  }
});

test("the packed kernel is bit-identical to the unpacked i-k-j loop (packing changes where B is read from, not the sums)", () => {
  const rng = new Rng(4);
  for (const [m, k, n] of [[64, 300, 200], [37, 600, 131], [33, 17, 1000], [40, 600, 450], [33, 513, 520]]) {
    const A = randn([m, k], rng), B = randn([k, n], rng);
    // gemmPacked called directly: matmul packs only some of these shapes (packs() in matrix.ts)
    const packed = new Tensor([m, n]);
    gemmPacked(A.data, k, 1, B.data, n, 1, packed.data, n, n, k, 0, m, false, new Float64Array(GEMM_KC * GEMM_NC));
    const unpacked = matmulUnpacked(A, B), viaBt = matmulABt(A, transpose(B));
    assert.ok(packed.data.every((v, i) => Object.is(v, unpacked.data[i])), `A·B ${m}x${k}x${n}`);
    assert.ok(viaBt.data.every((v, i) => Object.is(v, unpacked.data[i])), `A·Bᵀ ${m}x${k}x${n}`);
  }
});

test("accumulate adds into out across the packed kernel's blocks of 256 rows of B and 128 columns", () => {
  const rng = new Rng(3);
  const A = randn([40, 600], rng), B = randn([600, 300], rng), C0 = randn([40, 300], rng);
  const ref = add(matmulNaive(A, B), C0);
  const packed = C0.clone();
  gemmPacked(A.data, 600, 1, B.data, 300, 1, packed.data, 300, 300, 600, 0, 40, true, new Float64Array(GEMM_KC * GEMM_NC));
  assert.ok(maxAbsDiff(packed, ref) < 1e-11);
  assert.ok(maxAbsDiff(matmul(A, B, C0.clone(), true), ref) < 1e-11);
  assert.ok(maxAbsDiff(matmulAtB(transpose(A), B, C0.clone(), true), ref) < 1e-11);
  assert.ok(maxAbsDiff(matmulABt(A, transpose(B), C0.clone(), true), ref) < 1e-11);
});

test("accumulate adds into out instead of overwriting it", () => {
  const rng = new Rng(2);
  const A = randn([6, 5], rng), B = randn([5, 4], rng);
  const ref = matmulNaive(A, B);
  for (const f of [
    (o: Tensor) => matmul(A, B, o, true),
    (o: Tensor) => matmulAtB(transpose(A), B, o, true),
    (o: Tensor) => matmulABt(A, transpose(B), o, true),
  ]) {
    const out = new Tensor([6, 4]);
    f(out);
    f(out);
    assert.ok(maxAbsDiff(out, add(ref, ref)) < 1e-12);
  }
});

test("shape mismatches name the operation and both shapes", () => {
  const A = new Tensor([2, 3]), B = new Tensor([4, 5]);
  assertThrowsMatching(() => matmul(A, B), /matmul.*\(2, 3\).*\(4, 5\)/, "matmul");
  assertThrowsMatching(() => matmulAtB(A, B), /matmulAtB.*\(2, 3\).*\(4, 5\)/, "matmulAtB");
  assertThrowsMatching(() => matmulABt(A, B), /matmulABt.*\(2, 3\).*\(4, 5\)/, "matmulABt");
  assertThrowsMatching(() => add(A, B), /add.*\(2, 3\).*\(4, 5\)/, "add");
  assertThrowsMatching(() => mul(A, B), /mul.*\(2, 3\).*\(4, 5\)/, "mul");
  assertThrowsMatching(() => addRowVector(A, new Tensor([4])), /addRowVector.*\(2, 3\).*\(4,\)/, "addRowVector");
  assertThrowsMatching(() => A.reshape([4, 2]), /\(2, 3\).*\(4, 2\)/, "reshape");
  assertThrowsMatching(() => imageDims(A, "Conv2D"), /Conv2D.*\(N, H, W, C\).*\(2, 3\)/, "imageDims");
  assertThrowsMatching(() => sequenceDims(A, "LSTM"), /LSTM.*\(N, T, F\).*\(2, 3\)/, "sequenceDims");
});

test("bias add, column sums and argmax", () => {
  const A = fromArray([[1, 5, 2], [7, 0, -1]]);
  assert.equal(Array.from(addRowVector(A, fromArray([1, 1, 1])).data), [2, 6, 3, 8, 1, 0]);
  assert.equal(Array.from(colSums(A).data), [8, 5, 1]);
  assert.equal(Array.from(argmaxRows(A)), [1, 0]);
  assert.equal(Array.from(argmaxRows(fromArray([[-5, -3, -4]]))), [1]);
});

test("norms: Frobenius, spectral norm and spectral radius", () => {
  assert.is(frobeniusNorm(fromArray([[3, 4]])), 5);
  // diag(3, -2): σ_max = 3 and ρ = 3
  const D = fromArray([[3, 0], [0, -2]]);
  assert.ok(Math.abs(spectralNorm(D) - 3) < 1e-10);
  assert.ok(Math.abs(spectralRadius(D) - 3) < 1e-6);
  // a rotation by 90° scaled by 0.5: complex eigenvalues ±0.5i, so ρ = 0.5 (power iteration would not converge)
  const R = fromArray([[0, -0.5], [0.5, 0]]);
  assert.ok(Math.abs(spectralRadius(R) - 0.5) < 1e-9, `ρ = ${spectralRadius(R)}`);
  // a non-normal matrix: ρ = 1 but σ_max > 1
  const J = fromArray([[1, 10], [0, 0.5]]);
  assert.ok(Math.abs(spectralRadius(J) - 1) < 1e-6, `ρ = ${spectralRadius(J)}`);
  assert.ok(spectralNorm(J) > 10);
  // nilpotent: ρ = 0
  assert.is(spectralRadius(fromArray([[0, 1], [0, 0]])), 0);
});

test("time-step views and row gathers copy the right entries", () => {
  const x = new Tensor([2, 3, 2]);
  for (let i = 0; i < x.size; i++) x.data[i] = i;
  assert.equal(timeStep(x, 1).toArray(), [[2, 3], [8, 9]]);
  const y = new Tensor([2, 3, 2]);
  setTimeStep(y, 2, fromArray([[1, 2], [3, 4]]));
  assert.equal(y.get(1, 2, 1), 4);
  assertThrowsMatching(() => setTimeStep(y, 0, new Tensor([3, 2])), /expected shape \(2, 2\), got \(3, 2\)/, "setTimeStep");
  assert.equal(takeRows(x, [1]).shape, [1, 3, 2]);
  assert.is(takeRows(x, [1]).get(0, 0, 0), 6);
});

test.run();
