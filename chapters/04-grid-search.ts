/**
 * Chapter 04: the lecture's grid search over the learning rate η and the l2 strength λ.
 *
 *   npx tsx chapters/04-grid-search.ts [--epochs E] [--workers W] [--out DIR] [--dataset digits|mnist]
 *                                      [--padding valid|same] [--seed N] [--quick] [--json]
 *
 * η and λ each run over np.logspace(-5, 1, 7): 49 CNNs of chapter 03, each
 * trained for 100 epochs. The models are independent, so they train in
 * parallel, one worker thread per core. Each cell has its own seed, drawn
 * from the chapter's seed in grid order, so the results do not depend on
 * which thread trains which cell. Then the training and test accuracies are
 * drawn as the lecture's two heatmaps (rows η, columns λ).
 */
import { availableParallelism } from "node:os";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runChapter } from "./_shared/cli.ts";
import { readGrid, gridLabel as label } from "./_shared/verdicts.ts";
import { isTTY, wrap } from "./_shared/plot.ts";
import { heatmap, gridCsv } from "./_shared/heatmap.ts";
import { ensureDir } from "./_shared/csv.ts";
import { Rng } from "../lib/random.ts";
import type { Padding } from "../lib/conv.ts";
import { LOGSPACE, BLOW_UP_FACTOR, type RunResult } from "./_shared/lecture-cnn.ts";
import type { GridTask, GridWorkerData } from "./_shared/grid-worker.ts";
import { runGrid } from "./_shared/grid-pool.ts";

