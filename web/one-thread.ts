/**
 * The page's stand-in for lib/threads.ts: in the browser every product runs on
 * the page's (or the page worker's) one thread, so no product is ever split.
 * The build (web/build.ts) resolves matrix.ts's import of threads.ts to this file.
 */
export function parallelProduct(): boolean {
  return false;
}
