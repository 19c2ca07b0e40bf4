/**
 * Backpropagation through time (BPTT), written once for every recurrent cell.
 *
 * The lecture describes it in three steps:
 *  1. The forward pass builds up a stack of the activities of all units at each time step.
 *  2. The backward pass peels activities off the stack to compute the error derivatives at each time step.
 *  3. After the backward pass, the derivatives at all the different times are added together for each weight.
 *
 * `bpttForward` is step 1: it runs a cell over t = 1..T and pushes each step's
 * cache (its activities) onto a stack. `bpttBackward` is steps 2 and 3: it pops
 * the caches in reverse, t = T..1, carrying dhNext = ∂L/∂h(t) (and dcNext for
 * the LSTM's cell state) back to the previous step, and every step adds its
 * share into one gradient per weight. What reaches t = 0 is ∂L/∂h(0): the
 * gradient of a learned initial state.
 *
 * The chain rule it implements (lecture notation):
 *   ∂L/∂W_hh = Σ_t ∂L(t)/∂y(t) · ∂y(t)/∂h(t) · Σ_{k ≤ t} ∂h(t)/∂h(k) · ∂h(k)/∂W_hh,
 *   ∂h(t)/∂h(k) = Π_{i=k+1..t} ∂h(i)/∂h(i−1).
 * The product of Jacobians is where gradients vanish or explode; `stepJacobians`
 * and `jacobianNorms` compute it.
 *
 * Shapes: x (N, T, F), h(t) (N, u). Time steps are 1..T in comments (as in the
 * lecture) and 0..T−1 as array indices.
 */
import { spectralNormVector } from "./lanczos.ts";
import { Tensor, matmul, frobeniusNorm, spectralNorm, sequenceDims, timeStep, setTimeStep, shapeStr } from "./matrix.ts";
import { clipByGlobalNorm, globalNorm } from "./clip.ts";
import { bpttForwardSequence, bpttBackwardSequence, type SequenceWorkspace } from "./bptt-sequence.ts";

// ---------------------------------------------------------------- the cell interface

/** The state carried from step to step: h(t), and for the LSTM its cell state c(t). */
export interface CellState {
  h: Tensor;
  c?: Tensor;
}

/** A cell's weights by name, e.g. { Whx, Whh, bh } or { W, U, b }. */
export type CellParams = Record<string, Tensor>;

/**
 * One recurrent cell: a single-step forward and backward pass. BPTT needs
 * nothing else from SimpleRNN, LSTM or GRU.
 */
export interface Cell<P extends CellParams, C> {
  /** "SimpleRNN", "LSTM" or "GRU", for error messages. */
  readonly kind: string;
  /** True when the state has a cell state c(t) beside h(t) (the LSTM). */
  readonly hasCellState: boolean;
  /** The weight that multiplies h(t−1): W_hh, or the recurrent kernel U. */
  readonly recurrentKey: keyof P & string;
  /** The input size F and the number of units u, read off the weights. */
  dims(params: P): { F: number; units: number };
  /** x: (N, F), prev: h(t−1) (N, u) [and c(t−1)] → the state at t and the cache for the backward step. */
  stepForward(params: P, x: Tensor, prev: CellState): { state: CellState; cache: C };
  /**
   * dState: ∂L/∂h(t) [and ∂L/∂c(t)], everything that reaches step t → dx: ∂L/∂x(t) and
   * dPrev: ∂L/∂h(t−1) [and ∂L/∂c(t−1)] through this step. Adds (+=) the step's weight
   * gradients into `grads`; changes nothing else. With needPrev = false, ∂L/∂h(t−1) is not
   * computed (dPrev is null): at t = 1 when nobody wants the initial state's gradient.
   */
  stepBackward(dState: CellState, cache: C, grads: P, needPrev?: boolean): { dx: Tensor; dPrev: CellState | null };
  /** The same step split for the sequence-level fast path (bptt-sequence.ts); a cell without it always runs step by step. */
  readonly sequence?: SequenceKernels<P, C>;
  /**
   * ∂h(t)/∂h(t−1) (u, u) of one row of the batch, in closed form from the step's cache: what
   * stepJacobians otherwise gets from u backward passes (e.g. diag(σ_h'(z_h(t))) W_hh for the SimpleRNN).
   */
  stepJacobian?(cache: C, row: number): Tensor;
}

/**
 * A cell's step with the products that do not depend on the recurrence taken out:
 * x(t)·W for every t is one product before the loop, and the weight gradients one
 * product each after it (bptt-sequence.ts). Inside the loop only h(t−1)·U and dz(t)·Uᵀ remain.
 */
