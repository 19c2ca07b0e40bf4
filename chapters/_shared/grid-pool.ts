/**
 * The worker pool of chapter 04: trains the cells of a grid on worker threads
 * (grid-worker.ts), one task at a time per thread, and collects the results
 * by cell index, whatever order they finish in.
 */
import type { RunResult } from "./lecture-cnn.ts";
import type { GridTask, GridWorkerData } from "./grid-worker.ts";
import { runPool } from "./worker-pool.ts";

/** Trains every cell on a pool of worker threads; results arrive in any order and are stored by index. */
export function runGrid(tasks: GridTask[], wd: GridWorkerData, workers: number, onDone: (done: number, task: GridTask, r: RunResult) => void): Promise<RunResult[]> {
  return runPool<GridTask, RunResult>(tasks, { boot: new URL("./grid-worker-boot.mjs", import.meta.url), workers, workerData: wd, what: "a grid worker", onDone });
}
