/** Small DOM helpers shared by the three pages: elements, clamped number fields, charts. */
import uPlot from "uplot";

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

export interface NumberField {
  /** The label with its input (and slider, if any) and the note line. */
  root: HTMLElement;
  input: HTMLInputElement;
  slider: HTMLInputElement | null;
  value(): number;
  set(v: number): void;
}

/**
 * A labelled number input, optionally with a slider beside it. A value typed
 * outside [min, max] (or not a number) is clamped into range, and a note under
 * the field says what was typed and what is used instead.
 */
export function numberField(o: {
  id: string; label: string; min: number; max: number; step: number; value: number; integer?: boolean; slider?: boolean; onChange: () => void;
}): NumberField {
  const input = el("input", { type: "number", id: o.id, min: String(o.min), max: String(o.max), step: String(o.step), value: String(o.value), inputmode: "decimal" });
  const slider = o.slider ? el("input", { type: "range", id: o.id + "-slider", min: String(o.min), max: String(o.max), step: String(o.step), value: String(o.value), "aria-label": o.label }) : null;
  const note = el("div", { class: "note", id: o.id + "-note", role: "status" });
  let current = o.value;
  const read = (raw: string, fromSlider: boolean) => {
    let v = Number(raw);
    let msg = "";
    if (raw.trim() === "" || !Number.isFinite(v)) {
      msg = `'${raw}' is not a number: using ${current}`;
      v = current;
    } else {
      if (o.integer && !Number.isInteger(v)) {
        msg = `${v} is not a whole number: using ${Math.round(v)}`;
        v = Math.round(v);
      }
      if (v < o.min || v > o.max) {
        const c = Math.min(o.max, Math.max(o.min, v));
        msg = `${raw} is outside ${o.min}–${o.max}: clamped to ${c}`;
        v = c;
      }
    }
    current = v;
    note.textContent = fromSlider ? "" : msg;
    input.value = String(v);
    if (slider) slider.value = String(v);
    o.onChange();
  };
  input.addEventListener("change", () => read(input.value, false));
  slider?.addEventListener("input", () => read(slider.value, true));
  const label = el("label", { for: o.id }, o.label);
  const row = el("div", { class: "field" }, label, ...(slider ? [slider] : []), input);
  return {
    root: el("div", { class: "field-wrap" }, row, note),
    input,
    slider,
    value: () => current,
    set: (v: number) => read(String(v), false),
  };
}

export function selectField(o: { id: string; label: string; options: readonly string[]; value: string; onChange: () => void }): { root: HTMLElement; select: HTMLSelectElement; value(): string } {
  const select = el("select", { id: o.id }, ...o.options.map((v) => el("option", { value: v }, v)));
  select.value = o.value;
  select.addEventListener("change", o.onChange);
  return { root: el("div", { class: "field-wrap" }, el("div", { class: "field" }, el("label", { for: o.id }, o.label), select)), select, value: () => select.value };
}

/** Non-finite values (overflow, NaN) become gaps instead of breaking the plot. */
export function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

export const COLORS = ["#1f5fbf", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#555555"];

/** A line chart (uPlot) that fills its container's width. */
export function lineChart(container: HTMLElement, o: { title: string; xLabel: string; integerX?: boolean; yLabel: string; series: { label: string; dash?: number[]; points?: boolean }[]; height?: number; hooks?: uPlot.Hooks.Arrays }): uPlot {
  const width = Math.max(280, container.clientWidth || 600);
  const opts: uPlot.Options = {
    title: o.title,
    width,
    height: o.height ?? 260,
    scales: { x: { time: false } },
    axes: [
      // epochs: whole-number ticks only
      { label: o.xLabel, stroke: "#222", grid: { stroke: "#e3e3e3" }, ...(o.integerX ? { incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 500] } : {}) },
      { label: o.yLabel, stroke: "#222", grid: { stroke: "#e3e3e3" }, size: 60 },
    ],
    series: [
      { label: o.xLabel },
      ...o.series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        dash: s.dash,
        points: { show: s.points ?? false, size: 6 },
        spanGaps: false,
      })),
    ],
    hooks: o.hooks,
  };
  const chart = new uPlot(opts, [[], ...o.series.map(() => [])], container);
  const ro = new ResizeObserver(() => {
    const w = Math.max(280, container.clientWidth);
    if (Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height: chart.height });
  });
  ro.observe(container);
  return chart;
}

/** Draws a (rows, cols) grid of values as grey squares (white = low, black = high, or blue/red around 0 if `diverging`). */
export function drawGrid(canvas: HTMLCanvasElement, values: ArrayLike<number>, rows: number, cols: number, o: { diverging?: boolean } = {}): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const cw = canvas.width / cols, ch = canvas.height / rows;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < rows * cols; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      if (o.diverging) {
        const a = Math.min(1, Math.abs(v) / m);
        const x = Math.round(255 * (1 - a));
        ctx.fillStyle = v >= 0 ? `rgb(255,${x},${x})` : `rgb(${x},${x},255)`;
      } else {
        const a = hi > lo ? (v - lo) / (hi - lo) : 0;
        const g = Math.round(255 * (1 - a));
        ctx.fillStyle = `rgb(${g},${g},${g})`;
      }
      ctx.fillRect(Math.floor(c * cw), Math.floor(r * ch), Math.ceil(cw), Math.ceil(ch));
    }
  }
}

/** A worker started from the inlined worker script (a Blob URL, so it works from file://). */
let workerUrl: string | null = null;
export function startWorker(): Worker {
  workerUrl ??= URL.createObjectURL(new Blob([__WORKER_SOURCE__], { type: "text/javascript" }));
  return new Worker(workerUrl);
}

/** A number for the page: 4 significant digits, exponent notation when very large or small. */
export function fmtNum(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}
