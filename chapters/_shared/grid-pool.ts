/**
 * The worker pool of chapter 04: trains the cells of a grid on worker threads
 * (grid-worker.ts), one task at a time per thread, and collects the results
 * by cell index, whatever order they finish in.
 */
import { Worker } from "node:worker_threads";
import type { RunResult } from "./lecture-cnn.ts";
import type { GridMessage, GridTask, GridWorkerData } from "./grid-worker.ts";

/** Trains every cell on a pool of worker threads; results arrive in any order and are stored by index. */
export function runGrid(tasks: GridTask[], wd: GridWorkerData, workers: number, onDone: (done: number, task: GridTask, r: RunResult) => void): Promise<RunResult[]> {
  const results: RunResult[] = new Array(tasks.length);
  let next = 0, done = 0;
  return new Promise((resolvePromise, reject) => {
    const pool: Worker[] = [];
    let failed = false;
    const fail = (msg: string): void => {
      if (failed) return;
      failed = true;
      for (const w of pool) void w.terminate();
      reject(new Error(msg));
    };
    const n = Math.min(workers, tasks.length);
    for (let k = 0; k < n; k++) {
      const w = new Worker(new URL("./grid-worker-boot.mjs", import.meta.url), { workerData: wd });
      pool.push(w);
      // the next task, if any; an idle worker waits until the grid is complete and is then told to stop
      const feed = (): void => {
        if (next < tasks.length) w.postMessage(tasks[next++]);
      };
      w.on("message", (m: GridMessage) => {
        if ("error" in m) return fail(`a grid worker failed: ${m.error}`);
        results[m.index] = m.result;
        done++;
        onDone(done, tasks[m.index], m.result);
        if (done === tasks.length) {
          for (const other of pool) other.postMessage(null);
          resolvePromise(results);
        } else feed();
      });
      w.on("error", (e) => fail(`a grid worker failed: ${e.message}`));
      w.on("exit", (code) => {
        if (code !== 0 && done < tasks.length) fail(`a grid worker exited with code ${code}`);
      });
      feed();
    }
  });
}

