/** Terminal drawing shared by the chapters: line charts (asciichart), tables and number formatting. */
import asciichart from "asciichart";

export function isTTY(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

const COLORS = [asciichart.blue, asciichart.red, asciichart.green, asciichart.magenta, asciichart.cyan, asciichart.yellow];

/**
 * One or more series as an asciichart plot, with a title and a legend. Long
 * series are thinned to at most `width` points. Non-finite values are dropped
 * from the drawing and said so in a note.
 */
export function lineChart(series: number[] | number[][], opts: { height?: number; title?: string; legend?: string[]; width?: number; xLabel?: string } = {}): string {
  const list = (Array.isArray(series[0]) ? series : [series]) as number[][];
  const width = opts.width ?? 72;
  let dropped = 0;
  const thinned = list.map((s) => {
    const step = Math.max(1, Math.ceil(s.length / width));
    const out: number[] = [];
    for (let i = 0; i < s.length; i += step) {
      if (Number.isFinite(s[i])) out.push(s[i]);
      else { out.push(NaN); dropped++; }
    }
    return out;
  });
  const color = isTTY();
  const chart = asciichart.plot(thinned, {
    height: opts.height ?? 10,
    colors: color ? COLORS.slice(0, thinned.length) : undefined,
    format: (x: number) => fmt(x, 4).padStart(10),
  });
  const lines: string[] = [];
  if (opts.title) lines.push(opts.title);
  lines.push(chart);
  if (opts.xLabel) lines.push(" ".repeat(12) + opts.xLabel);
  if (opts.legend) {
    // Without colour the lines cannot be told apart, so the legend only names them.
    lines.push(color ? opts.legend.map((l, i) => `${COLORS[i % COLORS.length]}──${asciichart.reset} ${l}`).join("   ") : `series: ${opts.legend.join(", ")}`);
  }
  if (dropped > 0) lines.push(`(${dropped} non-finite points left out)`);
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
