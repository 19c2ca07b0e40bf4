/**
 * Hessian-free optimisation (Martens 2010; Martens & Sutskever 2011), the
 * lecture's second way to learn an RNN: an optimiser that can find directions
 * with a tiny gradient but even smaller curvature, where gradient descent stalls.
 *
 * The network is a SimpleRNN (tanh) with a linear readout of its last state:
 *   z_h(t) = W_hx x(t) + W_hh h(t−1) + b_h,  h(t) = tanh(z_h(t)),  y = W_yh h(T) + b_y,
 *   L(θ) = (1/2N) Σ_n ‖y_n − t_n‖².
 *
 * Truncated Newton. At θ, each outer step minimises a damped local quadratic model
 *   q(p) = ∇Lᵀp + ½ pᵀ(G + λI)p
 * by conjugate gradient (CG), stopped early. G is the Gauss–Newton matrix
 *   G = Jᵀ H_L J,  J = ∂y/∂θ,  H_L = ∂²L/∂y² = I/N,
 * which is positive semi-definite. G is never formed: CG only needs products G·v,
 *   1. J·v by the R-operator: R{·} = ∂(·)/∂θ in the direction v, pushed forward
 *      through the time loop beside the ordinary forward pass,
 *        R{z_h(t)} = V_hx x(t) + V_hh h(t−1) + W_hh R{h(t−1)} + v_bh,
 *        R{h(t)}   = (1 − h(t)²) ⊙ R{z_h(t)},
 *        R{y}      = W_yh R{h(T)} + V_yh h(T) + v_by;
 *   2. H_L (J v) = R{y}/N;
 *   3. Jᵀ(·) by the ordinary BPTT backward pass (bpttBackward) with ∂L/∂y := H_L J v.
 *
 * Levenberg–Marquardt damping. After a step p, the reduction ratio
 *   ϱ = (L(θ + p) − L(θ)) / q(p)
 * compares the real change with the model's: ϱ > 3/4 → λ ← (2/3)λ; ϱ < 1/4 → λ ← (3/2)λ.
 * CG is warm-started from ζ times the previous step. Martens's backtracking: CG's
 * iterates p_i are kept at i = ⌈1.3^j⌉; starting from the last, we step back to
 * earlier iterates while the loss keeps falling, and take the best. A step that does
 * not lower the loss is shortened (α = 0.8^k) and, if nothing helps, rejected.
 *
 * Structural damping (Martens & Sutskever 2011), optional: the hidden states are
 * also kept from moving much, by adding μλ·D to the model, with
 * D(θ) = (1/2N) Σ_t ‖h(t; θ) − h(t; θ_k)‖²; its Gauss–Newton matrix J_hᵀJ_h/N enters
 * the product through R{h(t)} fed into the same backward pass as ∂L/∂h(t).
 *
 * Shapes: x (N, T, F), t (N, K), h(t) (N, u). Parameter vectors are flat
 * Float64Arrays in the order Whx, Whh, bh, Wy, by.
 */
import { Tensor, matmul, matmulAtB, matmulABt, colSums, shapeStr, timeStep } from "./matrix.ts";
import { bpttForward, bpttBackward, type BpttForward } from "./bptt.ts";
import { type RnnParams, type RnnStepCache, simpleRnnCell } from "./rnn.ts";

/** The network: SimpleRNN weights in rnn.ts's row layout (Whx (F, u), Whh (u, u), bh (u)) and the readout Wy (u, K), by (K). */
export interface RnnNet {
  Whx: Tensor;
  Whh: Tensor;
  bh: Tensor;
  Wy: Tensor;
  by: Tensor;
}

export const NET_KEYS = ["Whx", "Whh", "bh", "Wy", "by"] as const;

const cell = simpleRnnCell("tanh");

/** The number of parameters. */
export function netSize(net: RnnNet): number {
  return NET_KEYS.reduce((s, k) => s + net[k].size, 0);
}

/** θ as one flat vector. */
export function netToVector(net: RnnNet): Float64Array {
  const v = new Float64Array(netSize(net));
  let o = 0;
  for (const k of NET_KEYS) {
    v.set(net[k].data, o);
    o += net[k].size;
  }
  return v;
}

