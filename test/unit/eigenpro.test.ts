// EigenPro 2 solver, its eigen-solvers and kernel operators, checked against independent references:
// a direct float64 Cholesky solve (src/solvers/cholesky.ts), dense eigendecompositions verified by their
// defining property A·v = λ·v, and kernel formulas written out here.

import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/domain/run.ts';
import { getTf } from '../../src/compute/backend.ts';
import { cholesky, choleskySolve } from '../../src/solvers/cholesky.ts';
import { jacobiEigen, symEigen, topEigenpairs } from '../../src/solvers/eigen.ts';
import { eigenpro, eigenproSolve, setupEigenPro, type EigenProSetup } from '../../src/solvers/eigenpro.ts';
import { applyOperator, crossKernel, denseKernelOperator, pointKernelOperator, type KernelOperator } from '../../src/solvers/kernel-operator.ts';
import { relErr } from '../helpers/relerr.ts';
import { mulberry32 } from '../../src/util/random.ts';

const rng = mulberry32;

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);


/** Random points in the unit square and a smooth field + noise on them (like readings on a map). */
function problem(n: number, seed: number) {
  const r = rng(seed);
  const pts = new Float64Array(2 * n).map(() => r());
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(6 * pts[2 * i]) * Math.cos(4 * pts[2 * i + 1]) + 0.1 * (r() - 0.5);
  return { pts, y };
}

describe('kernel operators', () => {
  it('RBF and Laplacian rows follow their formulas', () => {
    const pts = Float64Array.of(0, 0, 1, 0, 0, 2, 3, 4);
    const rbf = pointKernelOperator(pts, 2, { kind: 'rbf', lengthScale: 2, variance: 3 });
    const lap = pointKernelOperator(pts, 2, { kind: 'laplacian', lengthScale: 2 });
    const R = rbf.rows(Int32Array.of(3, 0)) as Float32Array;
    const L = lap.rows(Int32Array.of(3, 0)) as Float32Array;
    const P = [
      [0, 0],
      [1, 0],
      [0, 2],
      [3, 4],
    ];
    [3, 0].forEach((i, r) => {
      for (let j = 0; j < 4; j++) {
        const d2 = (P[i][0] - P[j][0]) ** 2 + (P[i][1] - P[j][1]) ** 2;
        expect(R[r * 4 + j]).toBeCloseTo(3 * Math.exp(-d2 / 8), 6);
        expect(L[r * 4 + j]).toBeCloseTo(Math.exp(-Math.sqrt(d2) / 2), 6);
      }
    });
    expect(Array.from(rbf.diag())).toEqual([3, 3, 3, 3]);
    // cross kernel at the points themselves = the rows
    const C = crossKernel(pts, Float64Array.of(3, 4), 2, { kind: 'rbf', lengthScale: 2, variance: 3 });
    expect(Array.from(C)).toEqual(Array.from(R.subarray(0, 4)));
  });

  it('dense operator reads a sub-block of a larger matrix through row and column indices', () => {
    const N = 7;
    const M = new Float32Array(N * N).map((_, k) => Math.floor(k / N) * 100 + (k % N)); // M[i][j] = 100 i + j
    const O = Int32Array.of(5, 1, 3);
    const op = denseKernelOperator(M, { n: 3, stride: N, rowIndex: O, colIndex: O });
    expect(Array.from(op.rows(Int32Array.of(2, 0)) as Float32Array)).toEqual([305, 301, 303, 505, 501, 503]);
    expect(Array.from(op.diag())).toEqual([505, 101, 303]);
    // rows of observed cells against all pixels (n×P), columns = observed cells
    const rowsNP = M.slice(0, 3 * N); // rows 0..2 of M stand for observed cells 0..2
    const op2 = denseKernelOperator(rowsNP, { n: 3, stride: N, colIndex: Int32Array.of(6, 0, 2) });
    expect(Array.from(op2.rows(Int32Array.of(1)) as Float32Array)).toEqual([106, 100, 102]);
    expect(Array.from(op2.diag())).toEqual([6, 100, 202]);
    expect(() => denseKernelOperator(M, { n: 3, stride: N, colIndex: Int32Array.of(0, 1, 9) })).toThrow(/column 9/);
  });

  it('applyOperator is the matrix–vector product', async () => {
    const { pts } = problem(300, 2);
    const op = pointKernelOperator(pts, 2, { kind: 'laplacian', lengthScale: 0.3 });
    const K = op.rows(all(300)) as Float32Array;
    const x = new Float64Array(300).map((_, i) => Math.cos(i));
    const Kx = await applyOperator(op, x, 37);
    for (const i of [0, 17, 299]) {
      let s = 0;
      for (let j = 0; j < 300; j++) s += K[i * 300 + j] * x[j];
      expect(Kx[i]).toBeCloseTo(s, 8);
    }
  });
});

