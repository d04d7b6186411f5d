// Local Image Prior channels (normalisation, exactness at sensors) and the shifted tridiagonal solver
// used by kernel ridge regression (against direct Cholesky solves).

import { describe, expect, it } from 'vitest';
import type { Grid, Observations } from '../../src/domain/types.ts';
import { UserError } from '../../src/domain/errors.ts';
import { buildLip, lipDependsOnSet, lipDependsOnValues, parseLipChannels } from '../../src/kernels/lip.ts';
import { ShiftedSolver, tridiagonalize } from '../../src/solvers/tridiag.ts';
import { cholesky, choleskyInverse, choleskySolve } from '../../src/solvers/cholesky.ts';
import { cellCentres } from '../../src/geo/grid.ts';

function obsOn(grid: Grid, cells: number[], values: number[]): Observations {
  const c = cellCentres(grid);
  return {
    grid,
    cell: Int32Array.from(cells),
    x: Float64Array.from(cells, (i) => c.x[i]),
    y: Float64Array.from(cells, (i) => c.y[i]),
    values: Float64Array.from(values),
    count: new Int32Array(cells.length).fill(1),
    sensorIds: cells.map((i) => [`s${i}`]),
  };
}

describe('Local Image Prior', () => {
  // 8×4 grid of 10 m × 20 m cells (non-square on purpose)
  const grid: Grid = { crs: 'local', bounds: { xmin: 0, xmax: 80, ymin: 0, ymax: 80 }, width: 8, height: 4 };
  const obs = obsOn(grid, [0, 13, 31], [1, 3, 8]);

  it('builds each channel with the documented normalisation', () => {
    const lip = buildLip(obs, ['values', 'mask', 'idw', 'nearest', 'distance', 'x', 'y', 'const']);
    expect(lip.height).toBe(4);
    expect(lip.width).toBe(8);
    const [values, mask, idwCh, nearest, distance, x, y, cst] = lip.channels;
    const mean = 4;
    const sd = Math.sqrt(((1 - 4) ** 2 + (3 - 4) ** 2 + (8 - 4) ** 2) / 2);
    const z = [(1 - mean) / sd, (3 - mean) / sd, (8 - mean) / sd];
    obs.cell.forEach((c, i) => {
      expect(values[c]).toBeCloseTo(z[i], 6);
      expect(mask[c]).toBe(1);
      expect(idwCh[c]).toBeCloseTo(z[i], 6); // exact at sensors
      expect(nearest[c]).toBeCloseTo(z[i], 6);
      expect(distance[c]).toBe(0);
    });
    expect(values.reduce((a, v) => a + Math.abs(v), 0)).toBeCloseTo(z.reduce((a, v) => a + Math.abs(v), 0), 5);
    expect(mask.reduce((a, v) => a + v, 0)).toBe(3);
    // cell (row 0, col 3) is 30 m east of cell 0 and (row 1, col 5)=13 is √(20² + 20²) away: nearest is 0
    expect(distance[3]).toBeCloseTo(Math.hypot(20, 20) / 80, 6);
    expect(nearest[3]).toBeCloseTo(z[1], 6);
    expect(nearest[1]).toBeCloseTo(z[0], 6);
    // idw between the sensors' values
    for (let p = 0; p < 32; p++) {
      expect(idwCh[p]).toBeGreaterThanOrEqual(Math.min(...z) - 1e-6);
      expect(idwCh[p]).toBeLessThanOrEqual(Math.max(...z) + 1e-6);
    }
    expect(x[0]).toBeCloseTo(-1 + 1 / 8, 6);
    expect(x[7]).toBeCloseTo(1 - 1 / 8, 6);
    expect(y[0]).toBeCloseTo(1 - 1 / 4, 6); // row 0 is north: y > 0
    expect(y[31]).toBeCloseTo(-1 + 1 / 4, 6);
    expect(cst.every((v) => v === 1)).toBe(true);
  });

  it('uses override values (e.g. log or time-mean) and rejects bad channel lists', () => {
    const a = buildLip(obs, ['values'], { values: [2, 2, 5] });
    const sd = Math.sqrt(((2 - 3) ** 2 * 2 + (5 - 3) ** 2) / 2);
    expect(a.channels[0][31]).toBeCloseTo(2 / sd, 6);
    expect(() => parseLipChannels('x,y,height')).toThrow(UserError);
    expect(() => parseLipChannels('x,x')).toThrow(/twice/);
    expect(lipDependsOnValues(['x', 'idw'])).toBe(true);
    expect(lipDependsOnValues(['mask', 'distance'])).toBe(false);
    expect(lipDependsOnSet(['mask'])).toBe(true);
    expect(lipDependsOnSet(['x', 'y', 'const'])).toBe(false);
  });
});

describe('shifted solves from one tridiagonalisation', () => {
  function kernelMatrix(n: number, seed: number): Float64Array {
    let a = seed;
    const r = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const pts = Array.from({ length: n }, () => [r(), r()]);
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = Math.exp(-((pts[i][0] - pts[j][0]) ** 2 + (pts[i][1] - pts[j][1]) ** 2) / 0.05);
    return K;
  }

  for (const n of [1, 2, 3, 40, 150]) {
    it(`solve, inverse diagonal and blocks match Cholesky for n = ${n} over many λ`, async () => {
      const K = kernelMatrix(n, n);
      const s = new ShiftedSolver(await tridiagonalize(K, n));
      const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
      for (const lambda of [1e-6, 1e-3, 1, 100]) {
        const A = Float64Array.from(K);
        for (let i = 0; i < n; i++) A[i * n + i] += lambda;
        const f = cholesky(A, n);
        const x = choleskySolve(f, y);
        const inv = choleskyInverse(f);
        const got = s.solve(y, lambda);
        const diag = s.inverseDiag(lambda);
        const scaleX = Math.max(...x.map(Math.abs));
        const scaleI = Math.max(...inv.map(Math.abs));
        for (let i = 0; i < n; i++) {
          expect(Math.abs(got[i] - x[i])).toBeLessThanOrEqual(1e-7 * scaleX);
          expect(Math.abs(diag[i] - inv[i * n + i])).toBeLessThanOrEqual(1e-7 * scaleI);
        }
        const F = [n - 1, 0, Math.floor(n / 2)].filter((v, i, arr) => arr.indexOf(v) === i);
        const B = s.inverseBlock(lambda, F);
        F.forEach((fa, a) => F.forEach((fb, b) => expect(Math.abs(B[a * F.length + b] - inv[fa * n + fb])).toBeLessThanOrEqual(1e-7 * scaleI)));
      }
    });
  }

  it('reconstructs A = Zᵀ T Z', async () => {
    const n = 30;
    const K = kernelMatrix(n, 9);
    const t = await tridiagonalize(K, n);
    for (let i = 0; i < n; i += 7) {
      for (let j = 0; j < n; j += 5) {
        let s = 0;
        for (let k = 0; k < n; k++) {
          const tz = t.d[k] * t.Z[k * n + j] + (k > 0 ? t.e[k - 1] * t.Z[(k - 1) * n + j] : 0) + (k < n - 1 ? t.e[k] * t.Z[(k + 1) * n + j] : 0);
          s += t.Z[k * n + i] * tz;
        }
        expect(s).toBeCloseTo(K[i * n + j], 10);
      }
    }
  });
});
