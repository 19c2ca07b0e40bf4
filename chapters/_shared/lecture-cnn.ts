/**
 * The lecture's CNN and its training run, shared by chapters 03 and 04, the
 * grid worker, the benchmark and the tests.
 *
 * create_convolutional_neural_network_keras(input_shape, receptive_field,
 * n_filters, n_neurons_connected, n_categories, eta, lmbd):
 *   Conv2D(n_filters, (rf, rf), relu, l2(lmbd)) → MaxPooling2D((2, 2)) → Flatten
 *   → Dense(n_neurons_connected, relu, l2(lmbd)) → Dense(n_categories, softmax, l2(lmbd)),
 *   categorical cross-entropy, SGD(learning_rate=eta), metrics=['accuracy'].
 */
import type { Tensor } from "../../lib/matrix.ts";
import { Sequential } from "../../lib/model.ts";
import { Conv2D, type Padding } from "../../lib/conv.ts";
import { MaxPooling2D } from "../../lib/pool.ts";
import { Dense, Flatten } from "../../lib/layers.ts";
import { SGD } from "../../lib/optimizers.ts";
import { l2 } from "../../lib/regularizers.ts";
import { toCategorical, trainTestSplit, type Split } from "../../lib/data.ts";
import { loadDataset } from "./datasets.ts";

export interface LectureCnnOptions {
  inputShape: number[];
  receptiveField?: number;
  nFilters?: number;
  nNeuronsConnected?: number;
  nCategories?: number;
  eta: number;
  lmbd: number;
  /** The Conv2D padding: 'valid' (5,160 weights on the digits) or 'same' (8,660). */
  padding?: Padding;
  /** The model's seed: initial weights and the shuffling of every epoch. */
  seed: number;
}

/** The lecture's network, compiled, as Keras builds it. */
export function createConvolutionalNeuralNetwork(o: LectureCnnOptions): Sequential {
  const rf = o.receptiveField ?? 3;
  const model = new Sequential({ seed: o.seed });
  model.add(new Conv2D(o.nFilters ?? 10, [rf, rf], { inputShape: o.inputShape, padding: o.padding ?? "valid", activation: "relu", kernelRegularizer: l2(o.lmbd) }));
  model.add(new MaxPooling2D([2, 2]));
  model.add(new Flatten());
  model.add(new Dense(o.nNeuronsConnected ?? 50, { activation: "relu", kernelRegularizer: l2(o.lmbd) }));
  model.add(new Dense(o.nCategories ?? 10, { activation: "softmax", kernelRegularizer: l2(o.lmbd) }));
  model.compile({ loss: "categorical_crossentropy", optimizer: new SGD({ learningRate: o.eta }), metrics: ["accuracy"] });
  return model;
}

/** η and λ of the lecture's grid: np.logspace(-5, 1, 7) = 1e-5, 1e-4, …, 10. */
export const LOGSPACE = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

/** How many MNIST digits a chapter uses: all 10,000, or 2,000 with --quick. */
export function mnistCount(quick: boolean): number {
  return quick ? 2000 : 10000;
}

/**
 * The lecture's data preparation: to_categorical on the labels, then
 * train_test_split(inputs, labels, train_size=0.8) with the seed. With
 * dataset 'mnist', the first `mnistImages` of the shuffled 10,000 digits.
 */
export function prepareData(dataset: string, seed: number, mnistImages = 10000): Split & { inputShape: number[]; source: string } {
  const d = loadDataset(dataset, { mnistCount: mnistImages, seed });
  const labels = toCategorical(d.labels, 10);
  const split = trainTestSplit(d.images, labels, { trainSize: 0.8, seed });
  return { ...split, inputShape: d.images.shape.slice(1), source: d.source };
}

export interface RunResult {
  /** The mean training loss (with the l2 penalty) of every epoch run. */
  loss: number[];
  /** The training accuracy of every epoch run, counted during the epoch as Keras does. */
  accuracy: number[];
  trainAccuracy: number;
  testAccuracy: number;
  /** Training stopped because a batch's loss became NaN or ±∞, or the weights ran away (see trainLectureCnn). */
  diverged: boolean;
  /** How it diverged, in words; null if it did not. */
  divergence: string | null;
  epochsRun: number;
  seconds: number;
}

/** Weights whose norm grows to this many times its initial value count as diverged. */
export const BLOW_UP_FACTOR = 3;

/** ‖w‖: the Euclidean norm of all the model's weights together. */
export function weightNorm(model: Sequential): number {
  let s = 0;
  for (const p of model.trainableParams()) for (const v of p.value.data) s += v * v;
  return Math.sqrt(s);
}

/**
 * Builds the network and trains it with model.fit(X_train, Y_train, epochs,
 * batch_size=100), watching every step; then evaluates it on both sets.
 *
 * A run has diverged when a batch's loss becomes NaN or ±∞ (fit stops by
 * itself), or when the weights run away: their norm ‖w‖ grows past
 * BLOW_UP_FACTOR times its initial value. (Stable runs of the lecture's grid
 * stay within 1.3 times it over 100 epochs; with η ≥ 1 it jumps to 4–200
 * times it within the first steps, after which the network may freeze.) In float32, as Keras trains, such a run soon ends in NaN;
 * in float64 the ReLUs often die first, leaving a finite loss that no longer
 * falls. Either way training stops there, and the accuracy is measured on the
 * weights it stopped with.
 */
export function trainLectureCnn(
  data: Split & { inputShape: number[] },
  o: { eta: number; lmbd: number; epochs: number; seed: number; batchSize?: number; padding?: Padding; onEpochEnd?: (epoch: number, logs: Record<string, number>) => void; onTrained?: (model: Sequential) => void },
): RunResult {
  const t0 = performance.now();
  const model = createConvolutionalNeuralNetwork({ inputShape: data.inputShape, eta: o.eta, lmbd: o.lmbd, padding: o.padding, seed: o.seed });
  const initialNorm = weightNorm(model);
  const history = model.fit(data.xTrain, data.yTrain, {
    epochs: o.epochs,
    batchSize: o.batchSize ?? 100,
    verbose: 0,
    seed: o.seed,
    // the chapters report divergence themselves
    log: () => {},
    onEpochEnd: o.onEpochEnd,
    onBatchEnd: (epoch, step) => {
      const growth = weightNorm(model) / initialNorm;
      if (growth <= BLOW_UP_FACTOR) return null;
      return `the weights ran away: ‖w‖ grew to ${growth.toPrecision(3)} times its initial value in epoch ${epoch}, step ${step}`;
    },
  });
  // the trained network, for a caller that keeps it (chapter 03's --save); not part of the result, which crosses worker threads
  o.onTrained?.(model);
  const loss = history.history.loss;
  return {
    loss,
    accuracy: history.history.accuracy,
    trainAccuracy: accuracyOf(model, data.xTrain, data.yTrain),
    testAccuracy: accuracyOf(model, data.xTest, data.yTest),
    diverged: history.stopped !== null,
    divergence: history.stopped?.message ?? null,
    epochsRun: loss.length,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The share of samples whose arg-max prediction is the true class (Keras's accuracy). */
function accuracyOf(model: Sequential, x: Tensor, y: Tensor): number {
  return model.evaluate(x, y).accuracy ?? NaN;
}
