/** Timing helpers for the benchmarks: warm up, then take the best of several timed rounds. */

/** The best per-call time in milliseconds of `fn`, after `warmup` untimed calls, over `rounds` rounds of at least `minMs`. */
export function bestMs(fn: () => void, opts: { warmup?: number; rounds?: number; minMs?: number } = {}): number {
  const { warmup = 3, rounds = 5, minMs = 200 } = opts;
  for (let i = 0; i < warmup; i++) fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t = 0;
    do {
      fn();
      calls++;
      t = performance.now() - t0;
    } while (t < minMs);
    best = Math.min(best, t / calls);
  }
  return best;
}
