/**
 * tanh, expm1 and exp in TypeScript, giving the same bits as V8's Math.tanh, Math.expm1 and Math.exp;
 * and tanhArray and sigmoidArray, the same computations over an array, faster than Math's.
 *
 * Why: V8 computes those three with its port of fdlibm (src/base/ieee754.cc), and optimised code
 * reaches it through a call out of JIT code into C. Doing the same floating-point operations in the
 * same order in JS gives the same bits, since every step is one IEEE-754 double operation (no FMA, no
 * extended precision) rounded as the C code rounds it; test/elementary.test.ts checks this on
 * millions of inputs and around every bound the algorithms branch on.
 * The scalar tanh, expm1 and exp below are the readable ports, and the references; they are not
 * faster than Math's (measured: too large for V8 to inline, and a call that is not inlined returns
 * its double boxed on the heap). The speed comes from the loops tanhArray and sigmoidArray.
 *
 * The algorithms are fdlibm's (Sun, 1993):
 *  - expm1(x) = e^x − 1: reduce x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split into a 32-bit head, so k·head
 *    is exact, and a tail), then e^r − 1 from a rational form in r whose correction R(r²) is a degree-5
 *    polynomial (Q1..Q5), then scale by 2^k, arranged per k so no cancellation loses bits.
 *  - tanh(x) = sign(x) · f(|x|): x for |x| < 2^-28; −t/(t+2) with t = expm1(−2|x|) for |x| < 1;
 *    1 − 2/(t+2) with t = expm1(2|x|) for |x| < 22; 1 beyond (tanh(22) rounds to 1).
 *  - exp(x): the same reduction, e^r = 1 + 2r/(R(r) − r) with R's remez polynomial P1..P5, scaled by 2^k.
 *
 * fdlibm tests ranges on the high 32 bits of |x|; here each such test is the equivalent comparison
 * of |x| with the double whose high word is the bound and whose low word is 0 (HW(...) below),
 * which needs no access to the bits at run time (measured faster than reading the high word
 * through a shared Float64Array/Int32Array view).
 */

/** The double with high word `hi` and low word `lo` (little- or big-endian alike: DataView is big-endian). */
function fromWords(hi: number, lo: number): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, hi >>> 0);
  v.setUint32(4, lo >>> 0);
  return v.getFloat64(0);
}
/** The smallest |x| whose high word is ≥ hw: "high word of |x| ≥ hw" ⇔ |x| ≥ HW(hw). */
const HW = (hw: number): number => fromWords(hw, 0);

// ln 2 = LN2_HI + LN2_LO, the head with 21 trailing zero bits so k·LN2_HI is exact for |k| < 2^21
const LN2_HI = fromWords(0x3fe62e42, 0xfee00000);
const LN2_LO = fromWords(0x3dea39ef, 0x35793c76);
const INV_LN2 = fromWords(0x3ff71547, 0x652b82fe);
/** Above this, e^x overflows (ln of the largest double). */
const OVERFLOW_X = fromWords(0x40862e42, 0xfefa39ef);
/** Below this, e^x underflows to 0. */
const UNDERFLOW_X = fromWords(0xc0874910, 0xd52d3051);
/** e as a double: exp(1) is returned directly (the reduction below would round it one bit off). */
const E = fromWords(0x4005bf0a, 0x8b145769);
const TWO_1023 = fromWords(0x7fe00000, 0);

// expm1's correction R(z) = 1 + z(Q1 + z(Q2 + …)), z = r²/2
const Q1 = fromWords(0xbfa11111, 0x111110f4);
const Q2 = fromWords(0x3f5a01a0, 0x19fe5585);
const Q3 = fromWords(0xbf14ce19, 0x9eaadbb7);
const Q4 = fromWords(0x3ed0cfca, 0x86e65239);
const Q5 = fromWords(0xbe8afdb7, 0x6e09c32d);
// exp's R(t) = t(P1 + t(P2 + …)), t = r²
const P1 = fromWords(0x3fc55555, 0x5555553e);
const P2 = fromWords(0xbf66c16c, 0x16bebd93);
const P3 = fromWords(0x3f11566a, 0xaf25de2c);
const P4 = fromWords(0xbebbbd41, 0xc5d26bf1);
const P5 = fromWords(0x3e663769, 0x72bea4d0);

