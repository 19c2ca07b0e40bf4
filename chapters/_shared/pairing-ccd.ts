/**
 * Coupled-cluster doubles (CCD) for the pairing model: the physics behind
 * chapter 10's data, as code.
 *
 * The model. L levels p = 0 … L−1 with energies p·δ, each doubly degenerate
 * (spin up and down), and a pairing interaction that moves whole pairs:
 *
 *   H = Σ_p p·δ (n_p↑ + n_p↓) − (g/2) Σ_pq P†_p P_q,     P†_p = a†_p↑ a†_p↓.
 *
 * X particles (X/2 pairs) in L = X levels: the reference |Φ⟩ fills the lowest
 * X/2 levels ("holes" i, j), the upper X/2 are empty ("particles" a, b).
 * Since H only moves pairs, the doubles amplitudes reduce to pair amplitudes
 * t[i][a] (the pair in hole level i moved to particle level a), and
 * T = Σ_ia t[i][a] P†_a P_i. With R_i = Σ_b t[i][b], C_a = Σ_j t[j][a], the
 * projection ⟨Φ_i^a| (H − E) e^T |Φ⟩ = 0 gives, for every (i, a),
 *
 *   0 = r[i][a] = −g/2 + 2δ(a − i)·t − (g/2)(R_i − t) − (g/2)(C_a − t)
 *                 + (g/2)·t·(R_i + C_a − t) − (g/2)(R_i − t)(C_a − t),     t = t[i][a]
 *
 * (the constant couples |Φ⟩ to the pair move; the linear terms move the pair
 * again within its hole row or particle column; the quadratic terms are two
 * pairs moved, minus the disconnected part E·t), and the correlation energy is
 *
 *   E_c = −(g/2) Σ_ia t[i][a].
 *
 * They are solved by the usual Jacobi iteration from t = 0,
 *   t ← t − r / D,   D = f_a↑ + f_a↓ − f_i↑ − f_i↓ = 2δ(a − i) + g,
 * with the Hartree–Fock energies f_i = iδ − g/2 (a hole feels its partner) and
 * f_a = aδ, until E_c changes by less than `tolerance` between iterations.
 * For X = 2 (one pair, two levels) CCD is exact: E_c = δ − √(δ² + g²/4).
 */

export interface CcdResult {
  /** The correlation energy E_c = E − E_ref. */
  energy: number;
  /** E_ref = Σ_i (2iδ − g/2), the energy of the filled reference. */
  referenceEnergy: number;
  iterations: number;
  /** max |r[i][a]| at the last iterate. */
  residual: number;
  /** t[i][a], hole level i, particle level a − X/2. */
  amplitudes: Float64Array[];
}

export interface CcdOptions {
  /** Pairing strength g (default 0.5, the lecture's data). */
  g?: number;
  /** Level spacing δ (default 1). */
  delta?: number;
  /** Stop when E_c changes by less than this between iterations (default 1e-7, the precision of the lecture's table). */
  tolerance?: number;
  maxIterations?: number;
}

/** The CCD correlation energy of X particles (X even) in X doubly degenerate levels. */
export function pairingCcd(X: number, opts: CcdOptions = {}): CcdResult {
  const g = opts.g ?? 0.5, delta = opts.delta ?? 1, tol = opts.tolerance ?? 1e-7, maxIt = opts.maxIterations ?? 10000;
  if (!Number.isInteger(X) || X < 2 || X % 2 !== 0) throw new Error(`pairingCcd: the number of particles must be an even whole number ≥ 2, got ${X}`);
  if (!Number.isFinite(g)) throw new Error(`pairingCcd: the coupling g must be a finite number, got ${g}`);
  if (!(delta > 0)) throw new Error(`pairingCcd: the level spacing δ must be positive, got ${delta}`);
  const nh = X / 2, np = X / 2;
  const t = Array.from({ length: nh }, () => new Float64Array(np));
  const r = Array.from({ length: nh }, () => new Float64Array(np));
  const R = new Float64Array(nh), C = new Float64Array(np);
  let referenceEnergy = 0;
  for (let i = 0; i < nh; i++) referenceEnergy += 2 * i * delta - g / 2;

  let energy = 0, residual = Infinity;
  for (let it = 1; it <= maxIt; it++) {
    // row and column sums R_i = Σ_b t[i][b], C_a = Σ_j t[j][a]
    R.fill(0);
    C.fill(0);
    for (let i = 0; i < nh; i++) for (let a = 0; a < np; a++) { R[i] += t[i][a]; C[a] += t[i][a]; }
    residual = 0;
    for (let i = 0; i < nh; i++) {
      for (let a = 0; a < np; a++) {
        const tia = t[i][a], Ri = R[i] - tia, Ca = C[a] - tia;
        const levelGap = 2 * delta * (nh + a - i);
        // r = −g/2 + 2δ(a − i) t − g/2 (R_i − t) − g/2 (C_a − t) + g/2 t (R_i + C_a − t) − g/2 (R_i − t)(C_a − t)
        const ria = -g / 2 + levelGap * tia - (g / 2) * Ri - (g / 2) * Ca + (g / 2) * tia * (Ri + Ca + tia) - (g / 2) * Ri * Ca;
        r[i][a] = ria;
        residual = Math.max(residual, Math.abs(ria));
      }
    }
    // Jacobi step with the Hartree–Fock denominators D = 2δ(a − i) + g
    let sum = 0;
    for (let i = 0; i < nh; i++) {
      for (let a = 0; a < np; a++) {
        t[i][a] -= r[i][a] / (2 * delta * (nh + a - i) + g);
        sum += t[i][a];
      }
    }
    const next = (-g / 2) * sum;
    if (!Number.isFinite(next)) throw new Error(`pairingCcd: the iteration diverged for X = ${X}, g = ${g} (E_c = ${next} at iteration ${it}); CCD for the pairing model breaks down at strong coupling; try a smaller |g| (with 40 particles g = 0.6 converges, g = 0.7 does not)`);
    const change = Math.abs(next - energy);
    energy = next;
    if (change < tol) return { energy, referenceEnergy, iterations: it, residual, amplitudes: t };
  }
  throw new Error(`pairingCcd: no convergence for X = ${X}, g = ${g} within ${maxIt} iterations (last residual ${residual.toExponential(2)}); try a smaller |g|`);
}

/** The correlation energies for X = 2, 4, …, 2·count (the lecture's data for count = 20, g = 0.5). */
export function pairingCcdSeries(count: number, opts: CcdOptions = {}): number[] {
  return Array.from({ length: count }, (_, k) => pairingCcd(2 * (k + 1), opts).energy);
}
