import { describe, expect, it } from 'vitest';
import { compareToReference, resampleReference } from '../../src/evaluation/reference.ts';
import { logBack, logForward, withTargetTransform } from '../../src/estimators/transform.ts';
import { idw } from '../../src/estimators/idw.ts';
import { snapPoints } from '../../src/estimators/observations.ts';
import { seededRandom } from '../../src/evaluation/folds.ts';
import { fromWgs84, localTransverseMercator, toWgs84, utmFor } from '../../src/geo/crs.ts';
import type { Grid } from '../../src/domain/types.ts';

describe('reference maps', () => {
  // reference: 4x4 cells over [0,4]², value = x + 2y at cell centres (bilinear reproduces a linear field)
  const refGrid: Grid = { crs: 'local', width: 4, height: 4, bounds: { xmin: 0, xmax: 4, ymin: 0, ymax: 4 } };
  const ref = new Float32Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) ref[r * 4 + c] = c + 0.5 + 2 * (4 - r - 0.5);

  it('RMSE/MAE/bias and error map against a hand-made raster', () => {
    const g: Grid = { crs: 'local', width: 6, height: 6, bounds: { xmin: 0.5, xmax: 3.5, ymin: 0.5, ymax: 3.5 } };
    const pred = new Float32Array(36);
    for (let r = 0; r < 6; r++) for (let c = 0; c < 6; c++) {
      const x = 0.5 + (c + 0.5) * 0.5, y = 3.5 - (r + 0.5) * 0.5;
      pred[r * 6 + c] = x + 2 * y + 0.5;
    }
    pred[7] += 3; // one cell off by 3.5 in all
    const cmp = compareToReference({ grid: g, values: pred }, { grid: refGrid, values: ref });
    expect(cmp.n).toBe(36);
    expect(cmp.rmse).toBeCloseTo(Math.sqrt((35 * 0.25 + 3.5 ** 2) / 36), 5);
    expect(cmp.mae).toBeCloseTo((35 * 0.5 + 3.5) / 36, 5);
    expect(cmp.bias).toBeCloseTo((35 * 0.5 + 3.5) / 36, 5);
    expect(cmp.errorMap[7]).toBeCloseTo(3.5, 5);
    expect(cmp.errorMap[0]).toBeCloseTo(0.5, 5);
    expect(cmp.maxAbs).toBeCloseTo(3.5, 5);
  });

  it('cells outside the reference, or touching no-data, are left out', () => {
    const g: Grid = { crs: 'local', width: 8, height: 4, bounds: { xmin: 0, xmax: 8, ymin: 0, ymax: 4 } };
    const withHole = Float32Array.from(ref);
    withHole[0] = NaN;
    const res = resampleReference({ grid: refGrid, values: withHole }, g);
    for (let r = 0; r < 4; r++) for (let c = 4; c < 8; c++) expect(Number.isNaN(res[r * 8 + c])).toBe(true);
    expect(Number.isNaN(res[0])).toBe(true);
    expect(res[3 * 8 + 2]).toBeCloseTo(ref[3 * 4 + 2], 5);
    const cmp = compareToReference({ grid: g, values: new Float32Array(32).fill(1) }, { grid: refGrid, values: withHole });
    expect(cmp.n).toBe(15);
  });

  it('transforms cell centres when the reference is in another CRS', () => {
    const lat = 50.63, lon = 3.05;
    const utm = utmFor(lat, lon);
    const [ux, uy] = fromWgs84(utm, lon, lat);
    const rg: Grid = { crs: utm, width: 50, height: 50, bounds: { xmin: ux - 1000, xmax: ux + 1000, ymin: uy - 1000, ymax: uy + 1000 } };
    const f = (x: number, y: number) => 0.001 * (x - ux) - 0.002 * (y - uy) + 3;
    const rv = new Float32Array(2500);
    for (let r = 0; r < 50; r++) for (let c = 0; c < 50; c++) rv[r * 50 + c] = f(rg.bounds.xmin + (c + 0.5) * 40, rg.bounds.ymax - (r + 0.5) * 40);
    const tm = localTransverseMercator(lat, lon);
    const g: Grid = { crs: tm, width: 20, height: 20, bounds: { xmin: -500, xmax: 500, ymin: -500, ymax: 500 } };
    const res = resampleReference({ grid: rg, values: rv }, g);
    // expected: the linear field evaluated at the cell centre taken tmerc -> WGS84 -> UTM point by point
    for (const [r, c] of [[0, 0], [10, 3], [19, 19]]) {
      const x = -500 + (c + 0.5) * 50, y = 500 - (r + 0.5) * 50;
      const [lo, la] = toWgs84(tm, x, y);
      const [px, py] = fromWgs84(utm, lo, la);
      expect(res[r * 20 + c]).toBeCloseTo(f(px, py), 3);
    }
  });
});