// the range tests, as bounds on |x|
const HALF_LN2_BOUND = HW(0x3fd62e43); // |x| > 0.5·ln2 (high word > 0x3fd62e42)
const THREE_HALVES_LN2_BOUND = HW(0x3ff0a2b2); // |x| < 1.5·ln2
const EXPM1_BIG = HW(0x4043687a); // |x| ≥ 56·ln2: expm1(x) rounds to −1 for negative x
const EXP_BIG = HW(0x40862e42); // |x| ≥ 709.78…: overflow, underflow, Infinity, NaN
const TWO_M28 = HW(0x3e300000);
const TWO_M54 = HW(0x3c900000);

/** 2^k for k = −1074 … 1023 (all exact), at index k + 1074. */
const POW2_OFFSET = 1074;
const POW2 = new Float64Array(1074 + 1024);
POW2[POW2_OFFSET] = 1;
for (let k = 1; k <= 1023; k++) POW2[POW2_OFFSET + k] = POW2[POW2_OFFSET + k - 1] * 2;
for (let k = -1; k >= -1074; k--) POW2[POW2_OFFSET + k] = POW2[POW2_OFFSET + k + 1] * 0.5;

/** e^x − 1, bit-identical to Math.expm1 (fdlibm's s_expm1.c). */
export function expm1(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < EXPM1_BIG)) {
    if (!(ax < EXP_BIG)) {
      if (x !== x) return x;
      if (ax === Infinity) return x > 0 ? x : -1;
      if (x > OVERFLOW_X) return Infinity;
    }
    if (x < 0) return -1;
  }
  // x = k·ln2 + r, r = hi − lo carried as r and its rounding error c
  let k = 0, c = 0, r = x;
  if (ax >= HALF_LN2_BOUND) {
    let hi: number, lo: number;
    if (ax < THREE_HALVES_LN2_BOUND) {
      k = x > 0 ? 1 : -1;
      hi = x > 0 ? x - LN2_HI : x + LN2_HI;
      lo = x > 0 ? LN2_LO : -LN2_LO;
    } else {
      k = (INV_LN2 * x + (x > 0 ? 0.5 : -0.5)) | 0; // rounds k·ln2 to nearest x, truncating as C's int cast does
      hi = x - k * LN2_HI;
      lo = k * LN2_LO;
    }
    r = hi - lo;
    c = hi - r - lo;
  } else if (ax < TWO_M54) {
    return x; // e^x − 1 = x to double precision (keeps −0)
  }
  // e^r − 1 = r + r²/2 + r³/6 · R-correction, in the rational form that keeps full precision
  const hr = 0.5 * r;
  const hrr = r * hr;
  const R = 1 + hrr * (Q1 + hrr * (Q2 + hrr * (Q3 + hrr * (Q4 + hrr * Q5))));
  const t = 3 - R * hr;
  let e = hrr * ((R - t) / (6 - r * t));
  if (k === 0) return r - (r * e - hrr);
  e = r * (e - c) - c;
  e -= hrr;
  // e^x − 1 = 2^k (1 + r − e) − 1, each k grouped to avoid cancellation
  if (k === -1) return 0.5 * (r - e) - 0.5;
  if (k === 1) return r < -0.25 ? -2 * (e - (r + 0.5)) : 1 + 2 * (r - e);
  if (k <= -2 || k > 56) {
    const y = 1 - (e - r);
    return (k === 1024 ? y * 2 * TWO_1023 : y * POW2[POW2_OFFSET + k]) - 1;
  }
  if (k < 20) return (1 - POW2[POW2_OFFSET - k] - (e - r)) * POW2[POW2_OFFSET + k];
  return (r - (e + POW2[POW2_OFFSET - k]) + 1) * POW2[POW2_OFFSET + k];
}

