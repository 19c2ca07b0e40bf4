/** The sequence-level fast path of BPTT (lib/bptt-sequence.ts) against the step-by-step loop it replaces. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Rng } from "../lib/random.ts";
import { type Cell, type CellParams, type InitialState, type BpttBackwardOptions, bpttForward, bpttBackward, bpttWeightGradients } from "../lib/bptt.ts";
import { SequenceWorkspace } from "../lib/bptt-sequence.ts";
import { LSTM } from "../lib/recurrent.ts";
import { simpleRnnCell, type RnnActivation } from "../lib/rnn.ts";
import { lstmCell } from "../lib/lstm.ts";
import { gruCell } from "../lib/gru.ts";
import { sequenceGradCheck } from "../chapters/_shared/bptt-gradcheck.ts";
import { randn, relDiff, bitIdentical, assertSequenceGradCheck } from "./_helpers.ts";

function close(a: Tensor, b: Tensor, what: string, tol = 1e-12): void {
  const r = relDiff(a, b);
  assert.ok(r <= tol, `${what}: fast and stepwise differ by ${r.toExponential(2)} (relative)`);
}

interface Case<P extends CellParams> {
  name: string;
  cell: Cell<P, unknown>;
  params: (F: number, u: number, rng: Rng) => P;
}

const rnn = (act: RnnActivation): Case<CellParams> => ({
  name: `SimpleRNN(${act})`,
  cell: simpleRnnCell(act) as unknown as Cell<CellParams, unknown>,
  params: (F, u, rng) => ({ Whx: randn([F, u], rng, 0.5), Whh: randn([u, u], rng, 0.4), bh: randn([u], rng, 0.3) }),
});
const CASES: Case<CellParams>[] = [
  rnn("tanh"),
  rnn("relu"),
  {
    name: "LSTM",
    cell: lstmCell() as unknown as Cell<CellParams, unknown>,
    params: (F, u, rng) => ({ W: randn([F, 4 * u], rng, 0.5), U: randn([u, 4 * u], rng, 0.4), b: randn([4 * u], rng, 0.3) }),
  },
  {
    name: "GRU",
    cell: gruCell() as unknown as Cell<CellParams, unknown>,
    params: (F, u, rng) => ({ W: randn([F, 3 * u], rng, 0.5), U: randn([u, 3 * u], rng, 0.4), b: randn([2, 3 * u], rng, 0.3) }),
  },
];

/** Forward and backward both ways; every output of the fast path within 1e-12 of the loop's. */
function compare(c: Case<CellParams>, N: number, T: number, F: number, u: number, seed: number, initKind: "none" | "batch" | "shared", bw: BpttBackwardOptions): void {
  const rng = new Rng(seed);
  const p = c.params(F, u, rng);
  const x = randn([N, T, F], rng);
  const init: InitialState = {};
  if (initKind !== "none") {
    const shape = initKind === "batch" ? [N, u] : [u];
    init.h0 = randn(shape, rng, 0.5);
    if (c.cell.hasCellState) init.c0 = randn(shape, rng, 0.5);
  }
  const opts: BpttBackwardOptions = { ...bw };
  if (opts.dhs) opts.dhs = randn([N, T, u], rng);
  if (opts.dhT) opts.dhT = randn([N, u], rng);
  if (opts.dcT) opts.dcT = c.cell.hasCellState ? randn([N, u], rng) : undefined;
  const what = `${c.name} N=${N} T=${T} init=${initKind} ${JSON.stringify(Object.keys(bw))}`;

  const fast = bpttForward(c.cell, p, x, init);
  const slow = bpttForward(c.cell, p, x, init, { stepwise: true });
  assert.ok(fast.seq !== undefined && slow.seq === undefined, `${what}: the fast path was not taken`);
  close(fast.hs, slow.hs, `${what} hs`);
  close(fast.last.h, slow.last.h, `${what} h(T)`);
  if (c.cell.hasCellState) close(fast.cs as Tensor, slow.cs as Tensor, `${what} cs`);

  const fb = bpttBackward(c.cell, p, fast, opts);
  const sb = bpttBackward(c.cell, p, slow, { ...opts, stepwise: true });
  for (const k of Object.keys(p)) close(fb.grads[k], sb.grads[k], `${what} ∂L/∂${k}`);
  close(fb.dx, sb.dx, `${what} dx`);
  assert.is(fb.dh0 === null, sb.dh0 === null, `${what}: dh0 present`);
  if (fb.dh0 && sb.dh0) close(fb.dh0, sb.dh0, `${what} dh0`);
  if (fb.dc0 && sb.dc0) close(fb.dc0, sb.dc0, `${what} dc0`);
  for (let t = 0; t < T; t++) assert.ok(Math.abs(fb.dLdhNorms[t] - sb.dLdhNorms[t]) <= 1e-12 * sb.dLdhNorms[t] + 1e-300, `${what}: ‖∂L/∂h(${t + 1})‖`);
  if (opts.clipNorm !== undefined) assert.ok(Math.abs(fb.gradNormBefore - sb.gradNormBefore) <= 1e-12 * sb.gradNormBefore, `${what}: norm before clipping`);
  // the loop's backward pass over the fast forward pass (its caches are the same) agrees too
  const mixed = bpttBackward(c.cell, p, fast, { ...opts, stepwise: true });
  for (const k of Object.keys(p)) close(mixed.grads[k], sb.grads[k], `${what} mixed ∂L/∂${k}`);
}

