/**
 * One worker thread of chapter 04's grid search. It prepares the data once
 * (the same split in every worker, from the chapter's seed), then trains one
 * lecture CNN per task it receives and posts the result back. Each task
 * carries its own model seed, so a cell's result does not depend on which
 * worker runs it or when.
 *
 * Started through grid-worker-boot.mjs, which loads tsx into the thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Padding } from "../../lib/conv.ts";
import { prepareData, trainLectureCnn, type RunResult } from "./lecture-cnn.ts";

export interface GridWorkerData {
  dataset: string;
  /** The chapter's seed: the data split. */
  seed: number;
  /** With dataset 'mnist': how many of the 10,000 digits. */
  mnistImages: number;
  epochs: number;
  padding: Padding;
}

export interface GridTask {
  index: number;
  eta: number;
  lmbd: number;
  /** The model's seed (initial weights and shuffling) for this cell. */
  seed: number;
}

export type GridMessage = { index: number; result: RunResult } | { error: string };

const port = parentPort;
if (!port) throw new Error("grid-worker.ts runs as a worker thread (chapters/04-grid-search.ts starts it)");
const wd = workerData as GridWorkerData;
const data = prepareData(wd.dataset, wd.seed, wd.mnistImages);

port.on("message", (task: GridTask | null) => {
  if (task === null) {
    port.close();
    return;
  }
  try {
    const result = trainLectureCnn(data, { eta: task.eta, lmbd: task.lmbd, epochs: wd.epochs, seed: task.seed, padding: wd.padding });
    port.postMessage({ index: task.index, result } satisfies GridMessage);
  } catch (e) {
    port.postMessage({ error: `η = ${task.eta}, λ = ${task.lmbd}: ${(e as Error).message}` } satisfies GridMessage);
  }
});
