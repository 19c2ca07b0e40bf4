/**
 * Lyapunov exponents of a recurrent network's dynamics h(t) = F(h(t−1), x(t)).
 *
 * Two nearby states drift apart, or together, as δ(t) ≈ ∂h(t)/∂h(k) δ(k): the same
 * Jacobian products Π_{i=k+1..t} ∂h(i)/∂h(i−1) that decide whether BPTT's gradients
 * vanish or explode. The largest Lyapunov exponent is their growth rate,
 *   λ_max = lim_{T→∞} (1/T) log ‖∂h(T)/∂h(0)‖,
 * λ_max < 0: nearby trajectories converge (a point attractor); λ_max > 0: they separate
 * exponentially (chaos).
 *
 * `largestLyapunov` reads the product through the backward pass itself: carrying a vector
 * v back through the cells' backward steps gives vᵀ ∂h(T)/∂h(k), exactly as bpttBackward
 * carries dhNext. The product's norm over- or underflows after a few hundred steps, so v is
 * renormalised every step and the logarithms of the norms are added (the tangent-space
 * method of Benettin et al.; a row vector grows at the same rate as a column vector,
 * since both are bounded by the product's largest singular value).
 *
 * `largestLyapunovNaive` is the reference: the explicit Jacobians of bptt.ts's
 * stepJacobians, applied forward in time to a tangent vector, δ(t) = J(t) δ(t−1).
 */
import { Tensor, matmul } from "./matrix.ts";
import { Rng } from "./random.ts";
import { type Cell, type CellParams, type CellState, type InitialState, bpttForward, stepJacobians, zerosLikeParams } from "./bptt.ts";

export interface LyapunovOptions {
  /**
   * Steps at the start of the trajectory that are not counted: the state first settles
   * onto its attractor (default 0).
   */
  discard?: number;
  /** Steps the tangent vector is given to line up with the fastest-growing direction before it is counted (default 0). */
  align?: number;
  /** Seed of the random initial tangent vector (default 1). */
  seed?: number;
}

export interface LyapunovResult {
  /** λ_max: the mean of log growth over the counted steps, per step. */
  exponent: number;
  /** log(‖v after step t‖ / ‖v before it‖) for t = 1..T (all steps, counted or not). */
  logGrowth: number[];
  /** The number of steps averaged. */
  counted: number;
}

