/**
 * The page's worker: the long computations run here, with the chapters' own
 * functions, so the page stays responsive. One worker per task; the page stops
 * a task by terminating its worker.
 */
import { Tensor, takeRows } from "../lib/matrix.ts";
import type { Sequential } from "../lib/model.ts";
import type { Conv2D } from "../lib/conv.ts";
import { stepJacobians, jacobianNorms } from "../lib/bptt.ts";
import { gradientFlowSetup, gradientFlowProblem } from "../chapters/_shared/bptt-experiment.ts";
import { splitImages, trainLectureCnn } from "../chapters/_shared/lecture-cnn-model.ts";
import { MODEL_NAMES, type ModelName, runNetwork } from "../chapters/_shared/extrapolation.ts";
import { PARTICLES, CCD_ENERGIES } from "../chapters/_shared/extrapolation-data.ts";
import type { ToWorker, FromWorker } from "./protocol.ts";

const post = (m: FromWorker) => (self as unknown as { postMessage(m: FromWorker): void }).postMessage(m);

let cnn: { model: Sequential; xTest: Tensor; yTest: Tensor } | null = null;

function argmax(a: ArrayLike<number>, from = 0, n = a.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i] > a[from + best]) best = i;
  return best;
}

function handle(m: ToWorker): void {
  switch (m.kind) {
    case "jacobians": {
      // ‖∂h(T)/∂h(k)‖₂ as chapter 05 computes it (gradientFlowRun's jacobianNorms)
      const t0 = performance.now();
      const setup = gradientFlowSetup(m.seed, m.T, m.units);
      const { cell, params, fwd } = gradientFlowProblem(setup, m.activation, m.rho);
      const norms = jacobianNorms(stepJacobians(cell, params, setup.x, fwd), setup.T);
      // start: when the worker began, on the page's clock (performance.timeOrigin + now is shared by all threads)
      post({ kind: "jacobians", id: m.id, spectral: norms.slice(1).map((n) => n.spectral), ms: performance.now() - t0, start: performance.timeOrigin + t0 });
      return;
    }
    case "cnn-train": {
      const n = m.labels.length;
      const images = new Tensor([n, 8, 8, 1]);
      for (let i = 0; i < n * 64; i++) images.data[i] = m.pixels[i];
      const data = splitImages({ images, labels: m.labels }, m.seed);
      let model: Sequential | null = null;
      const result = trainLectureCnn(data, {
        eta: m.eta, lmbd: m.lambda, epochs: m.epochs, seed: m.seed, padding: m.padding,
        onEpochEnd: (epoch, logs) => post({ kind: "epoch", epoch, logs: { ...logs } }),
        onTrained: (trained) => (model = trained),
      });
      if (!model) throw new Error("training returned no network");
      const trained: Sequential = model;
      cnn = { model: trained, xTest: data.xTest, yTest: data.yTest };
      const probs = trained.predict(data.xTest);
      const nTest = data.xTest.shape[0];
      const confusion = new Array(100).fill(0);
      for (let i = 0; i < nTest; i++) confusion[argmax(data.yTest.data, i * 10, 10) * 10 + argmax(probs.data, i * 10, 10)]++;
      const conv = trained.layers[0] as Conv2D;
      post({ kind: "cnn-done", result, confusion, filters: Array.from(conv.kernel?.data ?? []), nTest });
      return;
    }
    case "cnn-predict": {
      if (!cnn) throw new Error("no trained network yet: train one first");
      const x = new Tensor([1, 8, 8, 1], Float64Array.from(m.pixels));
      post({ kind: "cnn-probs", probs: Array.from(cnn.model.predict(x).data) });
      return;
    }
    case "cnn-maps": {
      if (!cnn) throw new Error("no trained network yet: train one first");
      const i = Math.min(cnn.xTest.shape[0] - 1, Math.max(0, m.index));
      const x = takeRows(cnn.xTest, [i]);
      const { out } = cnn.model.layers[0].forward(x, { training: false });
      post({
        kind: "cnn-maps", index: i, label: argmax(cnn.yTest.data, i * 10, 10), image: Array.from(x.data), maps: Array.from(out.data),
        h: out.shape[1], w: out.shape[2], probs: Array.from(cnn.model.predict(x).data),
      });
      return;
    }
    case "extrap-train": {
      if (!(MODEL_NAMES as readonly string[]).includes(m.model)) throw new Error(`unknown network '${m.model}'; expected one of ${MODEL_NAMES.join(", ")}`);
      const r = runNetwork(m.model as ModelName, {
        seed: m.seed, xs: PARTICLES, ys: CCD_ENERGIES, epochs: m.epochs,
        onEpochEnd: (epoch, logs) => post({ kind: "epoch", epoch, logs: { ...logs } }),
      });
      post({ kind: "extrap-done", predictions: r.predictions, mse: r.mse, seconds: r.seconds });
      return;
    }
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  try {
    handle(e.data);
  } catch (err) {
    post({ kind: "error", message: (err as Error).message });
  }
};
