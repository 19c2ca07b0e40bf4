/**
 * A Keras-style Sequential model: a stack of layers, a loss and an optimiser.
 *
 *   model.add(layer) … model.compile({ loss, optimizer, metrics }) → model.fit(x, y, { epochs, batchSize })
 *
 * One training step is the whole of backpropagation in four lines: forward
 * through the layers keeping each cache, the loss and its gradient, backward
 * through the layers in reverse, and the optimiser's update.
 */
import { Tensor, argmaxRows, takeRows, rowSlice, shapeStr } from "./matrix.ts";
import { Rng } from "./random.ts";
import { type Loss, getLoss } from "./losses.ts";
import { activationForward } from "./activations.ts";
import type { Optimizer } from "./optimizers.ts";
import { type Layer, type Param, countParams } from "./layer.ts";
import { Workspace } from "./workspace.ts";
import { requireFinite, requirePositiveInteger, requireTensor } from "./validate.ts";
import { describeDivergence, divergenceFacts, penaltyOf } from "./divergence.ts";
import { type WeightedLayer, writeWeightsFile, readWeightsFile } from "./weights-file.ts";

export interface CompileOptions {
  loss: string | Loss;
  optimizer: Optimizer;
  metrics?: string[];
}

export interface FitOptions {
  epochs?: number;
  /** Keras's default is 32. */
  batchSize?: number;
  /** The LAST fraction of the samples, taken before shuffling, is held out for validation (as Keras does). */
  validationSplit?: number;
  validationData?: [Tensor, Tensor];
  /** Shuffle the training samples before every epoch (default true). */
  shuffle?: boolean;
  /** 0: silent but for an early stop; 1: one line per epoch through `log`. */
  verbose?: 0 | 1;
  /** Seed of the shuffling; by default drawn from the model's generator. */
  seed?: number;
  /** Where progress lines and the early-stop message go (default: the console). */
  log?: (line: string) => void;
  onEpochEnd?: (epoch: number, logs: Record<string, number>) => void;
  /**
   * Called after every optimiser step (epoch and step count from 1). Returning
   * a message stops training there, like a non-finite loss does; the message
   * becomes history.stopped.message (e.g. "the weights ran away").
   */
  onBatchEnd?: (epoch: number, step: number, loss: number) => string | null | undefined | void;
}

/** Why training stopped early, if it did. */
export interface StopInfo {
  epoch: number;
  step: number;
  message: string;
}

export interface History {
  /** Per-epoch values: loss, accuracy, val_loss, val_accuracy (those that apply). */
  history: Record<string, number[]>;
  epoch: number[];
  /** Set when the loss became NaN or infinite: training stopped there. */
  stopped: StopInfo | null;
}

const KERAS_NAMES: Record<string, string> = {
  Conv2D: "conv2d",
  MaxPooling2D: "max_pooling2d",
  AveragePooling2D: "average_pooling2d",
  SimpleRNN: "simple_rnn",
  LSTM: "lstm",
  GRU: "gru",
  Dense: "dense",
  Flatten: "flatten",
};

