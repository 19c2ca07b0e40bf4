/**
 * Small dense linear algebra on plain arrays (number[][], row-major rows), for
 * the closed-form models of lib/sequence-models (least squares, linear solves
 * and the few matrix products a Kalman filter needs) and the echo state
 * network's ridge solve (esn.ts). Sizes are a few dozen columns, a few hundred
 * for the ridge solve, so clarity wins over speed.
 *
 * Least squares, min_β ‖Xβ − Y‖², two ways:
 *   QR:               X = QR (Householder), then R β = Qᵀ Y by back substitution;
 *   normal equations: (XᵀX) β = XᵀY, solved by Gaussian elimination (the naive reference).
 * QR never forms XᵀX, whose condition number is the square of X's.
 */

export type Mat = number[][];

function dims(A: Mat, who: string): [number, number] {
  const m = A.length;
  if (m === 0) throw new Error(`${who}: empty matrix`);
  const n = A[0].length;
  for (let i = 0; i < m; i++) {
    if (A[i].length !== n) throw new Error(`${who}: row ${i} has ${A[i].length} entries, row 0 has ${n}`);
  }
  return [m, n];
}

export function zerosMat(m: number, n: number): Mat {
  return Array.from({ length: m }, () => new Array<number>(n).fill(0));
}

export function identity(n: number): Mat {
  const I = zerosMat(n, n);
  for (let i = 0; i < n; i++) I[i][i] = 1;
  return I;
}

export function transposeMat(A: Mat): Mat {
  const [m, n] = dims(A, "transpose");
  const T = zerosMat(n, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j][i] = A[i][j];
  return T;
}

/** A B, with the shapes checked. */
export function matMul(A: Mat, B: Mat): Mat {
  const [m, k] = dims(A, "matMul");
  const [k2, n] = dims(B, "matMul");
  if (k !== k2) throw new Error(`matMul: (${m}, ${k}) times (${k2}, ${n}): inner sizes differ`);
  const C = zerosMat(m, n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const a = A[i][p];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i][j] += a * B[p][j];
    }
  }
  return C;
}

/** A x for a vector x. */
export function matVec(A: Mat, x: readonly number[]): number[] {
  const [m, n] = dims(A, "matVec");
  if (x.length !== n) throw new Error(`matVec: (${m}, ${n}) times a vector of ${x.length}`);
  const y = new Array<number>(m).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i] += A[i][j] * x[j];
  return y;
}

/** A + s·B. */
export function matAdd(A: Mat, B: Mat, s = 1): Mat {
  const [m, n] = dims(A, "matAdd");
  const [m2, n2] = dims(B, "matAdd");
  if (m !== m2 || n !== n2) throw new Error(`matAdd: (${m}, ${n}) and (${m2}, ${n2}) differ in shape`);
  return A.map((row, i) => row.map((v, j) => v + s * B[i][j]));
}

/**
 * Solves A X = B for square A by Gaussian elimination with partial pivoting.
 * B: (n, k). Throws when A is singular to working precision.
 */
export function solve(A: Mat, B: Mat): Mat {
  const [n, n2] = dims(A, "solve");
  if (n !== n2) throw new Error(`solve: A is (${n}, ${n2}), expected a square matrix`);
  const [nb, k] = dims(B, "solve");
  if (nb !== n) throw new Error(`solve: A is (${n}, ${n}) but B has ${nb} rows`);
  const M = A.map((r) => r.slice());
  const X = B.map((r) => r.slice());
  let scale = 0;
  for (const r of M) for (const v of r) scale = Math.max(scale, Math.abs(v));
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    if (!(Math.abs(M[piv][c]) > 1e-14 * scale)) throw new Error(`solve: the ${n}×${n} matrix is singular (no pivot in column ${c})`);
    [M[c], M[piv]] = [M[piv], M[c]];
    [X[c], X[piv]] = [X[piv], X[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) M[r][j] -= f * M[c][j];
      for (let j = 0; j < k; j++) X[r][j] -= f * X[c][j];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < k; j++) {
      let s = X[c][j];
      for (let q = c + 1; q < n; q++) s -= M[c][q] * X[q][j];
      X[c][j] = s / M[c][c];
    }
  }
  return X;
}

/** A⁻¹ (as solve(A, I)). */
export function inverse(A: Mat): Mat {
  return solve(A, identity(A.length));
}

/**
 * Least squares by Householder QR: β = argmin ‖Xβ − Y‖², X: (n, d) with n ≥ d,
 * Y: (n, k) → β: (d, k). Throws when X's columns are linearly dependent.
 */
