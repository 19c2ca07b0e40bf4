/**
 * The bad-input suite: wrong flags for every chapter and wrong arguments to
 * lib/'s public API. Every case has a timeout (nothing may hang) and asserts
 * the exit status or the thrown message, which must name the offending value
 * and what was expected. The lib cases live in fixtures/bad-lib-cases.ts and
 * run in a worker thread; the chapter cases are spawned, a few at a time.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { Worker } from "node:worker_threads";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIB_CASES } from "./fixtures/bad-lib-cases.ts";
import { TSX, chapterPath } from "./_helpers.ts";

const LIB_TIMEOUT_MS = 5000;
const CHAPTER_TIMEOUT_MS = 60000;
const POOL = 3;

/** Runs every lib case in a worker; a case that does not answer within the timeout is recorded as a hang and the worker restarted after it. */
function runLibCases(): Promise<{ message: string | null | "HANG"; ms: number }[]> {
  const results: { message: string | null | "HANG"; ms: number }[] = [];
  return new Promise((resolveAll, reject) => {
    const start = (from: number): void => {
      if (from >= LIB_CASES.length) return resolveAll(results);
      const w = new Worker(new URL("./fixtures/bad-lib-worker.mjs", import.meta.url), { workerData: { from } });
      let current = from, t0 = performance.now();
      let timer = setTimeout(onHang, LIB_TIMEOUT_MS);
      function onHang(): void {
        results[current] = { message: "HANG", ms: performance.now() - t0 };
        void w.terminate();
        start(current + 1);
      }
      w.on("message", (m: { i: number; message: string | null } | { done: true }) => {
        clearTimeout(timer);
        if ("done" in m) {
          void w.terminate();
          return resolveAll(results);
        }
        results[m.i] = { message: m.message, ms: performance.now() - t0 };
        current = m.i + 1;
        t0 = performance.now();
        timer = setTimeout(onHang, LIB_TIMEOUT_MS);
      });
      w.on("error", (e) => { clearTimeout(timer); reject(e); });
    };
    start(0);
  });
}

interface ChapterCase {
  chapter: string;
  args: string[];
  /** Exit status: 2 usage, 1 error during the run, 0 for cases that must simply finish. */
  code: 0 | 1 | 2;
  /** Must match stderr (for code 0: may be omitted). */
  err?: RegExp;
  /** For code 0 with --json: stdout must be one JSON object. */
  json?: boolean;
}

const scratch = mkdtempSync(join(tmpdir(), "scratchnets-bad-cli-"));
const existingFile = join(scratch, "results.csv");
writeFileSync(existingFile, "x\n");
const notJson = join(scratch, "broken.weights.json");
writeFileSync(notJson, "{oops");
const emptyNet = join(scratch, "weights");
mkdirSync(emptyNet);
writeFileSync(join(emptyNet, "rnn.weights.json"), JSON.stringify({ format: "scratchnets-weights", layers: [] }));