export interface SequenceKernels<P extends CellParams, C> {
  /** The kernel that multiplies x(t) (Whx or W) and the bias (bh or b). */
  readonly inputKey: keyof P & string;
  readonly biasKey: keyof P & string;
  /** True when ∂L/∂(h(t−1)·U) differs from ∂L/∂(x(t)·W) (the GRU's reset gate acts after h·U). */
  readonly separateRecurrentGrad: boolean;
  /**
   * stepForward with xw = x(t)·W given (N, G) and overwritten with the step's activations;
   * writes h(t) [and c(t)] into `next`'s buffers. Returns the same cache as stepForward.
   */
  stepForward(params: P, x: Tensor, xw: Tensor, prev: CellState, next: CellState, ws: StepWorkspace): C;
  /**
   * stepBackward down to the pre-activations: writes dzx = ∂L/∂(x(t)·W) (N, G), and dzh = ∂L/∂(h(t−1)·U)
   * unless it is dzx itself; writes ∂L/∂h(t−1) [and ∂L/∂c(t−1)] into dPrev's buffers unless dPrev is null.
   * Adds no weight gradient: those are products over the stacked dz after the loop.
   */
  stepBackward(dState: CellState, cache: C, dzx: Tensor, dzh: Tensor, dPrev: CellState | null, ws: StepWorkspace): void;
  /** ∂L/∂b += the column sums of the stacked dzx (and dzh), (T·N, G). */
  biasGrad(dZx: Tensor, dZh: Tensor, gb: Tensor): void;
  /** The loops split over two threads by rows of the batch, when the cell has them (lstm.ts; rnn.ts for tanh). */
  readonly bands?: SequenceBands<P, C>;
}

/**
 * The forward and backward loops of the fast path run on bands of the batch's rows by two threads at once
 * (runChunks, threads.ts). Each sequence of the batch is its own recurrence, so a thread runs every step of
 * its band without waiting for the other, where splitting each step's product costs a hand-over per step;
 * and each entry is computed by the same operations as in the loop, so the result is bit-identical to it.
 * Each returns null, having done nothing, when it does not pay or threads are off; the loop then runs.
 */
export interface SequenceBands<P extends CellParams, C> {
  /** The forward loop over the stacks (x(t)·W given in XW); returns the steps' caches. */
  forward(params: P, s: SequenceStack, arrays: SequenceWorkspace): C[] | null;
  /** The backward loop: fills the stacked dz (block T−1−t for step t) and returns ∂L/∂h(0) [and ∂L/∂c(0)] when asked for. */
  backward(params: P, s: SequenceStack, dZ: Tensor, o: BandsBackwardOptions, arrays: SequenceWorkspace): { dh: Tensor | null; dc: Tensor | null } | null;
}

/** What the backward loop starts from: ∂L/∂h(t) from above at every step (N, T, u), ∂L/∂h(T), ∂L/∂c(T) (N, u). */
export interface BandsBackwardOptions {
  dhs?: Tensor;
  dhT?: Tensor;
  dcT?: Tensor;
  truncate?: number;
  initialStateGrad: boolean;
}

/**
 * Buffers for the steps of one pass, instead of fresh tensors at every step:
 * `block(name, width)` is the current step's (N, width) block of one (T·N, width) array allocated once
 * per pass (for what a step's cache keeps); `scratch(name, width)` is one (N, width) buffer every step
 * reuses (for what is dead when the step returns).
 */
export interface StepWorkspace {
  /** The step being run (set by the loop). */
  t: number;
  block(name: string, width: number): Tensor;
  /** The whole (T·N, width) array behind block(name, width): block t belongs to step t. */
  stack(name: string, width: number): Tensor;
  scratch(name: string, width: number): Tensor;
  /** True while the step's h(t−1) is the default zero h(0) (t = 1, no h0 given): `times` then skips the product. */
  zeroPrev: boolean;
  /**
   * out (+)= h·U, the forward step's product with the recurrent kernel U (same bits as matmul(h, U, out, accumulate),
   * but for the sign of a zero when zeroPrev skips it).
   */
  times(h: Tensor, U: Tensor, out: Tensor, accumulate: boolean): void;
  /** out = dz·Uᵀ, the backward step's ∂L/∂h(t−1) through the recurrent kernel U (same bits as matmulABt). */
  timesTransposed(dz: Tensor, U: Tensor, out: Tensor): void;
}

