/**
 * SimpleRNN, LSTM and GRU as layers of the Sequential model.
 *
 * Each layer is a cell (rnn.ts, lstm.ts, gru.ts) run over time by the one
 * BPTT loop in bptt.ts. The input is a sequence batch (N, T, F); the output
 * is h(T) (N, u), or with returnSequences the whole h(1..T) (N, T, u), which
 * is what a second recurrent layer stacked on top needs.
 *
 * Keras's initialisers: kernel glorot_uniform, recurrent kernel orthogonal,
 * bias zeros, and for the LSTM the forget-gate bias at 1 (unit_forget_bias).
 * The parameter counts equal Keras's:
 *   SimpleRNN u(F + u + 1),  LSTM 4u(F + u + 1),  GRU 3u(F + u + 2).
 */
import { Tensor, shapeStr, type Shape } from "./matrix.ts";
import { Rng, glorotUniform, orthogonal, zerosInit } from "./random.ts";
import type { Regularizer } from "./regularizers.ts";
import type { Layer, Param, ForwardContext } from "./layer.ts";
import { type Cell, type CellParams, type BpttForward, type BpttBackwardOptions, type BpttWeightGradients, bpttForward, bpttBackward, bpttWeightGradients, forwardDims } from "./bptt.ts";
import { SequenceWorkspace } from "./bptt-sequence.ts";
import { type RnnActivation, type RnnParams, type RnnStepCache, simpleRnnCell, checkRnnActivation } from "./rnn.ts";
import { type LstmParams, type LstmStepCache, lstmCell } from "./lstm.ts";
import { type GruParams, type GruStepCache, gruCell } from "./gru.ts";

export interface RecurrentOptions {
  /** Return h(1..T) (N, T, u) instead of h(T) (N, u); Keras's return_sequences (default false). */
  returnSequences?: boolean;
  /** Keras's input_shape, per sample: [T, F]. */
  inputShape?: number[];
  /**
   * Learn the initial state h(0) (and c(0)) as parameters shared by all sequences,
   * trained by backpropagating through time all the way to t = 0 (the lecture's
   * advice). Not a Keras option; off by default, so summary() counts match Keras.
   */
  trainableInitialState?: boolean;
  /** Truncated BPTT: the backward pass stops carrying ∂L/∂h across every k-th step. */
  truncate?: number;
  kernelRegularizer?: Regularizer;
  recurrentRegularizer?: Regularizer;
}

export interface RecurrentCache<C> {
  fwd: BpttForward<C>;
}

/** What SimpleRNN, LSTM and GRU share: building, the parameter list, and forward/backward through bptt.ts. */
abstract class Recurrent<P extends CellParams, C> implements Layer<RecurrentCache<C>> {
  abstract readonly className: string;
  name = "";
  readonly inputShape?: number[];
  readonly returnSequences: boolean;
  readonly trainableInitialState: boolean;
  readonly truncate?: number;
  readonly kernelRegularizer?: Regularizer;
  readonly recurrentRegularizer?: Regularizer;
  /** The cell's weights, named as in the cell (e.g. Whx, Whh, bh); null until built. */
  weights: P | null = null;
  /** The learned initial state h(0), c(0) (u,), with trainableInitialState. */
  h0: Tensor | null = null;
  c0: Tensor | null = null;
  protected abstract readonly cell: Cell<P, C>;
  /** The fast path's arrays, reused by every training pass of this layer (bptt-sequence.ts). */
  private readonly workspace = new SequenceWorkspace();
  /** [cell weight name, Keras name], in Keras's order: kernel, recurrent_kernel, bias. */
  protected abstract readonly kerasNames: readonly (readonly [keyof P & string, string])[];

