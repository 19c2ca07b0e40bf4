/**
 * The lecture's "Implementing a memory cell", by hand: one LSTM unit (lstm.ts) whose
 * weights are set, not learned, so that it writes a value when the write gate opens,
 * keeps it while keep = 1, and lets it out when the read gate opens.
 *
 * Inputs x(t) = (v(t), write(t), read(t)): v(t) ~ U(−1, 1) at every step (distractors),
 * except the stored value v(t_w) = ±U(0.5, 0.9); write = 1 at t_w only, read = 1 at t_r = t_w + held only.
 * Weights (U = 0: the gates listen to the input only):
 *   write (input gate) i = σ(40·write − 20)    ≈ 1 at t_w, ≈ 2e-9 otherwise
 *   keep (forget gate) f = σ(30 − 60·write)    ≈ 1 − 1e-13, ≈ 0 at t_w (clears the old content)
 *   candidate          g = tanh(v)
 *   read (output gate) o = σ(40·read − 20)
 * so c(t_w) = tanh(v(t_w)) stays in the cell, and h(t_r) = o·tanh(c) ≈ tanh(tanh(v(t_w))),
 * read back as v̂ = atanh(atanh(h(t_r))).
 *
 * The constant-error carousel: with the loss on h(t_r), ‖∂L/∂c(t)‖ stays put all the way
 * back to t_w (the keep gate multiplies it by f ≈ 1 per step), while ‖∂L/∂h(t)‖ of a
 * SimpleRNN(1) on the same sequence (h(t) = tanh(v(t) + h(t−1)), W_hh = 1, the best a
 * tanh unit can do) shrinks by tanh' < 1 at every step. Both come from bptt.ts:
 * the SimpleRNN's from bpttBackward's per-step ‖∂L/∂h(t)‖, the LSTM's ∂L/∂c(t) as
 * bpttBackward's ∂L/∂c(0) of the run restarted at t from (h(t), c(t)).
 */
import { Tensor } from "../../lib/matrix.ts";
import type { Rng } from "../../lib/random.ts";
import { bpttForward, bpttBackward } from "../../lib/bptt.ts";
import { type LstmParams, lstmCell } from "../../lib/lstm.ts";
import { type RnnParams, simpleRnnCell } from "../../lib/rnn.ts";

export interface MemoryCellRun {
  heldSteps: number;
  tWrite: number;
  tRead: number;
  stored: number;
  readBack: number;
  readoutError: number;
  /** i(t), f(t), o(t), c(t), h(t) for t = 0..T−1. */
  gates: { i: number[]; f: number[]; o: number[]; c: number[]; h: number[] };
  /** k = t_r − t and ‖∂L/∂c(t)‖ of the LSTM / ‖∂L/∂h(t)‖ of the SimpleRNN. */
  carousel: { k: number; lstmDc: number; rnnDh: number }[];
  /** ‖∂L/∂c(t_w)‖ / ‖∂L/∂c(t_r)‖ and ‖∂L/∂h(t_w)‖ / ‖∂L/∂h(t_r)‖. */
  cecGradRatio: number;
  rnnGradRatio: number;
}

/** The hand-set LSTM unit: W (3, 4) with columns i, f, c, o; U = 0. */
export function memoryCellParams(): LstmParams {
  // rows: v, write, read; columns: i, f, g, o
  const W = new Tensor([3, 4], Float64Array.from([
    0, 0, 1, 0,
    40, -60, 0, 0,
    0, 0, 0, 40,
  ]));
  return { W, U: new Tensor([1, 4]), b: new Tensor([4], Float64Array.from([-20, 30, 0, -20])) };
}

/** Writes a value at t_w = 10, holds it for `held` steps, reads it at t_r = t_w + held; T = t_r + 1. */
export function memoryCellDemo(held: number, rng: Rng, sampleEvery = 25): MemoryCellRun {
  if (!Number.isInteger(held) || held < 1) throw new Error(`memoryCellDemo: the holding time must be a whole number ≥ 1, got ${held}`);
  const tWrite = 10, tRead = tWrite + held, T = tRead + 1;
  const x = new Tensor([1, T, 3]);
  for (let t = 0; t < T; t++) x.data[t * 3] = rng.uniform(-1, 1);
  x.data[tWrite * 3 + 1] = 1;
  x.data[tRead * 3 + 2] = 1;
  // the value to store, away from 0 so that c(t) shows in a plot
  const stored = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 0.9);
  x.data[tWrite * 3] = stored;

  const cell = lstmCell(), p = memoryCellParams();
  const fwd = bpttForward(cell, p, x);
  const gates = { i: [] as number[], f: [] as number[], o: [] as number[], c: [] as number[], h: [] as number[] };
  fwd.stack.forEach((cache, t) => {
    gates.i.push(cache.gates.data[0]);
    gates.f.push(cache.gates.data[1]);
    gates.o.push(cache.gates.data[3]);
    gates.c.push((fwd.cs as Tensor).data[t]);
    gates.h.push(fwd.hs.data[t]);
  });
  const hRead = fwd.hs.data[tRead];
  const readBack = Math.atanh(Math.atanh(hRead));

  // L = h(t_r): ∂L/∂h(t_r) = 1. ∂L/∂c(t) is ∂L/∂c(0) of the run restarted at t.
  const lstmDc = (t: number): number => {
    const len = tRead - t;
    const xs = new Tensor([1, len, 3], x.data.slice((t + 1) * 3, (tRead + 1) * 3));
    const h0 = new Tensor([1, 1], Float64Array.of(fwd.hs.data[t])), c0 = new Tensor([1, 1], Float64Array.of((fwd.cs as Tensor).data[t]));
    const f2 = bpttForward(cell, p, xs, { h0, c0 });
    const r = bpttBackward(cell, p, f2, { dhT: new Tensor([1, 1], Float64Array.of(1)) });
    return Math.abs((r.dc0 as Tensor).data[0]);
  };
  const dcRead = 1 * gates.o[tRead] * (1 - Math.tanh(gates.c[tRead]) ** 2); // ∂h(t_r)/∂c(t_r)

  // SimpleRNN(1) on the same sequence: h(t) = tanh(v(t) + h(t−1)), the loss on h(t_r)
  const rnn = simpleRnnCell("tanh");
  const rp: RnnParams = { Whx: new Tensor([3, 1], Float64Array.of(1, 0, 0)), Whh: new Tensor([1, 1], Float64Array.of(1)), bh: new Tensor([1]) };
  const xr = new Tensor([1, T, 3], x.data.slice());
  const rf = bpttForward(rnn, rp, xr);
  const rb = bpttBackward(rnn, rp, rf, { dhT: new Tensor([1, 1], Float64Array.of(1)), initialStateGrad: false });

  const carousel: MemoryCellRun["carousel"] = [];
  for (let k = 0; k <= held; k += sampleEvery) {
    const t = tRead - k;
    carousel.push({ k, lstmDc: k === 0 ? dcRead : lstmDc(t), rnnDh: rb.dLdhNorms[t] });
  }
  if (carousel[carousel.length - 1].k !== held) carousel.push({ k: held, lstmDc: lstmDc(tWrite), rnnDh: rb.dLdhNorms[tWrite] });
  const last = carousel[carousel.length - 1];
  return {
    heldSteps: held, tWrite, tRead, stored, readBack, readoutError: Math.abs(readBack - stored), gates, carousel,
    cecGradRatio: last.lstmDc / dcRead,
    rnnGradRatio: last.rnnDh / rb.dLdhNorms[tRead],
  };
}
