/**
 * Chapter 06: the lecture's SimpleRNN on a noisy sine ("A simple example").
 *
 *   npx tsx chapters/06-sine-rnn.ts [--epochs E] [--as-sequence] [--save FILE] [--load FILE]
 *                                   [--seed N] [--quick] [--json]
 *
 * The lecture's program, line for line: x(t) = sin(0.02 t) + 2·U(0, 1) for
 * t < 1000, the first 800 points for training, windows of 4 values predicting
 * the 5th, reshaped to (800, 1, 4); SimpleRNN(32, relu) → Dense(8, relu) →
 * Dense(1), MSE, RMSprop, 100 epochs of batches of 16.
 *
 * What it shows: the train MSE sits at the noise floor 1/3 (no predictor can
 * do better), and the input shape (1, 4) is ONE time step of 4 features, so
 * the recurrent weights W_hh never act: ∂L/∂W_hh is exactly 0. --as-sequence
 * feeds the same windows as 4 time steps of one feature, and compares.
 */
import { runChapter } from "./_shared/cli.ts";
import { lineChart, lineChartColumn, table, fmt } from "./_shared/plot.ts";
import { sineVerdict, mseStandardError } from "./_shared/rnn-verdicts.ts";
import { sineWindows, lectureSineRnn, type SineWindows } from "./_shared/sine-data.ts";
import { Rng } from "../lib/random.ts";
import { frobeniusNorm, shapeStr } from "../lib/matrix.ts";
import { kerasNumber, type Sequential } from "../lib/model.ts";

const STEP = 4, N = 1000, TP = 800;
/** Var(2·U(0, 1)) = 4 · 1/12. */
const NOISE_FLOOR = 1 / 3;
/** The train MSE the lecture's Keras run printed. */
const LECTURE_TRAIN_MSE = 0.351;

interface SineRun {
  model: Sequential;
  data: SineWindows;
  lossHistory: number[];
  trainMSE: number;
  testMSE: number;
  whhGradNorm: number;
  trainPredict: number[];
  testPredict: number[];
  seconds: number;
}

