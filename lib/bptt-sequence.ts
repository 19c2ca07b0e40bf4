/**
 * The sequence-level fast path of BPTT: the same forward and backward steps as
 * the loops in bptt.ts, with every product that does not depend on the
 * recurrence taken out of the time loop.
 *
 *   before the loop:  x(t)·W for t = 1..T is ONE product on the stacked (T·N, F) rows;
 *   in the loop:      only h(t−1)·U (forward) and dz(t)·Uᵀ (backward), which the recurrence forces;
 *   after the loop:   ∂L/∂W = Σ_t x(t)ᵀ dz(t) and ∂L/∂U = Σ_t h(t−1)ᵀ dz(t) are ONE product each
 *                     over the stacked rows, and ∂L/∂x = dZ·Wᵀ one more;
 *   from h(0) = 0:    when no initial state is given, h(0)·U at t = 1 and the h(0) rows of Σ_t h(t−1)ᵀ dz(t)
 *                     are zero and skipped (half of those products at chapter 10's T = 2); ∂L/∂h(0) = dz(1)·Uᵀ
 *                     is computed only when asked for (initialStateGrad), as in the loop.
 *
 * It equals `bpttForward(..., { stepwise: true })` and `bpttBackward(..., { stepwise: true })`
 * (tested to 1e-12, and bit for bit when N is a multiple of 4). It does the same multiply-adds
 * as the loop, so it can only be faster by what it saves around them: T small products (N rows
 * each) for x(t)·W and for each weight gradient, each paying the call, the checks and a pass
 * over W; a fresh tensor per step (here the steps write into blocks of the stacks, and a layer's
 * stacks live in its SequenceWorkspace from one training pass to the next); and the loop's
 * copies of every step in and out of (N, T, ·). Where the three products the recurrence keeps
 * (h(t−1)·U, dz(t)·Uᵀ, h(t−1)ᵀ·dz(t)) take nearly all of the time, as for LSTM(128), T = 100,
 * batch 32 with one input feature (x(t)·W and Σ x(t)ᵀdz(t) are 0.5% of the work), the fast path
 * gains those savings and its choice of product form for dz(t)·Uᵀ (StepWorkspace.timesTransposed
 * below), about 10% (`npm run bench`, rnn.bpttStepVsSequence): the rest is the kernel's.
 *
 * On two threads (setThreads(2)), a cell with SequenceBands (the LSTM, the tanh SimpleRNN) runs each of the
 * two loops on bands of the batch's rows, one band per thread (bptt.ts, SequenceBands): the same steps on the
 * same stacks, with the same bits.
 *
 * The stacks are time-major and run backwards in time: block T−1−t (rows
 * (T−1−t)·N .. (T−t)·N) holds step t, one contiguous block used in place as an
 * (N, ·) view. Backwards, because the step-by-step loop adds the steps' terms
 * for t = T..1: the products after the loop then add the same terms in the same
 * order, 4 rows at a time, so that with N a multiple of 4 the fast path is
 * bit-identical to the loop (and otherwise equal to it up to rounding).
 */
import { Tensor, matmul, matmulAtB, matmulABt, frobeniusNorm, transpose, rowSlice } from "./matrix.ts";
import { Workspace } from "./workspace.ts";
import { type Cell, type CellParams, type CellState, type SequenceKernels, type BpttForward, type SequenceStack, type StepWorkspace, type BandsBackwardOptions, addFromAbove, forwardDims } from "./bptt.ts";
import { getThreads, runChunks, PARALLEL_MIN_WORK, type ChunkTask, type TaskKernels } from "./threads.ts";

/** Rows [b·N, (b+1)·N) of a stack (R, G): block b, as an (N, G) view (no copy). */
export function stepRows(S: Tensor, b: number, N: number): Tensor {
  return rowSlice(S, b * N, (b + 1) * N);
}

/** N, T and u of a pass's stacks: X is (T·N, F) and H ((T+1)·N, u). */
export function stackDims(s: SequenceStack): { N: number; T: number; u: number } {
  const N = s.H.shape[0] - s.X.shape[0];
  return { N, T: s.X.shape[0] / N, u: s.H.shape[1] };
}

/**
 * x(t)·W again on rows n0 .. n0+rows of every step's block of the stack XW (T·N, G), from X (T·N, F): what a
 * chunk of a cell's forward loop on two threads needs restored before it runs again (its steps add h(t−1)·U
 * to those rows, or overwrite them with gates). The same kernel order as the product before the loop, so the same bits.
 */
