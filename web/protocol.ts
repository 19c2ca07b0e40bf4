/** The messages between the page and its workers (web/worker.ts). */
import type { RunResult } from "../chapters/_shared/lecture-cnn-model.ts";
import type { RnnActivation } from "../lib/rnn.ts";
import type { Padding } from "../lib/conv.ts";

export type ToWorker =
  /** ‖∂h(T)/∂h(k)‖₂ for k = 1..T: sent to the products worker, answered by the norms worker. */
  | { kind: "jacobians"; id: number; seed: number; T: number; units: number; activation: RnnActivation; rho: number }
  /** Once per worker: the port between the two workers of ‖∂h(T)/∂h(k)‖₂, and which end this one is. */
  | { kind: "jacobian-pipe"; role: "products" | "norms"; port: MessagePort }
  | { kind: "cnn-train"; eta: number; lambda: number; epochs: number; padding: Padding; seed: number; pixels: Uint8Array; labels: Int32Array }
  | { kind: "cnn-predict"; pixels: number[] }
  | { kind: "cnn-maps"; index: number }
  | { kind: "extrap-train"; model: string; seed: number; epochs: number };

/**
 * From the products worker to the norms worker, over their port: the products ∂h(T)/∂h(k) for
 * k = k0, k0 − 1, …, each with the factor J(k+1) just multiplied in (null at k = T), as (u, u)
 * row-major buffers, transferred (not copied). `last` marks the batch that ends at k = 1.
 */
export interface JacobianBatch {
  id: number; T: number; u: number; k0: number; P: Float64Array[]; J: (Float64Array | null)[]; last: boolean;
  /** When the products worker began on the request, on the page's clock (performance.timeOrigin + now). */
  start: number;
  /** On the last batch: milliseconds the products worker took (setup, forward, step Jacobians, products). */
  productsMs?: number;
}

export type FromWorker =
  | { kind: "jacobians"; id: number; spectral: number[]; ms: number; start: number; productsMs: number }
  | { kind: "epoch"; epoch: number; logs: Record<string, number> }
  | { kind: "cnn-done"; result: RunResult; confusion: number[]; filters: number[]; nTest: number }
  | { kind: "cnn-probs"; probs: number[] }
  | { kind: "cnn-maps"; index: number; label: number; image: number[]; maps: number[]; h: number; w: number; probs: number[] }
  | { kind: "extrap-done"; predictions: number[]; mse: number; seconds: number }
  | { kind: "error"; message: string };
