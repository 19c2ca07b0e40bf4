/**
 * The opt-in second core: A·B at n = 512 on 2 threads against 1 thread in the same run,
 * and where splitting a product starts to pay (the threshold PARALLEL_MIN_WORK in lib/threads.ts).
 */
import { Tensor, matmul } from "../lib/matrix.ts";
import { setThreads, PARALLEL_MIN_WORK } from "../lib/threads.ts";
import { Rng, uniformTensor } from "../lib/random.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "matmul2Threads";

export function run({ quick }: { quick: boolean }): BenchResult {
  const rng = new Rng(2);
  const timing = quick ? { warmup: 1, rounds: 1, minMs: 20, clock: "wall" as const } : { warmup: 2, rounds: 5, minMs: 300, clock: "wall" as const };
  const gflops = (m: number, k: number, n: number, threads: number): number => {
    const A = uniformTensor([m, k], -1, 1, rng), B = uniformTensor([k, n], -1, 1, rng), C = new Tensor([m, n]);
    const before = setThreads(threads);
    // products below the threshold never split: force the split here by timing them as they are
    const ms = bestMs(() => matmul(A, B, C), timing);
    setThreads(before);
    return (2 * m * k * n) / (ms * 1e6);
  };
  const one = gflops(512, 512, 512, 1), two = gflops(512, 512, 512, 2);
  const table = [["product", "1 thread", "2 threads", "2 / 1"], ["A·B, n = 512 (GFLOP/s)", one.toFixed(2), two.toFixed(2), (two / one).toFixed(2) + "×"]];
  // shapes around the threshold: one LSTM(128) step (32·128·512) and its neighbours
  if (!quick) {
    for (const [m, k, n] of [[16, 128, 512], [32, 128, 512], [64, 128, 512]] as const) {
      const w = m * k * n;
      const g1 = gflops(m, k, n, 1), g2 = gflops(m, k, n, 2);
      table.push([`A·B ${m}×${k}×${n} (${(w / 1e6).toFixed(1)}M multiply-adds${w < PARALLEL_MIN_WORK ? ", not split" : ""})`, g1.toFixed(2), g2.toFixed(2), (g2 / g1).toFixed(2) + "×"]);
    }
  }
  const note = "Wall clock, best of 5 rounds of ≥ 300 ms after 2 warm-up calls. On a machine shared with other work the second core may be busy: the ratio is only as good as the machine is idle.";
  return { table, note, json: two };
}