/** A flat vector as tensors shaped like `like`'s (views into v, no copy). */
export function vectorToNet(v: Float64Array, like: RnnNet): RnnNet {
  if (v.length !== netSize(like)) throw new Error(`vectorToNet: the vector has ${v.length} entries, the network ${netSize(like)}`);
  const out: Partial<RnnNet> = {};
  let o = 0;
  for (const k of NET_KEYS) {
    const n = like[k].size;
    out[k] = new Tensor(like[k].shape, v.subarray(o, o + n));
    o += n;
  }
  return out as RnnNet;
}

/** θ ← θ + α p, in place. */
export function addToNet(net: RnnNet, p: Float64Array, alpha = 1): void {
  let o = 0;
  for (const k of NET_KEYS) {
    const d = net[k].data;
    for (let i = 0; i < d.length; i++) d[i] += alpha * p[o + i];
    o += d.length;
  }
}

function rnnParams(net: RnnNet): RnnParams {
  return { Whx: net.Whx, Whh: net.Whh, bh: net.bh };
}

export interface NetForward {
  fwd: BpttForward<RnnStepCache>;
  /** y = h(T)·Wy + by: (N, K). */
  y: Tensor;
}

/** The forward pass: the SimpleRNN over x (N, T, F) from h(0) = 0, then the readout of h(T). */
export function netForward(net: RnnNet, x: Tensor): NetForward {
  const K = net.Wy.shape[1];
  if (net.Wy.shape[0] !== net.Whh.shape[0]) throw new Error(`netForward: readout Wy has shape ${shapeStr(net.Wy.shape)}, expected (${net.Whh.shape[0]}, K)`);
  if (net.by.size !== K) throw new Error(`netForward: readout bias by has ${net.by.size} entries, expected ${K}`);
  const fwd = bpttForward(cell, rnnParams(net), x);
  // y = W_yh h(T) + b_y
  const y = matmul(fwd.last.h, net.Wy);
  for (let n = 0; n < y.shape[0]; n++) for (let k = 0; k < K; k++) y.data[n * K + k] += net.by.data[k];
  return { fwd, y };
}

/** L = (1/2N) Σ ‖y − t‖². */
export function netLoss(y: Tensor, t: Tensor): number {
  if (y.size !== t.size) throw new Error(`netLoss: predictions ${shapeStr(y.shape)} and targets ${shapeStr(t.shape)} differ`);
  let s = 0;
  for (let i = 0; i < y.size; i++) s += (y.data[i] - t.data[i]) ** 2;
  return s / (2 * y.shape[0]);
}

/**
 * Jᵀ(dy) plus, optionally, J_hᵀ(dhs): the backward pass from ∂L/∂y (N, K) (and ∂L/∂h(t)
 * (N, T, u) at every step) to a flat gradient. Also returns ‖∂L/∂h(t)‖ for t = 1..T.
 */
export function netBackward(net: RnnNet, f: NetForward, dy: Tensor, dhs?: Tensor): { grad: Float64Array; dLdhNorms: number[] } {
  const hT = f.fwd.last.h;
  // ∂L/∂W_yh = h(T)ᵀ dy,  ∂L/∂b_y = Σ_n dy,  ∂L/∂h(T) = dy W_yhᵀ
  const dWy = matmulAtB(hT, dy);
  const dby = colSums(dy);
  const dhT = matmulABt(dy, net.Wy);
  const r = bpttBackward(cell, rnnParams(net), f.fwd, { dhT, dhs, initialStateGrad: false });
  const grad = new Float64Array(netSize(net));
  let o = 0;
  for (const g of [r.grads.Whx, r.grads.Whh, r.grads.bh, dWy, dby]) {
    grad.set(g.data, o);
    o += g.size;
  }
  return { grad, dLdhNorms: r.dLdhNorms };
}

/** The loss and its gradient ∇L (flat) at net on (x, t). */
export function netGradient(net: RnnNet, x: Tensor, t: Tensor): { loss: number; grad: Float64Array; y: Tensor; dLdhNorms: number[] } {
  const f = netForward(net, x);
  const N = f.y.shape[0];
  // ∂L/∂y = (y − t)/N
  const dy = new Tensor(f.y.shape);
  for (let i = 0; i < dy.size; i++) dy.data[i] = (f.y.data[i] - t.data[i]) / N;
  const { grad, dLdhNorms } = netBackward(net, f, dy);
  return { loss: netLoss(f.y, t), grad, y: f.y, dLdhNorms };
}

