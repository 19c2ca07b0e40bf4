/** Chapter 09's pieces: the long-range tasks, the hand-set memory cell and its carousel, the momentum schedule, and the chapter's bad-input paths. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runScript, chapterPath } from "./_helpers.ts";
import { Rng } from "../lib/random.ts";
import { Tensor } from "../lib/matrix.ts";
import { addingProblem, temporalOrderProblem, scoreTask, ADDING_BASELINE_MSE } from "../chapters/_shared/long-range-tasks.ts";
import { memoryCellDemo } from "../chapters/_shared/memory-cell.ts";
import { momentumSchedule } from "../chapters/_shared/four-ways.ts";

test("adding problem: two marks (one in the first 10 steps, one in the first T/2 − 1), end markers −1, target 0.5 + (X1 + X2)/4", () => {
  for (const T of [12, 13, 30, 100]) {
    const { x, y } = addingProblem(400, T, new Rng(T));
    for (let n = 0; n < 400; n++) {
      const marks: number[] = [];
      for (let t = 0; t < T; t++) {
        const v = x.data[(n * T + t) * 2], m = x.data[(n * T + t) * 2 + 1];
        assert.ok(v >= -1 && v <= 1);
        if (m === 1) marks.push(t);
        else if (t === 0 || t === T - 1) assert.is(m, -1);
        else assert.is(m, 0);
      }
      assert.is(marks.length, 2, `sequence ${n}: marks at ${marks}`);
      assert.ok(marks[0] < 10 && marks.some((t) => t < Math.floor(T / 2) - 1), `marks ${marks} at T = ${T}`);
      const sum = marks.reduce((s, t) => s + x.data[(n * T + t) * 2], 0);
      assert.ok(Math.abs(y.data[n] - (0.5 + sum / 4)) < 1e-15);
    }
  }
  // seeded: the same seed gives the same data
  assert.equal(addingProblem(5, 20, new Rng(3)).x.data, addingProblem(5, 20, new Rng(3)).x.data);
});

test("adding problem: predicting the mean gives MSE ≈ 1/24 and solves ≈ 16% of sequences", () => {
  const { y } = addingProblem(20000, 30, new Rng(1));
  const s = scoreTask(new Tensor(y.shape, new Float64Array(y.size).fill(0.5)), y, 0.04);
  assert.ok(Math.abs(s.mse - ADDING_BASELINE_MSE) < 0.06 * ADDING_BASELINE_MSE, `MSE ${s.mse}`);
  assert.ok(s.solvedFraction > 0.13 && s.solvedFraction < 0.19, `solved ${s.solvedFraction}`);
});

test("adding problem: T < 12 is an error that says why", () => {
  assert.throws(() => addingProblem(1, 11, new Rng(1)), /T must be a whole number ≥ 12, got 11 \(it needs room for a mark among the first 10 steps/);
});

test("temporal order: B first, E last, X/Y at 10–20% and 50–60%, one-hot class of their order", () => {
  const T = 100, { x, y } = temporalOrderProblem(300, T, new Rng(2));
  for (let n = 0; n < 300; n++) {
    const sym: number[] = [];
    for (let t = 0; t < T; t++) {
      const row = Array.from(x.data.subarray((n * T + t) * 8, (n * T + t + 1) * 8));
      assert.is(row.reduce((a, b) => a + b, 0), 1);
      sym.push(row.indexOf(1));
    }
    assert.is(sym[0], 4);
    assert.is(sym[T - 1], 5);
    const xy = sym.map((s, t) => (s >= 6 ? t : -1)).filter((t) => t >= 0);
    assert.is(xy.length, 2);
    assert.ok(xy[0] >= 10 && xy[0] <= 20 && xy[1] >= 50 && xy[1] <= 60, `X/Y at ${xy}`);
    const cls = 2 * (sym[xy[0]] - 6) + (sym[xy[1]] - 6);
    assert.equal(Array.from(y.data.subarray(n * 4, n * 4 + 4)), [0, 1, 2, 3].map((k) => (k === cls ? 1 : 0)));
  }
  assert.throws(() => temporalOrderProblem(1, 19, new Rng(1)), /T must be a whole number ≥ 20, got 19/);
});

test("memory cell by hand: holds a value 500 steps and reads it out; the carousel keeps the gradient, the SimpleRNN's vanishes", () => {
  const r = memoryCellDemo(500, new Rng(0), 50);
  assert.is(r.heldSteps, 500);
  assert.ok(r.readoutError < 1e-6, `read back ${r.readBack} for ${r.stored}`);
  // the gates: write open only at t_w, read open only at t_r, keep ≈ 1 in between
  assert.ok(r.gates.i[r.tWrite] > 0.99 && r.gates.o[r.tRead] > 0.99 && r.gates.f[r.tWrite] < 1e-6);
  for (let t = r.tWrite + 1; t < r.tRead; t++) assert.ok(r.gates.i[t] < 1e-6 && r.gates.o[t] < 1e-6 && r.gates.f[t] > 1 - 1e-9);
  // ∂L/∂c(t_w) = ∂L/∂c(t_r) · Π f over the steps in between (the carousel)
  let prodF = 1;
  for (let t = r.tWrite + 1; t <= r.tRead; t++) prodF *= r.gates.f[t];
  assert.ok(Math.abs(r.cecGradRatio - prodF) < 1e-12, `${r.cecGradRatio} against Π f = ${prodF}`);
  assert.ok(r.cecGradRatio > 0.999);
  assert.ok(r.rnnGradRatio < 1e-10, `SimpleRNN keeps ${r.rnnGradRatio}`);
  // the SimpleRNN's norms fall with k
  for (let i = 1; i < r.carousel.length; i++) assert.ok(r.carousel[i].rnnDh < r.carousel[i - 1].rnnDh);
});

test("the momentum schedule rises 0.5, 0.75, … towards its cap", () => {
  assert.is(momentumSchedule(0, 0.99, 250), 0.5);
  assert.is(momentumSchedule(250, 0.99, 250), 0.75);
  assert.ok(Math.abs(momentumSchedule(750, 0.99, 250) - 0.875) < 1e-15);
  assert.is(momentumSchedule(1e6, 0.99, 250), 0.99);
});

const chapter = chapterPath("09-four-ways");
const run = (...args: string[]) => runScript(chapter, args);

test("chapter 09: bad input gets one clear message and a non-zero exit, before any training", () => {
  for (const [args, code, pattern] of [
    [["--T", "11"], 2, /--T must be at least 12, got 11/],
    [["--task", "copy"], 2, /--task must be one of adding, order; got 'copy'/],
    [["--way", "gru"], 2, /--way must be one of all, lstm, hessian-free, esn, esn-init-momentum, plain-sgd/],
    [["--cg-iters", "0"], 2, /--cg-iters must be at least 1, got 0/],
    [["--rho", "0"], 2, /--rho must be greater than 0, got 0/],
    [["--T", "5000"], 2, /--T must be at most 1000, got 5000: it would need about [\d.]+ GB of memory/],
  ] as const) {
    const r = run(...args);
    assert.is(r.code, code, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, pattern);
    assert.not.match(r.err, /\n\s+at /); // no stack trace
  }
});

test("chapter 09: --sweep with one ablation (no main way to sweep) finishes and prints its JSON", () => {
  // the sweep's list of ways is empty here: the worker pool must settle at once, not leave the chapter hanging
  const r = run("--quick", "--way", "lstm-forget-bias-0", "--sweep", "--json");
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.is(j.ablations.length, 1);
  assert.is(j.ways.length, 0);
});

test.run();