export function restoreInputRows(s: SequenceStack, W: Tensor, n0: number, rows: number, k: TaskKernels, pack: Float64Array): void {
  const { N, T } = stackDims(s), [F, G] = W.shape;
  for (let b = 0; b < T; b++) k.gemmPacked(s.X.data.subarray((b * N + n0) * F), F, 1, W.data, G, 1, s.XW.data.subarray((b * N + n0) * G), G, G, F, 0, rows, false, pack);
}

/** `g` (rows, u) copied into the workspace's shared array `name`, or an empty one when there is no g: a starting gradient for SequenceBands.backward. */
export function sharedCopy(arrays: SequenceWorkspace, name: string, g: Tensor | undefined, rows: number, u: number): Float64Array {
  const a = arrays.take(name, g ? rows : 0, u);
  if (g) a.data.set(g.data);
  return a.data;
}

/**
 * Rows of the batch per chunk of a cell's loops on two threads (SequenceBands): 2 chunks (4 from 128 rows up),
 * each a multiple of 8 rows (the kernel's row block); or 0 when threads are off or the loop is not worth splitting:
 * fewer than 16 rows, or less work (T·N·u·G multiply-adds for the G columns of h·U) than the smallest product worth splitting.
 */
export function bandRows(N: number, T: number, u: number, G: number): number {
  if (getThreads() < 2 || N < 16 || T * N * u * G < PARALLEL_MIN_WORK) return 0;
  return 8 * Math.ceil(N / (N >= 128 ? 4 : 2) / 8);
}

/**
 * The forward pass's arrays, kept from one pass to the next instead of fresh ones every pass:
 * the stacks x(t), x(t)·W, h(t), c(t) and the cells' per-step blocks (tanh c(t), …), each
 * grown on demand and never shrunk. A recurrent layer owns one and uses it for its training
 * passes, whose forward result lives only until its backward pass; a forward result made in a
 * workspace is valid until the next forward pass in it (bpttBackward checks, and says so).
 */
export class SequenceWorkspace {
  private readonly arrays = new Workspace();
  /** Counts the forward passes made in this workspace: a forward result remembers its pass. */
  pass = 0;

  /**
   * A (rows, width) tensor over the array named `name`: NOT zeroed, its entries are whatever the last pass left.
   * With more than one thread it lives in shared memory, where a second thread can work on it (SequenceBands).
   */
  take(name: string, rows: number, width: number): Tensor {
    return this.arrays.tensor(this, name, [rows, width], getThreads() > 1);
  }
}

/** A fresh (rows, width) tensor, or the workspace's array of that name when there is a workspace. */
function stackTensor(ws: SequenceWorkspace | undefined, name: string, rows: number, width: number): Tensor {
  return ws ? ws.take(name, rows, width) : new Tensor([rows, width]);
}

/**
 * A pass's step buffers: each (T·N, width) block array and (N, width) scratch made on first request
 * (in the layer's workspace if there is one: every step writes all of its block before reading it).
 */
function stepWorkspace(T: number, N: number, ws?: SequenceWorkspace): StepWorkspace {
  const blocks = new Map<string, Tensor>(), scratches = new Map<string, Tensor>(), transposes = new Map<Tensor, Tensor>();
  const sw: StepWorkspace = {
    zeroPrev: false,
    times(h, U, out, accumulate) {
      // From the default h(0) = 0 the product is a zero matrix: adding it changes no entry (at most the sign of a
      // zero: −0 + 0 = +0), and as the whole product it is +0 everywhere. A chapter 10 network (T = 2) skips
      // one of its two h(t−1)·U products per layer this way, in training and in prediction.
      if (sw.zeroPrev) {
        if (!accumulate) out.data.fill(0);
        return;
      }
      matmul(h, U, out, accumulate);
    },
    timesTransposed(dz, U, out) {
      // A small U (≤ 128×128 entries) is transposed once per pass and dz·(Uᵀ) runs as a plain unpacked
      // product: 7–13% faster than matmulABt at 64×64 (LSTM(32), SimpleRNN(64)). For a larger U matmulABt
      // measured the faster (13% at LSTM(128), under an earlier packing rule of matrix.ts).
      if (U.size > 16384) return void matmulABt(dz, U, out);
      let Ut = transposes.get(U);
      if (Ut === undefined) transposes.set(U, (Ut = transpose(U)));
      matmul(dz, Ut, out);
    },
    t: 0,
    stack(name, width) {
      let S = blocks.get(name);
      if (S === undefined) blocks.set(name, (S = stackTensor(ws, `block ${name}`, T * N, width)));
      return S;
    },
    block(name, width) {
      return stepRows(this.stack(name, width), this.t, N);
    },
    scratch(name, width) {
      let S = scratches.get(name);
      if (S === undefined) scratches.set(name, (S = new Tensor([N, width])));
      return S;
    },
  };
  return sw;
}

