/**
 * Page 1: vanishing and exploding gradients, chapter 05's experiment with sliders.
 *
 * On every change the page recomputes, on the main thread, with chapter 05's own
 * functions: gradientFlowSetup → gradientFlowProblem → bpttBackward, giving
 * ‖∂L/∂h(t)‖, the per-step contributions to ∂L/∂W_hh and the fitted rate.
 * ‖∂h(T)/∂h(k)‖₂ (a product of T Jacobians per point, with Lanczos for each norm)
 * comes from two workers that live as long as the page, in parallel with the main
 * thread: one builds the products, the other takes their norms as they arrive
 * (worker.ts); the curve is drawn when the norms arrive. One request is computed at
 * a time: a change made meanwhile waits, and replaces any request still waiting.
 */
import type uPlot from "uplot";
import { bpttBackward } from "../lib/bptt.ts";
import type { RnnActivation } from "../lib/rnn.ts";
import { gradientFlowSetup, gradientFlowProblem, fitRate, type GradientFlowSetup } from "../chapters/_shared/bptt-experiment.ts";
import { el, numberField, selectField, lineChart, finiteOrNull, fmtNum, startWorker } from "./ui.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

export interface GradientData {
  seed: number; T: number; units: number; activation: RnnActivation; rho: number; clip: number | null;
  dLdh: number[]; stepContributions: number[]; jacobianNorms: number[] | null;
  /** Milliseconds the two workers took for ‖∂h(T)/∂h(k)‖₂, from the first starting to the second answering (null until then). */
  jacobianMs: number | null;
  /** Of jacobianMs, the products worker's part: setup, forward, step Jacobians and the T products (null until then). */
  jacobianProductsMs: number | null;
  /** Milliseconds from the change to the third curve drawn: main thread, worker, messages and redraw (null until then). */
  allCurvesMs: number | null;
  /** Milliseconds from the change until the products worker started on it (the main thread's work, waiting, the message). */
  jacobianWaitMs: number | null;
  fittedRate: number; fitRange: [number, number]; normBefore: number; normAfter: number;
  /** Milliseconds for the recomputation on the main thread and for the redraw. */
  computeMs: number; drawMs: number;
}

declare global {
  interface Window {
    scratchnets: { gradients?: GradientData; cnn?: unknown; extrapolation?: unknown; setGradients?: (o: Partial<{ rho: number; T: number; units: number; seed: number; activation: string; clip: boolean }>) => GradientData };
  }
}

/** The k-range of the fit: chapter 05's 20..80 when T allows it, otherwise the middle three fifths of 1..T−1. */
export function fitRange(T: number): [number, number] {
  if (T > 80) return [20, 80];
  return [Math.max(1, Math.round(T / 5)), Math.max(2, Math.round((4 * T) / 5))];
}

