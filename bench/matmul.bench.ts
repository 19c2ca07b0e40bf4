/**
 * GFLOP/s of the three products and of their references, single-threaded, for n×n matrices:
 * A·B as `matmul` computes it (B packed only from 512×512 entries on), the packed kernel and
 * the unpacked i-k-j loop each forced, and the naive i-j-k loop, in the same run.
 */
import { Tensor, matmul, matmulAtB, matmulABt, matmulNaive, matmulUnpacked, gemmPacked, GEMM_KC, GEMM_NC } from "../lib/matrix.ts";
import { setThreads } from "../lib/threads.ts";
import { Rng, uniformTensor } from "../lib/random.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "matmul";

const FORMS = ["AB", "AtB", "ABt", "packed", "unpacked", "naive"] as const;

export function run({ quick }: { quick: boolean }): BenchResult {
  const before = setThreads(1);
  const rng = new Rng(1);
  const rows: { n: number; form: (typeof FORMS)[number]; gflops: number }[] = [];
  const pack = new Float64Array(GEMM_KC * GEMM_NC);
  for (const n of [64, 128, 256, 512]) {
    // A, B and C one after another in one buffer: their places relative to each other, and so which cache sets their rows
    // share, are then the same in every process. With three separate arrays the unpacked loop at n = 512 (rows 4 KB apart)
    // ran at 2.9 GFLOP/s in most processes and at 6.1 in one whose arrays happened to lie otherwise (27 Nov 2026).
    const buffer = new Float64Array(3 * n * n);
    const [A, B, C] = [0, 1, 2].map((i) => new Tensor([n, n], buffer.subarray(i * n * n, (i + 1) * n * n)));
    A.data.set(uniformTensor([n, n], -1, 1, rng).data);
    B.data.set(uniformTensor([n, n], -1, 1, rng).data);
    const forms = {
      AB: () => matmul(A, B, C),
      AtB: () => matmulAtB(A, B, C),
      ABt: () => matmulABt(A, B, C),
      packed: () => gemmPacked(A.data, n, 1, B.data, n, 1, C.data, n, n, n, 0, n, false, pack),
      unpacked: () => matmulUnpacked(A, B, C),
      naive: () => matmulNaive(A, B),
    };
    for (const form of FORMS) {
      if (form === "naive" && n === 512 && quick) continue;
      const ms = bestMs(forms[form], quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 2, rounds: 5, minMs: 250 });
      rows.push({ n, form, gflops: (2 * n ** 3) / (ms * 1e6) });
    }
  }
  setThreads(before);
  const at = (n: number, form: string) => rows.find((r) => r.n === n && r.form === form)?.gflops ?? NaN;
  const table = [["n", "A·B", "Aᵀ·B", "A·Bᵀ", "A·B packed", "A·B unpacked", "naive", "packed / unpacked", "A·B / naive"]];
  for (const n of [64, 128, 256, 512]) {
    table.push([String(n), ...FORMS.map((f) => at(n, f).toFixed(2)), (at(n, "packed") / at(n, "unpacked")).toFixed(2) + "×", (at(n, "AB") / at(n, "naive")).toFixed(1) + "×"]);
  }
  const note = "GFLOP/s, one thread, CPU time, best of 5 rounds of ≥ 250 ms after 2 warm-up calls. A·B is matmul (unpacked below 512×512 entries of B). Target at n = 256: A·B ≥ 6 GFLOP/s.";
  return { table, note, json: rows };
}
