/**
 * Chapter 07: hidden-state models, the lecture's comparison of sequence models.
 *
 *   npx tsx chapters/07-hidden-state-models.ts [--part ar|lds|hmm|belief|all] [--out DIR] [--seed N] [--quick] [--json]
 *
 * ar:     memoryless models (AR(p) by least squares, a feed-forward net on 4 taps, the chapter 06
 *         SimpleRNN) on the lecture's noisy sine, and on a noisy logistic map where non-linearity pays.
 * lds:    a linear dynamical system and the Kalman filter; its one-step predictor against AR(p) and an RNN.
 * hmm:    a 3-state HMM (a dishonest casino): forward filtering, forward–backward, Viterbi, Baum–Welch.
 * belief: a GRU trained to predict the HMM's next symbol; its predictive distribution against the
 *         forward algorithm's, and a linear readout of the belief p(s_t | o_1..t) from h(t).
 *
 * The algorithms live in lib/sequence-models/ (ar.ts, kalman.ts, hmm.ts, readout.ts).
 */
import { join } from "node:path";
import { runChapter, type ChapterIO } from "./_shared/cli.ts";
import { lineChart, table, fmt, isTTY } from "./_shared/plot.ts";
import { heatmap } from "./_shared/heatmap.ts";
import { writeCsv } from "./_shared/csv.ts";
import { sineWindows, lectureSineRnn, convertToMatrix, padWithLast } from "./_shared/sine-data.ts";
import { noisyLogisticMap, oscillatorLds, dishonestCasino, CASINO_STATES, CASINO_FACES } from "./_shared/hidden-state-data.ts";
import { Rng } from "../lib/random.ts";
import { Tensor } from "../lib/matrix.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { SimpleRNN, GRU } from "../lib/recurrent.ts";
import { RMSprop, Adam } from "../lib/optimizers.ts";
import { type Mat, matMul, transposeMat } from "../lib/linalg.ts";
import { fitArWindows, arWindows, arMSE, arPredict } from "../lib/sequence-models/ar.ts";
import { kalmanFilter, sampleLds, riccatiSteadyState } from "../lib/sequence-models/kalman.ts";
import { type Hmm, forward, forwardBackward, viterbi, sampleHmm, baumWelch, randomHmm, matchStates, predictNext } from "../lib/sequence-models/hmm.ts";
import { fitReadout, applyReadout, rSquared, emaOfOneHot } from "../lib/sequence-models/readout.ts";

const PARTS = ["ar", "lds", "hmm", "belief", "all"] as const;
type Part = (typeof PARTS)[number];

interface Ctx {
  seed: number;
  quick: boolean;
  json: boolean;
  out: string | undefined;
  io: ChapterIO;
}

const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const r4 = (x: number) => Number(x.toPrecision(6));

/** A matrix as aligned text rows. */
function matText(M: readonly (readonly number[])[], indent = "    ", digits = 3): string[] {
  return M.map((r) => indent + r.map((v) => v.toFixed(digits).padStart(digits + 3)).join(""));
}

/** A model's MSE on windows given as a tensor batch. */
function tensorMSE(pred: Tensor, y: Tensor): number {
  let s = 0;
  for (let i = 0; i < y.size; i++) s += (pred.data[i] - y.data[i]) ** 2;
  return s / y.size;
}

/** Trains with a progress line per epoch, and per batch within it (a GRU epoch can take seconds). */
function fitWithProgress(model: Sequential, x: Tensor, y: Tensor, epochs: number, batchSize: number, label: string, io: ChapterIO, onEpoch?: (e: number) => void): void {
  const batches = Math.ceil(x.shape[0] / batchSize);
  const h = model.fit(x, y, {
    epochs, batchSize, verbose: 0, log: () => {},
    onBatchEnd: (e, step, loss) => {
      io.progress(`${label}: epoch ${e}/${epochs}, batch ${step}/${batches}  loss ${fmt(loss, 4)}`);
    },
    onEpochEnd: (e, logs) => {
      io.progress(`${label}: epoch ${e + 1}/${epochs}  loss ${fmt(logs.loss, 4)}`);
      onEpoch?.(e);
    },
  });
  io.progressDone();
  if (h.stopped) throw new Error(`${label}: ${h.stopped.message}`);
}

/** The feed-forward counterpart of the lecture's network: Dense(32, relu) → Dense(8, relu) → Dense(1) on p taps. */
function feedForward(p: number, seed: number): Sequential {
  const m = new Sequential({ seed, name: "feed_forward" });
  m.add(new Dense(32, { activation: "relu", inputShape: [p] }));
  m.add(new Dense(8, { activation: "relu" }));
  m.add(new Dense(1));
  m.compile({ loss: "mean_squared_error", optimizer: new RMSprop() });
  return m;
}

const windowsTensor = (w: number[][], shape: number[]) => new Tensor(shape, Float64Array.from(w.flat()));

// ================================================================ part 1: memoryless models

