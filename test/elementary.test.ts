import { test } from "uvu";
import * as assert from "uvu/assert";
import { tanh, expm1, exp, tanhArray, sigmoidArray } from "../lib/elementary.ts";
import { sigmoid } from "../lib/activations.ts";
import { Rng } from "../lib/random.ts";

// Bit-identity with V8's Math functions: compared as 64-bit patterns (Object.is for NaN, whose payload may differ).
const f64 = new Float64Array(1), u64 = new BigUint64Array(f64.buffer);
const bits = (v: number): bigint => {
  f64[0] = v;
  return u64[0];
};
const fromBits = (b: bigint): number => {
  u64[0] = b;
  return f64[0];
};
const same = (a: number, b: number): boolean => (Number.isNaN(a) ? Number.isNaN(b) : bits(a) === bits(b));

/** Each value, its ±1..±4-ulp neighbours, and their negatives. */
function around(values: number[]): Float64Array {
  const out: number[] = [];
  for (const v of values) {
    const b = bits(Math.abs(v));
    for (let d = -4n; d <= 4n; d++) {
      if (b + d < 0n) continue;
      const w = fromBits(b + d);
      out.push(w, -w);
    }
  }
  return Float64Array.from(out);
}

const LN2 = Math.LN2;
const specials = [0, -0, Infinity, -Infinity, NaN, 5e-324, -5e-324, 2 ** -1022, 2 ** -1023, -(2 ** -1050), Number.MAX_VALUE, -Number.MAX_VALUE, 1, -1, Math.E];
// every bound the algorithms branch on: tanh's 2^-28, 1, 22; expm1's and exp's 2^-54, 2^-28, ln2/2, 3ln2/2, 56 ln2, 709.78, −745.13, and
// the bounds halved (tanh calls expm1 on ±2|x|); multiples of ln2 (k changes between them) and halfway between them (k rounds there)
const bounds = [2 ** -54, 2 ** -28, 2 ** -27, 2 ** -29, 1, 0.5, 22, 11, 44, 0.5 * LN2, 1.5 * LN2, 0.25 * LN2, 0.75 * LN2, 0.3465735912322998, 1.0397205352783203, 0.1732867956161499, 0.5198602676391602, 56 * LN2, 28 * LN2, 38.81622314453125, 709.7822265625, 709.782712893384, 745.1332191019411, 1024 * LN2, 1021 * LN2, 1075 * LN2];
for (let k = 1; k <= 70; k++) bounds.push(k * LN2, (k + 0.5) * LN2, (k * LN2) / 2, ((k + 0.5) * LN2) / 2);

/** Seeded inputs: uniform on [-1, 1], [-5, 5], [-30, 30], and signed log-uniform magnitudes 1e-10 .. 1e3. */
function randomInputs(n: number, seed: number): Float64Array {
  const rng = new Rng(seed), x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = i % 4;
    x[i] =
      m === 0 ? rng.uniform(-1, 1)
      : m === 1 ? rng.uniform(-5, 5)
      : m === 2 ? rng.uniform(-30, 30)
      : (rng.uniform(0, 1) < 0.5 ? -1 : 1) * 10 ** rng.uniform(-10, 3);
  }
  return x;
}

function mismatches(name: string, f: (x: number) => number, g: (x: number) => number, xs: Float64Array): string[] {
  const bad: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    const a = f(xs[i]), b = g(xs[i]);
    if (!same(a, b) && bad.length < 5) bad.push(`${name}(${xs[i]}) = ${a}, Math.${name} gives ${b}`);
  }
  return bad;
}

const edge = around([...specials, ...bounds]);

test("tanh, expm1 and exp equal Math.tanh, Math.expm1 and Math.exp bit for bit at special values and around every branch bound", () => {
  assert.ok(edge.length > 2000);
  assert.equal(mismatches("tanh", tanh, Math.tanh, edge), []);
  assert.equal(mismatches("expm1", expm1, Math.expm1, edge), []);
  assert.equal(mismatches("exp", exp, Math.exp, edge), []);
  // what the comparison rests on: the signs of zero survive
  assert.ok(Object.is(tanh(-0), -0) && Object.is(expm1(-0), -0) && exp(-0) === 1);
});

test("tanh, expm1 and exp equal Math's bit for bit on 2 million seeded random inputs each", () => {
  const xs = randomInputs(2_000_000, 1);
  assert.equal(mismatches("tanh", tanh, Math.tanh, xs), []);
  assert.equal(mismatches("expm1", expm1, Math.expm1, xs), []);
  // exp on a range where it neither overflows nor underflows everywhere: x·30 covers (−900, 900)
  for (let i = 0; i < xs.length; i++) xs[i] *= 30;
  assert.equal(mismatches("exp", exp, Math.exp, xs), []);
});

test("tanhArray equals Math.tanh bit for bit (edge values, 2 million random inputs, in place too)", () => {
  for (const xs of [edge, randomInputs(2_000_000, 2)]) {
    const out = new Float64Array(xs.length);
    tanhArray(xs, out);
    const bad: string[] = [];
    for (let i = 0; i < xs.length; i++) if (!same(out[i], Math.tanh(xs[i])) && bad.length < 5) bad.push(`tanhArray at ${xs[i]}: ${out[i]}, Math.tanh ${Math.tanh(xs[i])}`);
    assert.equal(bad, []);
    const inPlace = xs.slice();
    tanhArray(inPlace, inPlace);
    assert.ok(inPlace.every((v, i) => same(v, out[i])));
  }
});

test("sigmoidArray equals 1 / (1 + Math.exp(-x)) (activations.ts's sigmoid) bit for bit (edge values, 2 million random inputs, in place too)", () => {
  // the exp argument is −x: the edge values (all signed) cover exp's bounds; ×30 spreads the random inputs over (−900, 900)
  const random = randomInputs(2_000_000, 3);
  for (let i = 0; i < random.length; i += 2) random[i] *= 30;
  for (const xs of [edge, random]) {
    const out = new Float64Array(xs.length);
    sigmoidArray(xs, out);
    const bad: string[] = [];
    for (let i = 0; i < xs.length; i++) if (!same(out[i], sigmoid(xs[i])) && bad.length < 5) bad.push(`sigmoidArray at ${xs[i]}: ${out[i]}, sigmoid ${sigmoid(xs[i])}`);
    assert.equal(bad, []);
    const inPlace = xs.slice();
    sigmoidArray(inPlace, inPlace);
    assert.ok(inPlace.every((v, i) => same(v, out[i])));
  }
});

test("tanhArray and sigmoidArray write only their range [from, to), and refuse a bad range or a short output", () => {
  const x = Float64Array.from([0.5, -2, 3, 0.25, -1]);
  for (const [f, ref] of [[tanhArray, Math.tanh], [sigmoidArray, sigmoid]] as const) {
    const out = new Float64Array(5).fill(7);
    f(x, out, 1, 4);
    assert.equal(Array.from(out), [7, ref(-2), ref(3), ref(0.25), 7]);
    assert.throws(() => f(x, new Float64Array(3)), /out has 3 elements, the range needs 5/);
    assert.throws(() => f(x, out, 2, 6), /range \[2, 6\) is not within x's 5 elements/);
    assert.throws(() => f(x, out, 3, 2), /range \[3, 2\)/);
  }
});

test.run();
