/** Kernel regularisers: a penalty added to the loss and its gradient added to the weights' gradient. */
import { Tensor } from "./matrix.ts";

export interface Regularizer {
  readonly name: string;
  /** The strength λ, for messages (e.g. why training diverged). */
  readonly lambda?: number;
  /** The term added to the loss. */
  penalty(w: Tensor): number;
  /** Adds ∂penalty/∂w into `grad`. */
  addGradient(w: Tensor, grad: Tensor): void;
}

/** Keras's regularizers.l2(λ): penalty λ·Σw², gradient 2λw. */
export function l2(lambda: number): Regularizer {
  if (!(lambda >= 0)) throw new Error(`l2: λ must be a non-negative number, got ${lambda}`);
  return {
    name: `l2(${lambda})`,
    lambda,
    penalty(w) {
      let s = 0;
      for (let i = 0; i < w.size; i++) s += w.data[i] * w.data[i];
      return lambda * s;
    },
    addGradient(w, grad) {
      for (let i = 0; i < w.size; i++) grad.data[i] += 2 * lambda * w.data[i];
    },
  };
}
