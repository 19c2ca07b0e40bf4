import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadDigits, loadMnist, loadDataset, DIGITS_PATH } from "../chapters/_shared/datasets.ts";
import { assertThrowsMatching } from "./_helpers.ts";

test("loadDigits returns load_digits(): (1797, 8, 8, 1), raw values 0..16, the sklearn labels", () => {
  const { images, labels } = loadDigits();
  assert.equal(images.shape, [1797, 8, 8, 1]);
  assert.is(labels.length, 1797);
  let min = Infinity, max = -Infinity;
  for (const v of images.data) { min = Math.min(min, v); max = Math.max(max, v); }
  assert.equal([min, max], [0, 16]);
  assert.ok(images.data.every((v) => Number.isInteger(v)));
  // digits.images[0] is a zero whose first row is [0, 0, 5, 13, 9, 1, 0, 0]
  assert.equal(Array.from(images.data.subarray(0, 8)), [0, 0, 5, 13, 9, 1, 0, 0]);
  assert.equal(Array.from(labels.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // np.bincount(load_digits().target)
  const counts = new Array(10).fill(0);
  for (const l of labels) counts[l]++;
  assert.equal(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  assert.ok(DIGITS_PATH.endsWith("data/digits.csv.gz"));
});

test("a missing digits file names the path", () => {
  assertThrowsMatching(() => loadDigits("/nonexistent/dir/digits.csv.gz"), /\/nonexistent\/dir\/digits\.csv\.gz/, "missing file");
});

test("loadMnist returns real 28×28 digits in [0, 1], every class, the same for the same seed", () => {
  const a = loadMnist({ n: 500, seed: 1 });
  assert.equal(a.images.shape, [500, 28, 28, 1]);
  let min = Infinity, max = -Infinity, ink = 0;
  for (const v of a.images.data) { min = Math.min(min, v); max = Math.max(max, v); ink += v; }
  assert.ok(min === 0 && max === 1, `range ${min}..${max}`);
  // MNIST digits cover roughly a fifth of the image with ink
  const meanInk = ink / a.images.size;
  assert.ok(meanInk > 0.05 && meanInk < 0.25, `mean pixel ${meanInk}`);
  const counts = new Array(10).fill(0);
  for (const l of a.labels) counts[l]++;
  assert.ok(counts.every((c) => c > 20), `class counts ${counts}`);
  const b = loadMnist({ n: 500, seed: 1 });
  assert.equal(Array.from(b.labels), Array.from(a.labels));
  assert.ok(a.images.data.every((v, i) => v === b.images.data[i]));
  const c = loadMnist({ n: 500, seed: 2 });
  assert.not.equal(Array.from(c.labels), Array.from(a.labels));
  assert.is(loadMnist().images.shape[0], 10000);
});

test("dataset errors are clear", () => {
  assertThrowsMatching(() => loadMnist({ n: 20000 }), /n must be an integer in 1\.\.10000, got 20000/, "n too large");
  assertThrowsMatching(() => loadDataset("cifar"), /unknown dataset 'cifar'; expected 'digits' or 'mnist'/, "unknown dataset");
});

test.run();
