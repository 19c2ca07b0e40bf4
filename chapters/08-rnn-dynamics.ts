/**
 * Chapter 08: what RNNs can do, and the basic layout.
 *
 *   npx tsx chapters/08-rnn-dynamics.ts [--part oscillate|attract|chaos|program|initial|layout|all]
 *        [--gain G] [--bits B] [--units U] [--out DIR] [--seed N] [--quick] [--json]
 *
 * The lecture's list: RNNs can oscillate, settle to point attractors, behave chaotically,
 * and learn small programs, but they are very hard to train; then the basic layout:
 * learned initial states, and three ways each to give the inputs and the targets. Every
 * part runs the SimpleRNN cell of lib/rnn.ts through the BPTT loop of lib/bptt.ts.
 */
import { join } from "node:path";
import { runChapter, type ChapterIO } from "./_shared/cli.ts";
import { lineChart, table, fmt } from "./_shared/plot.ts";
import { crossingSentence, initialSeedsSentence } from "./_shared/rnn-verdicts.ts";
import { writeCsv } from "./_shared/csv.ts";
import { Rng } from "../lib/random.ts";
import * as D from "./_shared/rnn-dynamics.ts";
import type { SeqNet } from "./_shared/rnn-train.ts";

const PARTS = ["oscillate", "attract", "chaos", "program", "initial", "layout", "all"] as const;
type Part = (typeof PARTS)[number];

const { THETA, INITIAL_TASK } = D;

interface Ctx {
  seed: number;
  quick: boolean;
  json: boolean;
  io: ChapterIO;
  out: string | undefined;
  height: number;
}

function csv(c: Ctx, name: string, header: string[], rows: (string | number)[][]): void {
  if (c.out) writeCsv(join(c.out, name), header, rows);
}

