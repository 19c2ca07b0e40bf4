/**
 * The matrix kernel's every path (blocks of 8 and 4 rows, single rows, the last k mod 8 terms,
 * the packed blocks, the three layouts, accumulate) against two references: the naive triple
 * loop (to 1e-12), and the kernel's summation order written out plainly (bit for bit), which
 * is what lets threads split rows and BPTT stack time steps without changing a bit.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, matmul, matmulAtB, matmulABt, matmulNaive, matmulUnpacked, transpose, packAll, gemmPrepacked } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { randn, maxAbsDiff, bitIdentical } from "./_helpers.ts";

/** C(i, j) = C0(i, j) + (terms in groups of 4, p in order) + (the k mod 4 last terms one at a time), as the kernel sums. */
function groupedNaive(A: Tensor, B: Tensor, C0?: Tensor): Tensor {
  const [m, k] = A.shape, n = B.shape[1], a = A.data, b = B.data;
  const C = C0 ? C0.clone() : new Tensor([m, n]);
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = C.data[i * n + j];
      let p = 0;
      for (; p < k4; p += 4) s += a[i * k + p] * b[p * n + j] + a[i * k + p + 1] * b[(p + 1) * n + j] + a[i * k + p + 2] * b[(p + 2) * n + j] + a[i * k + p + 3] * b[(p + 3) * n + j];
      for (; p < k; p++) s += a[i * k + p] * b[p * n + j];
      C.data[i * n + j] = s;
    }
  }
  return C;
}


// m: single rows, a block of 4, of 8, of 9 (8 and a ninth row), and the mixes; k: every k mod 8, and past a packed block (256); n: not multiples of 4 or 8
const MS = [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 16, 17, 18, 26, 33];
const KS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 18, 250, 257];
const NS = [1, 6, 13, 130];

test("every path agrees with the naive loop and sums in the kernel's order, bit for bit", () => {
  const rng = new Rng(7);
  for (const m of MS) for (const k of KS) for (const n of NS) {
    if (m * k * n > 600_000) continue;
    const A = randn([m, k], rng), B = randn([k, n], rng);
    const ref = matmulNaive(A, B), order = groupedNaive(A, B);
    const what = `${m}x${k}x${n}`;
    for (const [name, C] of [["A·B", matmul(A, B)], ["Aᵀ·B", matmulAtB(transpose(A), B)], ["A·Bᵀ", matmulABt(A, transpose(B))], ["unpacked", matmulUnpacked(A, B)]] as const) {
      assert.ok(maxAbsDiff(C, ref) < 1e-12 * Math.max(1, k), `${name} ${what} vs naive`);
      assert.ok(bitIdentical(C, order), `${name} ${what}: not the kernel's summation order`);
    }
  }
});

test("the packed path (A·B: ≥ 32 rows and B ≥ 512×512 entries or n a multiple of 512; Aᵀ·B: n a multiple of 512, k ≤ 512; A·Bᵀ: > 32 rows) sums in the same order", () => {
  const rng = new Rng(8);
  // A·B packs the last four shapes, Aᵀ·B the 32×41×512 and 40×130×1024 ones, A·Bᵀ all but the two with 32 rows;
  // the others take the unpacked loop, which must agree too
  for (const [m, k, n] of [[32, 129, 130], [41, 257, 131], [64, 300, 200], [35, 17, 1000], [37, 513, 129], [33, 515, 513], [34, 300, 1000], [32, 41, 512], [40, 130, 1024]]) {
    const A = randn([m, k], rng), B = randn([k, n], rng);
    const order = groupedNaive(A, B);
    assert.ok(bitIdentical(matmul(A, B), order), `A·B ${m}x${k}x${n}`);
    assert.ok(bitIdentical(matmulABt(A, transpose(B)), order), `A·Bᵀ ${m}x${k}x${n}`);
    assert.ok(bitIdentical(matmulAtB(transpose(A), B), order), `Aᵀ·B ${m}x${k}x${n}`);
    assert.ok(bitIdentical(matmulAtB(transpose(A), B, order.clone(), true), groupedNaive(A, B, order)), `Aᵀ·B += ${m}x${k}x${n}`);
  }
});

test("accumulate adds each product's terms onto out in the same order", () => {
  const rng = new Rng(9);
  for (const [m, k, n] of [[1, 7, 5], [5, 9, 13], [9, 18, 11], [13, 250, 6], [40, 257, 131], [18, 500, 130]]) {
    const A = randn([m, k], rng), B = randn([k, n], rng), C0 = randn([m, n], rng);
    const order = groupedNaive(A, B, C0);
    assert.ok(bitIdentical(matmul(A, B, C0.clone(), true), order), `A·B += ${m}x${k}x${n}`);
    assert.ok(bitIdentical(matmulAtB(transpose(A), B, C0.clone(), true), order), `Aᵀ·B += ${m}x${k}x${n}`);
    // the few-rows A·Bᵀ path adds a finished product onto out: equal to 1e-12, not bit for bit
    const abt = matmulABt(A, transpose(B), C0.clone(), true);
    assert.ok(m <= 32 ? maxAbsDiff(abt, order) < 1e-12 : bitIdentical(abt, order), `A·Bᵀ += ${m}x${k}x${n}`);
  }
});

test("a row's result does not depend on the rows around it (stacking or splitting rows changes no bit)", () => {
  const rng = new Rng(10);
  const k = 250, n = 77;
  const A = randn([18, k], rng), B = randn([k, n], rng);
  const whole = matmul(A, B);
  for (const [r0, r1] of [[0, 9], [9, 18], [3, 4], [5, 17]]) {
    const part = matmul(new Tensor([r1 - r0, k], A.data.slice(r0 * k, r1 * k)), B);
    assert.ok(part.data.every((v, t) => Object.is(v, whole.data[r0 * n + t])), `rows ${r0}..${r1}`);
  }
});

test("B packed once (packAll) and multiplied by gemmPrepacked, rows r0..r1, plain or accumulating, B or Bᵀ read: the kernel's sums, bit for bit", () => {
  const rng = new Rng(9);
  for (const [m, k, n] of [[16, 128, 512], [9, 300, 200], [21, 40, 130], [5, 600, 64]]) {
    const A = randn([m, k], rng), B = randn([k, n], rng), Bt = transpose(B), C0 = randn([m, n], rng);
    for (const [b, bs, bt] of [[B.data, n, 1], [Bt.data, 1, k]] as const) {
      const packed = new Float64Array(k * n);
      packAll(b, bs, bt, k, n, packed);
      for (const accumulate of [false, true]) {
        const want = groupedNaive(A, B, accumulate ? C0 : undefined), C = C0.clone();
        // in two calls, rows 0..r and r..m, as two threads would
        const r = Math.floor(m / 2);
        gemmPrepacked(A.data, k, 1, packed, C.data, n, n, k, 0, r, accumulate);
        gemmPrepacked(A.data, k, 1, packed, C.data, n, n, k, r, m, accumulate);
        assert.ok(bitIdentical(C, want), `${m}×${k}·${k}×${n}, ${bs === 1 ? "Bᵀ" : "B"} read, accumulate ${accumulate}`);
      }
    }
  }
});

test.run();
