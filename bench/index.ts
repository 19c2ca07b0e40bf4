/**
 * `npm run bench` runs every bench/*.bench.ts and prints its table;
 * `npm run bench -- --json` prints one JSON object with a key per benchmark.
 * `--quick` runs shorter measurements (for a smoke test, not for figures).
 * `--only KEY` runs one benchmark. Speed targets live here, not in tests.
 *
 * `--processes P` (3 by default, 1 with --quick) runs every benchmark in P fresh processes, taking turns
 * (all of them once, then all again, …), and reports each figure's best: the least time, the highest rate.
 * On this machine one whole single-process run came out some 30% slower across the board than the others, with
 * nothing else running, and within one run a single figure differed by up to 128% from one process to the next:
 * the state of a fresh process and a few minutes of a busy neighbour move the figures of that process. The best
 * of processes spread over the whole run is steadier.
 * The tables printed are the last process's; the summary after them gives every figure's best and its spread.
 */
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { bestOf, isRecord, measurements, spread, unclassified } from "./best-of.ts";

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

const usage = "Usage: npm run bench [-- --json] [--quick] [--only KEY] [--processes P]";
const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
/** Internal: a process the runner started; prints its tables and figures as one JSON line. */
const child = args.includes("--child");
const valueOf = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const only = valueOf("--only");
const processesArg = valueOf("--processes");
const known = new Set(["--json", "--quick", "--child", "--only", only, "--processes", processesArg]);
const unknown = args.filter((a) => !known.has(a));
if (unknown.length > 0 || (args.includes("--only") && !only) || (args.includes("--processes") && processesArg === undefined)) {
  process.stderr.write(`bench: unknown argument(s) ${unknown.join(" ") || "--only needs a key, --processes a number"}\n${usage}\n`);
  process.exit(2);
}
const processes = processesArg === undefined ? (quick || child ? 1 : 3) : Number(processesArg);
if (!Number.isInteger(processes) || processes < 1 || processes > 20) {
  process.stderr.write(`bench: --processes must be an integer from 1 to 20, got '${processesArg}'\n${usage}\n`);
  process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith(".bench.ts")).sort();
const meta = { node: process.version, date: new Date().toISOString(), quick, processes };

interface Printed {
  key: string;
  file: string;
  table: string[][];
  note?: string;
}

function printTable(p: Printed): void {
  process.stdout.write(`\n== ${p.key} (${p.file}) ==\n`);
  const widths = p.table[0].map((_, j) => Math.max(...p.table.map((row) => (row[j] ?? "").length)));
  for (const row of p.table) process.stdout.write(row.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ") + "\n");
  if (p.note) process.stdout.write(p.note + "\n");
}

/** Runs the benchmarks (those of key `only`, if given) in this process: their figures by key, and their tables as each finishes. */
async function runHere(onTable: (p: Printed) => void): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as BenchModule;
    if (only && mod.key !== only) continue;
    const r = await mod.run({ quick });
    // two files may share a key (e.g. "rnn"): their figures are merged under it
    const prev = results[mod.key];
    results[mod.key] = isRecord(prev) && isRecord(r.json) ? { ...prev, ...r.json } : r.json;
    onTable({ key: mod.key, file: f, table: r.table, note: r.note });
  }
  return results;
}

function noSuchKey(): never {
  process.stderr.write(`bench: no benchmark has key '${only}'\n`);
  process.exit(2);
}

/** Every number a benchmark reports must be a time, a rate, or a size or label (best-of.ts): else its best of several processes would be meaningless. */
function checkFigures(results: Record<string, unknown>): void {
  const odd = unclassified(results);
  if (odd.length > 0) {
    process.stderr.write(`bench: figure(s) ${odd.join(", ")} are neither a time (…Ms), a rate (…PerSec, gflops) nor a size or label; rename them so that bench/best-of.ts knows which value is the better\n`);
    process.exit(1);
  }
}

if (processes === 1) {
  const printed: Printed[] = [];
  const results = await runHere((p) => (child ? printed.push(p) : json ? undefined : printTable(p)));
  if (only && Object.keys(results).length === 0) noSuchKey();
  checkFigures(results);
  if (child) process.stdout.write(JSON.stringify({ results, printed }) + "\n");
  else if (json) process.stdout.write(JSON.stringify({ ...results, meta }) + "\n");
} else {
  // the keys, in file order (importing a module runs nothing)
  const keys: string[] = [];
  for (const f of files) {
    const { key } = (await import(pathToFileURL(join(here, f)).href)) as BenchModule;
    if ((!only || key === only) && !keys.includes(key)) keys.push(key);
  }
  if (keys.length === 0) noSuchKey();
  const runs = new Map<string, unknown[]>(keys.map((k) => [k, []]));
  const tables = new Map<string, Printed[]>();
  for (let round = 1; round <= processes; round++) {
    for (const key of keys) {
      process.stderr.write(`bench: ${key}, process ${round} of ${processes}\n`);
      const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", "--only", key, ...(quick ? ["--quick"] : [])], {
        encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26,
      });
      const line = r.stdout?.trim().split("\n").pop() ?? "";
      if (r.status !== 0 || !line.startsWith("{")) {
        process.stderr.write(`bench: the process for '${key}' failed (${r.error?.message ?? `exit status ${r.status}`})\n`);
        process.exit(1);
      }
      const out = JSON.parse(line) as { results: Record<string, unknown>; printed: Printed[] };
      runs.get(key)!.push(out.results[key]);
      tables.set(key, out.printed);
    }
  }
  const results: Record<string, unknown> = {};
  try {
    for (const [key, values] of runs) results[key] = values.reduce((a, b) => bestOf(a, b, [key]));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  // each figure's values from the processes, and how far apart they lie
  const spreads: Record<string, number> = {};
  const rows: string[][] = [["figure", "best", `the ${processes} processes`, "spread"]];
  for (const [key, values] of runs) {
    const each = values.map((v) => measurements(v, [key]));
    for (const [path, best] of measurements(results[key], [key])) {
      const vals = each.map((m) => m.get(path)).filter((v): v is number => v !== undefined);
      spreads[path] = Number(spread(vals).toFixed(3));
      rows.push([path, fmt(best), vals.map(fmt).join(" / "), `${(100 * spreads[path]).toFixed(0)}%`]);
    }
  }
  if (json) process.stdout.write(JSON.stringify({ ...results, meta: { ...meta, spreads } }) + "\n");
  else {
    for (const key of keys) for (const p of tables.get(key) ?? []) printTable(p);
    printTable({
      key: `best of ${processes} processes`, file: "every figure",
      table: rows,
      note: "The tables above are the last process's. Best: the least time, the highest rate. Spread: largest / smallest − 1 over the processes.",
    });
  }
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
