/**
 * Chapter 05: backpropagation through time, and why gradients vanish or explode.
 *
 *   npx tsx chapters/05-bptt.ts [--seed N] [--units U] [--clip C] [--quick] [--json]
 *
 * 1. The weight matrices of a single-hidden-layer RNN and their shapes.
 * 2. The lecture's three BPTT steps on a tiny example: the stack of activities,
 *    the per-step derivatives popped off it, and their sum as the weight gradient.
 * 3. The backward pass is linear: doubling ∂L/∂y doubles every gradient.
 * 4. The main experiment: ‖∂L/∂h(t)‖, ‖∂h(T)/∂h(k)‖ and the per-step contributions
 *    to ∂L/∂W_hh over T = 100 steps, for W_hh of spectral radius ρ ∈ {0.5, …, 2},
 *    linear and tanh.
 * 5. Gradient clipping by norm on an exploding run.
 * 6. A finite-difference check of the BPTT gradients (full and truncated).
 */
import { runChapter } from "./_shared/cli.ts";
import { lineChart, table, fmt } from "./_shared/plot.ts";
import { Tensor, transpose, frobeniusNorm } from "../lib/matrix.ts";
import { Rng, normalTensor, glorotUniform, orthogonal } from "../lib/random.ts";
import { type RnnParams, simpleRnnCell } from "../lib/rnn.ts";
import { bpttForward, bpttBackward } from "../lib/bptt.ts";
import { RHOS, gradientFlowSetup, gradientFlowRun, gradientFlowProblem, type GradientFlowRun } from "./_shared/bptt-experiment.ts";
import { sequenceGradCheck } from "./_shared/bptt-gradcheck.ts";
import { readForwardExplosion, readTanhRates } from "./_shared/verdicts.ts";

const T = 100;
/** How far the linear RNN's fitted rate may be from ρ to count as agreeing with ‖∂L/∂h(T−k)‖ ∝ ρᵏ (the tests use the same 5%). */
const LINEAR_TOLERANCE = 0.05;

/** A matrix (rows of numbers) as text, one row per line. */
function matrixText(m: Tensor, indent = "    "): string {
  const [r, c] = m.shape;
  const rows: string[] = [];
  for (let i = 0; i < r; i++) rows.push(indent + "[" + Array.from({ length: c }, (_, j) => fmt(m.data[i * c + j], 4).padStart(10)).join(" ") + " ]");
  return rows.join("\n");
}

/** What a fitted per-step rate r does over the 100 steps: r^100 below 1e-2 vanishes, above 1e2 explodes. */
function verdict(rate: number): string {
  const over = 100 * Math.log10(rate);
  return over < -2 ? "vanishes" : over > 2 ? "explodes" : "stays O(1)";
}

/** The time steps at which the sampled tables show a series. */
const SAMPLE_T = [1, 10, 20, 40, 60, 80, 90, 100];

