/**
 * Page 3: chapter 10's extrapolation. One of the lecture's five networks learns
 * the CCD energies of the first 12 points (x ≤ 24) in a worker (runNetwork), then
 * predicts x = 26 … 40 feeding its own predictions back (test_rnn).
 */
import type uPlot from "uplot";
import { el, numberField, selectField, lineChart, finiteOrNull, fmtNum, startWorker } from "./ui.ts";
import { MODEL_NAMES, DIM, EPOCHS, KERAS_TOTALS } from "../chapters/_shared/extrapolation.ts";
import { PARTICLES, CCD_ENERGIES } from "../chapters/_shared/extrapolation-data.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

export interface ExtrapolationState {
  running: boolean;
  loss: number[];
  predictions: number[] | null;
  mse: number | null;
}

export function extrapolationPage(root: HTMLElement): void {
  const state: ExtrapolationState = { running: false, loss: [], predictions: null, mse: null };
  window.scratchnets.extrapolation = state;
  let worker: Worker | null = null;

  const model = selectField({ id: "ex-model", label: "network", options: MODEL_NAMES, value: "rnn", onChange: () => {} });
  const seed = numberField({ id: "ex-seed", label: "seed", min: 0, max: 2 ** 31 - 1, step: 1, value: 2023, integer: true, onChange: () => {} });
  const epochs = numberField({ id: "ex-epochs", label: "epochs", min: 1, max: 1000, step: 1, value: EPOCHS, integer: true, onChange: () => {} });
  const train = el("button", { id: "ex-train", type: "button" }, "Train");
  const stop = el("button", { id: "ex-stop", type: "button", disabled: "" }, "Stop");
  const status = el("p", { class: "status", id: "ex-status", role: "status" }, "Pick a network and press Train.");
  const mseOut = el("div", { class: "big", id: "ex-mse" });
  const cSeries = el("div", { class: "chart", id: "ex-chart-series" });
  const cLoss = el("div", { class: "chart", id: "ex-chart-loss" });
  root.append(
    el("section", { class: "controls" }, model.root, seed.root, epochs.root, el("div", { class: "buttons" }, train, stop)),
    el("section", { class: "readout" }, mseOut, status),
    el("div", { class: "charts two" }, cSeries, cLoss),
  );

  const xTrainEnd = PARTICLES[DIM - 1];
  /** Shades the training region x ≤ 24 behind the curves. */
  const shade: uPlot.Hooks.Arrays = {
    drawClear: [
      (u) => {
        const x0 = u.valToPos(PARTICLES[0], "x", true), x1 = u.valToPos(xTrainEnd, "x", true);
        u.ctx.save();
        u.ctx.fillStyle = "rgba(46,139,87,0.12)";
        u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
        u.ctx.fillStyle = "#2e8b57";
        u.ctx.textAlign = "left";
        u.ctx.textBaseline = "top";
        u.ctx.font = `${Math.round(14 * devicePixelRatio)}px sans-serif`;
        u.ctx.fillText(`training region x ≤ ${xTrainEnd}`, x0 + 6 * devicePixelRatio, u.bbox.top + u.bbox.height - 22 * devicePixelRatio);
        u.ctx.restore();
      },
    ],
  };
  const chSeries = lineChart(cSeries, {
    title: "CCD correlation energy against the number of particles x", xLabel: "x (particles)", yLabel: "E_CCD / δ",
    series: [{ label: "true (CCD)", points: true }, { label: "network (fed back)", dash: [6, 4], points: true }], hooks: shade,
  });
  const chLoss = lineChart(cLoss, { title: "log10 training loss (MSE) per epoch", xLabel: "epoch", integerX: true, yLabel: "log10 loss", series: [{ label: "loss" }, { label: "val_loss" }] });
  chSeries.setData([[...PARTICLES], [...CCD_ENERGIES], PARTICLES.map(() => null)]);

  const finish = () => {
    state.running = false;
    worker?.terminate();
    worker = null;
    train.removeAttribute("disabled");
    stop.setAttribute("disabled", "");
  };
  const val: number[] = [];
  train.addEventListener("click", () => {
    worker?.terminate();
    Object.assign(state, { running: true, loss: [], predictions: null, mse: null });
    val.length = 0;
    chSeries.setData([[...PARTICLES], [...CCD_ENERGIES], PARTICLES.map(() => null)]);
    chLoss.setData([[], [], []]);
    mseOut.textContent = "";
    train.setAttribute("disabled", "");
    stop.removeAttribute("disabled");
    const name = model.value(), n = epochs.value();
    status.textContent = `building ${name} (${KERAS_TOTALS[name as keyof typeof KERAS_TOTALS].toLocaleString("en")} weights) and training ${n} epochs with Adam, batch 32, validation_split 0.05…`;
    const w = startWorker();
    worker = w;
    w.onerror = (e) => {
      status.textContent = `the worker failed: ${e.message}`;
      finish();
    };
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.kind === "epoch") {
        state.loss.push(m.logs.loss);
        val.push(m.logs.val_loss);
        const xs = state.loss.map((_, i) => i + 1);
        chLoss.setData([xs, state.loss.map((v) => finiteOrNull(Math.log10(v))), val.map((v) => finiteOrNull(Math.log10(v)))]);
        status.textContent = `epoch ${m.epoch + 1}/${n}: loss ${fmtNum(m.logs.loss)}`;
      } else if (m.kind === "extrap-done") {
        state.predictions = m.predictions;
        state.mse = m.mse;
        chSeries.setData([[...PARTICLES], [...CCD_ENERGIES], m.predictions.map((v, i) => (i < DIM - 1 ? null : finiteOrNull(v)))]);
        mseOut.textContent = `MSE over the 20 points = ${fmtNum(m.mse, 3)}`;
        status.textContent = `${name}, seed ${seed.value()}: trained and predicted in ${m.seconds.toFixed(1)} s`;
        finish();
      } else if (m.kind === "error") {
        status.textContent = `error: ${m.message}`;
        finish();
      }
    };
    const msg: ToWorker = { kind: "extrap-train", model: name, seed: seed.value(), epochs: n };
    w.postMessage(msg);
  });
  stop.addEventListener("click", () => {
    if (!state.running) return;
    finish();
    status.textContent = `stopped after ${state.loss.length} epoch(s)`;
  });
}
