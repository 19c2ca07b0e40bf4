/**
 * The plumbing every chapter shares: flags, the header, JSON output and error
 * handling. A chapter declares its options and a `run` function; this file
 * does the rest, so that every chapter accepts --help, --seed N, --quick and
 * --json, and no user ever sees a stack trace.
 */
import { basename, dirname, resolve } from "node:path";
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, rmdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { getThreads, setThreads } from "../../lib/threads.ts";

/**
 * A chapter's option. `path` marks a string option that names a file or
 * folder: it is checked before the chapter runs ("outFile" and "outDir" must
 * be writable, "inFile" must be a readable file).
 */
export type OptionSpec =
  | {
      type: "number" | "integer";
      default?: number;
      help: string;
      /** Inclusive lower bound. */
      min?: number;
      /** Exclusive lower bound: the value must be greater than this (e.g. 0 for "positive"). */
      greaterThan?: number;
      max?: number;
      /** Bytes of memory a value would need; quoted when the value is above `max`. */
      memory?: (value: number) => number;
    }
  | { type: "string"; default?: string; choices?: readonly string[]; help: string; path?: "outFile" | "outDir" | "inFile" }
  | { type: "boolean"; help: string };

export interface CommonOptions {
  seed: number;
  quick: boolean;
  json: boolean;
}

export interface ChapterIO {
  /** Human output: printed to stdout, or nothing under --json (stdout then holds one JSON object). */
  print(...lines: string[]): void;
  /**
   * Progress on stderr, never under --json. On a terminal one line redrawn in
   * place; otherwise (a pipe, `| tee log`) one line per update, at most one
   * every PROGRESS_INTERVAL_MS.
   */
  progress(text: string): void;
  /** Ends a progress line. */
  progressDone(): void;
  /** A one-line warning on stderr (also under --json: stdout stays one JSON object). Optional, so that hand-made ChapterIO objects still type-check. */
  warn?(text: string): void;
}

/** Off a terminal, progress lines are written at most this often. */
export const PROGRESS_INTERVAL_MS = 2000;

/** Seeds are whole numbers in [0, 2^32): the generator is seeded with 32 bits, so larger seeds are refused rather than folded. */
export const MAX_SEED = 2 ** 32 - 1;

