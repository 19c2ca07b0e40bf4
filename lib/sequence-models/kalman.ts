/**
 * A linear dynamical system (LDS) and the Kalman filter.
 *
 * The hidden state has its own noisy linear dynamics and emits noisy outputs:
 *   h(t) = A h(t−1) + w(t),   w(t) ~ N(0, Q)        hidden state, n-dimensional
 *   y(t) = C h(t)   + v(t),   v(t) ~ N(0, R)        observation, m-dimensional
 *   h(1) ~ N(μ0, P0)
 *
 * We never know h(t); the Kalman filter gives its posterior given y(1..t),
 * the Gaussian N(μ(t|t), P(t|t)), by alternating
 *   predict:  μ(t|t−1) = A μ(t−1|t−1),        P(t|t−1) = A P(t−1|t−1) Aᵀ + Q
 *             (at t = 1: μ(1|0) = μ0, P(1|0) = P0)
 *   update:   S(t) = C P(t|t−1) Cᵀ + R         the variance of the innovation
 *             K(t) = P(t|t−1) Cᵀ S(t)⁻¹         the Kalman gain
 *             μ(t|t) = μ(t|t−1) + K(t) (y(t) − C μ(t|t−1))
 *             P(t|t) = (I − K(t) C) P(t|t−1)
 * The one-step-ahead prediction of the next observation is ŷ(t|t−1) = C μ(t|t−1)
 * with variance S(t); log p(y(1..T)) = Σ_t log N(y(t); ŷ(t|t−1), S(t)).
 *
 * The covariances P never look at y: the Riccati recursion above is the same
 * for every data set, and converges to one steady state (riccatiSteadyState).
 */
import { type Mat, matMul, matVec, matAdd, transposeMat, identity, cholesky, choleskySolve } from "../linalg.ts";
import type { Rng } from "../random.ts";

export interface Lds {
  /** (n, n) */
  A: Mat;
  /** (m, n) */
  C: Mat;
  /** (n, n) process noise covariance */
  Q: Mat;
  /** (m, m) observation noise covariance */
  R: Mat;
  /** (n) the mean of h(1) */
  mu0: number[];
  /** (n, n) the covariance of h(1) */
  P0: Mat;
}

function shapeOf(M: Mat): string {
  return `(${M.length}, ${M[0]?.length ?? 0})`;
}

function isShape(M: Mat, r: number, c: number): boolean {
  return Array.isArray(M) && M.length === r && M.every((row) => Array.isArray(row) && row.length === c);
}

/** Checks every matrix's shape against A (n × n) and C (m × n); throws naming the first mismatch. */
export function checkLds(lds: Lds): { n: number; m: number } {
  const n = lds.A.length;
  if (n === 0 || !isShape(lds.A, n, n)) throw new Error(`Kalman: A must be a square (n, n) matrix, got ${shapeOf(lds.A)}`);
  const m = lds.C.length;
  if (m === 0 || !isShape(lds.C, m, n)) throw new Error(`Kalman: C is ${shapeOf(lds.C)}, expected (m, ${n}): one column per hidden dimension of A ${shapeOf(lds.A)}`);
  if (!isShape(lds.Q, n, n)) throw new Error(`Kalman: Q is ${shapeOf(lds.Q)}, expected (${n}, ${n}) like A`);
  if (!isShape(lds.R, m, m)) throw new Error(`Kalman: R is ${shapeOf(lds.R)}, expected (${m}, ${m}): one row and column per observation dimension of C ${shapeOf(lds.C)}`);
  if (lds.mu0.length !== n) throw new Error(`Kalman: μ0 has ${lds.mu0.length} entries, expected ${n} like A`);
  if (!isShape(lds.P0, n, n)) throw new Error(`Kalman: P0 is ${shapeOf(lds.P0)}, expected (${n}, ${n}) like A`);
  for (const [name, M] of [["A", lds.A], ["C", lds.C], ["Q", lds.Q], ["R", lds.R], ["P0", lds.P0]] as const) {
    if (M.some((row) => row.some((v) => !Number.isFinite(v)))) throw new Error(`Kalman: ${name} has a non-finite entry`);
  }
  return { n, m };
}

/** Draws h(1..T) and y(1..T) from the model. */
export function sampleLds(lds: Lds, T: number, rng: Rng): { h: number[][]; y: number[][] } {
  const { n, m } = checkLds(lds);
  const gauss = (L: Mat, k: number) => matVec(L, Array.from({ length: k }, () => rng.normal()));
  const LQ = cholesky(lds.Q), LR = cholesky(lds.R), LP = cholesky(lds.P0);
  const h: number[][] = [], y: number[][] = [];
  let ht = matAdd([lds.mu0], [gauss(LP, n)])[0];
  for (let t = 0; t < T; t++) {
    if (t > 0) ht = matAdd([matVec(lds.A, ht)], [gauss(LQ, n)])[0];
    h.push(ht);
    y.push(matAdd([matVec(lds.C, ht)], [gauss(LR, m)])[0]);
  }
  return { h, y };
}

