/**
 * The terminal version of the lecture's seaborn heatmap (annot=True,
 * cmap="viridis"): a grid of annotated cells, rows and columns labelled, and
 * on a colour terminal each cell's background taken from a viridis-like ramp
 * of the 256-colour palette.
 */

/** xterm-256 colours from dark purple through blue and green to yellow, like viridis. */
const VIRIDIS_256 = [53, 54, 55, 61, 25, 24, 31, 30, 36, 35, 71, 77, 113, 149, 185, 184, 220, 226];

export interface HeatmapOptions {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  /** The name of the row variable, e.g. "η". */
  rowTitle: string;
  /** The name of the column variable, e.g. "λ". */
  colTitle: string;
  /** Colour the cells (ANSI); otherwise plain text. */
  color: boolean;
  /** Cells to mark with `markSymbol` after the value, e.g. diverged runs. */
  marks?: boolean[][];
  markSymbol?: string;
  /** The value range of the colour ramp (default [0, 1]). */
  range?: [number, number];
  digits?: number;
}

export function heatmap(values: number[][], o: HeatmapOptions): string {
  const digits = o.digits ?? 3;
  const mark = o.markSymbol ?? "*";
  const [lo, hi] = o.range ?? [0, 1];
  const text = values.map((row, i) => row.map((v, j) => (Number.isFinite(v) ? v.toFixed(digits) : String(v)) + (o.marks?.[i]?.[j] ? mark : " ")));
  const cellW = Math.max(...text.flat().map((s) => s.length), ...o.colLabels.map((s) => s.length)) + 2;
  const rowW = Math.max(...o.rowLabels.map((s) => s.length), o.rowTitle.length + 2);
  const lines: string[] = [o.title, ""];
  const colHeader = `${o.colTitle} →`;
  lines.push(" ".repeat(rowW + 1) + colHeader.padStart(Math.floor((cellW * o.colLabels.length + colHeader.length) / 2)));
  lines.push(`${(o.rowTitle + " ↓").padEnd(rowW)} ` + o.colLabels.map((l) => l.padStart(cellW - 1).padEnd(cellW)).join(""));
  values.forEach((row, i) => {
    const cells = row.map((v, j) => {
      const s = text[i][j].padStart(cellW - 1).padEnd(cellW);
      if (!o.color || !Number.isFinite(v)) return s;
      const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo || 1)));
      const bg = VIRIDIS_256[Math.round(t * (VIRIDIS_256.length - 1))];
      // dark text on the light (yellow-green) end, light text on the dark end
      const fg = t > 0.55 ? 16 : 231;
      return `\x1b[48;5;${bg}m\x1b[38;5;${fg}m${s}\x1b[0m`;
    });
    lines.push(`${o.rowLabels[i].padStart(rowW)} ` + cells.join(""));
  });
  return lines.join("\n");
}

/** A grid as CSV: a header of the column values, then one row per row value. */
export function gridCsv(values: number[][], rowLabels: string[], colLabels: string[], corner: string): string {
  const lines = [[corner, ...colLabels].join(",")];
  values.forEach((row, i) => lines.push([rowLabels[i], ...row.map((v) => (Number.isFinite(v) ? String(v) : ""))].join(",")));
  return lines.join("\n") + "\n";
}
