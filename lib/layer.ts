/**
 * The contract every layer of the Sequential model keeps.
 *
 * A layer owns its parameters but no activations: `forward` returns the
 * output together with a cache of what `backward` needs, and the model keeps
 * the caches. `backward` reads the cache, changes none of its inputs, and
 * returns ∂L/∂x with the parameter gradients in the order of `params()`.
 */
import type { Tensor, Shape } from "./matrix.ts";
import type { Rng } from "./random.ts";
import type { Regularizer } from "./regularizers.ts";
import type { ActivationName } from "./activations.ts";
import type { Workspace } from "./workspace.ts";

/** A trainable tensor with a name (as in Keras's summary: "kernel", "bias", ...). */
export interface Param {
  readonly name: string;
  readonly value: Tensor;
  readonly regularizer?: Regularizer;
}

export interface ForwardContext {
  training: boolean;
  /**
   * Return z instead of σ(z) from a layer with an output activation: a loss
   * fused with that activation (softmax + cross-entropy) applies it itself.
   */
  linearOutput?: boolean;
  /**
   * Reused buffers for the layer's intermediate tensors and output (workspace.ts),
   * given by the model during a training step to every layer but the last.
   */
  workspace?: Workspace;
}

export interface Layer<C = unknown> {
  /** The Keras class name, e.g. "Dense". */
  readonly className: string;
  /** The instance name in summary(), e.g. "dense_1"; the model assigns it. */
  name: string;
  /** The per-sample input shape given to the first layer (Keras's input_shape), if any. */
  readonly inputShape?: readonly number[];
  /** The output activation, for layers that end in one (Dense, Conv2D). */
  readonly activation?: ActivationName;
  /** Creates the parameters for a per-sample input shape; returns the per-sample output shape. */
  build(inputShape: Shape, rng: Rng): number[];
  params(): Param[];
  /** x: (N, ...inputShape) → out: (N, ...outputShape). */
  forward(x: Tensor, ctx: ForwardContext): { out: Tensor; cache: C };
  /** dOut: ∂L/∂out → dX: ∂L/∂x and grads[i]: ∂L/∂params()[i]. */
  backward(dOut: Tensor, cache: C): { dX: Tensor; grads: Tensor[] };
  /**
   * Optional: the grads of `backward` alone, skipping ∂L/∂x. The model calls
   * it on its first layer, whose input is the data (for Conv2D, dX is a third
   * of the backward pass).
   */
  paramGradients?(dOut: Tensor, cache: C): Tensor[];
}

/** Keras's count of a layer's weights. */
export function countParams(layer: Layer): number {
  return layer.params().reduce((s, p) => s + p.value.size, 0);
}
