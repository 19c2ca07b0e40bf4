/**
 * Images in the terminal: digits and feature maps as blocks of shaded glyphs.
 *
 * A pixel becomes one of five shades, " ░▒▓█", from empty to full. Terminal
 * cells are about twice as tall as wide, so a small image (8×8) draws each
 * pixel two characters wide, and a large one (28×28) draws one character per
 * pixel and averages pairs of rows. Images are laid out side by side, with a
 * caption under each, and wrap to the next band at `width` columns.
 */
import { Tensor } from "../../lib/matrix.ts";

export const SHADES = [" ", "░", "▒", "▓", "█"];

/** The glyph of a value in [0, max]. */
export function shade(v: number, max: number): string {
  if (!(max > 0) || !Number.isFinite(v)) return SHADES[0];
  const t = Math.min(1, Math.max(0, v / max));
  return SHADES[Math.round(t * (SHADES.length - 1))];
}

/** One H×W image (row-major values) as lines of glyphs, framed. */
export function imageLines(pixels: ArrayLike<number>, H: number, W: number, max: number): string[] {
  const lines: string[] = [];
  const wide = H <= 16;
  const rowStep = wide ? 1 : 2;
  const innerWidth = wide ? 2 * W : W;
  lines.push("┌" + "─".repeat(innerWidth) + "┐");
  for (let i = 0; i < H; i += rowStep) {
    let s = "";
    for (let j = 0; j < W; j++) {
      let v = pixels[i * W + j];
      if (!wide) v = i + 1 < H ? (v + pixels[(i + 1) * W + j]) / 2 : v;
      const g = shade(v, max);
      s += wide ? g + g : g;
    }
    lines.push("│" + s + "│");
  }
  lines.push("└" + "─".repeat(innerWidth) + "┘");
  return lines;
}

export interface Panel {
  lines: string[];
  caption: string;
}

/** Panels side by side, each caption centred under its panel, wrapping at `width` columns. */
export function layoutPanels(panels: Panel[], opts: { gap?: number; width?: number } = {}): string {
  const gap = opts.gap ?? 2, width = opts.width ?? 100;
  const bands: Panel[][] = [];
  let band: Panel[] = [], used = 0;
  for (const p of panels) {
    const w = Math.max(...p.lines.map((l) => [...l].length), p.caption.length);
    if (band.length > 0 && used + gap + w > width) {
      bands.push(band);
      band = [];
      used = 0;
    }
    used += (band.length ? gap : 0) + w;
    band.push(p);
  }
  if (band.length) bands.push(band);
  const out: string[] = [];
  for (const b of bands) {
    const widths = b.map((p) => Math.max(...p.lines.map((l) => [...l].length), p.caption.length));
    const height = Math.max(...b.map((p) => p.lines.length));
    const pad = (s: string, w: number): string => s + " ".repeat(Math.max(0, w - [...s].length));
    for (let r = 0; r < height; r++) out.push(b.map((p, k) => pad(p.lines[r] ?? "", widths[k])).join(" ".repeat(gap)).trimEnd());
    out.push(b.map((p, k) => pad(" ".repeat(Math.max(0, Math.floor((widths[k] - p.caption.length) / 2))) + p.caption, widths[k])).join(" ".repeat(gap)).trimEnd());
    out.push("");
  }
  return out.join("\n").trimEnd();
}

/** Image n of a batch (N, H, W, 1) as a panel; `max` is the value drawn as a full block. */
export function imagePanel(images: Tensor, n: number, max: number, caption: string): Panel {
  const [, H, W, C] = images.shape;
  const px = new Float64Array(H * W);
  for (let k = 0; k < H * W; k++) px[k] = images.data[(n * H * W + k) * C];
  return { lines: imageLines(px, H, W, max), caption };
}

/** Several images of a batch (N, H, W, 1), side by side with their captions. */
export function drawImages(images: Tensor, indices: number[], captions: string[], max: number, width = 100): string {
  return layoutPanels(indices.map((n, k) => imagePanel(images, n, max, captions[k])), { width });
}

/**
 * The F feature maps of one image, maps: (H, W, F) or (1, H, W, F), each
 * scaled by its own largest |value| (negative values draw as empty).
 */
export function drawFeatureMaps(maps: Tensor, captions: string[], width = 100): string {
  const s = maps.shape.slice(-3);
  const [H, W, F] = s;
  const panels: Panel[] = [];
  for (let f = 0; f < F; f++) {
    const px = new Float64Array(H * W);
    let max = 0;
    for (let k = 0; k < H * W; k++) {
      px[k] = maps.data[k * F + f];
      max = Math.max(max, Math.abs(px[k]));
    }
    panels.push({ lines: imageLines(px, H, W, max), caption: captions[f] ?? `map ${f}` });
  }
  return layoutPanels(panels, { width });
}

/** A matrix (rows of numbers) as aligned text. */
export function matrixText(m: Tensor, opts: { indent?: string; digits?: number; maxRows?: number } = {}): string {
  const [r, c] = m.shape.length === 2 ? m.shape : [1, m.size];
  const indent = opts.indent ?? "    ", maxRows = opts.maxRows ?? r;
  const cells: string[][] = [];
  for (let i = 0; i < Math.min(r, maxRows); i++) {
    cells.push(Array.from({ length: c }, (_, j) => {
      const v = m.data[i * c + j];
      return Number.isInteger(v) ? String(v) : v.toFixed(opts.digits ?? 2);
    }));
  }
  const w = Math.max(...cells.flat().map((s) => s.length));
  const lines = cells.map((row) => indent + "[ " + row.map((s) => s.padStart(w)).join("  ") + " ]");
  if (r > maxRows) lines.push(indent + `  … ${r - maxRows} more rows`);
  return lines.join("\n");
}
