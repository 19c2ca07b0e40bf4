/**
 * The page's worker: the long computations run here, with the chapters' own
 * functions, so the page stays responsive. One worker per task (two for
 * ‖∂h(T)/∂h(k)‖₂, below); the page stops a task by terminating its workers.
 *
 * ‖∂h(T)/∂h(k)‖₂ (chapter 05's jacobianNorms) is split over two workers joined by a
 * MessagePort, so its two halves run at the same time: the "products" worker builds
 * ∂h(T)/∂h(k) = ∂h(T)/∂h(k+1)·J(k+1) for k = T … 1 (jacobianProducts) and hands
 * them on in batches; the "norms" worker runs Lanczos on each as it arrives
 * (jacobianNormStep) and answers the page. Each step is the one jacobianNorms takes,
 * so the numbers are chapter 05's.
 */
import { Tensor, takeRows } from "../lib/matrix.ts";
import type { Sequential } from "../lib/model.ts";
import type { Conv2D } from "../lib/conv.ts";
import { stepJacobians, jacobianProducts, jacobianNormStep } from "../lib/bptt.ts";
import { gradientFlowSetup, gradientFlowProblem, type GradientFlowSetup } from "../chapters/_shared/bptt-experiment.ts";
import { splitImages, trainLectureCnn } from "../chapters/_shared/lecture-cnn-model.ts";
import { MODEL_NAMES, type ModelName, runNetwork } from "../chapters/_shared/extrapolation.ts";
import { PARTICLES, CCD_ENERGIES } from "../chapters/_shared/extrapolation-data.ts";
import type { ToWorker, FromWorker, JacobianBatch } from "./protocol.ts";

const post = (m: FromWorker) => (self as unknown as { postMessage(m: FromWorker): void }).postMessage(m);
/** The page's clock: performance.timeOrigin + now() is the same instant in every thread. */
const clock = () => performance.timeOrigin + performance.now();

/** The port to the other worker of ‖∂h(T)/∂h(k)‖₂ (set by "jacobian-pipe"). */
let pipe: MessagePort | null = null;
/** The products worker keeps the experiment's setup while seed, T and u stay the same. */
let gfSetup: (GradientFlowSetup & { seed: number }) | null = null;
/** Products handed on per message: small enough that the norms worker starts early and ends soon after the last product. */
const BATCH = 10;

/** Products worker: ∂h(T)/∂h(k) for k = T … 1, in batches to the norms worker. */
function jacobianProductsFor(m: Extract<ToWorker, { kind: "jacobians" }>): void {
  if (!pipe) throw new Error("the products worker has no port to the norms worker");
  const start = clock();
  if (!gfSetup || gfSetup.seed !== m.seed || gfSetup.T !== m.T || gfSetup.units !== m.units) {
    gfSetup = Object.assign(gradientFlowSetup(m.seed, m.T, m.units), { seed: m.seed });
  }
  const { cell, params, fwd } = gradientFlowProblem(gfSetup, m.activation, m.rho);
  const Js = stepJacobians(cell, params, gfSetup.x, fwd);
  const batch: { P: Float64Array[]; J: (Float64Array | null)[]; k0: number } = { P: [], J: [], k0: m.T };
  const send = (upTo: number, last: boolean) => {
    // the first `upTo` products go; the newest stays, as the next product is built from it
    const P = batch.P.splice(0, upTo), J = batch.J.splice(0, upTo);
    const msg: JacobianBatch = { id: m.id, T: m.T, u: m.units, k0: batch.k0, P, J, last, start, productsMs: last ? clock() - start : undefined };
    const transfer = [...P, ...J].flatMap((b) => (b ? [b.buffer] : []));
    (pipe as MessagePort).postMessage(msg, transfer);
    batch.k0 -= upTo;
  };
  for (const { k, P } of jacobianProducts(Js, m.T)) {
    batch.P.push(P.data);
    batch.J.push(k < m.T ? Js[k].data : null);
    if (k === 1) break; // the page plots k = 1..T
    if (batch.P.length > BATCH) send(BATCH, false);
  }
  send(batch.P.length, true);
}

/** Norms worker: the state of the request whose batches are arriving. */
let norms: { id: number; spectral: number[]; v: Float64Array | null } | null = null;

function jacobianNormsFor(b: JacobianBatch): void {
  if (b.k0 === b.T || !norms || norms.id !== b.id) norms = { id: b.id, spectral: new Array<number>(b.T), v: null };
  for (let i = 0; i < b.P.length; i++) {
    const k = b.k0 - i, Jb = b.J[i];
    const r = jacobianNormStep(new Tensor([b.u, b.u], b.P[i]), k, Jb ? new Tensor([b.u, b.u], Jb) : null, norms.v);
    norms.spectral[k - 1] = r.norm.spectral; // k = 1..T at 0..T−1, as chapter 05's jacobianNorms.slice(1)
    norms.v = r.v;
  }
  if (b.last) {
    post({ kind: "jacobians", id: b.id, spectral: norms.spectral, ms: clock() - b.start, start: b.start, productsMs: b.productsMs ?? NaN });
    norms = null;
  }
}

let cnn: { model: Sequential; xTest: Tensor; yTest: Tensor } | null = null;

function argmax(a: ArrayLike<number>, from = 0, n = a.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i] > a[from + best]) best = i;
  return best;
}

function handle(m: ToWorker): void {
  switch (m.kind) {
    case "jacobian-pipe": {
      pipe = m.port;
      if (m.role === "norms") {
        pipe.onmessage = (e: MessageEvent<JacobianBatch>) => {
          try {
            jacobianNormsFor(e.data);
          } catch (err) {
            post({ kind: "error", message: (err as Error).message });
          }
        };
      }
      return;
    }
    case "jacobians":
      jacobianProductsFor(m);
      return;
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
