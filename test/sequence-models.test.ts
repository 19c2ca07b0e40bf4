/**
 * The closed-form sequence models of lib/sequence-models, each checked against
 * an independent computation: least squares against the normal equations,
 * the Kalman filter against Gaussian conditioning of one big joint covariance,
 * the HMM algorithms against brute-force enumeration of every state path.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng } from "../lib/random.ts";
import { type Mat, matMul, transposeMat, solve, lstsqQR, lstsqNormal, zerosMat, identity, cholesky, choleskySolve } from "../lib/linalg.ts";
import { fitAR, arWindows, fitArWindows } from "../lib/sequence-models/ar.ts";
import { type Lds, kalmanFilter, riccatiSteadyState, sampleLds, checkLds } from "../lib/sequence-models/kalman.ts";
import { type Hmm, forward, forwardBackward, viterbi, baumWelch, expectedCounts, expectedCountsNaive, randomHmm, sampleHmm, matchStates, predictNext, checkHmm } from "../lib/sequence-models/hmm.ts";
import { dishonestCasino, oscillatorLds } from "../chapters/_shared/hidden-state-data.ts";
import { assertThrowsMatching } from "./_helpers.ts";

const maxAbs = (a: number[][], b: number[][]) => Math.max(...a.map((r, i) => Math.max(...r.map((v, j) => Math.abs(v - b[i][j])))));

// ---------------------------------------------------------------- least squares and AR(p)

test("least squares: QR equals the normal equations on a random problem", () => {
  const rng = new Rng(1);
  const X: Mat = Array.from({ length: 50 }, () => Array.from({ length: 6 }, () => rng.normal()));
  const Y: Mat = Array.from({ length: 50 }, () => [rng.normal(), rng.normal()]);
  const a = lstsqQR(X, Y), b = lstsqNormal(X, Y);
  assert.ok(maxAbs(a, b) < 1e-12, `max diff ${maxAbs(a, b)}`);
  // the residual is orthogonal to every column: Xᵀ(Xβ − Y) = 0
  const r = matMul(X, a).map((row, i) => row.map((v, j) => v - Y[i][j]));
  assert.ok(maxAbs(matMul(transposeMat(X), r), zerosMat(6, 2)) < 1e-12);
});

test("choleskySolve with cholesky's factor equals Gaussian elimination; a singular matrix is a clear error", () => {
  const rng = new Rng(3);
  const G: Mat = Array.from({ length: 5 }, () => Array.from({ length: 5 }, () => rng.normal()));
  const A = matMul(G, transposeMat(G)).map((row, i) => row.map((v, j) => v + (i === j ? 0.5 : 0)));
  const B: Mat = Array.from({ length: 5 }, () => [rng.normal(), rng.normal()]);
  const d = maxAbs(choleskySolve(cholesky(A), B), solve(A, B));
  assert.ok(d < 1e-12, `max diff ${d}`);
  assertThrowsMatching(() => choleskySolve(cholesky([[1, 1], [1, 1]]), [[1], [2]]), /choleskySolve: the matrix is not positive definite \(pivot 1/, "singular");
});

test("AR(p) by QR equals AR(p) by the normal equations on a noisy series", () => {
  const rng = new Rng(2);
  const x = Array.from({ length: 300 }, (_, t) => Math.sin(0.1 * t) + 0.3 * rng.normal());
  for (const p of [1, 3, 8]) {
    const a = fitAR(x, p), b = fitAR(x, p, { method: "normal" });
    assert.ok(Math.abs(a.c - b.c) < 1e-10);
    a.a.forEach((v, k) => assert.ok(Math.abs(v - b.a[k]) < 1e-10, `p = ${p}, a_${k + 1}: ${v} vs ${b.a[k]}`));
  }
});

test("AR(2) on a noiseless AR(2) series recovers its coefficients to 1e-10", () => {
  const x = [1, 0.5];
  for (let t = 2; t < 60; t++) x.push(0.2 + 1.5 * x[t - 1] - 0.7 * x[t - 2]);
  const m = fitAR(x, 2);
  assert.ok(Math.abs(m.c - 0.2) < 1e-10, `c = ${m.c}`);
  assert.ok(Math.abs(m.a[0] - 1.5) < 1e-10, `a1 = ${m.a[0]}`);
  assert.ok(Math.abs(m.a[1] + 0.7) < 1e-10, `a2 = ${m.a[1]}`);
  // windows written oldest first, as convertToMatrix writes them, give the same fit
  const { windows, targets } = arWindows(x, 2);
  assert.equal(windows[0], [1, 0.5]);
  assert.ok(Math.abs(fitArWindows(windows, targets).a[0] - 1.5) < 1e-10);
});

test("AR(p): an order not below the series length, or too few windows, is a clear error", () => {
  assertThrowsMatching(() => fitAR([1, 2, 3], 3), /AR\(3\): the order p = 3 must be smaller than the series length, got a series of 3 values/, "p = n");
  assertThrowsMatching(() => fitAR([1, 2, 3], 5), /order p = 5 must be smaller/, "p > n");
  assertThrowsMatching(() => fitAR([1, 2, 3, 4], 2), /2 windows cannot determine 3 coefficients/, "too few windows");
  assertThrowsMatching(() => fitAR([1, 2, 3, 4], 0), /order p must be a whole number ≥ 1, got 0/, "p = 0");
});

// ---------------------------------------------------------------- Kalman filter

/**
 * The exact posterior of h(t) given y(1..t), from the joint Gaussian of
 * z = (h(1..T), y(1..T)) written as z = μ + M e with independent noise
 * e = (h(1) − μ0, w(2..T), v(1..T)), Cov z = M D Mᵀ, then conditioning:
 *   mean = μ_h + Σ_hy Σ_yy⁻¹ (y − μ_y),  cov = Σ_hh − Σ_hy Σ_yy⁻¹ Σ_yh.
 */
