/**
 * The data of the lecture's "A simple example" (chapter 06, reused by chapter 07):
 *
 *   step = 4; N = 1000; Tp = 800
 *   t = np.arange(0, N); x = np.sin(0.02*t) + 2*np.random.rand(N)
 *   train, test = values[0:Tp], values[Tp:N]
 *   test = np.append(test, np.repeat(test[-1:], step)); train = np.append(train, np.repeat(train[-1:], step))
 *   trainX, trainY = convertToMatrix(train, step)   # X[i] = data[i:i+step], Y[i] = data[i+step]
 *
 * The noise 2·U(0, 1) comes from the chapter's seeded generator.
 */
import { Rng } from "../../lib/random.ts";
import { Tensor } from "../../lib/matrix.ts";
import { Sequential } from "../../lib/model.ts";
import { SimpleRNN } from "../../lib/recurrent.ts";
import { Dense } from "../../lib/layers.ts";
import { RMSprop } from "../../lib/optimizers.ts";

export interface NoisySine {
  /** t = 0 … N−1 */
  t: number[];
  /** x(t) = sin(0.02 t) + 2·U(0, 1) */
  values: number[];
  /** The noise-free part, sin(0.02 t). */
  clean: number[];
}

/** N points of sin(0.02 t) plus the lecture's noise 2·U(0, 1), drawn from `rng`. */
export function noisySine(N: number, rng: Rng): NoisySine {
  if (!Number.isInteger(N) || N < 2) throw new Error(`noisySine: N must be a whole number ≥ 2, got ${N}`);
  const t: number[] = [], values: number[] = [], clean: number[] = [];
  for (let i = 0; i < N; i++) {
    const s = Math.sin(0.02 * i);
    t.push(i);
    clean.push(s);
    values.push(s + 2 * rng.next());
  }
  return { t, values, clean };
}

/** The lecture's convertToMatrix: X[i] = data[i : i+step], Y[i] = data[i+step], for i < len − step. */
export function convertToMatrix(data: readonly number[], step: number): { X: number[][]; Y: number[] } {
  if (!Number.isInteger(step) || step < 1) throw new Error(`convertToMatrix: step must be a whole number ≥ 1, got ${step}`);
  if (data.length <= step) throw new Error(`convertToMatrix: ${data.length} values give no window of ${step} plus a target`);
  const X: number[][] = [], Y: number[] = [];
  for (let i = 0; i < data.length - step; i++) {
    X.push(data.slice(i, i + step));
    Y.push(data[i + step]);
  }
  return { X, Y };
}

/** data followed by `step` copies of its last value (the lecture's np.append(d, np.repeat(d[-1:], step))). */
export function padWithLast(data: readonly number[], step: number): number[] {
  return [...data, ...Array<number>(step).fill(data[data.length - 1])];
}

export interface SineWindows {
  /** (Tp, 1, step) as the lecture feeds it, or (Tp, step, 1) with asSequence. */
  trainX: Tensor;
  trainY: Tensor;
  testX: Tensor;
  testY: Tensor;
  series: NoisySine;
}

/**
 * The lecture's split and windows. By default each window is one time step of
 * `step` features, (n, 1, step), as the lecture reshapes it; `asSequence`
 * gives `step` time steps of one feature, (n, step, 1).
 */
export function sineWindows(opts: { N?: number; Tp?: number; step?: number; rng: Rng; asSequence?: boolean }): SineWindows {
  const N = opts.N ?? 1000, Tp = opts.Tp ?? 800, step = opts.step ?? 4;
  if (!(Tp > step && Tp < N)) throw new Error(`sineWindows: need step < Tp < N, got step ${step}, Tp ${Tp}, N ${N}`);
  const series = noisySine(N, opts.rng);
  const train = padWithLast(series.values.slice(0, Tp), step);
  const test = padWithLast(series.values.slice(Tp), step);
  const toTensors = (d: number[]) => {
    const { X, Y } = convertToMatrix(d, step);
    const shape = opts.asSequence ? [X.length, step, 1] : [X.length, 1, step];
    return { x: new Tensor(shape, Float64Array.from(X.flat())), y: new Tensor([Y.length, 1], Float64Array.from(Y)) };
  };
  const tr = toTensors(train), te = toTensors(test);
  return { trainX: tr.x, trainY: tr.y, testX: te.x, testY: te.y, series };
}

/**
 * The lecture's network for this data, compiled as the lecture compiles it:
 *
 *   model.add(SimpleRNN(units=32, input_shape=(1, step), activation="relu"))
 *   model.add(Dense(8, activation="relu")); model.add(Dense(1))
 *   model.compile(loss='mean_squared_error', optimizer='rmsprop')
 *
 * `asSequence` gives it the input shape (step, 1) instead of (1, step).
 */
export function lectureSineRnn(opts: { seed: number; step?: number; asSequence?: boolean }): Sequential {
  const step = opts.step ?? 4;
  const model = new Sequential({ seed: opts.seed });
  model.add(new SimpleRNN(32, { inputShape: opts.asSequence ? [step, 1] : [1, step], activation: "relu" }));
  model.add(new Dense(8, { activation: "relu" }));
  model.add(new Dense(1));
  model.compile({ loss: "mean_squared_error", optimizer: new RMSprop() });
  return model;
}