for (const c of CASES) {
  test(`${c.name}: the sequence-level fast path equals the step-by-step loop (1e-12) in every mode`, () => {
    compare(c, 3, 7, 2, 4, 1, "none", { dhT: new Tensor([1]) });
    compare(c, 3, 7, 2, 4, 2, "none", { dhs: new Tensor([1]), initialStateGrad: false });
    compare(c, 2, 9, 3, 5, 3, "batch", { dhs: new Tensor([1]), dhT: new Tensor([1]), dcT: new Tensor([1]) });
    compare(c, 4, 8, 1, 3, 4, "shared", { dhT: new Tensor([1]), truncate: 3 });
    compare(c, 4, 6, 2, 3, 5, "shared", { dhs: new Tensor([1]), clipNorm: 0.01 });
    compare(c, 33, 12, 5, 17, 6, "batch", { dhs: new Tensor([1]), truncate: 5 }); // odd sizes: the kernels' remainder loops
    compare(c, 1, 1, 1, 1, 7, "none", { dhT: new Tensor([1]) });
  });

  test(`${c.name}: with a batch that is a multiple of 4, the fast path is bit-identical to the loop`, () => {
    const rng = new Rng(21);
    const p = c.params(3, 6, rng);
    // T·N = 160 stacked rows: the weight-gradient products cross stackedAtB's 128-row chunks
    const x = randn([8, 20, 3], rng), dhs = randn([8, 20, 6], rng);
    const init: InitialState = { h0: randn([8, 6], rng, 0.5), ...(c.cell.hasCellState ? { c0: randn([8, 6], rng, 0.5) } : {}) };
    const fb = bpttBackward(c.cell, p, bpttForward(c.cell, p, x, init), { dhs, truncate: 4 });
    const sb = bpttBackward(c.cell, p, bpttForward(c.cell, p, x, init, { stepwise: true }), { dhs, truncate: 4, stepwise: true });
    for (const k of Object.keys(p)) assert.ok(bitIdentical(fb.grads[k], sb.grads[k]), `∂L/∂${k}`);
    assert.ok(bitIdentical(fb.dx, sb.dx), "dx");
    assert.ok(bitIdentical(fb.dh0 as Tensor, sb.dh0 as Tensor), "dh0");
    assert.equal(fb.dLdhNorms, sb.dLdhNorms);
  });

  test(`${c.name}: the fast path passes the finite-difference gradient check (with a learned initial state and truncation)`, () => {
    const rng = new Rng(11);
    const p = c.params(2, 3, rng);
    const x = randn([2, 5, 2], rng);
    const init: InitialState = { h0: randn([3], rng, 0.5), ...(c.cell.hasCellState ? { c0: randn([3], rng, 0.5) } : {}) };
    assert.ok(bpttForward(c.cell, p, x, init).seq !== undefined);
    const r = sequenceGradCheck(c.cell, p, x, init);
    assert.ok(r.maxRelError < 1e-7, `${c.name}: ${JSON.stringify(r.errors)}`);
    const tr = sequenceGradCheck(c.cell, p, x, init, { truncate: 2 });
    assert.ok(tr.maxRelError < 1e-7, `${c.name} truncated: ${JSON.stringify(tr.errors)}`);
  });
}

