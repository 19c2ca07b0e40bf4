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
 * but the last, whose output it returns. Each array grows on demand and never
 * shrinks, so that an epoch's smaller last batch does not cost two fresh arrays
 * (its own, then the next full batch's). A recurrent layer's SequenceWorkspace
 * (bptt-sequence.ts) keeps its stacks in one of these.
 */
import { Tensor, type Shape } from "./matrix.ts";

export class Workspace {
  private readonly floats = new WeakMap<object, Map<string, Float64Array>>();
  private readonly ints = new WeakMap<object, Map<string, Int32Array>>();

  /**
   * A tensor of `shape` over the array kept for (owner, name), grown if it is too small; its contents are stale.
   * `shared`: the array must live in shared memory (a SharedArrayBuffer, for a second thread); it is made anew if it does not.
   */
  tensor(owner: object, name: string, shape: Shape, shared = false): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    let byName = this.floats.get(owner);
    if (!byName) this.floats.set(owner, (byName = new Map()));
    let buf = byName.get(name);
    if (buf === undefined || buf.length < size || (shared && !(buf.buffer instanceof SharedArrayBuffer))) {
      buf = shared ? new Float64Array(new SharedArrayBuffer(Math.max(size, buf?.length ?? 0) * 8)) : new Float64Array(size);
      byName.set(name, buf);
    }
    return new Tensor(shape, buf.subarray(0, size));
  }

  /** The first n entries of the Int32Array kept for (owner, name), as `tensor`. */
  int32(owner: object, name: string, n: number): Int32Array {
    let byName = this.ints.get(owner);
    if (!byName) this.ints.set(owner, (byName = new Map()));
    let buf = byName.get(name);
    if (buf === undefined || buf.length < n) byName.set(name, (buf = new Int32Array(n)));
    return buf.subarray(0, n);
  }
}