function partAr(c: Ctx) {
  const { io, quick } = c;
  const epochs = quick ? 3 : 100, batchSize = 16, P = [1, 2, 3, 4, 5, 6, 7, 8], Tp = 800;
  io.print("== Part ar: memoryless models (delay taps) on the lecture's noisy sine", "");
  const sine = sineWindows({ rng: new Rng(c.seed) });
  const { values, clean } = sine.series;
  const test = values.slice(Tp);
  io.print(`  x(t) = sin(0.02 t) + 2·U(0, 1), N = 1000, train 800 / test 200, windows of p taps as convertToMatrix writes them (chapter 06's data, seed ${c.seed}).`);

  // AR(p), p = 1 … 8, on the lecture's padded windows; AR(4)'s fit is kept for the --out table
  const arFits = P.map((p) => {
    const tr = convertToMatrix(padWithLast(values.slice(0, Tp), p), p);
    const te = convertToMatrix(padWithLast(test, p), p);
    const model = fitArWindows(tr.X, tr.Y);
    return { model, testMSE: arMSE(model, te.X, te.Y) };
  });
  const arTestMSE = arFits.map((f) => f.testMSE);
  const ar4 = arFits[P.indexOf(4)].model;

  // the feed-forward net on the same 4 taps, and the chapter 06 SimpleRNN
  const nTr = sine.trainX.shape[0], nTe = sine.testX.shape[0];
  const ff = feedForward(4, c.seed);
  fitWithProgress(ff, sine.trainX.reshape([nTr, 4]), sine.trainY, epochs, batchSize, "feed-forward on the sine", io);
  const ffPred = ff.predict(sine.testX.reshape([nTe, 4]));
  const ffTestMSE = tensorMSE(ffPred, sine.testY);
  const rnn = lectureSineRnn({ seed: c.seed });
  fitWithProgress(rnn, sine.trainX, sine.trainY, epochs, batchSize, "SimpleRNN on the sine", io);
  const rnnPred = rnn.predict(sine.testX);
  const rnnTestMSE = tensorMSE(rnnPred, sine.testY);

  // the ideal predictor knows sin(0.02 t) and the noise's mean 1; its error is the noise, variance 4/12 = 1/3
  const noiseFloor = 1 / 3;
  const targetTime = (i: number) => Tp + Math.min(i + 4, test.length - 1);
  const ideal = Array.from({ length: nTe }, (_, i) => clean[targetTime(i)] + 1);
  const idealMSE = mean(ideal.map((v, i) => (v - sine.testY.data[i]) ** 2));

  // Four taps cannot reach the floor. If the sine (variance ½) were constant over the window, the best linear
  // estimate from four noisy taps (noise variance 1/3 each) would leave ½·(1/12)/(½ + 1/12) of it, so the best
  // 4-tap predictor's MSE is about 1/3 + that ≈ 0.405.
  const fourTapLimit = noiseFloor + (0.5 * (noiseFloor / 4)) / (0.5 + noiseFloor / 4);
  io.print("", table(["p", "AR(p) test MSE", "/ (1/3)"], P.map((p, i) => [p, arTestMSE[i], arTestMSE[i] / noiseFloor])), "");
  const rows: [string, number][] = [["AR(4), least squares", arTestMSE[3]], ["feed-forward 32-8-1 on 4 taps", ffTestMSE], ["SimpleRNN(32) of chapter 06", rnnTestMSE], ["ideal predictor sin(0.02 t) + 1", idealMSE], ["noise floor Var[2·U(0,1)] = 1/3", noiseFloor], ["best 4-tap predictor if the sine were constant over 4 steps", fourTapLimit]];
  io.print(table(["predictor (test windows)", "MSE", "MSE / (1/3)"], rows.map(([n, v]) => [n, v, v / noiseFloor])), "");
  // How precisely 200 test windows measure an MSE: the standard error of the mean squared error of the
  // ideal predictor, whose errors are the noise itself.
  const sq = ideal.map((v, i) => (v - sine.testY.data[i]) ** 2);
  const se = Math.sqrt(mean(sq.map((v) => (v - idealMSE) ** 2)) / sq.length);
  const three = [arTestMSE[3], ffTestMSE, rnnTestMSE];
  const furthest = Math.max(...three.map((v) => Math.abs(v - fourTapLimit)));
  io.print(`  ${nTe} test windows measure an MSE to about ±${fmt(se, 2)} (one standard error, from the ideal predictor's squared errors).`);
  io.print(furthest <= 3 * se
    ? `  All three sit at the level four taps allow: each is within ${fmt(furthest / se, 2)} standard errors of ${fmt(fourTapLimit, 3)} (tolerance 3),`
      + `\n  ${fmt(Math.min(...three) / noiseFloor, 3)}–${fmt(Math.max(...three) / noiseFloor, 3)} × the noise floor. Over four steps of 0.02 rad the sine is nearly constant, so the`
      + "\n  non-linear models find nothing that a linear average of the taps misses; only more taps (AR(8): " + fmt(arTestMSE[7] / noiseFloor, 3) + " × 1/3) come"
      + "\n  closer to the floor."
    : `  The three do NOT all sit at the 4-tap level: the furthest is ${fmt(furthest / se, 3)} standard errors from ${fmt(fourTapLimit, 3)} (tolerance 3)${quick ? " (--quick trains only " + epochs + " epochs)" : ""}.`);
  if (!c.json) {
    io.print("", lineChart([Array.from(sine.testY.data), ffPred.data.length ? Array.from(ffPred.data) : [], Array.from(rnnPred.data), ideal], {
      title: "Test windows: the noisy target, the feed-forward net, the SimpleRNN and the ideal predictor", legend: ["target x(t)", "feed-forward", "SimpleRNN", "sin(0.02 t) + 1"], height: 10, xLabel: `test window 1 … ${nTe}`,
    }));
  }

  // a non-linear AR process: the noisy logistic map
  const xs = noisyLogisticMap(1000, new Rng(c.seed + 1));
  const { windows, targets } = arWindows(xs, 4);
  const split = Tp - 4; // windows whose target lies before t = 800 train
  const arL = fitArWindows(windows.slice(0, split), targets.slice(0, split));
  const arL_MSE = arMSE(arL, windows.slice(split), targets.slice(split));
  const ffL = feedForward(4, c.seed + 1);
  fitWithProgress(ffL, windowsTensor(windows.slice(0, split), [split, 4]), new Tensor([split, 1], Float64Array.from(targets.slice(0, split))), epochs, batchSize, "feed-forward on the logistic map", io);
  const nL = windows.length - split;
  const ffLPred = ffL.predict(windowsTensor(windows.slice(split), [nL, 4]));
  const ffL_MSE = mean(Array.from(ffLPred.data, (v, i) => (v - targets[split + i]) ** 2));
  const ratio = ffL_MSE / arL_MSE;
  io.print("", "  A second series, where the next value is a non-linear function of the last: the noisy logistic map",
    "  x(t+1) = 3.8 x(t)(1 − x(t)) + N(0, 0.02²), reflected into [0, 1]; 4 taps, train t < 800, test t ≥ 800.", "",
    table(["predictor", "test MSE"], [["AR(4), least squares", arL_MSE], ["feed-forward 32-8-1 on 4 taps", ffL_MSE], ["noise floor 0.02²", 0.0004]]), "",
    ratio <= 0.7
      ? `  The feed-forward net's non-linear hidden units beat the linear fit: ${fmt(ratio, 3)} × the AR MSE (target ≤ 0.7).`
      : `  The feed-forward net does NOT beat the linear fit by the target margin: ${fmt(ratio, 3)} × the AR MSE (target ≤ 0.7)${quick ? "; --quick trains only " + epochs + " epochs" : ""}.`);
  if (!c.json) {
    const k = 60;
    io.print("", lineChart([targets.slice(split, split + k), Array.from(ffLPred.data.subarray(0, k)), windows.slice(split, split + k).map((w) => arPredict(arL, w))], {
      title: `Logistic map, first ${k} test steps: the truth, the feed-forward net and AR(4)`, legend: ["x(t)", "feed-forward", "AR(4)"], height: 10, xLabel: "test step",
    }));
  }
  if (c.out) {
    writeCsv(join(c.out, "ar_mse.csv"), ["p", "arTestMSE"], P.map((p, i) => [p, arTestMSE[i]]));
    writeCsv(join(c.out, "ar_sine_test.csv"), ["window", "target", "ar4", "feedForward", "simpleRnn", "ideal"], ideal.map((v, i) => [i, sine.testY.data[i], arPredict(ar4, Array.from(sine.testX.data.subarray(4 * i, 4 * i + 4))), ffPred.data[i], rnnPred.data[i], v]));
    writeCsv(join(c.out, "ar_logistic_test.csv"), ["t", "target", "ar4", "feedForward"], Array.from(ffLPred.data, (v, i) => [Tp + i, targets[split + i], arPredict(arL, windows[split + i]), v]));
  }
  io.print("");
  return {
    p: P, arTestMSE: arTestMSE.map(r4), ffTestMSE: r4(ffTestMSE), rnnTestMSE: r4(rnnTestMSE), noiseFloor, idealMSE: r4(idealMSE), fourTapLimit: r4(fourTapLimit),
    nonlinear: { arTestMSE: r4(arL_MSE), ffTestMSE: r4(ffL_MSE) },
  };
}

