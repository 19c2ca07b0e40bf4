/** The chapters' verdict sentences change when the data do: each reading is fed made-up results. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readGrid, readCorrelations, correlationTableDistances, compareDefaultRun, readTanhRates, readForwardExplosion, DEFAULT_RUN_RANGE } from "../chapters/_shared/verdicts.ts";
import { describeDivergence, divergenceCause } from "../lib/divergence.ts";

const L = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
const grid = (f: (i: number, j: number) => number) => L.map((_, i) => L.map((_, j) => f(i, j)));
const base = { etas: L, lambdas: L, epochs: 100, classes: 10 };

test("04: a grid where nothing diverged says so, and disagrees with 'η ≥ 1 diverges'", () => {
  const text = readGrid({ ...base, testAccuracy: grid(() => 0.9), diverged: grid(() => 0).map((r) => r.map(Boolean)) }).join("\n");
  assert.match(text, /diverged: none of the 49 runs/);
  assert.match(text, /at chance level .*: none of the 49 runs/);
  assert.match(text, /"η ≥ 1 diverges": does not agree: 0 of 14 runs with η ≥ 1 diverged/);
  assert.match(text, /"a large λ .*": does not agree: 0 of 14 runs with λ ≥ 1 are at chance/);
  assert.match(text, /"a small η .* learns too slowly in 100 epochs": does not agree/);
});

test("04: the lecture-like grid: names the diverged rows, the best cell and the cells at chance, and agrees", () => {
  const diverged = grid((i) => (L[i] >= 1 ? 1 : 0)).map((r) => r.map(Boolean));
  const acc = grid((i, j) => (L[i] >= 1 || L[j] >= 1 || L[i] <= 1e-4 ? 0.1 : i === 4 && j === 1 ? 0.98 : 0.9));
  const text = readGrid({ ...base, testAccuracy: acc, diverged }).join("\n");
  assert.match(text, /best test accuracy 0\.980 at η = 0\.1, λ = 1e-4/);
  assert.match(text, /diverged: 14 of 49 runs: η = 1 \(every λ\); η = 10 \(every λ\)/);
  assert.match(text, /at chance level .*: η = 1e-5 \(every λ\); η = 1e-4 \(every λ\); η = 1e-3 \(λ = 1, 10\)/);
  assert.match(text, /"η ≥ 1 diverges": agrees: all 14 runs/);
  assert.match(text, /"a large λ .*": agrees: all 14 runs with λ ≥ 1 are at chance/);
  assert.match(text, /"a small η .*": agrees: mean test accuracy 0\.100 for η ≤ 1e-4/);
  assert.match(text, /η = 10 +mean test accuracy over λ: 0\.100  \(every run diverged\)/);
});

test("04: a partly diverged η = 1 row and a learning large-λ cell are named", () => {
  const diverged = grid((i, j) => (L[i] === 10 || (L[i] === 1 && j < 2) ? 1 : 0)).map((r) => r.map(Boolean));
  const acc = grid((i, j) => (i === 3 && j === 5 ? 0.647 : L[j] >= 1 ? 0.1 : 0.8));
  const text = readGrid({ ...base, testAccuracy: acc, diverged }).join("\n");
  assert.match(text, /diverged: 9 of 49 runs: η = 1 \(λ = 1e-5, 1e-4\); η = 10 \(every λ\)/);
  assert.match(text, /"η ≥ 1 diverges": does not agree: 9 of 14 .*these did not: η = 1 \(λ = 1e-3, 0\.01, 0\.1, 1, 10\)/);
  assert.match(text, /does not agree: 13 of 14 runs with λ ≥ 1 are at chance; above it: η = 0\.01, λ = 1 scored 0\.647/);
});

test("01: the correlation reading follows the numbers, and the table shows the distance it cites", () => {
  const strong = readCorrelations([0.7, 0.36, 0.15, 0.05]);
  assert.match(strong.lines.join("\n"), /d = 1\) correlate at 0\.7; the correlation first falls below half of that at d = 3 \(0\.15\)/);
  assert.match(strong.lines.join("\n"), /this run agrees \(r = 0\.7\)/);
  assert.is(strong.halfDistance, 3);
  const weak = readCorrelations([0.3, 0.25, 0.2]);
  assert.match(weak.lines.join("\n"), /stays above half of that out to d = 3/);
  assert.match(weak.lines.join("\n"), /this run does not agree \(r = 0\.3\)/);
  assert.ok(correlationTableDistances(28, [5]).includes(5));
  assert.equal(correlationTableDistances(8, []), [1, 2, 3, 4, 5, 6, 7]);
});

test("03: the default run is compared with the quoted range only in its own setting", () => {
  const [lo, hi] = DEFAULT_RUN_RANGE;
  assert.match(compareDefaultRun((lo + hi) / 2, 100, "digits", "valid"), /which agrees with that range/);
  assert.match(compareDefaultRun(0.5, 100, "digits", "valid"), /which does not agree with that range/);
  assert.match(compareDefaultRun(0.9, 10, "digits", "valid"), /is not the setting of those figures.*0\.900/);
});

test("05: the tanh and forward-explosion sentences follow the rates", () => {
  const below = readTanhRates([{ rho: 0.5, fittedRate: 0.45, dLdhT: 1 }, { rho: 2, fittedRate: 1.1, dLdhT: 1 }]).join("\n");
  assert.match(below, /Every rate lies below its ρ/);
  const above = readTanhRates([{ rho: 0.5, fittedRate: 0.45, dLdhT: 1 }, { rho: 2, fittedRate: 2.1, dLdhT: 1 }]).join("\n");
  assert.match(above, /Not every rate lies below its ρ: ρ = 2 gives ×2\.100/);
  assert.match(readForwardExplosion([{ rho: 0.5, fittedRate: 0.5, dLdhT: 2 }, { rho: 2, fittedRate: 2, dLdhT: 1e10 }]), /explodes too.*at least 1\.00e\+10/);
  assert.match(readForwardExplosion([{ rho: 0.5, fittedRate: 0.5, dLdhT: 2 }, { rho: 2, fittedRate: 2, dLdhT: 1 }]), /is not above every ρ ≤ 1 run/);
});

test("divergence: the message names η, λ and ‖w‖ and points at the knob that is out of range", () => {
  const eta = { learningRate: 10, lambdas: [1e-4], weightNorm: 200, dataLoss: 5, penalty: 0.01 };
  assert.is(divergenceCause(eta), "eta");
  assert.match(describeDivergence(eta), /η = 10, λ = 0\.0001, ‖w‖ = 200, .*try a smaller η/);
  const decay = { learningRate: 0.01, lambdas: [1000], weightNorm: 170, dataLoss: 4.8, penalty: 8e4 };
  assert.is(divergenceCause(decay), "lambda");
  assert.match(describeDivergence(decay), /ηλ = 10 ≥ 1, .*try a smaller λ/);
  const dominates = { learningRate: 0.1, lambdas: [1], weightNorm: 20, dataLoss: 2, penalty: 400 };
  assert.match(describeDivergence(dominates), /the penalty λΣw² is more than 10 times the data loss; λ is too large/);
  assert.match(describeDivergence({ learningRate: 1, lambdas: [], weightNorm: Infinity, dataLoss: NaN, penalty: 0 }), /no l2 penalty.*try a smaller η/);
  // a penalty about as large as the data loss does not dominate it: η is blamed
  assert.is(divergenceCause({ learningRate: 1, lambdas: [0.1], weightNorm: 30, dataLoss: 7.3, penalty: 8.3 }), "eta");
});

test.run();
