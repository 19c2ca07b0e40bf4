import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Tensor } from "../lib/matrix.ts";
import { toCategorical, trainTestSplit, readNumericCsv } from "../lib/data.ts";
import { assertThrowsMatching } from "./_helpers.ts";

test("toCategorical makes one-hot rows", () => {
  const y = toCategorical([2, 0, 1]);
  assert.equal(y.toArray(), [[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
  assert.equal(toCategorical([1], 4).shape, [1, 4]);
  assertThrowsMatching(() => toCategorical([0, 1.5]), /label 1 is 1.5/, "non-integer");
  assertThrowsMatching(() => toCategorical([5], 3), /label 5 does not fit in 3 classes/, "too large");
});

test("trainTestSplit: sklearn's sizes, a seeded permutation, rows kept together", () => {
  const n = 1797;
  const x = new Tensor([n, 2]), y = new Tensor([n, 1]);
  for (let i = 0; i < n; i++) { x.data[2 * i] = i; x.data[2 * i + 1] = -i; y.data[i] = i; }
  const s = trainTestSplit(x, y, { trainSize: 0.8, seed: 1 });
  assert.is(s.xTrain.shape[0], 1437);
  assert.is(s.xTest.shape[0], 360);
  for (let i = 0; i < 1437; i++) assert.is(s.xTrain.data[2 * i], s.yTrain.data[i]);
  const seen = new Set([...s.yTrain.data, ...s.yTest.data]);
  assert.is(seen.size, n);
  assert.equal(Array.from(trainTestSplit(x, y, { trainSize: 0.8, seed: 1 }).yTest.data), Array.from(s.yTest.data));
  assert.not.equal(Array.from(trainTestSplit(x, y, { trainSize: 0.8, seed: 2 }).yTest.data), Array.from(s.yTest.data));
  assertThrowsMatching(() => trainTestSplit(x, new Tensor([3, 1]), { trainSize: 0.8, seed: 1 }), /1797 samples but y has 3/, "lengths");
});

test("readNumericCsv reads plain and gzipped files and names a missing path", () => {
  const dir = mkdtempSync(join(tmpdir(), "scratchnets-"));
  writeFileSync(join(dir, "a.csv"), "1,2,3\n4,5,6\n");
  writeFileSync(join(dir, "a.csv.gz"), gzipSync("1,2,3\n4,5,6\n"));
  writeFileSync(join(dir, "bad.csv"), "1,2\n3,x\n");
  assert.equal(readNumericCsv(join(dir, "a.csv")), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(readNumericCsv(join(dir, "a.csv.gz")), [[1, 2, 3], [4, 5, 6]]);
  assertThrowsMatching(() => readNumericCsv(join(dir, "nope.csv")), /no such file: .*nope\.csv/, "missing");
  assertThrowsMatching(() => readNumericCsv(join(dir, "bad.csv")), /line 2, column 2: 'x' is not a finite decimal number/, "bad cell");
});

test.run();