// ================================================================ part 2: LDS and the Kalman filter

/** The spectral radius of a 2×2 matrix, from its characteristic polynomial. */
function spectralRadius2(M: Mat): number {
  const tr = M[0][0] + M[1][1], det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
  const disc = tr * tr - 4 * det;
  if (disc < 0) return Math.sqrt(det);
  const s = Math.sqrt(disc);
  return Math.max(Math.abs((tr + s) / 2), Math.abs((tr - s) / 2));
}

function partLds(c: Ctx) {
  const { io, quick } = c;
  const r = 0.98, theta = 0.3, q = 0.01, obsVar = 0.1;
  const lds = oscillatorLds(r, theta, q, obsVar);
  const n = quick ? 1000 : 6000, nTr = quick ? 700 : 4000, W = 30, units = 8, epochs = quick ? 2 : 25;
  io.print("== Part lds: a linear dynamical system and the Kalman filter", "");
  io.print(`  h(t) = A h(t−1) + w,  A = ${r}·rotation(${theta}),  Q = ${q}·I;   y(t) = h₁(t) + v,  R = ${obsVar};   ${n} steps, train ${nTr} / test ${n - nTr}.`);
  const { h, y: ys } = sampleLds(lds, n, new Rng(c.seed + 2));
  const y = ys.map((v) => v[0]);
  const kf = kalmanFilter(lds, ys);
  const testT = Array.from({ length: n - nTr }, (_, i) => nTr + i);
  const kalmanMSE = mean(testT.map((t) => (y[t] - kf.yPred[t][0]) ** 2));
  const ss = riccatiSteadyState(lds);
  const theory = ss.predicted[0][0] + obsVar;

  // AR(p): fitted on the training part, predicting each test y(t) from y(t−p … t−1)
  const P = [1, 2, 3, 4, 5, 6, 7, 8];
  const arMSEs = P.map((p) => {
    const tr = arWindows(y.slice(0, nTr), p);
    const m = fitArWindows(tr.windows, tr.targets);
    return arMSE(m, testT.map((t) => y.slice(t - p, t)), testT.map((t) => y[t]));
  });

  // a SimpleRNN on windows of W observations
  const mk = (ts: number[]) => [windowsTensor(ts.map((t) => y.slice(t - W, t)), [ts.length, W, 1]), new Tensor([ts.length, 1], Float64Array.from(ts.map((t) => y[t])))] as const;
  const [xTr, yTr] = mk(Array.from({ length: nTr - W }, (_, i) => W + i));
  const [xTe, yTe] = mk(testT);
  const model = new Sequential({ seed: c.seed, name: "lds_rnn" });
  model.add(new SimpleRNN(units, { inputShape: [W, 1] }));
  model.add(new Dense(1));
  const opt = new Adam({ learningRate: 0.005 });
  model.compile({ loss: "mean_squared_error", optimizer: opt });
  // the step size shrinks by 0.85 per epoch, so that the last epochs settle instead of jittering
  fitWithProgress(model, xTr, yTr, epochs, 32, `SimpleRNN(${units}) on the LDS`, io, () => { opt.learningRate *= 0.85; });
  const rnnMSE = tensorMSE(model.predict(xTe), yTe);

  // why these values: the signal, the noise, and how far back the optimal predictor looks
  const signalVar = q / (1 - r * r);
  const K = ss.predicted.map((row) => row[0] / (ss.predicted[0][0] + obsVar)); // P∞(t|t−1) Cᵀ S⁻¹ with C = [1, 0]
  const closedLoop = matMul(lds.A, [[1 - K[0], 0], [-K[1], 1]]); // A (I − K C)
  const rho = spectralRadius2(closedLoop);
  const taps = Math.ceil(Math.log(0.01) / Math.log(rho));
  io.print("",
    `  Why these values make the comparison meaningful: the hidden signal h₁ has variance q/(1 − r²) = ${fmt(signalVar, 4)} and the`,
    `  observation noise ${obsVar} is ${fmt((100 * obsVar) / signalVar, 3)}% of it, so one observation says little; r = ${r} keeps the rotation going`,
    `  for about 1/(1 − r) = ${fmt(1 / (1 - r), 3)} steps, so the past is worth averaging. The Kalman predictor is a linear filter of ALL past`,
    `  observations whose weights decay by ρ(A(I − K∞C)) = ${fmt(rho, 4)} per step: it needs about ${taps} taps to fall below 1%; AR(2) has two.`, "");
  io.print(table(["predictor of y(t) from y(1..t−1)", "test MSE", "/ Kalman"], [
    ["Kalman filter (the optimum for this model)", kalmanMSE, 1],
    ["  its expected value C P∞(t|t−1) Cᵀ + R", theory, theory / kalmanMSE],
    ...P.map((p, i) => [`AR(${p}), least squares on the training part`, arMSEs[i], arMSEs[i] / kalmanMSE] as [string, number, number]),
    [`SimpleRNN(${units}, tanh) on ${W}-step windows`, rnnMSE, rnnMSE / kalmanMSE],
  ]), "");
  const rnnOk = rnnMSE <= 1.05 * kalmanMSE, belowAr2 = rnnMSE < arMSEs[1];
  io.print(`  AR(2) is ${fmt(arMSEs[1] / kalmanMSE, 3)} × the Kalman MSE. ` + (rnnOk
    ? `The RNN approaches the Kalman figure: ${fmt(rnnMSE / kalmanMSE, 4)} × (target ≤ 1.05)`
    : `The RNN does NOT come within 5% of the Kalman figure: ${fmt(rnnMSE / kalmanMSE, 4)} ×${quick ? " (--quick trains " + epochs + " epochs)" : ""}`)
    + (belowAr2 ? ", below AR(2)." : `, and it is NOT below AR(2) (${fmt(arMSEs[1], 4)}).`));

  // the covariance recursion does not look at y
  const other = sampleLds(lds, 200, new Rng(c.seed + 3));
  const kf2 = kalmanFilter(lds, other.y);
  let covDiff = 0;
  for (let t = 0; t < 200; t++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) covDiff = Math.max(covDiff, Math.abs(kf2.cov[t][i][j] - kf.cov[t][i][j]));
  const wide = kalmanFilter({ ...lds, P0: [[4, 0], [0, 4]] }, ys.slice(0, 200));
  const gap = (Pt: Mat) => Math.max(...Pt.flatMap((row, i) => row.map((v, j) => Math.abs(v - ss.filtered[i][j]))));
  const settle = (cov: Mat[]) => cov.findIndex((Pt) => gap(Pt) < 1e-6) + 1;
  io.print("",
    `  Posterior covariance P(t|t): two different data sets give the same sequence (max difference ${covDiff} over 200 steps),`,
    `  because the Riccati recursion never reads y. From P0 = stationary and from P0 = 4·I it settles at the same steady state`,
    `  (within 1e-6 after ${settle(kf.cov)} and ${settle(wide.cov)} steps): P∞ = [[${ss.filtered[0].map((v) => fmt(v, 4)).join(", ")}], [${ss.filtered[1].map((v) => fmt(v, 4)).join(", ")}]].`);
  // coverage of the ±2σ band on the test part
  let inside = 0;
  for (const t of testT) if (Math.abs(h[t][0] - kf.mean[t][0]) <= 2 * Math.sqrt(kf.cov[t][0][0])) inside++;
  io.print(`  The truth h₁(t) lies inside μ ± 2σ at ${fmt((100 * inside) / testT.length, 3)}% of the test steps (a Gaussian's 95.4%).`);
  const show = 100, t0 = nTr;
  const band = (s: number) => Array.from({ length: show }, (_, i) => kf.mean[t0 + i][0] + s * 2 * Math.sqrt(kf.cov[t0 + i][0][0]));
  if (!c.json) {
    io.print("", lineChart([h.slice(t0, t0 + show).map((v) => v[0]), y.slice(t0, t0 + show), Array.from({ length: show }, (_, i) => kf.mean[t0 + i][0]), band(1), band(-1)], {
      title: `Kalman filter, test steps ${t0 + 1} … ${t0 + show}: truth h₁, observations y, filtered mean μ(t|t) and μ ± 2σ`,
      legend: ["truth h₁", "observed y", "μ(t|t)", "μ + 2σ", "μ − 2σ"], height: 14, xLabel: "t", width: 100,
    }));
    io.print("", lineChart([kf.cov.slice(0, 40).map((Pt) => Pt[0][0]), wide.cov.slice(0, 40).map((Pt) => Pt[0][0]), kf2.cov.slice(0, 40).map((Pt) => Pt[0][0])], {
      title: "P(t|t)₁₁ over the first 40 steps: P0 stationary (data set A), P0 = 4·I (data set A), P0 stationary (data set B)",
      legend: ["stationary P0, data A", "P0 = 4·I, data A", "stationary P0, data B"], height: 8, xLabel: "t",
    }));
  }
  if (c.out) {
    writeCsv(join(c.out, "lds_filter.csv"), ["t", "truth_h1", "truth_h2", "y", "mean_h1", "mean_h2", "sd_h1", "yPred", "yPredVar"], Array.from({ length: n }, (_, t) => [t + 1, h[t][0], h[t][1], y[t], kf.mean[t][0], kf.mean[t][1], Math.sqrt(kf.cov[t][0][0]), kf.yPred[t][0], kf.yPredCov[t][0][0]]));
    writeCsv(join(c.out, "lds_covariance.csv"), ["t", "P11_stationaryP0", "P11_wideP0", "P11_otherData", "P22_stationaryP0"], Array.from({ length: 200 }, (_, t) => [t + 1, kf.cov[t][0][0], wide.cov[t][0][0], kf2.cov[t][0][0], kf.cov[t][1][1]]));
    writeCsv(join(c.out, "lds_mse.csv"), ["predictor", "testMSE"], [["kalman", kalmanMSE], ...P.map((p, i) => [`ar${p}`, arMSEs[i]] as [string, number]), ["simpleRnn", rnnMSE]]);
  }
  io.print("");
  return { kalmanMSE: r4(kalmanMSE), arMSE: arMSEs.map(r4), rnnMSE: r4(rnnMSE), steadyStateCovariance: ss.filtered.map((row) => row.map(r4)) };
}