describe('eigen-solvers', () => {
  function randomSym(n: number, seed: number): Float64Array {
    const r = rng(seed);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        const v = r() - 0.5;
        a[i * n + j] = v;
        a[j * n + i] = v;
      }
    return a;
  }
  function checkEigen(a: Float64Array, n: number, e: { values: Float64Array; vectors: Float64Array }, tol: number) {
    for (let j = 0; j < n; j++) {
      if (j > 0) expect(e.values[j]).toBeLessThanOrEqual(e.values[j - 1]);
      let norm = 0;
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += a[i * n + k] * e.vectors[k * n + j];
        expect(Math.abs(av - e.values[j] * e.vectors[i * n + j])).toBeLessThan(tol);
        norm += e.vectors[i * n + j] ** 2;
      }
      expect(norm).toBeCloseTo(1, 10);
    }
    // orthogonality of the first and last vectors
    if (n > 1) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += e.vectors[i * n] * e.vectors[i * n + n - 1];
      expect(Math.abs(dot)).toBeLessThan(1e-10);
    }
  }

  it('Householder–QL and Jacobi satisfy A·v = λ·v and agree', () => {
    for (const n of [1, 2, 7, 60]) {
      const a = randomSym(n, n);
      const s = symEigen(a, n);
      const j = jacobiEigen(a, n);
      checkEigen(a, n, s, 1e-12);
      checkEigen(a, n, j, 1e-12);
      for (let k = 0; k < n; k++) expect(s.values[k]).toBeCloseTo(j.values[k], 12);
    }
    // a known spectrum: diag(3, 1, 2) rotated
    const c = Math.cos(0.3);
    const sn = Math.sin(0.3);
    const Q = [c, -sn, 0, sn, c, 0, 0, 0, 1];
    const d = [3, 1, 2];
    const A = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) for (let m = 0; m < 3; m++) A[i * 3 + k] += Q[i * 3 + m] * d[m] * Q[k * 3 + m];
    expect(Array.from(symEigen(A, 3).values).map((v) => +v.toFixed(12))).toEqual([3, 2, 1]);
  });

  it('top-q eigenpairs by subspace iteration (tfjs) match a dense reference', async () => {
    const s = 300;
    const { pts } = problem(s, 3);
    const K = pointKernelOperator(pts, 2, { kind: 'rbf', lengthScale: 0.15 }).rows(all(s)) as Float32Array;
    const ref = symEigen(K, s);
    const k = 25;
    const tf = await getTf();
    const tensorsBefore = tf.memory().numTensors;
    const top = await topEigenpairs(K, s, k, { seed: 5 });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // every tensor disposed
    expect(top.values.length).toBe(k);
    for (let j = 0; j < k; j++) {
      expect(Math.abs(top.values[j] - ref.values[j])).toBeLessThan(1e-5 * ref.values[0]);
      // eigenvector up to sign, where the eigenvalue is separated from its neighbours
      const gap = Math.min(ref.values[j] - ref.values[j + 1], j > 0 ? ref.values[j - 1] - ref.values[j] : Infinity);
      if (gap < 1e-3 * ref.values[0]) continue;
      let dot = 0;
      for (let i = 0; i < s; i++) dot += top.vectors[i * k + j] * ref.vectors[i * s + j];
      expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-4);
      expect(top.residuals[j]).toBeLessThan(1e-4 * ref.values[0]);
    }
  });
});