runChapter({
  id: "05-bptt",
  title: "Chapter 05: backpropagation through time, vanishing and exploding gradients",
  section: 'Lecture sections "Backpropagation through time", "The backward pass is linear", "Weight matrices in a single-hidden layer RNN", "The problem of exploding or vanishing gradients"',
  defaultSeed: 2023,
  quickHelp: "here the same experiment, which already takes about 2 s; only the plots are lower",
  options: {
    units: {
      type: "integer",
      default: 32,
      min: 2,
      max: 512,
      // the T per-step u×u contributions to ∂L/∂W_hh, the Jacobian products and a few more u×u matrices
      memory: (u) => 8 * u * u * (T + 10),
      help: "hidden units u of the RNN in the main experiment",
    },
    clip: { type: "number", default: 1, min: 1e-12, max: 1e12, help: "the norm threshold of the gradient-clipping demonstration" },
  },
  run(opts, io) {
    const seed: number = opts.seed;
    const units: number = opts.units;
    const height = opts.quick ? 8 : 14;

    // ------------------------------------------------------------ 1. weight matrices
    io.print(
      "== Weight matrices in a single-hidden layer RNN",
      "",
      "  z_h(t) = W_hx x(t) + W_hh h(t−1) + b_h,   h(t) = σ_h(z_h(t))",
      "  z_y(t) = W_yh h(t) + b_y,                  y(t) = σ_y(z_y(t)),     L = Σ_t L(t)",
      "",
      "The same three matrices act at every time step. In the code a batch is a matrix of row",
      "vectors and the weights keep Keras's layout, so z_h = x·Whx + h(t−1)·Whh + bh with",
      "Whx = W_hxᵀ (F, u) (Keras's kernel) and Whh = W_hhᵀ (u, u) (recurrent_kernel).",
      "",
      table(
        ["matrix", "lecture shape", "Keras layout", "entries (F = 1, u = " + units + ")"],
        [
          ["W_hx", "(u, F)", "kernel (F, u)", units],
          ["W_hh", "(u, u)", "recurrent_kernel (u, u)", units * units],
          ["b_h", "(u)", "bias (u,)", units],
          ["W_yh", "(1, u)", "Dense kernel (u, 1)", units],
          ["b_y", "(1)", "Dense bias (1,)", 1],
        ],
      ),
      "",
    );

    // ------------------------------------------------------------ 2. the three BPTT steps on a tiny example
    const rng = new Rng(seed);
    const tu = 3, tT = 4;
    const tiny: RnnParams = { Whx: glorotUniform([1, tu], rng), Whh: orthogonal([tu, tu], rng), bh: normalTensor([tu], 0, 0.1, rng) };
    const tWyh = glorotUniform([tu, 1], rng);
    const tx = normalTensor([1, tT, 1], 0, 1, rng);
    const ty = normalTensor([tT], 0, 1, rng);
    const tcell = simpleRnnCell("tanh");
    // Step 1: the forward pass builds the stack.
    const tf = bpttForward(tcell, tiny, tx);
    // A loss at every step: L(t) = ½(ŷ(t) − y(t))², ŷ(t) = W_yh h(t); ∂L(t)/∂h(t) = W_yhᵀ(ŷ(t) − y(t)).
    const dhs = new Tensor([1, tT, tu]);
    const yhat: number[] = [];
    let tinyLoss = 0;
    for (let t = 0; t < tT; t++) {
      let yh = 0;
      for (let j = 0; j < tu; j++) yh += tWyh.data[j] * tf.hs.data[t * tu + j];
      yhat.push(yh);
      tinyLoss += 0.5 * (yh - ty.data[t]) ** 2;
      for (let j = 0; j < tu; j++) dhs.data[t * tu + j] = tWyh.data[j] * (yh - ty.data[t]);
    }
    // Steps 2 and 3: pop the stack, keep each step's derivative, add them up.
    const tb = bpttBackward(tcell, tiny, tf, { dhs, recordSteps: true });
    const stepWhh = (tb.stepGrads ?? []).map((g) => transpose(g.Whh)); // lecture orientation: ∂L/∂W_hh = (∂L/∂Whh)ᵀ
    const sum = new Tensor([tu, tu]);
    for (const g of stepWhh) for (let i = 0; i < sum.size; i++) sum.data[i] += g.data[i];
    const bpttWhh = transpose(tb.grads.Whh);
    let sumDiff = 0;
    for (let i = 0; i < sum.size; i++) sumDiff = Math.max(sumDiff, Math.abs(sum.data[i] - bpttWhh.data[i]));

    io.print(
      "== Backpropagation through time: the lecture's three steps on a tiny RNN",
      `   (u = ${tu}, T = ${tT}, tanh, one input feature, a loss at every step: L = Σ_t ½(W_yh h(t) − y(t))² = ${fmt(tinyLoss, 6)})`,
      "",
      "Step 1. The forward pass builds up a stack of the activities of all units at each time step:",
      table(
        ["t", "x(t)", "h(t) = tanh(z_h(t))", "ŷ(t)", "y(t)"],
        Array.from({ length: tT }, (_, t) => [
          t + 1,
          fmt(tx.data[t], 4),
          "[" + Array.from({ length: tu }, (_, j) => fmt(tf.hs.data[t * tu + j], 4)).join(", ") + "]",
          fmt(yhat[t], 4),
          fmt(ty.data[t], 4),
        ]),
      ),
      `   stack height after the forward pass: ${tf.stack.length}`,
      "",
      "Step 2. The backward pass peels the activities off the stack, t = T..1, carrying dhNext:",
      "   ∂L/∂h(t) = ∂L(t)/∂h(t) + dhNext,   dhNext ← ∂L/∂h(t)·∂h(t)/∂h(t−1)",
      table(
        ["t", "‖∂L(t)/∂h(t)‖ (from the output)", "‖∂L/∂h(t)‖ (total)", "‖this step's ∂L/∂W_hh‖"],
        Array.from({ length: tT }, (_, i) => {
          const t = tT - 1 - i;
          const own = Math.hypot(...Array.from({ length: tu }, (_, j) => dhs.data[t * tu + j]));
          return [t + 1, fmt(own, 4), fmt(tb.dLdhNorms[t], 4), fmt((tb.stepGradNorms ?? [])[t], 4)];
        }),
      ),
      "",
      "   Each step's own derivative ∂L/∂W_hh at time t (lecture orientation, (u, u)):",
      ...stepWhh.flatMap((g, t) => [`   t = ${t + 1}${t === 0 ? " (h(0) = 0, so this step adds nothing to W_hh)" : ""}:`, matrixText(g)]),
      "",
      "Step 3. After the backward pass, the derivatives at all the different times are added together:",
      "   ∂L/∂W_hh = Σ_t (step t's derivative) =",
      matrixText(sum),
      `   max |Σ_t − BPTT's ∂L/∂W_hh| = ${fmt(sumDiff, 3)}  (the same sum, accumulated in place with +=)`,
      "",
    );

    // ------------------------------------------------------------ 3. the backward pass is linear
    const dhs2 = new Tensor(dhs.shape, dhs.data.map((v) => 2 * v));
    const tb2 = bpttBackward(tcell, tiny, tf, { dhs: dhs2 });
    const pairs: [string, Tensor, Tensor][] = [
      ["∂L/∂W_hx", tb.grads.Whx, tb2.grads.Whx],
      ["∂L/∂W_hh", tb.grads.Whh, tb2.grads.Whh],
      ["∂L/∂b_h", tb.grads.bh, tb2.grads.bh],
      ["∂L/∂x(t)", tb.dx, tb2.dx],
      ["∂L/∂h(0)", tb.dh0 as Tensor, tb2.dh0 as Tensor],
    ];
    const ratioRows = pairs.map(([name, a, b]) => {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < a.size; i++) {
        if (a.data[i] === 0) continue;
        const r = b.data[i] / a.data[i];
        lo = Math.min(lo, r);
        hi = Math.max(hi, r);
      }
      return [name, lo.toFixed(12), hi.toFixed(12)];
    });
    const allNorm = (r: typeof tb) => Math.hypot(frobeniusNorm(r.grads.Whx), frobeniusNorm(r.grads.Whh), frobeniusNorm(r.grads.bh), frobeniusNorm(r.dx), frobeniusNorm(r.dh0 as Tensor));
    const linearityRatio = allNorm(tb2) / allNorm(tb);
    io.print(
      "== The backward pass is linear",
      "   The forward pass fixed every σ'(z_h(t)); the backward pass only multiplies by them and by the",
      "   weights. Doubling the error derivatives at the output, ∂L/∂y(t) → 2·∂L/∂y(t), doubles everything:",
      table(["gradient", "min ratio (2×) / (1×)", "max ratio"], ratioRows),
      `   ratio of the global norms: ${linearityRatio.toFixed(12)}`,
      "",
    );

    // ------------------------------------------------------------ 4. the main experiment
    const setup = gradientFlowSetup(seed, T, units);
    const runs: GradientFlowRun[] = [];
    for (const activation of ["linear", "tanh"] as const) {
      for (const rho of RHOS) {
        io.progress(`main experiment: ${activation}, ρ = ${rho}`);
        runs.push(gradientFlowRun(setup, activation, rho));
      }
    }
    io.progressDone();
    io.print(
      "== The problem of exploding or vanishing gradients",
      `   A single-hidden-layer RNN, u = ${units}, T = ${T}, one input x(t) ~ N(0, 1), loss L = ½(W_yh h(T) + b_y − y)² at`,
      "   the last step only. W_hh = (ρ/ρ(W)) W for one Gaussian W, so the runs differ only in the spectral",
      "   radius ρ = max|λ(W_hh)|; σ_max is W_hh's largest singular value (≥ ρ: W_hh is not normal).",
      "   Going back one step multiplies the gradient by ∂h(t)/∂h(t−1) = diag(σ'(z_h(t))) W_hh, so",
      "   ∂h(T)/∂h(k) = Π_{i=k+1..T} diag(σ'(z_h(i))) W_hh, and for σ linear ‖∂L/∂h(T−k)‖ ∝ ρᵏ.",
      "",
    );
    // the tables and charts are for a reader: none of them is built under --json
    for (const activation of opts.json ? [] : (["linear", "tanh"] as const)) {
      const rs = runs.filter((r) => r.activation === activation);
      const legend = rs.map((r) => `ρ = ${r.rho}`);
      /** log10 of a series (index t−1 for t = 1..T) at the sample steps, one row per ρ. */
      const sampled = (series: (r: GradientFlowRun) => number[], at: number[]) => rs.map((r) => [r.rho, ...at.map((t) => Math.log10(series(r)[t - 1]).toFixed(1))]);
      io.print(
        `-- ${activation}`,
        table(
          ["ρ", "σ_max", "‖∂L/∂h(T)‖", "‖∂L/∂h(1)‖", "log10 of their ratio", "fitted rate (k=20..80)", "rate/ρ", "‖∂h(T)/∂h(1)‖₂", "‖∂L/∂W_hh‖", "over 100 steps"],
          rs.map((r) => [
            r.rho,
            fmt(r.sigmaMax, 4),
            fmt(r.dLdh[T - 1], 3),
            fmt(r.dLdh[0], 3),
            (Math.log10(r.dLdh[0]) - Math.log10(r.dLdh[T - 1])).toFixed(1),
            r.fittedRate.toFixed(4),
            (r.fittedRate / r.rho).toFixed(4),
            fmt(r.jacobianNorms[0], 3),
            fmt(r.dWhhNorm, 3),
            verdict(r.fittedRate),
          ]),
        ),
        "",
        `log10 ‖∂L/∂h(t)‖ (${activation}):`,
        table(["ρ \\ t", ...SAMPLE_T.map(String)], sampled((r) => r.dLdh, SAMPLE_T)),
        lineChart(rs.map((r) => r.dLdh.map((v) => Math.log10(v))), { height, width: 100, title: `log10 ‖∂L/∂h(t)‖ against t = 1..${T} (${activation})`, legend, xLabel: "t →" }),
        "",
        `log10 ‖∂h(T)/∂h(k)‖₂ (${activation}):`,
        table(["ρ \\ T − k", ...[...SAMPLE_T].reverse().map((t) => String(T - t))], sampled((r) => r.jacobianNorms, SAMPLE_T).map((row) => [row[0], ...row.slice(1).reverse()])),
        lineChart(rs.map((r) => Array.from({ length: T }, (_, d) => Math.log10(r.jacobianNorms[T - 1 - d]))), {
          height,
          width: 100,
          title: `log10 ‖∂h(T)/∂h(k)‖₂ against T − k = 0..${T - 1} (${activation})`,
          legend,
          xRange: [0, T - 1],
          xLabel: "T − k →",
        }),
        "",
        `log10 ‖step t's contribution to ∂L/∂W_hh‖ (${activation}; step 1 adds 0, since h(0) = 0):`,
        table(["ρ \\ t", ...SAMPLE_T.slice(1).map(String)], sampled((r) => r.stepContributions, SAMPLE_T.slice(1))),
        lineChart(rs.map((r) => r.stepContributions.slice(1).map((v) => Math.log10(v))), {
          height,
          width: 100,
          title: `log10 ‖step t's contribution to ∂L/∂W_hh‖ against t = 2..${T} (${activation})`,
          legend,
          xRange: [2, T],
          xLabel: "t →",
        }),
        "",
      );
    }
    const lin = runs.filter((r) => r.activation === "linear");
    const worstFit = Math.max(...lin.map((r) => Math.abs(r.fittedRate / r.rho - 1)));
    const th = runs.filter((r) => r.activation === "tanh");
    const rateText = (r: GradientFlowRun) => `ρ = ${r.rho}: ×${r.fittedRate.toFixed(3)} per step (${verdict(r.fittedRate)})`;
    const tamed = th.filter((r) => r.rho > 1 && verdict(r.fittedRate) !== "explodes");
    io.print(
      "Reading the results:",
      worstFit < LINEAR_TOLERANCE
        ? `  linear: the fitted rate equals ρ within ${(100 * worstFit).toFixed(2)}% for every ρ, as ‖∂L/∂h(T−k)‖ ∝ ρᵏ says (tolerance ${100 * LINEAR_TOLERANCE}%):`
        : `  linear: the fitted rate differs from ρ by up to ${(100 * worstFit).toFixed(2)}%, more than the ${100 * LINEAR_TOLERANCE}% that ‖∂L/∂h(T−k)‖ ∝ ρᵏ allows:`,
      ...lin.map((r) => `            ${rateText(r)}`),
      readForwardExplosion(lin.map((r) => ({ rho: r.rho, fittedRate: r.fittedRate, dLdhT: r.dLdh[T - 1] }))),
      "  tanh:",
      ...th.map((r) => `            ${rateText(r)}`),
      ...readTanhRates(th.map((r) => ({ rho: r.rho, fittedRate: r.fittedRate, dLdhT: r.dLdh[T - 1] }))),
      tamed.length > 0
        ? `          With ρ > 1 (${tamed.map((r) => `ρ = ${r.rho}`).join(", ")}) the gradient does not explode: ρ > 1 is necessary for exploding\n` +
          "          gradients but not sufficient (Pascanu, Mikolov & Bengio 2013, whose conditions use σ_max and γ = max σ' = 1)."
        : "          With this seed every tanh run with ρ > 1 still explodes, though more slowly than the linear one.",
      "",
    );

    // ------------------------------------------------------------ 5. clipping
    const clip: number = opts.clip;
    const expl = gradientFlowProblem(setup, "linear", 1.5);
    const raw = bpttBackward(expl.cell, expl.params, expl.fwd, { dhT: expl.dhT });
    const clipped = bpttBackward(expl.cell, expl.params, expl.fwd, { dhT: expl.dhT, clipNorm: clip });
    const flat = (r: typeof raw) => [r.grads.Whx, r.grads.Whh, r.grads.bh].flatMap((g) => Array.from(g.data));
    const a = flat(raw), b = flat(clipped);
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) {
      ab += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
    const cosine = ab / Math.sqrt(aa * bb);
    io.print(
      "== Gradient clipping by norm on an exploding run (linear, ρ = 1.5)",
      "   If ‖g‖ > c, every gradient is scaled by c/‖g‖: the step length is bounded, the direction kept.",
      table(["threshold c", "‖g‖ before", "‖g‖ after", "cosine(g before, g after)"], [[clip, fmt(clipped.gradNormBefore, 4), fmt(clipped.gradNormAfter, 6), cosine.toFixed(12)]]),
      "",
    );

    // ------------------------------------------------------------ 6. finite differences
    const grng = new Rng(seed + 1);
    const gF = 2, gu = 4, gT = 8, gN = 2;
    const gp: RnnParams = { Whx: normalTensor([gF, gu], 0, 0.6, grng), Whh: normalTensor([gu, gu], 0, 0.6, grng), bh: normalTensor([gu], 0, 0.5, grng) };
    const gx = normalTensor([gN, gT, gF], 0, 1, grng);
    const gh0 = normalTensor([gu], 0, 0.5, grng);
    const full = sequenceGradCheck(simpleRnnCell("tanh"), gp, gx, { h0: gh0 }, { returnSequences: true, seed });
    const trunc = sequenceGradCheck(simpleRnnCell("tanh"), gp, gx, { h0: gh0 }, { returnSequences: true, truncate: 3, seed });
    const names = Object.keys(full.errors);
    io.print(
      "== Finite-difference check of the BPTT gradients",
      `   tanh RNN, N = ${gN}, T = ${gT}, F = ${gF}, u = ${gu}, random non-zero biases, a learned h(0); L = Σ_t h(t)·G(t)`,
      "   for a random G; centred differences with h = 1e-5; relative error max|a − n| / (max|a| + max|n|).",
      table(["gradient", ...names], [
        ["full BPTT", ...names.map((k) => fmt(full.errors[k], 2))],
        ["truncated, k = 3", ...names.map((k) => fmt(trunc.errors[k], 2))],
      ]),
      "   (truncated BPTT is checked against the finite-difference gradient of the truncated objective, in which",
      "    each 3-step chunk starts from a constant state; ∂L/∂h(0) then reaches only through the first chunk)",
      `   max relative error: ${fmt(Math.max(full.maxRelError, trunc.maxRelError), 2)}`,
    );

    return {
      T,
      units,
      runs: runs.map((r) => ({
        activation: r.activation,
        rho: r.rho,
        sigmaMax: r.sigmaMax,
        fittedRate: r.fittedRate,
        dLdh: r.dLdh,
        jacobianNorms: r.jacobianNorms,
      })),
      linearityRatio,
      clipping: { threshold: clip, normBefore: clipped.gradNormBefore, normAfter: clipped.gradNormAfter, cosine },
      gradcheckMaxRelError: Math.max(full.maxRelError, trunc.maxRelError),
      seed,
    };
  },
});
