/**
 * Chapter 09's worker pool: trains the ways on worker threads (four-ways-worker.ts),
 * one task at a time per thread, longest first as given, and collects the results by
 * task index whatever order they finish in.
 */
import { Worker } from "node:worker_threads";
import type { WayResult } from "./four-ways.ts";
import type { WayMessage, WayTask } from "./four-ways-worker.ts";

export function runWays(tasks: WayTask[], workers: number, onProgress: (task: WayTask, text: string) => void, onDone: (done: number, task: WayTask, r: WayResult) => void): Promise<WayResult[]> {
  const results: WayResult[] = new Array(tasks.length);
  const byIndex = new Map(tasks.map((t) => [t.index, t]));
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
      const w = new Worker(new URL("./four-ways-worker-boot.mjs", import.meta.url));
      pool.push(w);
      const feed = (): void => {
        if (next < tasks.length) w.postMessage(tasks[next++]);
      };
      w.on("message", (m: WayMessage) => {
        const task = byIndex.get(m.index) as WayTask;
        if ("error" in m) return fail(`a worker failed: ${m.error}`);
        if ("progress" in m) return onProgress(task, m.progress);
        results[tasks.indexOf(task)] = m.result;
        done++;
        onDone(done, task, m.result);
        if (done === tasks.length) {
          for (const other of pool) other.postMessage(null);
          resolvePromise(results);
        } else feed();
      });
      w.on("error", (e) => fail(`a worker failed: ${e.message}`));
      w.on("exit", (code) => {
        if (code !== 0 && done < tasks.length) fail(`a worker exited with code ${code}`);
      });
      feed();
    }
  });
}