function exactFilter(lds: Lds, ys: number[][]): { mean: number[][]; cov: Mat[] } {
  const n = lds.A.length, m = lds.C.length, T = ys.length;
  const dimZ = T * (n + m), dimE = T * (n + m);
  const M = zerosMat(dimZ, dimE), D = zerosMat(dimE, dimE);
  const mu = new Array<number>(dimZ).fill(0);
  // noise blocks: e_h(t) at rows t·n, e_v(t) at T·n + t·m
  for (let t = 0; t < T; t++) {
    const cov = t === 0 ? lds.P0 : lds.Q;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) D[t * n + i][t * n + j] = cov[i][j];
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) D[T * n + t * m + i][T * n + t * m + j] = lds.R[i][j];
  }
  // h(t) = A^(t−s) applied to each earlier noise block s ≤ t; mean A^(t) μ0
  let Apow: Mat[] = [identity(n)];
  for (let k = 1; k < T; k++) Apow.push(matMul(lds.A, Apow[k - 1]));
  for (let t = 0; t < T; t++) {
    for (let s = 0; s <= t; s++) {
      const P = Apow[t - s];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[t * n + i][s * n + j] = P[i][j];
    }
    const mt = matMul(Apow[t], lds.mu0.map((v) => [v]));
    for (let i = 0; i < n; i++) mu[t * n + i] = mt[i][0];
  }
  // y(t) = C h(t) + v(t)
  for (let t = 0; t < T; t++) {
    const hRows = M.slice(t * n, t * n + n);
    const CH = matMul(lds.C, hRows);
    const cm = matMul(lds.C, mu.slice(t * n, t * n + n).map((v) => [v]));
    for (let i = 0; i < m; i++) {
      M[T * n + t * m + i] = CH[i].slice();
      M[T * n + t * m + i][T * n + t * m + i] += 1;
      mu[T * n + t * m + i] = cm[i][0];
    }
  }
  const S = matMul(matMul(M, D), transposeMat(M));
  const mean: number[][] = [], cov: Mat[] = [];
  for (let t = 0; t < T; t++) {
    const hIdx = Array.from({ length: n }, (_, i) => t * n + i);
    const yIdx = Array.from({ length: (t + 1) * m }, (_, i) => T * n + i);
    const Shy = hIdx.map((a) => yIdx.map((b) => S[a][b]));
    const Syy = yIdx.map((a) => yIdx.map((b) => S[a][b]));
    const Shh = hIdx.map((a) => hIdx.map((b) => S[a][b]));
    const resid = yIdx.map((b, k) => [ys[Math.floor(k / m)][k % m] - mu[b]]);
    const G = transposeMat(solve(Syy, transposeMat(Shy))); // Σ_hy Σ_yy⁻¹
    const mt = matMul(G, resid).map((r, i) => r[0] + mu[hIdx[i]]);
    const Ct = matMul(G, transposeMat(Shy)).map((r, i) => r.map((v, j) => Shh[i][j] - v));
    mean.push(mt);
    cov.push(Ct);
  }
  return { mean, cov };
}