test("recordSteps (per-step gradients) falls back to the loop and still sums to the fast path's total", () => {
  const c = CASES[2];
  const rng = new Rng(3);
  const p = c.params(2, 3, rng);
  const x = randn([2, 6, 2], rng), dhs = randn([2, 6, 3], rng);
  const fwd = bpttForward(c.cell, p, x);
  const rec = bpttBackward(c.cell, p, fwd, { dhs, recordSteps: true });
  const total = bpttBackward(c.cell, p, fwd, { dhs });
  assert.ok(rec.stepGrads !== null && rec.stepGrads.length === 6);
  for (const k of Object.keys(p)) close(rec.grads[k], total.grads[k], `∂L/∂${k}`);
});

for (const c of CASES) {
  test(`${c.name}: passes in a reused workspace give the bits of fresh arrays, and a stale forward result is refused`, () => {
    const rng = new Rng(31);
    const p = c.params(3, 5, rng);
    const ws = new SequenceWorkspace();
    // two sizes in turn, so the workspace's arrays are grown, then reused with stale contents
    for (const [N, T] of [[4, 6], [3, 9], [4, 6], [2, 3]]) {
      const x = randn([N, T, 3], rng), dhs = randn([N, T, 5], rng);
      const init: InitialState = { h0: randn([N, 5], rng, 0.5), ...(c.cell.hasCellState ? { c0: randn([N, 5], rng, 0.5) } : {}) };
      const fresh = bpttForward(c.cell, p, x, init);
      const reused = bpttForward(c.cell, p, x, init, { workspace: ws });
      assert.ok(bitIdentical(reused.last.h, fresh.last.h), "h(T)");
      const fb = bpttBackward(c.cell, p, fresh, { dhs, truncate: 4 });
      const rb = bpttBackward(c.cell, p, reused, { dhs, truncate: 4 });
      for (const k of Object.keys(p)) assert.ok(bitIdentical(rb.grads[k], fb.grads[k]), `∂L/∂${k} N=${N} T=${T}`);
      assert.ok(bitIdentical(rb.dx, fb.dx) && bitIdentical(rb.dh0 as Tensor, fb.dh0 as Tensor), `dx, dh0 N=${N} T=${T}`);
      assert.ok(bitIdentical(reused.hs, fresh.hs), "h(1..T), made when read");
      if (c.cell.hasCellState) assert.ok(bitIdentical(reused.cs as Tensor, fresh.cs as Tensor), "c(1..T)");
    }
    const x = randn([2, 4, 3], rng);
    const older = bpttForward(c.cell, p, x, {}, { workspace: ws });
    const h = older.last.h.clone();
    bpttForward(c.cell, p, randn([2, 4, 3], rng), {}, { workspace: ws });
    assert.ok(bitIdentical(older.last.h, h), "h(T) is the caller's own copy");
    assert.throws(() => bpttBackward(c.cell, p, older, { dhT: randn([2, 5], rng) }), /reused by a later forward pass/);
    assert.throws(() => older.hs, /reused its workspace/);
  });
}

test("a layer's training passes reuse its workspace; its inference passes do not touch it", () => {
  const rng = new Rng(32);
  const l = new LSTM(4, { returnSequences: true });
  l.build([5, 2], rng);
  const x = randn([3, 5, 2], rng), dOut = randn([3, 5, 4], rng);
  const a = l.forward(x, { training: true });
  const ga = l.backward(dOut, a.cache).grads.map((g) => Array.from(g.data));
  const first = l.forward(x, { training: true });
  l.forward(randn([3, 5, 2], rng), { training: false }); // a prediction between forward and backward
  const gb = l.backward(dOut, first.cache).grads.map((g) => Array.from(g.data));
  assert.equal(gb, ga);
  l.forward(randn([3, 5, 2], rng), { training: true });
  assert.throws(() => l.backward(dOut, first.cache), /reused by a later forward pass/);
});

