/**
 * The opt-in second core, 1 thread against 2 in the same run: A·B at n = 512, the products of an LSTM(128)
 * step and their neighbours around the split threshold (PARALLEL_MIN_WORK in lib/threads.ts), one forward and
 * backward pass of LSTM(128) over T = 100 with batch 32 (on 2 threads its loops run by bands of the batch's rows,
 * SequenceBands in lib/bptt.ts), and the fixed costs of a split: an empty job's round
 * trip to the helper, and the copy of an operand that is not in shared memory.
 */
import { Tensor, matmul, matmulABt } from "../lib/matrix.ts";
import { setThreads, setParallelMinWork, helperRoundTrip, helperStats, PARALLEL_MIN_WORK } from "../lib/threads.ts";
import { Rng, uniformTensor, normalTensor } from "../lib/random.ts";
import { LSTM } from "../lib/recurrent.ts";
import { bestMs, type TimingOptions } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "matmul2Threads";

export function run({ quick }: { quick: boolean }): BenchResult {
  const before = setThreads(1);
  const rng = new Rng(2);
  const stats0 = helperStats();
  const timing: TimingOptions = quick ? { warmup: 1, rounds: 1, minMs: 20, clock: "wall" } : { warmup: 2, rounds: 5, minMs: 300, clock: "wall" };
  /** Best wall-clock ms of fn on 1 and on 2 threads, the two interleaved; `make` builds fresh operands for each thread count. */
  const oneTwo = <T>(make: () => T, fn: (x: T) => void): [number, number] => {
    const best = [Infinity, Infinity];
    for (const n of quick ? [1, 2] : [1, 2, 1, 2]) {
      setThreads(n);
      const x = make();
      best[n - 1] = Math.min(best[n - 1], bestMs(() => fn(x), timing));
    }
    setThreads(1);
    return [best[0], best[1]];
  };
  const gflops = (m: number, k: number, n: number, ms: number): number => (2 * m * k * n) / (ms * 1e6);
  const product = (m: number, k: number, n: number) => oneTwo(() => [uniformTensor([m, k], -1, 1, rng), uniformTensor([k, n], -1, 1, rng), new Tensor([m, n])], ([A, B, C]) => matmul(A, B, C));
  const table = [["work", "1 thread", "2 threads", "2 threads' speed-up"]];
  const row = (label: string, one: number, two: number, unit: (ms: number) => string) => table.push([label, unit(one), unit(two), (one / two).toFixed(2) + "×"]);

  const [one512, two512] = product(512, 512, 512);
  row("A·B, n = 512 (GFLOP/s)", one512, two512, (ms) => gflops(512, 512, 512, ms).toFixed(2));

  // the recurrent products of an LSTM(128) step with batch 32, and shapes around the threshold
  if (!quick) {
    // every one split here, even below the threshold, to show where splitting starts to pay
    const shapes: [number, number, number][] = [[32, 16, 512], [32, 32, 512], [32, 64, 512], [32, 128, 512], [32, 256, 512], [64, 128, 512], [64, 64, 64], [128, 128, 128]];
    const threshold = setParallelMinWork(0);
    for (const [m, k, n] of shapes) {
      const w = m * k * n, [a, b] = product(m, k, n);
      row(`A·B ${m}×${k}×${n}, ${(w / 1e6).toFixed(2)}M multiply-adds${w < PARALLEL_MIN_WORK ? " (below the threshold)" : ""} (µs)`, a, b, (ms) => (ms * 1000).toFixed(0));
    }
    setParallelMinWork(threshold);
    const [a, b] = oneTwo(() => [uniformTensor([32, 512], -1, 1, rng), uniformTensor([128, 512], -1, 1, rng), new Tensor([32, 128])], ([dz, U, dh]) => matmulABt(dz, U, dh));
    row("dz·Uᵀ, 32×512 · (128×512)ᵀ (µs)", a, b, (ms) => (ms * 1000).toFixed(0));
  }

  // LSTM(128), T = 100, batch 32, one input feature: forward and backward, a layer built afresh for each thread count
  const T = quick ? 20 : 100;
  const [lstmOne, lstmTwo] = oneTwo(() => {
    const layer = new LSTM(128);
    layer.build([T, 1], new Rng(1));
    return { layer, x: normalTensor([32, T, 1], 0, 1, rng), dOut: normalTensor([32, 128], 0, 1, rng) };
  }, ({ layer, x, dOut }) => {
    const { cache } = layer.forward(x, { training: true });
    layer.backward(dOut, cache);
  });
  row(`LSTM(128), T = ${T}, batch 32: forward + backward (ms)`, lstmOne, lstmTwo, (ms) => ms.toFixed(1));

  // the fixed costs of a split
  setThreads(2);
  const roundTripUs = bestMs(helperRoundTrip, { ...timing, minMs: quick ? 5 : 100 }) * 1000;
  const U = uniformTensor([128, 512], -1, 1, rng), into = new Float64Array(new SharedArrayBuffer(U.size * 8));
  const copyUs = bestMs(() => into.set(U.data), { ...timing, minMs: quick ? 5 : 100 }) * 1000;
  setThreads(before);
  const stats = helperStats(), parts = stats.parts - stats0.parts, takenBack = stats.takenBack - stats0.takenBack, redone = stats.redone - stats0.redone, chunks = stats.chunks - stats0.chunks;
  table.push(["an empty job to the helper and back (µs)", "", roundTripUs.toFixed(1), ""]);
  table.push(["helper's parts taken back by the main thread (the helper had not started)", "", `${takenBack} of ${parts}`, ""]);
  table.push(["helper's parts redone by the main thread (the helper was too late)", "", `${redone} of ${parts}`, ""]);
  table.push(["chunks of the recurrent loops (bands of the batch's rows) and stacked products the helper computed", "", `${chunks}`, ""]);
  table.push(["copying a 128×512 operand into shared memory (µs)", copyUs.toFixed(1), "", ""]);

  const note = `Wall clock, best of ${quick ? 1 : 5} rounds of ≥ ${quick ? 20 : 300} ms after warm-up, 1 and 2 threads interleaved (${quick ? "once" : "twice"} each). On a machine shared with other work the second core may be busy: the ratio is only as good as the machine is idle.`;
  return { table, note, json: gflops(512, 512, 512, two512) };
}
