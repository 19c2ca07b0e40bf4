/**
 * Chapter 09: four effective ways to learn an RNN, side by side on Hochreiter &
 * Schmidhuber's long-range tasks.
 *
 *   npx tsx chapters/09-four-ways.ts [--task adding|order] [--T N] [--long] [--sweep] [--way NAME]
 *                                    [--rho R] [--cg-iters N] [--workers W] [--seed N] [--quick] [--json]
 *
 * 1. The memory cell, by hand: one LSTM unit with set weights holds a value for 500
 *    steps; the constant-error carousel against a SimpleRNN's vanishing gradient.
 * 2. The echo-state property: two runs of a reservoir from different h(0) on the same
 *    input, at ρ = 0.9 and at ρ = 1.5.
 * 3. The five ways on one task, the same training set for all: LSTM (Adam),
 *    Hessian-free, echo state network, ESN init + Nesterov momentum, and plain SGD;
 *    a table, test MSE against wall-clock seconds, and the ablations (LSTM forget-gate
 *    bias 0; ESN init with plain SGD; small init with Nesterov momentum).
 * 4. With --sweep, the five ways again at T = 20, 50, 100, 200.
 */
import { availableParallelism } from "node:os";
import { runChapter, UsageError } from "./_shared/cli.ts";
import { lineChart, table, fmt } from "./_shared/plot.ts";
import { Rng, normalTensor } from "../lib/random.ts";
import { Tensor, colSums } from "../lib/matrix.ts";
import { makeReservoir, echoStateDistance } from "../lib/esn.ts";
import { TASK_SPECS, TASKS, scoreTask, type TaskName } from "./_shared/long-range-tasks.ts";
import { WAYS, ABLATIONS, HP, UNITS, makeData, type WayConfig, type WayName, type WayResult } from "./_shared/four-ways.ts";
import { runWays } from "./_shared/four-ways-pool.ts";
import type { WayTask } from "./_shared/four-ways-worker.ts";
import { memoryCellDemo } from "./_shared/memory-cell.ts";

const SWEEP_T = [20, 50, 100, 200];
/** "Solved" in the chapter's claims: at least this fraction of test sequences within the tolerance. */
const SOLVED_BAR = 0.9;
/** "Near the mean-predictor baseline": test MSE within this factor of it. */
const NEAR_BASELINE = 0.8;

/**
 * Bytes a run at sequence length T needs, roughly: each of 2 workers holds the 6,000 sequences (up to 8 input
 * features) and, for a full-batch gradient, 4 activities of 32 units per step of 5,000 of them.
 */
const tMemory = (T: number) => 2 * 6000 * T * (8 + 4 * 32) * 8;

interface Budget {
  nTrain: number;
  nTest: number;
  lstmUpdates: number;
  sgdUpdates: number;
  hfSteps: number;
  evals: number;
  esnUnits: number;
}

function budgetFor(quick: boolean, long: boolean): Budget {
  if (quick) return { nTrain: 300, nTest: 200, lstmUpdates: 20, sgdUpdates: 40, hfSteps: 1, evals: 4, esnUnits: 100 };
  if (long) return { nTrain: 5000, nTest: 1000, lstmUpdates: 2000, sgdUpdates: 10000, hfSteps: 200, evals: 40, esnUnits: UNITS.esn };
  return { nTrain: 5000, nTest: 1000, lstmUpdates: 1000, sgdUpdates: 6000, hfSteps: 60, evals: 20, esnUnits: UNITS.esn };
}

/** Longest first, so that two threads finish close together. */
const ORDER: WayName[] = ["hessian-free", "esn-init-momentum", "plain-sgd", "esn-init-sgd", "small-init-momentum", "lstm", "lstm-forget-bias-0", "esn"];

