/**
 * The RNN chapters' training runs, as the chapters run them:
 *   sineEpochMs: one epoch of chapter 06 (the lecture's SimpleRNN(32, relu) → Dense(8) → Dense(1),
 *     800 windows (1, 4), batches of 16, RMSprop);
 *   extrapolationMs: chapter 10's five networks, 150 epochs each (9 training sequences,
 *     1 validation, Adam), one seed, in milliseconds: the best of 2 whole runs per process (extrapolationRunsMs: every run);
 *   extrapolationBuildMs: building each network before that (Keras's initialisers; the
 *     orthogonal recurrent kernels' Householder QR takes most of it), not part of extrapolationMs;
 *   householderQRMs: { n, fast, naive }: the QR of one 500×500 normal matrix (--quick: 200×200) (rnn_2layers builds two),
 *     householderQR beside its reference householderQRNaive;
 *   adamStep752kMs: one Adam update of rnn_2layers's 752,001 weights.
 * Key "rnnChapters" (bench/rnn.bench.ts owns "rnn").
 */
import { Rng, normalTensor, householderQR, householderQRNaive } from "../lib/random.ts";
import { Adam } from "../lib/optimizers.ts";
import { sineWindows, lectureSineRnn } from "../chapters/_shared/sine-data.ts";
import { MODEL_NAMES, EPOCHS, runNetwork, buildNetwork, type ModelName } from "../chapters/_shared/extrapolation.ts";
import { CCD_ENERGIES, PARTICLES } from "../chapters/_shared/extrapolation-data.ts";
import { bestMs } from "./timing.ts";
import type { BenchResult } from "./index.ts";

export const key = "rnnChapters";

/** PyTorch's CPU build on the same runs (the figures), ms. */
const PYTORCH_MS: Record<ModelName, number> = { rnn: 150, rnn_2layers: 1600, lstm_2layers: 1200, dnn2_gru2: 1500, standard: 150 };

export function run({ quick }: { quick: boolean }): BenchResult {
  // one epoch of chapter 06, best of several
  const data = sineWindows({ rng: new Rng(0) });
  const model = lectureSineRnn({ seed: 0 });
  const sineEpochMs = bestMs(() => model.fit(data.trainX, data.trainY, { epochs: 1, batchSize: 16, verbose: 0 }), quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 2, rounds: 5, minMs: 300 });

  // chapter 10's networks: the best of 2 full training runs each, the same seed (150 epochs; --quick: 1 run of 10, not comparable).
  // A single run of a few seconds varied by up to 30% from one bench run to the next; every run is kept in extrapolationRunsMs
  // (with index.ts's --processes P, the runs of all P processes: the figure is then the best of 2P runs).
  const epochs = quick ? 10 : EPOCHS, runs = quick ? 1 : 2;
  const extrapolationMs = {} as Record<ModelName, number>;
  const extrapolationRunsMs = {} as Record<ModelName, number[]>;
  const extrapolationBuildMs = {} as Record<ModelName, number>;
  for (const name of MODEL_NAMES) {
    extrapolationRunsMs[name] = [];
    for (let run = 0; run < runs; run++) {
      const t0 = performance.now();
      const model = buildNetwork(name, 0);
      const buildMs = performance.now() - t0;
      extrapolationBuildMs[name] = Math.min(extrapolationBuildMs[name] ?? Infinity, buildMs);
      const r = runNetwork(name, { seed: 0, xs: PARTICLES, ys: CCD_ENERGIES, epochs, model });
      extrapolationRunsMs[name].push(r.seconds * 1000);
    }
    extrapolationMs[name] = Math.min(...extrapolationRunsMs[name]);
  }

  // the pieces around the products: the QR of an orthogonal init, and Adam's update
  const qrN = quick ? 200 : 500;
  const A = normalTensor([qrN, qrN], 0, 1, new Rng(1));
  const qrOpts = quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 1, rounds: 3, minMs: 200 };
  const householderQRMs = { n: qrN, fast: bestMs(() => householderQR(A), qrOpts), naive: bestMs(() => householderQRNaive(A), qrOpts) };
  const rnn2 = buildNetwork("rnn_2layers", 0);
  const params = rnn2.trainableParams(), grads = params.map((p) => normalTensor(p.value.shape, 0, 1e-3, new Rng(2)));
  const adam = new Adam();
  const adamStep752kMs = bestMs(() => adam.apply(params, grads), quick ? { warmup: 1, rounds: 1, minMs: 20 } : { warmup: 3, rounds: 5, minMs: 200 });

  const table = [
    ["benchmark", "ms", "target / reference"],
    ["chapter 06: one epoch (800 windows, batch 16, RMSprop)", sineEpochMs.toFixed(1), "≤ 40 (PyTorch CPU ≈ 20)"],
    ...MODEL_NAMES.map((n) => [`chapter 10: ${n}, ${epochs} epochs + prediction (best of ${runs}: ${extrapolationRunsMs[n].map((v) => v.toFixed(0)).join(", ")})`, extrapolationMs[n].toFixed(0), quick ? "(--quick: 10 epochs)" : `≤ ${2 * PYTORCH_MS[n]} (2× PyTorch CPU ≈ ${PYTORCH_MS[n]})`]),
    ...MODEL_NAMES.map((n) => [`chapter 10: building ${n} (initial weights)`, extrapolationBuildMs[n].toFixed(0), "—"]),
    [`householderQR of a ${qrN}×${qrN} matrix (householderQRNaive: ${householderQRMs.naive.toFixed(0)} ms)`, householderQRMs.fast.toFixed(0), "—"],
    ["one Adam update of 752,001 weights (rnn_2layers)", adamStep752kMs.toFixed(2), "—"],
  ];
  const note = "Chapter 10's figures are the best of 2 whole training runs each in this process (--quick: 1); sineEpochMs the best of 5 rounds.";
  return { table, note, json: { sineEpochMs, extrapolationMs, extrapolationRunsMs, extrapolationBuildMs, householderQRMs, adamStep752kMs, extrapolationEpochs: epochs } };
}
