/**
 * Terminal drawing shared by the chapters: line charts, tables and number formatting.
 *
 * The line chart is drawn here rather than by asciichart: asciichart allocates
 * one row per rounding step of the value range, so a nearly flat series
 * (a range of 1e-15) never finished, and it tells series apart only by colour,
 * so piped output (`| cat`, NO_COLOR) could not be read. Here every series has
 * its own glyph, every row is labelled with the exact value that maps to it
 * (a point is at most half a row from its label), and a range too small to
 * resolve is drawn as a flat line.
 */

export function isTTY(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

/** One glyph per series, readable in any monospace font and without colour. */
export const GLYPHS = ["*", "o", "+", "x", "#", "@", "%", "="];
const COLORS = ["\x1b[34m", "\x1b[31m", "\x1b[32m", "\x1b[35m", "\x1b[36m", "\x1b[33m", "\x1b[37m", "\x1b[90m"];
const RESET = "\x1b[0m";

export interface LineChartOptions {
  height?: number;
  title?: string;
  legend?: string[];
  /** At most this many columns; longer series are sampled evenly (first and last point kept). */
  width?: number;
  xLabel?: string;
  /** The x of the first and last point (default 1 and the series length), printed under the axis. */
  xRange?: [number, number];
  /** Colour the glyphs (default: when stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Append a table of the exact values at this many evenly spaced points. */
  values?: number;
}

/** Evenly spaced indices 0 … n−1, at most `k` of them, first and last included. */
export function sampleIndices(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  if (k <= 1) return [0];
  const out: number[] = [];
  for (let c = 0; c < k; c++) {
    const i = Math.round((c * (n - 1)) / (k - 1));
    if (out[out.length - 1] !== i) out.push(i);
  }
  return out;
}

/** The width of lineChart's value labels; each row is the label, " ┤", then one character per column. */
const LABEL_W = 11;

/**
 * The character offset, in the rows lineChart draws for a longest series of n points `width`
 * columns wide, of the first column that shows a point at index ≥ `index` (0-based): where to
 * put a mark under the chart (e.g. a train/test boundary just before that point).
 */
export function lineChartColumn(n: number, width: number, index: number): number {
  const cols = sampleIndices(n, Math.max(2, Math.floor(width)));
  const c = cols.findIndex((i) => i >= index);
  return LABEL_W + 2 + (c < 0 ? cols.length : c);
}

/**
 * One or more series as a point chart with a title, labelled rows and a
 * legend of glyphs. A series is cut at its first non-finite value (a diverged
 * run ends there) and a note says where. Where points of several series fall
 * on one cell, their glyphs alternate from column to column.
 */
export function lineChart(series: number[] | number[][], opts: LineChartOptions = {}): string {
  const list = (Array.isArray(series[0]) ? series : [series]) as number[][];
  const width = Math.max(2, Math.floor(opts.width ?? 72));
  const height = Math.max(2, Math.floor(opts.height ?? 10));
  const names = opts.legend ?? list.map((_, i) => `series ${i + 1}`);
  const notes: string[] = [];
  const kept: { values: number[]; k: number }[] = [];
  list.forEach((s, k) => {
    const bad = s.findIndex((v) => !Number.isFinite(v));
    const finite = bad < 0 ? s : s.slice(0, bad);
    if (bad >= 0) notes.push(`${names[k]}: ${s[bad]} at point ${bad + 1} of ${s.length}; drawn up to there`);
    if (finite.length > 0) kept.push({ values: finite, k });
  });
  const lines: string[] = [];
  if (opts.title) lines.push(opts.title);
  if (kept.length === 0) {
    lines.push("(nothing to draw: no finite values)", ...notes);
    return lines.join("\n");
  }
  const color = opts.color ?? isTTY();
  const glyph = (k: number) => (color ? `${COLORS[k % COLORS.length]}${GLYPHS[k % GLYPHS.length]}${RESET}` : GLYPHS[k % GLYPHS.length]);
  const n = Math.max(...list.map((s) => s.length));
  const cols = sampleIndices(n, width);
  let lo = Infinity, hi = -Infinity;
  for (const { values } of kept) for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  // A range below ~1e-12 of the values' size cannot be told from rounding noise: draw it flat.
  const flat = hi - lo <= 1e-12 * Math.max(Math.abs(lo), Math.abs(hi), 1e-300);
  const rows = flat ? 1 : height;
  const rowValue = (r: number) => (flat ? (lo + hi) / 2 : lo + (r * (hi - lo)) / (rows - 1));
  // every cell lists the series that fall on it; where several do, their glyphs take turns along the row,
  // so that a band shared by two series reads "x#x#x#" and neither is hidden
  const hits: number[][][] = Array.from({ length: rows }, () => cols.map(() => []));
  let shared = false;
  for (const { values, k } of kept) {
    cols.forEach((i, c) => {
      if (i >= values.length) return;
      const r = flat ? 0 : Math.round(((values[i] - lo) / (hi - lo)) * (rows - 1));
      hits[r][c].push(k);
      if (hits[r][c].length > 1) shared = true;
    });
  }
  const cell = (ks: number[], c: number) => (ks.length === 0 ? " " : glyph(ks[c % ks.length]));
  const labelW = LABEL_W;
  for (let r = rows - 1; r >= 0; r--) lines.push(`${fmt(rowValue(r), 4).padStart(labelW)} ┤${hits[r].map(cell).join("")}`);
  lines.push(`${" ".repeat(labelW)} └${"─".repeat(cols.length)}`);
  const [x0, x1] = opts.xRange ?? [1, n];
  const first = fmt(x0, 4), last = fmt(x1, 4);
  const ticks = n === 1 ? first : cols.length > first.length + last.length ? first + last.padStart(cols.length - first.length) : `${first} … ${last}`;
  lines.push(`${" ".repeat(labelW + 2)}${ticks}${opts.xLabel ? `   ${opts.xLabel}` : ""}`);
  if (flat) notes.unshift(`(flat: every value is ${fmt((lo + hi) / 2, 6)}${hi > lo ? `, within ${fmt(hi - lo, 2)}` : ""})`);
  if (kept.length > 1 || opts.legend) lines.push(kept.map(({ k }) => `${glyph(k)} ${names[k]}`).join("   ") + (shared && kept.length > 1 ? "   (where series share a cell, their glyphs alternate)" : ""));
  lines.push(...notes);
  if (opts.values) {
    const at = sampleIndices(n, opts.values);
    const xOf = (i: number) => (n > 1 ? x0 + ((x1 - x0) * i) / (n - 1) : x0);
    lines.push("", table(["x", ...kept.map(({ k }) => names[k])], at.map((i) => [fmt(xOf(i), 6), ...kept.map(({ values }) => (i < values.length ? fmt(values[i], 6) : "-"))])));
  }
  return lines.join("\n");
}

/** Breaks a long line at spaces into lines of at most `width` characters; continuation lines get `indent` more spaces. */
export function wrap(line: string, width = 110, indent = 4): string[] {
  if (line.length <= width) return [line];
  const lead = " ".repeat((line.match(/^ */)?.[0].length ?? 0) + indent);
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(" ", width);
    if (cut <= lead.length) cut = rest.indexOf(" ", width);
    if (cut < 0) break;
    out.push(rest.slice(0, cut));
    rest = lead + rest.slice(cut + 1).trimStart();
  }
  out.push(rest);
  return out;
}

/** A plain aligned text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c, 4) : c)))];
  const widths = headers.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? "").length)));
  const line = (r: (string | number)[]) => r.map((c, j) => String(c).padStart(widths[j])).join("  ");
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** A number in at most `digits` significant digits, switching to exponent notation when very large or small. */
export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(Math.max(0, digits - 1));
  return String(Number(x.toPrecision(digits)));
}
