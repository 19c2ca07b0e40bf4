/**
 * tanh and σ on the SimpleRNN(64) update's count of numbers, 64 × 64 × 50 = 204,800 drawn from N(0, 1.5), taken
 * in blocks of 64 × 64 as its time steps take them: a loop calling Math.tanh against lib/elementary.ts's
 * tanhArray, and 1 / (1 + Math.exp(−x)) against sigmoidArray, timed alternately in this process. Each pair must
 * give the same bits (checked here; test/elementary.test.ts checks it on millions of inputs).
 */
import { Rng } from "../lib/random.ts";
import { tanhArray, sigmoidArray } from "../lib/elementary.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "elementary";

export function run({ quick }: { quick: boolean }): BenchResult {
  const timing = quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 3, rounds: 3, minMs: 150 };
  const N = 204_800, block = 4096, rng = new Rng(1);
  const x = new Float64Array(N);
  for (let i = 0; i < N; i++) x[i] = rng.normal(0, 1.5);
  const viaMath = new Float64Array(N), viaLib = new Float64Array(N);
  const mathTanh = () => {
    for (let s = 0; s < N; s += block) for (let i = s; i < s + block; i++) viaMath[i] = Math.tanh(x[i]);
  };
  const libTanh = () => {
    for (let s = 0; s < N; s += block) tanhArray(x, viaLib, s, s + block);
  };
  const mathSigmoid = () => {
    for (let s = 0; s < N; s += block) for (let i = s; i < s + block; i++) viaMath[i] = 1 / (1 + Math.exp(-x[i]));
  };
  const libSigmoid = () => {
    for (let s = 0; s < N; s += block) sigmoidArray(x, viaLib, s, s + block);
  };
  const sameBits = (what: string) => {
    for (let i = 0; i < N; i++) if (!Object.is(viaMath[i], viaLib[i])) throw new Error(`${what}: differs from Math at x = ${x[i]}`);
  };

  // A, B, A, B, …: the best of each over the alternations
  let mathTanhMs = Infinity, tanhArrayMs = Infinity, mathExpSigmoidMs = Infinity, sigmoidArrayMs = Infinity;
  for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
    mathTanhMs = Math.min(mathTanhMs, bestMs(mathTanh, timing));
    tanhArrayMs = Math.min(tanhArrayMs, bestMs(libTanh, timing));
  }
  sameBits("tanhArray");
  for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
    mathExpSigmoidMs = Math.min(mathExpSigmoidMs, bestMs(mathSigmoid, timing));
    sigmoidArrayMs = Math.min(sigmoidArrayMs, bestMs(libSigmoid, timing));
  }
  sameBits("sigmoidArray");

  const table = [
    ["204,800 numbers from N(0, 1.5), in blocks of 64 × 64", "ms", "× faster"],
    ["tanh: a loop calling Math.tanh", mathTanhMs.toFixed(2), ""],
    ["tanh: tanhArray (lib/elementary.ts)", tanhArrayMs.toFixed(2), (mathTanhMs / tanhArrayMs).toFixed(2)],
    ["σ: a loop of 1 / (1 + Math.exp(−x))", mathExpSigmoidMs.toFixed(2), ""],
    ["σ: sigmoidArray (lib/elementary.ts)", sigmoidArrayMs.toFixed(2), (mathExpSigmoidMs / sigmoidArrayMs).toFixed(2)],
  ];
  return {
    table,
    note: "Same bits in each pair (checked). Timed alternately in one process, best of several rounds, single-threaded.",
    json: { mathTanhMs, tanhArrayMs, mathExpSigmoidMs, sigmoidArrayMs },
  };
}
