/**
 * Chapter 09's worker pool: trains the ways on worker threads (four-ways-worker.ts),
 * one task at a time per thread, longest first as given, and collects the results by
 * task index whatever order they finish in.
 */
import type { WayResult } from "./four-ways.ts";
import type { WayTask } from "./four-ways-worker.ts";
import { runPool } from "./worker-pool.ts";

export function runWays(tasks: WayTask[], workers: number, onProgress: (task: WayTask, text: string) => void, onDone: (done: number, task: WayTask, r: WayResult) => void): Promise<WayResult[]> {
  return runPool<WayTask, WayResult>(tasks, { boot: new URL("./four-ways-worker-boot.mjs", import.meta.url), workers, what: "a worker", onProgress, onDone });
}
