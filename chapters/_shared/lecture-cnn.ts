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
import { Tensor } from "../../lib/matrix.ts";
import { Sequential } from "../../lib/model.ts";
import { Conv2D, type Padding } from "../../lib/conv.ts";
import { MaxPooling2D } from "../../lib/pool.ts";
import { Dense, Flatten } from "../../lib/layers.ts";
import { SGD } from "../../lib/optimizers.ts";
import { l2 } from "../../lib/regularizers.ts";
import { toCategorical, trainTestSplit, type Split } from "../../lib/data.ts";
import { loadDataset } from "../../lib/datasets.ts";

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

/** How many MNIST digits each run uses: all 10,000, or 2,000 with --quick. */
export function mnistCount(quick: boolean): number {
  return quick ? 2000 : 10000;
}

/**
 * The lecture's data preparation: to_categorical on the labels, then
 * train_test_split(inputs, labels, train_size=0.8) with the seed.
 */
export function prepareData(dataset: string, seed: number, quick: boolean): Split & { inputShape: number[]; source: string } {
  const d = loadDataset(dataset, { mnistCount: mnistCount(quick), seed });
  const labels = toCategorical(d.labels, 10);
  const split = trainTestSplit(d.images, labels, { trainSize: 0.8, seed });
  return { ...split, inputShape: d.images.shape.slice(1), source: d.source };
}

export interface RunResult {
  /** The mean training loss (with the l2 penalty) of every epoch run. */
  loss: number[];
  accuracy: number[];
  /** The loss of the untrained network on the training set. */
  initialLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** Training stopped because the loss became NaN or ±∞, or rose above initialLoss. */
  diverged: boolean;
  /** How it diverged, in words; null if it did not. */
  divergence: string | null;
  epochsRun: number;
  seconds: number;
}

/**
 * Builds the network, fits it epoch by epoch (batch size 100, as the
 * lecture) and evaluates it on both sets.
 *
 * A run has diverged when its loss becomes NaN or ±∞ (the model stops there
 * and skips that update), or when an epoch's mean loss rises above the loss of
 * the untrained network: SGD is then stepping past every minimum. In float32,
 * as Keras trains, that blow-up soon ends in NaN; in float64 the ReLUs often
 * die first, leaving a finite loss that no longer falls. Either way training
 * stops, and the accuracy is measured on the weights it stopped with: chance
 * level, one class for every image.
 */
export function trainLectureCnn(
  data: Split & { inputShape: number[] },
  o: { eta: number; lmbd: number; epochs: number; seed: number; batchSize?: number; padding?: Padding; onEpochEnd?: (epoch: number, logs: Record<string, number>) => void },
): RunResult {
  const t0 = performance.now();
  const model = createConvolutionalNeuralNetwork({ inputShape: data.inputShape, eta: o.eta, lmbd: o.lmbd, padding: o.padding, seed: o.seed });
  const initialLoss = model.evaluate(data.xTrain, data.yTrain).loss;
  const loss: number[] = [], accuracy: number[] = [];
  let divergence: string | null = null;
  for (let epoch = 0; epoch < o.epochs && divergence === null; epoch++) {
    const h = model.fit(data.xTrain, data.yTrain, { epochs: 1, batchSize: o.batchSize ?? 100, verbose: 0 });
    const logs = { loss: h.history.loss[0], accuracy: h.history.accuracy[0] };
    loss.push(logs.loss);
    accuracy.push(logs.accuracy);
    o.onEpochEnd?.(epoch, logs);
    if (h.stopped) divergence = `the loss became ${logs.loss} in epoch ${epoch + 1}, at step ${h.stopped.step}`;
    else if (logs.loss > initialLoss) divergence = `the mean loss of epoch ${epoch + 1}, ${logs.loss.toPrecision(4)}, rose above the untrained network's ${initialLoss.toPrecision(4)}`;
  }
  return {
    loss,
    accuracy,
    initialLoss,
    trainAccuracy: accuracyOf(model, data.xTrain, data.yTrain),
    testAccuracy: accuracyOf(model, data.xTest, data.yTest),
    diverged: divergence !== null,
    divergence,
    epochsRun: loss.length,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The share of samples whose arg-max prediction is the true class (Keras's accuracy). */
function accuracyOf(model: Sequential, x: Tensor, y: Tensor): number {
  return model.evaluate(x, y).accuracy ?? NaN;
}
