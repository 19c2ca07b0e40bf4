/** The data helpers the lecture takes from Keras and scikit-learn: to_categorical, train_test_split, and reading CSV. */
import { readFileSync, existsSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { Tensor, takeRows } from "./matrix.ts";
import { Rng } from "./random.ts";

/** Keras's to_categorical: integer labels (N) → one-hot rows (N, K). */
export function toCategorical(labels: ArrayLike<number>, numClasses?: number): Tensor {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0) throw new Error(`toCategorical: label ${i} is ${l}; expected a non-negative integer`);
    if (l > max) max = l;
  }
  const K = numClasses ?? max + 1;
  if (max >= K) throw new Error(`toCategorical: label ${max} does not fit in ${K} classes`);
  const out = new Tensor([labels.length, K]);
  for (let i = 0; i < labels.length; i++) out.data[i * K + labels[i]] = 1;
  return out;
}

export interface Split {
  xTrain: Tensor;
  xTest: Tensor;
  yTrain: Tensor;
  yTest: Tensor;
}

/**
 * scikit-learn's train_test_split: the samples are permuted by a seeded
 * generator, the first floor(trainSize·n) go to training and the rest to
 * testing (n_test = n − n_train; with trainSize 0.8 and 1797 digits: 1437/360).
 */
export function trainTestSplit(x: Tensor, y: Tensor, opts: { trainSize: number; seed: number; shuffle?: boolean }): Split {
  const n = x.shape[0];
  if (y.shape[0] !== n) throw new Error(`trainTestSplit: x has ${n} samples but y has ${y.shape[0]}; they must match`);
  if (!(opts.trainSize > 0 && opts.trainSize < 1)) throw new Error(`trainTestSplit: trainSize must be in (0, 1), got ${opts.trainSize}`);
  const nTrain = Math.floor(opts.trainSize * n);
  if (nTrain === 0 || nTrain === n) throw new Error(`trainTestSplit: trainSize ${opts.trainSize} of ${n} samples leaves one side empty`);
  const order = opts.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : new Rng(opts.seed).permutation(n);
  const train = order.subarray(0, nTrain), test = order.subarray(nTrain);
  return { xTrain: takeRows(x, train), xTest: takeRows(x, test), yTrain: takeRows(y, train), yTest: takeRows(y, test) };
}

/** A plain decimal number: optional sign, digits with an optional fraction, optional exponent. No hex, Infinity or NaN. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads a numeric CSV file (gzip-compressed when the name ends in .gz) into
 * rows of numbers. Every cell must be a plain finite decimal number; any
 * other cell, and any fs or zlib failure, is an error naming the file (and
 * the line and column).
 */
export function readNumericCsv(path: string): number[][] {
  if (!existsSync(path)) throw new Error(`readNumericCsv: no such file: ${path}`);
  if (!statSync(path).isFile()) throw new Error(`readNumericCsv: ${path} is not a file; expected a CSV file`);
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new Error(`readNumericCsv: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let text: string;
  try {
    text = (path.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
  } catch (e) {
    throw new Error(`readNumericCsv: ${path} is not a valid gzip file (${(e as Error).message}); expected gzip-compressed CSV, as the .gz name says`);
  }
  const rows: number[][] = [];
  let width = -1;
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const cells = line.split(",");
    const row: number[] = [];
    cells.forEach((c, j) => {
      const t = c.trim();
      const v = DECIMAL.test(t) ? Number(t) : NaN;
      if (!Number.isFinite(v)) throw new Error(`readNumericCsv: ${path}, line ${i + 1}, column ${j + 1}: '${c}' is not a finite decimal number`);
      row.push(v);
    });
    if (width >= 0 && row.length !== width) throw new Error(`readNumericCsv: ${path}, line ${i + 1} has ${row.length} columns, expected ${width}`);
    width = row.length;
    rows.push(row);
  });
  return rows;
}