/** 1e-5 → "1e-05" as NumPy prints it, 0.1 → "0.1", 10 → "10.0". */
function numpyStr(v: number): string {
  if (v >= 1e-4 && v < 1e16) return Number.isInteger(v) ? v.toFixed(1) : String(v);
  const [m, e] = v.toExponential().split("e");
  const exp = Number(e);
  return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

runChapter({
  id: "04-grid-search",
  title: "Chapter 04: the η × λ grid search, 49 CNNs in parallel",
  section: 'Lecture sections "Final part", "Final visualization"',
  defaultSeed: 2023,
  quickHelp: "3 epochs per model instead of 100 (and 500 MNIST digits with --dataset mnist); still the full 7×7 grid",
  options: {
    epochs: { type: "integer", default: 100, min: 1, max: 10000, help: "training epochs per model (the lecture's 100)" },
    workers: { type: "integer", default: availableParallelism(), min: 1, max: 1024, help: "worker threads (default: one per core; more than the cores are capped to them)" },
    out: { type: "string", path: "outDir", help: "write train_accuracy.csv, test_accuracy.csv and diverged.csv into this directory (created, with any missing parents)" },
    dataset: { type: "string", choices: ["digits", "mnist"], default: "digits", help: "the lecture's 8×8 digits, or real 28×28 MNIST (about 4 s per epoch per model: use --epochs)" },
    padding: { type: "string", choices: ["valid", "same"], default: "valid", help: "the Conv2D padding (see chapter 03)" },
  },
  async run(opts, io) {
    const seed: number = opts.seed;
    const epochs: number = opts.quick ? Math.min(3, opts.epochs) : opts.epochs;
    const dataset: string = opts.dataset;
    const padding: Padding = opts.padding;
    const cores = availableParallelism();
    if (opts.workers > cores) io.warn?.(`--workers ${opts.workers} is more than the ${cores} cores; using ${cores} worker threads`);
    const workers: number = Math.min(opts.workers, cores);
    const etas = LOGSPACE, lambdas = LOGSPACE;

    // One seed per cell, drawn in grid order before anything runs.
    const master = new Rng(seed);
    const tasks: GridTask[] = [];
    etas.forEach((eta, i) => lambdas.forEach((lmbd, j) => tasks.push({ index: i * lambdas.length + j, eta, lmbd, seed: master.nextUint32() })));

    const wd: GridWorkerData = { dataset, seed, mnistImages: opts.quick ? 500 : 10000, epochs, padding };
    io.print(
      "eta_vals = np.logspace(-5, 1, 7)",
      "lmbd_vals = np.logspace(-5, 1, 7)",
      "",
      `${tasks.length} CNNs (chapter 03's network, ${padding} padding) × ${epochs} epochs on the ${dataset === "digits" ? "digits" : `${wd.mnistImages.toLocaleString("en-US")} MNIST digits`},`,
      `trained in parallel on ${Math.min(workers, tasks.length)} worker thread${workers > 1 ? "s" : ""}. Same train/test split for all (seed ${seed}).`,
      "",
    );

    const t0 = performance.now();
    const results = await runGrid(tasks, wd, workers, (done, task, r) => {
      const s = ((performance.now() - t0) / 1000).toFixed(0);
      io.progress(`[${done}/${tasks.length}] ${s} s   last: η = ${numpyStr(task.eta)}, λ = ${numpyStr(task.lmbd)}: test ${r.testAccuracy.toFixed(3)}${r.diverged ? " (diverged)" : ""}`);
    });
    const seconds = (performance.now() - t0) / 1000;
    io.progressDone();

    const grid = <T,>(f: (r: RunResult) => T): T[][] => etas.map((_, i) => lambdas.map((_, j) => f(results[i * lambdas.length + j])));
    const trainAccuracy = grid((r) => r.trainAccuracy);
    const testAccuracy = grid((r) => r.testAccuracy);
    const diverged = grid((r) => r.diverged);

    for (const t of tasks) {
      const r = results[t.index];
      io.print(`Learning rate  =  ${numpyStr(t.eta)}`, `Lambda =  ${numpyStr(t.lmbd)}`, `Test accuracy: ${r.testAccuracy.toFixed(3)}${r.diverged ? "   (diverged)" : ""}`, "");
    }

    const color = isTTY();
    const common = { rowLabels: etas.map(label), colLabels: lambdas.map(label), rowTitle: "η", colTitle: "λ", color, marks: diverged, markSymbol: "†" };
    io.print(
      "== Final visualization",
      "",
      opts.json ? "" : heatmap(trainAccuracy, { ...common, title: "Training Accuracy" }),
      "",
      opts.json ? "" : heatmap(testAccuracy, { ...common, title: "Test Accuracy" }),
      "",
      `† diverged: a batch's loss became NaN or ∞, or the weights ran away (‖w‖ past ${BLOW_UP_FACTOR}× its initial value); training`,
      "  stopped there, and the accuracy shown is that of the weights it stopped with.",
      "",
    );

    const div = tasks.filter((t) => results[t.index].diverged);
    if (div.length) {
      io.print(`${div.length} of ${tasks.length} runs diverged:`);
      for (const t of div) io.print(...wrap(`  η = ${label(t.eta)}, λ = ${label(t.lmbd)}: ${results[t.index].divergence}`));
      io.print("");
    }

    io.print(...readGrid({ etas, lambdas, testAccuracy, diverged, epochs, classes: 10 }).flatMap((l) => wrap(l)), "");
    io.print(
      `Wall time: ${seconds.toFixed(1)} s for ${tasks.length} models on ${Math.min(workers, tasks.length)} worker thread${workers > 1 ? "s" : ""}.`,
    );

    if (opts.out) {
      const dir = resolve(String(opts.out));
      const rows = etas.map(label), cols = lambdas.map(label);
      const write = (name: string, text: string) => {
        const file = join(dir, name);
        try {
          writeFileSync(file, text);
        } catch (e) {
          throw new Error(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      };
      ensureDir(dir);
      write("train_accuracy.csv", gridCsv(trainAccuracy, rows, cols, "eta\\lambda"));
      write("test_accuracy.csv", gridCsv(testAccuracy, rows, cols, "eta\\lambda"));
      write("diverged.csv", gridCsv(diverged.map((r) => r.map(Number)), rows, cols, "eta\\lambda"));
      io.print(`Wrote train_accuracy.csv, test_accuracy.csv and diverged.csv to ${dir}`);
    }

    return { eta: etas, lambda: lambdas, trainAccuracy, testAccuracy, diverged, epochs, seed, seconds, dataset, padding, workers: Math.min(workers, tasks.length) };
  },
});
