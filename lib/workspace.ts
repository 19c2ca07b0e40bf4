/**
 * Buffers reused from one training step to the next.
 *
 * A batch of 100 MNIST images through the lecture's CNN makes several tensors
 * of 5 MB (the patch matrix, the convolution's output, the gradient routed back
 * by the pooling). A fresh Float64Array of that size costs the operating
 * system's zeroed pages and later the garbage collector: more than a pass of
 * arithmetic over it. The model hands its layers one Workspace during a
 * training step (ForwardContext.workspace); a layer asks it for its
 * intermediate tensors by name and gets back the same memory each step.
 *
 * The contract: a tensor from the workspace holds whatever the last step left
 * in it (the caller overwrites or zeroes it), and lives only until the model's
 * next training step. The model therefore passes the workspace to every layer
 * but the last, whose output it returns.
 */
import { Tensor, type Shape } from "./matrix.ts";

export class Workspace {
  private readonly tensors = new WeakMap<object, Map<string, Tensor>>();
  private readonly ints = new WeakMap<object, Map<string, Int32Array>>();

  /** A tensor of `shape` kept for (owner, name): last step's, if it had as many entries; its contents are stale. */
  tensor(owner: object, name: string, shape: Shape): Tensor {
    let byName = this.tensors.get(owner);
    if (!byName) this.tensors.set(owner, (byName = new Map()));
    const size = shape.reduce((a, b) => a * b, 1);
    const t = byName.get(name);
    if (t && t.size === size) return t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : t.reshape(shape);
    const fresh = new Tensor(shape);
    byName.set(name, fresh);
    return fresh;
  }

  /** An Int32Array of length n kept for (owner, name), as `tensor`. */
  int32(owner: object, name: string, n: number): Int32Array {
    let byName = this.ints.get(owner);
    if (!byName) this.ints.set(owner, (byName = new Map()));
    const a = byName.get(name);
    if (a && a.length === n) return a;
    const fresh = new Int32Array(n);
    byName.set(name, fresh);
    return fresh;
  }
}
