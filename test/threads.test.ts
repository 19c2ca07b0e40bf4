/** The opt-in second core (lib/threads.ts): bit-identical products (split by rows or by columns, shared or copied operands), the failure path, the environment variable, exit. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { Tensor, matmul, matmulAtB, matmulABt, matmulNaive } from "../lib/matrix.ts";
import { setThreads, getThreads, helperWorkers, helperRoundTrip, setParallelMinWork, helperStats, PARALLEL_MIN_WORK } from "../lib/threads.ts";
import { Rng } from "../lib/random.ts";
import { randn, assertThrowsMatching, maxAbsDiff, bitIdentical } from "./_helpers.ts";

/** Parts of products the helper computed (not taken back, not redone here). */
const helperDone = (): number => {
  const s = helperStats();
  return s.parts - s.takenBack - s.redone;
};

/**
 * `products()` on 2 threads, repeated until the helper has computed a part of them (on a busy machine it may lose
 * its core and leave its parts to this thread, which would compare one thread with one thread), at most 50 times.
 */
function withHelperWork<T>(products: () => T): T {
  // first an empty job there and back, so that a helper still starting (under load it can take longer than 50 tries) is up
  helperRoundTrip();
  for (let i = 0; i < 50; i++) {
    const before = helperDone();
    const r = products();
    if (helperDone() > before) return r;
  }
  throw new Error("the helper computed no part of the products in 50 tries");
}

test("products split over 2 threads are bit-identical to one thread (all three layouts, accumulate, awkward sizes)", () => {
  const rng = new Rng(1);
  // the last two are cut into chunks that both threads take from (at least 2^24 multiply-adds)
  for (const [m, k, n] of [[130, 300, 70], [61, 517, 97], [600, 64, 64], [300, 250, 230], [44, 700, 600]]) {
    assert.ok(m * k * n >= PARALLEL_MIN_WORK, "the case is large enough to be split");
    const A = randn([m, k], rng), B = randn([k, n], rng), At = randn([k, m], rng), Bt = randn([n, k], rng), C0 = randn([m, n], rng);
    const run = () => [matmul(A, B), matmulAtB(At, B), matmulABt(A, Bt), matmul(A, B, C0.clone(), true), matmulAtB(At, B, C0.clone(), true)];
    setThreads(1);
    const one = run();
    setThreads(2);
    const two = withHelperWork(run);
    assert.is(getThreads(), 2);
    assert.ok(helperWorkers().length === 1, "a helper was started");
    one.forEach((c, i) => assert.ok(bitIdentical(c, two[i]), `${m}x${k}x${n} product ${i}: 2 threads differ from 1`));
    assert.ok(maxAbsDiff(two[0], matmulNaive(A, B)) < 1e-10);
  }
  setThreads(1);
});

/** t's values in a plain or a shared buffer, as a view at an offset (as a step's rows of a stacked sequence are). */
function stored(t: Tensor, shared: boolean): Tensor {
  const pad = 3;
  const data = shared ? new Float64Array(new SharedArrayBuffer((t.size + 2 * pad) * 8)) : new Float64Array(t.size + 2 * pad);
  data.set(t.data, pad);
  return new Tensor(t.shape, data.subarray(pad, pad + t.size));
}

test("split by columns (few rows) or rows, and A·Bᵀ with few rows, with shared, copied and mixed operands: bit-identical to one thread", () => {
  const rng = new Rng(3);
  // an LSTM(128) step with batch 32: h·U (32×128·128×512) splits by columns, dz·Uᵀ (32×512·(128×512)ᵀ) by rows of
  // (U·dzᵀ)ᵀ; the others split by rows (A·Bᵀ with few rows through (B·Aᵀ)ᵀ; 7×600·600×517's A·B, too few rows, not at all)
  for (const [m, k, n] of [[32, 128, 512], [16, 256, 512], [40, 300, 203], [7, 600, 517], [32, 512, 128]]) {
    assert.ok(m * k * n >= PARALLEL_MIN_WORK, `${m}x${k}x${n} is large enough to be split`);
    const A = randn([m, k], rng), B = randn([k, n], rng), Bt = randn([n, k], rng), C0 = randn([m, n], rng);
    setThreads(1);
    const one = [matmul(A, B), matmulABt(A, Bt), matmul(A, B, C0.clone(), true), matmulABt(A, Bt, C0.clone(), true)];
    setThreads(2);
    for (const [sa, sb, sc] of [[false, false, false], [true, true, true], [false, true, true], [true, false, false]]) {
      const a = stored(A, sa), b = stored(B, sb), bt = stored(Bt, sb);
      const two = withHelperWork(() => [matmul(a, b, stored(new Tensor([m, n]), sc)), matmulABt(a, bt, stored(new Tensor([m, n]), sc)),
        matmul(a, b, stored(C0, sc), true), matmulABt(a, bt, stored(C0, sc), true)]);
      one.forEach((c, i) => assert.ok(bitIdentical(c, two[i]), `${m}x${k}x${n} product ${i} (shared A ${sa}, B ${sb}, C ${sc}): 2 threads differ from 1`));
    }
    assert.is(getThreads(), 2, "the helper answered every product");
  }
  setThreads(1);
});

