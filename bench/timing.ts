/** Timing helpers for the benchmarks: warm up, then take the best of several timed rounds. */

export interface TimingOptions {
  warmup?: number;
  rounds?: number;
  minMs?: number;
  /**
   * "cpu" (the default) times the process's CPU time, which other programs on a busy machine
   * inflate far less than the wall clock; for single-threaded work on an idle machine the two agree.
   * "wall" times the wall clock: for work spread over several threads.
   */
  clock?: "cpu" | "wall";
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The best per-call time in milliseconds of `fn`, after `warmup` untimed calls, over `rounds` rounds of at least `minMs`. */
export function bestMs(fn: () => void, opts: TimingOptions = {}): number {
  const { warmup = 3, rounds = 5, minMs = 200, clock = "cpu" } = opts;
  const now = clock === "cpu" ? cpuMs : () => performance.now();
  for (let i = 0; i < warmup; i++) fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = now();
    let t = 0;
    do {
      fn();
      calls++;
      t = now() - t0;
    } while (t < minMs);
    best = Math.min(best, t / calls);
  }
  return best;
}
