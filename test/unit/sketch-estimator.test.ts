// The `cntk-sketch` estimator (src/estimators/cntk-sketch.ts): closed-form held-out predictions equal brute-force
// ridge refits with the same sketched kernel, the primal (low-rank) solver equals a dense inverse, the map
// approaches the exact `cntk` map as the feature dimension grows (volcano field), the variance behaves, and
// the estimator is registered, cancellable and frees its tensors.

import { describe, expect, it } from 'vitest';
import { getTf } from '../../src/compute/backend.ts';
import { CancelledError } from '../../src/domain/run.ts';
import { UserError } from '../../src/domain/errors.ts';
import { cntk, padGrid, paddedObservations } from '../../src/estimators/cntk.ts';
import { autoFeatures, cntkSketch, LowRankShifted } from '../../src/estimators/cntk-sketch.ts';
import { resolveParams } from '../../src/estimators/params.ts';
import { estimatorIds, getEstimator } from '../../src/estimators/registry.ts';
import { crossValidate } from '../../src/evaluation/cv.ts';
import { assertFits, estimateRun } from '../../src/estimators/resources.ts';
import { parseArch } from '../../src/kernels/arch.ts';
import { buildLip, DEFAULT_LIP } from '../../src/kernels/lip.ts';
import { sketchFeatures } from '../../src/kernels/sketch/features.ts';
import { cholesky, choleskyInverse, choleskySolve } from '../../src/solvers/cholesky.ts';
import { lcg } from '../helpers/random.ts';
import { volcanoObs } from '../helpers/volcano.ts';

const params = (given: Record<string, unknown> = {}) => resolveParams('cntk-sketch', cntkSketch.params, given);

/** Ridge refit on training cells T (targets centred on their own mean, as the estimator does), predicting F. */
function refit(K: Float64Array, n: number, y: Float64Array, T: number[], F: number[], lambda: number): number[] {
  const m = T.length;
  let mT = 0;
  for (const i of T) mT += y[i] / m;
  const A = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) A[a * m + b] = K[T[a] * n + T[b]] + (a === b ? lambda : 0);
  const alpha = choleskySolve(cholesky(A, m), Float64Array.from(T, (i) => y[i] - mT));
  return F.map((f) => {
    let s = mT;
    for (let a = 0; a < m; a++) s += K[f * n + T[a]] * alpha[a];
    return s;
  });
}

