/**
 * A pool of worker threads for the chapters that train many independent
 * models (chapter 04's grid, chapter 09's ways): one task at a time per
 * thread, in the order given, and the results collected by the tasks' own
 * indices, whatever order they finish in. The first failure terminates the
 * pool and rejects.
 */
import { Worker } from "node:worker_threads";

/** What a worker posts back: a progress line, its task's result, or an error. */
export type PoolMessage<R> = { index: number; progress: string } | { index: number; result: R } | { index?: number; error: string };

export interface PoolOptions<T, R> {
  /** The worker's boot file (a .mjs that loads the TypeScript worker). */
  boot: URL;
  workers: number;
  workerData?: unknown;
  /** Names the workers in error messages, e.g. "a grid worker". */
  what: string;
  onProgress?: (task: T, text: string) => void;
  onDone?: (done: number, task: T, result: R) => void;
}

/** Runs every task on a pool of worker threads; results[i] belongs to tasks[i]. */
export function runPool<T extends { index: number }, R>(tasks: T[], o: PoolOptions<T, R>): Promise<R[]> {
  // no tasks: nothing to start, and no worker would ever settle the promise
  if (tasks.length === 0) return Promise.resolve([]);
  const results: R[] = new Array(tasks.length);
  const position = new Map(tasks.map((t, i) => [t.index, i]));
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
    const n = Math.min(o.workers, tasks.length);
    for (let k = 0; k < n; k++) {
      const w = new Worker(o.boot, { workerData: o.workerData });
      pool.push(w);
      // the next task, if any; an idle worker waits until all are done and is then told to stop
      const feed = (): void => {
        if (next < tasks.length) w.postMessage(tasks[next++]);
      };
      w.on("message", (m: PoolMessage<R>) => {
        if ("error" in m) return fail(`${o.what} failed: ${m.error}`);
        const i = position.get(m.index) as number;
        if ("progress" in m) return o.onProgress?.(tasks[i], m.progress);
        results[i] = m.result;
        done++;
        o.onDone?.(done, tasks[i], m.result);
        if (done === tasks.length) {
          for (const other of pool) other.postMessage(null);
          resolvePromise(results);
        } else feed();
      });
      w.on("error", (e) => fail(`${o.what} failed: ${e.message}`));
      w.on("exit", (code) => {
        if (code !== 0 && done < tasks.length) fail(`${o.what} exited with code ${code}`);
      });
      feed();
    }
  });
}