/** True when every entry of a state is 0, e.g. the default h(0): the cells then skip the products with it. */
export function isZeroState(h: Tensor): boolean {
  const d = h.data;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) return false;
  return true;
}

/** Zero tensors with the shapes of a cell's weights: where the gradients accumulate. */
export function zerosLikeParams<P extends CellParams>(params: P): P {
  const out: CellParams = {};
  for (const [k, v] of Object.entries(params)) out[k] = new Tensor(v.shape);
  return out as P;
}

// ---------------------------------------------------------------- step 1: the forward pass

/**
 * The initial state. Each of h0, c0 is either (N, u), one state per sequence
 * (e.g. carried over from the previous chunk), or (u,), one learned state
 * shared by all sequences, whose gradient is summed over the batch.
 * Missing states are zeros, as in Keras.
 */
export interface InitialState {
  h0?: Tensor;
  c0?: Tensor;
}

export interface BpttForward<C> {
  /** h(1..T): (N, T, u). */
  hs: Tensor;
  /** c(1..T) for a cell with a cell state: (N, T, u); otherwise null. */
  cs: Tensor | null;
  /** The state after the last step, h(T) [and c(T)]: what a stateful or truncated run carries forward. */
  last: CellState;
  /** The initial state actually used, as (N, u). */
  first: CellState;
  /** The stack of activities: one cache per step, t = 1..T (the top is step T). */
  stack: C[];
  /** The input's and the given initial states' shapes, to shape the gradients alike. */
  xShape: number[];
  h0Shape: number[] | null;
  c0Shape: number[] | null;
  /** From the sequence-level fast path: x(t) and h(t−1) stacked, for the products after the backward loop. */
  seq?: SequenceStack;
}

/** Time-major stacks running backwards in time: block T−1−t (N rows) belongs to step t. */
export interface SequenceStack {
  /** x(t) for t = T..1: (T·N, F). */
  X: Tensor;
  /** h(t−1) for t = T..1: (T·N, u). */
  Hprev: Tensor;
  /** h(s) [and c(s)] for s = T..0: ((T+1)·N, u), h(s) in block T − s. */
  H: Tensor;
  C: Tensor | null;
  /** x(t)·W for t = T..1, which the steps turn into the LSTM's gates, or gain h(t−1)·Whh (the SimpleRNN's z_h(t)): (T·N, G). */
  XW: Tensor;
  /** The whole (T·N, width) array behind a cell's per-step block of this name (StepWorkspace.block), block t for step t. */
  stack(name: string, width: number): Tensor;
  /** False once a later forward pass has reused the workspace these stacks (and the step caches) live in. */
  valid(): boolean;
  /**
   * True when h(0) is the default zero state (the caller gave no h0): the products with it are then
   * skipped, h(0)·U at t = 1 and h(0)ᵀdz(1) in ∂L/∂U. A given h0, even an all-zero one, is multiplied.
   */
  zeroStart: boolean;
}

/** N, T and u of a forward pass, read off its input and state without touching h(1..T). */
export function forwardDims(fwd: BpttForward<unknown>): { N: number; T: number; u: number } {
  return { N: fwd.xShape[0], T: fwd.xShape[1], u: fwd.first.h.shape[1] };
}

/** Options of both passes. */
export interface BpttPathOptions {
  /** Run the step-by-step loop even when the cell has a sequence-level fast path (the reference it is tested against). */
  stepwise?: boolean;
  /**
   * The fast path's arrays, reused from pass to pass (bptt-sequence.ts): a layer passes its own. The forward
   * result is then valid only until the next forward pass in the same workspace.
   */
  workspace?: SequenceWorkspace;
}

/** An initial state (u,) or (N, u) as (N, u), after checking its shape. */
function initialState(s: Tensor | undefined, N: number, u: number, what: string, who: string): Tensor {
  if (s === undefined) return new Tensor([N, u]);
  if (s.rank === 1 && s.shape[0] === u) {
    const out = new Tensor([N, u]);
    for (let n = 0; n < N; n++) out.data.set(s.data, n * u);
    return out;
  }
  if (s.rank === 2 && s.shape[0] === N && s.shape[1] === u) return s;
  throw new Error(`${who}: initial state ${what} has shape ${shapeStr(s.shape)}, expected (${N}, ${u}) for a batch of ${N} or (${u},) shared by all sequences`);
}

