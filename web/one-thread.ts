/**
 * The page's stand-in for lib/threads.ts: in the browser every product and every
 * recurrent loop runs on the page's (or the page worker's) one thread, so nothing
 * is ever split. The build (web/build.ts) resolves lib's imports of threads.ts to this file.
 */
export const PARALLEL_MIN_WORK = Infinity;

export function parallelProduct(): boolean {
  return false;
}

export function runChunks(): boolean {
  return false;
}

export function getThreads(): number {
  return 1;
}