function snakeName(className: string): string {
  return KERAS_NAMES[className] ?? className.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

export class Sequential {
  readonly name: string;
  readonly layers: Layer[] = [];
  private rng: Rng;
  /** The layers' reused buffers during lossAndGradients (workspace.ts). */
  private readonly workspace = new Workspace();
  private built = false;
  private outputShapes: number[][] = [];
  private inputShape: number[] | null = null;
  private loss: Loss | null = null;
  private optimizer: Optimizer | null = null;
  private metrics: string[] = [];
  private readonly nameCounts = new Map<string, number>();

  /** `seed` makes the initial weights and the shuffling reproducible. */
  constructor(opts: { seed?: number; name?: string } = {}) {
    this.rng = new Rng(opts.seed ?? 0);
    this.name = opts.name ?? "sequential";
  }

  add(layer: Layer): this {
    if (this.built) throw new Error(`Sequential: cannot add ${layer.className} after the model was built`);
    if (this.layers.length === 0 && !layer.inputShape) {
      throw new Error(`Sequential: the first layer (${layer.className}) needs an inputShape, e.g. { inputShape: [8, 8, 1] }`);
    }
    const base = snakeName(layer.className);
    const k = this.nameCounts.get(base) ?? 0;
    this.nameCounts.set(base, k + 1);
    layer.name = k === 0 ? base : `${base}_${k}`;
    this.layers.push(layer);
    return this;
  }

  /** Creates every layer's weights, in order, from the model's seeded generator. */
  build(): void {
    if (this.built) return;
    if (this.layers.length === 0) throw new Error("Sequential: the model has no layers");
    let shape: number[] = [...(this.layers[0].inputShape as number[])];
    this.inputShape = shape;
    for (const layer of this.layers) {
      shape = layer.build(shape, this.rng);
      this.outputShapes.push(shape);
    }
    this.built = true;
  }

  compile(opts: CompileOptions): void {
    this.build();
    const loss = getLoss(opts.loss);
    const last = this.layers[this.layers.length - 1];
    if (loss.fusedActivation && last.activation !== loss.fusedActivation) {
      throw new Error(`compile: loss '${loss.name}' expects the last layer to have activation '${loss.fusedActivation}', but ${last.name} has '${last.activation ?? "none"}'`);
    }
    for (const m of opts.metrics ?? []) {
      if (m !== "accuracy") throw new Error(`compile: unknown metric '${m}'; expected 'accuracy'`);
      if (loss.name !== "categorical_crossentropy") throw new Error(`compile: metric 'accuracy' needs loss 'categorical_crossentropy', got '${loss.name}'`);
    }
    this.loss = loss;
    this.optimizer = opts.optimizer;
    this.metrics = opts.metrics ?? [];
  }

  trainableParams(): Param[] {
    this.build();
    return this.layers.flatMap((l) => l.params());
  }

  countParams(): number {
    this.build();
    return this.layers.reduce((s, l) => s + countParams(l), 0);
  }

  /** The per-sample output shape of every layer. */
  layerOutputShapes(): number[][] {
    this.build();
    return this.outputShapes.map((s) => [...s]);
  }

  private checkInput(x: Tensor, who: string): void {
    this.build();
    const want = this.inputShape as number[];
    if (x.rank !== want.length + 1 || want.some((d, i) => d !== x.shape[i + 1])) {
      throw new Error(`${who}: the model expects input of shape (N, ${want.join(", ")}), got ${shapeStr(x.shape)}`);
    }
  }

  private requireCompiled(who: string): { loss: Loss; optimizer: Optimizer } {
    if (!this.loss || !this.optimizer) throw new Error(`${who}: call compile({ loss, optimizer }) first`);
    return { loss: this.loss, optimizer: this.optimizer };
  }

  /** Forward through every layer. With `fused`, the last layer returns z and the loss applies its activation. */
  private forwardAll(x: Tensor, training: boolean, fused: boolean, workspace?: Workspace): { out: Tensor; caches: unknown[] } {
    const caches: unknown[] = [];
    let a = x;
    this.layers.forEach((layer, i) => {
      const last = i === this.layers.length - 1;
      // the last layer's output is returned to the caller: never a reused buffer
      const { out, cache } = layer.forward(a, { training, linearOutput: fused && last, workspace: last ? undefined : workspace });
      caches.push(cache);
      a = out;
    });
    return { out: a, caches };
  }

  /**
   * The loss (with regularisation) on one batch and its gradient with respect
   * to every parameter, in the order of trainableParams(). Changes no weight.
   */
  lossAndGradients(x: Tensor, y: Tensor): { loss: number; grads: Tensor[]; output: Tensor } {
    this.requireCompiled("lossAndGradients");
    this.checkInput(x, "lossAndGradients");
    if (x.shape[0] !== y.shape[0]) throw new Error(`lossAndGradients: x has ${x.shape[0]} samples but y has ${y.shape[0]}`);
    return this.lossAndGradientsOf(x, y, this.trainableParams());
  }

  /** lossAndGradients on checked inputs, with the model's parameter list (trainableParams()) passed in. */
  private lossAndGradientsOf(x: Tensor, y: Tensor, params: readonly Param[]): { loss: number; grads: Tensor[]; output: Tensor } {
    const loss = this.loss as Loss;
    const fused = loss.fusedActivation !== undefined;
    // 1. forward, keeping every layer's cache
    const { out, caches } = this.forwardAll(x, true, fused, this.workspace);
    // 2. the loss and ∂L/∂output
    const { loss: dataLoss, cache } = loss.forward(out, y);
    let d = loss.backward(cache);
    // 3. backward through the layers in reverse
    const perLayer: Tensor[][] = new Array(this.layers.length);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      // The first layer's ∂L/∂x is a gradient with respect to the data: not needed.
      if (i === 0 && layer.paramGradients) {
        perLayer[i] = layer.paramGradients(d, caches[i]);
        break;
      }
      const { dX, grads } = layer.backward(d, caches[i]);
      perLayer[i] = grads;
      d = dX;
    }
    // regularisation: L += λΣw², ∂L/∂w += 2λw
    const grads = perLayer.flat();
    params.forEach((p, i) => p.regularizer?.addGradient(p.value, grads[i]));
    return { loss: dataLoss + penaltyOf(params), grads, output: out };
  }

  /** One optimiser step on one batch; returns the batch loss and the number of correct predictions. */
  trainStep(x: Tensor, y: Tensor): { loss: number; correct: number } {
    this.requireCompiled("trainStep");
    this.checkInput(x, "trainStep");
    if (x.shape[0] !== y.shape[0]) throw new Error(`trainStep: x has ${x.shape[0]} samples but y has ${y.shape[0]}`);
    return this.trainStepOf(x, y, this.trainableParams());
  }

  /** trainStep on checked inputs; `params` is trainableParams(), listed once per fit rather than on every step. */
  private trainStepOf(x: Tensor, y: Tensor, params: readonly Param[]): { loss: number; correct: number } {
    const { loss, grads, output } = this.lossAndGradientsOf(x, y, params);
    // 4. the update (skipped once the loss is no longer finite)
    if (Number.isFinite(loss)) (this.optimizer as Optimizer).apply(params, grads);
    return { loss, correct: this.metrics.length ? countCorrect(output, y) : 0 };
  }

  fit(x: Tensor, y: Tensor, opts: FitOptions = {}): History {
    this.requireCompiled("fit");
    requireTensor("fit", "x", x);
    requireTensor("fit", "y", y);
    if (opts.validationData) {
      requireTensor("fit", "validationData[0]", opts.validationData[0]);
      requireTensor("fit", "validationData[1]", opts.validationData[1]);
    }
    this.checkInput(x, "fit");
    if (x.shape[0] !== y.shape[0]) throw new Error(`fit: x has ${x.shape[0]} samples but y has ${y.shape[0]}; they must match`);
    const epochs = opts.epochs ?? 1;
    const batchSize = opts.batchSize ?? 32;
    const split = opts.validationSplit ?? 0;
    if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`fit: epochs must be a non-negative integer, got ${epochs}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`fit: batchSize must be a positive integer, got ${batchSize}`);
    if (!(split >= 0 && split < 1)) throw new Error(`fit: validationSplit must be in [0, 1), got ${split}`);
    // once, before training: NaN in the data would otherwise surface as a "diverged" loss
    requireFinite("fit", "x", x);
    requireFinite("fit", "y", y);
    const log = opts.log ?? ((line: string) => console.log(line));
    const rng = opts.seed !== undefined ? new Rng(opts.seed) : this.rng.fork();

    // Keras: the validation set is the last fraction of the samples, before any shuffling.
    const n = x.shape[0];
    const nTrain = split > 0 ? Math.floor(n * (1 - split)) : n;
    const all = Array.from({ length: n }, (_, i) => i);
    const xTrain = nTrain === n ? x : takeRows(x, all.slice(0, nTrain));
    const yTrain = nTrain === n ? y : takeRows(y, all.slice(0, nTrain));
    let val = opts.validationData ?? null;
    if (split > 0) val = [takeRows(x, all.slice(nTrain)), takeRows(y, all.slice(nTrain))];
    if (nTrain === 0) throw new Error(`fit: no training samples left (n = ${n}, validationSplit = ${split})`);
    if (val) {
      this.checkInput(val[0], "fit (validation data)");
      if (val[0].shape[0] !== val[1].shape[0]) throw new Error(`fit: the validation data have ${val[0].shape[0]} inputs but ${val[1].shape[0]} targets; they must match`);
      if (val[0].shape[0] === 0) throw new Error(`fit: the validation data have 0 samples (n = ${n}, validationSplit = ${split}); expected at least one`);
    }
    // Checked once here, not on every step: the parameter list, the unshuffled order, one buffer per batch size.
    const params = this.trainableParams();
    const inOrder = Int32Array.from(all.slice(0, nTrain));
    const batches = new BatchBuffers(xTrain, yTrain);

    const history: History = { history: { loss: [] }, epoch: [], stopped: null };
    const h = history.history;
    for (const m of this.metrics) h[m] = [];
    if (val) {
      h.val_loss = [];
      for (const m of this.metrics) h[`val_${m}`] = [];
    }

    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = opts.shuffle === false ? inOrder : rng.permutation(nTrain);
      let lossSum = 0, correct = 0, seen = 0;
      const steps = Math.ceil(nTrain / batchSize);
      for (let step = 0; step < steps; step++) {
        const idx = order.subarray(step * batchSize, Math.min(nTrain, (step + 1) * batchSize));
        const r = this.trainStepOf(batches.x(idx), batches.y(idx), params);
        lossSum += r.loss * idx.length;
        correct += r.correct;
        seen += idx.length;
        let stop: string | null = null;
        if (!Number.isFinite(r.loss)) {
          const why = describeDivergence(divergenceFacts(params, this.optimizer!.learningRate, r.loss));
          stop = `the loss became ${r.loss} at epoch ${epoch + 1}, step ${step + 1} of ${steps}; training stopped (${why})`;
        } else {
          stop = opts.onBatchEnd?.(epoch + 1, step + 1, r.loss) || null;
        }
        if (stop !== null) {
          history.stopped = { epoch: epoch + 1, step: step + 1, message: stop };
          break;
        }
      }
      const logs: Record<string, number> = { loss: lossSum / seen };
      if (this.metrics.includes("accuracy")) logs.accuracy = correct / seen;
      if (val && !history.stopped) {
        const v = this.evaluateOf(val[0], val[1], 256, params);
        logs.val_loss = v.loss;
        if (v.accuracy !== undefined) logs.val_accuracy = v.accuracy;
      }
      for (const [k, v] of Object.entries(logs)) h[k].push(v);
      history.epoch.push(epoch);
      if (opts.verbose === 1) {
        log(`Epoch ${epoch + 1}/${epochs} - ${Object.entries(logs).map(([k, v]) => `${k}: ${kerasNumber(v)}`).join(" - ")}`);
      }
      opts.onEpochEnd?.(epoch, logs);
      if (history.stopped) {
        // Said whatever the verbosity, as Keras's TerminateOnNaN does (pass `log` to send it elsewhere).
        log(`fit stopped: ${history.stopped.message}`);
        break;
      }
    }
    return history;
  }

  /** The model's output σ(z) for every sample, computed in batches. */
  predict(x: Tensor, batchSize = 256): Tensor {
    requireTensor("predict", "x", x);
    requirePositiveInteger("predict", "batchSize", batchSize);
    this.checkInput(x, "predict");
    const n = x.shape[0];
    const outShape = this.outputShapes[this.outputShapes.length - 1];
    const rowSize = outShape.reduce((a, b) => a * b, 1);
    const out = new Tensor([n, ...outShape]);
    for (let s = 0; s < n; s += batchSize) {
      // a batch of rows is a view of x (no copy); the output is copied out, a fresh tensor the caller owns
      const yb = this.forwardAll(rowSlice(x, s, Math.min(n, s + batchSize)), false, false).out;
      out.data.set(yb.data, s * rowSize);
    }
    return out;
  }

  /** The loss (with regularisation) and the metrics on (x, y), without training. */
  evaluate(x: Tensor, y: Tensor, batchSize = 256): { loss: number; accuracy?: number } {
    const { loss } = this.requireCompiled("evaluate");
    requireTensor("evaluate", "x", x);
    requireTensor("evaluate", "y", y);
    requirePositiveInteger("evaluate", "batchSize", batchSize);
    this.checkInput(x, "evaluate");
    if (x.shape[0] !== y.shape[0]) throw new Error(`evaluate: x has ${x.shape[0]} samples but y has ${y.shape[0]}; they must match`);
    if (x.shape[0] === 0) throw new Error("evaluate: x and y have 0 samples; expected at least one (a loss over no samples is undefined)");
    return this.evaluateOf(x, y, batchSize, this.trainableParams());
  }

  /** evaluate on checked inputs (fit's validation after every epoch); `params` is trainableParams(). */
  private evaluateOf(x: Tensor, y: Tensor, batchSize: number, params: readonly Param[]): { loss: number; accuracy?: number } {
    const loss = this.loss as Loss;
    const n = x.shape[0];
    const fused = loss.fusedActivation !== undefined;
    const accuracy = this.metrics.includes("accuracy");
    let lossSum = 0, correct = 0;
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      // a batch of rows is a view of x and y (no copy)
      const xb = rowSlice(x, s, e), yb = rowSlice(y, s, e);
      let out = this.forwardAll(xb, false, fused).out;
      lossSum += loss.forward(out, yb).loss * (e - s);
      if (!accuracy) continue;
      if (fused) out = activationForward(loss.fusedActivation!, out).out;
      correct += countCorrect(out, yb);
    }
    const result: { loss: number; accuracy?: number } = { loss: lossSum / n + penaltyOf(params) };
    if (accuracy) result.accuracy = correct / n;
    return result;
  }

  /** A Keras-style table: layer (type), output shape, parameter count, and the totals. */
  summary(): string {
    this.build();
    const w = [34, 26, 12];
    const line = (c: string) => c.repeat(w[0] + w[1] + w[2]);
    const row = (a: string, b: string, c: string) => ` ${a.padEnd(w[0] - 1)}${b.padEnd(w[1])}${c.padEnd(w[2])}`.trimEnd();
    const rows = [`Model: "${this.name}"`, line("_"), row("Layer (type)", "Output Shape", "Param #"), line("=")];
    this.layers.forEach((l, i) => {
      if (i > 0) rows.push("");
      rows.push(row(`${l.name} (${l.className})`, `(None, ${this.outputShapes[i].join(", ")})`, countParams(l).toLocaleString("en-US")));
    });
    const total = this.countParams().toLocaleString("en-US");
    rows.push(line("="), `Total params: ${total}`, `Trainable params: ${total}`, "Non-trainable params: 0", line("_"));
    return rows.join("\n");
  }

  /** Every layer's weights as copies, in Keras's order and layouts (per layer: kernel, recurrent_kernel, bias). */
  getWeights(): Tensor[] {
    return this.trainableParams().map((p) => new Tensor(p.value.shape, p.value.data.slice()));
  }

  /** Replaces every weight by a copy of `weights[i]`; the count and every shape must match getWeights(). */
  setWeights(weights: readonly Tensor[]): void {
    const params = this.trainableParams();
    const owner = this.layers.flatMap((l) => l.params().map((p) => `${l.name}/${p.name}`));
    if (weights.length !== params.length) {
      throw new Error(`setWeights: got ${weights.length} arrays, the model has ${params.length} (${owner.join(", ")})`);
    }
    params.forEach((p, i) => {
      const w = weights[i];
      if (!(w instanceof Tensor) || w.rank !== p.value.rank || w.shape.some((d, j) => d !== p.value.shape[j])) {
        throw new Error(`setWeights: array ${i + 1} (${owner[i]}) has shape ${w instanceof Tensor ? shapeStr(w.shape) : typeof w}, expected ${shapeStr(p.value.shape)}`);
      }
    });
    params.forEach((p, i) => p.value.data.set(weights[i].data));
  }

  private weightedLayers(): WeightedLayer[] {
    this.build();
    return this.layers.map((l) => ({ name: l.name, className: l.className, weights: l.params().map((p) => ({ name: p.name, value: p.value })) }));
  }

  /** Writes every weight to a JSON file, exactly (lib/weights-file.ts). */
  saveWeights(path: string): void {
    writeWeightsFile(path, this.name, this.weightedLayers());
  }

  /** Reads weights written by saveWeights into this model; a file of another architecture fails naming the first layer that differs. */
  loadWeights(path: string): void {
    this.setWeights(readWeightsFile(path, this.weightedLayers()));
  }
}

/**
 * fit's batches: the rows idx of x and y gathered into buffers kept from one
 * step to the next (a batch of another size, such as the last one, gets its own).
 * A batch is used only inside its trainStep, so the next step may overwrite it.
 */
class BatchBuffers {
  private readonly xs = new Map<number, Tensor>();
  private readonly ys = new Map<number, Tensor>();
  constructor(private readonly xAll: Tensor, private readonly yAll: Tensor) {}
  x(idx: Int32Array): Tensor {
    return gatherRows(this.xAll, idx, this.xs);
  }
  y(idx: Int32Array): Tensor {
    return gatherRows(this.yAll, idx, this.ys);
  }
}

/** takeRows(x, idx) into a buffer reused per batch size. */
function gatherRows(x: Tensor, idx: Int32Array, buffers: Map<number, Tensor>): Tensor {
  let out = buffers.get(idx.length);
  if (!out) buffers.set(idx.length, (out = new Tensor([idx.length, ...x.shape.slice(1)])));
  return takeRows(x, idx, out);
}

/** A logged value as Keras's progress bar prints it: 4 decimals, or exponent form with 4 decimals below 1e-3. */
export function kerasNumber(v: number): string {
  return Math.abs(v) > 1e-3 ? v.toFixed(4) : v.toExponential(4);
}

/** How many rows of yPred have their largest entry where yTrue has its largest entry (categorical accuracy). */
export function countCorrect(yPred: Tensor, yTrue: Tensor): number {
  const K = yPred.shape[yPred.rank - 1];
  const p = argmaxRows(yPred.reshape([yPred.size / K, K]));
  const t = argmaxRows(yTrue.reshape([yTrue.size / K, K]));
  let c = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === t[i]) c++;
  return c;
}

