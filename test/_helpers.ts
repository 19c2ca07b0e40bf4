/** Small helpers shared by the tests (not a test file itself). */
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Tensor } from "../lib/matrix.ts";
import { Rng, normalTensor } from "../lib/random.ts";
import { numericalGradient, relError } from "../lib/gradcheck.ts";

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