/** Step 1: run the cell over x (N, T, F) from the initial state, pushing each step's activities onto a stack. */
export function bpttForward<P extends CellParams, C>(cell: Cell<P, C>, params: P, x: Tensor, init: InitialState = {}, opts: BpttPathOptions = {}): BpttForward<C> {
  const { F, units: u } = cell.dims(params);
  const who = `${cell.kind}(${u})`;
  if (x.rank !== 3) throw new Error(`${who}: expected a sequence batch (N, T, F) with F = ${F}, got a ${x.rank}-D input ${shapeStr(x.shape)}`);
  const { N, T, F: Fx } = sequenceDims(x, who);
  if (Fx !== F) throw new Error(`${who}: the sequence ${shapeStr(x.shape)} has ${Fx} features per time step, the kernel expects ${F}`);
  if (init.c0 && !cell.hasCellState) throw new Error(`${who}: got an initial cell state c0, but a ${cell.kind} has no cell state`);
  const first: CellState = { h: initialState(init.h0, N, u, "h0", who) };
  if (cell.hasCellState) first.c = initialState(init.c0, N, u, "c0", who);
  const shapes = { xShape: [...x.shape], h0Shape: init.h0 ? [...init.h0.shape] : null, c0Shape: init.c0 ? [...init.c0.shape] : null };
  // The fast path runs these same steps with x(t)·W for all t as one product before the loop (bptt-sequence.ts).
  if (cell.sequence && !opts.stepwise) return bpttForwardSequence(cell, cell.sequence, params, x, first, shapes, opts.workspace);

  const hs = new Tensor([N, T, u]);
  const cs = cell.hasCellState ? new Tensor([N, T, u]) : null;
  const stack: C[] = [];
  let state = first;
  for (let t = 0; t < T; t++) {
    const step = cell.stepForward(params, timeStep(x, t), state);
    stack.push(step.cache);
    state = step.state;
    setTimeStep(hs, t, state.h);
    if (cs) setTimeStep(cs, t, state.c as Tensor);
  }
  return { hs, cs, last: state, first, stack, ...shapes };
}

// ---------------------------------------------------------------- steps 2 and 3: the backward pass

export interface BpttBackwardOptions extends BpttPathOptions {
  /** ∂L/∂h(t) from the layers above, for every step (N, T, u): a loss at every step, or returnSequences. */
  dhs?: Tensor;
  /** ∂L/∂h(T) from above (N, u): a loss on the last state only. Added to dhs at t = T if both are given. */
  dhT?: Tensor;
  /** ∂L/∂c(T) (N, u), for an LSTM whose final cell state feeds something. */
  dcT?: Tensor;
  /**
   * Truncated BPTT over k steps: the sequence is cut into chunks t = 1..k, k+1..2k, ...;
   * the forward pass carried the state across the cuts, the backward pass does not
   * carry dhNext across them. The result is the exact gradient of the truncated
   * objective, in which each chunk's initial state is a constant.
   */
  truncate?: number;
  /** Clip by global norm: if ‖g‖ > clipNorm, all weight gradients (and a learned h0, c0) are scaled by clipNorm/‖g‖. */
  clipNorm?: number;
  /**
   * Record each step's own weight gradients: true keeps them (stepGrads, one set of tensors per step) and
   * their norms (stepGradNorms); "norms" keeps only the norms, reusing one set of tensors for every step.
   */
  recordSteps?: boolean | "norms";
  /** Compute ∂L/∂h(0) (and ∂L/∂c(0)); default true. A layer whose initial state is a constant turns it off. */
  initialStateGrad?: boolean;
  /** Compute dLdhNorms (a pass over ∂L/∂h(t) per step); default true. A layer that only trains turns it off. */
  stepNorms?: boolean;
}

/** The weight gradients alone: bpttBackward without ∂L/∂x, for a first layer, whose input is the data. */
export type BpttWeightGradients<P> = Omit<BpttResult<P>, "dx">;

export interface BpttResult<P> {
  /** ∂L/∂x: (N, T, F). */
  dx: Tensor;
  /** ∂L/∂(each weight), summed over all time steps (and clipped if asked). */
  grads: P;
  /** ∂L/∂h(0), shaped like the given h0: (u,) summed over the batch for a shared state, else (N, u); null if not asked for. */
  dh0: Tensor | null;
  /** ∂L/∂c(0), likewise, for a cell with a cell state; otherwise null. */
  dc0: Tensor | null;
  /** ‖∂L/∂h(t)‖ for t = 1..T (Frobenius over the batch), everything that reaches h(t); empty with stepNorms: false. */
  dLdhNorms: number[];
  /** With recordSteps true: each step's contribution to every weight's gradient, t = 1..T (null with "norms"). */
  stepGrads: P[] | null;
  /** With recordSteps (true or "norms"): ‖contribution of step t to ∂L/∂W_hh‖ (the recurrent weight) for t = 1..T. */
  stepGradNorms: number[] | null;
  /**
   * The global gradient norm over the weights (and a learned h0, c0) before and after clipping;
   * computed with clipNorm or recordSteps, otherwise NaN (it is a pass over every gradient).
   */
  gradNormBefore: number;
  gradNormAfter: number;
}

