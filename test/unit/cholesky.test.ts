import { describe, expect, it } from 'vitest';
import {
  cholesky,
  choleskyForward,
  choleskyForwardRows,
  choleskyInto,
  choleskySolveInPlace,
  choleskyBackwardInPlace,
  choleskyForwardInPlace,
  choleskyInverse,
  choleskyInverseDiag,
  choleskyLogDet,
  choleskySolve,
} from '../../src/solvers/cholesky.ts';

// deterministic PRNG so failures reproduce
import { mulberry32 as rng } from '../../src/util/random.ts';

/** Random SPD matrix A = G·Gᵀ + δI (G n×n Gaussian-ish). */
function randomSpd(n: number, seed: number, delta = 0.1): Float64Array {
  const r = rng(seed);
  const G = new Float64Array(n * n).map(() => r() - 0.5);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += G[i * n + k] * G[j * n + k];
      A[i * n + j] = s + (i === j ? delta : 0);
    }
  return A;
}

function matVec(A: Float64Array, n: number, x: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
    y[i] = s;
  }
  return y;
}

describe('cholesky', () => {
  it('reconstructs L·Lᵀ = A for random SPD matrices across the block size', () => {
    for (const n of [1, 2, 7, 63, 64, 65, 130, 200]) {
      const A = randomSpd(n, n);
      const f = cholesky(A, n);
      expect(f.jitter).toBe(0);
      let maxErr = 0;
      let maxA = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) expect(f.L[i * n + j]).toBe(0);
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = 0; k <= j; k++) s += f.L[i * n + k] * f.L[j * n + k];
          maxErr = Math.max(maxErr, Math.abs(s - A[i * n + j]));
          maxA = Math.max(maxA, Math.abs(A[i * n + j]));
        }
      }
      expect(maxErr / maxA).toBeLessThan(1e-13);
    }
  });

  it('solves a hand-computed 3×3 system', () => {
    // A = [[4,2,2],[2,5,3],[2,3,6]]: L = [[2,0,0],[1,2,0],[1,1,2]] by hand; A·[1,1,1] = [8,10,11].
    const A = Float64Array.from([4, 2, 2, 2, 5, 3, 2, 3, 6]);
    const f = cholesky(A, 3);
    expect(Array.from(f.L)).toEqual([2, 0, 0, 1, 2, 0, 1, 1, 2]);
    const x = choleskySolve(f, Float64Array.from([8, 10, 11]));
    for (const v of x) expect(v).toBeCloseTo(1, 14);
    // det A = (2·2·2)² = 64
    expect(choleskyLogDet(f)).toBeCloseTo(Math.log(64), 13);
    // inverse diagonal by cofactors: (5·6−9)/64, (4·6−4)/64, (4·5−4)/64
    const d = choleskyInverseDiag(f);
    expect(d[0]).toBeCloseTo(21 / 64, 14);
    expect(d[1]).toBeCloseTo(20 / 64, 14);
    expect(d[2]).toBeCloseTo(16 / 64, 14);
    // forward only: L·y = b with b = L·[1,2,3] = [2, 5, 9]
    const y = choleskyForward(f, Float64Array.from([2, 5, 9]));
    expect(Array.from(y).map((v) => +v.toFixed(12))).toEqual([1, 2, 3]);
  });

  it('solves many right-hand sides, and inverse / inverse diagonal agree with A·X = I', () => {
    const n = 90;
    const A = randomSpd(n, 7);
    const f = cholesky(A, n);
    const nrhs = 5;
    const r = rng(3);
    const X = new Float64Array(n * nrhs).map(() => r() - 0.5);
    // B = A·X column by column (row-major n×nrhs)
    const B = new Float64Array(n * nrhs);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < nrhs; c++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += A[i * n + k] * X[k * nrhs + c];
        B[i * nrhs + c] = s;
      }
    const sol = choleskySolve(f, B, nrhs);
    for (let i = 0; i < n * nrhs; i++) expect(Math.abs(sol[i] - X[i])).toBeLessThan(1e-9);
    // single-rhs path gives the same as column 0 of the multi-rhs path
    const b0 = new Float64Array(n).map((_, i) => B[i * nrhs]);
    const s0 = choleskySolve(f, b0);
    for (let i = 0; i < n; i++) expect(s0[i]).toBeCloseTo(sol[i * nrhs], 10);

    const inv = choleskyInverse(f);
    const d = choleskyInverseDiag(f);
    for (let c = 0; c < n; c += 17) {
      const col = new Float64Array(n).map((_, i) => inv[i * n + c]);
      const e = matVec(A, n, col);
      for (let i = 0; i < n; i++) expect(Math.abs(e[i] - (i === c ? 1 : 0))).toBeLessThan(1e-9);
    }
    for (let i = 0; i < n; i++) expect(d[i]).toBeCloseTo(inv[i * n + i], 10);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(inv[i * n + j]).toBe(inv[j * n + i]);
  });

  it('forward solve with right-hand sides as rows equals the column layout (8-, 4- and 1-wide paths)', () => {
    const n = 70;
    const f = cholesky(randomSpd(n, 21), n);
    const m = 13; // 8 + 4 + 1
    const r = rng(8);
    const rows = new Float64Array(m * n).map(() => r() - 0.5);
    const cols = new Float64Array(n * m);
    for (let c = 0; c < m; c++) for (let i = 0; i < n; i++) cols[i * m + c] = rows[c * n + i];
    const a = choleskyForwardRows(f, rows, m);
    const b = choleskyForward(f, cols, m);
    for (let c = 0; c < m; c++) for (let i = 0; i < n; i++) expect(a[c * n + i]).toBeCloseTo(b[i * m + c], 11);
    // and L·y reproduces the right-hand side
    for (let c = 0; c < m; c++)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k <= i; k++) s += f.L[i * n + k] * a[c * n + k];
        expect(s).toBeCloseTo(rows[c * n + i], 11);
      }
  });

  it('in-place variants (workspace buffers larger than the system) agree with the allocating ones', () => {
    const n = 20;
    const A = randomSpd(n, 5);
    const buf = new Float64Array(32 * 32).fill(7); // stale content must not leak into the factor
    const f = choleskyInto(A, n, buf);
    const g = cholesky(A, n);
    for (let i = 0; i < n * n; i++) expect(f.L[i]).toBe(g.L[i]);
    const r = rng(2);
    const b = new Float64Array(n).map(() => r());
    const x = Float64Array.from(b);
    choleskySolveInPlace(f, x);
    const ref = choleskySolve(g, b);
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(ref[i], 12);
    const y = Float64Array.from(b);
    choleskyForwardInPlace(f, y);
    choleskyBackwardInPlace(f, y);
    for (let i = 0; i < n; i++) expect(y[i]).toBeCloseTo(ref[i], 12);
  });

  it('logdet matches the sum of log eigenvalues of a diagonal-dominant tridiagonal matrix', () => {
    // tridiag(−1, 2+a, −1) of size n has eigenvalues 2+a − 2cos(kπ/(n+1)), k = 1..n
    const n = 150;
    const a = 0.3;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      A[i * n + i] = 2 + a;
      if (i > 0) A[i * n + i - 1] = A[(i - 1) * n + i] = -1;
    }
    let ref = 0;
    for (let k = 1; k <= n; k++) ref += Math.log(2 + a - 2 * Math.cos((k * Math.PI) / (n + 1)));
    expect(choleskyLogDet(cholesky(A, n))).toBeCloseTo(ref, 9);
  });

  it('adds jitter for singular matrices (duplicate rows) and never returns NaN', () => {
    // Exponential covariance of 4 sites where sites 1 and 2 coincide: rank 3.
    const pts = [[0, 0], [1, 0], [1, 0], [0, 2]];
    const n = pts.length;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) A[i * n + j] = Math.exp(-Math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]));
    const f = cholesky(A, n);
    expect(f.jitter).toBeGreaterThan(0);
    expect(f.jitter).toBeLessThan(1e-6);
    expect(f.L.every(Number.isFinite)).toBe(true);
    const x = choleskySolve(f, Float64Array.from([1, 2, 2, 3]));
    expect(x.every(Number.isFinite)).toBe(true);
    // the jittered system is solved accurately: (A + jI)x = b
    const r = matVec(A, n, x).map((v, i) => v + f.jitter * x[i]);
    expect(Array.from(r).map((v) => +v.toFixed(5))).toEqual([1, 2, 2, 3]);
    // an all-zero matrix (constant field, zero sill) becomes jitter·I
    const z = cholesky(new Float64Array(9), 3);
    expect(z.jitter).toBeGreaterThan(0);
    expect(z.L.every(Number.isFinite)).toBe(true);
  });

  it('throws a clear error for indefinite or non-finite input', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite/);
    expect(() => cholesky(Float64Array.from([1, NaN, NaN, 1]), 2)).toThrow(/non-finite/);
    expect(() => cholesky(Float64Array.from([-1]), 1, { maxTries: 3 })).toThrow(/not positive definite/);
  });
});
