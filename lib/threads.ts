/**
 * An opt-in second core for the large matrix products and a recurrent layer's loops.
 *
 * `setThreads(2)`, or the environment variable SCRATCHNETS_THREADS=2, lets
 * matmul, matmulAtB and matmulABt split a large product between this thread and
 * a helper (a worker thread): by rows of the output, or, when the output has
 * few rows (an RNN step: batch 32 × 512 gates), by bands of columns. The helper
 * runs the very same kernels (`gemmPacked`, `axpyKernel`, sent to it as source),
 * and every entry of C is the same sum in the same order whichever thread
 * computes it and wherever the split falls, so the result is bit-identical to
 * one thread.
 *
 * Each product, this thread copies the parts of A and B the helper reads (its
 * rows of A, or its band of B's columns) into memory both threads share (a
 * SharedArrayBuffer), and copies the helper's part of C back: for an LSTM(128)
 * step with batch 32 that is half of U (128×512) and a few small blocks, some
 * 10–20 µs against 0.8 ms of arithmetic. (Handing the helper tensors that live in
 * shared memory instead, with no copy, was tried: in a synchronous loop the
 * memory of shared buffers posted to the helper was not reclaimed, 4.9 GB
 * resident after 600 products with fresh 8 MB outputs.)
 *
 * The products stay synchronous: this thread computes its part, then waits for
 * the helper's. Both sides spin briefly (SPIN_MS) before they sleep
 * (Atomics.wait), because waking a sleeping thread costs tens of µs and an RNN
 * asks for a product every fraction of a millisecond; but only while the
 * helper's parts arrive in time, since on a busy machine Linux gives a
 * process's threads one share of the CPU together (autogroup), and a spinning
 * thread then takes its time from the other. A helper never keeps the
 * process alive (unref) and never hangs it. If the helper has not taken its part
 * up by the time this thread has finished its own (on a busy machine it may have
 * had no core), this thread takes the part back and computes it; if the helper
 * has started but is not done within a grace period (GRACE_MS), this thread
 * computes the part too and drops the helper's late result. If the helper fails, or is still
 * computing after a generous time limit, this thread computes its part (the
 * helper writes only to its own scratch) and turns threading off.
 *
 * A recurrent layer's loops split differently (runChunks, below): each
 * sequence of the batch is its own recurrence, so the helper runs every step
 * of the forward (or backward) loop on its band of the batch's rows while this
 * thread runs the same loop on the other rows, with one hand-over per loop
 * instead of one per step. Their arrays live in shared memory (the layer's
 * SequenceWorkspace makes them there when threads are on), so nothing is copied.
 *
 * The default is one thread: on a machine shared with other work a second
 * thread can be slower, and chapter 04's grid search runs whole models in
 * parallel already.
 */
import { Worker, MessageChannel, type MessagePort } from "node:worker_threads";
import { gemmPacked, gemmPrepacked, axpyKernel, axpyBlock, axpyFourRows, axpyOneRow, GEMM_KC, GEMM_NC } from "./matrix.ts";

/**
 * A product is split only when it has at least this many multiply-adds (m·k·n).
 * What a split costs, measured on 27 Nov 2026 with best single calls (scripts run with `npx tsx`; the machine's
 * 2 cores at load 2–9 from other engineers' jobs, so no quiet figure): an empty job's round trip to a spinning
 * helper 0.2–1 µs, to a sleeping one 25–40 µs; copying a 128×512 operand into shared memory 18 µs (a split of an
 * LSTM(128) step's h·U copies half of it and 32×512 of C). At 2.6 G multiply-adds/s on one thread, halving a
 * product saves w / 5.2e9 s, so on an idle machine a split should pay from some 0.2–0.3M multiply-adds.
 * Measured, 1 thread against 2 call by call at load 5–6: 0.26–2.1M multiply-adds 0.89–1.01× (no gain), h·U
 * (32×128×512 accumulated into C) 782 → 615 µs (1.27×), dz·Uᵀ 744 → 629 µs (1.18×), 32×256×512 1.30×,
 * 64×128×512 1.26×. `npm run bench -- --only matmul2Threads` at load 3–5 (best of 5 rounds of 300 ms): 32×64×512
 * (1.05M) 1.70×, 32×128×512 1.68×, 128³ 1.71×, but 32×16×512 and 32×32×512 (0.26–0.52M) 0.5×. The threshold is
 * the smallest size that gained in every run on the loaded machine (one LSTM(128) step with batch 32); figures
 * on an idle machine may justify 2^20.
 */