/** tanh(x), bit-identical to Math.tanh (fdlibm's s_tanh.c, on expm1 above). */
export function tanh(x: number): number {
  const ax = Math.abs(x);
  let z: number;
  if (ax < 1) {
    if (ax < TWO_M28) return x; // tanh(x) = x to double precision (keeps −0 and subnormals)
    // tanh|x| = (1 − e^(−2|x|)) / (1 + e^(−2|x|)) = −t / (t + 2), t = e^(−2|x|) − 1
    const t = expm1(-2 * ax);
    z = -t / (t + 2);
  } else if (ax < 22) {
    // tanh|x| = 1 − 2 / (e^(2|x|) + 1) = 1 − 2 / (t + 2), t = e^(2|x|) − 1
    z = 1 - 2 / (expm1(2 * ax) + 2);
  } else {
    if (x !== x) return x;
    z = 1; // |x| ≥ 22 (and ±Infinity): tanh rounds to ±1
  }
  return x < 0 ? -z : z;
}

/** e^x, bit-identical to Math.exp (fdlibm's e_exp.c). */
export function exp(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < EXP_BIG)) {
    if (x !== x) return x;
    if (ax === Infinity) return x > 0 ? x : 0;
    if (x > OVERFLOW_X) return Infinity;
    if (x < UNDERFLOW_X) return 0;
  }
  // x = k·ln2 + r, r = hi − lo
  let k = 0, hi = 0, lo = 0, r = x;
  if (ax >= HALF_LN2_BOUND) {
    if (ax < THREE_HALVES_LN2_BOUND) {
      if (x === 1) return E;
      k = x > 0 ? 1 : -1;
      hi = x > 0 ? x - LN2_HI : x + LN2_HI;
      lo = x > 0 ? LN2_LO : -LN2_LO;
    } else {
      k = (INV_LN2 * x + (x > 0 ? 0.5 : -0.5)) | 0;
      hi = x - k * LN2_HI;
      lo = k * LN2_LO;
    }
    r = hi - lo;
  } else if (ax < TWO_M28) {
    return 1 + x;
  }
  // e^r = 1 + 2r / (2 − c(r)) written as 1 + r + r·c/(2 − c), c = r − r²(P1 + r²(P2 + …))
  const t = r * r;
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((r * c) / (c - 2) - r);
  const y = 1 - (lo - (r * c) / (2 - c) - hi);
  if (k >= -1021) return k === 1024 ? y * 2 * TWO_1023 : y * POW2[POW2_OFFSET + k];
  return y * POW2[POW2_OFFSET + k + 1000] * POW2[POW2_OFFSET - 1000];
}

/**
 * out[i] = tanh(x[i]) for from ≤ i < to (all of x by default; out may be x): the same bits as
 * Math.tanh and the scalar tanh above, on an array. The fast path of the SimpleRNN's activation.
 *
 * Why a loop of its own and not a loop calling tanh(): the scalar tanh and expm1 together are too
 * large for V8 to inline, and a call that is not inlined returns its double boxed on the heap.
 * Here the whole of fdlibm's tanh sits in the loop body, split as tanh splits it (|x| < 1 calls expm1
 * on −2|x| ∈ (−2, 0), where k ∈ {0, −1, −2, −3}; 1 ≤ |x| < 22 calls it on 2|x| ∈ [2, 44), where
 * k ∈ [3, 63]), so each half keeps only the branches its k can reach. The constants (even 1 and 2)
 * are read into locals before the loop: written as literals, V8 rebuilds each double from an
 * immediate on every iteration (measured on 204,800 normal(0, 1.5) values: 1.34x faster than a loop
 * of Math.tanh; 1.25x with 0.5, 1, 2, 3, 6, 22 as literals; 0.95x, slower, with every constant a literal).
 * The one store happens on every iteration, and the table reads on every pass through their half,
 * so that no rarely taken branch lacks the optimiser's type feedback (see the warm-up below).
 */