/**
 * Backward-only arrays kept from one backward pass to the next (grown on demand, never shrunk):
 * dz(t) for every step is (T·N, G), megabytes for a long sequence, and dead once the weight
 * gradients are formed, so a fresh one per pass would only feed the garbage collector.
 */
const backwardArrays = new SequenceWorkspace();

/** Rows of the stacks per product in `stackedAtB`: a multiple of 4, and a (128, 512) chunk of dz is 512 KB, within the core's L2. */
const CHUNK_ROWS = 128;

/**
 * out = Aᵀ·B over the stacked rows 0 .. R−1 (all of them by default), as products over 128 rows at a time added up in turn. It is
 * the same sum in the same order as one matmulAtB (the kernel adds rows 4 at a time and 128 is
 * a multiple of 4, so not a bit changes), but each chunk of B stays in cache while every column
 * of A passes over it, where one product streams all of B (13 MB for LSTM(128), T = 100) from
 * memory once per 4 columns of A: 10–12% faster for (3200, 128)ᵀ(3200, 512) and (3200, 32)ᵀ(3200, 128).
 * On two threads, with the stacks in shared memory, each thread computes its band of out's rows this way over all
 * the stacked rows (stackedAtBBand): one hand-over for the whole product instead of one per chunk. The threads write a
 * shared array, copied into out after (out, a fresh gradient tensor, is not in memory the helper can reach).
 */
function stackedAtB(A: Tensor, B: Tensor, out: Tensor, R = A.shape[0]): void {
  const [m, n] = out.shape;
  if (getThreads() > 1 && m >= 16 && R * m * n >= PARALLEL_MIN_WORK) {
    const C = backwardArrays.take("AtB", m, n), v = [R, m, n, 8 * Math.ceil(m / 16), CHUNK_ROWS];
    const s = [A.data, B.data, C.data];
    if (runChunks(atbTask, s, v, 2, R * m * n, (i, kernels, pack) => stackedAtBBand(i, s, v, kernels, pack))) {
      out.data.set(C.data);
      return;
    }
  }
  out.data.fill(0);
  for (let r = 0; r < R; r += CHUNK_ROWS) {
    const e = Math.min(R, r + CHUNK_ROWS);
    matmulAtB(rowSlice(A, r, e), rowSlice(B, r, e), out, true);
  }
}

/**
 * Rows i·size .. (i+1)·size of stackedAtB's out (m, n) = Aᵀ·B over the stacked rows 0 .. R−1 of A (·, m) and B (·, n),
 * in its order: CHUNK_ROWS stacked rows at a time. s = [A, B, out], v = [R, m, n, size, CHUNK_ROWS]. It names nothing but its arguments:
 * a helper thread compiles this very source (runChunks, threads.ts).
 */
function stackedAtBBand(i: number, s: Float64Array[], v: number[], k: TaskKernels, pack: Float64Array): void {
  const [A, B, C] = s;
  const [R, m, n, size, chunk] = v;
  const r0 = i * size, r1 = Math.min(m, r0 + size);
  C.fill(0, r0 * n, r1 * n);
  for (let r = 0; r < R; r += chunk) k.gemmPacked(A.subarray(r * m), 1, m, B.subarray(r * n), n, 1, C, n, n, Math.min(R, r + chunk) - r, r0, r1, true, pack);
}

const atbTask: ChunkTask = { name: "stackedAtBBand", run: stackedAtBBand, uses: [] };

/** x (N, T, F) → the stack (T·N, F) that runs backwards in time: block T−1−t holds x(t). */
function toReversedStack(x: Tensor, ws?: SequenceWorkspace): Tensor {
  const [N, T, F] = x.shape;
  const out = stackTensor(ws, "X", T * N, F);
  const s = x.data, d = out.data;
  // plain loops: a subarray per row costs more than copying a few features
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      const from = (n * T + t) * F, to = ((T - 1 - t) * N + n) * F;
      for (let f = 0; f < F; f++) d[to + f] = s[from + f];
    }
  }
  return out;
}

/** Blocks 0 .. T−1 of a stack that runs backwards in time (block T−1−t for step t) → batch-major (N, T, G). */
function fromReversedStack(S: Tensor, N: number, T: number): Tensor {
  const G = S.shape[1];
  const out = new Tensor([N, T, G]);
  const s = S.data, d = out.data;
  for (let t = 0; t < T; t++) {
    const b = T - 1 - t;
    for (let n = 0; n < N; n++) {
      const from = (b * N + n) * G, to = (n * T + t) * G;
      for (let j = 0; j < G; j++) d[to + j] = s[from + j];
    }
  }
  return out;
}

