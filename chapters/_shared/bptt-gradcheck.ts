/**
 * Finite-difference checks of BPTT over whole sequences, for any cell.
 *
 * The objective is L = Σ_t h(t)·G(t) (returnSequences) or L = h(T)·G(T), with an
 * arbitrary upstream gradient G, so the check covers the whole vector–Jacobian
 * product that the backward pass computes. Every weight, the input x and the
 * initial state (h0, c0) are perturbed one entry at a time (centred differences).
 *
 * With `truncate` = k, the objective is the truncated one: the sequence is run in
 * chunks of k steps, each chunk starting from the state the full forward pass
 * reached there, held constant. Its exact gradient is what truncated BPTT returns.
 */
import { Tensor } from "../../lib/matrix.ts";
import { Rng, normalTensor } from "../../lib/random.ts";
import { numericalGradient, relError } from "../../lib/gradcheck.ts";
import { type Cell, type CellParams, type InitialState, bpttForward, bpttBackward } from "../../lib/bptt.ts";

export interface SequenceGradCheckOptions {
  returnSequences?: boolean;
  truncate?: number;
  /** Seed of the upstream gradient G. */
  seed?: number;
  h?: number;
}

export interface SequenceGradCheck {
  /** The relative error (relError) for each checked tensor: the weights by name, "x", "h0", "c0". */
  errors: Record<string, number>;
  /** max |numerical gradient| for each checked tensor: a check of zeros against zeros proves nothing. */
  maxAbs: Record<string, number>;
  maxRelError: number;
}

/** x[:, t0:t1, :] copied: (N, t1 − t0, F). */
export function sliceTime(x: Tensor, t0: number, t1: number): Tensor {
  const [N, T, F] = x.shape;
  const out = new Tensor([N, t1 - t0, F]);
  for (let n = 0; n < N; n++) out.data.set(x.data.subarray((n * T + t0) * F, (n * T + t1) * F), n * (t1 - t0) * F);
  return out;
}

/** The state at step t (1..T) of a forward result's (N, T, u) record, as (N, u). */
function stateAt(s: Tensor, t: number): Tensor {
  const [N, T, u] = s.shape;
  const out = new Tensor([N, u]);
  for (let n = 0; n < N; n++) out.data.set(s.data.subarray((n * T + t - 1) * u, (n * T + t) * u), n * u);
  return out;
}

export function sequenceGradCheck<P extends CellParams, C>(cell: Cell<P, C>, params: P, x: Tensor, init: InitialState = {}, opts: SequenceGradCheckOptions = {}): SequenceGradCheck {
  const { returnSequences = true, truncate, seed = 7, h = 1e-5 } = opts;
  const [N, T] = x.shape;
  const { units: u } = cell.dims(params);
  const rng = new Rng(seed);
  const G = normalTensor(returnSequences ? [N, T, u] : [N, u], 0, 1, rng);

  // The states the chunks of the truncated objective start from: computed once, then constants.
  const fwd0 = bpttForward(cell, params, x, init);
  const k = truncate ?? T;
  const starts: InitialState[] = [];
  for (let t0 = k; t0 < T; t0 += k) starts.push({ h0: stateAt(fwd0.hs, t0), c0: fwd0.cs ? stateAt(fwd0.cs, t0) : undefined });

  const objective = (): number => {
    let L = 0;
    for (let c = 0, t0 = 0; t0 < T; c++, t0 += k) {
      const t1 = Math.min(T, t0 + k);
      const f = bpttForward(cell, params, sliceTime(x, t0, t1), c === 0 ? init : starts[c - 1]);
      const hs = f.hs.data, g = G.data;
      for (let n = 0; n < N; n++) {
        for (let t = t0; t < t1; t++) {
          if (!returnSequences && t !== T - 1) continue;
          for (let j = 0; j < u; j++) {
            const gi = returnSequences ? (n * T + t) * u + j : n * u + j;
            L += hs[(n * (t1 - t0) + (t - t0)) * u + j] * g[gi];
          }
        }
      }
    }
    return L;
  };

  const r = bpttBackward(cell, params, fwd0, returnSequences ? { dhs: G, truncate } : { dhT: G, truncate });
  const errors: Record<string, number> = {};
  const maxAbs: Record<string, number> = {};
  const check = (name: string, analytic: Tensor, x: Tensor): void => {
    const numeric = numericalGradient(objective, x, h);
    errors[name] = relError(analytic, numeric);
    maxAbs[name] = numeric.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  };
  for (const key of Object.keys(params)) check(key, r.grads[key], params[key]);
  check("x", r.dx, x);
  if (init.h0 && r.dh0) check("h0", r.dh0, init.h0);
  if (init.c0 && r.dc0) check("c0", r.dc0, init.c0);
  return { errors, maxAbs, maxRelError: Math.max(...Object.values(errors)) };
}
