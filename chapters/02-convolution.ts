/**
 * Chapter 02: the layers of a CNN, convolution as one matrix product, ReLU and max pooling.
 *
 *   npx tsx chapters/02-convolution.ts [--dataset digits|mnist] [--seed N] [--quick] [--json]
 *
 * 1. im2col on a 4×4 image: every 3×3 receptive field becomes a row of the
 *    patch matrix, and the convolution is that matrix times the kernel.
 * 2. The same on a whole batch of digits, checked against the sliding window.
 * 3. ReLU and 2×2 max pooling, with the "switches" that backward uses.
 * 4. The volume shapes through the lecture's network, Conv2D → MaxPool →
 *    Flatten → Dense → softmax, and the systematic reduction of width and
 *    height while the depth grows.
 * 5. A digit and its feature maps, drawn.
 */
import { runChapter } from "./_shared/cli.ts";
import { table } from "./_shared/plot.ts";
import { drawFeatureMaps, drawImages, matrixText } from "./_shared/images.ts";
import { Tensor, fromArray, shapeStr, takeRows } from "../lib/matrix.ts";
import { Rng, glorotUniform } from "../lib/random.ts";
import { activationForward } from "../lib/activations.ts";
import { windowGeometry, windowAxis, im2col, conv2dForward, conv2dNaive } from "../lib/conv.ts";
import { maxPoolForward, maxPoolBackward } from "../lib/pool.ts";
import { loadDataset } from "./_shared/datasets.ts";
import { countParams } from "../lib/layer.ts";
import { createConvolutionalNeuralNetwork, mnistCount } from "./_shared/lecture-cnn.ts";

function maxAbsDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** Four hand-made 3×3 filters, as a Keras kernel (3, 3, 1, 4): edges in two directions, a diagonal, and a blur. */
function demoFilters(): { K: Tensor; names: string[] } {
  const f = [
    [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], // vertical edges (Sobel)
    [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], // horizontal edges
    [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], // a diagonal edge
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]].map((r) => r.map((v) => v / 9)), // blur
  ];
  const K = new Tensor([3, 3, 1, 4]);
  for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) for (let k = 0; k < 4; k++) K.data[(p * 3 + q) * 4 + k] = f[k][p][q];
  return { K, names: ["vertical edges", "horizontal edges", "diagonal", "blur"] };
}

