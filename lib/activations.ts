/**
 * Activation functions σ and their derivatives, as forward/backward pairs.
 *
 * Softmax acts on the last axis. Its backward pass is the Jacobian–vector
 * product dz = p ⊙ (dp − Σ_j dp_j p_j); the fused softmax + cross-entropy in
 * losses.ts avoids it when training a classifier.
 */
import { Tensor } from "./matrix.ts";
import { tanhArray, sigmoidArray } from "./elementary.ts";

export type ActivationName = "linear" | "relu" | "tanh" | "sigmoid" | "softmax";

export const ACTIVATIONS: readonly ActivationName[] = ["linear", "relu", "tanh", "sigmoid", "softmax"];

export function checkActivation(name: string, who: string): ActivationName {
  if (!(ACTIVATIONS as readonly string[]).includes(name)) {
    throw new Error(`${who}: unknown activation '${name}'; expected one of ${ACTIVATIONS.join(", ")}`);
  }
  return name as ActivationName;
}

/**
 * σ(x) = 1 / (1 + e^(−x)): one exp and no branch on the data. It cannot overflow into
 * NaN: for x < −709, e^(−x) = Infinity and 1/Infinity = 0, the limit; for large x, e^(−x) = 0.
 */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export interface ActivationCache {
  name: ActivationName;
  /** a = σ(z), the output: every derivative here is written in it (for relu, z > 0 exactly when a > 0). */
  a: Tensor;
}

/**
 * a = σ(z), elementwise (softmax: over the last axis). With `inPlace`, a is
 * written over z and z is returned as a: for a caller whose z is a fresh
 * temporary (Dense, Conv2D), this saves allocating a second large tensor.
 */
export function activationForward(name: ActivationName, z: Tensor, inPlace = false): { out: Tensor; cache: ActivationCache } {
  const a = inPlace ? z : new Tensor(z.shape);
  const zd = z.data, ad = a.data;
  switch (name) {
    case "linear":
      if (!inPlace) ad.set(zd);
      break;
    case "relu":
      // max(0, z) = (z + |z|)/2: exact below 8.9e307, and no branch on the data (which would mispredict half the time)
      for (let i = 0; i < zd.length; i++) {
        const v = zd[i];
        ad[i] = 0.5 * (v + Math.abs(v));
      }
      break;
    case "tanh":
      // Math.tanh's bits, faster (lib/elementary.ts)
      tanhArray(zd, ad);
      break;
    case "sigmoid":
      // sigmoid()'s bits, faster (lib/elementary.ts)
      sigmoidArray(zd, ad);
      break;
    case "softmax":
      softmaxRows(zd, ad, z.shape[z.rank - 1]);
      break;
  }
  return { out: a, cache: { name, a } };
}

/**
 * a = σ(z + b) with the bias b (u) added to every row of z (·, u), written into `out`:
 * activationForward after a bias add, without a temporary (the SimpleRNN's sequence-level step): in one pass,
 * or for tanh and sigmoid two (z + b into out, then tanhArray or sigmoidArray over it). Returns the same cache as
 * activationForward; z is left unchanged.
 */
export function activationForwardBias(name: "linear" | "relu" | "tanh" | "sigmoid", z: Tensor, bias: Tensor, out: Tensor): ActivationCache {
  const zd = z.data, bd = bias.data, od = out.data, u = bd.length;
  if (od.length !== zd.length || zd.length % u !== 0) throw new Error(`activation '${name}': z (${z.shape.join(", ")}), bias (${u}) and out (${out.shape.join(", ")}) do not fit`);
  if (name === "tanh" || name === "sigmoid") {
    // z + b, then σ over the whole block: tanhArray and sigmoidArray give Math.tanh's and sigmoid()'s bits, faster (lib/elementary.ts).
    // The sum takes four numbers per pass, loads before stores (see activationBackward's tanh).
    const u4 = u - (u % 4);
    for (let r = 0; r < zd.length; r += u) {
      let j = 0;
      for (; j < u4; j += 4) {
        const z0 = zd[r + j], z1 = zd[r + j + 1], z2 = zd[r + j + 2], z3 = zd[r + j + 3];
        const b0 = bd[j], b1 = bd[j + 1], b2 = bd[j + 2], b3 = bd[j + 3];
        od[r + j] = z0 + b0;
        od[r + j + 1] = z1 + b1;
        od[r + j + 2] = z2 + b2;
        od[r + j + 3] = z3 + b3;
      }
      for (; j < u; j++) od[r + j] = zd[r + j] + bd[j];
    }
    if (name === "tanh") tanhArray(od, od);
    else sigmoidArray(od, od);
    return { name, a: out };
  }
  for (let r = 0; r < zd.length; r += u) {
    switch (name) {
      case "linear":
        for (let j = 0; j < u; j++) od[r + j] = zd[r + j] + bd[j];
        break;
      case "relu":
        for (let j = 0; j < u; j++) {
          const v = zd[r + j] + bd[j];
          od[r + j] = 0.5 * (v + Math.abs(v));
        }
        break;
    }
  }
  return { name, a: out };
}