/** ∂L/∂h(0) in the shape of the given initial state: summed over the batch for a shared (u,) state. */
function initialStateShaped(d: Tensor, shape: number[] | null): Tensor {
  if (shape === null || shape.length === 2) return d;
  const [N, u] = d.shape;
  const out = new Tensor([u]);
  for (let n = 0; n < N; n++) for (let j = 0; j < u; j++) out.data[j] += d.data[n * u + j];
  return out;
}

/** Steps 2 and 3 (`backward` below): ∂L/∂x, every weight's gradient and ∂L/∂h(0). */
export function bpttBackward<P extends CellParams, C>(cell: Cell<P, C>, params: P, fwd: BpttForward<C>, opts: BpttBackwardOptions = {}): BpttResult<P> {
  return backward(cell, params, fwd, opts, true) as BpttResult<P>;
}

/** bpttBackward without ∂L/∂x (one product over all steps less on the fast path). */
export function bpttWeightGradients<P extends CellParams, C>(cell: Cell<P, C>, params: P, fwd: BpttForward<C>, opts: BpttBackwardOptions = {}): BpttWeightGradients<P> {
  const { dx: _, ...rest } = backward(cell, params, fwd, opts, false);
  return rest;
}

/** Steps 2 and 3: pop the activities off the stack, t = T..1, carrying dhNext (and dcNext) and adding up every weight's gradient. */
function backward<P extends CellParams, C>(cell: Cell<P, C>, params: P, fwd: BpttForward<C>, opts: BpttBackwardOptions, inputGrad: boolean): BpttWeightGradients<P> & { dx: Tensor | null } {
  const { N, T, u } = forwardDims(fwd);
  const who = `${cell.kind}(${u}) backward`;
  if (fwd.seq && !fwd.seq.valid()) throw new Error(`${who}: this forward pass's buffers were reused by a later forward pass of the same layer; run the backward pass before the next forward pass`);
  const { dhs, dhT, dcT, truncate, clipNorm, recordSteps = false, initialStateGrad = true, stepwise = false, stepNorms = true } = opts;
  if (dhs) assertShapeIs(dhs, [N, T, u], `${who}: dhs (∂L/∂h(t) for every step)`);
  if (dhT) assertShapeIs(dhT, [N, u], `${who}: dhT (∂L/∂h(T))`);
  if (dcT) {
    if (!cell.hasCellState) throw new Error(`${who}: got dcT, but a ${cell.kind} has no cell state`);
    assertShapeIs(dcT, [N, u], `${who}: dcT (∂L/∂c(T))`);
  }
  if (truncate !== undefined && !(Number.isInteger(truncate) && truncate >= 1)) throw new Error(`${who}: truncate must be a positive integer number of steps, got ${truncate}`);

  // The fast path runs these same steps with the weight gradients as one product each after the loop (bptt-sequence.ts).
  if (cell.sequence && fwd.seq && !recordSteps && !stepwise) {
    const r = bpttBackwardSequence(cell, cell.sequence, params, fwd, fwd.seq, { dhs, dhT, dcT, truncate, initialStateGrad, inputGrad, stepNorms });
    return finishBackward(r.grads, r.dx, r.dhNext, r.dcNext, fwd, r.dLdhNorms, null, null, clipNorm, false);
  }

  const grads = zerosLikeParams(params);
  const dx = inputGrad ? new Tensor(fwd.xShape) : null;
  const dLdhNorms = stepNorms ? new Array<number>(T).fill(0) : [];
  const stepGradNorms: number[] | null = recordSteps ? new Array<number>(T).fill(0) : null;
  const stepGrads: P[] | null = recordSteps === true ? new Array<P>(T) : null;
  // with recordSteps "norms": one set of step tensors, zeroed before each step
  const scratch = recordSteps === "norms" ? zerosLikeParams(params) : null;

  // ∂L/∂h(T) and ∂L/∂c(T) from beyond the last step.
  let dhNext: Tensor | null = dhT ? dhT.clone() : new Tensor([N, u]);
  let dcNext = cell.hasCellState ? (dcT ? dcT.clone() : new Tensor([N, u])) : undefined;
  const stack = [...fwd.stack]; // popped below; the forward result stays intact for another backward pass

  for (let t = T - 1; t >= 0; t--) {
    const cache = stack.pop() as C;
    // ∂L/∂h(t) = ∂L(t)/∂h(t) (from above, at this step) + ∂L/∂h(t+1)·∂h(t+1)/∂h(t) (carried back in dhNext)
    const dh = dhNext as Tensor;
    if (dhs) addFromAbove(dh, dhs, t);
    if (stepNorms) dLdhNorms[t] = frobeniusNorm(dh);

    // This step's share of every weight's gradient: into its own tensors when recorded, else straight into the sum.
    if (scratch) for (const k of Object.keys(scratch)) scratch[k].data.fill(0);
    const into = stepGrads ? zerosLikeParams(params) : scratch ?? grads;
    const { dx: dxt, dPrev } = cell.stepBackward({ h: dh, c: dcNext }, cache, into, t > 0 || initialStateGrad);
    if (stepGradNorms) {
      // step 3, visibly: the derivatives at the different times are added together for each weight
      if (stepGrads) stepGrads[t] = into;
      stepGradNorms[t] = frobeniusNorm(into[cell.recurrentKey]);
      for (const k of Object.keys(grads)) addInto(grads[k], into[k]);
    }
    if (dx) setTimeStep(dx, t, dxt);

    dhNext = dPrev ? dPrev.h : null;
    dcNext = dPrev ? dPrev.c : undefined;
    // Truncation: the state entering a chunk is a constant of the truncated objective.
    if (truncate !== undefined && t > 0 && t % truncate === 0) {
      dhNext = new Tensor([N, u]);
      if (dcNext) dcNext = new Tensor([N, u]);
    }
  }

  return finishBackward(grads, dx, dhNext, dcNext ?? null, fwd, dLdhNorms, stepGrads, stepGradNorms, clipNorm, recordSteps !== false);
}

