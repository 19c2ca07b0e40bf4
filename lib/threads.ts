/**
 * An opt-in second core for the large matrix products.
 *
 * `setThreads(2)`, or the environment variable SCRATCHNETS_THREADS=2, lets
 * matmul, matmulAtB and matmulABt split a large product by rows of the output
 * between this thread and a helper (a worker thread). The helper runs the very
 * same kernels (`gemmPacked`, `axpyKernel`, sent to it as source), on copies of A and B in
 * memory both threads share (a SharedArrayBuffer), and writes its rows of C
 * there. Every entry of C is the same sum in the same order whichever thread
 * computes it, so the result is bit-identical to one thread.
 *
 * The products stay synchronous: this thread computes its rows, then waits
 * (Atomics.wait) for the helper's. A helper never keeps the process alive
 * (unref) and never hangs it: if it fails or does not answer within a time
 * limit, this thread computes the helper's rows itself and turns threading off.
 *
 * The default is one thread: on a machine shared with other work a second
 * thread can be slower, and chapter 04's grid search runs whole models in
 * parallel already.
 */
import { Worker, MessageChannel, type MessagePort } from "node:worker_threads";
import { gemmPacked, axpyKernel, axpyBlock, axpyFourRows, axpyOneRow, GEMM_KC, GEMM_NC } from "./matrix.ts";

/**
 * A product is split only when it has at least this many multiply-adds (m·k·n) and 8 rows.
 * Where the threshold lies could not be measured here: on 27 Nov 2026 this 2-core machine ran at a
 * load of 8 (other engineers' jobs), and 2 threads were slower than 1 at every size tried, from
 * 1M to 134M multiply-adds (`npm run bench -- --only matmul2Threads` prints the table). The value
 * is a cost estimate instead: a split copies A and B (m·k + k·n numbers) and wakes a helper
 * (tens of µs), which a product of 2M multiply-adds (about 0.5 ms at 4 GFLOP/s, e.g. one LSTM(128)
 * step, 32·128·512) can pay for when the second core is free; smaller ones stay on one thread.
 */
export const PARALLEL_MIN_WORK = 1 << 21;

/** Control words: state, data generation, and the call's parameters (as float64, after 16 int32s). */
const IDLE = 0, WORK = 1, DONE = 2, FAILED = 3, QUIT = 4;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  par: Float64Array;
  port: MessagePort;
  /** The shared buffer A, B and C are copied into, and its generation (bumped when it grows). */
  data: Float64Array;
  generation: number;
  broken: boolean;
}

let threads = 1;
let helpers: Helper[] = [];

/** How the helper runs: wait for work, run the kernel on the shared copies, say done (or failed). */
function helperSource(): string {
  return `
let ctl = null;
try {
  const { workerData, receiveMessageOnPort } = require("node:worker_threads");
  const axpyFourRows = ${axpyFourRows.toString()};
  const axpyOneRow = ${axpyOneRow.toString()};
  const axpyBlock = ${axpyBlock.toString()};
  const gemmPacked = ${gemmPacked.toString()};
  const axpyKernel = ${axpyKernel.toString()};
  ${rowsOf.toString()}
  ctl = new Int32Array(workerData.ctl, 0, 16);
  const par = new Float64Array(workerData.ctl, 64, 16);
  const port = workerData.port;
  const pack = new Float64Array(${GEMM_KC * GEMM_NC});
  let data = new Float64Array(0), generation = 0;
  for (;;) {
    Atomics.wait(ctl, 0, ${IDLE});
    const state = Atomics.load(ctl, 0);
    if (state === ${QUIT}) break;
    if (state !== ${WORK}) continue;
    if (ctl[1] !== generation) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) data = new Float64Array(m.message);
      generation = ctl[1];
    }
    const [kernel, aOff, aLen, si, sp, bOff, bLen, bs, bt, cOff, cLen, n, k, r0, r1, acc] = par;
    rowsOf(kernel === 1 ? "packed" : "axpy", data.subarray(aOff, aOff + aLen), si, sp, data.subarray(bOff, bOff + bLen), bs, bt,
      data.subarray(cOff, cOff + cLen), n, k, r0, r1, acc === 1, pack, gemmPacked, axpyKernel);
    Atomics.store(ctl, 0, ${DONE});
    Atomics.notify(ctl, 0);
  }
} catch (e) {
  // any failure, even at start-up: say so, so that the main thread does not wait for nothing
  if (ctl) {
    Atomics.store(ctl, 0, ${FAILED});
    Atomics.notify(ctl, 0);
  }
}
`;
}

function startHelper(): Helper {
  const ctlBuf = new SharedArrayBuffer(64 + 16 * 8);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(helperSource(), {
    eval: true,
    // plain JavaScript: none of this process's loader flags (tsx, --input-type) apply to it
    execArgv: [],
    workerData: { ctl: ctlBuf, port: port2 },
    transferList: [port2],
  });
  const h: Helper = { worker, ctl: new Int32Array(ctlBuf, 0, 16), par: new Float64Array(ctlBuf, 64, 16), port: port1, data: new Float64Array(0), generation: 0, broken: false };
  worker.unref();
  port1.unref();
  worker.on("error", () => (h.broken = true));
  worker.on("exit", () => (h.broken = true));
  return h;
}

function stopHelpers(): void {
  for (const h of helpers) {
    Atomics.store(h.ctl, 0, QUIT);
    Atomics.notify(h.ctl, 0);
    void h.worker.terminate();
  }
  helpers = [];
}