  constructor(readonly units: number, opts: RecurrentOptions, kind: string) {
    if (!Number.isInteger(units) || units < 1) throw new Error(`${kind}: units must be a positive integer, got ${units}`);
    this.inputShape = opts.inputShape;
    this.returnSequences = opts.returnSequences ?? false;
    this.trainableInitialState = opts.trainableInitialState ?? false;
    if (opts.truncate !== undefined && !(Number.isInteger(opts.truncate) && opts.truncate >= 1)) throw new Error(`${kind}(${units}): truncate must be a positive integer number of steps, got ${opts.truncate}`);
    this.truncate = opts.truncate;
    this.kernelRegularizer = opts.kernelRegularizer;
    this.recurrentRegularizer = opts.recurrentRegularizer;
  }

  protected get who(): string {
    return `${this.className}(${this.units})`;
  }

  /** Keras's initial weights for F input features. */
  protected abstract initWeights(F: number, rng: Rng): P;

  build(inputShape: Shape, rng: Rng): number[] {
    if (inputShape.length !== 2) throw new Error(`${this.who}: expected a per-sample input shape (T, features), got ${shapeStr(inputShape)}; a recurrent layer takes sequences (N, T, F)`);
    const [T, F] = inputShape;
    this.weights = this.initWeights(F, rng);
    if (this.trainableInitialState) {
      this.h0 = zerosInit([this.units]);
      if (this.cell.hasCellState) this.c0 = zerosInit([this.units]);
    }
    return this.returnSequences ? [T, this.units] : [this.units];
  }

  private built(): P {
    if (!this.weights) throw new Error(`${this.who} is not built yet: add it to a model with a known input shape`);
    return this.weights;
  }

  params(): Param[] {
    const w = this.built();
    const ps: Param[] = this.kerasNames.map(([k, name], i) => ({
      name,
      value: w[k],
      regularizer: i === 0 ? this.kernelRegularizer : i === 1 ? this.recurrentRegularizer : undefined,
    }));
    if (this.h0) ps.push({ name: "initial_h", value: this.h0 });
    if (this.c0) ps.push({ name: "initial_c", value: this.c0 });
    return ps;
  }

  forward(x: Tensor, ctx: ForwardContext): { out: Tensor; cache: RecurrentCache<C> } {
    const w = this.built();
    const F = this.cell.dims(w).F;
    if (x.rank !== 3) throw new Error(`${this.who}: expected a sequence batch (N, T, F) with F = ${F}, got a ${x.rank}-D input ${shapeStr(x.shape)}`);
    // a training pass's stacks live in the layer's workspace until the next training pass (its backward pass comes first)
    const fwd = bpttForward(this.cell, w, x, { h0: this.h0 ?? undefined, c0: this.c0 ?? undefined }, ctx.training ? { workspace: this.workspace } : {});
    return { out: this.returnSequences ? fwd.hs : fwd.last.h, cache: { fwd } };
  }

  backward(dOut: Tensor, cache: RecurrentCache<C>): { dX: Tensor; grads: Tensor[] } {
    const r = bpttBackward(this.cell, this.built(), cache.fwd, this.backwardOptions(dOut, cache));
    return { dX: r.dx, grads: this.gradientList(r) };
  }

  /** The weight gradients alone, for the model's first layer: ∂L/∂x would be a gradient with respect to the data. */
  paramGradients(dOut: Tensor, cache: RecurrentCache<C>): Tensor[] {
    return this.gradientList(bpttWeightGradients(this.cell, this.built(), cache.fwd, this.backwardOptions(dOut, cache)));
  }

  private backwardOptions(dOut: Tensor, cache: RecurrentCache<C>): BpttBackwardOptions {
    const { N, T, u } = forwardDims(cache.fwd);
    const want = this.returnSequences ? [N, T, u] : [N, u];
    if (dOut.rank !== want.length || dOut.shape.some((d, i) => d !== want[i])) throw new Error(`${this.who} backward: dOut has shape ${shapeStr(dOut.shape)}, expected ${shapeStr(want)}`);
    // A constant zero initial state needs no gradient: BPTT stops at t = 1.
    // ‖∂L/∂h(t)‖ per step is a diagnostic the layer does not report: not computed
    const opts = { truncate: this.truncate, initialStateGrad: this.trainableInitialState, stepNorms: false };
    return this.returnSequences ? { ...opts, dhs: dOut } : { ...opts, dhT: dOut };
  }