function chart(c: Ctx, ...args: Parameters<typeof lineChart>): string {
  return c.json ? "" : lineChart(args[0], { height: c.height, width: 90, ...args[1] });
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

// ================================================================ 1. oscillate

function partOscillate(c: Ctx) {
  const { io } = c;
  const T = 1000;
  const runs = [0.95, 1.05].map((r) => D.rotationRun(r, THETA, T));
  const expected = (2 * Math.PI) / THETA;
  const [decay, cycle] = runs;
  io.print(
    "== 1. They can oscillate",
    "   A 2-unit RNN h(t) = tanh(r·R(θ) h(t−1)), R(θ) the rotation by θ = 2π/25, from h(0) = (0.5, 0).",
    "   The linear map rotates and scales by r each step; tanh only ever shrinks a state.",
    "",
    table(
      ["r", "max |h₁| over t = 1..50", `max |h₁| over t = ${T - 49}..${T}`, "period (zero crossings, 2nd half)", "2π/θ", "off by"],
      runs.map((r) => [r.r, fmt(r.ampStart, 4), fmt(r.ampEnd, 4), Number.isFinite(r.period) ? r.period.toFixed(3) : "no crossings", expected.toFixed(3), Number.isFinite(r.period) ? `${((100 * Math.abs(r.period - expected)) / expected).toFixed(2)}%` : "-"]),
    ),
    "",
    `   r = ${decay.r}: the amplitude falls from ${fmt(decay.ampStart, 3)} to ${fmt(decay.ampEnd, 3)}: ${decay.ampEnd < 1e-3 * decay.ampStart ? "the oscillation dies out" : "it has not died out"}.`,
    `   r = ${cycle.r}: the amplitude ends at ${fmt(cycle.ampEnd, 3)}${Math.abs(cycle.ampEnd - Math.max(...cycle.h1.slice(T - 100, T - 50).map(Math.abs))) < 1e-3 ? ", the same over the last 100 steps: a stable limit cycle, where tanh's saturation cancels the growth by r" : ", still changing"}.`,
    `   Its period is ${cycle.period.toFixed(3)} steps against 2π/θ = ${expected.toFixed(3)} (${((100 * Math.abs(cycle.period - expected)) / expected).toFixed(2)}% apart).`,
    chart(c, runs.map((r) => r.h1.slice(0, 90)), { title: "h₁(t), t = 1..90", legend: runs.map((r) => `r = ${r.r}`), xLabel: "t →" }),
    "",
  );
  csv(c, "oscillate_rotation.csv", ["t", ...runs.map((r) => `h1_r${r.r}`)], runs[0].h1.map((_, t) => [t + 1, ...runs.map((r) => r.h1[t])]));

  // the trained oscillator
  const o = c.quick ? { units: 16, updates: 100 } : { units: 32, updates: 600 };
  const lr = 0.001;
  const trainT = 200, runT = 1000;
  const { net, history } = D.trainSine(c.seed, { units: o.units, T: trainT, theta: THETA, updates: o.updates, learningRate: lr, h0: "learned", progress: (t) => io.progress(`oscillate: training the sine generator, ${t}`) });
  io.progressDone();
  const y = D.netOutput(net, runT);
  const target = Array.from({ length: runT }, (_, t) => Math.sin(THETA * (t + 1)));
  const mse = (a: number, b: number) => mean(y.slice(a, b).map((v, i) => (v - target[a + i]) ** 2));
  const trainMSE = mse(0, trainT), extraMSE = mse(trainT, 2 * trainT);
  const after = D.measurePeriod(y, trainT);
  const lateAmp = Math.max(...y.slice(runT - 100).map(Math.abs));
  const keeps = lateAmp > 0.5 && Number.isFinite(after.period) && Math.abs(after.period - expected) / expected < 0.05;
  io.print(
    `   Trained: a SimpleRNN(${o.units}) with no input, a learned h(0) and a linear readout, trained by BPTT (Adam,`,
    `   η = ${lr}, ${o.updates} updates) to produce sin(θt) for t = 1..${trainT}, with a target at every step; then run for ${runT} steps.`,
    table(
      ["", "value"],
      [
        [`MSE over the trained steps 1..${trainT}`, fmt(trainMSE, 3)],
        [`MSE over the next ${trainT} steps (${trainT + 1}..${2 * trainT}, never trained)`, fmt(extraMSE, 3)],
        [`period of the output over t = ${trainT + 1}..${runT}`, Number.isFinite(after.period) ? after.period.toFixed(3) : "no oscillation"],
        [`max |ŷ| over t = ${runT - 99}..${runT}`, fmt(lateAmp, 3)],
      ],
    ),
    keeps
      ? `   It keeps oscillating well past the trained horizon: at t = ${runT - 99}..${runT} (${((runT - 100) / trainT).toFixed(1)}× the horizon) the amplitude is ${fmt(lateAmp, 3)} and the period ${after.period.toFixed(2)} (target ${expected.toFixed(0)}).`
      : `   It does NOT keep producing the sine past the horizon: late amplitude ${fmt(lateAmp, 3)}, period ${Number.isFinite(after.period) ? after.period.toFixed(2) : "none"} (target ${expected.toFixed(0)}, criterion: amplitude > 0.5 and period within 5%).`,
    chart(c, [y.slice(trainT - 50, trainT + 50), target.slice(trainT - 50, trainT + 50)], { width: 100, title: `the trained net's output ŷ(t) and the target around the horizon, t = ${trainT - 49}..${trainT + 50} (trained up to ${trainT})`, legend: ["ŷ(t)", "sin(θt)"], xLabel: "t →" }),
    chart(c, history.map((h) => Math.log10(h[1])), { title: "log10 training loss (MSE) against update", xLabel: `update (0..${o.updates}) →` }),
    "",
  );
  csv(c, "oscillate_trained.csv", ["t", "output", "target", "trained"], y.map((v, t) => [t + 1, v, target[t], t < trainT ? 1 : 0]));
  return { periodMeasured: cycle.period, periodExpected: expected, trainedExtrapolationMSE: extraMSE };
}

// ================================================================ 2. attract

function partAttract(c: Ctx) {
  const { io } = c;
  const ho = D.HOPFIELD_DEFAULTS;
  const h = D.hopfieldRun(c.seed, ho);
  const per = Array.from({ length: ho.patterns }, (_, mu) => h.recalled.filter((r, m) => r && h.source[m] === mu).length);
  io.print(
    "== 2. They can settle to point attractors",
    `   A Hopfield network as a tanh RNN: ${ho.units} units, symmetric weights W = (1/N) Σ ξξᵀ (Hebb, zero diagonal) storing`,
    `   ${ho.patterns} random ±1 patterns, h(t) = tanh(β W h(t−1)) with β = ${ho.beta}. Each start is a stored pattern with ${ho.flips} of its`,
    `   ${ho.units} entries flipped (${((100 * ho.flips) / ho.units).toFixed(1)}%); ${ho.startsPerPattern} starts per pattern, run for ${ho.T} steps.`,
    table(["pattern", "starts", "recalled (sign(h(T)) = ξ in every entry)", "overlap at t = 0", `mean overlap at t = ${ho.T}`], per.map((k, mu) => {
      const paths = h.overlapPaths.filter((_, m) => h.source[m] === mu);
      return [mu + 1, ho.startsPerPattern, k, fmt(paths[0][0], 4), fmt(mean(paths.map((p) => p[ho.T])), 4)];
    })),
    `   recalled: ${h.recalled.filter(Boolean).length} of ${h.recalled.length} starts (${(100 * h.recallFraction).toFixed(1)}%); the largest overlap with a wrong pattern at t = ${ho.T} is ${fmt(h.maxCrossOverlap, 3)}.`,
    chart(c, Array.from({ length: ho.patterns }, (_, mu) => h.overlapPaths[mu * ho.startsPerPattern]), { title: "overlap m(t) = ξ·h(t)/N with its own pattern, one start per pattern", legend: Array.from({ length: ho.patterns }, (_, mu) => `pattern ${mu + 1}`), xLabel: `t = 0..${ho.T} →` }),
    "",
  );
  csv(c, "attract_hopfield_overlaps.csv", ["t", ...h.overlapPaths.map((_, m) => `start${m + 1}_pattern${h.source[m] + 1}`)], Array.from({ length: ho.T + 1 }, (_, t) => [t, ...h.overlapPaths.map((p) => p[t])]));

  const ao = { ...D.ATTRACTOR_DEFAULTS, updates: c.quick ? 80 : D.ATTRACTOR_DEFAULTS.updates };
  const a = D.learnedAttractor(c.seed, { ...ao, progress: (t) => io.progress(`attract: training, ${t}`) });
  io.progressDone();
  const driftEnd = a.drift[a.drift.length - 1];
  const rhoMax = Math.max(...a.fixedPoints.map((f) => f.spectralRadius));
  const settled = driftEnd < 1e-6 && rhoMax < 1;
  io.print(
    `   Learning an attractor with "targets for the last few steps": a SimpleRNN(${ao.units}) reads a noisy burst x(1..${ao.burst}) ~ N(0, 1),`,
    `   then gets x = 0; the target sign(Σx) = ±1 is given only at the last ${ao.lastK} of ${ao.T} steps. Adam, η = ${ao.learningRate}, ${ao.updates} updates of ${ao.batch}.`,
    `   Then 200 test sequences run for ${ao.runT} steps (the same burst, then zeros).`,
    table(
      ["", "value"],
      [
        [`sign accuracy at t = ${ao.T} (trained)`, fmt(a.accAtT, 4)],
        [`sign accuracy at t = ${ao.runT} (never trained)`, fmt(a.accAtRun, 4)],
        [`max over sequences of ‖h(t+1) − h(t)‖ at t = ${ao.T}`, fmt(a.drift[ao.T - 1], 3)],
        [`… at t = ${ao.runT - 1}`, fmt(driftEnd, 3)],
      ],
    ),
    table(["end state (readout sign)", "sequences", "max distance from their mean", "spectral radius of ∂h(t)/∂h(t−1) there"], a.fixedPoints.map((f) => [f.sign > 0 ? "+1" : "−1", f.members, fmt(f.spread, 3), fmt(f.spectralRadius, 4)])),
    settled
      ? `   The states stay put: ‖h(t+1) − h(t)‖ falls to ${fmt(driftEnd, 2)}, and the Jacobian at each end state has spectral radius ≤ ${fmt(rhoMax, 3)} < 1, so they are stable fixed points (point attractors).`
      : `   The states have NOT all settled on stable fixed points: drift ${fmt(driftEnd, 2)} at t = ${ao.runT - 1}, largest spectral radius ${fmt(rhoMax, 3)} (criteria: drift < 1e-6, radius < 1).`,
    chart(c, a.drift.map((d) => Math.log10(Math.max(d, 1e-17))), { title: `log10 max ‖h(t+1) − h(t)‖ against t = 1..${ao.runT - 1}`, xLabel: "t →" }),
    "",
  );
  csv(c, "attract_learned_drift.csv", ["t", "max_step_change"], a.drift.map((d, t) => [t + 1, d]));
  return { recallFraction: h.recallFraction, learnedFixedPointDrift: driftEnd, fixedPointSpectralRadius: rhoMax };
}

// ================================================================ 3. chaos

function partChaos(c: Ctx, gain: number) {
  const { io } = c;
  const o = c.quick
    ? { N: 100, gains: [0.5, 0.9, 1, 1.1, 1.5, 2, 3], networks: 3, discard: 100, count: 200, align: 50 }
    : { N: 200, gains: [0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 2.5, 3], networks: 3, discard: 200, count: 500, align: 100 };
  const sw = D.lyapunovSweep(c.seed, { ...o, progress: (t) => io.progress(`chaos: ${t}`) });
  io.progressDone();
  const band = 0.01;
  const neg = sw.gains.filter((_, i) => sw.lyapunov[i] <= -band), pos = sw.gains.filter((_, i) => sw.lyapunov[i] >= band);
  const sepT = 200;
  const sepGains = [0.9, gain];
  const seps = sepGains.map((g) => D.separationRun(c.seed, o.N, g, o.discard, sepT));
  const grow = sepGains.map((g) => D.gradientGrowth(c.seed, o.N, g, o.discard, 60));
  const lamAt = (g: number) => {
    const i = sw.gains.indexOf(g);
    return i >= 0 ? sw.lyapunov[i] : NaN;
  };
  const lamText = (g: number, digits: number) => (sw.gains.includes(g) ? fmt(lamAt(g), digits) : "not in the sweep");
  io.print(
    "== 3. They can behave chaotically",
    `   Random tanh networks h(t) = tanh(g·W h(t−1)), N = ${o.N} units, W_ij ~ N(0, 1/N); ${o.networks} networks, each from h(0) ~ N(0, 1).`,
    `   λ_max from the tangent dynamics: a unit vector carried back through BPTT's Jacobians ∂h(t)/∂h(t−1) =`,
    `   diag(1 − h(t)²)·g W, renormalised every step; λ_max = mean log growth over ${o.count} steps (after ${o.discard} steps`,
    `   to reach the attractor, with ${o.align} more for the vector to line up).`,
    table(["g", "λ_max (mean)", ...Array.from({ length: o.networks }, (_, k) => `network ${k + 1}`)], sw.gains.map((g, i) => [g, fmt(sw.lyapunov[i], 4), ...sw.perNetwork[i].map((v) => fmt(v, 3))])),
    chart(c, sw.lyapunov, { title: `λ_max (mean over ${o.networks} networks) at g = ${sw.gains.join(", ")}`, xLabel: "g →" }),
    `   λ_max ≤ −${band} (trajectories converge) at g = ${neg.join(", ") || "none"}; λ_max ≥ +${band} (nearby starts separate) at g = ${pos.join(", ") || "none"}.`,
    crossingSentence(sw.gains, sw.lyapunov, band),
    ...sw.gains.flatMap((g, i) => {
      const flat = sw.perNetwork[i].map((v, k) => (Math.abs(v) < band ? k + 1 : 0)).filter((k) => k > 0);
      return sw.lyapunov[i] >= band && flat.length ? [`   Finite networks differ: at g = ${g} the mean is positive, but network ${flat.join(", ")} has |λ_max| < ${band}: no measurable chaos on its orbit.`] : [];
    }),
    "",
    `   Two starts 1e-8 apart (after ${o.discard} steps on the attractor), one network:`,
    table(["g", "λ_max at this g (sweep)", `log10 distance at t = 0, 50, 100, ${sepT}`], seps.map((s, i) => [sepGains[i], lamText(sepGains[i], 4), [0, 50, 100, sepT].map((t) => Math.log10(Math.max(s[t], 1e-300)).toFixed(1)).join(", ")])),
    chart(c, seps.map((s) => s.map((d) => Math.log10(Math.max(d, 1e-300)))), { title: `log10 ‖h'(t) − h(t)‖ against t = 0..${sepT} (log scale)`, legend: sepGains.map((g) => `g = ${g}`), xLabel: "t →" }),
    "",
    "   Back to chapter 05: the same Jacobian products carry BPTT's gradient. ‖∂L/∂h(T−k)‖ for a loss at T = 60:",
    table(["g", "fitted growth of log ‖∂L/∂h(T−k)‖ per step", "λ_max (sweep)", "‖∂L/∂h(1)‖ / ‖∂L/∂h(T)‖"], grow.map((r, i) => [sepGains[i], fmt(r.ratePerStep, 3), lamText(sepGains[i], 3), fmt(Math.exp(r.logNorms[0] - r.logNorms[r.logNorms.length - 1]), 3)])),
    !Number.isFinite(grow[1].ratePerStep)
      ? `   At g = ${gain} the gradient underflows to 0 within ${grow[1].logNorms.length} steps back: no growth rate can be fitted.`
      : grow[1].ratePerStep > 0
      ? `   At g = ${gain} the gradient grows by e^(${fmt(grow[1].ratePerStep, 3)}) per step back in time: in the chaotic regime long-horizon gradients explode, which is why they are hard to use there.`
      : `   At g = ${gain} the gradient does not grow going back in time (rate ${fmt(grow[1].ratePerStep, 3)}).`,
    "",
  );
  csv(c, "chaos_lyapunov.csv", ["gain", "lambda_mean", ...Array.from({ length: o.networks }, (_, k) => `lambda_net${k + 1}`)], sw.gains.map((g, i) => [g, sw.lyapunov[i], ...sw.perNetwork[i]]));
  csv(c, "chaos_separation.csv", ["t", ...sepGains.map((g) => `distance_g${g}`)], seps[0].map((_, t) => [t, ...seps.map((s) => s[t])]));
  return { gains: sw.gains, lyapunov: sw.lyapunov, networks: o.networks };
}

// ================================================================ 4. program

function partProgram(c: Ctx, bits: number, units: number) {
  const { io } = c;
  const nSeeds = c.quick ? 1 : 10;
  const sizes = units === 8 ? [8] : [units, 8];
  const o = { bits, ...D.ADDER_DEFAULTS };
  const succeeded: Record<string, number> = {};
  const curves: number[][] = [];
  let main: SeqNet | null = null;
  const rows: (string | number)[][] = [];
  for (const u of sizes) {
    let ok = 0;
    for (let i = 0; i < nSeeds; i++) {
      const { net, history } = D.trainAdder(c.seed + i, { ...o, units: u, progress: (t) => io.progress(`program: ${u} units, seed ${c.seed + i} (${i + 1}/${nSeeds}), ${t}`) });
      const acc32 = D.adderAccuracy(net, 32, 1000, new Rng(c.seed + 100 + i));
      if (acc32 === 1) ok++;
      if (u === units) curves.push(history.map((h) => Math.log10(h[1])));
      if (u === units && i === 0) main = net;
      rows.push([u, c.seed + i, fmt(history[history.length - 1][1], 3), acc32.toFixed(5), acc32 === 1 ? "learned" : "no"]);
    }
    succeeded[String(u)] = ok;
  }
  io.progressDone();
  const net = main as unknown as SeqNet;
  const accuracyByBits: Record<string, number> = {};
  for (const b of [8, 16, 32]) accuracyByBits[String(b)] = D.adderAccuracy(net, b, 1000, new Rng(c.seed + 7 * b));
  const ex = D.extractAdderAutomaton(net, bits, new Rng(c.seed + 1));
  const sym = (x: number) => `${x >> 1}${x & 1}`;
  const m = ex.minimal;
  io.print(
    "== 4. They could learn small programs: binary addition",
    `   A SimpleRNN with 2 inputs (the bits of a and b, least significant first), ${units} hidden units (Hinton's example has 3) and`,
    `   one sigmoid output (the sum bit); ${bits}-bit numbers, ${bits + 1} steps (the last input is 00, its output the final carry).`,
    `   Cross-entropy, Adam η = ${o.learningRate}, ${o.updates} updates of ${o.batch} random pairs. "Learned the program" = every output bit right`,
    "   on 1,000 random pairs of 32-bit numbers (33 steps), which it never saw.",
    table(["units", "seed", "final loss", "bit accuracy, 32-bit", "verdict"], rows),
    ...sizes.map((u) => `   ${u} hidden units: ${succeeded[String(u)]} of ${nSeeds} seeds learned the program.`),
    succeeded[String(sizes[0])] < nSeeds ? `   "The extensive computational needs of RNNs makes them very hard to train" (the lecture), measured: with ${sizes[0]} units ${nSeeds - succeeded[String(sizes[0])]} of ${nSeeds} runs do not learn the program.` : "",
    chart(c, curves, { title: `log10 training loss, ${units} units, ${nSeeds} seeds`, legend: curves.map((_, i) => `seed ${c.seed + i}`), xLabel: "update →" }),
    "",
    `   The net of seed ${c.seed} (${units} units), trained on ${bits}-bit numbers, on 1,000 random pairs:`,
    table(["bits", "bit accuracy", "seen in training"], [8, 16, 32].map((b) => [b, accuracyByBits[String(b)].toFixed(5), b === bits ? "this length" : b < bits ? "shorter than trained" : "no (longer)"])),
    "",
    `   Its hidden states h(1..T) form ${ex.clusters.length} clusters (k-means, the smallest k whose transition table the network follows on`,
    `   ≥ 99.9% of the steps; here ${(100 * ex.automaton.consistency).toFixed(2)}%). Merging clusters that act alike (same output bits, same`,
    `   next states, for every input) leaves ${m.states} states; h(0) = 0 starts in state 0. Read as a Moore machine, with the output`,
    `   bit a property of the state (as in Hinton's diagram), they merge into ${ex.mooreStates} states, h(0) included.`,
    table(["cluster", "mean h(t) in the cluster", "steps", "merged state"], ex.clusters.map((cl, l) => [l + 1, "[" + cl.mean.map((v) => fmt(v, 2)).join(", ") + "]", cl.count, cl.state])),
    "   The learned finite-state automaton (state × input pair ab → next state, output bit):",
    table(["state", "input ab", "next state", "output bit", "observed"], m.table.map((r) => [r.state, sym(r.input), r.next, r.output, r.count])),
    `   Run on its own (without the network), this automaton adds 32-bit numbers with bit accuracy ${ex.automatonAccuracy.toFixed(5)}.`,
    "",
  );
  csv(c, "program_seeds.csv", ["units", "seed", "final_loss", "accuracy_32bit", "verdict"], rows);
  csv(c, "program_automaton.csv", ["state", "input_ab", "next", "output", "observed"], m.table.map((r) => [r.state, sym(r.input), r.next, r.output, r.count]));
  csv(c, "program_hidden_states.csv", ["cluster", "merged_state", ...ex.points[0].map((_, j) => `h${j + 1}`)], ex.points.map((p, i) => [ex.labels[i] + 1, ex.clusters[ex.labels[i]].state, ...p]));
  return {
    trainBits: bits,
    accuracyByBits,
    states: m.states,
    transitionTable: m.table.map((r) => ({ state: r.state, input: sym(r.input), next: r.next, output: r.output })),
    seedsSucceeded: succeeded,
  };
}

// ================================================================ 5. initial

function partInitial(c: Ctx) {
  const { io } = c;
  const nSeeds = c.quick ? 1 : 5;
  const updates = c.quick ? 100 : 400;
  const variants = D.INITIAL_KINDS;
  const batch = D.sineBatch(INITIAL_TASK.T, THETA, INITIAL_TASK.phase);
  const cmp = D.initialStateComparison(c.seed, nSeeds, updates, (t) => io.progress(`initial: ${t}`));
  const res = Object.fromEntries(variants.map(([name]) => [name, { first5: cmp.first5[name], whole: cmp.whole[name] }]));
  const checkNet = cmp.learnedNet;
  io.progressDone();
  const gc = D.h0GradCheck(checkNet as unknown as SeqNet, batch);
  const summary = Object.fromEntries(variants.map(([name]) => [name, { first5Loss: mean(res[name].first5), wholeLoss: mean(res[name].whole) }]));
  const wins = res.learned.first5.filter((v, i) => v <= res.zero.first5[i] && v <= res.half.first5[i]).length;
  const best = variants.map(([n]) => n).reduce((a, b) => (summary[a].first5Loss <= summary[b].first5Loss ? a : b));
  io.print(
    "== 5. Learned initial states",
    `   Predict the sequence cos(θt), t = 1..${INITIAL_TASK.T}, with targets from t = 1: no input, so the first outputs depend on h(0).`,
    `   SimpleRNN(${INITIAL_TASK.units}), linear readout, Adam η = ${INITIAL_TASK.learningRate}, ${updates} updates, the same ${nSeeds} seed(s) (${c.seed}..${c.seed + nSeeds - 1}) for each h(0):`,
    "   h(0) = 0; h(0) = 0.5 in every unit (the lecture's example); h(0) learned from a random guess, by BPTT down to ∂L/∂h(0).",
    table(["h(0)", "MSE on t = 1..5 (mean over seeds)", `MSE on t = 1..${INITIAL_TASK.T}`, "per seed, t = 1..5"], variants.map(([name]) => [name, fmt(summary[name].first5Loss, 3), fmt(summary[name].wholeLoss, 3), res[name].first5.map((v) => fmt(v, 2)).join(" ")])),
    `   The lowest mean loss on the first 5 steps: h(0) ${best}${best === "learned" ? ", as the lecture recommends" : " (not the learned one, with these seeds)"}. Seed by seed, the learned h(0) has`,
    initialSeedsSentence(wins, nSeeds),
    `   Finite-difference check of ∂L/∂h(0) (learned h(0), seed ${c.seed}, after training; centred differences, h = 1e-5):`,
    `   relative error ${fmt(gc.relError, 2)} (max |∂L/∂h(0)| = ${fmt(Math.max(...gc.numeric.data.map(Math.abs)), 3)})${gc.relError < 1e-7 ? ", below 1e-7" : ", NOT below 1e-7"}.`,
    "",
  );
  csv(c, "initial.csv", ["h0", "seed", "first5_mse", "whole_mse"], variants.flatMap(([name]) => res[name].first5.map((v, i) => [name, c.seed + i, v, res[name].whole[i]])));
  return summary;
}

// ================================================================ 6. layout

function partLayout(c: Ctx) {
  const { io } = c;
  const o: D.LayoutOptions = { units: 8, T: 10, subset: 2, lastK: 3, batch: 32, updates: c.quick ? 64 : 320, learningRate: 0.01 };
  const inputs: D.InputWay[] = ["initial-all", "initial-subset", "clamped-subset"];
  const targets: D.TargetWay[] = ["final-all", "last-few-all", "every-step-all", "final-subset"];
  const inRuns = inputs.map((w) => {
    io.progress(`layout: input as ${w}`);
    return D.layoutRun(c.seed, w, "final-subset", o);
  });
  // the input way of the target runs is the initial state of the subset: its final-subset run is already done
  const tRuns = targets.map((w) => {
    io.progress(`layout: target ${w}`);
    return w === "final-subset" ? inRuns[1] : D.layoutRun(c.seed, "initial-subset", w, o);
  });
  io.progressDone();
  const ups = inRuns[0].history.map((h) => h[0]);
  const lossTable = (runs: D.LayoutRun[], name: (r: D.LayoutRun) => string) =>
    table(["way", ...ups.map((u) => `loss @${u}`), "recall MSE of unit 1 at T"], runs.map((r) => [name(r), ...r.history.map((h) => fmt(h[1], 2)), fmt(r.recallMSE, 2)]));
  const bestIn = inRuns.reduce((a, b) => (a.recallMSE <= b.recallMSE ? a : b));
  io.print(
    "== 6. The basic layout: three ways to give the inputs, and the targets",
    `   Task: remember a number v ~ U(−0.8, 0.8) for T = ${o.T} steps. The network is ${o.units} tanh units; targets are desired activities`,
    `   of units (no readout layer), the "subset" is units 1..${o.subset}. Adam η = ${o.learningRate}, ${o.updates} updates of ${o.batch}. The yardstick for`,
    "   all: the mean squared error of unit 1 against v at t = T on 500 new numbers.",
    "",
    `   Inputs (target: v on the subset at t = T):`,
    lossTable(inRuns, (r) => ({ "initial-all": "initial state of all units", "initial-subset": "initial state of a subset", "clamped-subset": "subset clamped at every step" })[r.inputWay as string] as string),
    "",
    `   Targets (input: the initial state of the subset; "last few" = the last ${o.lastK} steps):`,
    lossTable(tRuns, (r) => ({ "final-all": "final activities of all units", "last-few-all": "last few steps, all units", "every-step-all": "every step, all units", "final-subset": "final activity of a subset" })[r.targetWay as string] as string),
    chart(c, [...inRuns, ...tRuns].map((r) => r.history.map((h) => Math.log10(h[1]))), { title: "log10 training loss against update", legend: [...inputs.map((w) => `in: ${w}`), ...targets.map((w) => `target: ${w}`)], xLabel: "update →" }),
    "",
    `   Of the three input ways, ${({ "initial-all": "the initial state of all units", "initial-subset": "the initial state of a subset", "clamped-subset": "clamping the subset at every step" })[bestIn.inputWay as string]} gives the smallest recall error here (${fmt(bestIn.recallMSE, 2)}).`,
    "   Why every step is the natural way for most sequential data: a time series, a sentence or a sound arrives one",
    "   value per step, and at each step the network should combine the new value with what it has kept so far; an",
    "   initial state can hold only what is known before the sequence starts.",
    bestIn.inputWay === "clamped-subset" ? "   Clamped inputs also need no memory of the input itself, which is why they make this remembering task the easiest here." : "",
    "",
  );
  const fmtRun = (r: D.LayoutRun) => ({ lossByUpdate: r.history.map(([u, l]) => ({ update: u, loss: l })), recallMSE: r.recallMSE });
  csv(c, "layout.csv", ["side", "way", "update", "loss"], [...inRuns.map((r) => ["input", r.inputWay, r] as const), ...tRuns.map((r) => ["target", r.targetWay, r] as const)].flatMap(([side, way, r]) => r.history.map(([u, l]) => [side, way, u, l])));
  return {
    task: { units: o.units, T: o.T, subset: o.subset, lastK: o.lastK, updates: o.updates },
    inputs: Object.fromEntries(inRuns.map((r) => [r.inputWay, fmtRun(r)])),
    targets: Object.fromEntries(tRuns.map((r) => [r.targetWay, fmtRun(r)])),
  };
}

runChapter({
  id: "08-rnn-dynamics",
  title: "Chapter 08: what RNNs can do (oscillation, point attractors, chaos, a learned program), and the basic layout",
  section: 'Lecture sections "What kinds of behaviour can RNNs exhibit?" (oscillate, point attractors, chaos, small programs) and "Basic layout" (initial states, inputs, targets)',
  defaultSeed: D.DEFAULT_SEED,
  quickHelp: "a smaller chaos sweep (N = 100), fewer training updates, 1 seed per adder size, 1 seed per initial state",
  options: {
    part: { type: "string", default: "all", choices: PARTS, help: "which part to run" },
    gain: { type: "number", default: 2, greaterThan: 0, max: 100, help: "the gain g (positive) of the separation and gradient-growth comparison in the chaos part" },
    bits: { type: "integer", default: 8, min: 2, max: 32, help: "the length of the numbers the adder trains on (at least 2)" },
    units: { type: "integer", default: 3, min: 1, max: 64, help: "hidden units of the adder (at least 1; its results are compared with 8)" },
    out: { type: "string", path: "outDir", help: "a folder to write the figures' data as CSV files" },
  },
  run(opts, io) {
    const part = opts.part as Part;
    const c: Ctx = { seed: opts.seed, quick: opts.quick, json: opts.json, io, out: opts.out, height: opts.quick ? 8 : 12 };
    const want = (p: Part) => part === "all" || part === p;
    const result: Record<string, unknown> = {};
    if (want("oscillate")) result.oscillate = partOscillate(c);
    if (want("attract")) result.attract = partAttract(c);
    if (want("chaos")) result.chaos = partChaos(c, opts.gain);
    if (want("program")) result.program = partProgram(c, opts.bits, opts.units);
    if (want("initial")) result.initial = partInitial(c);
    if (want("layout")) result.layout = partLayout(c);
    if (c.out) io.print(`CSV files written to ${c.out}`);
    result.seed = c.seed;
    return result;
  },
});