/**
 * Use n threads (1 = this thread only, the default) for large matrix products.
 * The helpers start now (they take a moment to boot) and stay, idle, when n goes back down. Returns the previous setting.
 */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`setThreads: n must be an integer from 1 to 16, got ${n}`);
  const before = threads;
  threads = n;
  envProblem = null;
  startHelpers();
  return before;
}

/** As many live helpers as threads − 1. */
function startHelpers(): void {
  helpers = helpers.filter((h) => !h.broken);
  while (helpers.length < threads - 1) helpers.push(startHelper());
}

/** The number of threads products may use. */
export function getThreads(): number {
  return threads;
}

/** The helpers' workers in use (for tests of the failure path). */
export function helperWorkers(): Worker[] {
  return helpers.slice(0, threads - 1).map((h) => h.worker);
}

/** SCRATCHNETS_THREADS=n sets the default; a bad value is reported by the first product (inside the caller's error handling), not at import. */
let envProblem: string | null = null;
const envThreads = typeof process !== "undefined" ? process.env.SCRATCHNETS_THREADS : undefined;
if (envThreads !== undefined && envThreads !== "") {
  const n = Number(envThreads);
  if (!Number.isInteger(n) || n < 1 || n > 16) envProblem = `SCRATCHNETS_THREADS must be an integer from 1 to 16, got '${envThreads}'`;
  else threads = n; // the helpers start with the first large product (matrix.ts is still loading here)
}

/** A shared buffer of at least `size` numbers for helper h, announced to it when it grows. */
function ensureData(h: Helper, size: number): void {
  if (h.data.length >= size) return;
  const buf = new SharedArrayBuffer(Math.max(size, 2 * h.data.length) * 8);
  h.data = new Float64Array(buf);
  h.generation++;
  h.port.postMessage(buf);
  h.ctl[1] = h.generation;
}

/** Rows [r0, r1) of C (+)= A·B through one kernel (self-contained: the helper runs it too). */
function rowsOf(
  kernel: Kernel, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number, c: Float64Array,
  n: number, k: number, r0: number, r1: number, accumulate: boolean, pack: Float64Array,
  packed: typeof gemmPacked, axpy: typeof axpyKernel,
): void {
  if (kernel === "packed") packed(a, si, sp, b, bs, bt, c, n, k, r0, r1, accumulate, pack);
  // the i-k-j loop on the rows' own stretch of A and C (B row-major)
  else axpy(a.subarray(r0 * si), si, sp, b, c.subarray(r0 * n, r1 * n), r1 - r0, k, n, accumulate);
}

/** How long this thread waits for a helper before doing its rows itself: generous, for a busy machine. */
function timeLimitMs(work: number): number {
  return 10_000 + work / 1e5;
}

/**
 * C (+)= A·B split by rows over the helpers and this thread, for the products matrix.ts hands over.
 * Returns false (and does nothing) when the product is too small or no helper is available.
 */
export type Kernel = "packed" | "axpy";

export function parallelProduct(
  kernel: Kernel, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number, c: Float64Array,
  m: number, k: number, n: number, accumulate: boolean,
): boolean {
  if (envProblem !== null) throw new Error(envProblem);
  if (threads < 2 || m * k * n < PARALLEL_MIN_WORK || m < 8 || (kernel === "axpy" && bt !== 1)) return false;
  startHelpers();
  const used = helpers.slice(0, threads - 1);
  const parts = used.length + 1;
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * m) / parts));
  // hand each helper its rows [bounds[i + 1], bounds[i + 2]) with copies of A, B (and C's rows when accumulating)
  const aLen = a.length, bLen = b.length, cLen = m * n;
  used.forEach((h, i) => {
    const r0 = bounds[i + 1], r1 = bounds[i + 2];
    ensureData(h, aLen + bLen + cLen);
    h.data.set(a, 0);
    h.data.set(b, aLen);
    if (accumulate) h.data.set(c.subarray(r0 * n, r1 * n), aLen + bLen + r0 * n);
    h.par.set([kernel === "packed" ? 1 : 0, 0, aLen, si, sp, aLen, bLen, bs, bt, aLen + bLen, cLen, n, k, r0, r1, accumulate ? 1 : 0]);
    Atomics.store(h.ctl, 0, WORK);
    Atomics.notify(h.ctl, 0);
  });
  rowsOf(kernel, a, si, sp, b, bs, bt, c, n, k, bounds[0], bounds[1], accumulate, mainPack(), gemmPacked, axpyKernel);
  used.forEach((h, i) => {
    const r0 = bounds[i + 1], r1 = bounds[i + 2];
    const limit = timeLimitMs(m * k * n);
    const t0 = Date.now();
    while (Atomics.load(h.ctl, 0) === WORK && Date.now() - t0 < limit) Atomics.wait(h.ctl, 0, WORK, 50);
    if (Atomics.load(h.ctl, 0) === DONE) {
      c.set(h.data.subarray(aLen + bLen + r0 * n, aLen + bLen + r1 * n), r0 * n);
      Atomics.store(h.ctl, 0, IDLE);
    } else {
      // failed or silent: do its rows here, and stop using threads
      h.broken = true;
      rowsOf(kernel, a, si, sp, b, bs, bt, c, n, k, r0, r1, accumulate, mainPack(), gemmPacked, axpyKernel);
    }
  });
  if (used.some((h) => h.broken)) {
    stopHelpers();
    threads = 1;
  }
  return true;
}

/** This thread's packing scratch for its share (made on first use: matrix.ts and this file import each other). */
let mainPackBuf: Float64Array | null = null;
function mainPack(): Float64Array {
  return (mainPackBuf ??= new Float64Array(GEMM_KC * GEMM_NC));
}