test("Kalman filter equals exact Gaussian conditioning of the joint distribution, T ≤ 6 (to 1e-9)", () => {
  const rng = new Rng(3);
  const rand = (r: number, c: number, s = 1) => Array.from({ length: r }, () => Array.from({ length: c }, () => s * rng.normal()));
  const spd = (k: number) => {
    const L = rand(k, k, 0.5);
    return matMul(L, transposeMat(L)).map((row, i) => row.map((v, j) => v + (i === j ? 0.1 : 0)));
  };
  const models: Lds[] = [
    oscillatorLds(),
    { A: rand(3, 3, 0.5), C: rand(2, 3), Q: spd(3), R: spd(2), mu0: [0.3, -0.2, 1], P0: spd(3) },
  ];
  let checked = 0;
  for (const lds of models) {
    const { y } = sampleLds(lds, 6, rng);
    for (let T = 1; T <= 6; T++) {
      const ys = y.slice(0, T);
      const kf = kalmanFilter(lds, ys);
      const ex = exactFilter(lds, ys);
      for (let t = 0; t < T; t++) {
        assert.ok(maxAbs([kf.mean[t]], [ex.mean[t]]) < 1e-9, `T=${T} t=${t} mean ${kf.mean[t]} vs ${ex.mean[t]}`);
        assert.ok(maxAbs(kf.cov[t], ex.cov[t]) < 1e-9, `T=${T} t=${t} cov`);
        checked++;
      }
    }
  }
  assert.is(checked, 42);
});

test("Kalman: the covariance recursion ignores the data and settles at the Riccati steady state", () => {
  const lds = oscillatorLds();
  const a = kalmanFilter(lds, sampleLds(lds, 400, new Rng(4)).y);
  const b = kalmanFilter(lds, sampleLds(lds, 400, new Rng(5)).y);
  assert.ok(maxAbs(a.mean, b.mean) > 0.1, "different data give different means");
  for (let t = 0; t < 400; t++) assert.is(maxAbs(a.cov[t], b.cov[t]), 0);
  const ss = riccatiSteadyState(lds);
  assert.ok(maxAbs(a.cov[399], ss.filtered) < 1e-12);
  assert.ok(ss.filtered[0][0] < lds.P0[0][0], "observing y shrinks the variance of h");
});

test("Kalman: mismatched matrix shapes and observation sizes are clear errors", () => {
  const lds = oscillatorLds();
  assertThrowsMatching(() => checkLds({ ...lds, C: [[1, 0, 0]] }), /C is \(1, 3\), expected \(m, 2\)/, "C");
  assertThrowsMatching(() => checkLds({ ...lds, A: [[1, 0]] }), /A must be a square \(n, n\) matrix, got \(1, 2\)/, "A");
  assertThrowsMatching(() => checkLds({ ...lds, R: [[1, 0], [0, 1]] }), /R is \(2, 2\), expected \(1, 1\)/, "R");
  assertThrowsMatching(() => checkLds({ ...lds, Q: [[1]] }), /Q is \(1, 1\), expected \(2, 2\)/, "Q");
  assertThrowsMatching(() => checkLds({ ...lds, mu0: [0] }), /μ0 has 1 entries, expected 2/, "mu0");
  assertThrowsMatching(() => kalmanFilter(lds, [[1], [1, 2]]), /observation 2 has 2 values, expected 1/, "y");
});

