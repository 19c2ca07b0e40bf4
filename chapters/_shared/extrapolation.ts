/**
 * The lecture's "An extrapolation example" and its variants, shared by
 * chapter 10 and the benchmark: format_data, the five networks, training as
 * the lecture trains them, and test_rnn's feedback prediction.
 *
 *   rnn_input, rnn_training = format_data(y_train, 2)          # (10, 2, 1), (10,)
 *   model = rnn(length_of_sequences = 2)                         # or rnn_2layers, lstm_2layers, dnn2_gru2
 *   model.fit(rnn_input, rnn_training, batch_size=None, epochs=150, validation_split=0.05)
 *   test_rnn(X_tot, y_tot, X_tot[0], X_tot[dim-1])
 *
 * Every network: MSE loss and Adam with Keras's defaults (lr 1e-3, β 0.9/0.999, ε 1e-7).
 */
import { Tensor } from "../../lib/matrix.ts";
import { Sequential, type History } from "../../lib/model.ts";
import { Dense } from "../../lib/layers.ts";
import { SimpleRNN, LSTM, GRU } from "../../lib/recurrent.ts";
import { Adam } from "../../lib/optimizers.ts";

export const MODEL_NAMES = ["rnn", "rnn_2layers", "lstm_2layers", "dnn2_gru2", "standard"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** The lecture's parameter counts (Keras's model.summary()). */
export const KERAS_TOTALS: Record<ModelName, number> = {
  rnn: 40601, rnn_2layers: 752001, lstm_2layers: 753251, dnn2_gru2: 675501, standard: 40601,
};

/** The number of training points (the lecture's dim = 12: x ≤ 24). */
export const DIM = 12;
export const SEQUENCE_LENGTH = 2;
export const EPOCHS = 150;
export const VALIDATION_SPLIT = 0.05;
/** batch_size=None in Keras's fit means 32. */
export const BATCH_SIZE = 32;

/** format_data: X[i] = data[i : i+len] as len time steps of one feature, Y[i] = data[i+len]. X: (n − len, len, 1), Y: (n − len, 1). */
export function formatData(data: readonly number[], length = SEQUENCE_LENGTH): { X: Tensor; Y: Tensor } {
  const n = data.length - length;
  if (n < 1) throw new Error(`formatData: ${data.length} values give no sequence of ${length} plus a target`);
  const X = new Tensor([n, length, 1]), Y = new Tensor([n, 1]);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < length; k++) X.data[i * length + k] = data[i + k];
    Y.data[i] = data[i + length];
  }
  return { X, Y };
}

/** One of the lecture's networks, compiled with MSE and Adam; `seed` gives its initial weights and shuffling. */
export function buildNetwork(name: ModelName, seed: number): Sequential {
  const m = new Sequential({ seed, name });
  const T = name === "standard" ? 1 : SEQUENCE_LENGTH;
  switch (name) {
    case "rnn":
    case "standard":
      // SimpleRNN(200) (tanh) → Dense(1); "standard" sees sequences of length 1 (one x per sample)
      m.add(new SimpleRNN(200, { inputShape: [T, 1] })).add(new Dense(1));
      break;
    case "rnn_2layers":
      m.add(new SimpleRNN(500, { inputShape: [T, 1], activation: "sigmoid", returnSequences: true }));
      m.add(new SimpleRNN(500, { activation: "sigmoid" })).add(new Dense(1));
      break;
    case "lstm_2layers":
      m.add(new LSTM(250, { inputShape: [T, 1], returnSequences: true })).add(new LSTM(250)).add(new Dense(1));
      break;
    case "dnn2_gru2":
      // the Dense layers act on the last axis of (N, 2, 1), time step by time step
      m.add(new Dense(125, { inputShape: [T, 1], activation: "relu" })).add(new Dense(125, { activation: "relu" }));
      m.add(new GRU(250, { returnSequences: true })).add(new GRU(250)).add(new Dense(1));
      break;
    default:
      throw new Error(`unknown network '${name as string}'; expected one of ${MODEL_NAMES.join(", ")}`);
  }
  m.compile({ loss: "mean_squared_error", optimizer: new Adam() });
  return m;
}

/** The training set of a network: format_data of the first DIM energies, or for "standard" the (x, y) pairs themselves. */
export function trainingSet(name: ModelName, xs: readonly number[], ys: readonly number[]): { X: Tensor; Y: Tensor } {
  if (name === "standard") {
    return { X: new Tensor([DIM, 1, 1], Float64Array.from(xs.slice(0, DIM))), Y: new Tensor([DIM, 1], Float64Array.from(ys.slice(0, DIM))) };
  }
  return formatData(ys.slice(0, DIM));
}

/**
 * test_rnn's prediction: the first DIM values are the true ones; each next value is
 * predicted from the pair (previous, current), the predictions feeding back.
 * For "standard" the network is asked for y at each remaining x.
 */
export function predictSeries(name: ModelName, model: Sequential, xs: readonly number[], ys: readonly number[]): number[] {
  const pred = ys.slice(0, DIM);
  if (name === "standard") {
    const rest = xs.slice(DIM);
    const out = model.predict(new Tensor([rest.length, 1, 1], Float64Array.from(rest)));
    return [...pred, ...out.data];
  }
  for (let i = DIM; i < ys.length; i++) {
    const next = model.predict(new Tensor([1, SEQUENCE_LENGTH, 1], Float64Array.from(pred.slice(i - SEQUENCE_LENGTH, i))));
    pred.push(next.data[0]);
  }
  return pred;
}

/** The lecture's MSE: over all points, the known first DIM included. */
export function seriesMSE(truth: readonly number[], pred: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += (truth[i] - pred[i]) ** 2;
  return s / truth.length;
}

export interface ExtrapolationRun {
  model: Sequential;
  history: History | null;
  predictions: number[];
  mse: number;
  seconds: number;
}

/** Trains one network as the lecture does (or loads its weights) and predicts the whole series. */
export function runNetwork(name: ModelName, o: {
  seed: number; xs: readonly number[]; ys: readonly number[]; epochs?: number; load?: string;
  onEpochEnd?: (epoch: number, logs: Record<string, number>) => void;
  /** A fresh network from buildNetwork(name, seed), if the caller built one already (building the big ones takes a while). */
  model?: Sequential;
}): ExtrapolationRun {
  const model = o.model ?? buildNetwork(name, o.seed);
  const t0 = performance.now();
  let history: History | null = null;
  if (o.load) {
    model.loadWeights(o.load);
  } else {
    const { X, Y } = trainingSet(name, o.xs, o.ys);
    history = model.fit(X, Y, { epochs: o.epochs ?? EPOCHS, batchSize: BATCH_SIZE, validationSplit: VALIDATION_SPLIT, verbose: 0, onEpochEnd: o.onEpochEnd, log: () => {} });
    if (history.stopped) throw new Error(`${name}, seed ${o.seed}: ${history.stopped.message}`);
  }
  const predictions = predictSeries(name, model, o.xs, o.ys);
  const seconds = (performance.now() - t0) / 1000;
  return { model, history, predictions, mse: seriesMSE(o.ys, predictions), seconds };
}