for (const c of CASES) {
  test(`${c.name}: the weight gradients alone (no ∂L/∂x) are the bits of the full backward pass, on both paths`, () => {
    const rng = new Rng(33);
    const p = c.params(3, 5, rng);
    const x = randn([6, 7, 3], rng), dhs = randn([6, 7, 5], rng);
    for (const stepwise of [false, true]) {
      const fwd = bpttForward(c.cell, p, x, { h0: randn([5], rng, 0.5) }, { stepwise });
      const full = bpttBackward(c.cell, p, fwd, { dhs, stepwise });
      const only = bpttWeightGradients(c.cell, p, fwd, { dhs, stepwise });
      assert.ok(!("dx" in only), "no dx");
      for (const k of Object.keys(p)) assert.equal(Array.from(only.grads[k].data), Array.from(full.grads[k].data), `∂L/∂${k} stepwise=${stepwise}`);
      assert.equal(Array.from((only.dh0 as Tensor).data), Array.from((full.dh0 as Tensor).data));
      assert.equal(only.dLdhNorms, full.dLdhNorms);
    }
  });
}

test("a recurrent layer's paramGradients (the model's first layer) equal its backward pass's gradients", () => {
  const rng = new Rng(34);
  const l = new LSTM(4, { trainableInitialState: true });
  l.build([5, 2], rng);
  const x = randn([3, 5, 2], rng), dOut = randn([3, 4], rng);
  const { cache } = l.forward(x, { training: true });
  const a = l.backward(dOut, cache).grads, b = l.paramGradients(dOut, cache);
  assert.is(b.length, a.length);
  a.forEach((g, i) => assert.equal(Array.from(b[i].data), Array.from(g.data)));
});

test("large recurrent kernels (dz·Uᵀ by matmulABt): still bit-identical to the loop", () => {
  // U has more than 128×128 entries and the batch 32 rows: timesTransposed's other branch in bptt-sequence.ts
  for (const c of [CASES[0], CASES[2], CASES[3]]) {
    const rng = new Rng(35);
    const u = c.name === "LSTM" ? 65 : c.name === "GRU" ? 75 : 130;
    const p = c.params(2, u, rng);
    const x = randn([32, 3, 2], rng), dhs = randn([32, 3, u], rng);
    const fast = bpttForward(c.cell, p, x), slow = bpttForward(c.cell, p, x, {}, { stepwise: true });
    assert.ok(fast.hs.data.every((v, i) => Object.is(v, slow.hs.data[i])), `${c.name}: h(1..T)`);
    const fb = bpttBackward(c.cell, p, fast, { dhs }), sb = bpttBackward(c.cell, p, slow, { dhs, stepwise: true });
    for (const k of Object.keys(p)) assert.ok(fb.grads[k].data.every((v, i) => Object.is(v, sb.grads[k].data[i])), `${c.name}: ∂L/∂${k}`);
    assert.ok(fb.dx.data.every((v, i) => Object.is(v, sb.dx.data[i])), `${c.name}: dx`);
  }
});

// ---------------------------------------------------------------- the default zero state h(0) = 0

/** Entry by entry equal with === (−0 and +0 count as the same): bit-identical but for the sign of an exact zero. */
function sameButZeroSign(a: Tensor, b: Tensor, what: string): void {
  assert.equal(a.shape, b.shape, `${what}: shape`);
  const i = a.data.findIndex((v, k) => v !== b.data[k]);
  assert.ok(i < 0, `${what}: entry ${i} differs, ${a.data[i]} against ${b.data[i]}`);
}