// ================================================================ part 3: the HMM

function partHmm(c: Ctx) {
  const { io, quick } = c;
  const truth = dishonestCasino();
  const nSeq = quick ? 60 : 200, T = 100, starts = quick ? 5 : 8, maxIter = quick ? 40 : 400;
  io.print("== Part hmm: a hidden Markov model with N = 3 states (a dishonest casino)", "");
  io.print("  States: a fair die, one loaded towards 6 and one towards 1 (p = 0.5 for the favoured face); keep the die with p = 0.95.");
  io.print("  True transition matrix A and emission matrix B (rows: fair, loaded-6, loaded-1; columns of B: faces 1 … 6):");
  io.print(...matText(truth.A), "", ...matText(truth.B), "");
  const rng = new Rng(c.seed + 4);
  const data = Array.from({ length: nSeq }, () => sampleHmm(truth, T, rng));
  const obs = data.map((d) => d.obs);
  let logLikTrue = 0, vitHits = 0, filtHits = 0, smoothHits = 0;
  for (const d of data) {
    const fb = forwardBackward(truth, d.obs);
    logLikTrue += fb.logLik;
    const argmax = (p: number[]) => p.indexOf(Math.max(...p));
    const vit = viterbi(truth, d.obs).path;
    d.states.forEach((s, t) => {
      if (vit[t] === s) vitHits++;
      if (argmax(fb.alphaHat[t]) === s) filtHits++;
      if (argmax(fb.gamma[t]) === s) smoothHits++;
    });
  }
  const total = nSeq * T;
  const viterbiAccuracy = vitHits / total;
  io.print(`  ${nSeq} sampled sequences of ${T} rolls. Under the true model: log p(o) = ${fmt(logLikTrue, 7)} (the scaled forward algorithm).`,
    `  Decoding the die at every roll: Viterbi path ${fmt(100 * viterbiAccuracy, 4)}%, argmax of the smoothing distribution ${fmt((100 * smoothHits) / total, 4)}%,`,
    `  argmax of the filtering distribution (past rolls only) ${fmt((100 * filtHits) / total, 4)}%.`, "");

  // the filtering distribution of the first sequence, under its true states
  const f0 = forward(truth, data[0].obs), fb0 = forwardBackward(truth, data[0].obs), v0 = viterbi(truth, data[0].obs).path;
  if (!c.json) {
    const stride = 4;
    const ts = Array.from({ length: Math.ceil(T / stride) }, (_, i) => i * stride);
    io.print(heatmap(ts.map((t) => f0.alphaHat[t]), {
      title: `Filtering distribution p(s_t | o_1..t) of sequence 1, every ${stride}th roll; * marks the true die`,
      rowLabels: ts.map((t) => `t=${t + 1}, face ${CASINO_FACES[data[0].obs[t]]}`), colLabels: CASINO_STATES, rowTitle: "roll", colTitle: "state",
      color: isTTY(), marks: ts.map((t) => CASINO_STATES.map((_, j) => data[0].states[t] === j)), range: [0, 1], digits: 2,
    }), "");
  }

  // Baum–Welch from random starts
  const runs: { ll: number; res: ReturnType<typeof baumWelch> }[] = [];
  for (let s = 0; s < starts; s++) {
    io.progress(`Baum–Welch: random start ${s + 1}/${starts}`);
    const res = baumWelch(obs, randomHmm(3, 6, rng), { maxIter, tol: 1e-6 });
    runs.push({ ll: res.logLiks[res.logLiks.length - 1], res });
  }
  io.progressDone();
  const best = runs.reduce((a, b) => (b.ll > a.ll ? b : a));
  const reached = runs.filter((r) => r.ll >= best.ll - 0.01).length;
  let minStep = Infinity;
  for (const r of runs) for (let i = 1; i < r.res.logLiks.length; i++) minStep = Math.min(minStep, r.res.logLiks[i] - r.res.logLiks[i - 1]);
  const monotone = minStep >= -1e-9;
  const m = matchStates(best.res.hmm, truth);
  io.print(`  Baum–Welch from ${starts} random starts (each row uniform on the simplex), until log p(o) rises by < 1e-6 or ${maxIter} iterations:`,
    ...runs.map((r, i) => `    start ${i + 1}: log p(o) = ${fmt(r.ll, 8)} after ${r.res.iterations} iterations${r.res.converged ? "" : " (iteration limit)"}`),
    `  ${reached} of ${starts} starts reached the best log-likelihood (within 0.01). ` + (monotone
      ? `The log-likelihood rose at every iteration of every start (smallest step ${minStep.toExponential(2)} ≥ −1e-9).`
      : `The log-likelihood FELL at some iteration (by ${(-minStep).toExponential(2)}).`), "",
    `  The best model, its states relabelled to match the truth (learned state ${m.perm.map((p) => p + 1).join(", ")} → fair, loaded-6, loaded-1):`,
    "  learned A:", ...matText(m.hmm.A), "  learned B:", ...matText(m.hmm.B), "");
  const ok = m.transitionMaxAbsError <= 0.05 && m.emissionMaxAbsError <= 0.05;
  io.print(`  Max abs error after matching: transitions ${fmt(m.transitionMaxAbsError, 3)}, emissions ${fmt(m.emissionMaxAbsError, 3)}: `
    + (ok ? "both within 0.05, the learned matrices match the true ones up to a permutation of the states." : `NOT both within 0.05${quick ? " (--quick learns from only " + nSeq + " sequences)" : ""}.`),
    `  log p(o): learned ${fmt(best.ll, 8)}, true ${fmt(logLikTrue, 8)} (the learned model ${best.ll >= logLikTrue ? "is at least as likely as" : "is LESS likely than"} the truth on these data).`);
  if (!c.json) io.print("", lineChart(best.res.logLiks.slice(1), { title: "Baum–Welch, the best start: log p(o) per iteration", height: 8, xLabel: `iteration 1 … ${best.res.logLiks.length - 1}` }));
  if (c.out) {
    writeCsv(join(c.out, "hmm_sequence1.csv"), ["t", "trueState", "face", ...CASINO_STATES.map((s) => `filter_${s}`), ...CASINO_STATES.map((s) => `smooth_${s}`), "viterbi"],
      data[0].obs.map((o, t) => [t + 1, CASINO_STATES[data[0].states[t]], o + 1, ...f0.alphaHat[t], ...fb0.gamma[t], CASINO_STATES[v0[t]]]));
    writeCsv(join(c.out, "hmm_baum_welch.csv"), ["start", "iteration", "logLik"], runs.flatMap((r, s) => r.res.logLiks.map((ll, i) => [s + 1, i, ll])));
  }
  io.print("");
  return {
    logLikTrue: r4(logLikTrue), logLikLearned: r4(best.ll), viterbiAccuracy: r4(viterbiAccuracy),
    transitionMaxAbsError: r4(m.transitionMaxAbsError), emissionMaxAbsError: r4(m.emissionMaxAbsError), baumWelchMonotone: monotone,
    startsReachingBest: reached, starts,
  };
}