function tasksFor(names: WayName[], task: TaskName, T: number, b: Budget, seed: number, offset: number, extra: Pick<WayConfig, "rho" | "maxCgIters">): WayTask[] {
  // Every way gets its own seed, drawn in a fixed order from the chapter's seed; the data seed is shared.
  const master = new Rng(seed);
  const dataSeed = master.nextUint32();
  const seeds = new Map<WayName, number>();
  for (const n of [...WAYS, ...ABLATIONS]) seeds.set(n, master.nextUint32());
  return names
    .slice()
    .sort((a, c) => ORDER.indexOf(a) - ORDER.indexOf(c))
    .map((name, i) => {
      const lstm = name.startsWith("lstm");
      const cfg: WayConfig = {
        task, T, nTrain: b.nTrain, nTest: b.nTest, dataSeed, seed: seeds.get(name) as number,
        updates: lstm ? b.lstmUpdates : b.sgdUpdates, hfSteps: b.hfSteps, evals: b.evals, esnUnits: b.esnUnits, ...extra,
      };
      return { index: offset + i, name, cfg };
    });
}

const rowOf = (r: WayResult): (string | number)[] => [
  r.name, fmt(r.testMSE, 3), `${(100 * r.solvedFraction).toFixed(1)}%`,
  r.outerSteps === null ? String(r.updates) : `${r.updates} CG (${r.outerSteps} steps)`,
  r.seconds.toFixed(1), Number.isFinite(r.firstStepGradLog10) ? r.firstStepGradLog10.toFixed(1) : String(r.firstStepGradLog10),
];
const HEAD = ["way", "test MSE", "solved", "updates", "seconds", "log10‖∂L/∂h(1)‖"];
const jsonWay = (r: WayResult) => ({ name: r.name, testMSE: r.testMSE, solvedFraction: r.solvedFraction, updates: r.updates, seconds: r.seconds, firstStepGradLog10: r.firstStepGradLog10 });

/** Each way's test MSE (log10) on a common grid of wall-clock seconds: the last value reached by then. */
function curvesOnGrid(results: WayResult[], points = 60): { grid: number[]; series: number[][] } {
  const end = Math.max(...results.map((r) => r.curve[r.curve.length - 1].seconds), 1e-9);
  const grid = Array.from({ length: points }, (_, i) => (end * i) / (points - 1));
  const series = results.map((r) => grid.map((s) => {
    let v = r.curve[0].testMSE;
    for (const p of r.curve) if (p.seconds <= s) v = p.testMSE;
    return Math.log10(v);
  }));
  return { grid, series };
}

/** max- or min-pooling of a long series into `bins` values, so that one-step spikes survive the thinning. */
function pool(s: number[], bins: number, how: "max" | "min" | "mean"): number[] {
  const out: number[] = [];
  for (let b = 0; b < bins; b++) {
    const part = s.slice(Math.floor((b * s.length) / bins), Math.floor(((b + 1) * s.length) / bins));
    out.push(how === "max" ? Math.max(...part) : how === "min" ? Math.min(...part) : part.reduce((a, v) => a + v, 0) / part.length);
  }
  return out;
}