/** ∂L/∂h(0), ∂L/∂c(0) in the given initial states' shapes, and clipping by global norm. */
function finishBackward<P extends CellParams, C>(
  grads: P, dx: Tensor | null, dhNext: Tensor | null, dcNext: Tensor | null, fwd: BpttForward<C>, dLdhNorms: number[],
  stepGrads: P[] | null, stepGradNorms: number[] | null, clipNorm: number | undefined, recordSteps: boolean,
): BpttWeightGradients<P> & { dx: Tensor | null } {
  let dh0 = dhNext ? initialStateShaped(dhNext, fwd.h0Shape) : null;
  let dc0 = dcNext ? initialStateShaped(dcNext, fwd.c0Shape) : null;

  // Clipping by global norm, over the weights and a learned (shared) initial state.
  const keys = Object.keys(grads);
  const learnedH0 = fwd.h0Shape?.length === 1 && dh0 !== null, learnedC0 = fwd.c0Shape?.length === 1 && dc0 !== null;
  const all = [...keys.map((k) => grads[k]), ...(learnedH0 ? [dh0 as Tensor] : []), ...(learnedC0 ? [dc0 as Tensor] : [])];
  let gradNormBefore = recordSteps ? globalNorm(all) : NaN, gradNormAfter = gradNormBefore;
  if (clipNorm !== undefined) {
    const c = clipByGlobalNorm(all, clipNorm);
    gradNormBefore = c.normBefore;
    gradNormAfter = c.normAfter;
    keys.forEach((k, i) => ((grads as CellParams)[k] = c.grads[i]));
    if (learnedH0) dh0 = c.grads[keys.length];
    if (learnedC0) dc0 = c.grads[keys.length + (learnedH0 ? 1 : 0)];
  }
  return { dx, grads, dh0, dc0, dLdhNorms, stepGrads, stepGradNorms, gradNormBefore, gradNormAfter };
}

/** dh (N, u) += dhs(:, t, :), the gradient from the layers above at step t (dhs: (N, T, u)). */
export function addFromAbove(dh: Tensor, dhs: Tensor, t: number): void {
  const [N, T, u] = dhs.shape;
  const d = dh.data, g = dhs.data;
  for (let n = 0; n < N; n++) {
    const o = (n * T + t) * u;
    for (let j = 0; j < u; j++) d[n * u + j] += g[o + j];
  }
}

