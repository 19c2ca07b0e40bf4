/** Gradient clipping: by global norm and by value, two separate functions. Neither changes its input. */
import { Tensor } from "./matrix.ts";

/** ‖g‖ = √(Σ over all tensors of Σ g²): the norm of all gradients seen as one vector. */
export function globalNorm(grads: readonly Tensor[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.size; i++) s += g.data[i] * g.data[i];
  return Math.sqrt(s);
}

/**
 * If ‖g‖ > maxNorm, every gradient is scaled by maxNorm/‖g‖: the direction is
 * kept and only the length shrinks. Returns new tensors and both norms.
 */
export function clipByGlobalNorm(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; normBefore: number; normAfter: number } {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const normBefore = globalNorm(grads);
  const f = normBefore > maxNorm ? maxNorm / normBefore : 1;
  const out = grads.map((g) => {
    const c = new Tensor(g.shape);
    for (let i = 0; i < g.size; i++) c.data[i] = g.data[i] * f;
    return c;
  });
  return { grads: out, normBefore, normAfter: normBefore * f };
}

/** Every entry is clipped to [−limit, limit]; unlike norm clipping this can turn the gradient's direction. */
export function clipByValue(grads: readonly Tensor[], limit: number): Tensor[] {
  if (!(limit > 0)) throw new Error(`clipByValue: limit must be a positive number, got ${limit}`);
  return grads.map((g) => {
    const c = new Tensor(g.shape);
    for (let i = 0; i < g.size; i++) c.data[i] = Math.min(limit, Math.max(-limit, g.data[i]));
    return c;
  });
}
