/** Small helpers shared by the tests (not a test file itself). */
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Tensor } from "../lib/matrix.ts";
import { Rng, normalTensor } from "../lib/random.ts";
import { numericalGradient, relError } from "../lib/gradcheck.ts";
import type { RnnParams } from "../lib/rnn.ts";
import type { SequenceGradCheck } from "../chapters/_shared/bptt-gradcheck.ts";

export const TOL = 1e-7;

export function randn(shape: number[], rng: Rng, std = 1): Tensor {
  return normalTensor(shape, 0, std, rng);
}

/** Asserts that `analytic` matches the centred-difference gradient of the scalar `f` with respect to `x`. */
export function assertGrad(name: string, f: () => number, x: Tensor, analytic: Tensor, tol = TOL, h = 1e-5): number {
  const numeric = numericalGradient(f, x, h);
  const err = relError(analytic, numeric);
  assert.ok(err < tol, `${name}: relative error ${err.toExponential(2)} ≥ ${tol}`);
  // A check that compares two zero vectors proves nothing.
  assert.ok(numeric.data.some((v) => Math.abs(v) > 1e-6), `${name}: the numerical gradient is (almost) zero, the check is vacuous`);
  return err;
}

/** The largest entrywise difference of two tensors of the same shape. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.equal(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** max|a − b| / max|b| (max|a − b| itself where b is all zero): the size of a change relative to the tensor's scale. */
export function relDiff(a: Tensor, b: Tensor): number {
  const d = maxAbsDiff(a, b);
  let s = 0;
  for (const v of b.data) s = Math.max(s, Math.abs(v));
  return s === 0 ? d : d / s;
}

/** The same size and the same bits in every entry (Object.is: −0 is not 0, NaN is NaN). */
export function bitIdentical(a: Tensor, b: Tensor): boolean {
  return a.size === b.size && a.data.every((v, i) => Object.is(v, b.data[i]));
}

/** SimpleRNN weights W_hx (F, u), W_hh (u, u) with standard deviation whhStd, and random NON-ZERO biases b_h (u). */
export function rnnParams(F: number, u: number, rng: Rng, whhStd = 0.5): RnnParams {
  return { Whx: randn([F, u], rng, 0.6), Whh: randn([u, u], rng, whhStd), bh: randn([u], rng, 0.4) };
}

/** A sequence gradient check passed: every relative error below TOL, and no numerical gradient (almost) zero, which would make it vacuous. */
export function assertSequenceGradCheck(r: SequenceGradCheck): void {
  assert.ok(r.maxRelError < TOL, `max relative error ${r.maxRelError.toExponential(2)}: ${JSON.stringify(r.errors)}`);
  for (const [k, m] of Object.entries(r.maxAbs)) assert.ok(m > 1e-6, `${k}: the numerical gradient is (almost) zero, the check is vacuous`);
}

/**
 * Asserts that J (out, in) is the Jacobian of f at v: column m against the centred difference
 * (f(v + ε e_m) − f(v − ε e_m)) / 2ε, every entry to tol.
 */
export function assertJacobianFD(f: (v: Float64Array) => ArrayLike<number>, v: Float64Array, J: Tensor, what: string, tol = 1e-8, eps = 1e-6): void {
  const [rows, cols] = J.shape;
  assert.is(cols, v.length, `${what}: ${cols} columns for ${v.length} inputs`);
  for (let m = 0; m < cols; m++) {
    const a = v.slice(), b = v.slice();
    a[m] += eps;
    b[m] -= eps;
    const fa = f(a), fb = f(b);
    assert.is(fa.length, rows, `${what}: ${fa.length} outputs for ${rows} rows`);
    for (let j = 0; j < rows; j++) assert.ok(Math.abs((fa[j] - fb[j]) / (2 * eps) - J.get(j, m)) < tol, `${what}(${j}, ${m})`);
  }
}

/** Σ y·dOut, the scalar whose gradient a backward pass with upstream dOut computes. */
export function weighted(y: Tensor, dOut: Tensor): number {
  let s = 0;
  for (let i = 0; i < y.size; i++) s += y.data[i] * dOut.data[i];
  return s;
}

export function assertThrowsMatching(fn: () => unknown, pattern: RegExp, what: string): void {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, pattern, `${what}: message was '${msg}'`);
    return;
  }
  assert.unreachable(`${what}: expected an error matching ${pattern}`);
}

/** The project's tsx, for tests that run a script as a user does. */
export const TSX = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));

/** The path of chapters/NAME.ts. */
export function chapterPath(name: string): string {
  return fileURLToPath(new URL(`../chapters/${name}.ts`, import.meta.url));
}

/** Runs a TypeScript file with tsx, as a user would, and returns its exit status and output. */
export function runScript(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): { code: number | null; out: string; err: string } {
  const r = spawnSync(TSX, [file, ...args], { encoding: "utf8", env: env ?? process.env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