function checkCounts(T: number, discard: number, align: number, who: string): void {
  for (const [name, v] of [["discard", discard], ["align", align]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${who}: ${name} must be a non-negative whole number of steps, got ${v}`);
  }
  if (discard + align >= T) throw new Error(`${who}: the sequence has ${T} steps, but discard (${discard}) + align (${align}) leaves none to count`);
}

function unitVector(n: number, rng: Rng): Float64Array {
  const v = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) s += (v[i] = rng.normal()) ** 2;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < n; i++) v[i] *= inv;
  return v;
}

/** ‖(h, c)‖, and both scaled to unit joint norm in place. */
function normalise(s: CellState): number {
  let sq = 0;
  for (const t of [s.h, s.c]) if (t) for (const v of t.data) sq += v * v;
  const n = Math.sqrt(sq);
  if (n > 0) for (const t of [s.h, s.c]) if (t) for (let i = 0; i < t.size; i++) t.data[i] /= n;
  return n;
}

/**
 * λ_max along the trajectory of one sequence x (1, T, F) from the initial state `init`,
 * by the backward pass carrying a unit vector v from t = T back to t = 1:
 *   v ← vᵀ ∂h(t)/∂h(t−1),  log growth(t) = log ‖v‖,  v ← v / ‖v‖.
 * The first `align` steps of this reverse loop (t near T) line v up and are not counted,
 * nor are the first `discard` steps of the trajectory.
 */
export function largestLyapunov<P extends CellParams, C>(cell: Cell<P, C>, params: P, x: Tensor, init: InitialState = {}, opts: LyapunovOptions = {}): LyapunovResult {
  const { discard = 0, align = 0, seed = 1 } = opts;
  const { units: u } = cell.dims(params);
  if (x.rank !== 3 || x.shape[0] !== 1) throw new Error(`largestLyapunov: expects one sequence x (1, T, F), got shape (${x.shape.join(", ")})`);
  const T = x.shape[1];
  checkCounts(T, discard, align, "largestLyapunov");
  const fwd = bpttForward(cell, params, x, init);
  const rng = new Rng(seed);
  const m = cell.hasCellState ? 2 * u : u;
  const v0 = unitVector(m, rng);
  let v: CellState = { h: new Tensor([1, u], v0.slice(0, u)) };
  if (cell.hasCellState) v.c = new Tensor([1, u], v0.slice(u));
  const scratch = zerosLikeParams(params); // the weight gradients the backward step adds are not needed
  const logGrowth = new Array<number>(T).fill(0);
  for (let t = T - 1; t >= 0; t--) {
    // vᵀ ∂h(t)/∂h(t−1): one backward step with ∂L/∂h(t) = v
    const { dPrev } = cell.stepBackward(v, fwd.stack[t], scratch, true);
    if (!dPrev) throw new Error(`largestLyapunov: ${cell.kind}'s backward step returned no ∂L/∂h(t−1)`);
    v = { h: dPrev.h.clone(), c: dPrev.c?.clone() };
    logGrowth[t] = Math.log(normalise(v));
  }
  // counted: t = discard+1 .. T−align (array indices discard .. T−align−1)
  let sum = 0;
  for (let t = discard; t < T - align; t++) sum += logGrowth[t];
  const counted = T - align - discard;
  return { exponent: sum / counted, logGrowth, counted };
}

/**
 * The reference: tangent dynamics forward in time with the explicit step Jacobians,
 * δ(t) = J(t) δ(t−1), J(t) = ∂h(t)/∂h(t−1) from stepJacobians, renormalised every step.
 * Steps 1..discard+align are not counted. Costs u backward steps per time step.
 */
export function largestLyapunovNaive<P extends CellParams, C>(cell: Cell<P, C>, params: P, x: Tensor, init: InitialState = {}, opts: LyapunovOptions = {}): LyapunovResult {
  const { discard = 0, align = 0, seed = 1 } = opts;
  const T = x.shape[1];
  checkCounts(T, discard, align, "largestLyapunovNaive");
  const fwd = bpttForward(cell, params, x, init);
  const Js = stepJacobians(cell, params, x, fwd);
  const m = Js[0].shape[0];
  let d = new Tensor([m, 1], unitVector(m, new Rng(seed)));
  const logGrowth: number[] = [];
  for (let t = 0; t < T; t++) {
    d = matmul(Js[t], d);
    logGrowth.push(Math.log(normalise({ h: d })));
  }
  let sum = 0;
  for (let t = discard + align; t < T; t++) sum += logGrowth[t];
  return { exponent: sum / (T - discard - align), logGrowth, counted: T - discard - align };
}

/**
 * The distance ‖h'(t) − h(t)‖ for t = 0..T between the trajectory from h0 (u,) and the
 * one from h0 + δ·e, e a random unit vector: the separation of nearby starts. x: (1, T, F).
 */
export function trajectorySeparation<P extends CellParams, C>(cell: Cell<P, C>, params: P, x: Tensor, h0: Tensor, delta: number, seed = 1): number[] {
  const { units: u } = cell.dims(params);
  if (h0.size !== u) throw new Error(`trajectorySeparation: h0 has ${h0.size} entries, the cell has ${u} units`);
  if (!(delta > 0)) throw new Error(`trajectorySeparation: delta must be positive, got ${delta}`);
  const e = unitVector(u, new Rng(seed));
  const h0b = new Tensor([u], h0.data.map((v, i) => v + delta * e[i]));
  const a = bpttForward(cell, params, x, { h0: h0.reshape([u]) }).hs.data;
  const b = bpttForward(cell, params, x, { h0: h0b }).hs.data;
  const T = x.shape[1];
  const out = [delta];
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let j = 0; j < u; j++) s += (a[t * u + j] - b[t * u + j]) ** 2;
    out.push(Math.sqrt(s));
  }
  return out;
}
