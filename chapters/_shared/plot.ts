/** Terminal drawing shared by the chapters: line charts (asciichart), tables and number formatting. */
import asciichart from "asciichart";

export function isTTY(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

const COLORS = [asciichart.blue, asciichart.red, asciichart.green, asciichart.magenta, asciichart.cyan, asciichart.yellow];

/**
 * One or more series as an asciichart plot, with a title and a legend. Long
 * series are thinned to at most `width` points. asciichart cannot draw NaN or
 * ±Infinity, so a series is cut at its first non-finite value (a diverged
 * training run ends there) and a note says where.
 */
export function lineChart(series: number[] | number[][], opts: { height?: number; title?: string; legend?: string[]; width?: number; xLabel?: string } = {}): string {
  const list = (Array.isArray(series[0]) ? series : [series]) as number[][];
  const width = opts.width ?? 72;
  const notes: string[] = [];
  const names = opts.legend ?? list.map((_, i) => `series ${i + 1}`);
  const kept: number[][] = [];
  const keptNames: string[] = [];
  list.forEach((s, k) => {
    const bad = s.findIndex((v) => !Number.isFinite(v));
    const finite = bad < 0 ? s : s.slice(0, bad);
    if (bad >= 0) notes.push(`${names[k]}: ${s[bad]} at point ${bad + 1} of ${s.length}; drawn up to there`);
    if (finite.length === 0) return;
    const step = Math.max(1, Math.ceil(finite.length / width));
    kept.push(finite.filter((_, i) => i % step === 0));
    keptNames.push(names[k]);
  });
  const lines: string[] = [];
  if (opts.title) lines.push(opts.title);
  if (kept.length === 0) {
    lines.push("(nothing to draw: no finite values)", ...notes);
    return lines.join("\n");
  }
  const color = isTTY();
  lines.push(asciichart.plot(kept, {
    height: opts.height ?? 10,
    colors: color ? COLORS.slice(0, kept.length) : undefined,
    format: (x: number) => fmt(x, 4).padStart(10),
  }));
  if (opts.xLabel) lines.push(" ".repeat(12) + opts.xLabel);
  if (opts.legend) {
    // Without colour the lines cannot be told apart, so the legend only names them.
    lines.push(color ? keptNames.map((l, i) => `${COLORS[i % COLORS.length]}──${asciichart.reset} ${l}`).join("   ") : `series: ${keptNames.join(", ")}`);
  }
  lines.push(...notes);
  return lines.join("\n");
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