test("an empty job goes to the helper and back; a lowered threshold splits small products, still bit-identical", () => {
  setThreads(2);
  helperRoundTrip();
  assert.is(getThreads(), 2, "the helper answered");
  const rng = new Rng(5);
  // 64·128·200 = 1.6M multiply-adds, below the threshold, yet long enough (≈ 0.3 ms) for a sleeping helper to wake and take its half
  const A = randn([64, 128], rng), B = randn([128, 200], rng);
  assert.ok(64 * 128 * 200 < PARALLEL_MIN_WORK);
  setThreads(1);
  const one = matmul(A, B);
  setThreads(2);
  const before = setParallelMinWork(0);
  const two = withHelperWork(() => matmul(A, B));
  setParallelMinWork(before);
  assert.ok(bitIdentical(one, two));
  assert.throws(() => setParallelMinWork(NaN), /setParallelMinWork/);
  setThreads(1);
});

test("a helper that has died: the product is still right, computed here, and threading turns itself off", async () => {
  setThreads(2);
  const rng = new Rng(2);
  const A = randn([200, 150], rng), B = randn([150, 100], rng);
  matmul(A, B); // starts the helper
  const [w] = helperWorkers();
  await new Promise<void>((resolve) => {
    w.once("exit", () => resolve());
    void w.terminate();
  });
  const C = matmul(A, B);
  assert.ok(maxAbsDiff(C, matmulNaive(A, B)) < 1e-10);
  setThreads(1);
});

test("setThreads and SCRATCHNETS_THREADS reject nonsense; with the variable set, a script uses 2 threads and exits", () => {
  assertThrowsMatching(() => setThreads(0), /setThreads: n must be an integer from 1 to 16, got 0/, "0");
  assertThrowsMatching(() => setThreads(1.5), /setThreads/, "1.5");
  const script = `import { matmul, Tensor } from "./lib/matrix.ts"; import { getThreads, helperWorkers } from "./lib/threads.ts";
const A = new Tensor([300, 300]); A.data.fill(1); const C = matmul(A, A);
process.stdout.write([getThreads(), helperWorkers().length, C.data[0]].join(" "));`;
  const ok = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, SCRATCHNETS_THREADS: "2" }, encoding: "utf8", timeout: 30_000 });
  assert.is(ok.status, 0, ok.stderr);
  assert.is(ok.stdout.trim(), "2 1 300");
  // a recurrent layer's forward and backward pass on 2 threads, bit-identical to 1 thread, and the process still exits
  const lstm = `import { setThreads, getThreads } from "./lib/threads.ts"; import { LSTM } from "./lib/recurrent.ts"; import { Rng, normalTensor } from "./lib/random.ts";
const run = (n) => { setThreads(n); const rng = new Rng(4); const l = new LSTM(128); l.build([20, 3], rng);
  const x = normalTensor([32, 20, 3], 0, 1, rng), dOut = normalTensor([32, 128], 0, 1, rng);
  const { out, cache } = l.forward(x, { training: true }); const g = l.backward(dOut, cache);
  return [out.data, g.dX.data, ...g.grads.map((t) => t.data)]; };
const one = run(1), two = run(2);
const same = one.every((a, i) => a.length === two[i].length && a.every((v, j) => Object.is(v, two[i][j])));
process.stdout.write([getThreads(), same].join(" "));`;
  const rec = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", lstm], { encoding: "utf8", timeout: 60_000 });
  assert.is(rec.status, 0, rec.stderr);
  assert.is(rec.stdout.trim(), "2 true");
  const bad = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, SCRATCHNETS_THREADS: "two" }, encoding: "utf8", timeout: 30_000 });
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /SCRATCHNETS_THREADS must be an integer from 1 to 16, got 'two'/);
});

test.run();