for (const c of CASES) {
  test(`${c.name}: the products skipped from the default h(0) = 0 change no result (against a given zero state and the loop)`, () => {
    // T = 2 as in chapter 10, T = 1 (all of ∂L/∂U skipped), T = 5; N = 5 is not a multiple of 4 (then 1e-12, not bits)
    for (const [N, T, seed] of [[8, 2, 41], [4, 1, 42], [8, 5, 43], [5, 2, 44]]) {
      const rng = new Rng(seed), u = 6;
      const p = c.params(3, u, rng);
      const x = randn([N, T, 3], rng), dhs = randn([N, T, u], rng);
      const zero: InitialState = { h0: new Tensor([N, u]), ...(c.cell.hasCellState ? { c0: new Tensor([N, u]) } : {}) };
      const def = bpttForward(c.cell, p, x); // the default state: its products are skipped
      const given = bpttForward(c.cell, p, x, zero); // the same zeros given: multiplied
      const slow = bpttForward(c.cell, p, x, zero, { stepwise: true });
      assert.is(def.seq?.zeroStart, true, "the default state is known to be zero");
      assert.is(given.seq?.zeroStart, false, "a given state is not skipped, even an all-zero one");
      const eq = N % 4 === 0 ? sameButZeroSign : close;
      for (const [name, other] of [["given zero state", given], ["loop", slow]] as const) {
        const what = `${c.name} N=${N} T=${T} default vs ${name}`;
        eq(def.hs, other.hs, `${what}: h(1..T)`);
        if (c.cell.hasCellState) eq(def.cs as Tensor, other.cs as Tensor, `${what}: c(1..T)`);
        for (const initialStateGrad of [true, false]) {
          const a = bpttBackward(c.cell, p, def, { dhs, initialStateGrad });
          const b = bpttBackward(c.cell, p, other, { dhs, initialStateGrad, stepwise: other === slow });
          for (const k of Object.keys(p)) eq(a.grads[k], b.grads[k], `${what}: ∂L/∂${k}`);
          eq(a.dx, b.dx, `${what}: dx`);
          if (initialStateGrad) eq(a.dh0 as Tensor, b.dh0 as Tensor, `${what}: ∂L/∂h(0)`);
          else assert.ok(a.dh0 === null && b.dh0 === null, `${what}: no ∂L/∂h(0) asked for`);
        }
      }
    }
    // and the finite-difference check from the default state
    const rng = new Rng(45);
    assertSequenceGradCheck(sequenceGradCheck(c.cell, c.params(2, 3, rng), randn([2, 2, 2], rng)));
  });

  test(`${c.name}: a given non-zero initial state is multiplied (the fast path equals the loop and differs from h(0) = 0)`, () => {
    const rng = new Rng(46), N = 8, T = 2, u = 5;
    const p = c.params(2, u, rng);
    const x = randn([N, T, 2], rng), dhs = randn([N, T, u], rng);
    for (const shape of [[N, u], [u]]) {
      const init: InitialState = { h0: randn(shape, rng, 0.5), ...(c.cell.hasCellState ? { c0: randn(shape, rng, 0.5) } : {}) };
      const fast = bpttForward(c.cell, p, x, init), slow = bpttForward(c.cell, p, x, init, { stepwise: true });
      assert.is(fast.seq?.zeroStart, false);
      sameButZeroSign(fast.hs, slow.hs, `${c.name} h(1..T)`);
      const fb = bpttBackward(c.cell, p, fast, { dhs }), sb = bpttBackward(c.cell, p, slow, { dhs, stepwise: true });
      for (const k of Object.keys(p)) sameButZeroSign(fb.grads[k], sb.grads[k], `${c.name} ∂L/∂${k}`);
      // had h(0)·U or h(0)ᵀdz(1) been skipped, these would equal the zero state's
      const def = bpttForward(c.cell, p, x);
      assert.ok(relDiff(fast.hs, def.hs) > 1e-3, `${c.name}: h(1..T) from the given state differ from h(0) = 0's`);
      const db = bpttBackward(c.cell, p, def, { dhs });
      assert.ok(relDiff(fb.grads[c.cell.recurrentKey], db.grads[c.cell.recurrentKey]) > 1e-3, `${c.name}: ∂L/∂U differs`);
    }
  });
}

test("a layer starts from the known zero state unless its initial state is learned, in training and in prediction", () => {
  const rng = new Rng(47);
  const x = randn([4, 2, 3], rng);
  for (const trainableInitialState of [false, true]) {
    const l = new LSTM(4, { trainableInitialState });
    l.build([2, 3], rng);
    for (const training of [true, false]) assert.is(l.forward(x, { training }).cache.fwd.seq?.zeroStart, !trainableInitialState, `learned h(0): ${trainableInitialState}, training: ${training}`);
  }
});

test.run();