runChapter({
  id: "09-four-ways",
  title: "Chapter 09: four effective ways to learn an RNN (LSTM, Hessian-free, echo state networks, good init + momentum)",
  section: 'Lecture sections "RNNs have difficulty dealing with long-range dependencies", "Four effective ways to learn an RNN", "Implementing a memory cell"',
  defaultSeed: 0,
  quickHelp: "300 training sequences, 20 LSTM and 40 SGD updates, 1 HF step, a 100-unit ESN: a smoke test, not the results",
  options: {
    task: { type: "string", choices: TASKS, default: "adding", help: "the adding problem or the temporal-order problem (Hochreiter & Schmidhuber 1997)" },
    T: { type: "integer", default: 30, min: 12, max: 1000, memory: tMemory, help: "sequence length; the adding problem needs T ≥ 12 (a mark among the first 10 steps and one among the first T/2 − 1), the temporal-order problem T ≥ 20" },
    long: { type: "boolean", help: "2× the LSTM's updates (2,000), 1.7× the SGD ways' (10,000), 200 HF steps, no ablations (for --T 50; about 20 minutes)" },
    sweep: { type: "boolean", help: `also run the five ways at T = ${SWEEP_T.join(", ")} (long: about T/30 times the default run each)` },
    way: { type: "string", choices: ["all", ...WAYS, ...ABLATIONS], default: "all", help: "run only this way (no ablations)" },
    rho: { type: "number", default: HP.esn.rho, greaterThan: 0, max: 10, help: "the ESN's spectral radius ρ > 0" },
    "cg-iters": { type: "integer", default: HP.hf.maxCgIters, min: 1, max: 1000, help: "HF's cap on CG iterations per outer step (≥ 1)" },
    workers: { type: "integer", default: Math.min(2, availableParallelism()), min: 1, max: 16, help: "worker threads the ways train on" },
  },
  async run(opts, io) {
    const seed: number = opts.seed, task = opts.task as TaskName, T: number = opts.T, quick: boolean = opts.quick;
    const spec = TASK_SPECS[task];
    if (T < spec.minT) throw new UsageError(`--T ${T} is too short for the ${task} problem: it needs T ≥ ${spec.minT}`);
    const b = budgetFor(quick, opts.long);
    const height = quick ? 8 : 12;

    // ------------------------------------------------------------ 1. the memory cell by hand
    const held = 500;
    const mc = memoryCellDemo(held, new Rng(seed), 50);
    io.print(
      "== Implementing a memory cell",
      "",
      "One LSTM unit with hand-set weights (U = 0; inputs v(t), write(t), read(t), random distractor values v(t)):",
      "  write (input gate) i = σ(40·write − 20),  keep (forget gate) f = σ(30 − 60·write),",
      "  candidate g = tanh(v),  read (output gate) o = σ(40·read − 20);  c(t) = f c(t−1) + i g,  h(t) = o tanh(c(t)).",
      "",
      table(["t", "event", "write i", "keep f", "read o", "c(t)", "h(t)"], [mc.tWrite - 1, mc.tWrite, mc.tWrite + 1, Math.round((mc.tWrite + mc.tRead) / 2), mc.tRead - 1, mc.tRead].map((t) => [
        t, t === mc.tWrite ? "write" : t === mc.tRead ? "read" : "", fmt(mc.gates.i[t], 3), fmt(mc.gates.f[t], 3), fmt(mc.gates.o[t], 3), fmt(mc.gates.c[t], 6), fmt(mc.gates.h[t], 4),
      ])),
      "",
      `Stored v = ${mc.stored.toFixed(6)} at t = ${mc.tWrite}; held ${held} steps; read back at t = ${mc.tRead} as atanh(atanh(h)) = ${mc.readBack.toFixed(6)} (error ${fmt(mc.readoutError, 2)}).`,
      "",
    );
    if (!opts.json) {
      const bins = 70;
      io.print(lineChart([pool(mc.gates.i, bins, "max"), pool(mc.gates.f, bins, "min"), pool(mc.gates.o, bins, "max"), pool(mc.gates.c, bins, "mean")], {
        height, title: `Gates and c(t) over t = 0..${mc.tRead} (pooled to ${bins} points: write/read spikes kept)`, legend: ["write i", "keep f", "read o", "c(t)"],
      }), "");
    }
    io.print(
      "The constant-error carousel: the loss on h(t_r); ‖∂L/∂c(t)‖ of the memory cell and ‖∂L/∂h(t)‖ of a SimpleRNN(1)",
      "with h(t) = tanh(v(t) + h(t−1)) (W_hh = 1) on the same sequence, k steps before the read:",
      "",
      table(["k", "‖∂L/∂c(t_r − k)‖ LSTM", "‖∂L/∂h(t_r − k)‖ SimpleRNN"], mc.carousel.filter((_, i) => i % 2 === 0 || i === mc.carousel.length - 1).map((c) => [c.k, fmt(c.lstmDc, 6), fmt(c.rnnDh, 3)])),
      "",
      `Over ${held} steps the carousel keeps a fraction ${mc.cecGradRatio === 1 ? "1" : `1 − ${fmt(1 - mc.cecGradRatio, 2)}`} of its gradient; the SimpleRNN keeps ${fmt(mc.rnnGradRatio, 3)} (10^${Math.log10(mc.rnnGradRatio).toFixed(0)}).`,
      "",
    );

    // ------------------------------------------------------------ 2. the echo-state property
    const esnRng = new Rng(seed + 1);
    const u = quick ? 100 : 200, steps = 100;
    const xEcho = normalTensor([1, steps, 1], 0, 1, esnRng);
    const echo = [0.9, 1.5].map((rho) => {
      const res = makeReservoir(1, u, { rho, inputScale: HP.esn.inputScale, rng: esnRng });
      const d = echoStateDistance(res, xEcho, normalTensor([u], 0, 1, esnRng), normalTensor([u], 0, 1, esnRng));
      return { rho, d };
    });
    io.print(
      "== Echo state networks: the echo-state property",
      "",
      `Two runs of a ${u}-unit reservoir from different random h(0) on the same input; ‖h_a(t) − h_b(t)‖:`,
      "",
      table(["ρ", "t = 1", "t = 10", "t = 50", `t = ${steps}`], echo.map((e) => [e.rho, fmt(e.d[0], 3), fmt(e.d[9], 3), fmt(e.d[49], 3), fmt(e.d[steps - 1], 3)])),
      "",
      ...echo.map((e) => `  ρ = ${e.rho}: ${e.d[steps - 1] < 1e-6 * e.d[0] ? "the runs converge: the state forgets h(0) (echo states)" : `the runs do not converge within ${steps} steps (distance ${fmt(e.d[steps - 1], 3)})`}`),
      "",
    );
    if (!opts.json) io.print(lineChart(echo.map((e) => e.d.map((v) => Math.log10(Math.max(v, 1e-300)))), { height, title: "log10 ‖h_a(t) − h_b(t)‖ against t", legend: echo.map((e) => `ρ = ${e.rho}`) }), "");

    // ------------------------------------------------------------ 3. the five ways
    // --long leaves out the ablations: at T = 50 they would double a 20-minute run
    const names: WayName[] = opts.way !== "all" ? [opts.way as WayName] : opts.long ? [...WAYS] : [...WAYS, ...ABLATIONS];
    const runAt = async (Tn: number, withAblations: boolean, offset: number): Promise<WayResult[]> => {
      const list = withAblations ? names : names.filter((n) => (WAYS as readonly string[]).includes(n));
      const tasks = tasksFor(list, task, Tn, b, seed, offset, { rho: opts.rho, maxCgIters: opts["cg-iters"] });
      const last = new Map<string, string>();
      const t0 = performance.now();
      const results = await runWays(tasks, opts.workers, (t, text) => {
        last.set(t.name, text);
        io.progress(`[T = ${Tn}, ${((performance.now() - t0) / 1000).toFixed(0)} s] ${[...last.values()].join(" | ")}`);
      }, (done, t) => {
        last.delete(t.name);
        io.progress(`[T = ${Tn}] ${done}/${tasks.length} ways done (last: ${t.name})`);
      });
      io.progressDone();
      // back in the order asked for
      return list.map((n) => results[tasks.findIndex((t) => t.name === n)]);
    };

    // the mean target's score on this run's test set (every way sees the same data)
    const test = makeData(tasksFor([names[0]], task, T, b, seed, 0, {})[0].cfg).test;
    const K = test.y.shape[1], rowsY = test.y.shape[0], meanY = new Tensor(test.y.shape), sums = colSums(test.y).data;
    for (let i = 0; i < rowsY; i++) for (let k = 0; k < K; k++) meanY.data[i * K + k] = sums[k] / rowsY;
    const meanScore = scoreTask(meanY, test.y, spec.tolerance);
    io.print(
      `== Four ways to learn an RNN: the ${task === "adding" ? "adding" : "temporal-order"} problem, T = ${T}`,
      "",
      `${b.nTrain} training and ${b.nTest} test sequences (the same for every way); solved: every output within ${spec.tolerance} of its target.`,
      `Predicting the mean target: MSE ${fmt(meanScore.mse, 4)} on this test set (expected ${fmt(spec.baselineMSE, 4)}${task === "adding" ? " = 1/24" : " = 3/16"}); it counts ${(100 * meanScore.solvedFraction).toFixed(1)}% of the sequences as solved.`,
      `Budgets: LSTM ${b.lstmUpdates} updates, SGD ways ${b.sgdUpdates} updates (batch 50), HF ${b.hfSteps} outer steps; on ${Math.min(opts.workers, names.length)} worker thread(s).`,
      "",
    );
    const t0 = performance.now();
    const all = await runAt(T, true, 0);
    const wall = (performance.now() - t0) / 1000;
    const main = all.filter((r) => (WAYS as readonly string[]).includes(r.name));
    const abl = all.filter((r) => (ABLATIONS as readonly string[]).includes(r.name));
    io.print(table(HEAD, main.map(rowOf)), "");
    if (abl.length) io.print("Ablations:", "", table(HEAD, abl.map(rowOf)), "");
    io.print("Settings:", ...all.map((r) => `  ${r.name}: ${r.settings}`), "");
    if (!opts.json && main.length) {
      const { grid, series } = curvesOnGrid(main);
      io.print(lineChart(series, { height, title: "log10 test MSE against wall-clock seconds (each way timed from its own start)", legend: main.map((r) => r.name), xLabel: `0 … ${grid[grid.length - 1].toFixed(0)} s` }), "");
    }

    // What the run shows, computed from it.
    const by = new Map(all.map((r) => [r.name, r]));
    const verdict = (r: WayResult): string => r.solvedFraction >= SOLVED_BAR ? `solves it (${(100 * r.solvedFraction).toFixed(1)}% ≥ ${100 * SOLVED_BAR}%)`
      : r.testMSE <= NEAR_BASELINE * spec.baselineMSE ? `learns part of it (${(100 * r.solvedFraction).toFixed(1)}% solved, MSE ${fmt(r.testMSE, 3)})`
        : r.testMSE <= spec.baselineMSE / NEAR_BASELINE ? `stays near the mean predictor (MSE ${fmt(r.testMSE, 3)} against ${fmt(spec.baselineMSE, 3)}, ${(100 * r.solvedFraction).toFixed(1)}% solved)`
          : `does worse than the mean predictor (MSE ${fmt(r.testMSE, 3)} against ${fmt(spec.baselineMSE, 3)}, ${(100 * r.solvedFraction).toFixed(1)}% solved)`;
    io.print("Reading the table:", ...all.map((r) => `  ${r.name.padEnd(20)} ${verdict(r)}`));
    const fb1 = by.get("lstm"), fb0 = by.get("lstm-forget-bias-0");
    if (fb1 && fb0) io.print(`  Forget-gate bias 1 against 0 after ${b.lstmUpdates} updates: MSE ${fmt(fb1.testMSE, 3)} against ${fmt(fb0.testMSE, 3)}.`);
    io.print("", `Wall time of the comparison: ${wall.toFixed(1)} s.`, "");

    // ------------------------------------------------------------ 4. the sweep over T
    let sweep: { T: number; ways: ReturnType<typeof jsonWay>[] }[] | undefined;
    if (opts.sweep) {
      io.print(`== Sweep over T = ${SWEEP_T.join(", ")} (the five ways, same budgets)`, "");
      sweep = [];
      const rows: (string | number)[][] = [];
      for (const [i, Tn] of SWEEP_T.entries()) {
        if (Tn < spec.minT) continue;
        const rs = await runAt(Tn, false, 1000 * (i + 1));
        sweep.push({ T: Tn, ways: rs.map(jsonWay) });
        for (const r of rs) rows.push([Tn, ...rowOf(r)]);
      }
      io.print(table(["T", ...HEAD], rows), "");
    }

    return {
      task, T, baselineMSE: spec.baselineMSE,
      ways: main.map(jsonWay),
      ablations: abl.map(jsonWay),
      memoryCell: { heldSteps: mc.heldSteps, readoutError: mc.readoutError, cecGradRatio: mc.cecGradRatio, rnnGradRatio: mc.rnnGradRatio },
      ...(sweep ? { sweep } : {}),
      seed,
    };
  },
});