describe('EigenPro 2', () => {
  // n = 1000 points, RBF ℓ = 0.1 on the unit square, λ = 1e-3: κ(K + λI) ≈ 6·10⁴, an ill-conditioned system.
  const n = 1000;
  const lambda = 1e-3;
  const kern = { kind: 'rbf' as const, lengthScale: 0.1 };
  const { pts, y } = problem(n, 7);
  const K = pointKernelOperator(pts, 2, kern).rows(all(n)) as Float32Array;
  // the solver sees the kernel only through rows (dense operator over the precomputed matrix)
  const op: KernelOperator = denseKernelOperator(K, { n });
  let setup: EigenProSetup;
  let direct: Float64Array;

  beforeAll(async () => {
    setup = await setupEigenPro(op, { lambda, maxQ: 250, seed: 3 });
    // direct float64 solve of the same (float32-rounded) system
    const A = Float64Array.from(K);
    for (let i = 0; i < n; i++) A[i * n + i] += lambda;
    direct = choleskySolve(cholesky(A, n), y);
  });

  it('chooses q, batch and step by the EigenPro 2 rules', () => {
    expect(setup.q).toBeGreaterThan(20);
    // preconditioning flattens the spectrum: λ_{q+1} far below λ_1, β_P far below max k(x,x)
    expect(setup.topEigenvalue).toBeLessThan(1e-2 * setup.eigenvalues[0]);
    expect(setup.beta).toBeLessThan(0.1 * setup.betaPlain);
    expect(setup.criticalBatch).toBeCloseTo(setup.beta / setup.topEigenvalue, 6);
    expect(setup.batchSize).toBeLessThanOrEqual(n);
    // D_ii = (1 − μ_{q+1}/μ_i)/(s λ_i), λ_i the eigenvalues of K_ss/s and μ_i = λ_i + λ/n
    const i = 3;
    const mu = (j: number) => setup.eigenvalues[j] + lambda / n;
    expect(setup.D[i]).toBeCloseTo((1 - mu(setup.q) / mu(i)) / (setup.s * setup.eigenvalues[i]), 12);
  });

  it('reaches the direct Cholesky solution (predictions within 1e-3 relative)', async () => {
    const res = await eigenproSolve(op, setup, y, { tol: 1e-5, maxEpochs: 200 });
    expect(res.converged).toBe(true);
    expect(res.residualExact).toBe(true);
    // predictions at 400 new points and at the training points
    const r = rng(11);
    const q = new Float64Array(800).map(() => r());
    const Kq = crossKernel(pts, q, 2, kern);
    const predict = (a: Float64Array, rows: Float32Array, m: number) =>
      Float64Array.from({ length: m }, (_, i) => {
        let s = 0;
        for (let j = 0; j < n; j++) s += rows[i * n + j] * a[j];
        return s;
      });
    expect(relErr(predict(res.alpha[0], Kq, 400), predict(direct, Kq, 400))).toBeLessThan(1e-3);
    expect(relErr(predict(res.alpha[0], K, n), predict(direct, K, n))).toBeLessThan(1e-3);
    // the residual history decreases overall and is what the solver reports
    expect(res.history[0].residual).toBeCloseTo(1, 6); // α = 0: residual = ‖y‖/‖y‖
    expect(res.history[res.history.length - 1].residual).toBeLessThanOrEqual(1e-5);
  });

  it('needs ≥ 10× fewer epochs than plain mini-batch SGD and full-batch gradient descent', async () => {
    const target = 1e-3;
    const ep = await eigenproSolve(op, setup, y, { tol: target, maxEpochs: 100 });
    expect(ep.converged).toBe(true);
    const E = ep.epochs;
    expect(E).toBeLessThanOrEqual(40);
    for (const batchSize of [setup.batchSize, n]) {
      const plainSetup = await setupEigenPro(op, { lambda, preconditioner: 'none', batchSize, seed: 3 });
      expect(plainSetup.q).toBe(0);
      const plain = await eigenproSolve(op, plainSetup, y, { tol: target, maxEpochs: 10 * E });
      expect(plain.converged).toBe(false);
      expect(plain.residual).toBeGreaterThan(target);
      expect(plain.epochs).toBe(10 * E);
    }
  });

  it('solves several right-hand sides at once like one at a time', async () => {
    const y2 = Float64Array.from(y, (v, i) => v * 0.5 + pts[2 * i]);
    const both = await eigenproSolve(op, setup, [y, y2], { tol: 1e-5, maxEpochs: 200 });
    const one = await eigenproSolve(op, setup, y2, { tol: 1e-5, maxEpochs: 200 });
    expect(both.converged).toBe(true);
    expect(relErr(both.alpha[0], direct)).toBeLessThan(2e-2); // α itself is ill-determined; compare loosely
    expect(relErr(both.alpha[1], one.alpha[0])).toBeLessThan(2e-2);
  });

  it('recovers from a step that diverges (rolls back, halves the step)', async () => {
    const bad = { ...setup, step: setup.step * 16 };
    const res = await eigenproSolve(op, bad, y, { tol: 1e-3, maxEpochs: 150 });
    expect(res.history.some((h) => h.rolledBack)).toBe(true);
    expect(res.step).toBeLessThan(bad.step);
    expect(res.converged).toBe(true);
  });

  it('reports progress and stops when cancelled', async () => {
    const ac = new AbortController();
    const epochsSeen: number[] = [];
    const run = eigenproSolve(op, setup, y, { tol: 1e-12, maxEpochs: 1000 }, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.detail?.epoch !== undefined) epochsSeen.push(p.detail.epoch);
        if ((p.detail?.epoch ?? 0) >= 2) ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(Math.max(...epochsSeen)).toBeLessThanOrEqual(3);
    // an already-aborted signal stops the setup before any eigen work
    const ac2 = new AbortController();
    ac2.abort();
    await expect(setupEigenPro(op, { lambda }, { signal: ac2.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  it('rejects bad input with a clear message', async () => {
    await expect(eigenproSolve(op, setup, new Float64Array(n - 1))).rejects.toThrow(/999 values, expected 1000/);
    const yn = Float64Array.from(y);
    yn[5] = NaN;
    await expect(eigenproSolve(op, setup, yn)).rejects.toThrow(/value 5 is not finite/);
    await expect(setupEigenPro(op, { lambda: -1 })).rejects.toThrow(/lambda must be ≥ 0/);
  });

  it('works on points through the kernel-function operator with a Nyström subsample s < n', async () => {
    const m = 1500;
    const p = problem(m, 21);
    const pop = pointKernelOperator(p.pts, 2, { kind: 'rbf', lengthScale: 0.2 });
    const res = await eigenpro(pop, p.y, { lambda: 1e-2, subsample: 600, tol: 1e-4, maxEpochs: 100, seed: 2 });
    expect(res.setup.s).toBe(600);
    expect(res.setup.q).toBeLessThanOrEqual(120); // q ≤ s/5 when s < n
    // the check sample outside S sees more of the top eigenvalue than the subsample does
    expect(res.setup.checkSize).toBe(900);
    expect(res.setup.topEigenvalue).toBeGreaterThanOrEqual(res.setup.topInSample);
    expect(res.converged).toBe(true);
    // independent check with the dense matrix and a direct solve
    const Km = pop.rows(all(m)) as Float32Array;
    const A = Float64Array.from(Km);
    for (let i = 0; i < m; i++) A[i * m + i] += 1e-2;
    const ref = choleskySolve(cholesky(A, m), p.y);
    const fe = await applyOperator(pop, res.alpha[0]);
    const fr = await applyOperator(pop, ref);
    expect(relErr(fe, fr)).toBeLessThan(1e-3);
  });
});