/** The squared errors of the noise-free predictor sin(0.02 t) + 1 (the mean of x(t)) on the windows' targets. */
function idealSquaredErrors(data: SineWindows, from: number, to: number): number[] {
  const v = data.series.values;
  // Target i of a split [from, to) is x(from + i + step); the padded copies repeat the split's last value.
  const n = to - from;
  return Array.from({ length: n }, (_, i) => {
    const t = from + Math.min(i + STEP, n - 1);
    return (v[t] - (Math.sin(0.02 * t) + 1)) ** 2;
  });
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The lecture's data and compiled network. The noise comes from the chapter's seed, the initial weights and shuffling from the model's. */
function setup(seed: number, asSequence: boolean): { data: SineWindows; model: Sequential } {
  return {
    data: sineWindows({ N, Tp: TP, step: STEP, rng: new Rng(seed), asSequence }),
    model: lectureSineRnn({ seed, step: STEP, asSequence }),
  };
}

function train(o: { data: SineWindows; model: Sequential; epochs: number; load?: string; log: (line: string) => void; progress: (s: string) => void }): SineRun {
  const { data, model } = o;
  const t0 = performance.now();
  let lossHistory: number[] = [];
  if (o.load) {
    model.loadWeights(o.load);
  } else {
    const h = model.fit(data.trainX, data.trainY, {
      epochs: o.epochs, batchSize: 16, verbose: 1, log: o.log,
      onEpochEnd: (e, logs) => o.progress(`epoch ${e + 1}/${o.epochs}  loss ${kerasNumber(logs.loss)}`),
    });
    if (h.stopped) throw new Error(`training stopped: ${h.stopped.message}`);
    lossHistory = h.history.loss;
  }
  const seconds = (performance.now() - t0) / 1000;
  // ∂L/∂W_hh over the whole training set, at the final weights (params: kernel, recurrent_kernel, bias, ...)
  const { grads } = model.lossAndGradients(data.trainX, data.trainY);
  return {
    model, data, lossHistory, seconds,
    trainMSE: model.evaluate(data.trainX, data.trainY).loss,
    testMSE: model.evaluate(data.testX, data.testY).loss,
    whhGradNorm: frobeniusNorm(grads[1]),
    trainPredict: Array.from(model.predict(data.trainX).data),
    testPredict: Array.from(model.predict(data.testX).data),
  };
}

/** The data and the predictions as the lecture plots them (prediction i drawn at t = i), with a mark under the train/test boundary. */
function dataChart(r: SineRun, width: number): string {
  const predicted = [...r.trainPredict, ...r.testPredict];
  const chart = lineChart([r.data.series.values, predicted], {
    height: 14, width, legend: ["data x(t)", "predicted (train, then test)"],
    title: `The data and the network's predictions, t = 0 … ${N - 1} (${Math.min(width, N)} evenly spaced points)`,
  });
  // the caret under the first column that shows a test prediction (index trainPredict.length of the concatenation)
  const nTrain = r.trainPredict.length;
  const col = lineChartColumn(Math.max(r.data.series.values.length, predicted.length), width, nTrain);
  const mark = `${" ".repeat(col)}^ t = ${nTrain}: train | test`;
  const lines = chart.split("\n");
  // the legend is the last line: put the mark above it
  lines.splice(lines.length - 1, 0, mark);
  return lines.join("\n");
}

runChapter({
  id: "06-sine-rnn",
  title: "Chapter 06: the lecture's SimpleRNN on a noisy sine",
  section: 'Lecture section "A simple example" (SimpleRNN, noisy sine)',
  defaultSeed: 0,
  quickHelp: "10 epochs instead of 100",
  options: {
    epochs: { type: "integer", default: 100, min: 1, max: 100000, help: "training epochs (the lecture's 100)" },
    "as-sequence": { type: "boolean", help: "feed the windows as (N, 4, 1), four time steps of one feature, and compare with the lecture's (N, 1, 4)" },
    save: { type: "string", path: "outFile", help: "write the trained weights to this JSON file" },
    load: { type: "string", path: "inFile", help: "load weights saved by --save instead of training" },
  },
  run(opts, io) {
    const seed: number = opts.seed;
    const epochs: number = opts.quick ? Math.min(opts.epochs, 10) : opts.epochs;
    const asSequence: boolean = opts["as-sequence"];
    const log = (line: string) => io.print(line);
    const progress = (s: string) => io.progress(s);

    const first = setup(seed, asSequence);
    io.print(
      "== The data",
      "",
      `  x(t) = sin(0.02 t) + 2·U(0, 1), t = 0 … ${N - 1}; train = x[0:${TP}], test = x[${TP}:${N}], each padded with ${STEP} copies of its last value`,
      `  convertToMatrix(…, step=${STEP}): X[i] = x[i:i+${STEP}], Y[i] = x[i+${STEP}]`,
      `  trainX ${shapeStr(first.data.trainX.shape)}   testX ${shapeStr(first.data.testX.shape)}` +
        (asSequence ? "   (--as-sequence: 4 time steps of 1 feature)" : "   (the lecture's reshape: 1 time step of 4 features)"),
      "",
      first.model.summary(),
      "",
    );
    if (!opts.load) io.print(`== Training: model.fit(trainX, trainY, epochs=${epochs}, batch_size=16), RMSprop (lr 1e-3, ρ 0.9)`, "");
    const main = train({ ...first, epochs, load: opts.load, log, progress });
    io.progressDone();
    io.print(opts.load ? `Loaded the weights from ${opts.load}; no training.` : "", "");
    if (opts.save) {
      main.model.saveWeights(opts.save);
      io.print(`Saved the weights to ${opts.save}.`, "");
    }

    const idealTrainSq = idealSquaredErrors(main.data, 0, TP);
    const idealTrain = mean(idealTrainSq), idealTest = mean(idealSquaredErrors(main.data, TP, N));
    // how precisely 800 training targets measure an MSE: one standard error of the ideal predictor's mean squared error
    const se = mseStandardError(idealTrainSq);
    io.print(
      table(["", "train MSE", "test MSE"], [
        ["the network", fmt(main.trainMSE, 4), fmt(main.testMSE, 4)],
        ["ideal predictor sin(0.02t) + 1", fmt(idealTrain, 4), fmt(idealTest, 4)],
        ["noise floor Var(2·U(0,1)) = 1/3", fmt(NOISE_FLOOR, 4), fmt(NOISE_FLOOR, 4)],
        ["the lecture's Keras run (train only)", String(LECTURE_TRAIN_MSE), "—"],
      ]),
      "",
    );
    if (!opts.json) io.print(dataChart(main, 72), "");

    const ratio = main.trainMSE / idealTrain;
    io.print(
      "== What the numbers say",
      "",
      `The noise 2·U(0, 1) has variance 1/3 ≈ 0.333: whatever a predictor knows about the sine, the noise of the`,
      `next point is new, so no predictor can beat that floor on average. On this draw of the noise, the ideal`,
      `predictor (the true mean sin(0.02t) + 1) scores ${fmt(idealTrain, 4)} on the training targets; the network scores`,
      `${fmt(main.trainMSE, 4)}, ${ratio >= 1 ? `${fmt(ratio, 3)}× the ideal predictor's` : `${fmt(1 / ratio, 3)}× below the ideal predictor's: it has fitted some of the noise of these 800 points`}.`,
      ...sineVerdict({ trainMSE: main.trainMSE, idealMSE: idealTrain, lectureMSE: LECTURE_TRAIN_MSE, se }),
      "",
    );

    io.print(
      `‖∂L/∂W_hh‖ at the final weights, over the training set: ${main.whhGradNorm === 0 ? "exactly 0" : fmt(main.whhGradNorm, 4)}.`,
    );
    let lectureLayout: SineRun | null = null;
    if (!asSequence) {
      io.print(
        main.whhGradNorm === 0
          ? "The input (1, 4) is ONE time step of 4 features. With h(0) = 0, h(1) = relu(x(1)·W_hx + b_h): the recurrent\n" +
            "weights W_hh multiply only h(0) = 0, never receive a gradient and never act. The SimpleRNN is a dense\n" +
            "layer in disguise. Run with --as-sequence to feed the windows as 4 time steps of 1 feature."
          : "W_hh received a gradient, which with one time step and h(0) = 0 should not happen.",
        "",
      );
    } else {
      // the lecture's layout on the same noise and seed, for the side-by-side table
      io.print("", "Training the lecture's layout (N, 1, 4) on the same noise and seed, for comparison ...");
      lectureLayout = train({ ...setup(seed, false), epochs, log: () => {}, progress });
      io.progressDone();
      io.print(
        "",
        table(["", "lecture (N, 1, 4)", "--as-sequence (N, 4, 1)"], [
          ["weights", lectureLayout.model.countParams(), main.model.countParams()],
          ["train MSE", fmt(lectureLayout.trainMSE, 4), fmt(main.trainMSE, 4)],
          ["test MSE", fmt(lectureLayout.testMSE, 4), fmt(main.testMSE, 4)],
          ["‖∂L/∂W_hh‖", fmt(lectureLayout.whhGradNorm, 4), fmt(main.whhGradNorm, 4)],
          ["seconds", fmt(lectureLayout.seconds, 3), fmt(main.seconds, 3)],
        ]),
        "",
        main.whhGradNorm > 0
          ? "As 4 time steps of 1 feature, h(t) = relu(x(t)·W_hx + h(t−1)·W_hh + b_h) carries the window through the\n" +
            "recurrence and W_hh gets a gradient. " +
            (Math.min(main.trainMSE, lectureLayout.trainMSE) >= idealTrain - 3 * se
              ? `Neither train MSE is below the ideal predictor's ${fmt(idealTrain, 4)} by more than 3 standard errors: memory cannot predict noise.`
              : `One train MSE is more than 3 standard errors below the ideal predictor's ${fmt(idealTrain, 4)}: that network has fitted some of the noise.`)
          : "W_hh received no gradient even with 4 time steps (the relu units may all be dead).",
        "",
      );
    }
    io.print(`(${fmt(main.seconds, 3)} s${opts.load ? "" : `, ${fmt((1000 * main.seconds) / epochs, 3)} ms per epoch`})`);

    const result: Record<string, unknown> = {
      totalParams: main.model.countParams(),
      trainMSE: main.trainMSE,
      testMSE: main.testMSE,
      noiseFloor: NOISE_FLOOR,
      idealMSE: idealTrain,
      idealTestMSE: idealTest,
      trainMSEStandardError: se,
      lossHistory: main.lossHistory,
      whhGradNorm: main.whhGradNorm,
      asSequence,
      epochs: opts.load ? 0 : epochs,
      seed,
      seconds: main.seconds,
    };
    if (lectureLayout) {
      result.lectureLayout = { totalParams: lectureLayout.model.countParams(), trainMSE: lectureLayout.trainMSE, testMSE: lectureLayout.testMSE, whhGradNorm: lectureLayout.whhGradNorm };
    }
    return result;
  },
});