export interface Chapter<O extends Record<string, OptionSpec>> {
  /** e.g. "05-bptt" */
  id: string;
  title: string;
  /** Which lecture section(s) the chapter reproduces. */
  section: string;
  defaultSeed: number;
  /** What --quick changes, for --help. */
  quickHelp?: string;
  /**
   * True for a chapter whose networks have products large enough to split over threads
   * (lib/threads.ts; results are bit-identical whatever the number): it then accepts --threads N, 1 or 2,
   * which overrides SCRATCHNETS_THREADS. The default stays 1: at these chapters' sizes 2 threads measured no faster (README, "Two threads").
   */
  threads?: boolean;
  options?: O;
  run(opts: CommonOptions & Record<keyof O, any>, io: ChapterIO): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** An error whose message is meant for the user as it is (bad flag, bad value). */
export class UsageError extends Error {}

function usage<O extends Record<string, OptionSpec>>(ch: Chapter<O>): string {
  const lines = [
    `${ch.title}`,
    `Reproduces: ${ch.section}`,
    "",
    `Usage: npx tsx chapters/${ch.id}.ts [options]`,
    "",
    "Options:",
    `  --seed N               seed of every random draw, a whole number in [0, 2^32) (default ${ch.defaultSeed}); the same seed gives the same results`,
    `  --quick                a small, fast run (for CI)${ch.quickHelp ? `: ${ch.quickHelp}` : ""}`,
    "  --json                 print exactly one JSON object of the key results on stdout, nothing else",
    "  --help                 show this help (with --json: as one JSON object {\"usage\": ...} on stdout)",
  ];
  if (ch.threads) lines.push(`  --threads N            threads for the large matrix products, 1 or 2; the results are the same bits either way (default: SCRATCHNETS_THREADS, else 1; ${availableParallelism()} cores here)`);
  for (const [name, spec] of Object.entries(ch.options ?? {})) {
    const flag = spec.type === "boolean" ? `--${name}` : `--${name} ${spec.type === "string" ? (spec.choices ? spec.choices.join("|") : "VALUE") : "N"}`;
    const def = "default" in spec && spec.default !== undefined && !/\(default/.test(spec.help) ? ` (default ${spec.default})` : "";
    const range = spec.type === "number" || spec.type === "integer" ? rangeText(spec) : "";
    lines.push(`  ${flag.padEnd(22)} ${spec.help}${def}${range}`);
  }
  return lines.join("\n");
}

function rangeText(spec: { min?: number; greaterThan?: number; max?: number }): string {
  if (spec.greaterThan !== undefined && spec.max !== undefined) return `; greater than ${spec.greaterThan}, at most ${spec.max}`;
  if (spec.greaterThan !== undefined) return `; greater than ${spec.greaterThan}`;
  if (spec.min !== undefined && spec.max !== undefined) return `; ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `; at least ${spec.min}`;
  if (spec.max !== undefined) return `; at most ${spec.max}`;
  return "";
}

/** 3.2e10 bytes → "32 GB". */
export function bytesText(bytes: number): string {
  const units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes, u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${u === 0 ? Math.round(v) : v.toPrecision(2)} ${units[u]}`;
}

/** Creates and removes an entry in `dir`: the only test of writability that holds for root and for /proc alike. */
function probeWritableDir(dir: string): string | null {
  const probe = resolve(dir, `.scratchnets-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/** Checks a path option before any work is done; throws UsageError naming the path and what was expected. */
export function checkPath(name: string, value: string, kind: "outFile" | "outDir" | "inFile"): void {
  if (value.trim() === "") throw new UsageError(`--${name} needs a path, got an empty string`);
  const full = resolve(value);
  const exists = existsSync(full);
  const st = exists ? statSync(full) : null;
  if (kind === "inFile") {
    if (!st) throw new UsageError(`--${name}: no such file '${value}'`);
    if (!st.isFile()) throw new UsageError(`--${name}: '${value}' is not a file`);
    try { accessSync(full, constants.R_OK); } catch { throw new UsageError(`--${name}: '${value}' is not readable`); }
    return;
  }
  if (st && kind === "outDir" && !st.isDirectory()) throw new UsageError(`--${name}: '${value}' exists and is not a directory; expected a directory to write into`);
  if (st && kind === "outFile" && !st.isFile()) throw new UsageError(`--${name}: '${value}' exists and is not a file; expected a file path to write`);
  if (st && kind === "outFile") {
    // an existing file: open it for writing without truncating it
    try { closeSync(openSync(full, "r+")); } catch (e) { throw new UsageError(`--${name}: cannot write '${value}' (${(e as NodeJS.ErrnoException).code}); expected a writable file path`); }
    return;
  }
  // The directory (an existing outDir) or the nearest existing ancestor must be a directory we can create entries in.
  let probe = st ? full : dirname(full);
  while (!existsSync(probe)) probe = dirname(probe);
  if (!statSync(probe).isDirectory()) throw new UsageError(`--${name}: cannot write '${value}': '${probe}' is not a directory`);
  const why = probeWritableDir(probe);
  if (why) throw new UsageError(`--${name}: cannot write '${value}': cannot create entries in '${probe}' (${why}); expected a writable ${kind === "outDir" ? "directory" : "file path"}`);
}

/** Parses argv against the chapter's options; throws UsageError on anything unknown or malformed. */
export function parseArgs<O extends Record<string, OptionSpec>>(ch: Chapter<O>, argv: string[]): (CommonOptions & Record<string, unknown>) | "help" {
  const specs: Record<string, OptionSpec> = {
    seed: { type: "integer", default: ch.defaultSeed, help: "", min: 0, max: MAX_SEED },
    quick: { type: "boolean", help: "" },
    json: { type: "boolean", help: "" },
    ...(ch.threads ? { threads: { type: "integer", help: "", min: 1, max: 2 } as OptionSpec } : {}),
    ...(ch.options ?? {}),
  };
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = spec.type === "boolean" ? false : spec.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return "help";
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'; options start with --`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option '--${name}'; expected one of ${[...Object.keys(specs), "help"].map((k) => `--${k}`).join(", ")}`);
    if (spec.type === "boolean") {
      if (value !== undefined) throw new UsageError(`--${name} takes no value, got '${value}'`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value (${spec.type === "string" ? (spec.choices ? spec.choices.join(", ") : "a path or a word") : spec.type === "integer" ? "a whole number" : "a number"})`);
    }
    if (spec.type === "string") {
      if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")}; got '${value}'`);
      if (spec.path) checkPath(name, value, spec.path);
      out[name] = value;
    } else {
      // plain decimals only: Number() would also take 0x10, 0b11 and 1e999 (= Infinity)
      const v = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isFinite(v)) throw new UsageError(`--${name} needs a ${spec.type === "integer" ? "whole number" : "number"}, got '${value}'`);
      if (spec.type === "integer" && !Number.isInteger(v)) throw new UsageError(`--${name} needs a whole number, got '${value}'`);
      if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, got ${v}`);
      if (spec.greaterThan !== undefined && !(v > spec.greaterThan)) throw new UsageError(`--${name} must be greater than ${spec.greaterThan}, got ${v}`);
      if (spec.max !== undefined && v > spec.max) {
        const mem = spec.memory ? `: it would need about ${bytesText(spec.memory(v))} of memory` : "";
        const seedNote = name === "seed" ? " (seeds are whole numbers in [0, 2^32): the generator takes 32 bits, and larger seeds would repeat smaller ones)" : "";
        throw new UsageError(`--${name} must be at most ${spec.max}${seedNote}, got ${v}${mem}`);
      }
      out[name] = v;
    }
  }
  return out as CommonOptions & Record<string, unknown>;
}

/** Runs a chapter as a command-line program. */
export async function runChapter<O extends Record<string, OptionSpec>>(ch: Chapter<O>, argv = process.argv.slice(2)): Promise<void> {
  let opts: (CommonOptions & Record<string, unknown>) | "help";
  try {
    opts = parseArgs(ch, argv);
  } catch (e) {
    process.stderr.write(`${basename(ch.id)}: ${(e as Error).message}\n\n${usage(ch)}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts === "help") {
    // --help wins; with --json anywhere on the line the usage comes as one JSON object, so stdout stays JSON
    process.stdout.write(argv.includes("--json") ? JSON.stringify({ usage: usage(ch) }) + "\n" : usage(ch) + "\n");
    return;
  }
  // A reader that stops early (npx tsx chapters/05-bptt.ts | head) closes the pipe: stop quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  const json = opts.json;
  const tty = Boolean(process.stderr.isTTY);
  let progressShown = false;
  let lastLine = -Infinity;
  let pending: string | null = null;
  const io: ChapterIO = {
    print: (...lines) => {
      if (!json) process.stdout.write(lines.join("\n") + "\n");
    },
    progress: (text) => {
      if (json) return;
      if (tty) {
        process.stderr.write(`\r\x1b[K${text}`);
        progressShown = true;
        return;
      }
      // Off a terminal: whole lines, no \r animation, at most one per interval (the last one is kept for progressDone).
      const now = performance.now();
      if (now - lastLine >= PROGRESS_INTERVAL_MS) {
        process.stderr.write(`${text}\n`);
        lastLine = now;
        pending = null;
      } else {
        pending = text;
      }
    },
    progressDone: () => {
      if (progressShown) process.stderr.write("\r\x1b[K");
      progressShown = false;
      if (pending !== null) process.stderr.write(`${pending}\n`);
      pending = null;
      lastLine = -Infinity;
    },
    warn: (text) => {
      if (progressShown) process.stderr.write("\r\x1b[K");
      progressShown = false;
      process.stderr.write(`${ch.id}: warning: ${text}\n`);
    },
  };
  // --threads, when given, overrides SCRATCHNETS_THREADS; otherwise the environment's (or lib's default of 1) stands
  if (ch.threads && opts.threads !== undefined) setThreads(opts.threads as number);
  const threads = ch.threads ? getThreads() : null;
  io.print(`${ch.title}`, `Reproduces: ${ch.section}`, `seed: ${opts.seed}${threads !== null ? `   threads: ${threads} (--threads)` : ""}${opts.quick ? "   (--quick: a small run)" : ""}`, "");
  try {
    const result = await ch.run(opts as CommonOptions & Record<keyof O, any>, io);
    io.progressDone();
    if (json) process.stdout.write(JSON.stringify(result) + "\n");
  } catch (e) {
    io.progressDone();
    const err = e as Error;
    process.stderr.write(`${ch.id}: error: ${err?.message ?? String(e)}\n`);
    if (process.env.SCRATCHNETS_DEBUG) process.stderr.write(`${err?.stack ?? ""}\n`);
    process.exitCode = 1;
  }
}
