/**
 * The LSTM's and the tanh SimpleRNN's loops on two threads by bands of the batch's rows (SequenceBands: lstm.ts, rnn.ts;
 * runChunks: threads.ts), and the weight gradient's product split by rows of its output (stackedAtB): bit-identical to
 * one thread, with the helper having computed a chunk; and when the helper fails before or after a chunk, the chunk is
 * redone here and the result is unchanged.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { lstmCell, type LstmParams } from "../lib/lstm.ts";
import { simpleRnnCell, type RnnParams } from "../lib/rnn.ts";
import { bpttForward, bpttBackward } from "../lib/bptt.ts";
import { SequenceWorkspace } from "../lib/bptt-sequence.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { Adam } from "../lib/optimizers.ts";
import { LSTM } from "../lib/recurrent.ts";
import { setThreads, getThreads, helperStats, failHelperAtNextChunk, helperRoundTrip } from "../lib/threads.ts";
import { Rng } from "../lib/random.ts";
import { randn, bitIdentical } from "./_helpers.ts";

interface Case {
  N: number; T: number; F: number; u: number; rnn?: boolean;
  dhs?: boolean; h0?: boolean; truncate?: number; initialStateGrad?: boolean;
}

/**
 * A forward and backward pass of an LSTM (or a tanh SimpleRNN) through bptt.ts in a workspace (as a layer runs it), twice
 * (the second reuses the arrays): every output of both.
 */
function sequencePass(c: Case, beforeBackward: () => void = () => {}, seed = 5): Tensor[] {
  const rng = new Rng(seed);
  const G = c.rnn ? c.u : 4 * c.u;
  const W = randn([c.F, G], rng, 0.3), U = randn([c.u, G], rng, c.rnn ? 0.15 : 0.1), b = randn([G], rng, 0.3);
  const x = randn([c.N, c.T, c.F], rng), dhT = randn([c.N, c.u], rng);
  const dhs = c.dhs ? randn([c.N, c.T, c.u], rng) : undefined;
  const h0 = c.h0 ? randn([c.N, c.u], rng) : undefined, c0 = c.h0 && !c.rnn ? randn([c.N, c.u], rng) : undefined;
  const workspace = new SequenceWorkspace();
  const out: Tensor[] = [];
  for (let rep = 0; rep < 2; rep++) {
    const opts = { dhT, dhs, truncate: c.truncate, initialStateGrad: c.initialStateGrad ?? false, stepNorms: false };
    if (c.rnn) {
      const cell = simpleRnnCell("tanh"), p: RnnParams = { Whx: W, Whh: U, bh: b };
      const f = bpttForward(cell, p, x, { h0 }, { workspace });
      out.push(f.hs);
      beforeBackward();
      const r = bpttBackward(cell, p, f, opts);
      out.push(r.grads.Whx, r.grads.Whh, r.grads.bh, ...(r.dx ? [r.dx] : []), ...(r.dh0 ? [r.dh0] : []));
    } else {
      const cell = lstmCell(), p: LstmParams = { W, U, b };
      const f = bpttForward(cell, p, x, { h0, c0 }, { workspace });
      out.push(f.hs, f.cs as Tensor);
      beforeBackward();
      const r = bpttBackward(cell, p, f, opts);
      out.push(r.grads.W, r.grads.U, r.grads.b, ...(r.dx ? [r.dx] : []), ...(r.dh0 ? [r.dh0] : []), ...(r.dc0 ? [r.dc0] : []));
    }
  }
  return out;
}

/**
 * `run()` on 2 threads, repeated until the helper has computed a chunk of every one of `tasks` in the same run (on a busy
 * machine this thread may take them all, and would compare one thread with one thread), at most 50 times.
 */
function withHelperChunks<T>(tasks: string[], run: () => T): T {
  setThreads(2);
  // first an empty job there and back, so that a helper still starting is up
  helperRoundTrip();
  try {
    for (let i = 0; i < 50; i++) {
      const before = helperStats().chunksByTask;
      const r = run();
      const after = helperStats().chunksByTask;
      if (tasks.every((t) => (after[t] ?? 0) > (before[t] ?? 0))) return r;
    }
    throw new Error(`the helper computed no chunk of one of ${tasks.join(", ")} in 50 tries`);
  } finally {
    setThreads(1);
  }
}