export interface KalmanResult {
  /** μ(t|t), (T, n): the filtered mean. */
  mean: number[][];
  /** P(t|t), (T, n, n): the filtered covariance. */
  cov: Mat[];
  /** μ(t|t−1), (T, n) and P(t|t−1): the prior before y(t). */
  predMean: number[][];
  predCov: Mat[];
  /** ŷ(t|t−1) = C μ(t|t−1), (T, m): the one-step-ahead prediction of y(t). */
  yPred: number[][];
  /** S(t), (T, m, m): its variance. */
  yPredCov: Mat[];
  /** log p(y(1..T)). */
  logLik: number;
}

/**
 * The covariance half of one update, from the prior P = P(t|t−1) (it never reads y):
 *   S = C P Cᵀ + R, factorised once as S = L Lᵀ (Cholesky),
 *   K = P Cᵀ S⁻¹ = (S⁻¹ C P)ᵀ, S and P being symmetric,
 *   P(t|t) = (I − K C) P, symmetrised against rounding.
 */
function covarianceUpdate(P: Mat, C: Mat, Ct: Mat, R: Mat): { S: Mat; L: Mat; K: Mat; Pu: Mat } {
  const PCt = matMul(P, Ct);
  const S = matAdd(matMul(C, PCt), R);
  const L = cholesky(S);
  const K = transposeMat(choleskySolve(L, transposeMat(PCt)));
  const IKCP = matMul(matAdd(identity(P.length), matMul(K, C), -1), P);
  const Pu = IKCP.map((row, i) => row.map((v, j) => 0.5 * (v + IKCP[j][i])));
  return { S, L, K, Pu };
}

/** The Kalman filter over observations y(1..T), each of m values. */
export function kalmanFilter(lds: Lds, ys: readonly (readonly number[])[]): KalmanResult {
  const { m } = checkLds(lds);
  const { A, C, Q, R } = lds;
  const At = transposeMat(A), Ct = transposeMat(C);
  const out: KalmanResult = { mean: [], cov: [], predMean: [], predCov: [], yPred: [], yPredCov: [], logLik: 0 };
  let mu = lds.mu0.slice(), P = lds.P0.map((r) => r.slice());
  for (let t = 0; t < ys.length; t++) {
    const y = ys[t];
    if (y.length !== m) throw new Error(`Kalman: observation ${t + 1} has ${y.length} values, expected ${m} (the rows of C)`);
    // predict: μ(t|t−1) = A μ(t−1|t−1), P(t|t−1) = A P Aᵀ + Q
    if (t > 0) {
      mu = matVec(A, mu);
      P = matAdd(matMul(matMul(A, P), At), Q);
    }
    out.predMean.push(mu);
    out.predCov.push(P);
    // S = C P Cᵀ + R = L Lᵀ, K = P Cᵀ S⁻¹, P(t|t) = (I − K C) P; ŷ = C μ
    const { S, L, K, Pu } = covarianceUpdate(P, C, Ct, R);
    const yHat = matVec(C, mu);
    out.yPred.push(yHat);
    out.yPredCov.push(S);
    const e = y.map((v, i) => v - yHat[i]);
    // log N(y; ŷ, S) = −½ (m log 2π + log det S + eᵀ S⁻¹ e), log det S = 2 Σ log L_ii
    const Se = choleskySolve(L, e.map((v) => [v])).map((r) => r[0]);
    let logDet = 0;
    for (let i = 0; i < m; i++) logDet += 2 * Math.log(L[i][i]);
    out.logLik += -0.5 * (m * Math.log(2 * Math.PI) + logDet + e.reduce((s, v, i) => s + v * Se[i], 0));
    // μ(t|t) = μ + K e
    mu = matAdd([mu], [matVec(K, e)])[0];
    P = Pu;
    out.mean.push(mu);
    out.cov.push(P);
  }
  return out;
}

/**
 * Runs the covariance recursion alone (no data) from P0 until P(t|t) changes
 * by less than `tol` (max abs) between steps: the steady state P∞ = P(t|t)
 * and the prior covariance P(t+1|t) = A P∞ Aᵀ + Q.
 */
export function riccatiSteadyState(lds: Lds, tol = 1e-13, maxSteps = 100000): { filtered: Mat; predicted: Mat; steps: number } {
  checkLds(lds);
  const { A, C, Q, R } = lds;
  const At = transposeMat(A), Ct = transposeMat(C);
  let Ppred = lds.P0.map((r) => r.slice());
  let prev: Mat | null = null;
  for (let t = 1; t <= maxSteps; t++) {
    const P = covarianceUpdate(Ppred, C, Ct, R).Pu;
    if (prev && P.every((row, i) => row.every((v, j) => Math.abs(v - prev![i][j]) < tol))) {
      return { filtered: P, predicted: matAdd(matMul(matMul(A, P), At), Q), steps: t };
    }
    prev = P;
    Ppred = matAdd(matMul(matMul(A, P), At), Q);
  }
  throw new Error(`Kalman: the covariance did not settle within ${maxSteps} steps (is the system unobservable and unstable?)`);
}
