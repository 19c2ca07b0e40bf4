import { test } from "uvu";
import * as assert from "uvu/assert";
import { runScript } from "./_helpers.ts";
import { fileURLToPath } from "node:url";
import { parseArgs } from "../chapters/_shared/cli.ts";

const fixture = fileURLToPath(new URL("./fixtures/chapter.ts", import.meta.url));

const run = (...args: string[]) => runScript(fixture, args);

test("--json prints exactly one JSON object on stdout, and the seed is honoured", () => {
  const a = run("--json", "--seed", "5", "--size=4");
  assert.is(a.code, 0, a.err);
  const obj = JSON.parse(a.out);
  assert.equal({ seed: obj.seed, size: obj.size, quick: obj.quick }, { seed: 5, size: 4, quick: false });
  assert.is(a.out.trim().split("\n").length, 1);
  const b = run("--json", "--seed", "5");
  assert.is(JSON.parse(b.out).draw, obj.draw, "same seed, same result");
  assert.is.not(JSON.parse(run("--json", "--seed", "6").out).draw, obj.draw);
});

test("human output names the section and prints the seed", () => {
  const r = run("--quick");
  assert.is(r.code, 0);
  assert.match(r.out, /Reproduces: none/);
  assert.match(r.out, /seed: 7/);
});

test("--help prints usage with every option and exits 0", () => {
  const r = run("--help");
  assert.is(r.code, 0);
  for (const flag of ["--seed", "--quick", "--json", "--size", "--mode ok|fail|shape"]) assert.ok(r.out.includes(flag), flag);
  assert.match(r.out, /a whole number in \[0, 2\^32\)/, "the seed range is stated");
});

test("unknown flags and bad values print the usage and exit non-zero", () => {
  for (const args of [["--nope"], ["--seed", "x"], ["--mode", "maybe"], ["--size", "0"], ["--size"], ["stray"]]) {
    const r = run(...args);
    assert.is(r.code, 2, args.join(" "));
    assert.match(r.err, /Usage:/);
    assert.not.match(r.err, /at .*\.ts:\d+/, "no stack trace");
  }
  assert.match(run("--mode", "maybe").err, /--mode must be one of ok, fail, shape, progress; got 'maybe'/);
});

test("an error inside the chapter is one clear line and exit 1, with no stack trace", () => {
  for (const [mode, pattern] of [["fail", /NaN at epoch 2/], ["shape", /matmul: A is \(2, 3\) and B is \(4, 5\)/]] as const) {
    const r = run("--mode", mode);
    assert.is(r.code, 1);
    assert.match(r.err, pattern);
    assert.is(r.err.trim().split("\n").length, 1, r.err);
  }
});

test("--json --help prints the usage as one JSON object on stdout", () => {
  for (const args of [["--json", "--help"], ["--help", "--json"]]) {
    const r = run(...args);
    assert.is(r.code, 0);
    const o = JSON.parse(r.out);
    assert.equal(Object.keys(o), ["usage"]);
    assert.match(o.usage, /Usage: npx tsx chapters\/fixture\.ts/);
  }
});

test("progress off a terminal: whole lines on stderr, no carriage returns, rate-limited; nothing under --json", () => {
  const r = run("--mode", "progress");
  assert.is(r.code, 0);
  assert.not.match(r.err, /\r/);
  assert.equal(r.err.trim().split("\n"), ["step 1/5", "step 5/5"]);
  const j = run("--mode", "progress", "--json");
  assert.is(j.err, "");
  assert.ok(JSON.parse(j.out));
});

test("seeds beyond 32 bits are refused rather than folded onto small ones", () => {
  const r = run("--seed", "4294967296");
  assert.is(r.code, 2);
  assert.match(r.err, /--seed must be at most 4294967295 \(seeds are whole numbers in \[0, 2\^32\)/);
  assert.is(run("--seed", "4294967295", "--json").code, 0);
});

test("greaterThan is an exclusive lower bound: the bound itself is refused, anything above it taken", () => {
  const ch = { id: "gt", title: "", section: "", defaultSeed: 0, options: { gain: { type: "number" as const, default: 2, greaterThan: 0, max: 100, help: "a positive gain" } }, run: () => ({}) };
  assert.throws(() => parseArgs(ch, ["--gain", "0"]), /--gain must be greater than 0, got 0/);
  assert.throws(() => parseArgs(ch, ["--gain", "-0.5"]), /--gain must be greater than 0, got -0\.5/);
  assert.throws(() => parseArgs(ch, ["--gain", "101"]), /--gain must be at most 100, got 101/);
  const ok = parseArgs(ch, ["--gain", "1e-300"]);
  assert.ok(ok !== "help" && ok.gain === 1e-300);
});

test.run();
