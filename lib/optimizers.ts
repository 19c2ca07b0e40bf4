/**
 * Optimisers, one small class each, with Keras's defaults. `apply` updates
 * the parameters in place from their gradients; the optimiser's own state
 * (velocities, moment estimates) is keyed by the weight tensor itself, which
 * stays the same across steps (a layer builds fresh Param records on every
 * params() call).
 *
 * Optional clipping follows Keras's names: `clipvalue` clips every entry,
 * `globalClipnorm` rescales all gradients together (see clip.ts).
 */
import { Tensor, shapeStr } from "./matrix.ts";
import type { Param } from "./layer.ts";
import { clipByGlobalNorm, clipByValue } from "./clip.ts";

export interface Optimizer {
  readonly name: string;
  learningRate: number;
  apply(params: readonly Param[], grads: readonly Tensor[]): void;
}

export interface ClipOptions {
  clipvalue?: number;
  globalClipnorm?: number;
}

function checkedGrads(who: string, params: readonly Param[], grads: readonly Tensor[], clip: ClipOptions): readonly Tensor[] {
  if (params.length !== grads.length) throw new Error(`${who}: ${params.length} parameters but ${grads.length} gradients`);
  params.forEach((p, i) => {
    const g = grads[i];
    if (g.rank !== p.value.rank || g.shape.some((d, j) => d !== p.value.shape[j])) {
      throw new Error(`${who}: parameter '${p.name}' has shape ${shapeStr(p.value.shape)} but its gradient has shape ${shapeStr(grads[i].shape)}`);
    }
  });
  let g = grads;
  if (clip.clipvalue !== undefined) g = clipByValue(g, clip.clipvalue);
  if (clip.globalClipnorm !== undefined) g = clipByGlobalNorm(g, clip.globalClipnorm).grads;
  return g;
}

function checkRate(who: string, lr: number): number {
  if (typeof lr !== "number" || !(lr >= 0) || !Number.isFinite(lr)) throw new Error(`${who}: learning rate must be a finite number ≥ 0, got ${lr}`);
  return lr;
}

/** A hyperparameter in [lo, hi) (or [lo, hi] with `closed`), checked at construction. */
function checkIn(who: string, name: string, v: number, lo: number, hi: number, closed = false): number {
  const ok = typeof v === "number" && v >= lo && (closed ? v <= hi : v < hi);
  if (!ok) throw new Error(`${who}: ${name} must be in [${lo}, ${hi}${closed ? "]" : ")"}, got ${v}`);
  return v;
}

function checkPositive(who: string, name: string, v: number): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new Error(`${who}: ${name} must be a finite number > 0, got ${v}`);
  return v;
}

function checkClip(who: string, clip: ClipOptions): ClipOptions {
  if (clip.clipvalue !== undefined) checkPositive(who, "clipvalue", clip.clipvalue);
  if (clip.globalClipnorm !== undefined) checkPositive(who, "globalClipnorm", clip.globalClipnorm);
  return { clipvalue: clip.clipvalue, globalClipnorm: clip.globalClipnorm };
}

/** Keras's SGD: lr 0.01, momentum 0, nesterov false. */
export class SGD implements Optimizer {
  readonly name = "SGD";
  private lr!: number;
  /** η; setting it later is checked like the constructor's value. */
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(v: number) {
    this.lr = checkRate("SGD", v);
  }
  readonly nesterov: boolean;
  private mu = 0;
  private readonly clip: ClipOptions;
  private readonly velocity = new WeakMap<Tensor, Float64Array>();

  constructor(opts: { learningRate?: number; momentum?: number; nesterov?: boolean } & ClipOptions = {}) {
    this.learningRate = opts.learningRate ?? 0.01;
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (typeof this.nesterov !== "boolean") throw new Error(`SGD: nesterov must be true or false, got ${this.nesterov}`);
    this.clip = checkClip("SGD", opts);
  }

  get momentum(): number {
    return this.mu;
  }

  /** μ may change between updates (a momentum schedule); it must stay in [0, 1]. */
  set momentum(mu: number) {
    this.mu = checkIn("SGD", "momentum", mu, 0, 1, true);
  }

  apply(params: readonly Param[], grads: readonly Tensor[]): void {
    const gs = checkedGrads("SGD", params, grads, this.clip);
    const lr = this.learningRate, mu = this.momentum;
    params.forEach((p, k) => {
      const w = p.value.data, g = gs[k].data;
      if (mu === 0) {
        // w ← w − η g
        for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
        return;
      }
      let v = this.velocity.get(p.value);
      if (!v) this.velocity.set(p.value, (v = new Float64Array(w.length)));
      for (let i = 0; i < w.length; i++) {
        // v ← μ v − η g;  w ← w + v  (Nesterov: w ← w + μ v − η g)
        v[i] = mu * v[i] - lr * g[i];
        w[i] += this.nesterov ? mu * v[i] - lr * g[i] : v[i];
      }
    });
  }
}

