/**
 * GFLOP/s of the products the recurrent chapters actually compute, single-threaded: small and
 * skinny ones (few rows per time step), not the square n×n of `matmul`. C is (m, n) and k is the
 * length of each sum; A·Bᵀ and Aᵀ·B read their operand through strides, as the cells call them.
 */
import { Tensor, matmul, matmulAtB, matmulABt } from "../lib/matrix.ts";
import { setThreads } from "../lib/threads.ts";
import { Rng, uniformTensor } from "../lib/random.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "matmulShapes";

type Form = "AB" | "ABt" | "AtB";
/** [where the product comes from, form, m, k, n] */
const SHAPES: [string, Form, number, number, number][] = [
  ["SimpleRNN(64), batch 64: h·W_hh", "AB", 64, 64, 64],
  ["SimpleRNN(64): dz·W_hhᵀ", "ABt", 64, 64, 64],
  ["SimpleRNN(64): hᵀ·dz, one step", "AtB", 64, 64, 64],
  ["SimpleRNN(64), T = 50: Hᵀ·dZ stacked", "AtB", 64, 3200, 64],
  ["LSTM(128), batch 32: h·U", "AB", 32, 128, 512],
  ["LSTM(128): dz·Uᵀ", "ABt", 32, 512, 128],
  ["LSTM(128), T = 100: Hᵀ·dZ stacked", "AtB", 128, 3200, 512],
  ["rnn_2layers SimpleRNN(500), 9 rows: h·W", "AB", 9, 500, 500],
  ["rnn_2layers, 18 stacked rows: x·W", "AB", 18, 500, 500],
  ["rnn_2layers, 9 rows: dz·Wᵀ", "ABt", 9, 500, 500],
  ["rnn_2layers, 18 stacked rows: dZ·Wᵀ", "ABt", 18, 500, 500],
  ["rnn_2layers: Hᵀ·dZ over 18 rows", "AtB", 500, 18, 500],
  ["lstm_2layers LSTM(250), 9 rows: h·U", "AB", 9, 250, 1000],
  ["lstm_2layers, 18 stacked rows: x·W", "AB", 18, 250, 1000],
  ["lstm_2layers, 9 rows: dz·Uᵀ", "ABt", 9, 1000, 250],
  ["lstm_2layers, 18 stacked rows: dZ·Wᵀ", "ABt", 18, 1000, 250],
  ["lstm_2layers: Hᵀ·dZ over 18 rows", "AtB", 250, 18, 1000],
  ["GRU(250), 9 rows: h·U", "AB", 9, 250, 750],
  ["GRU(250), 9 rows: dz·Uᵀ", "ABt", 9, 750, 250],
  ["GRU(250): Hᵀ·dZ over 18 rows", "AtB", 250, 18, 750],
];

export function run({ quick }: { quick: boolean }): BenchResult {
  const before = setThreads(1);
  const rng = new Rng(2);
  const rows: { use: string; form: Form; m: number; k: number; n: number; gflops: number }[] = [];
  for (const [use, form, m, k, n] of SHAPES) {
    // A·B: A (m, k), B (k, n); A·Bᵀ: B is (n, k); Aᵀ·B: A is (k, m)
    const A = form === "AtB" ? uniformTensor([k, m], -1, 1, rng) : uniformTensor([m, k], -1, 1, rng);
    const B = form === "ABt" ? uniformTensor([n, k], -1, 1, rng) : uniformTensor([k, n], -1, 1, rng);
    const C = new Tensor([m, n]);
    const product = form === "AB" ? () => matmul(A, B, C) : form === "ABt" ? () => matmulABt(A, B, C) : () => matmulAtB(A, B, C);
    const ms = bestMs(product, quick ? { warmup: 1, rounds: 1, minMs: 10 } : { warmup: 2, rounds: 5, minMs: 150 });
    rows.push({ use, form, m, k, n, gflops: (2 * m * k * n) / (ms * 1e6) });
  }
  setThreads(before);
  const table = [["product", "form", "m×k×n", "GFLOP/s"]];
  for (const r of rows) table.push([r.use, r.form, `${r.m}×${r.k}×${r.n}`, r.gflops.toFixed(2)]);
  const note = "GFLOP/s = 2·m·k·n / time; one thread, CPU time, best of 5 rounds of ≥ 150 ms after 2 warm-up calls. C is (m, n); k is the length of each sum.";
  return { table, note, json: rows };
}
