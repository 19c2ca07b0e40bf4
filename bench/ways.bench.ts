/**
 * Chapter 09's parts: one Gauss–Newton product G·v (R-operator forward + BPTT backward)
 * for SimpleRNN(64), T = 100, batch 100; and an echo state network's fit: collecting
 * 1,000 states of a 500-unit reservoir (one sequence of 1,000 steps) and the ridge solve.
 * Stored under the "rnn" key beside rnn.bench.ts's figures (index.ts merges them).
 */
import { Tensor } from "../lib/matrix.ts";
import { Rng, normalTensor, orthogonal } from "../lib/random.ts";
import { type RnnNet, netForward, netSize, gaussNewtonProduct } from "../lib/hessian-free.ts";
import { makeReservoir, reservoirStates, ridgeFit } from "../lib/esn.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "rnn";

export function run({ quick }: { quick: boolean }): BenchResult {
  const timing = quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 2, rounds: 5, minMs: 300 };
  const rng = new Rng(1);

  // G·v for SimpleRNN(64) + Dense(1), T = 100, batch 100, F = 2
  const u = 64;
  const net: RnnNet = { Whx: normalTensor([2, u], 0, 0.5, rng), Whh: orthogonal([u, u], rng), bh: new Tensor([u]), Wy: normalTensor([u, 1], 0, 0.1, rng), by: new Tensor([1]) };
  const x = normalTensor([100, 100, 2], 0, 1, rng);
  const f = netForward(net, x);
  const v = Float64Array.from({ length: netSize(net) }, () => rng.normal());
  const gnProductMs = bestMs(() => gaussNewtonProduct(net, f, x, v, { damping: 1 }), timing);

  // ESN: 1,000 states of a 500-unit reservoir (10 inputs per unit), then ridge regression on them
  const res = makeReservoir(1, 500, { rho: 0.9, rng });
  const xs = normalTensor([1, 1000, 1], 0, 1, rng), y = normalTensor([1000, 1], 0, 1, rng);
  const esnFitMs = bestMs(() => {
    const states = reservoirStates(res, xs, { keepAll: true }).all as Tensor;
    ridgeFit(states.reshape([1000, 500]), y, 1e-6);
  }, quick ? timing : { warmup: 1, rounds: 3, minMs: 300 });

  const table = [
    ["benchmark", "ms"],
    ["Gauss–Newton product G·v, SimpleRNN(64), T = 100, batch 100", gnProductMs.toFixed(1)],
    ["ESN: 1,000 states of a 500-unit reservoir + ridge fit", esnFitMs.toFixed(1)],
  ];
  return { table, note: "Best of several rounds, float64, single-threaded.", json: { gnProductMs, esnFitMs } };
}
