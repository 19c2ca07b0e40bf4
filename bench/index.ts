/**
 * `npm run bench` runs every bench/*.bench.ts and prints its table;
 * `npm run bench -- --json` prints one JSON object with a key per benchmark.
 * `--quick` runs shorter measurements (for a smoke test, not for figures).
 * `--only KEY` runs one benchmark. Speed targets live here, not in tests.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

export interface BenchResult {
  /** Rows of [label, value, ...] to print. */
  table: string[][];
  /** Printed under the table. */
  note?: string;
  /** The value stored under the benchmark's key in the JSON object. */
  json: unknown;
}

interface BenchModule {
  key: string;
  run(opts: { quick: boolean }): Promise<BenchResult> | BenchResult;
}

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const known = new Set(["--json", "--quick", "--only", only]);
const unknown = args.filter((a) => !known.has(a));
if (unknown.length > 0 || (onlyAt >= 0 && !only)) {
  process.stderr.write(`bench: unknown argument(s) ${unknown.join(" ") || "--only needs a key"}\nUsage: npm run bench [-- --json] [--quick] [--only KEY]\n`);
  process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith(".bench.ts")).sort();
const results: Record<string, unknown> = {};
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const meta = { node: process.version, date: new Date().toISOString(), quick };

for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as BenchModule;
  if (only && mod.key !== only) continue;
  if (!json) process.stdout.write(`\n== ${mod.key} (${f}) ==\n`);
  const r = await mod.run({ quick });
  // two files may share a key (e.g. "rnn"): their figures are merged under it
  const prev = results[mod.key];
  results[mod.key] = isRecord(prev) && isRecord(r.json) ? { ...prev, ...r.json } : r.json;
  if (!json) {
    const widths = r.table[0].map((_, j) => Math.max(...r.table.map((row) => (row[j] ?? "").length)));
    for (const row of r.table) process.stdout.write(row.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ") + "\n");
    if (r.note) process.stdout.write(r.note + "\n");
  }
}
if (only && Object.keys(results).length === 0) {
  process.stderr.write(`bench: no benchmark has key '${only}'\n`);
  process.exit(2);
}
if (json) process.stdout.write(JSON.stringify({ ...results, meta }) + "\n");
