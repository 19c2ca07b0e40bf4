/**
 * Page 2: the lecture's digits CNN (chapters 03/04), trained in a worker with
 * chapter 03's trainLectureCnn on the inlined scikit-learn digits.
 */
import { el, numberField, selectField, lineChart, finiteOrNull, fmtNum, drawGrid, startWorker } from "./ui.ts";
import { digits } from "./digits.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import type { RunResult } from "../chapters/_shared/lecture-cnn-model.ts";
import type { Padding } from "../lib/conv.ts";

export interface CnnState {
  running: boolean;
  epochs: { loss: number; accuracy: number }[];
  result: RunResult | null;
  stopped: boolean;
  confusion: number[] | null;
  probs: number[] | null;
  pad8x8: number[] | null;
  /** Clicks answered by the page while training (the responsiveness check). */
  clicks: number;
}

export function cnnPage(root: HTMLElement): void {
  const state: CnnState = { running: false, epochs: [], result: null, stopped: false, confusion: null, probs: null, pad8x8: null, clicks: 0 };
  window.scratchnets.cnn = state;
  let worker: Worker | null = null;

  const eta = numberField({ id: "cnn-eta", label: "learning rate η", min: 1e-6, max: 10, step: 0.001, value: 0.01, onChange: () => {} });
  const lambda = numberField({ id: "cnn-lambda", label: "l2 λ", min: 0, max: 10, step: 0.0001, value: 1e-4, onChange: () => {} });
  const epochs = numberField({ id: "cnn-epochs", label: "epochs", min: 1, max: 300, step: 1, value: 100, integer: true, onChange: () => {} });
  const seed = numberField({ id: "cnn-seed", label: "seed", min: 0, max: 2 ** 31 - 1, step: 1, value: 2023, integer: true, onChange: () => {} });
  const padding = selectField({ id: "cnn-padding", label: "padding", options: ["valid", "same"], value: "valid", onChange: () => {} });
  const train = el("button", { id: "cnn-train", type: "button" }, "Train");
  const stop = el("button", { id: "cnn-stop", type: "button", disabled: "" }, "Stop");
  const clicks = el("button", { id: "cnn-click", type: "button", title: "answers at once even while the network trains" }, "Click me: 0");
  clicks.addEventListener("click", () => {
    state.clicks++;
    clicks.textContent = `Click me: ${state.clicks}`;
  });
  const status = el("p", { class: "status", id: "cnn-status", role: "status" }, `${digits.n} digits, 8×8, pixels 0..16; train_test_split 80/20 with the seed. Press Train.`);
  const cLoss = el("div", { class: "chart", id: "cnn-chart-loss" });
  const cAcc = el("div", { class: "chart", id: "cnn-chart-acc" });
  const after = el("section", { id: "cnn-after", class: "after" });

  // drawing pad
  const pad = el("canvas", { id: "cnn-pad", width: "240", height: "240", class: "pad", "aria-label": "drawing pad" });
  const small = el("canvas", { id: "cnn-pad-8x8", width: "96", height: "96", class: "pixels" });
  const clear = el("button", { id: "cnn-clear", type: "button" }, "Clear");
  const probsOut = el("div", { id: "cnn-probs", class: "probs" });

  root.append(
    el("section", { class: "controls" }, eta.root, lambda.root, epochs.root, padding.root, seed.root, el("div", { class: "buttons" }, train, stop, clicks)),
    status,
    el("div", { class: "charts two" }, cLoss, cAcc),
    after,
    el("h3", {}, "Draw a digit"),
    el("div", { class: "padrow" }, el("div", {}, pad, el("div", {}, clear)), el("div", {}, el("div", { class: "caption" }, "as 8×8, 0..16"), small), probsOut),
  );
  const chLoss = lineChart(cLoss, { title: "training loss per epoch", xLabel: "epoch", integerX: true, yLabel: "loss", series: [{ label: "loss (cross-entropy + λΣw²)", points: true }] });
  const chAcc = lineChart(cAcc, { title: "training accuracy per epoch", xLabel: "epoch", integerX: true, yLabel: "accuracy", series: [{ label: "accuracy", points: true }] });

  function redraw(): void {
    const xs = state.epochs.map((_, i) => i + 1);
    chLoss.setData([xs, state.epochs.map((e) => finiteOrNull(e.loss))]);
    chAcc.setData([xs, state.epochs.map((e) => finiteOrNull(e.accuracy))]);
  }

  function finish(): void {
    state.running = false;
    train.removeAttribute("disabled");
    stop.setAttribute("disabled", "");
    worker?.terminate();
    worker = null;
  }

  train.addEventListener("click", () => {
    worker?.terminate();
    Object.assign(state, { running: true, epochs: [], result: null, stopped: false, confusion: null, probs: null });
    redraw();
    cLoss.querySelector(".u-title")!.textContent = "training loss per epoch";
    status.classList.remove("bad");
    after.replaceChildren();
    probsOut.replaceChildren();
    train.setAttribute("disabled", "");
    stop.removeAttribute("disabled");
    const n = epochs.value();
    status.textContent = `training: SGD(η = ${eta.value()}), l2(λ = ${lambda.value()}), ${n} epochs, batch 100, padding '${padding.value()}'…`;
    const w = startWorker();
    worker = w;
    w.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data, n);
    w.onerror = (e) => {
      status.textContent = `the worker failed: ${e.message}`;
      finish();
    };
    const msg: ToWorker = { kind: "cnn-train", eta: eta.value(), lambda: lambda.value(), epochs: n, padding: padding.value() as Padding, seed: seed.value(), pixels: digits.pixels, labels: digits.labels };
    w.postMessage(msg);
  });

  stop.addEventListener("click", () => {
    if (!state.running) return;
    state.stopped = true;
    finish();
    status.textContent = `stopped after ${state.epochs.length} epoch(s); the network of a stopped run is not kept (train again to use the pad and the feature maps).`;
  });

  // The trained network lives in its worker, which is kept after training for the pad and the feature maps.
  let trained: Worker | null = null;

  function onMessage(m: FromWorker, n: number): void {
    if (m.kind === "epoch") {
      state.epochs.push({ loss: m.logs.loss, accuracy: m.logs.accuracy });
      redraw();
      status.textContent = `epoch ${m.epoch + 1}/${n}: loss ${fmtNum(m.logs.loss)}, accuracy ${fmtNum(m.logs.accuracy)}`;
    } else if (m.kind === "cnn-done") {
      state.result = m.result;
      state.confusion = m.confusion;
      state.running = false;
      train.removeAttribute("disabled");
      stop.setAttribute("disabled", "");
      trained?.terminate();
      trained = worker;
      worker = null;
      trained!.onmessage = (e: MessageEvent<FromWorker>) => onTrainedMessage(e.data);
      const r = m.result;
      if (r.diverged) {
        status.textContent = `diverged after ${r.epochsRun} epoch(s): ${r.divergence}. Accuracy on the weights it stopped with: train ${fmtNum(r.trainAccuracy)}, test ${fmtNum(r.testAccuracy)}.`;
        cLoss.querySelector(".u-title")!.textContent = "diverged — " + (r.divergence ?? "");
        status.classList.add("bad");
      } else {
        status.classList.remove("bad");
        status.textContent = `trained ${r.epochsRun} epochs in ${r.seconds.toFixed(1)} s: train accuracy ${fmtNum(r.trainAccuracy)}, test accuracy ${fmtNum(r.testAccuracy)} (${m.nTest} test digits)`;
      }
      showAfter(m.confusion, m.filters, m.nTest);
      askMaps(0);
      classifyPad();
    } else if (m.kind === "error") {
      status.textContent = `error: ${m.message}`;
      finish();
    }
  }

  function onTrainedMessage(m: FromWorker): void {
    if (m.kind === "cnn-probs") showProbs(m.probs);
    else if (m.kind === "cnn-maps") showMaps(m);
    else if (m.kind === "error") status.textContent = `error: ${m.message}`;
  }

  const mapsBox = el("div", { id: "cnn-maps", class: "maps" });
  const digitIdx = numberField({ id: "cnn-digit", label: "test digit #", min: 0, max: 359, step: 1, value: 0, integer: true, onChange: () => askMaps(digitIdx.value()) });

  function askMaps(i: number): void {
    const msg: ToWorker = { kind: "cnn-maps", index: i };
    trained?.postMessage(msg);
  }

  function showAfter(confusion: number[], filters: number[], nTest: number): void {
    // confusion matrix: rows true class, columns predicted
    const table = el("table", { class: "confusion", id: "cnn-confusion" });
    table.append(el("tr", {}, el("th", {}, "true \\ predicted"), ...Array.from({ length: 10 }, (_, j) => el("th", {}, String(j)))));
    const max = Math.max(...confusion);
    for (let i = 0; i < 10; i++) {
      const row = el("tr", {}, el("th", {}, String(i)));
      for (let j = 0; j < 10; j++) {
        const v = confusion[i * 10 + j];
        const td = el("td", {}, String(v));
        const a = v / (max || 1);
        td.style.background = i === j ? `rgba(46,139,87,${0.15 + 0.6 * a})` : v > 0 ? `rgba(192,57,43,${0.2 + 0.6 * a})` : "";
        row.append(td);
      }
      table.append(row);
    }
    // the 10 filters: kernel (3, 3, 1, 10), Keras layout
    const fbox = el("div", { class: "filters", id: "cnn-filters" });
    for (let f = 0; f < 10; f++) {
      const c = el("canvas", { width: "60", height: "60", class: "pixels" });
      drawGrid(c, Array.from({ length: 9 }, (_, k) => filters[k * 10 + f]), 3, 3, { diverging: true });
      fbox.append(el("figure", {}, c, el("figcaption", {}, `filter ${f}`)));
    }
    digitIdx.input.max = String(nTest - 1);
    after.replaceChildren(
      el("div", { class: "cols" },
        el("div", {}, el("h3", {}, `Confusion matrix (${nTest} test digits)`), table),
        el("div", {}, el("h3", {}, "The ten learned 3×3 filters (red +, blue −)"), fbox),
      ),
      el("h3", {}, "Feature maps of a test digit (after ReLU)"),
      digitIdx.root,
      mapsBox,
    );
  }

  function showMaps(m: Extract<FromWorker, { kind: "cnn-maps" }>): void {
    const input = el("canvas", { width: "80", height: "80", class: "pixels" });
    drawGrid(input, m.image, 8, 8);
    const pred = m.probs.indexOf(Math.max(...m.probs));
    const items: HTMLElement[] = [el("figure", {}, input, el("figcaption", {}, `digit ${m.label}, predicted ${pred}`))];
    for (let f = 0; f < 10; f++) {
      const c = el("canvas", { width: "80", height: "80", class: "pixels" });
      drawGrid(c, Array.from({ length: m.h * m.w }, (_, p) => m.maps[p * 10 + f]), m.h, m.w);
      items.push(el("figure", {}, c, el("figcaption", {}, `map ${f} (${m.h}×${m.w})`)));
    }
    mapsBox.replaceChildren(...items);
  }

  // ---------------------------------------------------------------- drawing pad
  const ctx = pad.getContext("2d")!;
  function clearPad(): void {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    state.pad8x8 = null;
    state.probs = null;
    drawGrid(small, new Array(64).fill(0), 8, 8);
    probsOut.replaceChildren();
  }
  clearPad();
  clear.addEventListener("click", clearPad);
  let drawing = false, last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    pad.setPointerCapture?.(e.pointerId);
    last = at(e);
    stroke(last, last);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing || !last) return;
    const p = at(e);
    stroke(last, p);
    last = p;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    classifyPad();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  pad.addEventListener("pointerleave", end);
  function stroke(a: [number, number], b: [number, number]): void {
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 22;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }

  /** The pad as the training data looks: 8×8 cells, each the mean darkness of its 30×30 pixels, scaled to 0..16. */
  function downsample(): number[] {
    const img = ctx.getImageData(0, 0, pad.width, pad.height).data;
    const cell = pad.width / 8;
    const out = new Array(64).fill(0);
    for (let y = 0; y < pad.height; y++) {
      for (let x = 0; x < pad.width; x++) {
        const dark = 1 - img[(y * pad.width + x) * 4] / 255;
        out[Math.floor(y / cell) * 8 + Math.floor(x / cell)] += dark;
      }
    }
    return out.map((s) => Math.round((16 * s) / (cell * cell)));
  }

  function classifyPad(): void {
    const px = downsample();
    if (px.every((v) => v === 0)) return;
    state.pad8x8 = px;
    drawGrid(small, px, 8, 8);
    if (!trained) {
      probsOut.replaceChildren(el("p", {}, "Train the network first; then draw."));
      return;
    }
    const msg: ToWorker = { kind: "cnn-predict", pixels: px };
    trained.postMessage(msg);
  }

  function showProbs(p: number[]): void {
    state.probs = p;
    const best = p.indexOf(Math.max(...p));
    probsOut.replaceChildren(
      el("div", { class: "caption" }, `the network says ${best} (p = ${p[best].toFixed(3)}); Σp = ${p.reduce((a, b) => a + b, 0).toFixed(6)}`),
      ...p.map((v, k) => {
        const bar = el("span", { class: "bar" + (k === best ? " best" : "") });
        bar.style.width = `${(100 * v).toFixed(1)}%`;
        return el("div", { class: "probrow" }, el("span", { class: "k" }, String(k)), el("span", { class: "track" }, bar), el("span", { class: "v" }, v.toFixed(3)));
      }),
    );
  }
}
