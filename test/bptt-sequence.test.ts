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
import { randn } from "./_helpers.ts";

/** max|a − b| / max|b|: the size of a change relative to the tensor's scale. */
function relDiff(a: Tensor, b: Tensor, what: string): number {
  assert.equal(a.shape, b.shape, `${what}: shape`);
  let d = 0, s = 0;
  for (let i = 0; i < a.size; i++) {
    d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
    s = Math.max(s, Math.abs(b.data[i]));
  }
  return s === 0 ? d : d / s;
}

function close(a: Tensor, b: Tensor, what: string, tol = 1e-12): void {
  const r = relDiff(a, b, what);
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
    const x = randn([8, 9, 3], rng), dhs = randn([8, 9, 6], rng);
    const init: InitialState = { h0: randn([8, 6], rng, 0.5), ...(c.cell.hasCellState ? { c0: randn([8, 6], rng, 0.5) } : {}) };
    const fb = bpttBackward(c.cell, p, bpttForward(c.cell, p, x, init), { dhs, truncate: 4 });
    const sb = bpttBackward(c.cell, p, bpttForward(c.cell, p, x, init, { stepwise: true }), { dhs, truncate: 4, stepwise: true });
    const same = (a: Tensor, b: Tensor) => a.data.every((v, i) => Object.is(v, b.data[i]));
    for (const k of Object.keys(p)) assert.ok(same(fb.grads[k], sb.grads[k]), `∂L/∂${k}`);
    assert.ok(same(fb.dx, sb.dx), "dx");
    assert.ok(same(fb.dh0 as Tensor, sb.dh0 as Tensor), "dh0");
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
    const same = (a: Tensor, b: Tensor) => a.size === b.size && a.data.every((v, i) => Object.is(v, b.data[i]));
    // two sizes in turn, so the workspace's arrays are grown, then reused with stale contents
    for (const [N, T] of [[4, 6], [3, 9], [4, 6], [2, 3]]) {
      const x = randn([N, T, 3], rng), dhs = randn([N, T, 5], rng);
      const init: InitialState = { h0: randn([N, 5], rng, 0.5), ...(c.cell.hasCellState ? { c0: randn([N, 5], rng, 0.5) } : {}) };
      const fresh = bpttForward(c.cell, p, x, init);
      const reused = bpttForward(c.cell, p, x, init, { workspace: ws });
      assert.ok(same(reused.last.h, fresh.last.h), "h(T)");
      const fb = bpttBackward(c.cell, p, fresh, { dhs, truncate: 4 });
      const rb = bpttBackward(c.cell, p, reused, { dhs, truncate: 4 });
      for (const k of Object.keys(p)) assert.ok(same(rb.grads[k], fb.grads[k]), `∂L/∂${k} N=${N} T=${T}`);
      assert.ok(same(rb.dx, fb.dx) && same(rb.dh0 as Tensor, fb.dh0 as Tensor), `dx, dh0 N=${N} T=${T}`);
      assert.ok(same(reused.hs, fresh.hs), "h(1..T), made when read");
      if (c.cell.hasCellState) assert.ok(same(reused.cs as Tensor, fresh.cs as Tensor), "c(1..T)");
    }
    const x = randn([2, 4, 3], rng);
    const older = bpttForward(c.cell, p, x, {}, { workspace: ws });
    const h = older.last.h.clone();
    bpttForward(c.cell, p, randn([2, 4, 3], rng), {}, { workspace: ws });
    assert.ok(same(older.last.h, h), "h(T) is the caller's own copy");
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

test("large recurrent kernels (h·U as (hᵀ)ᵀ·U, dz·Uᵀ by matmulABt): still bit-identical to the loop", () => {
  // U has more than 128×128 entries and the batch 32 rows: the step products' other branch in bptt-sequence.ts
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

test.run();
