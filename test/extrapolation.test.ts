/** Chapter 10's pieces: format_data, the five networks' parameter counts, test_rnn's feedback and the lecture's MSE. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { formatData, buildNetwork, predictSeries, seriesMSE, trainingSet, MODEL_NAMES, KERAS_TOTALS, DIM } from "../chapters/_shared/extrapolation.ts";
import { CCD_ENERGIES, PARTICLES } from "../chapters/_shared/extrapolation-data.ts";
import { assertThrowsMatching } from "./_helpers.ts";

test("format_data(y[:12], 2): (10, 2, 1) inputs (y_i, y_i+1) and targets y_i+2", () => {
  const { X, Y } = formatData(CCD_ENERGIES.slice(0, DIM));
  assert.equal(X.shape, [10, 2, 1]);
  assert.equal(Y.shape, [10, 1]);
  for (let i = 0; i < 10; i++) {
    assert.is(X.data[2 * i], CCD_ENERGIES[i]);
    assert.is(X.data[2 * i + 1], CCD_ENERGIES[i + 1]);
    assert.is(Y.data[i], CCD_ENERGIES[i + 2]);
  }
  assertThrowsMatching(() => formatData([1, 2]), /2 values give no sequence of 2 plus a target/, "too short");
});

test("the five networks have Keras's parameter counts", () => {
  for (const name of MODEL_NAMES) assert.is(buildNetwork(name, 0).countParams(), KERAS_TOTALS[name], name);
  assert.equal(KERAS_TOTALS, { rnn: 40601, rnn_2layers: 752001, lstm_2layers: 753251, dnn2_gru2: 675501, standard: 40601 });
});

test("standard trains on (x, y) of the 12 training points, as sequences of length 1", () => {
  const { X, Y } = trainingSet("standard", PARTICLES, CCD_ENERGIES);
  assert.equal(X.shape, [12, 1, 1]);
  assert.equal(Array.from(X.data), PARTICLES.slice(0, 12));
  assert.equal(Array.from(Y.data), CCD_ENERGIES.slice(0, 12));
});

test("test_rnn: the first 12 values are the truth, then each prediction feeds the next input", () => {
  const model = buildNetwork("rnn", 3);
  const pred = predictSeries("rnn", model, PARTICLES, CCD_ENERGIES);
  assert.is(pred.length, 20);
  assert.equal(pred.slice(0, 12), CCD_ENERGIES.slice(0, 12));
  const one = (a: number, b: number) => model.predict(new Tensor([1, 2, 1], Float64Array.from([a, b]))).data[0];
  assert.is(pred[12], one(CCD_ENERGIES[10], CCD_ENERGIES[11]));
  assert.is(pred[13], one(CCD_ENERGIES[11], pred[12]));
  assert.is(pred[19], one(pred[17], pred[18]));
  // the MSE counts all 20 points, the 12 known ones (error 0) included
  let s = 0;
  for (let i = 12; i < 20; i++) s += (pred[i] - CCD_ENERGIES[i]) ** 2;
  assert.ok(Math.abs(seriesMSE(CCD_ENERGIES, pred) - s / 20) < 1e-15);
});

test.run();
