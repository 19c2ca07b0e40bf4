/**
 * Chapter 10: extrapolating many-body energies with recurrent networks.
 *
 *   npx tsx chapters/10-extrapolation.ts [--model rnn|rnn_2layers|lstm_2layers|dnn2_gru2|standard|all]
 *        [--seeds K] [--data table|solve] [--coupling G] [--out FILE.csv] [--save DIR] [--load DIR]
 *        [--seed N] [--quick] [--json]
 *
 * The lecture's "An extrapolation example", "Predicting New Points", "Other
 * Things to Try" and "Other Types of RNNs": CCD correlation energies of the
 * pairing model for X = 2 … 40 particles; each network learns from the first
 * 12 (x ≤ 24) to predict the next energy from the previous two, then predicts
 * x = 26 … 40 feeding its own predictions back (test_rnn).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { runChapter, UsageError } from "./_shared/cli.ts";
import { lineChart, table, fmt } from "./_shared/plot.ts";
import { extrapolationAgreement, twoLayerSentence } from "./_shared/rnn-verdicts.ts";
import { writeCsv } from "./_shared/csv.ts";
import { CCD_ENERGIES, PARTICLES } from "./_shared/extrapolation-data.ts";
import { pairingCcdSeries } from "./_shared/pairing-ccd.ts";
import {
  MODEL_NAMES, KERAS_TOTALS, DIM, EPOCHS, BATCH_SIZE, VALIDATION_SPLIT, type ModelName,
  buildNetwork, runNetwork, formatData,
} from "./_shared/extrapolation.ts";
import { shapeStr } from "../lib/matrix.ts";
import { kerasNumber } from "../lib/model.ts";

/** What the lecture's notebook printed for each network (MSE over the 20 points). */
const LECTURE: Record<ModelName, string> = {
  rnn: "7.9e-5, a near-perfect extrapolation",
  rnn_2layers: "0.33, the prediction jumps to a flat line",
  lstm_2layers: "defined in the lecture but never run",
  dnn2_gru2: "4.2e-3",
  standard: "flattens out well away from the truth",
};

const LAYERS: Record<ModelName, string> = {
  rnn: "SimpleRNN(200, tanh) → Dense(1)",
  rnn_2layers: "SimpleRNN(500, sigmoid, return_sequences) → SimpleRNN(500, sigmoid) → Dense(1)",
  lstm_2layers: "LSTM(250, return_sequences) → LSTM(250) → Dense(1)",
  dnn2_gru2: "Dense(125, relu) → Dense(125, relu) on the last axis → GRU(250, return_sequences) → GRU(250) → Dense(1)",
  standard: "the rnn network with sequences of length 1: y from x",
};

/** Every seed's trained weights are kept until the median is known: all five networks' weights in float64. */
const SEED_BYTES = Object.values(KERAS_TOTALS).reduce((a, b) => a + b, 0) * 8;

interface SeedRun {
  seed: number;
  mse: number;
  predictions: number[];
  loss: number[];
  valLoss: number[];
  seconds: number;
  weights: ReturnType<ReturnType<typeof buildNetwork>["getWeights"]>;
}

