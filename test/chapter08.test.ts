/** Chapter 08 run as a user runs it: the --json shape, --out, and clear errors for bad options. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runScript, chapterPath } from "./_helpers.ts";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const chapter = chapterPath("08-rnn-dynamics");

const run = (...args: string[]) => runScript(chapter, args);

test("bad options: unknown --part, --gain not positive, --bits < 2, --units < 1 exit 2 with one clear message", () => {
  for (const [args, pattern] of [
    [["--part", "dance"], /--part must be one of oscillate, attract, chaos, program, initial, layout, all; got 'dance'/],
    [["--gain", "0"], /--gain must be greater than 0, got 0/],
    [["--gain", "-1"], /--gain must be greater than 0, got -1/],
    [["--gain", "101"], /--gain must be at most 100, got 101/],
    [["--bits", "1"], /--bits must be at least 2, got 1/],
    [["--units", "0"], /--units must be at least 1, got 0/],
  ] as const) {
    const r = run(...args, "--json");
    assert.is(r.code, 2, args.join(" "));
    assert.match(r.err, pattern);
    assert.is(r.out, "");
  }
});

test("--quick --json: one JSON object with the issue's keys; --out writes CSVs", () => {
  const dir = mkdtempSync(join(tmpdir(), "ch08-"));
  try {
    const r = run("--quick", "--json", "--out", dir);
    assert.is(r.code, 0, r.err);
    const d = JSON.parse(r.out);
    assert.equal(Object.keys(d).sort(), ["attract", "chaos", "initial", "layout", "oscillate", "program", "seed"].sort());
    assert.equal(Object.keys(d.oscillate).sort(), ["periodExpected", "periodMeasured", "trainedExtrapolationMSE"]);
    assert.equal(Object.keys(d.attract).sort(), ["fixedPointSpectralRadius", "learnedFixedPointDrift", "recallFraction"]);
    assert.equal(Object.keys(d.chaos).sort(), ["gains", "lyapunov", "networks"]);
    assert.equal(Object.keys(d.program).sort(), ["accuracyByBits", "seedsSucceeded", "states", "trainBits", "transitionTable"]);
    assert.equal(Object.keys(d.program.accuracyByBits).sort(), ["16", "32", "8"]);
    assert.equal(Object.keys(d.program.seedsSucceeded).sort(), ["3", "8"]);
    assert.equal(Object.keys(d.initial).sort(), ["half", "learned", "zero"]);
    assert.is(d.seed, 1);
    assert.is(d.chaos.gains.length, d.chaos.lyapunov.length);
    assert.ok(d.chaos.networks >= 3);
    const g = (x: number) => d.chaos.lyapunov[d.chaos.gains.indexOf(x)];
    assert.ok(g(0.9) < -0.03 && g(1.5) > 0.02, `λ(0.9) = ${g(0.9)}, λ(1.5) = ${g(1.5)}`);
    const files = readdirSync(dir);
    for (const f of ["oscillate_rotation.csv", "attract_hopfield_overlaps.csv", "chaos_lyapunov.csv", "chaos_separation.csv", "program_automaton.csv", "initial.csv", "layout.csv"]) assert.ok(files.includes(f), `${f} missing`);
    assert.match(readFileSync(join(dir, "chaos_lyapunov.csv"), "utf8"), /^gain,lambda_mean,/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--part selects one part; --out to a file is refused before the run", () => {
  const r = run("--quick", "--json", "--part", "chaos");
  assert.is(r.code, 0, r.err);
  assert.equal(Object.keys(JSON.parse(r.out)).sort(), ["chaos", "seed"]);
  const bad = run("--out", chapter);
  assert.is(bad.code, 2);
  assert.match(bad.err, /--out: .* exists and is not a directory/);
});

test.run();
