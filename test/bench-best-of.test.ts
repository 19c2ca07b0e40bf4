/** The benchmark's best of several processes (bench/best-of.ts): which value of a figure is the better, and the merge. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { direction, bestOf, measurements, spread, unclassified } from "../bench/best-of.ts";

test("times are better small, rates large, sizes and labels are kept", () => {
  assert.is(direction(["cnn", "digitsEpochMs"]), "min");
  assert.is(direction(["rnnChapters", "extrapolationMs", "lstm_2layers"]), "min");
  assert.is(direction(["rnn", "bpttStepVsSequence", "stepMs"]), "min");
  assert.is(direction(["cnn", "mnistImagesPerSec"]), "max");
  assert.is(direction(["matmul", "[AB n=256]", "gflops"]), "max");
  assert.is(direction(["matmul2Threads"]), "max");
  assert.is(direction(["rnn", "lstm128T100Ms2Threads"]), "min");
  assert.is(direction(["rnn", "lstm128T100Ms1ThreadWall"]), "min");
  assert.is(direction(["rnnChapters", "householderQRMs", "n"]), "same");
  assert.is(direction(["matmul", "[AB n=256]", "n"]), "same");
  assert.is(direction(["rnnChapters", "extrapolationEpochs"]), "same");
});

test("bestOf takes each figure's better value, keeps every run of a list of runs, and leaves sizes alone", () => {
  const a = { cnn: { digitsEpochMs: 20, mnistImagesPerSec: 4000 }, matmul: [{ n: 256, form: "AB", gflops: 6 }], runs: { extrapolationRunsMs: { rnn: [120, 130] } }, matmul2Threads: 9 };
  const b = { cnn: { digitsEpochMs: 18, mnistImagesPerSec: 3500 }, matmul: [{ n: 256, form: "AB", gflops: 7 }], runs: { extrapolationRunsMs: { rnn: [110] } }, matmul2Threads: 11 };
  assert.equal(bestOf(a, b), {
    cnn: { digitsEpochMs: 18, mnistImagesPerSec: 4000 },
    matmul: [{ n: 256, form: "AB", gflops: 7 }],
    runs: { extrapolationRunsMs: { rnn: [120, 130, 110] } },
    matmul2Threads: 11,
  });
});

test("measurements names every time and rate by its path, list items by their labels", () => {
  const m = measurements({ matmul: [{ n: 64, form: "AB", gflops: 6.5 }], cnn: { digitsEpochMs: 19 }, rnnChapters: { householderQRMs: { n: 500, fast: 108 } } });
  assert.equal([...m.entries()], [["matmul[n=64 AB].gflops", 6.5], ["cnn.digitsEpochMs", 19], ["rnnChapters.householderQRMs.fast", 108]]);
});

test("spread is the largest over the smallest value, less one", () => {
  assert.ok(Math.abs(spread([10, 11.5, 10.5]) - 0.15) < 1e-12);
  assert.is(spread([4, 4]), 0);
});

test("bestOf refuses processes that disagree on a size, a label or a list's length", () => {
  assert.throws(() => bestOf({ m: [{ n: 64, gflops: 1 }] }, { m: [{ n: 128, gflops: 2 }] }), /disagree on m\.\[n=64\]\.n: 64 and 128/);
  assert.throws(() => bestOf({ m: [{ form: "AB", gflops: 1 }] }, { m: [{ form: "AtB", gflops: 2 }] }), /disagree/);
  assert.throws(() => bestOf({ m: [{ n: 64, gflops: 1 }] }, { m: [] }), /1 and 0 entries/);
  assert.throws(() => bestOf({ a: { xMs: 1 } }, { a: { yMs: 1 } }), /keys of a/);
});

test("unclassified names the numbers that are neither times, rates, sizes nor labels", () => {
  assert.equal(unclassified({ rnn: { lstm128T100Ms2Threads: 1, ratio: 2, stats: { parts: 3 } }, matmul: [{ n: 64, gflops: 6 }], epochs: 150 }), ["rnn.ratio", "rnn.stats.parts"]);
});

test.run();