/** x(t) (N, F) and h(t) (N, u) for t = 1..T, cut out of x and the forward pass f once: they stay the same for every R-forward pass at f. */
export interface TimeSlices {
  x: Tensor[];
  h: Tensor[];
}

export function timeSlices(f: NetForward, x: Tensor): TimeSlices {
  const T = f.fwd.hs.shape[1];
  return { x: Array.from({ length: T }, (_, t) => timeStep(x, t)), h: Array.from({ length: T }, (_, t) => timeStep(f.fwd.hs, t)) };
}

/**
 * The R-operator: J·v, the directional derivative of the outputs in the direction v
 * (flat, like θ), pushed through the time loop beside the stored forward pass f.
 * Returns R{y} (N, K) and R{h(t)} for every step (N, T, u). CG calls it many times
 * at one f: pass `slices` (timeSlices(f, x)) to cut x(t) and h(t) out only once.
 */
export function rForward(net: RnnNet, f: NetForward, x: Tensor, v: Float64Array, slices: TimeSlices = timeSlices(f, x)): { Ry: Tensor; Rhs: Tensor } {
  const V = vectorToNet(v, net);
  const [N, T, u] = f.fwd.hs.shape;
  const hs = f.fwd.hs.data;
  const Rhs = new Tensor([N, T, u]);
  let Rh = new Tensor([N, u]);
  let hPrev = new Tensor([N, u]); // h(0) = 0
  for (let t = 0; t < T; t++) {
    // R{z_h(t)} = V_hx x(t) + V_hh h(t−1) + W_hh R{h(t−1)} + v_bh
    const Rz = matmul(slices.x[t], V.Whx);
    if (t > 0) {
      matmul(hPrev, V.Whh, Rz, true);
      matmul(Rh, net.Whh, Rz, true);
    }
    const h = slices.h[t];
    // R{h(t)} = (1 − h(t)²) ⊙ R{z_h(t)}
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < u; j++) {
        const k = n * u + j, hv = hs[(n * T + t) * u + j];
        Rz.data[k] = (1 - hv * hv) * (Rz.data[k] + V.bh.data[j]);
        Rhs.data[(n * T + t) * u + j] = Rz.data[k];
      }
    }
    Rh = Rz;
    hPrev = h;
  }
  // R{y} = W_yh R{h(T)} + V_yh h(T) + v_by
  const Ry = matmul(Rh, net.Wy);
  matmul(f.fwd.last.h, V.Wy, Ry, true);
  const K = Ry.shape[1];
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) Ry.data[n * K + k] += V.by.data[k];
  return { Ry, Rhs };
}

export interface CurvatureOptions {
  /** λ: Tikhonov damping, adds λ v (default 0). */
  damping?: number;
  /** μ: structural damping, adds μλ J_hᵀJ_h v / N (default 0). */
  structuralDamping?: number;
}

/**
 * (G + λI + μλ J_hᵀJ_h/N)·v for the Gauss–Newton matrix G = Jᵀ H_L J at the stored
 * forward pass f on x: J v by the R-operator, H_L = I/N, Jᵀ by BPTT. Never forms G.
 */
export function gaussNewtonProduct(net: RnnNet, f: NetForward, x: Tensor, v: Float64Array, opts: CurvatureOptions = {}, slices: TimeSlices = timeSlices(f, x)): Float64Array {
  const lambda = opts.damping ?? 0, mu = opts.structuralDamping ?? 0;
  const N = f.y.shape[0];
  const { Ry, Rhs } = rForward(net, f, x, v, slices);
  // H_L (J v) = R{y} / N
  for (let i = 0; i < Ry.size; i++) Ry.data[i] /= N;
  let dhs: Tensor | undefined;
  if (mu > 0 && lambda > 0) {
    // structural damping: μλ R{h(t)} / N at every step
    for (let i = 0; i < Rhs.size; i++) Rhs.data[i] *= (mu * lambda) / N;
    dhs = Rhs;
  }
  const Gv = netBackward(net, f, Ry, dhs).grad;
  if (lambda > 0) for (let i = 0; i < Gv.length; i++) Gv[i] += lambda * v[i];
  return Gv;
}