runChapter({
  id: "02-convolution",
  title: "Chapter 02: convolution as one matrix product, ReLU and max pooling",
  section: 'Lecture sections "Layers of a CNN", "Systematic reduction"',
  defaultSeed: 2023,
  quickHelp: "with --dataset mnist, 2,000 digits instead of 10,000 (the rest is already fast)",
  options: {
    dataset: { type: "string", choices: ["digits", "mnist"], default: "digits", help: "the lecture's 8×8 digits, or real 28×28 MNIST" },
    load: { type: "string", path: "inFile", help: "weights of a trained network written by chapter 03's --save: draw its learned filters' feature maps too" },
  },
  run(opts, io) {
    const seed: number = opts.seed;
    const dataset: string = opts.dataset;
    const rng = new Rng(seed);

    io.print(
      "== Layers of a CNN",
      "",
      "  INPUT (H, W, C) → CONV (H', W', F) → RELU (same shape) → POOL (H'/2, W'/2, F) → FC → class scores",
      "",
      "A CONV layer computes, for every output pixel (i, j) and filter f, a dot product between the filter",
      "and the receptive field under it (Keras, like every deep-learning library, does not flip the kernel):",
      "",
      "  z(i, j, f) = b(f) + Σ_p Σ_q Σ_c x(i + p, j + q, c) · K(p, q, c, f)",
      "",
    );

    // ------------------------------------------------------------ 1. im2col on a tiny image
    const x = new Tensor([1, 4, 4, 1], Float64Array.from({ length: 16 }, (_, k) => k + 1));
    const g = windowGeometry(x.shape, 3, 3, {}, "im2col");
    const cols = im2col(x, g);
    const { K: K4 } = demoFilters();
    // the first two demo filters: vertical and horizontal edges, as a (3, 3, 1, 2) kernel
    const K = new Tensor([3, 3, 1, 2]);
    for (let r = 0; r < 9; r++) { K.data[r * 2] = K4.data[r * 4]; K.data[r * 2 + 1] = K4.data[r * 4 + 1]; }
    const z = conv2dForward(x, K, null).out;
    const zNaive = conv2dNaive(x, K, null);
    io.print(
      "== im2col: convolution as one matrix product",
      "",
      "A 4×4 image x (1 channel) and a 3×3 kernel: there are 2×2 positions for the kernel.",
      "",
      matrixText(x.reshape([4, 4])),
      "",
      `im2col writes the receptive field of each output pixel as a row: the patch matrix is ${shapeStr(cols.shape)},`,
      "one row per output pixel (i, j), one column per kernel entry (p, q, c):",
      "",
      matrixText(cols),
      "",
      "Two filters, vertical and horizontal edges (Sobel), are the columns of K viewed as a (3·3·1, 2) matrix:",
      "",
      matrixText(K.reshape([9, 2])),
      "",
      "Z = cols · K is (4, 2): every position for every filter in one product. Read as (1, 2, 2, 2), it is the",
      "output volume, already in NHWC order. Column f is feature map f:",
      "",
      matrixText(z.reshape([4, 2])),
      "",
      `The sliding-window loops give the same numbers: max |difference| = ${maxAbsDiff(z, zNaive)}.`,
      "(The image rises by 1 per column and 4 per row, so every vertical-edge response is 4·2 = 8 and",
      "every horizontal one 4·4·2 = 32.)",
      "",
    );

    // ------------------------------------------------------------ 2. a whole batch
    const d = loadDataset(dataset, { mnistCount: mnistCount(opts.quick), seed });
    const [, H, W] = d.images.shape;
    const batch = takeRows(d.images, Array.from({ length: 100 }, (_, i) => i));
    const Kr = glorotUniform([3, 3, 1, 10], rng);
    const b = fromArray(Array.from({ length: 10 }, () => rng.uniform(-0.1, 0.1)));
    const gb = windowGeometry(batch.shape, 3, 3, {}, "im2col");
    const bestOf = (f: () => void): number => {
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        f();
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const fast = conv2dForward(batch, Kr, b).out;
    const slow = conv2dNaive(batch, Kr, b);
    const msFast = bestOf(() => conv2dForward(batch, Kr, b));
    const msSlow = bestOf(() => conv2dNaive(batch, Kr, b));
    const batchDiff = maxAbsDiff(fast, slow);
    io.print(
      `The same for a batch of 100 ${dataset === "digits" ? "digits" : "MNIST images"} ${shapeStr(batch.shape)} and the lecture's 10 filters of 3×3:`,
      "",
      `  patch matrix cols: (N·Ho·Wo, kh·kw·C) = (100·${gb.Ho}·${gb.Wo}, 3·3·1) = ${shapeStr([100 * gb.Ho * gb.Wo, 9])}`,
      `  Z = cols · K:      ${shapeStr([100 * gb.Ho * gb.Wo, 9])} · (9, 10) = ${shapeStr([100 * gb.Ho * gb.Wo, 10])}, viewed as ${shapeStr(fast.shape)}`,
      `  max |im2col − sliding window| = ${batchDiff.toExponential(2)}   (${msFast.toFixed(2)} ms against ${msSlow.toFixed(2)} ms, best of 5)`,
      "",
      "Backward is three more products and col2im, the adjoint of im2col (lib/conv.ts):",
      "  dK = colsᵀ · dZ,   db = Σ_rows dZ,   dcols = dZ · Kᵀ,   dX = col2im(dcols)",
      "",
    );

    // ------------------------------------------------------------ 3. ReLU and max pooling
    const zr = fromArray([[3, -1, 0.5, -2], [-4, 2, 1, 6], [1, -3, -5, 2], [0.5, 4, -1, -2]]).reshape([1, 4, 4, 1]);
    const a = activationForward("relu", zr).out;
    const { out: pooled, cache: pc } = maxPoolForward(a, 2);
    const back = maxPoolBackward(new Tensor([1, 2, 2, 1], Float64Array.from([10, 20, 30, 40])), pc).dX;
    io.print(
      "== ReLU and max pooling",
      "",
      "ReLU, a = max(0, z), elementwise, keeps the shape:",
      "",
      matrixText(zr.reshape([4, 4]), { digits: 1 }),
      "        ↓ relu",
      matrixText(a.reshape([4, 4]), { digits: 1 }),
      "",
      "Max pooling 2×2 with stride 2 keeps the largest value of each block and halves width and height:",
      "",
      matrixText(pooled.reshape([2, 2]), { digits: 1 }),
      "",
      `It has no weights. Forward records where each maximum was (the "switches", flat indices ${Array.from(pc.switches).join(", ")}),`,
      "and backward sends each gradient there and nowhere else. Upstream gradients 10, 20, 30, 40 become:",
      "",
      matrixText(back.reshape([4, 4])),
      "",
    );

    // ------------------------------------------------------------ 4. the lecture's network, shape by shape
    const model = createConvolutionalNeuralNetwork({ inputShape: [H, W, 1], eta: 0.01, lmbd: 1e-4, seed });
    const shapes = model.layerOutputShapes();
    const sameModel = createConvolutionalNeuralNetwork({ inputShape: [H, W, 1], eta: 0.01, lmbd: 1e-4, seed, padding: "same" });
    const how = [
      `(${H} − 3)/1 + 1 = ${H - 2}; 10 filters · (3·3·1 + 1)`,
      `⌊${H - 2}/2⌋ = ${Math.floor((H - 2) / 2)}; no weights`,
      `${shapes[1].join("·")} = ${shapes[2][0]}`,
      `${shapes[2][0]}·50 + 50`,
      `50·10 + 10`,
    ];
    const rows = model.layers.map((l, i) => [`${l.className}${l.activation && l.activation !== "linear" ? ` (${l.activation})` : ""}`, `(None, ${shapes[i].join(", ")})`, countParams(l), how[i]]);
    io.print(
      "== The lecture's network, volume by volume",
      "",
      `  input (None, ${H}, ${W}, 1)`,
      table(["layer", "output shape", "params", "why"], rows),
      `  total params: ${model.countParams().toLocaleString("en-US")}`,
      "",
      "== Systematic reduction",
      "",
      "Along each axis a 'valid' convolution or pooling maps n pixels to ⌊(n − k + 2P)/S⌋ + 1, with kernel k,",
      "padding P and stride S. The network trades width and height for depth, step by step:",
      `  ${H}×${W}×1 → ${shapes[0].join("×")} → ${shapes[1].join("×")} → ${shapes[2][0]} → 50 → 10 class probabilities (softmax).`,
      `With padding='same' (P = 1), the convolution keeps ${H}×${W}: then ${H}×${W}×10 → ${sameModel.layerOutputShapes()[1].join("×")} → ${sameModel.layerOutputShapes()[2][0]}, and the`,
      `network has ${sameModel.countParams().toLocaleString("en-US")} weights instead of ${model.countParams().toLocaleString("en-US")}.`,
      "",
    );

    // ------------------------------------------------------------ 5. a digit and its feature maps
    const { K: KD, names } = demoFilters();
    const pick = rng.int(d.images.shape[0]);
    const one = takeRows(d.images, [pick]);
    const maps = activationForward("relu", conv2dForward(one, KD, null).out).out;
    const pooledMaps = maxPoolForward(maps, 2).out;
    io.print(
      "== A digit and its feature maps",
      "",
      `Digit ${pick} (label ${d.labels[pick]}), four 3×3 filters, ReLU, then 2×2 max pooling (each map scaled to its own maximum):`,
      "",
      drawImages(d.images, [pick], [`input ${H}×${W}`], dataset === "digits" ? 16 : 1),
      "",
      drawFeatureMaps(maps, names.map((n) => `${n} ${shapes[0][0]}×${shapes[0][1]}`)),
      "",
      drawFeatureMaps(pooledMaps, names.map((n) => `${n.split(" ")[0]} ${shapes[1][0]}×${shapes[1][1]}`)),
    );

    // ------------------------------------------------------------ 5b. the filters of a trained network (--load)
    let trainedFilters: number[] | null = null;
    if (opts.load) {
      model.loadWeights(opts.load);
      const [Kt, bt] = model.getWeights();
      const learned = activationForward("relu", conv2dForward(one, Kt, bt).out).out;
      const F = Kt.shape[3];
      trainedFilters = Array.from(Kt.data);
      io.print(
        "",
        `== The same digit through the ${F} filters learned by chapter 03 (${opts.load}), bias and ReLU included`,
        "",
        drawFeatureMaps(learned, Array.from({ length: F }, (_, f) => `filter ${f + 1}`)),
      );
    }

    return {
      dataset,
      tinyImage: x.reshape([4, 4]).toArray(),
      patchMatrixShape: cols.shape,
      patchMatrix: cols.toArray(),
      tinyConvolution: z.reshape([4, 2]).toArray(),
      tinyMaxAbsDiff: maxAbsDiff(z, zNaive),
      batchPatchMatrixShape: [100 * gb.Ho * gb.Wo, 9],
      batchMaxAbsDiff: batchDiff,
      maxPool: { input: a.reshape([4, 4]).toArray(), output: pooled.reshape([2, 2]).toArray(), switches: Array.from(pc.switches) },
      layers: model.layers.map((l, i) => ({ layer: l.className, outputShape: shapes[i], params: countParams(l) })),
      totalParams: model.countParams(),
      totalParamsSamePadding: sameModel.countParams(),
      outputSize: { valid: windowAxis(H, 3, 1, "valid").out, same: windowAxis(H, 3, 1, "same").out },
      seed,
      ...(trainedFilters ? { loadedKernel: trainedFilters } : {}),
    };
  },
});
