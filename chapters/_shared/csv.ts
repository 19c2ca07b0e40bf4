/** Writing a chapter's figures as CSV files (for --out). The path was checked by the CLI before the run. */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** One CSV cell: numbers at full precision, strings quoted when they need it. */
function cell(v: string | number | boolean): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v !== v ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The text of a CSV file: a header line, then one line per row. */
export function csvText(header: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): string {
  for (const [i, r] of rows.entries()) {
    if (r.length !== header.length) throw new Error(`csv: row ${i + 1} has ${r.length} cells, the header has ${header.length}`);
  }
  return [header.map(cell).join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n";
}

/**
 * Creates `dir` and any missing parents one level at a time. (Node's
 * mkdirSync(…, { recursive: true }) spins forever on some paths under /proc.)
 * Errors name the directory.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  if (existsSync(d) && !statSync(d).isDirectory()) throw new Error(`cannot create the directory ${dir}: ${d} is not a directory`);
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      throw new Error(`cannot create the directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/** Writes a CSV file, creating its folder if needed; errors name the file. */
export function writeCsv(path: string, header: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): void {
  const text = csvText(header, rows);
  ensureDir(dirname(path));
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new Error(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