export const PARALLEL_MIN_WORK = 1 << 21;
let minWork = PARALLEL_MIN_WORK;

/** Split products of at least `work` multiply-adds (PARALLEL_MIN_WORK by default): for the benchmark's table around the threshold. Returns the previous value. */
export function setParallelMinWork(work: number): number {
  if (!(work >= 0)) throw new Error(`setParallelMinWork: work must be a number ≥ 0, got ${work}`);
  const before = minWork;
  minWork = work;
  return before;
}

/** How long a thread spins, checking the control word, before it sleeps. */
const SPIN_MS = 0.5;

/**
 * Control words: ctl[0] the state, ctl[1] how many times the shared scratch has grown (each time posted to the helper),
 * ctl[2] the next chunk, ctl[3] whether the threads should spin (1 after the helper's last part arrived in time, 0 after it had to be taken back or redone),
 * ctl[4] 1 (2) when a test wants the helper to fail after (before) its next chunk of a task.
 */
const IDLE = 0, WORK = 1, RUNNING = 2, DONE = 3, FAILED = 4, QUIT = 5;
/** par[0] of a job: 0 the axpy kernel, 1 the packed kernel, 2 an empty job, TASK a chunked task (runChunks). */
const TASK = 3;
/**
 * The job's parameters (offsets, sizes, strides, flags), as int32 after the 16 control int32s: read as float64 they
 * made every index in the helper's kernels a double, and the helper 2.5–3 times slower than this thread.
 */
const PARAMS = 20;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  par: Int32Array;
  port: MessagePort;
  /** The shared scratch A, B and C are copied into, and how many times it has grown (mirrored in ctl[1]). */
  scratch: Float64Array;
  grown: number;
  broken: boolean;
  /** The chunked tasks whose source this helper has been sent, and how many task jobs it has been given (their message's seq). */
  tasks: Set<string>;
  jobs: number;
}

let threads = 1;
let helpers: Helper[] = [];

/**
 * The part of a product a thread computes: C (+)= A·B for `rows` rows and `w` columns, where
 * A(i, p) = a[i·si + p·sp], B(p, j) = b[p·bs + j·bt] and C(i, j) = c[i·cs + j] (each array
 * starting at the part's first row or column). A band of columns (w < cs) comes only from the
 * packed kernel, which writes it in place through C's row stride.
 * Self-contained: the helper runs this very source.
 */
function productPart(
  kernel: number, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number,
  c: Float64Array, cs: number, rows: number, k: number, w: number, accumulate: boolean,
  pack: Float64Array, packed: typeof gemmPacked, axpy: typeof axpyKernel,
): void {
  if (kernel === 2 || rows === 0) return; // 2: an empty job (to time a round trip)
  if (kernel === 1) packed(a, si, sp, b, bs, bt, c, cs, w, k, 0, rows, accumulate, pack);
  else axpy(a, si, sp, b, c, rows, k, cs, accumulate);
}

/**
 * Chunk i of a product cut into chunks of `size` rows (or, `byColumns`, bands of `size` columns) of C (m, n):
 * the part productPart computes for it. Self-contained: the helper runs this very source.
 */
function chunkPart(
  i: number, size: number, byColumns: boolean, kernel: number, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number,
  c: Float64Array, m: number, k: number, n: number, accumulate: boolean, pack: Float64Array,
  part: typeof productPart, packed: typeof gemmPacked, axpy: typeof axpyKernel,
): void {
  const lo = i * size, hi = Math.min(byColumns ? n : m, lo + size);
  if (byColumns) part(kernel, a, si, sp, b.subarray(lo * bt), bs, bt, c.subarray(lo), n, m, k, hi - lo, accumulate, pack, packed, axpy);
  else part(kernel, a.subarray(lo * si), si, sp, b, bs, bt, c.subarray(lo * n), n, hi - lo, k, n, accumulate, pack, packed, axpy);
}

