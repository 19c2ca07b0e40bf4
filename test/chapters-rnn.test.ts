/** Chapters 06 and 10: bad input gets one clear message and exit status 2 (usage) or 1 (run error). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runScript, chapterPath } from "./_helpers.ts";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lectureSineRnn } from "../chapters/_shared/sine-data.ts";
import { buildNetwork } from "../chapters/_shared/extrapolation.ts";
import { checkPath } from "../chapters/_shared/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "scratchnets-ch-"));

const run = (name: string, ...args: string[]) => runScript(chapterPath(name), args);

function expectFailure(name: string, args: string[], code: number, pattern: RegExp): void {
  const r = run(name, ...args, "--json");
  assert.is(r.code, code, `${name} ${args.join(" ")}: exit ${r.code}, stderr ${r.err}`);
  assert.match(r.err, pattern);
  assert.is(r.out, "", "nothing on stdout");
  assert.not.match(r.err, /\n\s+at /, "no stack trace");
}

test("10: unknown --model, --seeds 0, --coupling not a number, --coupling without --data solve", () => {
  expectFailure("10-extrapolation", ["--model", "transformer"], 2, /--model must be one of rnn, rnn_2layers, lstm_2layers, dnn2_gru2, standard, all; got 'transformer'/);
  expectFailure("10-extrapolation", ["--seeds", "0"], 2, /--seeds must be at least 1, got 0/);
  expectFailure("10-extrapolation", ["--data", "solve", "--coupling", "strong"], 2, /--coupling needs a number, got 'strong'/);
  expectFailure("10-extrapolation", ["--coupling", "0.4"], 1, /--coupling needs --data solve/);
});

test("10: --load of a missing directory, and of another network's weights", () => {
  expectFailure("10-extrapolation", ["--model", "rnn", "--load", join(dir, "none")], 1, /--load: no such directory/);
  const weights = join(dir, "w10");
  mkdirSync(weights);
  buildNetwork("rnn", 0).saveWeights(join(weights, "rnn_2layers.weights.json"));
  expectFailure("10-extrapolation", ["--model", "rnn_2layers", "--load", weights], 1, /holds another network: layer 1 \(simple_rnn\) is SimpleRNN with kernel \(1, 200\).* in the file, but SimpleRNN with kernel \(1, 500\)/);
});

test("06: --load of a missing file, a file that is not JSON, and the --as-sequence network's weights", () => {
  expectFailure("06-sine-rnn", ["--load", join(dir, "missing.json")], 2, /--load: no such file/);
  const text = join(dir, "text.json");
  writeFileSync(text, "not json at all");
  expectFailure("06-sine-rnn", ["--load", text], 1, /text\.json' is not JSON/);
  const seq = join(dir, "seq.json");
  lectureSineRnn({ seed: 0, asSequence: true }).saveWeights(seq);
  expectFailure("06-sine-rnn", ["--load", seq], 1, /holds another network: layer 1 \(simple_rnn\) is SimpleRNN with kernel \(1, 32\).* in the file, but SimpleRNN with kernel \(4, 32\)/);
});

test("06: --save then --load gives the same MSEs without training", () => {
  const path = join(dir, "06.json");
  const a = run("06-sine-rnn", "--quick", "--json", "--save", path);
  assert.is(a.code, 0, a.err);
  const b = run("06-sine-rnn", "--json", "--load", path);
  assert.is(b.code, 0, b.err);
  const ja = JSON.parse(a.out), jb = JSON.parse(b.out);
  assert.is(jb.trainMSE, ja.trainMSE);
  assert.is(jb.testMSE, ja.testMSE);
  assert.is(jb.epochs, 0);
});

test("10 --quick --json --data solve: the keys, 20 predictions, and the solved data within 1e-7 of the table", async () => {
  const { CCD_ENERGIES } = await import("../chapters/_shared/extrapolation-data.ts");
  const csv = join(dir, "pred.csv");
  const r = run("10-extrapolation", "--quick", "--json", "--model", "standard", "--data", "solve", "--seeds", "2", "--out", csv);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(Object.keys(j).slice(0, 2), ["models", "data"]);
  assert.equal(j.seeds, [0, 1]);
  const m = j.models[0];
  for (const k of ["name", "totalParams", "mse", "mseMin", "mseMax", "predictions", "finalLoss", "finalValLoss", "seconds"]) assert.ok(k in m, k);
  assert.is(m.totalParams, 40601);
  assert.is(m.predictions.length, 20);
  assert.ok(m.mseMin <= m.mse && m.mse <= m.mseMax);
  j.data.forEach((v: number, i: number) => assert.ok(Math.abs(v - CCD_ENERGIES[i]) < 1e-7, `point ${i}`));
  // the known first 12 points are the true ones
  assert.equal(m.predictions.slice(0, 12), j.data.slice(0, 12));
});

test("an --out or --save file that exists already may be overwritten (checkPath)", () => {
  const f = join(dir, "exists.csv");
  writeFileSync(f, "x\n");
  checkPath("out", f, "outFile");
  assert.throws(() => checkPath("out", join(f, "inside.csv"), "outFile"), /'.*exists\.csv' is not a directory/);
});

test.run();
