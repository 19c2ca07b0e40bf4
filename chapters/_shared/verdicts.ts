/**
 * The sentences in which the chapters read their own results: every figure
 * and every verdict ("diverged", "agrees") is computed here from the data
 * passed in, so that the tests can feed these functions made-up results
 * (a grid in which nothing diverged, say) and see the text change.
 */
import { fmt } from "./plot.ts";

// ------------------------------------------------------------------ chapter 04: the η × λ grid

export interface GridData {
  etas: number[];
  lambdas: number[];
  /** [i][j]: η = etas[i], λ = lambdas[j] */
  testAccuracy: number[][];
  diverged: boolean[][];
  epochs: number;
  /** Number of classes (chance level is 1/classes). */
  classes: number;
}

/** A run is "at chance" when its test accuracy is below 1/K plus this margin. */
export const CHANCE_MARGIN = 0.1;

/** Short axis labels: 1e-5 … 10. */
export function gridLabel(v: number): string {
  return v >= 0.01 ? String(v) : `1e${Math.round(Math.log10(v))}`;
}

type Cell = [number, number];

/** Cells grouped by row: "η = 10 (every λ); η = 1 (λ = 1e-5, 0.1)". */
function cellsText(g: GridData, cells: Cell[]): string {
  const rows = new Map<number, number[]>();
  for (const [i, j] of cells) rows.set(i, [...(rows.get(i) ?? []), j]);
  return [...rows.entries()]
    .map(([i, js]) => `η = ${gridLabel(g.etas[i])} (${js.length === g.lambdas.length ? "every λ" : `λ = ${js.map((j) => gridLabel(g.lambdas[j])).join(", ")}`})`)
    .join("; ");
}

function allCells(g: GridData): Cell[] {
  return g.etas.flatMap((_, i) => g.lambdas.map((_, j) => [i, j] as Cell));
}

/** "Reading the grid": the best cell, the diverged cells, the cells at chance, and three usual claims checked against the grid. */
export function readGrid(g: GridData): string[] {
  const cells = allCells(g);
  const acc = ([i, j]: Cell) => g.testAccuracy[i][j];
  const chance = 1 / g.classes;
  const atChance = (c: Cell) => acc(c) < chance + CHANCE_MARGIN;
  const best = Math.max(...cells.map(acc));
  const bestCells = cells.filter((c) => acc(c) === best);
  const div = cells.filter(([i, j]) => g.diverged[i][j]);
  const low = cells.filter(atChance);
  const n = cells.length;
  const lines = [
    "Reading the grid (every figure below is computed from the grid above):",
    `  best test accuracy ${best.toFixed(3)} at ${bestCells.map(([i, j]) => `η = ${gridLabel(g.etas[i])}, λ = ${gridLabel(g.lambdas[j])}`).join(" and at ")}`,
    div.length === 0 ? `  diverged: none of the ${n} runs` : `  diverged: ${div.length} of ${n} runs: ${cellsText(g, div)}`,
    low.length === 0
      ? `  at chance level (test accuracy below ${fmt(chance + CHANCE_MARGIN, 3)}; guessing gives ${fmt(chance, 3)}): none of the ${n} runs`
      : `  at chance level (test accuracy below ${fmt(chance + CHANCE_MARGIN, 3)}; guessing gives ${fmt(chance, 3)}): ${low.length} of ${n} runs: ${cellsText(g, low)}`,
  ];
  const mean = (cs: Cell[]) => cs.reduce((s, c) => s + acc(c), 0) / cs.length;
  g.etas.forEach((eta, i) => {
    const row = cells.filter(([r]) => r === i);
    lines.push(`  η = ${gridLabel(eta).padEnd(6)} mean test accuracy over λ: ${mean(row).toFixed(3)}${row.every(([r, j]) => g.diverged[r][j]) ? "  (every run diverged)" : ""}`);
  });

  lines.push("", "The usual reading of such a grid, checked against this one:");
  // 1. η ≥ 1 diverges
  const big = cells.filter(([i]) => g.etas[i] >= 1);
  if (big.length > 0) {
    const bigDiv = big.filter(([i, j]) => g.diverged[i][j]);
    const stable = big.filter(([i, j]) => !g.diverged[i][j]);
    lines.push(
      bigDiv.length === big.length
        ? `  "η ≥ 1 diverges": agrees: all ${big.length} runs with η ≥ 1 diverged.`
        : `  "η ≥ 1 diverges": does not agree: ${bigDiv.length} of ${big.length} runs with η ≥ 1 diverged; these did not: ${cellsText(g, stable)}.`,
    );
  }
  // 2. λ ≥ 1 gives chance level whatever η
  const heavy = cells.filter(([, j]) => g.lambdas[j] >= 1);
  if (heavy.length > 0) {
    const heavyLow = heavy.filter(atChance);
    const learned = heavy.filter((c) => !atChance(c)).sort((a, b) => acc(b) - acc(a));
    lines.push(
      heavyLow.length === heavy.length
        ? `  "a large λ (≥ 1) pins the weights near zero: chance level whatever η": agrees: all ${heavy.length} runs with λ ≥ 1 are at chance.`
        : `  "a large λ (≥ 1) pins the weights near zero: chance level whatever η": does not agree: ${heavyLow.length} of ${heavy.length} runs with λ ≥ 1 are at chance; ` +
          `above it: ${learned.slice(0, 3).map(([i, j]) => `η = ${gridLabel(g.etas[i])}, λ = ${gridLabel(g.lambdas[j])} scored ${acc([i, j]).toFixed(3)}`).join("; ")}${learned.length > 3 ? `; and ${learned.length - 3} more` : ""}.`,
    );
  }
  // 3. a small η learns slowly
  const rowMeans = g.etas.map((_, i) => mean(cells.filter(([r]) => r === i)));
  const bestRow = rowMeans.indexOf(Math.max(...rowMeans));
  const small = g.etas.map((eta, i) => i).filter((i) => g.etas[i] <= 1e-4);
  if (small.length > 0) {
    const smallMean = mean(cells.filter(([i]) => small.includes(i)));
    const agrees = smallMean < rowMeans[bestRow] - CHANCE_MARGIN;
    lines.push(
      `  "a small η (≤ 1e-4) learns too slowly in ${g.epochs} epochs": ${agrees ? "agrees" : "does not agree"}: mean test accuracy ${smallMean.toFixed(3)} for η ≤ 1e-4, ` +
        `against ${rowMeans[bestRow].toFixed(3)} in the best row (η = ${gridLabel(g.etas[bestRow])})${agrees ? "" : `, less than ${CHANCE_MARGIN} apart`}.`,
    );
  }
  return lines;
}