/** How the helper runs: spin, then sleep, until there is work; take it up; run its part on the shared arrays; say done (or failed). */
function helperSource(): string {
  // every function the kernels call, defined before its callers
  const KERNELS = [axpyFourRows, axpyOneRow, axpyBlock, gemmPacked, gemmPrepacked, axpyKernel];
  return `
let ctl = null;
try {
  const { workerData, receiveMessageOnPort } = require("node:worker_threads");
  ${KERNELS.map((f) => `const ${f.name} = ${f.toString()};`).join("\n  ")}
  ${productPart.toString()}
  ${chunkPart.toString()}
  ctl = new Int32Array(workerData.ctl, 0, 16);
  const par = new Int32Array(workerData.ctl, 64, ${PARAMS});
  const port = workerData.port;
  const pack = new Float64Array(${GEMM_KC * GEMM_NC});
  let data = new Float64Array(0), grown = 0;
  const tasks = new Map(), kernels = { gemmPacked: ${gemmPacked.name}, gemmPrepacked: ${gemmPrepacked.name} };
  const view = (off, len) => data.subarray(off, off + len);
  for (;;) {
    let s = Atomics.load(ctl, 0);
    const t0 = performance.now();
    for (let spins = 1; s !== ${WORK} && s !== ${QUIT}; spins++) {
      // spin only while its parts arrive in time: when they were taken back, this thread would only take the main thread's core
      if ((spins & 255) === 0 && (Atomics.load(ctl, 3) === 0 || performance.now() - t0 > ${SPIN_MS})) Atomics.wait(ctl, 0, s);
      s = Atomics.load(ctl, 0);
    }
    if (s === ${QUIT}) break;
    // take the job up, unless the main thread has taken it back meanwhile
    if (Atomics.compareExchange(ctl, 0, ${WORK}, ${RUNNING}) !== ${WORK}) continue;
    const p = par;
    // the messages posted before this job: the newest scratch, if it has grown since the last job, and a chunked
    // task's arrays, numbers and (the first time) source; a task message of a job taken back before it started is dropped
    let job = null;
    while (grown < Atomics.load(ctl, 1) || (p[0] === ${TASK} && job === null)) {
      const m = receiveMessageOnPort(port);
      if (m === undefined) continue;
      if (m.message.scratch !== undefined) {
        grown++;
        data = new Float64Array(m.message.scratch);
      } else if (m.message.seq === p[19]) job = m.message;
    }
    if (p[0] === ${TASK}) {
      if (job.source !== undefined) tasks.set(job.name, new Function(job.source)());
      const run = tasks.get(job.name);
      for (let i = Atomics.add(ctl, 2, 1); i < p[17]; i = Atomics.add(ctl, 2, 1)) {
        if (Atomics.compareExchange(ctl, 4, 2, 0) === 2) throw new Error("failing before a chunk, as a test asked");
        run(i, job.arrays, job.ints, kernels, pack);
        if (Atomics.compareExchange(ctl, 4, 1, 0) === 1) throw new Error("failing after a chunk, as a test asked");
      }
    } else if (p[16] > 0) {
      // chunks, taken one at a time (counter ctl[2]) until none is left: the main thread takes them too
      const count = p[17], a = view(p[1], p[2]), b = view(p[5], p[6]), c = view(p[9], p[10]);
      for (let i = Atomics.add(ctl, 2, 1); i < count; i = Atomics.add(ctl, 2, 1))
        ${chunkPart.name}(i, p[16], p[18] === 1, p[0], a, p[3], p[4], b, p[7], p[8], c, p[12], p[13], p[11], p[15] === 1, pack,
          ${productPart.name}, ${gemmPacked.name}, ${axpyKernel.name});
    } else ${productPart.name}(p[0], view(p[1], p[2]), p[3], p[4], view(p[5], p[6]), p[7], p[8],
      view(p[9], p[10]), p[11], p[12], p[13], p[14], p[15] === 1, pack, ${gemmPacked.name}, ${axpyKernel.name});
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
  const ctlBuf = new SharedArrayBuffer(64 + PARAMS * 4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(helperSource(), {
    eval: true,
    // plain JavaScript: none of this process's loader flags (tsx, --input-type) apply to it
    execArgv: [],
    workerData: { ctl: ctlBuf, port: port2 },
    transferList: [port2],
  });
  const h: Helper = {
    worker, ctl: new Int32Array(ctlBuf, 0, 16), par: new Int32Array(ctlBuf, 64, PARAMS), port: port1,
    scratch: new Float64Array(0), grown: 0, broken: false, tasks: new Set(), jobs: 0,
  };
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
 * Use n threads (1 = this thread only, the default) for large matrix products and a recurrent layer's loops (runChunks).
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
  if (helpers.some((h) => h.broken)) helpers = helpers.filter((h) => !h.broken);
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

// ---------------------------------------------------------------- the split

/** A shared scratch of at least `size` numbers for helper h, posted to it when it grows. */
function ensureScratch(h: Helper, size: number): void {
  if (h.scratch.length >= size) return;
  const buf = new SharedArrayBuffer(Math.max(size, 2 * h.scratch.length) * 8);
  h.scratch = new Float64Array(buf);
  h.port.postMessage({ scratch: buf });
  Atomics.store(h.ctl, 1, ++h.grown);
}

/**
 * How many parts of products (and chunked tasks) were handed to a helper, how many of them this thread took back (the
 * helper had not started), and how many it redid (the helper was too late, or failed); how many chunks of tasks the helper computed
 * (in all, and by task), and the task of the last chunks redone.
 */
const stats = { parts: 0, takenBack: 0, redone: 0, chunks: 0, lastRedoneTask: "", chunksByTask: {} as Record<string, number> };
export function helperStats(): { parts: number; takenBack: number; redone: number; chunks: number; lastRedoneTask: string; chunksByTask: Record<string, number> } {
  return { ...stats, chunksByTask: { ...stats.chunksByTask } };
}

/** For the tests of the failure path: the helper fails (throws) right before or right after computing its next chunk of a task. */
export function failHelperAtNextChunk(when: "before" | "after"): void {
  startHelpers();
  if (helpers.length > 0) Atomics.store(helpers[0].ctl, 4, when === "before" ? 2 : 1);
}

/** How long this thread waits for a helper that is computing its part: generous, for a busy machine. */
function timeLimitMs(work: number): number {
  return 10_000 + work / 1e5;
}

/** Spin, then sleep, while helper h's part is pending; give up after limitMs. Returns the state it ended in. */
function waitFor(h: Helper, limitMs: number): number {
  const t0 = performance.now();
  // no spinning while the helper's parts come late: the kernel shares one CPU share among a process's threads
  // (autogroup), so a spinning thread takes its time from the helper it waits for
  const spinMs = Atomics.load(h.ctl, 3) === 1 ? SPIN_MS : 0;
  let s = Atomics.load(h.ctl, 0);
  for (let spins = 1; s === WORK || s === RUNNING; spins++) {
    if ((spins & 255) === 0 || spinMs === 0) {
      const waited = performance.now() - t0;
      if (waited > limitMs) break;
      if (waited >= spinMs) Atomics.wait(h.ctl, 0, s, Math.min(20, limitMs - waited));
    }
    s = Atomics.load(h.ctl, 0);
  }
  return s;
}

/**
 * How long this thread waits, after finishing its own part, for a helper that has taken its part up: GRACE_MS plus
 * GRACE_SHARE of the time its own part took. Longer, and the helper has most likely lost its core (a busy machine):
 * this thread then computes the part itself, and the helper's late result is dropped.
 */
const GRACE_MS = 0.1, GRACE_SHARE = 0.25;

/** Whether helper h can take a job: not still computing a part this thread has redone (once it is done, it is idle again). */
function ready(h: Helper): boolean {
  const s = Atomics.load(h.ctl, 0);
  if (s === RUNNING || s === WORK) return false;
  if (s === FAILED) h.broken = true;
  if (s === DONE) Atomics.store(h.ctl, 0, IDLE);
  return s !== FAILED;
}

export type Kernel = "packed" | "axpy";

/** Split bounds over `parts`, multiples of 8 (the kernels' row and column blocks divide 8). */
function splitBounds(extent: number, parts: number): number[] {
  const bounds = [0];
  for (let i = 1; i < parts; i++) bounds.push(Math.min(extent, 8 * Math.round((i * extent) / parts / 8)));
  bounds.push(extent);
  return bounds;
}

/**
 * C (+)= A·B, C (m, n), split over the helpers and this thread, for the products matrix.ts hands over:
 * A(i, p) = a[i·si + p·sp], B(p, j) = b[p·bs + j·bt], C(i, j) = c[i·n + j], p < k.
 * Returns false (and does nothing) when the product is too small, has too few rows to split, threads are off,
 * or a helper is still busy with a part this thread has redone.
 */
export function parallelProduct(
  kernel: Kernel, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number, c: Float64Array,
  m: number, k: number, n: number, accumulate: boolean,
): boolean {
  if (envProblem !== null) throw new Error(envProblem);
  if (threads < 2 || m * k * n < minWork) return false;
  if (kernel === "axpy" && (bt !== 1 || bs !== n)) return false;
  startHelpers();
  const used = helpers.length >= threads ? helpers.slice(0, threads - 1) : helpers;
  if (!used.every(ready)) return false;
  const parts = used.length + 1;
  // few rows: bands of columns (the packed kernel), so that each thread packs and reads only its band of B
  const byColumns = kernel === "packed" && m < 32 * parts && n >= 16 * parts;
  if (!byColumns && m < 8 * parts) return false;
  const kind = kernel === "packed" ? 1 : 0;
  if (parts === 2 && m * k * n >= CHUNKED_MIN_WORK) {
    chunkedProduct(used[0], kind, a, si, sp, b, bs, bt, c, m, k, n, accumulate, byColumns);
    return true;
  }
  const bounds = splitBounds(byColumns ? n : m, parts);
  const pending: boolean[] = [];
  for (let i = 0; i < used.length; i++) {
    const h = used[i];
    const lo = bounds[i + 1], hi = bounds[i + 2];
    const [r0, r1, j0, j1] = byColumns ? [0, m, lo, hi] : [lo, hi, 0, n];
    pending.push(hi > lo);
    if (hi === lo) continue;
    // the windows of A, B and C this part reads and writes, copied into the shared scratch one after the other
    const w = j1 - j0, rows = r1 - r0;
    const aLen = (rows - 1) * si + (k - 1) * sp + 1;
    // B's band as a compact (k, w) matrix when B is row-major: half of B for 2 threads, not nearly all of it
    const bCompact = bt === 1 && w < bs;
    const bLen = bCompact ? k * w : (k - 1) * bs + (w - 1) * bt + 1;
    const cLen = (rows - 1) * n + w;
    ensureScratch(h, aLen + bLen + cLen);
    const d = h.scratch, par = h.par;
    const aOff = 0, bOff = aLen, cOff = aLen + bLen;
    d.set(a.subarray(r0 * si, r0 * si + aLen), aOff);
    if (bCompact) for (let p = 0; p < k; p++) d.set(b.subarray(p * bs + j0, p * bs + j1), bOff + p * w);
    else d.set(b.subarray(j0 * bt, j0 * bt + bLen), bOff);
    if (accumulate) d.set(c.subarray(r0 * n + j0, r0 * n + j0 + cLen), cOff);
    par[0] = kind;
    par[1] = aOff; par[2] = aLen; par[3] = si; par[4] = sp;
    par[5] = bOff; par[6] = bLen; par[7] = bCompact ? w : bs; par[8] = bt;
    par[9] = cOff; par[10] = cLen; par[11] = n; par[12] = rows; par[13] = k; par[14] = w; par[15] = accumulate ? 1 : 0;
    par[16] = 0;
    Atomics.store(h.ctl, 0, WORK);
    Atomics.notify(h.ctl, 0);
  }
  // this thread's part: the first rows or columns
  const [r0, r1, j0, j1] = byColumns ? [0, m, 0, bounds[1]] : [0, bounds[1], 0, n];
  const t0 = performance.now();
  part(kind, a, si, sp, b, bs, bt, c, n, k, r0, r1, j0, j1, accumulate);
  const grace = GRACE_MS + GRACE_SHARE * (performance.now() - t0);
  for (let i = 0; i < used.length; i++) {
    if (!pending[i]) continue;
    const h = used[i];
    const lo = bounds[i + 1], hi = bounds[i + 2];
    const [r0, r1, j0, j1] = byColumns ? [0, m, lo, hi] : [lo, hi, 0, n];
    stats.parts++;
    // not taken up yet (the helper has had no core while this thread did its part, or is still starting): take it back
    let s = Atomics.compareExchange(h.ctl, 0, WORK, IDLE);
    if (s === WORK) {
      Atomics.store(h.ctl, 3, 0);
      stats.takenBack++;
      part(kind, a, si, sp, b, bs, bt, c, n, k, r0, r1, j0, j1, accumulate);
      continue;
    }
    if (s === RUNNING) s = waitFor(h, grace);
    // spin again (both threads) only while the helper's parts arrive in time
    Atomics.store(h.ctl, 3, s === DONE ? 1 : 0);
    if (s === DONE) {
      copyBack(h, c, n, r0, r1, j0, j1);
      Atomics.store(h.ctl, 0, IDLE);
      continue;
    }
    // failed, or (the helper lost its core midway) still computing after the grace period: do its part here.
    // It writes only to its own scratch, and it gets no new job (nor is its scratch touched) until it is done.
    if (s === RUNNING) stats.redone++;
    else h.broken = true;
    part(kind, a, si, sp, b, bs, bt, c, n, k, r0, r1, j0, j1, accumulate);
  }
  if (used.some((h) => h.broken)) {
    stopHelpers();
    threads = 1;
  }
  return true;
}

/** Large products (with one helper) are cut into this many chunks, so that a helper that gets a core late, or only part of one, still does its share. */
const CHUNKS = 8;
/** Products of at least this many multiply-adds are cut into chunks (below it, two halves: the copies of all of A and B would cost more). */
const CHUNKED_MIN_WORK = 1 << 24;

/**
 * C (+)= A·B cut into CHUNKS chunks of rows (or bands of columns) that this thread and helper h take one at a
 * time until none is left. The helper may take any chunk, so all of A and B (and C when accumulating) are copied.
 */
function chunkedProduct(
  h: Helper, kind: number, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number, c: Float64Array,
  m: number, k: number, n: number, accumulate: boolean, byColumns: boolean,
): void {
  const extent = byColumns ? n : m;
  const size = 8 * Math.ceil(extent / CHUNKS / 8), count = Math.ceil(extent / size);
  const aLen = (m - 1) * si + (k - 1) * sp + 1, bLen = (k - 1) * bs + (n - 1) * bt + 1, cLen = m * n;
  ensureScratch(h, aLen + bLen + cLen);
  const d = h.scratch, par = h.par;
  d.set(a.subarray(0, aLen), 0);
  d.set(b.subarray(0, bLen), aLen);
  if (accumulate) d.set(c.subarray(0, cLen), aLen + bLen);
  par[0] = kind;
  par[1] = 0; par[2] = aLen; par[3] = si; par[4] = sp;
  par[5] = aLen; par[6] = bLen; par[7] = bs; par[8] = bt;
  par[9] = aLen + bLen; par[10] = cLen; par[11] = n; par[12] = m; par[13] = k; par[14] = n; par[15] = accumulate ? 1 : 0;
  par[16] = size; par[17] = count; par[18] = byColumns ? 1 : 0;
  handOverChunks(h);
  const mine = new Uint8Array(count);
  for (let i = Atomics.add(h.ctl, 2, 1); i < count; i = Atomics.add(h.ctl, 2, 1)) {
    mine[i] = 1;
    chunkPart(i, size, byColumns, kind, a, si, sp, b, bs, bt, c, m, k, n, accumulate, mainPack(), productPart, gemmPacked, axpyKernel);
  }
  // the helper never started: every chunk was done here
  let s = Atomics.compareExchange(h.ctl, 0, WORK, IDLE);
  Atomics.store(h.ctl, 3, s === WORK ? 0 : 1);
  if (s === WORK) {
    stats.takenBack++;
    return;
  }
  if (s === RUNNING) s = waitFor(h, timeLimitMs(m * k * n));
  // the helper's chunks: copied back if it finished them, else (it failed, or is still computing after the time limit) done here
  for (let i = 0; i < count; i++) {
    if (mine[i]) continue;
    const lo = i * size, hi = Math.min(extent, lo + size);
    if (s !== DONE) chunkPart(i, size, byColumns, kind, a, si, sp, b, bs, bt, c, m, k, n, accumulate, mainPack(), productPart, gemmPacked, axpyKernel);
    else if (byColumns) for (let r = 0; r < m; r++) c.set(d.subarray(aLen + bLen + r * n + lo, aLen + bLen + r * n + hi), r * n + lo);
    else c.set(d.subarray(aLen + bLen + lo * n, aLen + bLen + hi * n), lo * n);
  }
  if (s === DONE) Atomics.store(h.ctl, 0, IDLE);
  else {
    h.broken = true;
    stopHelpers();
    threads = 1;
  }
}

/** A job in chunks for helper h, its parameters set: the chunk counter at 0, then the job posted and the helper woken. */
function handOverChunks(h: Helper): void {
  Atomics.store(h.ctl, 2, 0);
  Atomics.store(h.ctl, 0, WORK);
  Atomics.notify(h.ctl, 0);
  stats.parts++;
}

/** Rows [r0, r1) × columns [j0, j1) of C (m, n) copied back from helper h's scratch, where its window of C begins at par[9]. */
function copyBack(h: Helper, c: Float64Array, n: number, r0: number, r1: number, j0: number, j1: number): void {
  const at = h.par[9], w = j1 - j0, s = h.scratch;
  if (w === n) c.set(s.subarray(at, at + (r1 - r0) * n), r0 * n);
  else for (let i = r0; i < r1; i++) c.set(s.subarray(at + (i - r0) * n, at + (i - r0) * n + w), i * n + j0);
}

/** This thread's share: rows [r0, r1) × columns [j0, j1) of C through productPart. */
function part(
  kind: number, a: Float64Array, si: number, sp: number, b: Float64Array, bs: number, bt: number, c: Float64Array,
  n: number, k: number, r0: number, r1: number, j0: number, j1: number, accumulate: boolean,
): void {
  if (r1 <= r0 || j1 <= j0) return;
  productPart(kind, a.subarray(r0 * si), si, sp, b.subarray(j0 * bt), bs, bt, c.subarray(r0 * n + j0), n, r1 - r0, k, j1 - j0, accumulate,
    mainPack(), gemmPacked, axpyKernel);
}

/** An empty job through every helper and back: the fixed cost of a split, for the benchmark. */
export function helperRoundTrip(): void {
  if (threads < 2) return;
  startHelpers();
  const used = helpers.slice(0, threads - 1);
  if (!used.every(ready)) return;
  for (const h of used) {
    h.par[0] = 2;
    h.par[16] = 0;
    Atomics.store(h.ctl, 0, WORK);
    Atomics.notify(h.ctl, 0);
  }
  for (const h of used) {
    if (waitFor(h, timeLimitMs(0)) === DONE) {
      Atomics.store(h.ctl, 0, IDLE);
      Atomics.store(h.ctl, 3, 1);
    } else h.broken = true;
  }
  if (used.some((h) => h.broken)) {
    stopHelpers();
    threads = 1;
  }
}

/** This thread's packing scratch (made on first use: matrix.ts and this file import each other). */
let mainPackBuf: Float64Array | null = null;
function mainPack(): Float64Array {
  return (mainPackBuf ??= new Float64Array(GEMM_KC * GEMM_NC));
}

// ---------------------------------------------------------------- chunked tasks

/** The product kernels a chunked task is handed (each thread's own copy of matrix.ts's code). */
export interface TaskKernels {
  gemmPacked: typeof gemmPacked;
  gemmPrepacked: typeof gemmPrepacked;
}
const mainKernels: TaskKernels = { gemmPacked, gemmPrepacked };

/**
 * Work cut into chunks that each thread can run on its own, start to finish, on arrays in shared memory:
 * `run(i, arrays, ints, kernels, pack)` computes chunk i (the product kernels come in as arguments, with a packing
 * scratch). The helper runs the very source of `run` and of the same-file functions it calls (`uses`), so they
 * must name nothing else (see taskSource).
 */
export interface ChunkTask {
  name: string;
  run: (i: number, arrays: Float64Array[], ints: number[], kernels: TaskKernels, pack: Float64Array) => void;
  uses: Function[];
}

/**
 * The source the helper compiles for a task: its functions, defined before their callers, then the entry.
 * (tsx's compiler wraps a function stored in a const as __name(f, "name") to keep its name: here a no-op.)
 */
function taskSource(task: ChunkTask): string {
  const fns = [...task.uses, task.run].map((f) => `const ${f.name} = ${f.toString()};`);
  return ["const __name = (f) => f;", ...fns, `return ${task.run.name};`].join("\n");
}

/** True when every array lives in memory the helper can share (a SharedArrayBuffer). */
function allShared(arrays: Float64Array[]): boolean {
  return arrays.every((a) => a.buffer instanceof SharedArrayBuffer);
}

/**
 * Runs chunks 0 .. count−1 of `task` on this thread and one helper: each takes the next chunk not yet
 * taken until none is left, so a helper that starts late (or never: a busy machine) leaves its share to this
 * thread. A chunk is computed by the same code on either thread, so where it runs changes no bit.
 * Returns false, having done nothing, when threads are off, there is no idle helper, or an array is not shared.
 * A helper that fails leaves its chunks half written: `redo(i, kernels, pack)` must restore chunk i's inputs and run it again
 * (it is then run here); a helper that is still computing after the time limit cannot be overtaken safely,
 * since it writes the shared arrays, and that is an error.
 */
export function runChunks(
  task: ChunkTask, arrays: Float64Array[], ints: number[], count: number, work: number, redo: (i: number, kernels: TaskKernels, pack: Float64Array) => void,
): boolean {
  if (envProblem !== null) throw new Error(envProblem);
  if (threads < 2 || count < 2 || !allShared(arrays)) return false;
  startHelpers();
  const h = helpers[0];
  if (!ready(h)) return false;
  const first = !h.tasks.has(task.name);
  const seq = ++h.jobs;
  h.port.postMessage({ seq, name: task.name, arrays, ints, ...(first ? { source: taskSource(task) } : {}) });
  h.tasks.add(task.name);
  h.par[0] = TASK;
  h.par[17] = count;
  h.par[19] = seq;
  handOverChunks(h);
  const mine = new Uint8Array(count);
  for (let i = Atomics.add(h.ctl, 2, 1); i < count; i = Atomics.add(h.ctl, 2, 1)) {
    mine[i] = 1;
    task.run(i, arrays, ints, mainKernels, mainPack());
  }
  let s = Atomics.compareExchange(h.ctl, 0, WORK, IDLE);
  if (s === WORK) {
    // the helper never started: its message is still queued, and is dropped before its next job (with the source, if it carried it)
    stats.takenBack++;
    if (first) h.tasks.delete(task.name);
    return true;
  }
  if (s === RUNNING) s = waitFor(h, timeLimitMs(work));
  const theirs = count - mine.reduce((a, b) => a + b, 0);
  if (s === DONE) {
    Atomics.store(h.ctl, 0, IDLE);
    stats.chunks += theirs;
    stats.chunksByTask[task.name] = (stats.chunksByTask[task.name] ?? 0) + theirs;
    return true;
  }
  h.broken = true;
  if (theirs > 0) {
    stats.redone++;
    stats.lastRedoneTask = task.name;
  }
  stopHelpers();
  threads = 1;
  if (s === RUNNING) throw new Error(`threads: the helper thread was still computing its part of '${task.name}' after ${timeLimitMs(work).toFixed(0)} ms; run on one thread (setThreads(1), SCRATCHNETS_THREADS=1)`);
  for (let i = 0; i < count; i++) if (!mine[i]) redo(i, mainKernels, mainPack());
  return true;
}
