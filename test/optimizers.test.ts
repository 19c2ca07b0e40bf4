/** Each optimiser's first two steps against updates computed by hand from Keras's formulas and defaults. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, fromArray } from "../lib/matrix.ts";
import { SGD, RMSprop, Adam } from "../lib/optimizers.ts";
import { clipByGlobalNorm, clipByValue, globalNorm } from "../lib/clip.ts";
import type { Param } from "../lib/layer.ts";
import { Rng, normalTensor } from "../lib/random.ts";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

function twoSteps(opt: { apply(p: Param[], g: Tensor[]): void }): number[] {
  const w = fromArray([1.0, -2.0]);
  const p: Param[] = [{ name: "w", value: w }];
  opt.apply(p, [fromArray([0.5, -1.0])]);
  const after1 = Array.from(w.data);
  opt.apply(p, [fromArray([0.25, 2.0])]);
  return [...after1, ...w.data];
}

test("SGD defaults: lr 0.01, no momentum", () => {
  const [a, b, c, d] = twoSteps(new SGD());
  close(a, 1 - 0.01 * 0.5, "w0 step 1");
  close(b, -2 + 0.01 * 1, "w1 step 1");
  close(c, a - 0.01 * 0.25, "w0 step 2");
  close(d, b - 0.01 * 2, "w1 step 2");
});

test("SGD with momentum and with Nesterov", () => {
  const lr = 0.1, mu = 0.9;
  let [a, , c] = twoSteps(new SGD({ learningRate: lr, momentum: mu }));
  let v = -lr * 0.5; // v1
  close(a, 1 + v, "momentum step 1");
  v = mu * v - lr * 0.25;
  close(c, 1 + -lr * 0.5 + v, "momentum step 2");
  [a, , c] = twoSteps(new SGD({ learningRate: lr, momentum: mu, nesterov: true }));
  let v1 = -lr * 0.5;
  const w1 = 1 + mu * v1 - lr * 0.5;
  close(a, w1, "nesterov step 1");
  const v2 = mu * v1 - lr * 0.25;
  close(c, w1 + mu * v2 - lr * 0.25, "nesterov step 2");
});

test("RMSprop defaults: lr 1e-3, ρ 0.9, ε 1e-7", () => {
  const [a, , c] = twoSteps(new RMSprop());
  const v1 = 0.1 * 0.25;
  const w1 = 1 - (1e-3 * 0.5) / (Math.sqrt(v1) + 1e-7);
  close(a, w1, "step 1");
  const v2 = 0.9 * v1 + 0.1 * 0.0625;
  close(c, w1 - (1e-3 * 0.25) / (Math.sqrt(v2) + 1e-7), "step 2");
});

test("Adam defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7, with Keras's α_t", () => {
  const [a, , c] = twoSteps(new Adam());
  let m = 0.1 * 0.5, v = 0.001 * 0.25;
  let alpha = (1e-3 * Math.sqrt(1 - 0.999)) / (1 - 0.9);
  const w1 = 1 - (alpha * m) / (Math.sqrt(v) + 1e-7);
  close(a, w1, "step 1");
  m = 0.9 * m + 0.1 * 0.25;
  v = 0.999 * v + 0.001 * 0.0625;
  alpha = (1e-3 * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.9 ** 2);
  close(c, w1 - (alpha * m) / (Math.sqrt(v) + 1e-7), "step 2");
});

test("clipping by global norm keeps the direction; by value clips each entry", () => {
  const g = [fromArray([3, 0]), fromArray([[0, 4]])];
  const { grads, normBefore, normAfter } = clipByGlobalNorm(g, 1);
  close(normBefore, 5, "before");
  close(normAfter, 1, "after");
  close(globalNorm(grads), 1, "clipped norm");
  close(grads[0].data[0], 0.6, "direction x");
  close(grads[1].data[1], 0.8, "direction y");
  assert.equal(Array.from(g[0].data), [3, 0], "the input is unchanged");
  assert.equal(clipByGlobalNorm(g, 10).normAfter, 5, "below the threshold nothing changes");
  assert.equal(Array.from(clipByValue([fromArray([-3, 0.5, 2])], 1)[0].data), [-1, 0.5, 1]);
});

test("an optimiser rejects a gradient of the wrong shape", () => {
  const p: Param[] = [{ name: "kernel", value: new Tensor([2, 3]) }];
  assert.throws(() => new SGD().apply(p, [new Tensor([3, 2, 1])]), /kernel.*\(2, 3\).*\(3, 2, 1\)/);
});

/** The per-element reference the fused loops replaced: Keras's formulas written out, state indexed by parameter. */
function referenceSteps(kind: "Adam" | "RMSprop", w: Float64Array[], gs: Float64Array[][]): void {
  const m = w.map((x) => new Float64Array(x.length)), v = w.map((x) => new Float64Array(x.length));
  gs.forEach((g, step) => {
    const t = step + 1;
    const alpha = (1e-3 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
    w.forEach((wk, k) => {
      for (let i = 0; i < wk.length; i++) {
        if (kind === "Adam") {
          m[k][i] = 0.9 * m[k][i] + (1 - 0.9) * g[k][i];
          v[k][i] = 0.999 * v[k][i] + (1 - 0.999) * g[k][i] * g[k][i];
          wk[i] -= (alpha * m[k][i]) / (Math.sqrt(v[k][i]) + 1e-7);
        } else {
          v[k][i] = 0.9 * v[k][i] + (1 - 0.9) * g[k][i] * g[k][i];
          wk[i] -= (1e-3 * g[k][i]) / (Math.sqrt(v[k][i]) + 1e-7);
        }
      }
    });
  });
}

test("Adam's and RMSprop's fused loops equal the per-element reference bit for bit over 5 steps", () => {
  for (const kind of ["Adam", "RMSprop"] as const) {
    const rng = new Rng(4);
    const shapes = [[7, 5], [5], [3, 1]];
    const params: Param[] = shapes.map((s, k) => ({ name: `p${k}`, value: normalTensor(s, 0, 1, rng) }));
    const ref = params.map((p) => p.value.data.slice());
    const gs = Array.from({ length: 5 }, () => shapes.map((s) => normalTensor(s, 0, 0.1, rng)));
    const opt = kind === "Adam" ? new Adam() : new RMSprop();
    for (const g of gs) opt.apply(params, g);
    referenceSteps(kind, ref, gs.map((g) => g.map((t) => t.data)));
    params.forEach((p, k) => p.value.data.forEach((x, i) => assert.ok(Object.is(x, ref[k][i]), `${kind} ${p.name}[${i}]: ${x} vs ${ref[k][i]}`)));
  }
});

test.run();
