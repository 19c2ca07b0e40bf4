/** The opt-in second core (lib/threads.ts): bit-identical products, the failure path, the environment variable. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { Tensor, matmul, matmulAtB, matmulABt, matmulNaive } from "../lib/matrix.ts";
import { setThreads, getThreads, helperWorkers, PARALLEL_MIN_WORK } from "../lib/threads.ts";
import { Rng } from "../lib/random.ts";
import { randn, assertThrowsMatching, maxAbsDiff } from "./_helpers.ts";

function bitIdentical(a: Tensor, b: Tensor): boolean {
  return a.size === b.size && a.data.every((v, i) => Object.is(v, b.data[i]));
}

test("products split over 2 threads are bit-identical to one thread (all three layouts, accumulate, awkward sizes)", () => {
  const rng = new Rng(1);
  for (const [m, k, n] of [[130, 300, 70], [61, 517, 97], [600, 64, 64]]) {
    assert.ok(m * k * n >= PARALLEL_MIN_WORK, "the case is large enough to be split");
    const A = randn([m, k], rng), B = randn([k, n], rng), At = randn([k, m], rng), Bt = randn([n, k], rng), C0 = randn([m, n], rng);
    const run = () => [matmul(A, B), matmulAtB(At, B), matmulABt(A, Bt), matmul(A, B, C0.clone(), true), matmulAtB(At, B, C0.clone(), true)];
    setThreads(1);
    const one = run();
    setThreads(2);
    const two = run();
    assert.is(getThreads(), 2);
    assert.ok(helperWorkers().length === 1, "a helper was started");
    one.forEach((c, i) => assert.ok(bitIdentical(c, two[i]), `${m}x${k}x${n} product ${i}: 2 threads differ from 1`));
    assert.ok(maxAbsDiff(two[0], matmulNaive(A, B)) < 1e-10);
  }
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
  const bad = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, SCRATCHNETS_THREADS: "two" }, encoding: "utf8", timeout: 30_000 });
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /SCRATCHNETS_THREADS must be an integer from 1 to 16, got 'two'/);
});

test.run();