describe('cntk-sketch estimator', () => {
  it('is registered, with parameters resolved and validated', async () => {
    expect(estimatorIds()).toContain('cntk-sketch');
    const e = await getEstimator('cntk-sketch');
    expect(e.providesVariance).toBe(true);
    const p = params({ features: '1024', derivative: 'poly' });
    expect(p.features).toBe(1024);
    expect(() => params({ derivative: 'exact' })).toThrow(UserError);
    const { obs } = volcanoObs(10, 16, 16, 1);
    await expect(cntkSketch.prepare(obs, params({ features: 8 }), {})).rejects.toThrow(/at least 16/);
  });

  it('resource check: a 1024×1024 sketch fits a 6 GB budget where the exact kernel does not; memory grows with the grid', () => {
    const q = (size: number, id: string) => ({ width: size, height: size, observed: 70, steps: 1, groups: 1, params: id === 'cntk' ? resolveParams('cntk', cntk.params, {}) : params() });
    const limit = 6 * 1024 ** 3;
    const big = estimateRun(cntkSketch, q(1024, 'cntk-sketch'), limit);
    expect(() => assertFits(big)).not.toThrow();
    expect(() => assertFits(estimateRun(cntk, q(1024, 'cntk'), limit))).toThrow(UserError);
    const mid = estimateRun(cntkSketch, q(512, 'cntk-sketch'), limit);
    expect(big.bytes).toBeGreaterThan(mid.bytes);
    expect(big.seconds).toBeGreaterThan(2 * mid.seconds);
  });

  it('chooses the feature dimension from the grid size', () => {
    expect(autoFeatures(128 * 128)).toBe(4096);
    expect(autoFeatures(181 * 181)).toBe(2048);
    expect(autoFeatures(256 * 256)).toBe(1024);
    expect(autoFeatures(512 * 512)).toBe(512);
    expect(autoFeatures(1024 * 1024)).toBe(512);
    expect(autoFeatures(32 * 32)).toBe(4096);
  });

  it('held-out predictions (LOO and 5-fold) equal brute-force refits on the same sketched kernel', async () => {
    const tf = await getTf();
    const { obs } = volcanoObs(30, 16, 16, 2);
    const n = obs.cell.length;
    const p = params({ features: 256, seed: 3, variance: false });
    const prepared = await cntkSketch.prepare(obs, p, {});
    const lambda = prepared.diagnostics!.lambda as number;
    // the same kernel, rebuilt independently of the estimator's solver: features at the observed cells, K = ΦΦᵀ
    const layers = parseArch(String(p.arch));
    const pobs = paddedObservations(obs, padGrid(obs.grid, layers));
    const f = await sketchFeatures(buildLip(pobs, DEFAULT_LIP), { arch: layers, sigmaW2: 2, sigmaB2: 0.01, features: 256, degree: 4, seed: 3 });
    const phi = f.ntk.gather(pobs.cell);
    const D = phi.shape[1];
    const rows = (await phi.data()) as Float32Array;
    phi.dispose();
    f.dispose();
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += rows[i * D + k] * rows[j * D + k];
        K[i * n + j] = s;
      }
    }
    let mean = 0;
    for (const v of obs.values) mean += v / n;
    let ss = 0;
    for (const v of obs.values) ss += (v - mean) ** 2;
    const sd = Math.sqrt(ss / (n - 1));
    const y = Float64Array.from(obs.values, (v) => (v - mean) / sd);

    const loo = await prepared.predictHeldOut!(obs.values, Array.from({ length: n }, (_, i) => Int32Array.of(i)), {});
    for (const i of [0, 7, n - 1]) {
      const T = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
      const ref = refit(K, n, y, T, [i], lambda)[0];
      expect(loo.mean[i]).toBeCloseTo(mean + sd * ref, 2);
    }
    const r = lcg(9);
    const order = Array.from({ length: n }, (_, i) => i).sort(() => r() - 0.5);
    const folds = Array.from({ length: 5 }, (_, k) => Int32Array.from(order.filter((_, j) => j % 5 === k)));
    const kf = await prepared.predictHeldOut!(obs.values, folds, {});
    for (const F of folds.slice(0, 2)) {
      const T = Array.from({ length: n }, (_, j) => j).filter((j) => !F.includes(j));
      const ref = refit(K, n, y, T, Array.from(F), lambda);
      F.forEach((c, a) => expect(kf.mean[c]).toBeCloseTo(mean + sd * ref[a], 2));
    }
    prepared.dispose!();
    expect(tf.memory().numTensors).toBeLessThan(40);
  });

  it('the primal solver (K + λI)⁻¹ = (I − U(Λ+λ)⁻¹Uᵀ)/λ equals a dense inverse', () => {
    const n = 9;
    const r = 4;
    const rand = lcg(4);
    const Phi = Float64Array.from({ length: n * r }, () => rand() - 0.5);
    // eigendecomposition of ΦᵀΦ by brute force is not needed: any orthonormal V works with U = ΦV, Λ = diag(VᵀΦᵀΦV)
    // when V diagonalises ΦᵀΦ; take V from a Jacobi sweep-free construction: Gram–Schmidt on ΦᵀΦ's power iterates
    const G = new Float64Array(r * r);
    for (let i = 0; i < n; i++) for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) G[a * r + b] += Phi[i * r + a] * Phi[i * r + b];
    const { values, vectors } = jacobi(G, r);
    const U = new Float64Array(n * r);
    for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) for (let a = 0; a < r; a++) U[i * r + k] += Phi[i * r + a] * vectors[a * r + k];
    const solver = new LowRankShifted(n, r, U, values);
    const lambda = 0.3;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let a = 0; a < r; a++) A[i * n + j] += Phi[i * r + a] * Phi[j * r + a];
    for (let i = 0; i < n; i++) A[i * n + i] += lambda;
    const inv = choleskyInverse(cholesky(A, n));
    const yv = Float64Array.from({ length: n }, () => rand());
    const x = solver.solve(yv, lambda);
    const dg = solver.inverseDiag(lambda);
    const blk = solver.inverseBlock(lambda, [2, 5]);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += inv[i * n + j] * yv[j];
      expect(x[i]).toBeCloseTo(s, 10);
      expect(dg[i]).toBeCloseTo(inv[i * n + i], 10);
    }
    expect(blk[1]).toBeCloseTo(inv[2 * n + 5], 10);
    expect(blk[3]).toBeCloseTo(inv[5 * n + 5], 10);
  });

  it('predictions approach those of the exact cntk as the feature dimension grows (volcano, 16×16)', async () => {
    const { obs } = volcanoObs(30, 16, 16, 5);
    const exact = await cntk.prepare(obs, resolveParams('cntk', cntk.params, { variance: false }), {});
    const ref = (await exact.predict(obs.values, {})).values;
    exact.dispose?.();
    let sd = 0;
    const mref = ref.reduce((a, b) => a + b, 0) / ref.length;
    for (const v of ref) sd += (v - mref) ** 2;
    sd = Math.sqrt(sd / ref.length);
    const diff = async (m: number) => {
      let acc = 0;
      for (const seed of [1, 2]) {
        const prep = await cntkSketch.prepare(obs, params({ features: m, seed, variance: false }), {});
        const map = (await prep.predict(obs.values, {})).values;
        prep.dispose!();
        let s = 0;
        for (let i = 0; i < map.length; i++) s += (map[i] - ref[i]) ** 2;
        acc += Math.sqrt(s / map.length) / 2;
      }
      return acc;
    };
    // measured: RMS difference 4.8, 2.4, 0.9 for m = 64, 256, 2048 (field sd 21)
    const d64 = await diff(64);
    const d256 = await diff(256);
    const d2048 = await diff(2048);
    expect(d256).toBeLessThan(0.75 * d64);
    expect(d2048).toBeLessThan(0.6 * d256);
    expect(d2048).toBeLessThan(0.1 * sd);
  });

  it('variance: non-negative, small at sensors and larger far from them; predict, CV fast path and primal solver agree', async () => {
    const { obs } = volcanoObs(25, 16, 16, 6);
    const prep = await cntkSketch.prepare(obs, params({ features: 256 }), {});
    const pred = await prep.predict(obs.values, {});
    const v = pred.variance!;
    expect(Array.from(v).every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
    const observed = new Set(Array.from(obs.cell));
    let atObs = 0;
    let elsewhere = 0;
    for (let c = 0; c < v.length; c++) (observed.has(c) ? (atObs += v[c] / observed.size) : (elsewhere += v[c] / (v.length - observed.size)));
    expect(atObs).toBeLessThan(elsewhere);
    const folds = Array.from({ length: obs.cell.length }, (_, i) => Int32Array.of(i));
    const cv = await crossValidate(cntkSketch, obs, params({ features: 256 }), folds, {}, prep);
    expect(cv.fastPath).toBe(true);
    prep.dispose!();
    // primal with the same features: a compressed system, so close to (not equal to) the dual
    const primal = await cntkSketch.prepare(obs, params({ features: 256, solver: 'primal' }), {});
    expect(String(primal.diagnostics!.solver)).toMatch(/primal/);
    const pm = (await primal.predict(obs.values, {})).values;
    const cvp = await crossValidate(cntkSketch, obs, params({ features: 256, solver: 'primal' }), folds, {}, primal);
    primal.dispose!();
    let d = 0;
    let s = 0;
    const mean = obs.values.reduce((a, b) => a + b, 0) / obs.values.length;
    for (let i = 0; i < pm.length; i++) {
      d += (pm[i] - pred.values[i]) ** 2;
      s += (pred.values[i] - mean) ** 2;
    }
    expect(Math.sqrt(d / s)).toBeLessThan(0.5);
    expect(cvp.metrics.rmse).toBeLessThan(1.5 * cv.metrics.rmse);
  });

  it('cancels during prepare and leaves no tensors behind', async () => {
    const tf = await getTf();
    const { obs } = volcanoObs(20, 64, 64, 7);
    const before = tf.memory().numTensors;
    const ctrl = new AbortController();
    const run = cntkSketch.prepare(obs, params({ features: 256 }), {
      signal: ctrl.signal,
      onProgress: (p) => {
        if ((p.fraction ?? 0) > 0.1) ctrl.abort();
      },
    });
    await expect(run).rejects.toThrow(CancelledError);
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(4);
  });
});

/** Cyclic Jacobi eigendecomposition (small symmetric matrices), independent of src/solvers. */
function jacobi(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => A[i * n + i]), vectors: V };
}