/** dz = σ'(z) ⊙ da (softmax: the Jacobian–vector product); written into `out` if given (a reused buffer). */
export function activationBackward(dOut: Tensor, cache: ActivationCache, out?: Tensor): Tensor {
  const { name, a } = cache;
  if (dOut.size !== a.size) throw new Error(`activation '${name}' backward: dOut has shape (${dOut.shape.join(", ")}), expected (${a.shape.join(", ")})`);
  if (out !== undefined && out.size !== a.size) throw new Error(`activation '${name}' backward: out has shape (${out.shape.join(", ")}), expected (${a.shape.join(", ")})`);
  const dz = out ?? new Tensor(a.shape);
  const g = dOut.data, d = dz.data, ad = a.data;
  switch (name) {
    case "linear":
      d.set(g);
      break;
    case "relu":
      // σ'(z) = 1 for z > 0, else 0; z > 0 exactly where a = max(0, z) > 0 (as a number, so no branch on the data)
      for (let i = 0; i < g.length; i++) d[i] = g[i] * +(ad[i] > 0);
      break;
    case "tanh": {
      // σ'(z) = 1 − tanh²(z), four numbers per pass, their loads before their stores: after every store V8's code
      // checks each array's map again and reloads its length and data pointer, so a loop of one number per pass spent
      // most of its instructions on that (2.7 against 1.5 ns a number on a 64 × 64 block, 27 Nov; the SimpleRNN's
      // backward loop runs this).
      const n = g.length, n4 = n - (n % 4);
      let i = 0;
      for (; i < n4; i += 4) {
        const g0 = g[i], g1 = g[i + 1], g2 = g[i + 2], g3 = g[i + 3];
        const a0 = ad[i], a1 = ad[i + 1], a2 = ad[i + 2], a3 = ad[i + 3];
        d[i] = g0 * (1 - a0 * a0);
        d[i + 1] = g1 * (1 - a1 * a1);
        d[i + 2] = g2 * (1 - a2 * a2);
        d[i + 3] = g3 * (1 - a3 * a3);
      }
      for (; i < n; i++) d[i] = g[i] * (1 - ad[i] * ad[i]);
      break;
    }
    case "sigmoid":
      // σ'(z) = σ(z)(1 − σ(z))
      for (let i = 0; i < g.length; i++) d[i] = g[i] * ad[i] * (1 - ad[i]);
      break;
    case "softmax": {
      // dz_j = p_j (dp_j − Σ_k dp_k p_k)
      const n = a.shape[a.rank - 1];
      for (let r = 0; r < ad.length; r += n) {
        let s = 0;
        for (let j = 0; j < n; j++) s += g[r + j] * ad[r + j];
        for (let j = 0; j < n; j++) d[r + j] = ad[r + j] * (g[r + j] - s);
      }
      break;
    }
  }
  return dz;
}

/** p = softmax(z) row by row, shifted by the row maximum so exp never overflows. */
export function softmaxRows(z: Float64Array, p: Float64Array, n: number): void {
  for (let r = 0; r < z.length; r += n) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) if (z[r + j] > max) max = z[r + j];
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(z[r + j] - max);
      p[r + j] = e;
      sum += e;
    }
    for (let j = 0; j < n; j++) p[r + j] /= sum;
  }
}