/** The band tasks of a case's cell. */
const bandTasks = (c: Case): string[] => (c.rnn ? ["rnnBandForward", "rnnBandBackward"] : ["lstmBandForward", "lstmBandBackward"]);

const cases: Case[] = [
  { N: 32, T: 40, F: 1, u: 128 },
  { N: 64, T: 50, F: 2, u: 32 },
  { N: 19, T: 30, F: 3, u: 64, dhs: true, h0: true, initialStateGrad: true },
  { N: 40, T: 20, F: 2, u: 48, truncate: 7, initialStateGrad: true },
  { N: 32, T: 17, F: 3, u: 64, dhs: true, truncate: 4 },
  { N: 64, T: 50, F: 2, u: 64, rnn: true },
  { N: 27, T: 40, F: 3, u: 48, rnn: true, dhs: true, h0: true, initialStateGrad: true },
  { N: 32, T: 30, F: 2, u: 64, rnn: true, truncate: 6, initialStateGrad: true },
];

test("the LSTM's and the tanh SimpleRNN's forward and backward loops on 2 threads, by rows of the batch: bit-identical to 1 thread", () => {
  for (const c of cases) {
    const one = sequencePass(c);
    const two = withHelperChunks(bandTasks(c), () => sequencePass(c));
    assert.is(two.length, one.length);
    one.forEach((t, i) => assert.ok(bitIdentical(t, two[i]), `${JSON.stringify(c)}: output ${i} differs`));
  }
});

test("training LSTM(32) → LSTM(32) → Dense(1) for 3 Adam steps on 2 threads: the same weights, bit for bit", () => {
  const train = (): Float64Array[] => {
    const rng = new Rng(7);
    const m = new Sequential({ seed: 3 });
    m.add(new LSTM(32, { inputShape: [40, 2], returnSequences: true })).add(new LSTM(32)).add(new Dense(1));
    m.compile({ loss: "mse", optimizer: new Adam() });
    const x = randn([48, 40, 2], rng), y = randn([48, 1], rng);
    for (let s = 0; s < 3; s++) m.trainStep(x, y);
    return m.trainableParams().map((p) => p.value.data.slice());
  };
  const one = train(), two = withHelperChunks(["lstmBandForward", "lstmBandBackward"], train);
  one.forEach((w, i) => assert.ok(w.every((v, j) => Object.is(v, two[i][j])), `weight ${i} differs`));
});

test("a helper that fails after a chunk of a forward loop or before one of a backward loop (LSTM, SimpleRNN): the chunk is redone here (the forward's inputs restored), the result is unchanged, threading turns off", () => {
  const lstm = cases[0], rnn = cases[5];
  for (const [c, when, task] of [[lstm, "after", "lstmBandForward"], [lstm, "before", "lstmBandBackward"], [rnn, "after", "rnnBandForward"], [rnn, "before", "rnnBandBackward"]] as const) {
    let failedThere = false;
    for (let i = 0; i < 50 && !failedThere; i++) {
      // 2 threads first, then the reference, with a new seed each time: the arrays a failed chunk would leave
      // unwritten then hold an earlier pass's numbers, which are wrong for this one
      const seed = 100 * (1 + ["lstmBandForward", "lstmBandBackward", "rnnBandForward", "rnnBandBackward"].indexOf(task)) + i;
      setThreads(2);
      const before = helperStats().redone;
      // after a chunk of the forward loop, its rows of x(t)·W have been overwritten by the gates, and must be restored;
      // before a chunk of the backward loop, its rows of dz have not been written at all
      if (when === "after") failHelperAtNextChunk("after");
      const two = sequencePass(c, () => {
        if (when === "before" && getThreads() === 2) failHelperAtNextChunk("before");
      }, seed);
      const s = helperStats();
      failedThere = s.redone === before + 1 && s.lastRedoneTask === task;
      setThreads(1);
      const one = sequencePass(c, undefined, seed);
      one.forEach((t, k) => assert.ok(bitIdentical(t, two[k]), `${task}: output ${k} differs`));
      if (s.redone > before) assert.is(getThreads(), 1, "threading turned itself off");
    }
    assert.ok(failedThere, `the helper failed in no ${task} in 50 tries`);
  }
});

test.run();