/**
 * Step 1 with the input projections x(t)·W for all t as one product: equals bpttForward's loop.
 * With a workspace, the stacks are its arrays (no allocation once the sizes have been seen);
 * h(1..T) and c(1..T) as (N, T, u) are then made only when read (a layer returning h(T) alone never reads them).
 */
export function bpttForwardSequence<P extends CellParams, C>(
  cell: Cell<P, C>, k: SequenceKernels<P, C>, params: P, x: Tensor, first: CellState,
  shapes: { xShape: number[]; h0Shape: number[] | null; c0Shape: number[] | null }, ws?: SequenceWorkspace,
): BpttForward<C> {
  const [N, T] = x.shape;
  const u = first.h.shape[1];
  const pass = ws ? ++ws.pass : 0;
  const valid = () => ws === undefined || ws.pass === pass;
  const X = toReversedStack(x, ws);
  // x(t)·W for t = 1..T: one (T·N, F)·(F, G) product; each step overwrites its block with its activations
  const XW = matmul(X, params[k.inputKey], stackTensor(ws, "XW", T * N, params[k.inputKey].shape[1]));
  // the states h(s), c(s) for s = 0..T: h(s) in block T − s, so h(T) comes first and h(0) last
  const H = stackTensor(ws, "H", (T + 1) * N, u);
  H.data.set(first.h.data, T * N * u);
  const Cs = cell.hasCellState ? stackTensor(ws, "C", (T + 1) * N, u) : null;
  if (Cs) Cs.data.set((first.c as Tensor).data, T * N * u);
  const state = (s: number): CellState => (Cs ? { h: stepRows(H, T - s, N), c: stepRows(Cs, T - s, N) } : { h: stepRows(H, T - s, N) });
  const sw = stepWorkspace(T, N, ws);
  // no h0 given: h(0) is the default zero state, and step 1 skips h(0)·U (StepWorkspace.times)
  const zeroStart = shapes.h0Shape === null;
  const seq: SequenceStack = {
    X, Hprev: new Tensor([T * N, u], H.data.subarray(N * u, (T + 1) * N * u)), H, C: Cs, XW,
    stack: (name, width) => sw.stack(name, width), valid, zeroStart,
  };
  // on two threads, each running the whole loop on its rows of the batch (SequenceBands); else the loop
  let stack = ws && k.bands ? k.bands.forward(params, seq, ws) : null;
  if (stack === null) {
    stack = new Array<C>(T);
    for (let t = 0; t < T; t++, sw.t++) {
      sw.zeroPrev = zeroStart && t === 0;
      stack[t] = k.stepForward(params, stepRows(X, T - 1 - t, N), stepRows(XW, T - 1 - t, N), state(t), state(t + 1), sw);
    }
  }
  // h(T), c(T) as the caller's own copies: they outlive the workspace's next pass
  const last: CellState = ws ? { h: stepRows(H, 0, N).clone(), ...(Cs ? { c: stepRows(Cs, 0, N).clone() } : {}) } : state(T);
  let hs: Tensor | null = null, cs: Tensor | null = null;
  const stale = (what: string) => new Error(`${cell.kind}(${u}): ${what} of this forward pass was read after a later forward pass reused its workspace`);
  return {
    get hs(): Tensor {
      if (hs === null && !valid()) throw stale("h(1..T)");
      return (hs ??= fromReversedStack(H, N, T));
    },
    get cs(): Tensor | null {
      if (Cs === null) return null;
      if (cs === null && !valid()) throw stale("c(1..T)");
      return (cs ??= fromReversedStack(Cs, N, T));
    },
    last, first, stack, ...shapes, seq,
  };
}

/**
 * Steps 2 and 3's reverse loop, t = T..1, carrying ∂L/∂h (and ∂L/∂c) and filling the stacked dz; the per-step norms
 * ‖∂L/∂h(t)‖ go into dLdhNorms when it has T entries. Returns ∂L/∂h(0) [and ∂L/∂c(0)] when the loop reached t = 0.
 */