export function tanhArray(x: Float64Array, out: Float64Array, from = 0, to = x.length): void {
  checkRange("tanhArray", x, out, from, to);
  const C = TANH_CONSTANTS, P = POW2, p0 = POW2_OFFSET;
  const invLn2 = C[0], ln2Hi = C[1], ln2Lo = C[2], q1 = C[3], q2 = C[4], q3 = C[5], q4 = C[6], q5 = C[7], noReduction = C[8], tiny = C[9], half = C[10], one = C[11], two = C[12], three = C[13], six = C[14], big = C[15];
  for (let i = from; i < to; i++) {
    const xi = x[i];
    const ax = Math.abs(xi);
    let z: number;
    if (ax < one) {
      // tanh|x| = −t / (t + 2), t = expm1(a), a = −2|x|
      const a = -two * ax;
      let t: number;
      if (ax < noReduction) {
        // k = 0: no reduction
        const hr = half * a, hrr = a * hr;
        const R = one + hrr * (q1 + hrr * (q2 + hrr * (q3 + hrr * (q4 + hrr * q5))));
        const s = three - R * hr;
        t = a - (a * (hrr * ((R - s) / (six - a * s))) - hrr);
      } else {
        // a = k·ln2 + r, k ∈ {−1, −2, −3}
        const k = (invLn2 * a - half) | 0;
        const hi = a - k * ln2Hi, lo = k * ln2Lo;
        const r = hi - lo, c = hi - r - lo;
        const hr = half * r, hrr = r * hr;
        const R = one + hrr * (q1 + hrr * (q2 + hrr * (q3 + hrr * (q4 + hrr * q5))));
        const s = three - R * hr;
        const e = r * (hrr * ((R - s) / (six - r * s)) - c) - c - hrr;
        const p = P[p0 + k];
        t = k === -1 ? half * (r - e) - half : (one - (e - r)) * p - one;
      }
      z = -t / (t + two);
    } else if (ax < big) {
      // tanh|x| = 1 − 2 / (t + 2), t = expm1(a), a = 2|x| = k·ln2 + r, k ∈ [3, 63]
      const a = two * ax;
      const k = (invLn2 * a + half) | 0;
      const hi = a - k * ln2Hi, lo = k * ln2Lo;
      const r = hi - lo, c = hi - r - lo;
      const hr = half * r, hrr = r * hr;
      const R = one + hrr * (q1 + hrr * (q2 + hrr * (q3 + hrr * (q4 + hrr * q5))));
      const s = three - R * hr;
      const e = r * (hrr * ((R - s) / (six - r * s)) - c) - c - hrr;
      const p = P[p0 + k], pInv = P[p0 - k];
      const t = k < 20 ? (one - pInv - (e - r)) * p : k <= 56 ? (r - (e + pInv) + one) * p : (one - (e - r)) * p - one;
      z = one - two / (t + two);
    } else {
      z = 1; // |x| ≥ 22, ±Infinity or NaN: handled below
    }
    // tanh x = sign(x)·tanh|x|, with x/|x| = ±1 exactly (a multiply, not a branch on the data's sign);
    // tanh x = x for |x| < 2^-28 (±0 and subnormals too); ±1 for |x| ≥ 22; NaN stays NaN
    out[i] = ax < tiny ? xi : ax < big ? z * (xi / ax) : xi > 0 ? 1 : xi < 0 ? -1 : xi;
  }
}
/** tanhArray's constants, read from memory (see there): invln2, ln2 head and tail, Q1..Q5, |x| below which 2|x| needs no reduction, 2^-28, and 0.5, 1, 2, 3, 6, 22. */
const TANH_CONSTANTS = new Float64Array([INV_LN2, LN2_HI, LN2_LO, Q1, Q2, Q3, Q4, Q5, HALF_LN2_BOUND / 2, TWO_M28, 0.5, 1, 2, 3, 6, 22]);

// Warm-up: one pass over inputs that reach every branch of tanhArray, repeated long enough for V8 to
// record type feedback for all of them. Without it a branch that real data reaches rarely (|x| ≥ 6.8,
// say) has none, and the loop compiled without it deoptimises when the branch is first taken; measured,
// a third of runs then stayed on the slower on-stack-replacement code.
{
  const reach = [0, -0, 1e-300, 1e-9, 0.05, -0.3, 0.7, -0.9, 1.5, -4, 8, -15, 21, 30, -Infinity, NaN];
  const x = new Float64Array(64 * reach.length);
  for (let i = 0; i < x.length; i++) x[i] = reach[i % reach.length];
  tanhArray(x, x);
}

