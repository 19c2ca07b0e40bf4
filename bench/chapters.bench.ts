/**
 * The RNN chapters' training runs, as the chapters run them:
 *   sineEpochMs: one epoch of chapter 06 (the lecture's SimpleRNN(32, relu) → Dense(8) → Dense(1),
 *     800 windows (1, 4), batches of 16, RMSprop);
 *   extrapolationMs: chapter 10's five networks, 150 epochs each (9 training sequences,
 *     1 validation, Adam), one seed, in milliseconds;
 *   extrapolationBuildMs: building each network before that (Keras's initialisers; the
 *     orthogonal recurrent kernels' Householder QR takes most of it), not part of extrapolationMs.
 * Key "rnnChapters" (bench/rnn.bench.ts owns "rnn").
 */
import { Rng } from "../lib/random.ts";
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

  // chapter 10's networks, one full training run each (150 epochs; --quick: 10, not comparable)
  const epochs = quick ? 10 : EPOCHS;
  const extrapolationMs = {} as Record<ModelName, number>;
  const extrapolationBuildMs = {} as Record<ModelName, number>;
  for (const name of MODEL_NAMES) {
    const t0 = performance.now();
    const model = buildNetwork(name, 0);
    extrapolationBuildMs[name] = performance.now() - t0;
    const r = runNetwork(name, { seed: 0, xs: PARTICLES, ys: CCD_ENERGIES, epochs, model });
    extrapolationMs[name] = r.seconds * 1000;
  }

  const table = [
    ["benchmark", "ms", "target / reference"],
    ["chapter 06: one epoch (800 windows, batch 16, RMSprop)", sineEpochMs.toFixed(1), "≤ 40 (PyTorch CPU ≈ 20)"],
    ...MODEL_NAMES.map((n) => [`chapter 10: ${n}, ${epochs} epochs + prediction`, extrapolationMs[n].toFixed(0), quick ? "(--quick: 10 epochs)" : `≤ ${2 * PYTORCH_MS[n]} (2× PyTorch CPU ≈ ${PYTORCH_MS[n]})`]),
    ...MODEL_NAMES.map((n) => [`chapter 10: building ${n} (initial weights)`, extrapolationBuildMs[n].toFixed(0), "—"]),
  ];
  const note = "Chapter 10's runs are single runs (a whole training each), not best-of; the machine's load shows in them.";
  return { table, note, json: { sineEpochMs, extrapolationMs, extrapolationBuildMs, extrapolationEpochs: epochs } };
}