function assertShapeIs(t: Tensor, shape: number[], what: string): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new Error(`${what} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
}

function addInto(a: Tensor, b: Tensor): void {
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

// ---------------------------------------------------------------- the Jacobian product ∂h(t)/∂h(k)

/**
 * ∂h(t)/∂h(t−1) for t = 1..T, for one sequence of the batch, from the backward
 * pass itself: the backward pass is linear, so feeding it the unit vector e_j as
 * ∂L/∂h(t) returns row j of the Jacobian as ∂L/∂h(t−1). All rows come out of one
 * backward step over a batch of u copies of the sequence's step.
 *
 * J[t−1](j, k) = ∂h_j(t)/∂h_k(t−1), a (u, u) matrix; for the SimpleRNN it is
 * diag(σ_h'(z_h(t))) W_hh. For the LSTM the state is s = (h, c) and the Jacobian is
 * ∂s(t)/∂s(t−1), (2u, 2u), with h first.
 *
 * A cell with a closed form (`cell.stepJacobian`, the SimpleRNN's diag(σ_h'(z_h(t))) W_hh)
 * gets it from the forward pass's caches instead: u² work per step instead of a
 * forward and a backward step over u rows. `reference: true` takes the backward
 * pass anyway (the tests compare the two).
 */
export function stepJacobians<P extends CellParams, C>(cell: Cell<P, C>, params: P, x: Tensor, fwd: BpttForward<C>, sample = 0, opts: { reference?: boolean } = {}): Tensor[] {
  const { N, T, u } = forwardDims(fwd);
  if (fwd.seq && !fwd.seq.valid()) throw new Error(`stepJacobians: this forward pass's buffers were reused by a later forward pass of the same layer`);
  if (!(Number.isInteger(sample) && sample >= 0 && sample < N)) throw new Error(`stepJacobians: sample ${sample} is outside 0..${N - 1}`);
  if (cell.stepJacobian && !opts.reference) return fwd.stack.map((cache) => (cell.stepJacobian as (c: C, row: number) => Tensor)(cache, sample));
  const F = x.shape[2];
  const m = cell.hasCellState ? 2 * u : u;
  // Unit vectors: e_j as ∂L/∂s(t), one per row.
  const eh = new Tensor([m, u]), ec = new Tensor([m, u]);
  for (let j = 0; j < u; j++) {
    eh.data[j * u + j] = 1;
    if (cell.hasCellState) ec.data[(u + j) * u + j] = 1;
  }
  const Js: Tensor[] = [];
  for (let t = 0; t < T; t++) {
    // m copies of sample n's input x(t) and state s(t−1)
    const xs = new Tensor([m, F]), hp = new Tensor([m, u]), cp = new Tensor([m, u]);
    const xrow = x.data.subarray((sample * T + t) * F, (sample * T + t + 1) * F);
    const hrow = t === 0 ? fwd.first.h.data.subarray(sample * u, (sample + 1) * u) : fwd.hs.data.subarray((sample * T + t - 1) * u, (sample * T + t) * u);
    const crow = !cell.hasCellState ? null : t === 0 ? (fwd.first.c as Tensor).data.subarray(sample * u, (sample + 1) * u) : (fwd.cs as Tensor).data.subarray((sample * T + t - 1) * u, (sample * T + t) * u);
    for (let r = 0; r < m; r++) {
      xs.data.set(xrow, r * F);
      hp.data.set(hrow, r * u);
      if (crow) cp.data.set(crow, r * u);
    }
    const { cache } = cell.stepForward(params, xs, cell.hasCellState ? { h: hp, c: cp } : { h: hp });
    const { dPrev } = cell.stepBackward(cell.hasCellState ? { h: eh, c: ec } : { h: eh }, cache, zerosLikeParams(params));
    if (!dPrev) throw new Error(`stepJacobians: ${cell.kind}'s backward step returned no ∂L/∂h(t−1)`);
    if (!cell.hasCellState) {
      Js.push(dPrev.h);
    } else {
      // J = [∂s/∂h(t−1) | ∂s/∂c(t−1)], rows indexed by s = (h, c)
      const J = new Tensor([m, m]), dh = dPrev.h.data, dc = (dPrev.c as Tensor).data;
      for (let r = 0; r < m; r++) {
        J.data.set(dh.subarray(r * u, (r + 1) * u), r * m);
        J.data.set(dc.subarray(r * u, (r + 1) * u), r * m + u);
      }
      Js.push(J);
    }
  }
  return Js;
}