const CHAPTER_CASES: ChapterCase[] = [
  // hangs reported in the issue
  // (2 epochs are enough: the loss is flat from the first one)
  { chapter: "03-cnn-digits", args: ["--quick", "--eta", "0", "--epochs", "2", "--json"], code: 0, json: true },
  { chapter: "03-cnn-digits", args: ["--quick", "--eta", "1e-300", "--epochs", "2"], code: 0 },
  { chapter: "04-grid-search", args: ["--quick", "--out", "/proc/x.csv"], code: 2, err: /--out: cannot write '\/proc\/x\.csv': cannot create entries in '\/proc' .*expected a writable directory/ },
  // output paths, checked before any work
  { chapter: "04-grid-search", args: ["--quick", "--out", ""], code: 2, err: /--out needs a path, got an empty string/ },
  { chapter: "04-grid-search", args: ["--quick", "--out", existingFile], code: 2, err: /--out: '.*results\.csv' exists and is not a directory; expected a directory to write into/ },
  { chapter: "04-grid-search", args: ["--quick", "--out", join(existingFile, "sub")], code: 2, err: /--out: cannot write '.*results\.csv\/sub': '.*results\.csv' is not a directory/ },
  { chapter: "04-grid-search", args: ["--quick", "--out", "/proc/self/nope/deeper"], code: 2, err: /--out: cannot write '\/proc\/self\/nope\/deeper'/ },
  // workers, epochs and seeds
  { chapter: "04-grid-search", args: ["--quick", "--epochs", "1", "--workers", "1000", "--json"], code: 0, json: true, err: /warning: --workers 1000 is more than the \d+ cores; using \d+ worker threads/ },
  { chapter: "04-grid-search", args: ["--workers", "0"], code: 2, err: /--workers must be at least 1, got 0/ },
  { chapter: "04-grid-search", args: ["--workers", "1.5"], code: 2, err: /--workers needs a whole number, got '1\.5'/ },
  { chapter: "04-grid-search", args: ["--workers", "100000"], code: 2, err: /--workers must be at most 1024, got 100000/ },
  { chapter: "04-grid-search", args: ["--epochs", "100000"], code: 2, err: /--epochs must be at most 10000, got 100000/ },
  { chapter: "04-grid-search", args: ["--seed", "4294967296"], code: 2, err: /--seed must be at most 4294967295 \(seeds are whole numbers in \[0, 2\^32\).*got 4294967296/ },
  { chapter: "04-grid-search", args: ["--dataset", "mnist", "--padding", "full"], code: 2, err: /--padding must be one of valid, same; got 'full'/ },
  { chapter: "03-cnn-digits", args: ["--seed", "-1"], code: 2, err: /--seed must be at least 0, got -1/ },
  { chapter: "03-cnn-digits", args: ["--seed", "1.5"], code: 2, err: /--seed needs a whole number, got '1\.5'/ },
  { chapter: "03-cnn-digits", args: ["--seed", " "], code: 2, err: /--seed needs a whole number, got ' '/ },
  { chapter: "03-cnn-digits", args: ["--seed", "0x10"], code: 2, err: /--seed needs a whole number, got '0x10'/ },
  // chapter 03's numbers
  { chapter: "03-cnn-digits", args: ["--eta", "-1"], code: 2, err: /--eta must be at least 0, got -1/ },
  { chapter: "03-cnn-digits", args: ["--eta", "NaN"], code: 2, err: /--eta needs a number, got 'NaN'/ },
  { chapter: "03-cnn-digits", args: ["--eta", "Infinity"], code: 2, err: /--eta needs a number, got 'Infinity'/ },
  { chapter: "03-cnn-digits", args: ["--eta"], code: 2, err: /--eta needs a value \(a number\)/ },
  { chapter: "03-cnn-digits", args: ["--lambda", "-0.1"], code: 2, err: /--lambda must be at least 0, got -0\.1/ },
  { chapter: "03-cnn-digits", args: ["--epochs", "0"], code: 2, err: /--epochs must be at least 1, got 0/ },
  { chapter: "03-cnn-digits", args: ["--threads", "3"], code: 2, err: /--threads must be at most 2, got 3/ },
  { chapter: "10-extrapolation", args: ["--threads", "0"], code: 2, err: /--threads must be at least 1, got 0/ },
  { chapter: "06-sine-rnn", args: ["--threads", "2"], code: 2, err: /unknown option '--threads'/ },
  { chapter: "03-cnn-digits", args: ["--epochs", "1e9"], code: 2, err: /--epochs must be at most 100000, got 1000000000/ },
  { chapter: "03-cnn-digits", args: ["--dataset", "cifar"], code: 2, err: /--dataset must be one of digits, mnist; got 'cifar'/ },
  // divergence during a run: exit 1, the message names η, λ and the knob
  { chapter: "03-cnn-digits", args: ["--eta", "10", "--epochs", "1", "--json"], code: 1, err: /training diverged: .*η = 10, λ = 0\.0001, ‖w‖ = .*try a smaller η/ },
  { chapter: "03-cnn-digits", args: ["--lambda", "1000", "--epochs", "1", "--json"], code: 1, err: /training diverged: .*η = 0\.01, λ = 1000, .*λ is too large for this η, try a smaller λ/ },
  // chapter 05's sizes
  { chapter: "05-bptt", args: ["--units", "100000"], code: 2, err: /--units must be at most 512, got 100000: it would need about [\d.]+ TB of memory/ },
  { chapter: "05-bptt", args: ["--units", "2000"], code: 2, err: /--units must be at most 512, got 2000: it would need about [\d.]+ GB of memory/ },
  { chapter: "05-bptt", args: ["--units", "1"], code: 2, err: /--units must be at least 2, got 1/ },
  { chapter: "05-bptt", args: ["--clip", "0"], code: 2, err: /--clip must be at least 1e-12, got 0/ },
  { chapter: "05-bptt", args: ["--clip", "abc"], code: 2, err: /--clip needs a number, got 'abc'/ },
  { chapter: "05-bptt", args: ["--quick=yes"], code: 2, err: /--quick takes no value, got 'yes'/ },
  { chapter: "05-bptt", args: ["--rho", "2"], code: 2, err: /unknown option '--rho'; expected one of --seed, --quick, --json, --units, --clip(, --[a-z]+)*, --help/ },
  // chapters 01 and 02
  { chapter: "01-images-as-tensors", args: ["--dataset", ""], code: 2, err: /--dataset must be one of digits, mnist; got ''/ },
  { chapter: "01-images-as-tensors", args: ["stray"], code: 2, err: /unexpected argument 'stray'; options start with --/ },
  { chapter: "01-images-as-tensors", args: ["--seed", "99999999999"], code: 2, err: /--seed must be at most 4294967295.*got 99999999999/ },
  { chapter: "02-convolution", args: ["--bogus"], code: 2, err: /unknown option '--bogus'; expected one of --seed, --quick, --json, --dataset(, --[a-z]+)*, --help/ },
  { chapter: "02-convolution", args: ["--json=1"], code: 2, err: /--json takes no value, got '1'/ },
  { chapter: "02-convolution", args: ["--dataset"], code: 2, err: /--dataset needs a value \(digits, mnist\)/ },
  { chapter: "02-convolution", args: ["--dataset", "MNIST"], code: 2, err: /--dataset must be one of digits, mnist; got 'MNIST'/ },
  // chapter 06: sizes, paths and a weights file that is not one
  { chapter: "06-sine-rnn", args: ["--epochs", "1000000"], code: 2, err: /--epochs must be at most 100000, got 1000000/ },
  { chapter: "06-sine-rnn", args: ["--save", "/proc/x.json"], code: 2, err: /--save: cannot write '\/proc\/x\.json': cannot create entries in '\/proc'/ },
  { chapter: "06-sine-rnn", args: ["--load", join(scratch, "missing.json")], code: 2, err: /--load: no such file '.*missing\.json'/ },
  { chapter: "06-sine-rnn", args: ["--load", notJson, "--json"], code: 1, err: /'.*broken\.weights\.json' is not JSON .*expected a weights file written by saveWeights/ },
  // chapter 07
  { chapter: "07-hidden-state-models", args: ["--part", "kalman"], code: 2, err: /--part must be one of .*lds.*; got 'kalman'/ },
  { chapter: "07-hidden-state-models", args: ["--out", existingFile], code: 2, err: /--out: '.*results\.csv' exists and is not a directory; expected a directory to write into/ },
  // chapter 08: the gain is positive (an exclusive bound) and bounded; sizes bounded
  { chapter: "08-rnn-dynamics", args: ["--gain", "0"], code: 2, err: /--gain must be greater than 0, got 0/ },
  { chapter: "08-rnn-dynamics", args: ["--gain", "1000"], code: 2, err: /--gain must be at most 100, got 1000/ },
  { chapter: "08-rnn-dynamics", args: ["--bits", "64"], code: 2, err: /--bits must be at most 32, got 64/ },
  { chapter: "08-rnn-dynamics", args: ["--units", "0"], code: 2, err: /--units must be at least 1, got 0/ },
  // a tiny gain: the separation falls to 0 and the gradient underflows; it must finish with one JSON object
  { chapter: "08-rnn-dynamics", args: ["--quick", "--part", "chaos", "--gain", "1e-300", "--json"], code: 0, json: true },
  // chapter 09
  { chapter: "09-four-ways", args: ["--T", "100000"], code: 2, err: /--T must be at most 1000, got 100000: it would need about [\d.]+ TB of memory/ },
  { chapter: "09-four-ways", args: ["--T", "5"], code: 2, err: /--T must be at least 12, got 5/ },
  { chapter: "09-four-ways", args: ["--rho", "0"], code: 2, err: /--rho must be greater than 0, got 0/ },
  { chapter: "09-four-ways", args: ["--cg-iters", "5000"], code: 2, err: /--cg-iters must be at most 1000, got 5000/ },
  { chapter: "09-four-ways", args: ["--task", "order", "--T", "15", "--json"], code: 1, err: /--T 15 is too short for the order problem: it needs T ≥ 20/ },
  // chapter 10
  { chapter: "10-extrapolation", args: ["--coupling", "3"], code: 2, err: /--coupling must be at most 2, got 3/ },
  { chapter: "10-extrapolation", args: ["--seeds", "100000"], code: 2, err: /--seeds must be at most 100, got 100000: it would need about 1\.8 TB of memory/ },
  { chapter: "10-extrapolation", args: ["--coupling", "0.7", "--json"], code: 1, err: /--coupling needs --data solve/ },
  { chapter: "10-extrapolation", args: ["--load", emptyNet, "--model", "rnn", "--json"], code: 1, err: /rnn\.weights\.json' holds another network: it has 0 layers, the model's layer 1 \(simple_rnn/ },
  { chapter: "10-extrapolation", args: ["--data", "solve", "--coupling", "0.9", "--model", "rnn", "--quick", "--json"], code: 1, err: /pairingCcd: the iteration diverged for X = \d+, g = 0\.9 .*try a smaller \|g\|/ },
];

function spawnChapter(c: ChapterCase): Promise<{ code: number | null; out: string; err: string; timedOut: boolean }> {
  return new Promise((resolveRun) => {
    const p = spawn(TSX, [chapterPath(c.chapter), ...c.args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", timedOut = false;
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => { timedOut = true; p.kill("SIGKILL"); }, CHAPTER_TIMEOUT_MS);
    p.on("close", (code) => { clearTimeout(timer); resolveRun({ code, out, err, timedOut }); });
  });
}

async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  }));
  return out;
}