// ================================================================ part 4: the RNN's hidden state as a belief

function partBelief(c: Ctx) {
  const { io, quick } = c;
  const hmm: Hmm = dishonestCasino();
  const M = 6, T = 100, units = 24;
  const nTrain = quick ? 50 : 1500, nHeld = quick ? 30 : 200, nReadout = Math.min(200, nTrain), epochs = quick ? 2 : 14;
  io.print("== Part belief: the RNN's hidden state as a deterministic belief", "");
  const rng = new Rng(c.seed + 5);
  const train = Array.from({ length: nTrain }, () => sampleHmm(hmm, T, rng).obs);
  const held = Array.from({ length: nHeld }, () => sampleHmm(hmm, T, rng).obs);
  // x(t) = onehot(o_t), target onehot(o_{t+1}), t = 1 … T−1
  const encode = (seqs: number[][]) => {
    const x = new Tensor([seqs.length, T - 1, M]), y = new Tensor([seqs.length, T - 1, M]);
    seqs.forEach((o, n) => {
      for (let t = 0; t < T - 1; t++) {
        x.data[(n * (T - 1) + t) * M + o[t]] = 1;
        y.data[(n * (T - 1) + t) * M + o[t + 1]] = 1;
      }
    });
    return { x, y };
  };
  const tr = encode(train), he = encode(held), ro = encode(train.slice(0, nReadout));
  // the exact answers: the belief α̂_t and the predictive p(o_{t+1} | o_1..t)
  const beliefs = (seqs: number[][]) => seqs.map((o) => forward(hmm, o).alphaHat.slice(0, T - 1));
  const heldBelief = beliefs(held), roBelief = beliefs(train.slice(0, nReadout));
  const heldPred = heldBelief.map((b) => b.map((a) => predictNext(hmm, a)));
  let hmmLogLik = 0;
  held.forEach((o, n) => { for (let t = 0; t < T - 1; t++) hmmLogLik += Math.log(heldPred[n][t][o[t + 1]]); });
  hmmLogLik /= nHeld * (T - 1);

  const model = new Sequential({ seed: c.seed, name: "belief_gru" });
  model.add(new GRU(units, { inputShape: [T - 1, M], returnSequences: true }));
  model.add(new Dense(M, { activation: "softmax" }));
  const opt = new Adam({ learningRate: 0.01 });
  model.compile({ loss: "categorical_crossentropy", optimizer: opt });
  io.print(`  A GRU(${units}) → Dense(${M}, softmax), cross-entropy, reads the rolls one-hot and predicts the next roll; Adam(0.01), the step`,
    `  size × 0.9 per epoch; ${nTrain} training sequences of ${T}, ${nHeld} held out. It never sees the states.`, "");
  const score = () => {
    const p = model.predict(he.x);
    let kl = 0, ll = 0;
    held.forEach((o, n) => {
      for (let t = 0; t < T - 1; t++) {
        const q = heldPred[n][t], base = (n * (T - 1) + t) * M;
        for (let k = 0; k < M; k++) kl += q[k] * Math.log(q[k] / p.data[base + k]);
        ll += Math.log(p.data[base + o[t + 1]]);
      }
    });
    return { kl: kl / (nHeld * (T - 1)), ll: ll / (nHeld * (T - 1)) };
  };
  // h(t) of the recurrent layer, one row per (sequence, step)
  const hidden = (x: Tensor): number[][] => {
    const hs = model.layers[0].forward(x, { training: false }).out;
    return Array.from({ length: hs.size / units }, (_, i) => Array.from(hs.data.subarray(i * units, (i + 1) * units)));
  };
  const flat = (b: number[][][]) => b.flat();
  const readoutR2 = () => {
    const r = fitReadout(hidden(ro.x), flat(roBelief));
    const pred = applyReadout(r, hidden(he.x));
    return { r2: rSquared(pred, flat(heldBelief)), pred };
  };
  const untrained = readoutR2();
  const s0 = score();
  const klPerStep: number[] = [], llPerEpoch: number[] = [];
  fitWithProgress(model, tr.x, tr.y, epochs, 32, `GRU(${units}) on the casino`, io, () => {
    const s = score();
    klPerStep.push(s.kl);
    llPerEpoch.push(s.ll);
    io.progress(`GRU(${units}) on the casino: epoch ${klPerStep.length}/${epochs}  KL ${fmt(s.kl, 3)} nats per step`);
    opt.learningRate *= 0.9;
  });
  io.progress("linear readouts of the belief: the trained GRU and the moving-average baseline");
  const trained = readoutR2();
  const rnnLogLik = llPerEpoch[llPerEpoch.length - 1];

  // the moving-average baseline, its decay λ chosen on the readout-fitting sequences
  const emaFeatures = (seqs: number[][], lambda: number) => seqs.flatMap((o) => emaOfOneHot(o, M, lambda).slice(0, T - 1));
  let bestLambda = 0.5, bestFit = -Infinity;
  for (let lambda = 0.5; lambda < 0.99; lambda += 0.02) {
    // the averages sum to 1, so the readout needs no separate intercept
    const X = emaFeatures(train.slice(0, nReadout), lambda);
    const fit = rSquared(applyReadout(fitReadout(X, flat(roBelief), { intercept: false }), X), flat(roBelief));
    if (fit > bestFit) { bestFit = fit; bestLambda = lambda; }
  }
  const emaReadout = fitReadout(emaFeatures(train.slice(0, nReadout), bestLambda), flat(roBelief), { intercept: false });
  const emaPred = applyReadout(emaReadout, emaFeatures(held, bestLambda));
  const emaR2 = rSquared(emaPred, flat(heldBelief));

  const finalKl = klPerStep[klPerStep.length - 1];
  io.print(table(["epoch", "mean KL(p_HMM ‖ p_RNN) per step (nats)", "RNN log-lik per step"], [[0, s0.kl, s0.ll], ...klPerStep.map((k, e) => [e + 1, k, llPerEpoch[e]] as [number, number, number])]), "");
  io.print(`  Next-roll log-likelihood per step on the held-out sequences: RNN ${fmt(rnnLogLik, 5)}, exact HMM predictive ${fmt(hmmLogLik, 5)} nats`,
    `  (uniform guessing: ${fmt(-Math.log(M), 5)}). ` + (finalKl < 0.01
      ? `The RNN's predictive distribution approaches the HMM's: the final KL is ${fmt(finalKl, 3)} nats per step (target < 0.01).`
      : `The final KL is ${fmt(finalKl, 3)} nats per step: NOT below the target 0.01${quick ? " (--quick trains " + epochs + " epochs)" : ""}.`), "");
  const worstBase = Math.max(untrained.r2, emaR2);
  io.print(table(["linear readout of p(s_t | o_1..t), least squares", "R² on held-out sequences"], [
    [`h(t) of the trained GRU(${units})`, trained.r2],
    [`h(t) of the same GRU before training`, untrained.r2],
    [`moving average of the one-hot rolls, λ = ${bestLambda.toFixed(2)}`, emaR2],
  ]), "");
  const strong = trained.r2 >= 0.95, halves = 1 - trained.r2 <= 0.5 * (1 - worstBase);
  io.print(`  The readout was fitted on ${nReadout} training sequences and scored on the ${nHeld} held-out ones. Training leaves`,
    `  ${fmt(1 - trained.r2, 3)} of the belief's variance unexplained, against ${fmt(1 - worstBase, 3)} for the better baseline (${fmt((1 - trained.r2) / (1 - worstBase), 3)} ×).`,
    strong && halves
      ? "  The trained hidden state carries the belief: R² ≥ 0.95, and training removes at least half of the baselines' remaining error."
      : `  NOT shown: ${strong ? "" : `R² ${fmt(trained.r2, 4)} < 0.95`}${!strong && !halves ? "; " : ""}${halves ? "" : "training removes less than half of the better baseline's remaining error"}.`);
  if (!c.json) {
    io.print("", lineChart([heldBelief[0].map((b) => b[0]), trained.pred.slice(0, T - 1).map((p) => p[0]), emaPred.slice(0, T - 1).map((p) => p[0])], {
      title: "Held-out sequence 1: p(fair | o_1..t) from the forward algorithm, read out of the trained GRU, and of the moving average",
      legend: ["forward algorithm", "readout of h(t)", "readout of the moving average"], height: 10, xLabel: "t",
    }));
    io.print("", lineChart([s0.kl, ...klPerStep], { title: "Mean KL(p_HMM ‖ p_RNN) per step on the held-out sequences, per epoch", height: 8, xLabel: `epoch 0 … ${epochs}` }));
  }
  if (c.out) {
    writeCsv(join(c.out, "belief_training.csv"), ["epoch", "klPerStep", "rnnLogLikPerStep"], [[0, s0.kl, s0.ll], ...klPerStep.map((k, e) => [e + 1, k, llPerEpoch[e]] as [number, number, number])]);
    const rows = heldBelief[0].map((b, t) => [t + 1, ...b, ...trained.pred[t], ...untrained.pred[t], ...emaPred[t]]);
    const names = (p: string) => CASINO_STATES.map((s) => `${p}_${s}`);
    writeCsv(join(c.out, "belief_readout_sequence1.csv"), ["t", ...names("forward"), ...names("trainedGru"), ...names("untrainedGru"), ...names("movingAverage")], rows);
  }
  io.print("");
  return {
    klPerStep: klPerStep.map(r4), rnnLogLik: r4(rnnLogLik), hmmLogLik: r4(hmmLogLik),
    beliefR2Trained: r4(trained.r2), beliefR2Untrained: r4(untrained.r2), beliefR2MovingAverage: r4(emaR2), movingAverageDecay: r4(bestLambda),
  };
}