  /** The gradients in params() order: kernel, recurrent kernel, bias [, h(0), c(0)]. */
  private gradientList(r: BpttWeightGradients<P>): Tensor[] {
    const grads: Tensor[] = this.kerasNames.map(([k]) => r.grads[k]);
    if (this.h0) grads.push(r.dh0 as Tensor);
    if (this.c0) grads.push(r.dc0 as Tensor);
    return grads;
  }
}

// ---------------------------------------------------------------- SimpleRNN

export interface SimpleRNNOptions extends RecurrentOptions {
  /** σ_h: tanh (Keras's default), relu, sigmoid or linear. */
  activation?: RnnActivation;
}

/** Keras's SimpleRNN: h(t) = σ_h(x(t)·Whx + h(t−1)·Whh + bh); weights kernel = Whx, recurrent_kernel = Whh, bias = bh. */
export class SimpleRNN extends Recurrent<RnnParams, RnnStepCache> {
  readonly className = "SimpleRNN";
  /** σ_h, the hidden activation (not an output activation a loss could absorb). */
  readonly hiddenActivation: RnnActivation;
  protected readonly cell: Cell<RnnParams, RnnStepCache>;
  protected readonly kerasNames = [["Whx", "kernel"], ["Whh", "recurrent_kernel"], ["bh", "bias"]] as const;

  constructor(units: number, opts: SimpleRNNOptions = {}) {
    super(units, opts, "SimpleRNN");
    this.hiddenActivation = checkRnnActivation(opts.activation ?? "tanh", `SimpleRNN(${units})`);
    this.cell = simpleRnnCell(this.hiddenActivation);
  }

  protected initWeights(F: number, rng: Rng): RnnParams {
    const u = this.units;
    return { Whx: glorotUniform([F, u], rng), Whh: orthogonal([u, u], rng), bh: zerosInit([u]) };
  }
}

// ---------------------------------------------------------------- LSTM

export interface LSTMOptions extends RecurrentOptions {
  /** Keras's unit_forget_bias: start the forget-gate bias at 1 (default true). */
  unitForgetBias?: boolean;
}

/** Keras's LSTM (tanh, sigmoid gates): kernel W (F, 4u), recurrent_kernel U (u, 4u), bias b (4u), gates i, f, c, o. */
export class LSTM extends Recurrent<LstmParams, LstmStepCache> {
  readonly className = "LSTM";
  readonly unitForgetBias: boolean;
  protected readonly cell = lstmCell();
  protected readonly kerasNames = [["W", "kernel"], ["U", "recurrent_kernel"], ["b", "bias"]] as const;

  constructor(units: number, opts: LSTMOptions = {}) {
    super(units, opts, "LSTM");
    this.unitForgetBias = opts.unitForgetBias ?? true;
  }

  protected initWeights(F: number, rng: Rng): LstmParams {
    const u = this.units;
    const W = glorotUniform([F, 4 * u], rng);
    const U = orthogonal([u, 4 * u], rng);
    const b = zerosInit([4 * u]);
    // unit_forget_bias: b_f = 1
    if (this.unitForgetBias) b.data.fill(1, u, 2 * u);
    return { W, U, b };
  }
}

// ---------------------------------------------------------------- GRU

/** Keras's GRU (TF2 default, reset_after = True): kernel W (F, 3u), recurrent_kernel U (u, 3u), bias b (2, 3u), gates z, r, h. */
export class GRU extends Recurrent<GruParams, GruStepCache> {
  readonly className = "GRU";
  protected readonly cell = gruCell();
  protected readonly kerasNames = [["W", "kernel"], ["U", "recurrent_kernel"], ["b", "bias"]] as const;

  constructor(units: number, opts: RecurrentOptions = {}) {
    super(units, opts, "GRU");
  }

  protected initWeights(F: number, rng: Rng): GruParams {
    const u = this.units;
    return { W: glorotUniform([F, 3 * u], rng), U: orthogonal([u, 3 * u], rng), b: zerosInit([2, 3 * u]) };
  }
}