test(`the suite has at least 60 cases (${LIB_CASES.length} lib, ${CHAPTER_CASES.length} chapter)`, () => {
  assert.ok(LIB_CASES.length + CHAPTER_CASES.length >= 60);
});

test("lib: every bad argument throws a message naming the value and what was expected, and nothing hangs", async () => {
  const results = await runLibCases();
  const failures: string[] = [];
  LIB_CASES.forEach((c, i) => {
    const r = results[i];
    if (!r) failures.push(`${c.name}: no result`);
    else if (r.message === "HANG") failures.push(`${c.name}: no answer within ${LIB_TIMEOUT_MS} ms (hang)`);
    else if (r.message === null) failures.push(`${c.name}: did not throw`);
    else if (!c.expect.test(r.message)) failures.push(`${c.name}: message '${r.message}' does not match ${c.expect}`);
  });
  assert.equal(failures, [], failures.join("\n"));
});

test("chapters: every bad flag exits 2 (usage) or 1 (run error) with one clear message, within the timeout", async () => {
  const results = await pool(CHAPTER_CASES, POOL, spawnChapter);
  const failures: string[] = [];
  CHAPTER_CASES.forEach((c, i) => {
    const r = results[i];
    const what = `${c.chapter} ${c.args.map((a) => (a === "" ? "''" : a)).join(" ")}`;
    if (r.timedOut) return failures.push(`${what}: still running after ${CHAPTER_TIMEOUT_MS} ms (hang)`);
    if (r.code !== c.code) return failures.push(`${what}: exit ${r.code}, expected ${c.code}; stderr: ${r.err.slice(0, 300)}`);
    if (c.err && !c.err.test(r.err)) failures.push(`${what}: stderr '${r.err.split("\n")[0]}' does not match ${c.err}`);
    if (/\n\s+at .*\.ts:\d+/.test(r.err)) failures.push(`${what}: a stack trace on stderr`);
    if (c.code === 2 && !/Usage: npx tsx chapters\//.test(r.err)) failures.push(`${what}: no usage after the message`);
    if (c.code === 1 && r.err.trim().split("\n").filter((l) => !/^\S+ \d+\/\d+|^epoch /.test(l)).length !== 1) failures.push(`${what}: expected one error line, got: ${r.err}`);
    if (c.code !== 0 && r.out !== "" && c.args.includes("--json")) failures.push(`${what}: stdout not empty under --json: ${r.out.slice(0, 100)}`);
    if (c.json) {
      try {
        const o = JSON.parse(r.out);
        if (typeof o !== "object" || o === null || Array.isArray(o) || r.out.trim().split("\n").length !== 1) failures.push(`${what}: stdout is not one JSON object`);
      } catch {
        failures.push(`${what}: stdout is not JSON: ${r.out.slice(0, 100)}`);
      }
    }
  });
  assert.equal(failures, [], failures.join("\n"));
});

test.run();