/**
 * out[i] = 1 / (1 + e^(−x[i])) for from ≤ i < to (all of x by default; out may be x): the same bits as
 * activations.ts's sigmoid (on Math.exp), on an array, as tanhArray is for tanh, and for the same
 * reasons: fdlibm's exp written into the loop, its constants read into locals before it.
 * The argument's sign enters the reduction as the factor v/|v| = ±1, not as a branch: on data of
 * random sign a branch there mispredicts half the time (measured: 1.04x faster than Math.exp's
 * sigmoid with the branch, 1.25x without). (round(|v|/ln2))·(±1) is fdlibm's k, since its rounding is
 * symmetric. The arguments fdlibm treats apart (|v| < 2^-28, v = 1, |v| ≥ 700 where 2^k may be
 * subnormal, NaN) are rare and go to Math.exp itself.
 */
export function sigmoidArray(x: Float64Array, out: Float64Array, from = 0, to = x.length): void {
  checkRange("sigmoidArray", x, out, from, to);
  const C = EXP_CONSTANTS, P = POW2, p0 = POW2_OFFSET;
  const invLn2 = C[0], ln2Hi = C[1], ln2Lo = C[2], p1 = C[3], p2 = C[4], p3 = C[5], p4 = C[6], p5 = C[7], half = C[8], one = C[9], two = C[10], reduceFrom = C[11], tiny = C[12], big = C[13];
  for (let i = from; i < to; i++) {
    const v = -x[i];
    const av = Math.abs(v);
    // e^v: v = k·ln2 + r, r = hi − lo, k the integer nearest v/ln2 (0 for |v| ≤ ln2/2: no reduction;
    // 0 too for the arguments Math.exp takes below, so that 2^k's index stays in its table)
    const k = av < reduceFrom || !(av < big) ? 0 : (((invLn2 * av + half) | 0) * (v / av)) | 0;
    const hi = v - k * ln2Hi, lo = k * ln2Lo;
    const r = hi - lo;
    // e^r = 1 + r + r·c/(2 − c), c = r − r²(P1 + r²(P2 + …)), then scaled by 2^k
    const t = r * r;
    const c = r - t * (p1 + t * (p2 + t * (p3 + t * (p4 + t * p5))));
    let e = k === 0 ? one - ((r * c) / (c - two) - r) : (one - (lo - (r * c) / (two - c) - hi)) * P[p0 + k];
    if (av < tiny || !(av < big) || v === one) e = Math.exp(v);
    out[i] = one / (one + e);
  }
}
/** sigmoidArray's constants: invln2, ln2 head and tail, P1..P5, 0.5, 1, 2, the reduction's bound ln2/2, 2^-28, 700. */
const EXP_CONSTANTS = new Float64Array([INV_LN2, LN2_HI, LN2_LO, P1, P2, P3, P4, P5, 0.5, 1, 2, HALF_LN2_BOUND, TWO_M28, 700]);

function checkRange(who: string, x: Float64Array, out: Float64Array, from: number, to: number): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= x.length)) {
    throw new Error(`${who}: range [${from}, ${to}) is not within x's ${x.length} elements`);
  }
  if (out.length < to) throw new Error(`${who}: out has ${out.length} elements, the range needs ${to}`);
}

// Warm-up (see tanhArray's): every branch of sigmoidArray, and Math.exp's cases.
{
  const reach = [0, -0, 1e-300, 1e-9, 0.1, -0.1, 0.5, -0.5, 1, -1, 3, -3, 40, -40, 705, -705, 800, -800, Infinity, NaN];
  const x = new Float64Array(64 * reach.length);
  for (let i = 0; i < x.length; i++) x[i] = reach[i % reach.length];
  sigmoidArray(x, x);
}