// ---------------------------------------------------------------- conjugate gradient

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface CgOptions {
  /** The iteration cap, ≥ 1. */
  maxIters: number;
  /** Stop when ‖r‖ ≤ tol·‖b‖ (default 1e-10). */
  tol?: number;
  /** Martens's stopping rule on the progress of φ (default true): stop when (φ_i − φ_{i−k})/φ_i < k·ε, k = max(10, 0.1 i), ε = 5e-4. */
  martensStop?: boolean;
  /** Iterations before the progress rule may stop CG (default 1). */
  minIters?: number;
}

export interface CgResult {
  /** The last iterate. */
  x: Float64Array;
  iterations: number;
  /** Iterates kept for backtracking, at i = ⌈1.3^j⌉ and the last, with φ(x_i) = ½xᵀAx − bᵀx. */
  iterates: { i: number; x: Float64Array; phi: number }[];
  /** φ after every iteration. */
  phis: number[];
}

/**
 * Conjugate gradient on A x = b, A symmetric positive-definite, given only v ↦ A v,
 * from x0: minimises φ(x) = ½ xᵀA x − bᵀx.
 *   r = b − A x,  d = r;  each iteration: α = rᵀr / dᵀAd,  x += α d,  r −= α Ad,
 *   β = r_newᵀr_new / rᵀr,  d = r + β d.
 */
export function conjugateGradient(Av: (v: Float64Array) => Float64Array, b: Float64Array, x0: Float64Array | null, opts: CgOptions): CgResult {
  const { maxIters, tol = 1e-10, martensStop = true, minIters = 1 } = opts;
  if (!Number.isInteger(maxIters) || maxIters < 1) throw new Error(`conjugateGradient: the CG iteration cap must be a whole number ≥ 1, got ${maxIters}`);
  const n = b.length;
  if (x0 && x0.length !== n) throw new Error(`conjugateGradient: x0 has ${x0.length} entries, b has ${n}`);
  const x = x0 ? x0.slice() : new Float64Array(n);
  const Ax = Av(x);
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = b[i] - Ax[i];
  const d = r.slice();
  let rr = dot(r, r);
  const bNorm = Math.sqrt(dot(b, b));
  // φ(x) = ½xᵀAx − bᵀx = −½ xᵀ(b + r)
  const phiOf = (): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * (b[i] + r[i]);
    return -0.5 * s;
  };
  const phis: number[] = [];
  const iterates: CgResult["iterates"] = [];
  let nextSave = 1, gammaPow = 1;
  let it = 0;
  while (it < maxIters && Math.sqrt(rr) > tol * bNorm) {
    const Ad = Av(d);
    const dAd = dot(d, Ad);
    if (!(dAd > 0)) break; // not positive definite along d (or a zero direction): stop here
    const alpha = rr / dAd;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * d[i];
      r[i] -= alpha * Ad[i];
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    for (let i = 0; i < n; i++) d[i] = r[i] + beta * d[i];
    rr = rrNew;
    it++;
    const phi = phiOf();
    phis.push(phi);
    if (it === nextSave) {
      iterates.push({ i: it, x: x.slice(), phi });
      while (nextSave <= it) nextSave = Math.ceil((gammaPow *= 1.3));
    }
    if (martensStop && it >= minIters) {
      const k = Math.max(10, Math.ceil(0.1 * it));
      if (it > k && phi < 0 && (phi - phis[it - 1 - k]) / phi < k * 5e-4) break;
    }
  }
  if (iterates.length === 0 || iterates[iterates.length - 1].i !== it) iterates.push({ i: it, x: x.slice(), phi: it > 0 ? phis[it - 1] : phiOf() });
  return { x, iterations: it, iterates, phis };
}

// ---------------------------------------------------------------- the optimiser

export interface HessianFreeOptions {
  /** CG's iteration cap per outer step (default 100), ≥ 1. */
  maxCgIters?: number;
  /** The initial Tikhonov damping λ (default 1). */
  initialDamping?: number;
  /** μ of structural damping (default 0: off). */
  structuralDamping?: number;
  /** CG starts from ζ times the previous step (default 0.95). */
  warmStart?: number;
}

