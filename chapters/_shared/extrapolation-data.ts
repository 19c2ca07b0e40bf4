/**
 * The data of the lecture's "An extrapolation example": coupled-cluster-doubles
 * (CCD) correlation energies of the pairing model (δ = 1, g = 0.5) for
 * X = 2, 4, …, 40 particles.
 *
 * Provenance: J. Butler's ExtrapolationWithML data sets, computed with the
 * NuclearTalent 2018 many-body CCD code. The lecture's printed array is
 * garbled after its fifth value; these are the 20 values of the lecture's own
 * source. chapters/_shared/pairing-ccd.ts recomputes them (`--data solve`).
 */

/** The number of particles X = 2, 4, …, 40. */
export const PARTICLES: readonly number[] = Array.from({ length: 20 }, (_, k) => 2 * (k + 1));

/** The CCD correlation energies, in units of δ, for PARTICLES. */
export const CCD_ENERGIES: readonly number[] = [
  -0.03077640549, -0.08336233266, -0.1446729567, -0.2116753732, -0.2830637392, -0.3581341341, -0.436462435,
  -0.5177783846, -0.6019067271, -0.6887363571, -0.7782028952, -0.8702784034, -0.9649652536, -1.062292565,
  -1.16231451, -1.265109911, -1.370782966, -1.479465113, -1.591317992, -1.70653767,
];