// ------------------------------------------------------------------ chapter 01: correlations

/** Which distances d the correlation table shows: all of them on small images, a selection on large ones, always including `extra`. */
export function correlationTableDistances(W: number, extra: number[]): number[] {
  const base = W <= 8 ? Array.from({ length: W - 1 }, (_, i) => i + 1) : [1, 2, 3, 4, 6, 8, 12, 16, 20].filter((d) => d < W);
  return [...new Set([...base, ...extra.filter((d) => d >= 1 && d < W)])].sort((a, b) => a - b);
}

/** The correlation at d = 1, where it first falls below half of that, and the lecture's claim ("neighbouring pixels are strongly correlated") checked. */
export function readCorrelations(corr: number[]): { lines: string[]; halfDistance: number | null } {
  const c1 = corr[0];
  const half = corr.findIndex((c) => Number.isFinite(c) && c < c1 / 2);
  const halfDistance = half >= 0 ? half + 1 : null;
  const strong = 0.5;
  const lines = [
    `Neighbours (d = 1) correlate at ${fmt(c1, 3)}; ` +
      (halfDistance !== null
        ? `the correlation first falls below half of that at d = ${halfDistance} (${fmt(corr[half], 3)}).`
        : `it stays above half of that out to d = ${corr.length} (${fmt(corr[corr.length - 1], 3)}).`),
    `The lecture's claim that neighbouring pixels are strongly correlated (taken here as r ≥ ${strong} at d = 1): ` +
      (c1 >= strong ? `this run agrees (r = ${fmt(c1, 3)}).` : `this run does not agree (r = ${fmt(c1, 3)}).`),
  ];
  return { lines, halfDistance };
}

// ------------------------------------------------------------------ chapter 03: the default run against its quoted figures

/** The test accuracies quoted for the default η = 0.01, λ = 1e-4 over 100 epochs (seeds 2023, 1, 2, 3). */
export const DEFAULT_RUN_RANGE: [number, number] = [0.964, 0.972];

/** Whether this run's test accuracy agrees with the quoted range (within `tolerance` of it), or why it cannot be compared. */
export function compareDefaultRun(testAccuracy: number, epochs: number, dataset: string, padding: string, tolerance = 0.01): string {
  const [lo, hi] = DEFAULT_RUN_RANGE;
  if (dataset !== "digits" || padding !== "valid" || epochs !== 100) {
    return `This run (${dataset}, ${padding} padding, ${epochs} epochs) is not the setting of those figures (digits, valid, 100 epochs); its test accuracy is ${testAccuracy.toFixed(3)}.`;
  }
  const inside = testAccuracy >= lo - tolerance && testAccuracy <= hi + tolerance;
  return `This run: test accuracy ${testAccuracy.toFixed(3)}, ${inside ? "which agrees with" : "which does not agree with"} that range (tolerance ±${tolerance}).`;
}

// ------------------------------------------------------------------ chapter 05: tanh against linear

export interface RateRun {
  rho: number;
  fittedRate: number;
  /** ‖∂L/∂h(T)‖ */
  dLdhT: number;
}

/** What the tanh rates say against ρ: below it for every ρ, or not, with the exceptions named. */
export function readTanhRates(runs: RateRun[]): string[] {
  const above = runs.filter((r) => r.fittedRate >= r.rho);
  return above.length === 0
    ? [
        "          Every rate lies below its ρ: a saturated unit has σ'(z) = 1 − tanh²(z) ≪ 1, and the diag(σ') factors in",
        "          ∂h(t)/∂h(t−1) pull the gradient back down.",
      ]
    : [`          Not every rate lies below its ρ: ${above.map((r) => `ρ = ${r.rho} gives ×${r.fittedRate.toFixed(3)}`).join(", ")}.`];
}

/** Whether ‖∂L/∂h(T)‖ of the runs with ρ > 1 exceeds every one with ρ ≤ 1 (the forward pass exploding too). */
export function readForwardExplosion(runs: RateRun[]): string {
  const big = runs.filter((r) => r.rho > 1), small = runs.filter((r) => r.rho <= 1);
  if (big.length === 0 || small.length === 0) return "";
  const minBig = Math.min(...big.map((r) => r.dLdhT)), maxSmall = Math.max(...small.map((r) => r.dLdhT));
  return minBig > maxSmall
    ? `          For ρ > 1 the forward pass explodes too, so ‖∂L/∂h(T)‖ = ‖W_yhᵀ(ŷ − y)‖ is itself large (at least ${fmt(minBig, 3)}, against at most ${fmt(maxSmall, 3)} for ρ ≤ 1).`
    : `          ‖∂L/∂h(T)‖ for ρ > 1 (smallest ${fmt(minBig, 3)}) is not above every ρ ≤ 1 run (largest ${fmt(maxSmall, 3)}).`;
}
