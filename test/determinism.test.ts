/**
 * The same seed gives the same results: every chapter's --json output, run
 * twice, is byte-identical once the keys the README names as timings are
 * removed (wherever they occur in the object).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { TSX, chapterPath } from "./_helpers.ts";

const root = new URL("../", import.meta.url);
const TIMEOUT_MS = 120000;

/** The README's list: a line "Timing keys …: `a`, `b`". */
function timingKeys(): string[] {
  const readme = readFileSync(new URL("README.md", root), "utf8");
  const line = readme.split("\n").find((l) => /^\*{0,2}Timing keys/.test(l));
  if (!line) throw new Error("README.md has no 'Timing keys' line");
  return [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

function strip(v: unknown, keys: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => strip(x, keys));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => !keys.has(k)).map(([k, x]) => [k, strip(x, keys)]));
  return v;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const p = spawn(TSX, [chapterPath(file.replace(/\.ts$/, "")), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), TIMEOUT_MS);
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} ${args.join(" ")}: exit ${code}: ${err}`));
      else resolveRun(out);
    });
  });
}

const chapters = readdirSync(new URL("chapters/", root)).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();

/** Extra flags that keep a chapter's --quick run short; every chapter is covered. */
const EXTRA: Record<string, string[]> = {
  // one epoch per model keeps the 49-model grid short
  "04": ["--epochs", "1", "--workers", "2"],
  // the ways run on two worker threads: the results must not depend on which thread finishes first
  "09": ["--workers", "2"],
};

test("every chapter file is covered", () => {
  assert.ok(chapters.length >= 10, chapters.join(", "));
});

test("the README names the timing keys", () => {
  assert.ok(timingKeys().length > 0);
});

for (const file of chapters) {
  const args = ["--quick", "--json", "--seed", "7", ...(EXTRA[file.slice(0, 2)] ?? [])];
  test(`${file} ${args.join(" ")}: byte-identical JSON on two runs, timing keys aside`, async () => {
    const keys = new Set(timingKeys());
    const [a, b] = await Promise.all([run(file, args), run(file, args)]);
    const sa = JSON.stringify(strip(JSON.parse(a), keys)), sb = JSON.stringify(strip(JSON.parse(b), keys));
    assert.ok(sa.length > 20, "a real result");
    assert.is(sa, sb);
    // and a different seed changes something (the comparison is not vacuous) wherever the chapter draws at random
    if (!file.startsWith("02")) {
      const c = await run(file, args.map((x) => (x === "7" ? "8" : x)));
      assert.is.not(JSON.stringify(strip(JSON.parse(c), keys)), sa, "seed 8 differs from seed 7");
    }
  });
}

// the chapters that split their large products over two threads give the same bits on one
for (const file of chapters.filter((f) => /^(03|10)-/.test(f))) {
  test(`${file} --quick --json: --threads 1 and --threads 2 give the same results`, async () => {
    const keys = new Set(timingKeys());
    const base = ["--quick", "--json", "--seed", "7"];
    const [a, b, human] = await Promise.all([run(file, [...base, "--threads", "1"]), run(file, [...base, "--threads", "2"]), run(file, ["--quick", "--seed", "7", "--threads", "2"])]);
    assert.is(JSON.stringify(strip(JSON.parse(b), keys)), JSON.stringify(strip(JSON.parse(a), keys)));
    // the flag reached lib/threads.ts (the header reports getThreads())
    assert.match(human, /threads: 2 \(--threads\)/);
  });
}

test.run();
