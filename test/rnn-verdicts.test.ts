/**
 * The sentences chapters 06, 08 and 10 print about their runs change when the
 * numbers do (chapters/_shared/rnn-verdicts.ts, fed made-up results).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sineVerdict, mseStandardError, extrapolationAgreement, twoLayerSentence, crossingSentence, initialSeedsSentence } from "../chapters/_shared/rnn-verdicts.ts";

test("mseStandardError: sqrt(Var / n), and 0 for constant errors", () => {
  assert.is(mseStandardError([0.5, 0.5, 0.5, 0.5]), 0);
  assert.ok(Math.abs(mseStandardError([0, 1, 0, 1]) - Math.sqrt(0.25 / 4)) < 1e-15);
});

test("06: near the ideal predictor and the lecture's 0.351 agrees; far from both does not", () => {
  const near = sineVerdict({ trainMSE: 0.354, idealMSE: 0.327, lectureMSE: 0.351, se: 0.0105 });
  assert.match(near[0], /within 3 standard errors .* of the ideal predictor/);
  assert.match(near[1], /0\.354 agrees within 3 standard errors/);
  const far = sineVerdict({ trainMSE: 0.45, idealMSE: 0.327, lectureMSE: 0.351, se: 0.0105 });
  assert.match(far[0], /11\.7 standard errors above the ideal predictor.*not yet learnt/);
  assert.match(far[1], /0\.45 does NOT agree .*: it is higher/);
  assert.match(sineVerdict({ trainMSE: 0.2, idealMSE: 0.327, lectureMSE: 0.351, se: 0.0105 })[1], /it is lower/);
});

test("10: each network's agreement with the lecture follows its MSE and the shape of its predictions", () => {
  const truth = Array.from({ length: 20 }, (_, i) => -0.03 - 0.09 * i);
  const good = { mse: 1.5e-4, predictions: truth };
  assert.match(extrapolationAgreement("rnn", good, truth), /^agrees \(1\.9× the lecture's/);
  assert.match(extrapolationAgreement("rnn", { ...good, mse: 0.37 }, truth), /^does NOT agree \(4700× the lecture's/);
  assert.match(extrapolationAgreement("dnn2_gru2", good, truth), /^does NOT agree \(28× below/);
  const flat = [...truth.slice(0, 12), ...Array(8).fill(-0.45)];
  assert.match(extrapolationAgreement("rnn_2layers", { mse: 0.331, predictions: flat }, truth), /^agrees .*flat/);
  assert.match(extrapolationAgreement("rnn_2layers", { mse: 0.331, predictions: truth }, truth), /^does NOT agree .*not flat/);
  const bending = [...truth.slice(0, 12), ...Array.from({ length: 8 }, (_, i) => -1 + 0.01 * -i)];
  assert.match(extrapolationAgreement("standard", { mse: 0.08, predictions: bending }, truth), /^agrees: flattens/);
  assert.match(extrapolationAgreement("standard", good, truth), /^does NOT agree/);
  assert.match(extrapolationAgreement("lstm_2layers", good, truth), /never ran/);
});

test("10: 'more weights are not better' only when the small rnn did better", () => {
  assert.match(twoLayerSentence(1e-8, 0.33, 1.5e-4)!, /more weights are not better/);
  assert.not.match(twoLayerSentence(1e-8, 0.07, 0.37)!, /more weights are not better/);
  assert.match(twoLayerSentence(1e-8, 0.07, 0.37)!, /no worse than rnn's/);
  assert.is(twoLayerSentence(0.5, 0.33, 1.5e-4), null);
});

test("08: the λ_max crossing and the h(0) seed count are read off the data", () => {
  const g = [0.9, 1, 1.1, 1.5];
  assert.match(crossingSentence(g, [-0.05, -0.003, 0.004, 0.05], 0.01), /no single crossing point: .* g = 1, 1\.1/);
  assert.match(crossingSentence(g, [-0.05, -0.003, 0.04, 0.05], 0.01), /only at g = 1: .*single crossing/);
  assert.match(crossingSentence(g, [-0.05, -0.03, 0.04, 0.05], 0.01), /No gain in the sweep/);
  assert.match(initialSeedsSentence(2, 5), /2 of 5 .*training noise is as large/);
  assert.match(initialSeedsSentence(5, 5), /in every seed/);
  assert.match(initialSeedsSentence(1, 1), /one seed cannot tell/);
  assert.match(initialSeedsSentence(0, 5), /0 of 5 .*in no seed did the learned h\(0\) give the lowest loss/);
});

test.run();
