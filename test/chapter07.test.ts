/** Chapter 07 as a user runs it: its --part choices, its JSON and its failure paths. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runScript, chapterPath } from "./_helpers.ts";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const chapter = chapterPath("07-hidden-state-models");
const run = (...args: string[]) => runScript(chapter, args);

test("an unknown --part prints the choices and exits 2", () => {
  const r = run("--part", "kalman");
  assert.is(r.code, 2);
  assert.match(r.err, /--part must be one of ar, lds, hmm, belief, all; got 'kalman'/);
  assert.is(r.out, "");
});

test("--out naming a file, not a folder, is refused before the run", () => {
  const dir = mkdtempSync(join(tmpdir(), "ch07-"));
  const file = join(dir, "x.csv");
  writeFileSync(file, "");
  const r = run("--part", "hmm", "--quick", "--out", file);
  assert.is(r.code, 2);
  assert.match(r.err, /exists and is not a directory/);
});

test("--part hmm --quick --json prints one JSON object with the hmm figures, and --out writes its CSVs", () => {
  const dir = mkdtempSync(join(tmpdir(), "ch07-"));
  const r = run("--part", "hmm", "--quick", "--json", "--seed", "3", "--out", dir);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(Object.keys(j).sort(), ["hmm", "seed"]);
  assert.is(j.seed, 3);
  for (const k of ["logLikTrue", "logLikLearned", "viterbiAccuracy", "transitionMaxAbsError", "emissionMaxAbsError", "baumWelchMonotone"]) assert.ok(k in j.hmm, k);
  assert.is(j.hmm.baumWelchMonotone, true);
  assert.ok(j.hmm.viterbiAccuracy > 0.5 && j.hmm.viterbiAccuracy <= 1);
  assert.equal(readdirSync(dir).sort(), ["hmm_baum_welch.csv", "hmm_sequence1.csv"]);
});

test.run();
