/** The chapters' failure paths, run as a user runs them: one clear line on stderr and a non-zero exit. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runScript, chapterPath } from "./_helpers.ts";


const run = (name: string, ...args: string[]) => runScript(chapterPath(name), args);

test("03: a run that diverges (η = 10) exits 1 with one line naming the divergence, and no JSON", () => {
  const r = run("03-cnn-digits", "--eta", "10", "--epochs", "1", "--json");
  assert.is(r.code, 1);
  assert.match(r.err, /training diverged: .*epoch 1, step \d+ \(η = 10, λ = 0\.0001, ‖w‖ = .*try a smaller η\)/);
  assert.is(r.err.trim().split("\n").length, 1, r.err);
  assert.is(r.out, "");
});

test("an unknown dataset or flag prints the usage and exits 2", () => {
  for (const [name, args, pattern] of [
    ["03-cnn-digits", ["--dataset", "cifar"], /--dataset must be one of digits, mnist; got 'cifar'/],
    ["05-bptt", ["--rho", "2"], /unknown option '--rho'/],
  ] as const) {
    const r = run(name, ...args);
    assert.is(r.code, 2, name);
    assert.match(r.err, pattern);
    assert.match(r.err, /Usage: npx tsx chapters\//);
  }
});

test("05 piped (no terminal, no colour): every chart names six series with six glyphs, and draws each of them", () => {
  const r = runScript(chapterPath("05-bptt"), ["--quick"], { ...process.env, NO_COLOR: "1" });
  assert.is(r.code, 0, r.err);
  assert.not.match(r.out, /\x1b\[/, "no escape codes");
  const lines = r.out.split("\n");
  const legends = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\* ρ = 0\.5 {3}o ρ = 0\.9 {3}\+ ρ = 1 {3}x ρ = 1\.1 {3}# ρ = 1\.5 {3}@ ρ = 2/.test(l));
  assert.is(legends.length, 6, "six charts (three per activation), each with the full legend");
  for (const [, at] of legends) {
    // the chart's rows sit above its legend, down to the title
    const body: string[] = [];
    for (let i = at - 1; i >= 0 && !lines[i].startsWith("log10"); i--) if (lines[i].includes("┤")) body.push(lines[i].split("┤")[1]);
    for (const g of ["*", "o", "+", "x", "#", "@"]) assert.ok(body.join("").includes(g), `glyph ${g} drawn in the chart above line ${at}`);
  }
});

test.run();