/** Keras's RMSprop: lr 1e-3, ρ 0.9, ε 1e-7. */
export class RMSprop implements Optimizer {
  readonly name = "RMSprop";
  private lr!: number;
  /** η; setting it later is checked like the constructor's value. */
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(v: number) {
    this.lr = checkRate("RMSprop", v);
  }
  readonly rho: number;
  readonly epsilon: number;
  private readonly clip: ClipOptions;
  private readonly meanSquare = new WeakMap<Tensor, Float64Array>();

  constructor(opts: { learningRate?: number; rho?: number; epsilon?: number } & ClipOptions = {}) {
    this.learningRate = opts.learningRate ?? 1e-3;
    this.rho = checkIn("RMSprop", "rho", opts.rho ?? 0.9, 0, 1);
    this.epsilon = checkPositive("RMSprop", "epsilon", opts.epsilon ?? 1e-7);
    this.clip = checkClip("RMSprop", opts);
  }

  apply(params: readonly Param[], grads: readonly Tensor[]): void {
    const gs = checkedGrads("RMSprop", params, grads, this.clip);
    const { learningRate: lr, rho, epsilon: eps } = this;
    for (let k = 0; k < params.length; k++) {
      const w = params[k].value.data;
      let v = this.meanSquare.get(params[k].value);
      if (!v) this.meanSquare.set(params[k].value, (v = new Float64Array(w.length)));
      rmspropUpdate(w, gs[k].data, v, lr, rho, 1 - rho, eps);
    }
  }
}

/** One RMSprop step on one weight array, in place: v ← ρ v + (1 − ρ) g²;  w ← w − η g / (√v + ε). `oneMinusRho` = 1 − ρ. */
function rmspropUpdate(w: Float64Array, g: Float64Array, v: Float64Array, lr: number, rho: number, oneMinusRho: number, eps: number): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const vi = rho * v[i] + oneMinusRho * gi * gi;
    v[i] = vi;
    w[i] -= (lr * gi) / (Math.sqrt(vi) + eps);
  }
}

/** Keras's Adam: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7. */
export class Adam implements Optimizer {
  readonly name = "Adam";
  private lr!: number;
  /** η; setting it later is checked like the constructor's value. */
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(v: number) {
    this.lr = checkRate("Adam", v);
  }
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** The number of updates made so far (t in the bias corrections). */
  iterations = 0;
  private readonly clip: ClipOptions;
  private readonly moments = new WeakMap<Tensor, { m: Float64Array; v: Float64Array }>();

  constructor(opts: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number } & ClipOptions = {}) {
    this.learningRate = opts.learningRate ?? 1e-3;
    this.beta1 = checkIn("Adam", "beta1", opts.beta1 ?? 0.9, 0, 1);
    this.beta2 = checkIn("Adam", "beta2", opts.beta2 ?? 0.999, 0, 1);
    this.epsilon = checkPositive("Adam", "epsilon", opts.epsilon ?? 1e-7);
    this.clip = checkClip("Adam", opts);
  }

  apply(params: readonly Param[], grads: readonly Tensor[]): void {
    const gs = checkedGrads("Adam", params, grads, this.clip);
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const t = ++this.iterations;
    // α_t = η √(1 − β2^t) / (1 − β1^t): the bias corrections, once per step
    const alpha = (this.learningRate * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    for (let k = 0; k < params.length; k++) {
      const w = params[k].value.data;
      let s = this.moments.get(params[k].value);
      if (!s) this.moments.set(params[k].value, (s = { m: new Float64Array(w.length), v: new Float64Array(w.length) }));
      adamUpdate(w, gs[k].data, s.m, s.v, b1, b2, 1 - b1, 1 - b2, alpha, eps);
    }
  }
}

/**
 * One Adam step on one weight array, in place, in a single pass that reads
 * g, m, v and w once each and allocates nothing:
 *   m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;  w ← w − α_t m / (√v + ε)
 * (Keras's placement of ε: outside the square root, after the bias correction
 * folded into α_t). `oneMinusB1`, `oneMinusB2` are 1 − β1, 1 − β2.
 */
function adamUpdate(w: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, b1: number, b2: number, oneMinusB1: number, oneMinusB2: number, alpha: number, eps: number): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = b1 * m[i] + oneMinusB1 * gi;
    const vi = b2 * v[i] + oneMinusB2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (alpha * mi) / (Math.sqrt(vi) + eps);
  }
}
