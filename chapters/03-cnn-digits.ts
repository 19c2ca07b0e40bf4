/**
 * Chapter 03: the lecture's CNN, trained on the digits.
 *
 *   npx tsx chapters/03-cnn-digits.ts [--eta η] [--lambda λ] [--epochs E] [--dataset digits|mnist]
 *                                     [--padding valid|same] [--seed N] [--quick] [--json]
 *
 * The network of create_convolutional_neural_network_keras: Conv2D(10, 3×3,
 * relu, l2(λ)) → MaxPooling2D(2×2) → Flatten → Dense(50, relu, l2(λ)) →
 * Dense(10, softmax, l2(λ)), categorical cross-entropy, SGD(η), 100 epochs of
 * batches of 100, on an 80/20 train_test_split of one-hot labels.
 */
import { runChapter } from "./_shared/cli.ts";
import { lineChart, fmt } from "./_shared/plot.ts";
import { shapeStr } from "../lib/matrix.ts";
import type { Sequential } from "../lib/model.ts";
import { createConvolutionalNeuralNetwork, mnistCount, prepareData, trainLectureCnn } from "./_shared/lecture-cnn.ts";
import { compareDefaultRun, DEFAULT_RUN_RANGE } from "./_shared/verdicts.ts";

runChapter({
  id: "03-cnn-digits",
  title: "Chapter 03: the lecture's CNN on the digits",
  section: 'Lecture sections "Importing Keras and TensorFlow", "Running with Keras"',
  defaultSeed: 2023,
  threads: true,
  quickHelp: "10 epochs instead of 100 (and 2,000 MNIST digits with --dataset mnist)",
  options: {
    eta: { type: "number", default: 0.01, min: 0, help: "the learning rate η of SGD" },
    lambda: { type: "number", default: 1e-4, min: 0, help: "the l2 regularisation λ of every kernel" },
    epochs: { type: "integer", default: 100, min: 1, max: 100000, help: "training epochs (the lecture's 100)" },
    dataset: { type: "string", choices: ["digits", "mnist"], default: "digits", help: "the lecture's 8×8 digits, or real 28×28 MNIST" },
    padding: { type: "string", choices: ["valid", "same"], default: "valid", help: "the Conv2D padding ('same' is what the lecture's code passes; see the note)" },
    save: { type: "string", path: "outFile", help: "write the trained network's weights to this JSON file (chapter 02 --load draws its filters)" },
    load: { type: "string", path: "inFile", help: "load weights written by --save and evaluate them instead of training" },
  },
  run(opts, io) {
    const seed: number = opts.seed;
    const eta: number = opts.eta, lambda: number = opts.lambda;
    const epochs: number = opts.quick ? Math.min(opts.epochs, 10) : opts.epochs;
    const dataset: string = opts.dataset;
    const padding: "valid" | "same" = opts.padding;

    const data = prepareData(dataset, seed, mnistCount(opts.quick));
    const nTrain = data.xTrain.shape[0], nTest = data.xTest.shape[0];
    io.print(
      "== The data",
      "",
      `  inputs ${shapeStr([nTrain + nTest, ...data.inputShape])}  →  to_categorical(labels), train_test_split(train_size=0.8, seed ${seed})`,
      `  X_train ${shapeStr(data.xTrain.shape)}   Y_train ${shapeStr(data.yTrain.shape)}`,
      `  X_test  ${shapeStr(data.xTest.shape)}   Y_test  ${shapeStr(data.yTest.shape)}`,
      dataset === "digits" ? "  The pixels keep their raw values 0..16, as in the lecture." : "  The pixels are in [0, 1].",
      "",
      "== create_convolutional_neural_network_keras(input_shape, receptive_field=3, n_filters=10,",
      "                                             n_neurons_connected=50, n_categories=10, eta, lmbd)",
      "",
      createConvolutionalNeuralNetwork({ inputShape: data.inputShape, eta, lmbd: lambda, padding, seed }).summary(),
      "",
    );
    if (padding === "valid") {
      io.print(
        "Note: the lecture's code passes padding='same' to Conv2D, for which Keras reports 8,660 weights",
        "(8×8×10 → 4×4×10 → 160 inputs to Dense(50)). This chapter defaults to 'valid' padding, the",
        "5,160-weight network above; run with --padding same for the other one.",
        "",
      );
    }

    if (opts.load) {
      const loaded = createConvolutionalNeuralNetwork({ inputShape: data.inputShape, eta, lmbd: lambda, padding, seed });
      loaded.loadWeights(opts.load);
      const trainAccuracy = loaded.evaluate(data.xTrain, data.yTrain).accuracy ?? NaN;
      const testAccuracy = loaded.evaluate(data.xTest, data.yTest).accuracy ?? NaN;
      io.print(
        `Loaded the weights from ${opts.load}; no training.`,
        `Training accuracy: ${trainAccuracy.toFixed(4)}   (${nTrain} images)`,
        `Test accuracy:     ${testAccuracy.toFixed(4)}   (${nTest} images)`,
      );
      return { totalParams: loaded.countParams(), trainAccuracy, testAccuracy, eta, lambda, epochs: 0, seed, loss: [], accuracy: [], diverged: false, dataset, padding, loaded: opts.load };
    }
    io.print(`== Training: SGD(learning_rate = ${eta}), l2(λ = ${lambda}), ${epochs} epochs, batch size 100`, "");
    const kept: { model: Sequential | null } = { model: null };
    const r = trainLectureCnn(data, {
      eta, lmbd: lambda, epochs, seed, padding,
      onTrained: (m) => { kept.model = m; },
      onEpochEnd: (e, logs) => io.progress(`epoch ${e + 1}/${epochs}  loss ${fmt(logs.loss, 4)}  accuracy ${fmt(logs.accuracy, 4)}`),
    });
    io.progressDone();
    if (opts.save && !r.diverged && kept.model) {
      kept.model.saveWeights(opts.save);
      io.print(`Saved the weights to ${opts.save}.`, "");
    }

    // charts only for a reader: nothing is drawn under --json
    if (!opts.json) {
      const xLabel = `epoch 1 … ${r.epochsRun}`;
      io.print(
        lineChart(r.loss, { title: "Training loss per epoch (categorical cross-entropy + λΣw²)", height: 10, xLabel, values: 6 }),
        "",
        lineChart(r.accuracy, { title: "Training accuracy per epoch", height: 8, xLabel }),
        "",
      );
    }
    if (r.diverged) io.print(`Training diverged: ${r.divergence}. The accuracies below are those of the weights it stopped with.`, "");
    io.print(
      `Training accuracy: ${r.trainAccuracy.toFixed(4)}   (${nTrain} images)`,
      `Test accuracy:     ${r.testAccuracy.toFixed(4)}   (${nTest} images)`,
      `(${r.seconds.toFixed(1)} s)`,
      "",
    );
    // A diverged run is a failed run: say why and exit non-zero (chapter 04 instead records divergence in its grid).
    if (r.diverged) throw new Error(`training diverged: ${r.divergence}`);
    if (eta === 0.01 && lambda === 1e-4) {
      io.print(
        "== Why η = 0.01 and λ = 1e-4",
        "",
        "Both come from the lecture's grid, logspace(-5, 1, 7), which chapter 04 searches in full; η = 0.01 is",
        "also Keras's default SGD learning rate. On the raw 0..16 pixels η ≥ 1 makes the weights run away in",
        "the first epoch, η = 1e-3 reaches only about 0.9 test accuracy in 100 epochs and smaller rates far",
        "less, and η = 0.1 works too but sits one step below divergence. λ ≥ 1 pins the weights near zero",
        "(chance level) wherever η ≥ 1e-3 lets the decay act, and λ = 0.1 costs accuracy; λ = 1e-4 lies in the plateau where the penalty does not",
        "hurt. The grid's single best cell changes with the seed; this pair does not: with 100 epochs it",
        `reached ${DEFAULT_RUN_RANGE[0]} to ${DEFAULT_RUN_RANGE[1]} test accuracy for seeds 2023, 1, 2 and 3 (measured when this text was written).`,
        compareDefaultRun(r.testAccuracy, epochs, dataset, padding),
      );
    }

    return {
      totalParams: createConvolutionalNeuralNetwork({ inputShape: data.inputShape, eta, lmbd: lambda, padding, seed }).countParams(),
      trainAccuracy: r.trainAccuracy,
      testAccuracy: r.testAccuracy,
      eta,
      lambda,
      epochs,
      seed,
      loss: r.loss,
      accuracy: r.accuracy,
      diverged: r.diverged,
      dataset,
      padding,
    };
  },
});