/** ∂h(t)/∂h(k) = Π_{i=k+1..t} ∂h(i)/∂h(i−1) = J(t)·J(t−1)·…·J(k+1), for 0 ≤ k ≤ t ≤ T (Js from stepJacobians). */
export function jacobianProduct(Js: Tensor[], k: number, t: number): Tensor {
  if (!(Number.isInteger(k) && Number.isInteger(t) && 0 <= k && k <= t && t <= Js.length)) {
    throw new Error(`jacobianProduct: need integers 0 ≤ k ≤ t ≤ T = ${Js.length}, got k = ${k}, t = ${t}`);
  }
  const m = Js.length ? Js[0].shape[0] : 0;
  let P = identity(m);
  for (let i = t; i > k; i--) P = matmul(P, Js[i - 1]);
  return P;
}

export interface JacobianNorm {
  k: number;
  /** ‖∂h(t)/∂h(k)‖₂, the largest singular value. */
  spectral: number;
  /** ‖∂h(t)/∂h(k)‖_F. */
  frobenius: number;
}

/**
 * ‖∂h(t)/∂h(k)‖ for k = 0..t, building the product once from k = t down (jacobianProducts).
 * The spectral norm comes from Lanczos (lanczos.ts), started from the previous k's singular
 * vector carried through the new factor (jacobianNormStep). `reference: true` uses power
 * iteration from a fixed vector (matrix.ts spectralNorm) instead, which needs many more
 * products when the two largest singular values are close.
 */
export function jacobianNorms(Js: Tensor[], t = Js.length, opts: { reference?: boolean } = {}): JacobianNorm[] {
  if (!(Number.isInteger(t) && t >= 0 && t <= Js.length)) throw new Error(`jacobianNorms: t = ${t} is outside 0..${Js.length}`);
  const out: JacobianNorm[] = new Array(t + 1);
  let v: Float64Array | null = null;
  for (const { k, P } of jacobianProducts(Js, t)) {
    if (opts.reference) {
      out[k] = { k, spectral: spectralNorm(P), frobenius: frobeniusNorm(P) };
      continue;
    }
    const r = jacobianNormStep(P, k, k < t ? Js[k] : null, v);
    out[k] = r.norm;
    v = r.v;
  }
  return out;
}

/**
 * ∂h(t)/∂h(k) for k = t, t−1, …, 0, each from the one before: ∂h(t)/∂h(k) = ∂h(t)/∂h(k+1)·J(k+1),
 * with J(k+1) = Js[k]. Every P is a new matrix, so a caller may keep it (or hand it to another thread).
 */
export function* jacobianProducts(Js: Tensor[], t = Js.length): Generator<{ k: number; P: Tensor }> {
  if (!(Number.isInteger(t) && t >= 0 && t <= Js.length)) throw new Error(`jacobianProducts: t = ${t} is outside 0..${Js.length}`);
  const m = Js.length ? Js[0].shape[0] : 0;
  let P = identity(m);
  for (let k = t; k >= 0; k--) {
    if (k < t) P = matmul(P, Js[k]);
    yield { k, P };
  }
}

/**
 * One entry of jacobianNorms: the norms of P = ∂h(t)/∂h(k). `J` is the factor just multiplied in,
 * J(k+1) = Js[k] (null at k = t), and `v` the previous k's right singular vector: if P' v = σ u for
 * P' = ∂h(t)/∂h(k+1), then (P'·J)ᵀ u = σ Jᵀ v, so Jᵀ v is near P's, and Lanczos starts from it.
 * Returns the norms and P's singular vector for the next k.
 */
export function jacobianNormStep(P: Tensor, k: number, J: Tensor | null, v: Float64Array | null): { norm: JacobianNorm; v: Float64Array | null } {
  const start = v && J ? transposeTimes(J, v) : undefined;
  const r = spectralNormVector(P, 1e-15, start);
  return { norm: { k, spectral: r.sigma, frobenius: frobeniusNorm(P) }, v: r.v };
}

/** Jᵀ v for J (m, m), v (m). */
function transposeTimes(J: Tensor, v: Float64Array): Float64Array {
  const m = v.length, out = new Float64Array(m), d = J.data;
  for (let r = 0; r < m; r++) {
    const vr = v[r];
    for (let c = 0; c < m; c++) out[c] += d[r * m + c] * vr;
  }
  return out;
}

function identity(m: number): Tensor {
  const I = new Tensor([m, m]);
  for (let i = 0; i < m; i++) I.data[i * m + i] = 1;
  return I;
}
