/**
 * k-means clustering (Lloyd's algorithm with k-means++ starts): the points are
 * grouped around k centroids so that Σ ‖x − centroid(x)‖² is small.
 * Used to read the discrete states off a trained RNN's hidden states.
 */
import { Tensor, shapeStr } from "./matrix.ts";
import { Rng } from "./random.ts";

export interface KMeansResult {
  /** (k, d) */
  centroids: Tensor;
  /** The cluster of every point, 0..k−1. */
  labels: Int32Array;
  /** Σ ‖x − centroid(x)‖². */
  inertia: number;
}

function sqDist(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[ao + j] - b[bo + j]) ** 2;
  return s;
}

/** Assigns every point to its nearest centroid; returns the inertia. */
function assign(X: Tensor, C: Tensor, labels: Int32Array): number {
  const [n, d] = X.shape, k = C.shape[0];
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const dd = sqDist(X.data, i * d, C.data, c * d, d);
      if (dd < bestD) [best, bestD] = [c, dd];
    }
    labels[i] = best;
    inertia += bestD;
  }
  return inertia;
}

/** One run of Lloyd's algorithm from a k-means++ start. */
function lloyd(X: Tensor, k: number, rng: Rng, maxIter: number): KMeansResult {
  const [n, d] = X.shape;
  const C = new Tensor([k, d]);
  // k-means++: the first centroid at random, each next one with probability ∝ squared distance to the nearest chosen one
  const first = rng.int(n);
  C.data.set(X.data.subarray(first * d, first * d + d), 0);
  const dmin = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      dmin[i] = Math.min(dmin[i], sqDist(X.data, i * d, C.data, (c - 1) * d, d));
      total += dmin[i];
    }
    let r = rng.next() * total, pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= dmin[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
    C.data.set(X.data.subarray(pick * d, pick * d + d), c * d);
  }
  const labels = new Int32Array(n);
  let inertia = assign(X, C, labels);
  for (let it = 0; it < maxIter; it++) {
    // centroid ← mean of its points (an empty cluster keeps its centroid)
    const sum = new Float64Array(k * d), count = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      count[labels[i]]++;
      for (let j = 0; j < d; j++) sum[labels[i] * d + j] += X.data[i * d + j];
    }
    for (let c = 0; c < k; c++) if (count[c] > 0) for (let j = 0; j < d; j++) C.data[c * d + j] = sum[c * d + j] / count[c];
    const next = assign(X, C, labels);
    if (next >= inertia) {
      inertia = next;
      break;
    }
    inertia = next;
  }
  return { centroids: C, labels, inertia };
}

/** k-means of the rows of X (n, d): the best of `restarts` runs. */
export function kmeans(X: Tensor, k: number, rng: Rng, opts: { restarts?: number; maxIter?: number } = {}): KMeansResult {
  const { restarts = 5, maxIter = 100 } = opts;
  if (X.rank !== 2) throw new Error(`kmeans: points must be a matrix (n, d), got ${shapeStr(X.shape)}`);
  const n = X.shape[0];
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`kmeans: k must be a whole number in 1..${n} (the number of points), got ${k}`);
  let best: KMeansResult | null = null;
  for (let r = 0; r < restarts; r++) {
    const res = lloyd(X, k, rng, maxIter);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best as KMeansResult;
}
