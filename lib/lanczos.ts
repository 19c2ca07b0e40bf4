/**
 * The spectral norm ‖A‖₂ = σ_max(A) by the Lanczos method on AᵀA.
 *
 * Power iteration (matrix.ts `spectralNorm`, the reference) converges like
 * (σ₂/σ₁)^(2i): slowly when the two largest singular values are close, as for a
 * product of Jacobians whose leading eigenvalues are a complex pair. Lanczos
 * keeps every vector it has made: after j steps it has the best estimate of σ₁²
 * in the Krylov space span{v, AᵀAv, …, (AᵀA)^(j−1) v}, the largest eigenvalue
 * θ_j of the small tridiagonal matrix T_j = Qᵀ(AᵀA)Q, and it is exact after at
 * most n steps. The vectors are reorthogonalised in full (twice), so rounding
 * does not bring back directions already found.
 *
 * A is first scaled by a power of two (exact in floating point) so that AᵀA
 * neither overflows nor underflows; σ is scaled back at the end.
 */
import { Tensor, shapeStr } from "./matrix.ts";

/** σ_max(A) for A (m, n); stops when θ_j changes by ≤ tol·θ_j, or the Krylov space is invariant. */
export function spectralNormLanczos(A: Tensor, tol = 1e-15): number {
  if (A.rank !== 2) throw new Error(`spectralNormLanczos: A must be a matrix, got shape ${shapeStr(A.shape)}`);
  const [m, n] = A.shape;
  if (A.size === 0) return 0;
  const a = A.data;
  let big = 0;
  for (let i = 0; i < a.length; i++) big = Math.max(big, Math.abs(a[i]));
  if (!Number.isFinite(big)) return big; // NaN or ∞ in A
  if (big === 0) return 0;
  // B = c·A with c = 2^(−e), so that B's largest entry is in [1, 2): exact
  const e = Math.floor(Math.log2(big));
  const c1 = 2 ** -Math.trunc(e / 2), c2 = 2 ** -(e - Math.trunc(e / 2));
  const B = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) B[i] = a[i] * c1 * c2;

  const Q = new Float64Array(n * n); // the Lanczos vectors q_1..q_j, one per row
  const alpha: number[] = [], beta: number[] = [];
  const y = new Float64Array(m), w = new Float64Array(n);
  // q_1: the same deterministic start as spectralNorm
  let s = 0;
  for (let k = 0; k < n; k++) s += (Q[k] = 1 + 0.1 * Math.sin(k + 1)) ** 2;
  s = Math.sqrt(s);
  for (let k = 0; k < n; k++) Q[k] /= s;
  let theta = 0;
  for (let j = 0; j < n; j++) {
    const qj = j * n; // q_j is Q[qj .. qj + n)
    // y = B q_j,  w = Bᵀ y = (BᵀB) q_j,  α_j = q_jᵀ BᵀB q_j = ‖y‖²
    let aj = 0;
    for (let i = 0; i < m; i++) {
      let t = 0;
      const r = i * n;
      for (let k = 0; k < n; k++) t += B[r + k] * Q[qj + k];
      y[i] = t;
      aj += t * t;
    }
    w.fill(0);
    for (let i = 0; i < m; i++) {
      const t = y[i], r = i * n;
      for (let k = 0; k < n; k++) w[k] += B[r + k] * t;
    }
    alpha.push(aj);
    // w ⊥ q_1..q_j: the three-term recurrence w −= α_j q_j + β_{j−1} q_{j−1}, made exact by full reorthogonalisation (twice)
    for (let pass = 0; pass < 2; pass++) {
      for (let qi = 0; qi <= qj; qi += n) {
        let d = 0;
        for (let k = 0; k < n; k++) d += Q[qi + k] * w[k];
        for (let k = 0; k < n; k++) w[k] -= d * Q[qi + k];
      }
    }
    let b = 0;
    for (let k = 0; k < n; k++) b += w[k] * w[k];
    b = Math.sqrt(b);
    const next = largestEigenvalue(alpha, beta, theta, tol);
    // converged, or the Krylov space holds an invariant subspace (then θ is exact), or it is the whole space
    const done = (j > 0 && next - theta <= tol * next) || b <= 1e-15 * Math.max(next, aj) || j === n - 1;
    theta = next;
    if (done) break;
    beta.push(b);
    for (let k = 0; k < n; k++) Q[qj + n + k] = w[k] / b;
  }
  return Math.sqrt(theta) / c1 / c2;
}

/**
 * The largest eigenvalue of the symmetric tridiagonal matrix with diagonal α and off-diagonal β, by
 * bisection on Sturm counts (the number of positive pivots of T − xI = LDLᵀ is the number of
 * eigenvalues above x). `atLeast` is a lower bound: the previous step's θ (the values interlace);
 * when no eigenvalue lies above atLeast·(1 + tol), atLeast itself is returned.
 */
export function largestEigenvalue(alpha: number[], beta: number[], atLeast: number, tol = 0): number {
  const j = alpha.length;
  const above = (x: number): number => {
    let d = 1, count = 0;
    for (let i = 0; i < j; i++) {
      d = alpha[i] - x - (i > 0 ? (beta[i - 1] * beta[i - 1]) / d : 0);
      if (d === 0) d = -1e-300;
      if (d > 0) count++;
    }
    return count;
  };
  // nothing above atLeast·(1 + tol): atLeast is the answer within tol (Lanczos has converged)
  if (atLeast > 0 && above(atLeast * (1 + tol)) === 0) return atLeast;
  // Gershgorin: every eigenvalue is ≤ max_i α_i + |β_{i−1}| + |β_i|
  let hi = -Infinity;
  for (let i = 0; i < j; i++) hi = Math.max(hi, alpha[i] + (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < j - 1 ? Math.abs(beta[i]) : 0));
  let lo = Math.min(atLeast, hi);
  while (hi - lo > 2e-16 * hi) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (above(mid) > 0) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
