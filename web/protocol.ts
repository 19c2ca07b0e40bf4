/** The messages between the page and its workers (web/worker.ts). */
import type { RunResult } from "../chapters/_shared/lecture-cnn-model.ts";
import type { RnnActivation } from "../lib/rnn.ts";
import type { Padding } from "../lib/conv.ts";

export type ToWorker =
  | { kind: "jacobians"; id: number; seed: number; T: number; units: number; activation: RnnActivation; rho: number }
  | { kind: "cnn-train"; eta: number; lambda: number; epochs: number; padding: Padding; seed: number; pixels: Uint8Array; labels: Int32Array }
  | { kind: "cnn-predict"; pixels: number[] }
  | { kind: "cnn-maps"; index: number }
  | { kind: "extrap-train"; model: string; seed: number; epochs: number };

export type FromWorker =
  | { kind: "jacobians"; id: number; spectral: number[]; ms: number; start: number }
  | { kind: "epoch"; epoch: number; logs: Record<string, number> }
  | { kind: "cnn-done"; result: RunResult; confusion: number[]; filters: number[]; nTest: number }
  | { kind: "cnn-probs"; probs: number[] }
  | { kind: "cnn-maps"; index: number; label: number; image: number[]; maps: number[]; h: number; w: number; probs: number[] }
  | { kind: "extrap-done"; predictions: number[]; mse: number; seconds: number }
  | { kind: "error"; message: string };