// ---------------------------------------------------------------- HMM

/** Every state path of length T (N^T of them) with its joint probability p(s, o). */
function enumeratePaths(hmm: Hmm, obs: number[]): { path: number[]; p: number }[] {
  const N = hmm.pi.length, T = obs.length;
  const out: { path: number[]; p: number }[] = [];
  for (let code = 0; code < N ** T; code++) {
    const path: number[] = [];
    for (let t = 0, c = code; t < T; t++, c = Math.floor(c / N)) path.push(c % N);
    let p = hmm.pi[path[0]] * hmm.B[path[0]][obs[0]];
    for (let t = 1; t < T; t++) p *= hmm.A[path[t - 1]][path[t]] * hmm.B[path[t]][obs[t]];
    out.push({ path, p });
  }
  return out;
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);

test("forward algorithm and forward–backward equal brute-force enumeration, T ≤ 7 (to 1e-12 relative)", () => {
  const rng = new Rng(6);
  for (const [N, M] of [[3, 6], [2, 3], [3, 2]]) {
    const hmm = randomHmm(N, M, rng);
    for (let T = 1; T <= 7; T++) {
      const obs = Array.from({ length: T }, () => rng.int(M));
      const paths = enumeratePaths(hmm, obs);
      const pObs = paths.reduce((s, q) => s + q.p, 0);
      const f = forward(hmm, obs);
      assert.ok(relErr(Math.exp(f.logLik), pObs) < 1e-12, `N=${N} T=${T}: likelihood ${Math.exp(f.logLik)} vs ${pObs}`);
      // filtering p(s_t | o_1..t): enumerate the prefixes of length t
      for (let t = 1; t <= T; t++) {
        const pre = enumeratePaths(hmm, obs.slice(0, t));
        const z = pre.reduce((s, q) => s + q.p, 0);
        for (let j = 0; j < N; j++) {
          const exact = pre.filter((q) => q.path[t - 1] === j).reduce((s, q) => s + q.p, 0) / z;
          assert.ok(relErr(f.alphaHat[t - 1][j], exact) < 1e-12, `filtering t=${t} j=${j}: ${f.alphaHat[t - 1][j]} vs ${exact}`);
        }
      }
      // smoothing p(s_t | o_1..T) and expected transition counts
      const fb = forwardBackward(hmm, obs);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < N; j++) {
          const exact = paths.filter((q) => q.path[t] === j).reduce((s, q) => s + q.p, 0) / pObs;
          assert.ok(relErr(fb.gamma[t][j], exact) < 1e-12, `smoothing t=${t} j=${j}: ${fb.gamma[t][j]} vs ${exact}`);
        }
      }
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          let exact = 0;
          for (const q of paths) for (let t = 0; t < T - 1; t++) if (q.path[t] === i && q.path[t + 1] === j) exact += q.p / pObs;
          assert.ok(Math.abs(fb.xiSum[i][j] - exact) < 1e-12 * Math.max(1, exact), `ξ ${i}→${j}: ${fb.xiSum[i][j]} vs ${exact}`);
        }
      }
      // the predictive distribution p(o_T | o_1..T−1) = p(o_1..T) / p(o_1..T−1)
      if (T > 1) {
        const prev = forward(hmm, obs.slice(0, T - 1));
        const pred = predictNext(hmm, prev.alphaHat[T - 2]);
        assert.ok(relErr(pred[obs[T - 1]], Math.exp(f.logLik - prev.logLik)) < 1e-12);
        assert.ok(Math.abs(pred.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      }
    }
  }
});