describe('log transform', () => {
  it('lognormal back-transform matches Monte Carlo moments', () => {
    const r = seededRandom(3);
    const mu = 0.3, s2 = 0.5;
    let sum = 0, sum2 = 0;
    const n = 200000;
    for (let i = 0; i < n; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      const v = Math.exp(mu + Math.sqrt(s2) * z);
      sum += v;
      sum2 += v * v;
    }
    const mean = sum / n, variance = sum2 / n - mean * mean;
    const b = logBack([mu], [s2]);
    expect(b.mean[0]).toBeCloseTo(mean, 2);
    expect(b.variance![0] / variance).toBeGreaterThan(0.97);
    expect(b.variance![0] / variance).toBeLessThan(1.03);
    expect(logBack([mu]).mean[0]).toBeCloseTo(Math.exp(mu), 12); // no variance: the median
  });

  it('replaces values ≤ 0 by half the smallest positive one', () => {
    const f = logForward([0, 0.2, 4, -1, NaN]);
    expect(f.replaced).toBe(2);
    expect(f.floor).toBeCloseTo(0.1, 12);
    expect(f.y[0]).toBeCloseTo(Math.log(0.1), 12);
    expect(f.y[2]).toBeCloseTo(Math.log(4), 12);
    expect(Number.isNaN(f.y[4])).toBe(true);
  });

  it('IDW with log=true is the exp of IDW of the logs, still exact at sensors', async () => {
    const g: Grid = { crs: 'local', width: 20, height: 20, bounds: { xmin: 0, xmax: 200, ymin: 0, ymax: 200 } };
    const obs = snapPoints(g, [15, 105, 185, 55], [25, 135, 35, 175], [0.2, 3, 1, 0.5]).obs;
    const est = withTargetTransform(idw);
    expect(est.params.map((p) => p.name)).toContain('log');
    const p = await est.prepare(obs, { power: 2, neighbours: 0, radius: 0, log: true }, {});
    const map = await p.predict(obs.values, {});
    for (let i = 0; i < obs.cell.length; i++) expect(map.values[obs.cell[i]]).toBeCloseTo(obs.values[i], 5);
    // a cell centre: float64 formula exp(Σ w ln v / Σ w)
    const cx = 95, cy = 95, cell = 10 * 20 + 9;
    let sw = 0, swv = 0;
    for (let i = 0; i < obs.cell.length; i++) {
      const w = 1 / ((obs.x[i] - cx) ** 2 + (obs.y[i] - cy) ** 2);
      sw += w;
      swv += w * Math.log(obs.values[i]);
    }
    expect(map.values[cell]).toBeCloseTo(Math.exp(swv / sw), 5);
    // and it differs from the untransformed map (arithmetic weighting)
    const plain = await (await est.prepare(obs, { power: 2, neighbours: 0, radius: 0, log: false }, {})).predict(obs.values, {});
    expect(Math.abs(plain.values[cell] - map.values[cell])).toBeGreaterThan(0.05);
  });
});