export function gradientsPage(root: HTMLElement): void {
  let setup: GradientFlowSetup | null = null;
  /** The two workers of ‖∂h(T)/∂h(k)‖₂: requests go to `products`, answers come from `norms`. */
  let jacWorkers: { products: Worker; norms: Worker } | null = null;
  let jacId = 0;
  let jacBusy = false;
  /** A request for ‖∂h(T)/∂h(k)‖₂: its message, when the change happened, and the page's data once recompute has made it. */
  interface JacRequest { msg: ToWorker; t0: number; data: GradientData | null }
  let jacWaiting: JacRequest | null = null;
  let jacInFlight: JacRequest | null = null;
  let pending = false;

  const status = el("p", { class: "status", id: "grad-status", role: "status" });
  const rateOut = el("div", { class: "big", id: "grad-rate" });
  const clipOut = el("div", { id: "grad-clip-out" });
  const rho = numberField({ id: "grad-rho", label: "spectral radius ρ", min: 0.1, max: 2.5, step: 0.01, value: 1.5, slider: true, onChange: schedule });
  const T = numberField({ id: "grad-T", label: "steps T", min: 10, max: 300, step: 1, value: 100, integer: true, slider: true, onChange: schedule });
  const units = numberField({ id: "grad-units", label: "hidden units u", min: 2, max: 128, step: 1, value: 32, integer: true, onChange: schedule });
  const seed = numberField({ id: "grad-seed", label: "seed", min: 0, max: 2 ** 31 - 1, step: 1, value: 2023, integer: true, onChange: schedule });
  const act = selectField({ id: "grad-act", label: "σ_h", options: ["linear", "tanh"], value: "linear", onChange: schedule });
  const clipBox = el("input", { type: "checkbox", id: "grad-clip" });
  clipBox.addEventListener("change", schedule);
  const clipC = numberField({ id: "grad-clip-c", label: "threshold c", min: 1e-6, max: 1e6, step: 0.1, value: 1, onChange: schedule });

  const c1 = el("div", { class: "chart", id: "grad-chart-dldh" });
  const c2 = el("div", { class: "chart", id: "grad-chart-jac" });
  const c3 = el("div", { class: "chart", id: "grad-chart-steps" });
  root.append(
    el("section", { class: "controls" },
      rho.root, act.root, T.root, units.root, seed.root,
      el("div", { class: "field-wrap" }, el("div", { class: "field" }, el("label", { for: "grad-clip" }, "clip ‖∂L/∂W‖ by norm"), clipBox)),
      clipC.root,
    ),
    el("section", { class: "readout" }, rateOut, clipOut, status),
    el("div", { class: "charts" }, c1, c2, c3),
  );
  const chDldh = lineChart(c1, { title: "log10 ‖∂L/∂h(t)‖ against t", xLabel: "t", yLabel: "log10 ‖∂L/∂h(t)‖", series: [{ label: "‖∂L/∂h(t)‖" }, { label: "ρ^(T−t) from h(T)", dash: [6, 6] }] });
  const chJac = lineChart(c2, { title: "log10 ‖∂h(T)/∂h(k)‖₂ against T − k", xLabel: "T − k", yLabel: "log10 ‖∂h(T)/∂h(k)‖₂", series: [{ label: "‖∂h(T)/∂h(k)‖₂" }] });
  const chSteps = lineChart(c3, { title: "log10 ‖step t's contribution to ∂L/∂W_hh‖ against t", xLabel: "t", yLabel: "log10 ‖Δ_t ∂L/∂W_hh‖", series: [{ label: "step t" }] });

  /** Recompute at most once per animation frame, however fast the slider moves. */
  function schedule(): void {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      recompute();
    });
  }

  function recompute(): GradientData {
    const t0 = performance.now();
    const s = seed.value(), n = T.value(), u = units.value(), a = act.value() as RnnActivation, r = rho.value();
    const c = clipBox.checked ? clipC.value() : null;
    // the worker starts on ‖∂h(T)/∂h(k)‖₂ first, so it runs while this thread does the rest
    const req = requestJacobians({ kind: "jacobians", id: ++jacId, seed: s, T: n, units: u, activation: a, rho: r }, t0);
    if (!setup || setup.T !== n || setup.units !== u || (setup as GradientFlowSetup & { seed?: number }).seed !== s) {
      setup = Object.assign(gradientFlowSetup(s, n, u), { seed: s });
    }
    const p = gradientFlowProblem(setup, a, r);
    const b = bpttBackward(p.cell, p.params, p.fwd, { dhT: p.dhT, recordSteps: "norms", clipNorm: c ?? undefined });
    const [kFrom, kTo] = fitRange(n);
    const fitted = fitRate(b.dLdhNorms, kFrom, kTo);
    const t1 = performance.now();

    const ts = Array.from({ length: n }, (_, i) => i + 1);
    const logd = b.dLdhNorms.map((v) => finiteOrNull(Math.log10(v)));
    const top = Math.log10(b.dLdhNorms[n - 1]);
    const ref = ts.map((t) => finiteOrNull(top + (n - t) * Math.log10(r)));
    chDldh.setData([ts, logd, ref]);
    const steps = (b.stepGradNorms as number[]).map((v, i) => (i === 0 ? null : finiteOrNull(Math.log10(v))));
    chSteps.setData([ts, steps]);
    // ‖∂h(T)/∂h(k)‖₂ keeps the previous curve until the workers answer (one drawing fewer per change; the status says "computing…")
    // float64 holds 1e-308 … 1e308: beyond that a norm is ∞ or 0, and its log a gap in the curve
    const over = b.dLdhNorms.filter((v) => !Number.isFinite(v)).length, under = b.dLdhNorms.filter((v) => v === 0).length;
    rateOut.textContent = `fitted rate ${fmtNum(fitted, 5)} per step (k = ${kFrom}..${kTo})  ·  ρ = ${r}  ·  rate/ρ = ${fmtNum(fitted / r, 4)}`;
    clipOut.textContent = c === null
      ? `‖∂L/∂W‖ = ${fmtNum(b.gradNormBefore, 4)} (no clipping)`
      : `clipping at c = ${c}: ‖∂L/∂W‖ = ${fmtNum(b.gradNormBefore, 4)} before, ${fmtNum(b.gradNormAfter, 4)} after`;
    const note = (over > 0 ? `; ‖∂L/∂h(t)‖ overflows float64 (∞) at ${over} of ${n} steps` : "") +
      (under > 0 ? `; ‖∂L/∂h(t)‖ underflows float64 (0) at ${under} of ${n} steps` : "") +
      (over + under > 0 ? " (gaps in the curve)" : "");
    const data: GradientData = {
      seed: s, T: n, units: u, activation: a, rho: r, clip: c,
      dLdh: b.dLdhNorms, stepContributions: b.stepGradNorms as number[], jacobianNorms: null, jacobianMs: null, jacobianProductsMs: null, allCurvesMs: null, jacobianWaitMs: null,
      fittedRate: fitted, fitRange: [kFrom, kTo], normBefore: b.gradNormBefore, normAfter: b.gradNormAfter,
      computeMs: t1 - t0, drawMs: performance.now() - t1,
    };
    status.textContent = `recomputed in ${(t1 - t0).toFixed(0)} ms${note}; ‖∂h(T)/∂h(k)‖₂ computing…`;
    // uPlot draws the new data in a microtask queued by setData: this one runs after it, so drawMs includes the drawing
    queueMicrotask(() => {
      data.drawMs = performance.now() - t1;
      status.textContent = status.textContent!.replace(` ms${note};`, ` ms, drawn in ${data.drawMs.toFixed(0)} ms${note};`);
    });
    window.scratchnets.gradients = data;
    req.data = data;
    return data;
  }

  function requestJacobians(msg: ToWorker, t0: number): JacRequest {
    const req: JacRequest = { msg, t0, data: null };
    if (jacBusy) jacWaiting = req; // replaces an older waiting request
    else send(req);
    return req;
  }

  function send(req: JacRequest): void {
    if (!jacWorkers) {
      const products = startWorker(), norms = startWorker();
      // the products go from one worker to the other directly, not through this (busy) thread
      const ch = new MessageChannel();
      products.postMessage({ kind: "jacobian-pipe", role: "products", port: ch.port1 } satisfies ToWorker, [ch.port1]);
      norms.postMessage({ kind: "jacobian-pipe", role: "norms", port: ch.port2 } satisfies ToWorker, [ch.port2]);
      products.onmessage = norms.onmessage = (e: MessageEvent<FromWorker>) => answered(e.data);
      jacWorkers = { products, norms };
    }
    jacBusy = true;
    jacInFlight = req;
    jacWorkers.products.postMessage(req.msg);
  }

  function answered(m: FromWorker): void {
    const current = jacInFlight;
    jacBusy = false;
    jacInFlight = null;
    if (jacWaiting) {
      const w = jacWaiting;
      jacWaiting = null;
      send(w);
    }
    if (m.kind === "error") {
      status.textContent += ` failed: ${m.message}`;
      return;
    }
    // an answer for settings that have changed since is not drawn
    if (m.kind !== "jacobians" || m.id !== jacId || !current?.data) return;
    const d = current.data;
    const n = m.spectral.length;
    // x = T − k for k = T−1 … 0 … drawn from T − k = 0 (k = T) upward
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((dk) => finiteOrNull(Math.log10(m.spectral[n - 1 - dk])));
    chJac.setData([xs, ys] as uPlot.AlignedData);
    d.jacobianNorms = m.spectral;
    d.jacobianMs = m.ms;
    d.jacobianProductsMs = m.productsMs;
    d.jacobianWaitMs = m.start - (performance.timeOrigin + current.t0);
    // after uPlot's drawing microtask (see recompute): the third curve is on the canvas
    queueMicrotask(() => {
      const allMs = performance.now() - current.t0;
      status.textContent = status.textContent!.replace("‖∂h(T)/∂h(k)‖₂ computing…",
        `‖∂h(T)/∂h(k)‖₂ in ${m.ms.toFixed(0)} ms (two workers); all three curves ${allMs.toFixed(0)} ms after the change`);
      d.allCurvesMs = allMs;
    });
  }

  window.scratchnets.setGradients = (o) => {
    // the fields' set() calls schedule(): this call recomputes now, so no second recompute on the next frame
    const wasPending = pending;
    pending = true;
    if (o.rho !== undefined) rho.set(o.rho);
    if (o.T !== undefined) T.set(o.T);
    if (o.units !== undefined) units.set(o.units);
    if (o.seed !== undefined) seed.set(o.seed);
    if (o.activation !== undefined) act.select.value = o.activation;
    if (o.clip !== undefined) clipBox.checked = o.clip;
    pending = wasPending;
    return recompute();
  };
  recompute();
}