test("Viterbi returns the argmax path of the enumeration, with its log-probability", () => {
  const rng = new Rng(7);
  for (let rep = 0; rep < 20; rep++) {
    const hmm = randomHmm(3, 4, rng);
    const T = 1 + rng.int(7);
    const obs = Array.from({ length: T }, () => rng.int(4));
    const paths = enumeratePaths(hmm, obs);
    const best = paths.reduce((a, b) => (b.p > a.p ? b : a));
    const v = viterbi(hmm, obs);
    assert.equal(v.path, best.path);
    assert.ok(Math.abs(v.logProb - Math.log(best.p)) < 1e-12);
  }
  // a zero transition is log 0 = −Infinity, never taken
  const hmm: Hmm = { pi: [1, 0], A: [[0, 1], [1, 0]], B: [[0.9, 0.1], [0.9, 0.1]] };
  assert.equal(viterbi(hmm, [0, 0, 0]).path, [0, 1, 0]);
});

test("Baum–Welch's E-step on flat arrays equals the one built from forwardBackward", () => {
  const rng = new Rng(9);
  const hmm = randomHmm(3, 4, rng);
  const seqs = [5, 1, 17, 40].map((T) => Array.from({ length: T }, () => rng.int(4)));
  const a = expectedCounts(hmm, seqs), b = expectedCountsNaive(hmm, seqs);
  assert.ok(Math.abs(a.logLik - b.logLik) < 1e-10 * Math.abs(b.logLik));
  assert.ok(maxAbs([a.pi], [b.pi]) < 1e-12);
  assert.ok(maxAbs(a.A, b.A) < 1e-10);
  assert.ok(maxAbs(a.B, b.B) < 1e-10);
  // it checks every sequence before it counts, and wants at least one
  assertThrowsMatching(() => expectedCounts(hmm, [[0, 1], [2, 4]]), /HMM: observation 2 is 4; symbols must be whole numbers 0 … 3/, "symbol 4");
  assertThrowsMatching(() => expectedCounts(hmm, []), /HMM: no observation sequences/, "no sequences");
});

test("Baum–Welch: the log-likelihood never decreases, and 200 sequences of 100 recover the casino within 0.05", () => {
  const truth = dishonestCasino();
  const rng = new Rng(8);
  const seqs = Array.from({ length: 200 }, () => sampleHmm(truth, 100, rng).obs);
  let best: ReturnType<typeof baumWelch> | null = null;
  for (let start = 0; start < 5; start++) {
    const r = baumWelch(seqs, randomHmm(3, 6, rng), { maxIter: 300, tol: 1e-6 });
    for (let i = 1; i < r.logLiks.length; i++) {
      assert.ok(r.logLiks[i] >= r.logLiks[i - 1] - 1e-9, `start ${start}, iteration ${i}: ${r.logLiks[i - 1]} → ${r.logLiks[i]}`);
    }
    if (!best || r.logLiks.at(-1)! > best.logLiks.at(-1)!) best = r;
  }
  const m = matchStates(best!.hmm, truth);
  assert.ok(m.transitionMaxAbsError <= 0.05, `transitions off by ${m.transitionMaxAbsError}`);
  assert.ok(m.emissionMaxAbsError <= 0.05, `emissions off by ${m.emissionMaxAbsError}`);
});

test("HMM: rows that do not sum to 1 and symbols out of range are clear errors", () => {
  const hmm = dishonestCasino();
  assertThrowsMatching(() => checkHmm({ ...hmm, A: [[0.9, 0.05, 0.04], hmm.A[1], hmm.A[2]] }), /row 0 of the transition matrix A sums to 0\.99\d*, expected 1/, "A row");
  assertThrowsMatching(() => checkHmm({ ...hmm, B: [hmm.B[0], hmm.B[1], [0.5, 0.5, 0.5, 0, 0, 0]] }), /row 2 of the emission matrix B sums to 1\.5, expected 1/, "B row");
  assertThrowsMatching(() => checkHmm({ ...hmm, pi: [0.5, 0.5, 0.5] }), /π sums to 1\.5/, "pi");
  assertThrowsMatching(() => forward(hmm, [0, 6, 1]), /observation 2 is 6; symbols must be whole numbers 0 … 5/, "symbol 6");
  assertThrowsMatching(() => viterbi(hmm, [0, -1]), /observation 2 is -1/, "symbol -1");
  assertThrowsMatching(() => baumWelch([[0, 1], [2, 7]], hmm), /observation 2 is 7/, "Baum–Welch symbol");
});

test.run();