/** The run whose MSE is the median (the lower middle one for an even count). */
function medianRun(runs: SeedRun[]): SeedRun {
  const sorted = [...runs].sort((a, b) => a.mse - b.mse);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** 20 points drawn as a line with 3 columns per step of x, and a mark under the training region. */
function seriesChart(xs: readonly number[], series: number[][], legend: string[], title: string): string {
  const per = 3;
  const interp = (s: number[]) => s.flatMap((v, i) => (i === s.length - 1 ? [v] : Array.from({ length: per }, (_, k) => v + ((s[i + 1] - v) * k) / per)));
  const chart = lineChart(series.map(interp), { height: 12, legend, title, width: 200 });
  const lines = chart.split("\n");
  const trainCols = (DIM - 1) * per + 1;
  const mark = " ".repeat(12) + "└" + "─".repeat(Math.max(0, trainCols - 2)) + "┘" + ` training region x ≤ ${xs[DIM - 1]}; x = ${xs[0]} … ${xs[xs.length - 1]}`;
  lines.splice(lines.length - 1, 0, mark);
  return lines.join("\n");
}

function weightsPath(dir: string, name: ModelName): string {
  return join(dir, `${name}.weights.json`);
}

runChapter({
  id: "10-extrapolation",
  title: "Chapter 10: extrapolating many-body energies with recurrent networks",
  section: 'Lecture sections "An extrapolation example", "Predicting New Points", "Other Things to Try", "Other Types of RNNs"',
  defaultSeed: 0,
  threads: true,
  quickHelp: "10 epochs instead of 150 (the MSEs are then far from the lecture's)",
  options: {
    model: { type: "string", choices: [...MODEL_NAMES, "all"], default: "all", help: "which network(s) to train" },
    seeds: { type: "integer", default: 1, min: 1, max: 100, memory: (k) => k * SEED_BYTES, help: "train every network K times (seeds N … N+K−1) and report the median, min and max MSE" },
    data: { type: "string", choices: ["table", "solve"], default: "table", help: "the lecture's 20 energies, or solve the CCD equations here (chapters/_shared/pairing-ccd.ts)" },
    coupling: { type: "number", min: -2, max: 2, help: "the pairing strength g for --data solve (default 0.5, the lecture's)" },
    epochs: { type: "integer", default: EPOCHS, min: 1, max: 100000, help: "training epochs (the lecture's 150)" },
    out: { type: "string", path: "outFile", help: "write x, the true values and one prediction column per network to this CSV file" },
    save: { type: "string", path: "outDir", help: "write each trained network's weights to DIR/NAME.weights.json (the median seed's)" },
    load: { type: "string", help: "load each network's weights from DIR/NAME.weights.json (written by --save) instead of training" },
  },
  run(opts, io) {
    const names: ModelName[] = opts.model === "all" ? [...MODEL_NAMES] : [opts.model as ModelName];
    const K: number = opts.load ? 1 : opts.seeds;
    const seeds = Array.from({ length: K }, (_, k) => opts.seed + k);
    const epochs: number = opts.quick ? Math.min(opts.epochs, 10) : opts.epochs;
    if (opts.coupling !== undefined && opts.data !== "solve") throw new UsageError("--coupling needs --data solve (the table was computed with g = 0.5)");
    if (opts.load) {
      const dir: string = opts.load;
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--load: no such directory '${dir}'; expected the directory written by --save`);
      for (const n of names) if (!existsSync(weightsPath(dir, n))) throw new UsageError(`--load: '${weightsPath(dir, n)}' does not exist; run with --save ${dir} first`);
    }

    // ---------------------------------------------------------------- the data
    const g: number = opts.coupling ?? 0.5;
    const xs = [...PARTICLES];
    const ys = opts.data === "solve" ? pairingCcdSeries(20, { g }) : [...CCD_ENERGIES];
    io.print(
      "== The data",
      "",
      opts.data === "solve"
        ? `  CCD correlation energies of the pairing model (δ = 1, g = ${g}) for X = 2 … 40 particles, solved here (chapters/_shared/pairing-ccd.ts).`
        : "  CCD correlation energies of the pairing model (δ = 1, g = 0.5) for X = 2 … 40 particles: J. Butler's\n" +
          "  ExtrapolationWithML data, computed with the NuclearTalent 2018 CCD code (the lecture's own values).",
      table(["X", ...xs.slice(0, 10).map(String)], [["E_c", ...ys.slice(0, 10).map((v) => fmt(v, 5))]]),
      table(["X", ...xs.slice(10).map(String)], [["E_c", ...ys.slice(10).map((v) => fmt(v, 5))]]),
      "",
    );
    if (opts.data === "solve" && g === 0.5) {
      const maxDiff = Math.max(...ys.map((v, i) => Math.abs(v - CCD_ENERGIES[i])));
      io.print(`  Largest difference from the lecture's table: ${fmt(maxDiff, 3)}${maxDiff < 1e-7 ? " (within 1e-7)" : ""}.`, "");
    }
    const rnnData = formatData(ys.slice(0, DIM));
    io.print(
      `  format_data(y[:${DIM}], 2): inputs ${shapeStr(rnnData.X.shape)} (pairs y_i, y_{i+1}), targets ${shapeStr(rnnData.Y.shape)} (y_{i+2});`,
      `  fit(batch_size=None → ${BATCH_SIZE}, epochs=${epochs}, validation_split=${VALIDATION_SPLIT}): Keras holds out the last sample, 9 train, 1 validate.`,
      `  Adam with Keras's defaults (lr 1e-3, β 0.9/0.999, ε 1e-7), MSE. Seeds: ${seeds.join(", ")}.`,
      "",
    );

    // ---------------------------------------------------------------- the networks
    const results: {
      name: ModelName; totalParams: number; mse: number; mseMin: number; mseMax: number; predictions: number[];
      finalLoss: number | null; finalValLoss: number | null; seconds: number; runs: SeedRun[];
    }[] = [];
    for (const name of names) {
      const probe = buildNetwork(name, seeds[0]);
      io.print(`== ${name}: ${LAYERS[name]}`, "", probe.summary(), "");
      const totalParams = probe.countParams();
      if (totalParams !== KERAS_TOTALS[name]) io.print(`  (Keras's summary counts ${KERAS_TOTALS[name].toLocaleString("en-US")} weights; this one differs)`);
      const runs: SeedRun[] = [];
      for (const seed of seeds) {
        const r = runNetwork(name, {
          seed, xs, ys, epochs, load: opts.load ? weightsPath(opts.load, name) : undefined,
          // the summary's network is the first seed's, untrained
          model: seed === seeds[0] ? probe : undefined,
          onEpochEnd: (e, logs) => io.progress(`${name}, seed ${seed}: epoch ${e + 1}/${epochs}  loss ${kerasNumber(logs.loss)}  val_loss ${kerasNumber(logs.val_loss)}`),
        });
        io.progressDone();
        const loss = r.history?.history.loss ?? [], valLoss = r.history?.history.val_loss ?? [];
        runs.push({ seed, mse: r.mse, predictions: r.predictions, loss, valLoss, seconds: r.seconds, weights: r.model.getWeights() });
        io.print(`  seed ${seed}: MSE ${fmt(r.mse, 3)}` + (loss.length ? `   final loss ${kerasNumber(loss[loss.length - 1])}   val_loss ${kerasNumber(valLoss[valLoss.length - 1])}` : "   (loaded weights)") + `   (${fmt(r.seconds, 3)} s)`);
      }
      const med = medianRun(runs);
      if (opts.save) {
        const keep = buildNetwork(name, med.seed);
        keep.setWeights(med.weights);
        keep.saveWeights(weightsPath(opts.save, name));
        io.print(`  saved seed ${med.seed}'s weights to ${weightsPath(opts.save, name)}`);
      }
      const mses = runs.map((r) => r.mse);
      results.push({
        name, totalParams, runs, predictions: med.predictions,
        mse: med.mse, mseMin: Math.min(...mses), mseMax: Math.max(...mses),
        finalLoss: med.loss.length ? med.loss[med.loss.length - 1] : null,
        finalValLoss: med.valLoss.length ? med.valLoss[med.valLoss.length - 1] : null,
        seconds: runs.reduce((s, r) => s + r.seconds, 0) / runs.length,
      });
      if (!opts.json) {
        io.print("");
        if (med.loss.length) {
          io.print(lineChart([med.loss.map(Math.log10), med.valLoss.map(Math.log10)], {
            height: 8, legend: ["log10 loss", "log10 val_loss"], title: `${name}, seed ${med.seed}: log10 of loss and val_loss per epoch`, xLabel: `epoch 1 … ${med.loss.length}`,
          }), "");
        }
        io.print(seriesChart(xs, [ys, med.predictions], ["true", "predicted"], `${name}, seed ${med.seed} (median MSE ${fmt(med.mse, 3)}): E_c against X`), "");
      }
    }

    // ---------------------------------------------------------------- the summary
    const tail = (p: number[]) => Math.max(...p.slice(-4)) - Math.min(...p.slice(-4));
    io.print(
      `== Results: MSE over all 20 points, as the lecture computes it (median of ${K} seed${K > 1 ? "s" : ""}, min … max)`,
      "",
      table(["network", "weights", "MSE", "min", "max", "spread of last 4", "s / run", "the lecture's run", "this run (median seed)"], results.map((r) => [
        r.name, r.totalParams.toLocaleString("en-US"), fmt(r.mse, 3), fmt(r.mseMin, 3), fmt(r.mseMax, 3), fmt(tail(r.predictions), 3), fmt(r.seconds, 3), LECTURE[r.name],
        extrapolationAgreement(r.name, r, ys),
      ])),
      "",
    );
    const lines: string[] = [];
    for (const r of results) {
      const t = tail(r.predictions);
      const two = r.name === "rnn_2layers" ? twoLayerSentence(t, r.mse, results.find((q) => q.name === "rnn")?.mse) : null;
      if (two) lines.push(two);
      if (r.name === "standard") lines.push(`standard: fed x instead of the previous energies, it reaches MSE ${fmt(r.mse, 3)}${r.mse > results.find((q) => q.name === "rnn")?.mse! ? ", worse than rnn on the y-sequences" : ""}; the last predictions span ${fmt(t, 3)}.`);
    }
    if (lines.length) io.print(...lines, "");

    if (opts.out) {
      writeCsv(opts.out, ["x", "true", ...results.map((r) => r.name)], xs.map((x, i) => [x, ys[i], ...results.map((r) => r.predictions[i])]));
      io.print(`Wrote ${opts.out} (x, true, and the median seed's prediction of each network).`);
    }

    return {
      models: results.map((r) => ({
        name: r.name, totalParams: r.totalParams, mse: r.mse, mseMin: r.mseMin, mseMax: r.mseMax, predictions: r.predictions,
        finalLoss: r.finalLoss, finalValLoss: r.finalValLoss, seconds: r.seconds, seedMSEs: r.runs.map((q) => q.mse),
        lectureAgreement: extrapolationAgreement(r.name, r, ys),
      })),
      data: ys,
      dataSource: opts.data === "solve" ? `solved, g = ${g}` : "table",
      seeds,
      epochs: opts.load ? 0 : epochs,
    };
  },
});
