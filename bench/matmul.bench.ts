/** GFLOP/s of the three blocked products and the naive i-j-k loop, single-threaded, for n×n matrices. */
import { Tensor, matmul, matmulAtB, matmulABt, matmulNaive } from "../lib/matrix.ts";
import { Rng, uniformTensor } from "../lib/random.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "matmul";

export function run({ quick }: { quick: boolean }): BenchResult {
  const rng = new Rng(1);
  const rows: { n: number; form: "AB" | "AtB" | "ABt" | "naive"; gflops: number }[] = [];
  for (const n of [64, 128, 256, 512]) {
    const A = uniformTensor([n, n], -1, 1, rng), B = uniformTensor([n, n], -1, 1, rng), C = new Tensor([n, n]);
    const forms = {
      AB: () => matmul(A, B, C),
      AtB: () => matmulAtB(A, B, C),
      ABt: () => matmulABt(A, B, C),
      naive: () => matmulNaive(A, B),
    };
    for (const [form, fn] of Object.entries(forms)) {
      const ms = bestMs(fn, quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 2, rounds: 5, minMs: 250 });
      rows.push({ n, form: form as "AB", gflops: (2 * n ** 3) / (ms * 1e6) });
    }
  }
  const at = (n: number, form: string) => rows.find((r) => r.n === n && r.form === form)!.gflops;
  const table = [["n", "A·B", "Aᵀ·B", "A·Bᵀ", "naive", "A·B / naive"]];
  for (const n of [64, 128, 256, 512]) {
    table.push([String(n), ...["AB", "AtB", "ABt", "naive"].map((f) => at(n, f).toFixed(2)), (at(n, "AB") / at(n, "naive")).toFixed(1) + "×"]);
  }
  const note = "GFLOP/s, single-threaded, best of 5 rounds. Target at n = 256: A·B ≥ 2.5 GFLOP/s and ≥ 2× naive.";
  return { table, note, json: rows };
}
