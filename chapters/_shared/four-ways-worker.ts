/**
 * One worker thread of chapter 09: trains the ways it is sent (four-ways.ts), one at
 * a time, posting progress lines and then the result. Each task carries its whole
 * configuration, so its result does not depend on which thread runs it.
 * Started through four-ways-worker-boot.mjs.
 */
import { parentPort } from "node:worker_threads";
import { trainWay, type WayConfig, type WayName, type WayResult } from "./four-ways.ts";

export interface WayTask {
  index: number;
  name: WayName;
  cfg: WayConfig;
}

export type WayMessage = { index: number; progress: string } | { index: number; result: WayResult } | { index: number; error: string };

const port = parentPort;
if (!port) throw new Error("four-ways-worker.ts runs as a worker thread (chapters/09-four-ways.ts starts it)");

port.on("message", (task: WayTask | null) => {
  if (task === null) {
    port.close();
    return;
  }
  try {
    const result = trainWay(task.name, task.cfg, (text) => port.postMessage({ index: task.index, progress: text } satisfies WayMessage));
    port.postMessage({ index: task.index, result } satisfies WayMessage);
  } catch (e) {
    port.postMessage({ index: task.index, error: `${task.name}: ${(e as Error).message}` } satisfies WayMessage);
  }
});
