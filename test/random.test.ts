import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng, glorotUniform, orthogonal, computeFans, householderQR, householderQRNaive, normalTensor } from "../lib/random.ts";
import { matmulAtB, matmulABt } from "../lib/matrix.ts";

test("the same seed gives the same stream, another seed another", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 5 }, () => a.next());
  assert.equal(xa, Array.from({ length: 5 }, () => b.next()));
  assert.not.equal(xa, Array.from({ length: 5 }, () => c.next()));
  assert.ok(xa.every((v) => v >= 0 && v < 1));
});

test("uniform and normal draws have the right mean and variance", () => {
  const rng = new Rng(7);
  const n = 200000;
  let s = 0, s2 = 0, t = 0, t2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    s += u; s2 += u * u;
    const z = rng.normal();
    t += z; t2 += z * z;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s2 / n - 0.25 - 1 / 12) < 0.005);
  assert.ok(Math.abs(t / n) < 0.01);
  assert.ok(Math.abs(t2 / n - 1) < 0.01);
});

test("permutation is a permutation", () => {
  const p = Array.from(new Rng(3).permutation(100));
  assert.equal([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.not.equal(p, Array.from({ length: 100 }, (_, i) => i));
});

test("Keras's fans for dense, conv and packed recurrent kernels", () => {
  assert.equal(computeFans([90, 50]), { fanIn: 90, fanOut: 50 });
  assert.equal(computeFans([3, 3, 1, 10]), { fanIn: 9, fanOut: 90 });
  assert.equal(computeFans([1, 4 * 250]), { fanIn: 1, fanOut: 1000 });
});

test("glorot_uniform stays inside ±√(6/(fan_in+fan_out)) with variance limit²/3", () => {
  const shape = [300, 200];
  const limit = Math.sqrt(6 / 500);
  const w = glorotUniform(shape, new Rng(11));
  let s2 = 0, max = 0;
  for (const v of w.data) { s2 += v * v; max = Math.max(max, Math.abs(v)); }
  assert.ok(max <= limit);
  assert.ok(max > 0.99 * limit, "the draws should reach close to the bound");
  const variance = s2 / w.size;
  assert.ok(Math.abs(variance / (limit * limit / 3) - 1) < 0.02, `variance ${variance}`);
  // conv kernel: fan_in = 3·3·1, fan_out = 3·3·10
  const k = glorotUniform([3, 3, 1, 10], new Rng(1));
  const kl = Math.sqrt(6 / (9 + 90));
  assert.ok(k.data.every((v) => Math.abs(v) <= kl));
});

function assertIdentity(M: { shape: number[]; data: Float64Array }, tol: number): void {
  const n = M.shape[0];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    assert.ok(Math.abs(M.data[i * n + j] - (i === j ? 1 : 0)) < tol, `entry (${i}, ${j}) = ${M.data[i * n + j]}`);
  }
}

test("orthogonal: QᵀQ = I for tall, square and (rows) wide shapes", () => {
  const rng = new Rng(5);
  const tall = orthogonal([50, 20], rng);
  assertIdentity(matmulAtB(tall, tall), 1e-12);
  const square = orthogonal([32, 32], rng);
  assertIdentity(matmulAtB(square, square), 1e-12);
  // a packed recurrent kernel (u, 4u): orthonormal rows
  const wide = orthogonal([10, 40], rng);
  assertIdentity(matmulABt(wide, wide), 1e-12);
  // and not the identity itself
  assert.ok(Math.abs(square.data[0]) < 0.999);
});

test("householderQR: QᵀA is upper triangular with R's diagonal", () => {
  const rng = new Rng(8);
  const A = normalTensor([7, 4], 0, 1, rng);
  const { Q, rDiag } = householderQR(A);
  const R = matmulAtB(Q, A);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    const v = R.data[i * 4 + j];
    if (i > j) assert.ok(Math.abs(v) < 1e-12, `R(${i}, ${j}) = ${v}`);
    if (i === j) assert.ok(Math.abs(v - rDiag[i]) < 1e-12);
  }
});

test("householderQR equals householderQRNaive bit for bit (tall, square, one column, a zero column)", () => {
  const rng = new Rng(11);
  const zeroCol = normalTensor([6, 3], 0, 1, rng);
  for (let i = 0; i < 6; i++) zeroCol.data[i * 3 + 1] = 0;
  const cases = [normalTensor([40, 17], 0, 1, rng), normalTensor([33, 33], 0, 1, rng), normalTensor([9, 1], 0, 1, rng), normalTensor([120, 30], 0, 1, rng), zeroCol];
  for (const A of cases) {
    const fast = householderQR(A), naive = householderQRNaive(A);
    assert.equal(fast.Q.shape, naive.Q.shape);
    for (let k = 0; k < naive.Q.size; k++) {
      assert.ok(Object.is(fast.Q.data[k], naive.Q.data[k]), `${A.shape}: Q[${k}] = ${fast.Q.data[k]} vs ${naive.Q.data[k]}`);
    }
    for (let j = 0; j < naive.rDiag.length; j++) assert.ok(Object.is(fast.rDiag[j], naive.rDiag[j]), `${A.shape}: rDiag[${j}]`);
  }
});

test.run();