function backwardLoop<P extends CellParams, C>(
  cell: Cell<P, C>, k: SequenceKernels<P, C>, fwd: BpttForward<C>, dZx: Tensor, dZh: Tensor, N: number, T: number, u: number,
  o: BandsBackwardOptions, dLdhNorms: number[],
): { dh: Tensor | null; dc: Tensor | null } {
  const { dhs, dhT, dcT, truncate, initialStateGrad } = o;
  // ∂L/∂h(t) [and ∂L/∂c(t)] reaching step t, and the buffers step t writes ∂L/∂h(t−1) into: swapped each step
  let dh = dhT ? dhT.clone() : new Tensor([N, u]), dhPrev = new Tensor([N, u]);
  let dc = cell.hasCellState ? (dcT ? dcT.clone() : new Tensor([N, u])) : null, dcPrev = cell.hasCellState ? new Tensor([N, u]) : null;
  const ws = stepWorkspace(T, N);
  let reachedStart = true;
  for (let t = T - 1; t >= 0; t--) {
    // ∂L/∂h(t) = from above at this step + carried back from step t+1
    if (dhs) addFromAbove(dh, dhs, t);
    if (dLdhNorms.length > 0) dLdhNorms[t] = frobeniusNorm(dh);
    const needPrev = t > 0 || initialStateGrad;
    ws.t = t;
    const into: CellState | null = needPrev ? (dcPrev ? { h: dhPrev, c: dcPrev } : { h: dhPrev }) : null;
    k.stepBackward(dc ? { h: dh, c: dc } : { h: dh }, fwd.stack[t], stepRows(dZx, T - 1 - t, N), stepRows(dZh, T - 1 - t, N), into, ws);
    if (!needPrev) {
      reachedStart = false;
      break;
    }
    [dh, dhPrev] = [dhPrev, dh];
    if (dc) [dc, dcPrev] = [dcPrev as Tensor, dc];
    // truncation: the state entering a chunk is a constant of the truncated objective
    if (truncate !== undefined && t > 0 && t % truncate === 0) {
      dh.data.fill(0);
      if (dc) dc.data.fill(0);
    }
  }
  return { dh: reachedStart ? dh : null, dc: reachedStart ? dc : null };
}

export interface SequenceBackward<P> {
  grads: P;
  dx: Tensor | null;
  dhNext: Tensor | null;
  dcNext: Tensor | null;
  dLdhNorms: number[];
}

/** Steps 2 and 3 with the weight gradients as one product each over all steps: equals bpttBackward's loop. */
export function bpttBackwardSequence<P extends CellParams, C>(
  cell: Cell<P, C>, k: SequenceKernels<P, C>, params: P, fwd: BpttForward<C>, seq: SequenceStack,
  opts: BandsBackwardOptions & { inputGrad: boolean; stepNorms: boolean },
): SequenceBackward<P> {
  const { N, T, u } = forwardDims(fwd);
  const W = params[k.inputKey], G = W.shape[1];
  const { inputGrad, stepNorms } = opts;
  // dz(t) for every step, stacked like x (block T−1−t): filled by the loop, multiplied out after it
  const dZx = backwardArrays.take("dZx", T * N, G);
  const dZh = k.separateRecurrentGrad ? backwardArrays.take("dZh", T * N, G) : dZx;
  const dLdhNorms = stepNorms ? new Array<number>(T).fill(0) : [];
  // on two threads, each running the whole loop on its rows of the batch (SequenceBands); else the loop below
  const banded = k.bands && !stepNorms ? k.bands.backward(params, seq, dZx, opts, backwardArrays) : null;
  const reached = banded ?? backwardLoop(cell, k, fwd, dZx, dZh, N, T, u, opts, dLdhNorms);

  // Σ_t x(t)ᵀ dz(t), Σ_t h(t−1)ᵀ dz(t), Σ_t Σ_n dz(t): one product (or sum) each over the stacked rows
  const grads: CellParams = {};
  for (const [name, v] of Object.entries(params)) grads[name] = new Tensor(v.shape);
  stackedAtB(seq.X, dZx, grads[k.inputKey]);
  // From the default h(0) = 0, step 1's term h(0)ᵀdz(1) is a zero matrix; its N rows are the stacks' last block,
  // so the product stops before them: the same sums less some added zeros (at most a zero's sign differs),
  // half of the rows at T = 2 (chapter 10), and all of them at T = 1.
  stackedAtB(seq.Hprev, dZh, grads[cell.recurrentKey], seq.zeroStart ? (T - 1) * N : T * N);
  k.biasGrad(dZx, dZh, grads[k.biasKey]);
  // ∂L/∂x(t) = dz(t)·Wᵀ for all t: one product, then back to (N, T, F); skipped when nobody wants it (a first layer)
  return {
    grads: grads as P,
    dx: inputGrad ? fromReversedStack(matmulABt(dZx, W), N, T) : null,
    dhNext: reached.dh,
    dcNext: reached.dc,
    dLdhNorms,
  };
}