export function lstsqQR(X: Mat, Y: Mat): Mat {
  const [n, d] = dims(X, "lstsqQR");
  const [ny, k] = dims(Y, "lstsqQR");
  if (ny !== n) throw new Error(`lstsqQR: X has ${n} rows but Y has ${ny}`);
  if (n < d) throw new Error(`lstsqQR: ${n} equations cannot determine ${d} unknowns`);
  // Work on copies, column-major for X so that each reflection touches contiguous memory.
  const R = Array.from({ length: d }, (_, j) => Float64Array.from(X, (row) => row[j]));
  const Z = Array.from({ length: k }, (_, j) => Float64Array.from(Y, (row) => row[j]));
  let scale = 0;
  for (const col of R) for (const v of col) scale = Math.max(scale, Math.abs(v));
  const v = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    const a = R[j];
    // The reflection H = I − 2 v vᵀ/(vᵀv) maps a[j..n) onto −sign(a_j)‖a[j..n)‖ e_j.
    let norm = 0;
    for (let i = j; i < n; i++) norm += a[i] * a[i];
    norm = Math.sqrt(norm);
    if (!(norm > 1e-13 * scale * Math.sqrt(n))) throw new Error(`lstsqQR: column ${j} of the ${n}×${d} design matrix is (nearly) a combination of the others`);
    const alpha = a[j] >= 0 ? -norm : norm;
    let vv = 0;
    for (let i = j; i < n; i++) {
      v[i] = a[i] - (i === j ? alpha : 0);
      vv += v[i] * v[i];
    }
    const apply = (c: Float64Array) => {
      let s = 0;
      for (let i = j; i < n; i++) s += v[i] * c[i];
      const f = (2 * s) / vv;
      for (let i = j; i < n; i++) c[i] -= f * v[i];
    };
    for (let c = j; c < d; c++) apply(R[c]);
    for (const z of Z) apply(z);
  }
  // R β = (Qᵀ Y)[0..d), back substitution
  const beta = zerosMat(d, k);
  for (let c = 0; c < k; c++) {
    for (let i = d - 1; i >= 0; i--) {
      let s = Z[c][i];
      for (let q = i + 1; q < d; q++) s -= R[q][i] * beta[q][c];
      beta[i][c] = s / R[i][i];
    }
  }
  return beta;
}

/** Least squares by the normal equations (XᵀX) β = XᵀY: the reference for lstsqQR. */
export function lstsqNormal(X: Mat, Y: Mat): Mat {
  const Xt = transposeMat(X);
  return solve(matMul(Xt, X), matMul(Xt, Y));
}

/** The lower-triangular L with L Lᵀ = A for symmetric positive semi-definite A (zero pivots allowed). */
export function cholesky(A: Mat): Mat {
  const [n, n2] = dims(A, "cholesky");
  if (n !== n2) throw new Error(`cholesky: A is (${n}, ${n2}), expected a square matrix`);
  const L = zerosMat(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (s < -1e-12 * Math.max(1, Math.abs(A[i][i]))) throw new Error(`cholesky: the matrix is not positive semi-definite (pivot ${i} is ${s})`);
        L[i][i] = Math.sqrt(Math.max(0, s));
      } else {
        L[i][j] = L[j][j] > 0 ? s / L[j][j] : 0;
      }
    }
  }
  return L;
}

/**
 * Solves A X = B for symmetric positive-definite A given its Cholesky factor L (A = L Lᵀ, from cholesky):
 * L Z = B by forward substitution, then Lᵀ X = Z by back substitution. B: (n, k). Throws on a zero pivot of L.
 */
export function choleskySolve(L: Mat, B: Mat): Mat {
  const [n] = dims(L, "choleskySolve");
  const [nb, k] = dims(B, "choleskySolve");
  if (nb !== n) throw new Error(`choleskySolve: L is (${n}, ${n}) but B has ${nb} rows`);
  for (let i = 0; i < n; i++) if (!(L[i][i] > 0)) throw new Error(`choleskySolve: the matrix is not positive definite (pivot ${i} of its Cholesky factor is ${L[i][i]})`);
  const X = B.map((r) => r.slice());
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let s = X[i][c];
      for (let p = 0; p < i; p++) s -= L[i][p] * X[p][c];
      X[i][c] = s / L[i][i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i][c];
      for (let p = i + 1; p < n; p++) s -= L[p][i] * X[p][c];
      X[i][c] = s / L[i][i];
    }
  }
  return X;
}