runChapter({
  id: "07-hidden-state-models",
  title: "Chapter 07: hidden-state models: AR and feed-forward predictors, the Kalman filter, HMMs, and the RNN's hidden state as a belief",
  section: 'the lecture\'s comparison of sequence models between "A simple example" and "Basic layout" (memoryless models, linear dynamical systems, hidden Markov models, recurrent networks, "Do generative models need to be stochastic?")',
  defaultSeed: 0,
  quickHelp: "fewer epochs, sequences and Baum–Welch iterations; the targets are then not expected to hold",
  options: {
    part: { type: "string", choices: PARTS, default: "all", help: "which part to run" },
    out: { type: "string", path: "outDir", help: "write each figure's data as CSV files into this folder" },
  },
  run(opts, io) {
    const part: Part = opts.part;
    const c: Ctx = { seed: opts.seed, quick: opts.quick, json: opts.json, out: opts.out, io };
    const result: Record<string, unknown> = {};
    if (part === "ar" || part === "all") result.ar = partAr(c);
    if (part === "lds" || part === "all") result.lds = partLds(c);
    if (part === "hmm" || part === "all") result.hmm = partHmm(c);
    if (part === "belief" || part === "all") result.belief = partBelief(c);
    if (c.out) io.print(`CSV files written to ${c.out}`);
    result.seed = c.seed;
    return result;
  },
});