export interface HfStepInfo {
  lossBefore: number;
  lossAfter: number;
  /** The reduction ratio ϱ of the step taken. */
  rho: number;
  /** λ after the update. */
  damping: number;
  cgIterations: number;
  /** The CG iterate chosen by backtracking. */
  chosenIterate: number;
  /** The line-search factor applied to it: 1, 0.8^k after shortening (k ≤ 8), or 0 when the step was rejected. */
  alpha: number;
}

/**
 * One HF optimiser: it keeps λ and the previous step between outer steps. Each
 * `step` takes the gradient on one batch and the curvature on another (usually
 * a smaller subset) and updates the network in place.
 */
export class HessianFree {
  damping: number;
  readonly maxCgIters: number;
  readonly structuralDamping: number;
  readonly warmStart: number;
  /** CG iterations over all steps so far. */
  cgIterationsTotal = 0;
  private prevStep: Float64Array | null = null;

  constructor(opts: HessianFreeOptions = {}) {
    this.maxCgIters = opts.maxCgIters ?? 100;
    this.damping = opts.initialDamping ?? 1;
    this.structuralDamping = opts.structuralDamping ?? 0;
    this.warmStart = opts.warmStart ?? 0.95;
    if (!Number.isInteger(this.maxCgIters) || this.maxCgIters < 1) throw new Error(`HessianFree: the CG iteration cap must be a whole number ≥ 1, got ${this.maxCgIters}`);
    if (!(this.damping > 0) || !Number.isFinite(this.damping)) throw new Error(`HessianFree: the initial damping λ must be a positive number, got ${this.damping}`);
    if (!(this.structuralDamping >= 0)) throw new Error(`HessianFree: structural damping μ must be ≥ 0, got ${this.structuralDamping}`);
    if (!(this.warmStart >= 0 && this.warmStart <= 1)) throw new Error(`HessianFree: the warm-start factor ζ must be in [0, 1], got ${this.warmStart}`);
  }

  step(net: RnnNet, grad: { x: Tensor; t: Tensor }, curv: { x: Tensor; t: Tensor }): HfStepInfo {
    const { loss: f0, grad: g } = netGradient(net, grad.x, grad.t);
    const fc = netForward(net, curv.x), slices = timeSlices(fc, curv.x);
    const lambda = this.damping;
    const A = (v: Float64Array): Float64Array => gaussNewtonProduct(net, fc, curv.x, v, { damping: lambda, structuralDamping: this.structuralDamping }, slices);
    const b = g.map((gi) => -gi);
    const x0 = this.prevStep ? this.prevStep.map((p) => this.warmStart * p) : null;
    const cg = conjugateGradient(A, b, x0, { maxIters: this.maxCgIters });
    this.cgIterationsTotal += cg.iterations;

    const lossAt = (p: Float64Array, alpha = 1): number => {
      addToNet(net, p, alpha);
      const l = netLoss(netForward(net, grad.x).y, grad.t);
      addToNet(net, p, -alpha);
      return l;
    };
    // Backtracking over CG's iterates: from the last, step back while the loss keeps falling.
    let best = cg.iterates.length - 1;
    let fBest = lossAt(cg.iterates[best].x);
    for (let j = best - 1; j >= 0; j--) {
      const fj = lossAt(cg.iterates[j].x);
      if (!(fj < fBest)) break;
      best = j;
      fBest = fj;
    }
    const p = cg.iterates[best].x;
    // ϱ = (L(θ + p) − L(θ)) / q(p), with q(p) = φ(p) the damped quadratic CG minimised
    const qp = cg.iterates[best].phi;
    const rho = qp < 0 ? (fBest - f0) / qp : -Infinity;
    if (rho > 0.75) this.damping *= 2 / 3;
    else if (rho < 0.25) this.damping *= 3 / 2;
    // A step that does not lower the loss is shortened, and rejected if that does not help.
    let alpha = 1, fNew = fBest;
    while (!(fNew < f0) && alpha > 0.8 ** 8) {
      alpha *= 0.8;
      fNew = lossAt(p, alpha);
    }
    if (!(fNew < f0)) {
      alpha = 0;
      fNew = f0;
    } else addToNet(net, p, alpha);
    this.prevStep = p;
    return { lossBefore: f0, lossAfter: fNew, rho, damping: this.damping, cgIterations: cg.iterations, chosenIterate: cg.iterates[best].i, alpha };
  }
}
