/**
 * The plumbing every chapter shares: flags, the header, JSON output and error
 * handling. A chapter declares its options and a `run` function; this file
 * does the rest, so that every chapter accepts --help, --seed N, --quick and
 * --json, and no user ever sees a stack trace.
 */
import { basename, dirname, resolve } from "node:path";
import { accessSync, constants, existsSync, statSync } from "node:fs";

/**
 * A chapter's option. `path` marks a string option that names a file or
 * folder: it is checked before the chapter runs ("outFile" and "outDir" must
 * be writable, "inFile" must be a readable file).
 */
export type OptionSpec =
  | { type: "number" | "integer"; default?: number; help: string; min?: number; max?: number }
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
  /** A transient progress line on stderr, only when stderr is a terminal. */
  progress(text: string): void;
  /** Ends a progress line. */
  progressDone(): void;
}

export interface Chapter<O extends Record<string, OptionSpec>> {
  /** e.g. "05-bptt" */
  id: string;
  title: string;
  /** Which lecture section(s) the chapter reproduces. */
  section: string;
  defaultSeed: number;
  /** What --quick changes, for --help. */
  quickHelp?: string;
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
    `  --seed N               seed of every random draw (default ${ch.defaultSeed}); the same seed gives the same results`,
    `  --quick                a small, fast run (for CI)${ch.quickHelp ? `: ${ch.quickHelp}` : ""}`,
    "  --json                 print exactly one JSON object of the key results on stdout, nothing else",
    "  --help                 show this help",
  ];
  for (const [name, spec] of Object.entries(ch.options ?? {})) {
    const flag = spec.type === "boolean" ? `--${name}` : `--${name} ${spec.type === "string" ? (spec.choices ? spec.choices.join("|") : "VALUE") : "N"}`;
    const def = "default" in spec && spec.default !== undefined && !/\(default/.test(spec.help) ? ` (default ${spec.default})` : "";
    lines.push(`  ${flag.padEnd(22)} ${spec.help}${def}`);
  }
  return lines.join("\n");
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
  // The nearest existing ancestor must be a writable directory.
  let probe = st ? full : dirname(full);
  while (!existsSync(probe)) probe = dirname(probe);
  if (!st && !statSync(probe).isDirectory()) throw new UsageError(`--${name}: cannot write '${value}': '${probe}' is not a directory`);
  try { accessSync(st ? full : probe, constants.W_OK); } catch { throw new UsageError(`--${name}: cannot write '${value}': '${st ? full : probe}' is not writable`); }
}

/** Parses argv against the chapter's options; throws UsageError on anything unknown or malformed. */
export function parseArgs<O extends Record<string, OptionSpec>>(ch: Chapter<O>, argv: string[]): (CommonOptions & Record<string, unknown>) | "help" {
  const specs: Record<string, OptionSpec> = {
    seed: { type: "integer", default: ch.defaultSeed, help: "", min: 0 },
    quick: { type: "boolean", help: "" },
    json: { type: "boolean", help: "" },
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
    if (!spec) throw new UsageError(`unknown option '--${name}'`);
    if (spec.type === "boolean") {
      if (value !== undefined) throw new UsageError(`--${name} takes no value, got '${value}'`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (spec.type === "string") {
      if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")}; got '${value}'`);
      if (spec.path) checkPath(name, value, spec.path);
      out[name] = value;
    } else {
      const v = Number(value);
      if (value.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--${name} needs a number, got '${value}'`);
      if (spec.type === "integer" && !Number.isInteger(v)) throw new UsageError(`--${name} needs a whole number, got '${value}'`);
      if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, got ${v}`);
      if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, got ${v}`);
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
    process.stdout.write(usage(ch) + "\n");
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
  const io: ChapterIO = {
    print: (...lines) => {
      if (!json) process.stdout.write(lines.join("\n") + "\n");
    },
    progress: (text) => {
      if (!tty) return;
      process.stderr.write(`\r\x1b[K${text}`);
      progressShown = true;
    },
    progressDone: () => {
      if (progressShown) process.stderr.write("\r\x1b[K");
      progressShown = false;
    },
  };
  io.print(`${ch.title}`, `Reproduces: ${ch.section}`, `seed: ${opts.seed}${opts.quick ? "   (--quick: a small run)" : ""}`, "");
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
