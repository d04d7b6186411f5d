import { describe, expect, it } from 'vitest';
import { kriging, CovariancePredictor, lognormalBack } from '../../src/estimators/kriging.ts';
import { CancelledError } from '../../src/domain/run.ts';
import { UserError } from '../../src/domain/errors.ts';
import type { Grid, Observations } from '../../src/domain/types.ts';
import { resolveParams } from '../../src/estimators/params.ts';
import { cellCentres } from '../../src/geo/grid.ts';
import { gaussian, grid, observations, randomCells, rng, simulateField } from './kriging-helpers.ts';

const params = (p: Record<string, unknown> = {}) => resolveParams('kriging', kriging.params, p);
const fixedExp = (range: number, sill: number, nugget = 0, extra: Record<string, unknown> = {}) =>
  params({ model: 'exponential', range, sill, nugget: String(nugget), ...extra });

/** Solve a small dense system by Gaussian elimination with partial pivoting (independent reference). */
function gaussSolve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/** Ordinary kriging by the textbook augmented system [C 1; 1ᵀ 0][w; μ] = [c*; 1]: mean and variance at (tx, ty). */
function okReference(xs: number[], ys: number[], z: number[], cov: (h: number) => number, c0: number, tx: number, ty: number) {
  const n = xs.length;
  const A: number[][] = [];
  for (let i = 0; i < n; i++) {
    A.push([...xs.map((_, j) => cov(Math.hypot(xs[i] - xs[j], ys[i] - ys[j]))), 1]);
  }
  A.push([...new Array(n).fill(1), 0]);
  const cs = xs.map((_, i) => cov(Math.hypot(tx - xs[i], ty - ys[i])));
  const sol = gaussSolve(A, [...cs, 1]);
  const w = sol.slice(0, n);
  const mu = sol[n];
  const mean = w.reduce((s, wi, i) => s + wi * z[i], 0);
  const variance = c0 - w.reduce((s, wi, i) => s + wi * cs[i], 0) - mu;
  return { w, mean, variance };
}

function cellOf(g: Grid, x: number, y: number): number {
  const { x: cx, y: cy } = cellCentres(g);
  let best = 0;
  for (let p = 1; p < cx.length; p++) if (Math.hypot(cx[p] - x, cy[p] - y) < Math.hypot(cx[best] - x, cy[best] - y)) best = p;
  return best;
}

describe('ordinary kriging: small systems against the textbook augmented system', () => {
  const g = grid(20, 20, 100);
  const cells = [22, 87, 250];
  const z = [3, 7, 4];

  it('3 sites, exponential covariance: mean and variance at every cell', async () => {
    const obs = observations(g, cells, z);
    const prepared = await kriging.prepare(obs, fixedExp(30, 2), {});
    const map = await prepared.predict(obs.values, {});
    const { x: cx, y: cy } = cellCentres(g);
    const cov = (h: number) => 2 * Math.exp(-h / 30);
    for (const p of [0, 5, 133, 210, 399, 22]) {
      const ref = okReference([...obs.x], [...obs.y], z, cov, 2, cx[p], cy[p]);
      expect(ref.w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(map.values[p]).toBeCloseTo(ref.mean, 5); // float32 map
      expect(map.variance![p]).toBeCloseTo(Math.max(0, ref.variance), 5);
    }
  });

  it('2 sites: the weights by hand', async () => {
    // two sites at distance d, target on the segment at distances d1, d2: with c(h) = e^{-h/a},
    // OK weights are w1 = 1/2 + (c1 − c2)/(2(1 − c12)), w2 = 1 − w1 (symmetric 2×2 augmented system)
    const g2 = grid(10, 1, 100); // cells 10 m wide on a 100×10 strip
    const obs = observations(g2, [1, 6], [10, 20]);
    const prepared = await kriging.prepare(obs, fixedExp(25, 1), {});
    const map = await prepared.predict(obs.values, {});
    const d = 50;
    const c12 = Math.exp(-d / 25);
    for (const col of [2, 3, 4, 8]) {
      const d1 = Math.abs(col - 1) * 10;
      const d2 = Math.abs(col - 6) * 10;
      const c1 = Math.exp(-d1 / 25), c2 = Math.exp(-d2 / 25);
      const w1 = 0.5 + (c1 - c2) / (2 * (1 - c12));
      const mu = (c1 + c2 - (1 + c12)) / 2; // from w1 + c12 w2 + μ = c1 and c12 w1 + w2 + μ = c2
      expect(map.values[col]).toBeCloseTo(w1 * 10 + (1 - w1) * 20, 4);
      expect(map.variance![col]).toBeCloseTo(1 - w1 * c1 - (1 - w1) * c2 - mu, 5);
    }
  });
});

describe('ordinary kriging properties', () => {
  const g = grid(32, 32, 100);
  const cells = randomCells(g, 25, 3);
  const r = rng(9);
  const z = Float64Array.from({ length: 25 }, () => 1 + 4 * r());

  for (const neighbours of [0, 8]) {
    it(`weights sum to 1 (${neighbours ? 'local' : 'global'}): unit-vector maps add up to 1 everywhere`, async () => {
      const obs = observations(g, cells, z);
      const prepared = await kriging.prepare(obs, fixedExp(20, 1.5, 0.1, { neighbours }), {});
      const sum = new Float64Array(32 * 32);
      for (let i = 0; i < 25; i++) {
        const e = new Float64Array(25);
        e[i] = 1;
        const m = await prepared.predict(e, {});
        for (let p = 0; p < sum.length; p++) sum[p] += m.values[p];
      }
      for (let p = 0; p < sum.length; p++) expect(sum[p]).toBeCloseTo(1, 5);
      // and the map of z is linear in z: z + 10 maps to map(z) + 10
      const a = await prepared.predict(obs.values, {});
      const b = await prepared.predict(obs.values.map((v) => v + 10), {});
      for (let p = 0; p < sum.length; p++) expect(b.values[p] - a.values[p]).toBeCloseTo(10, 4);
    });
  }

  it('reproduces the data exactly without nugget; variance is 0 there and ≥ 0 everywhere', async () => {
    const obs = observations(g, cells, z);
    const prepared = await kriging.prepare(obs, params({ model: 'exponential', nugget: '0' }), {});
    const m = await prepared.predict(obs.values, {});
    for (let i = 0; i < 25; i++) {
      expect(m.values[cells[i]]).toBeCloseTo(z[i], 5);
      expect(m.variance![cells[i]]).toBeLessThan(1e-8);
    }
    const vmax = Math.max(...m.variance!);
    expect(vmax).toBeGreaterThan(0.05);
    for (const v of m.variance!) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('with a nugget: exact=true honours the data, the default filters it (smooth, variance > 0 at data)', async () => {
    const obs = observations(g, cells, z);
    const exact = await kriging.prepare(obs, fixedExp(20, 1, 0.5, { exact: true }), {});
    const smooth = await kriging.prepare(obs, fixedExp(20, 1, 0.5), {});
    const me = await exact.predict(obs.values, {});
    const ms = await smooth.predict(obs.values, {});
    let moved = 0;
    for (let i = 0; i < 25; i++) {
      expect(me.values[cells[i]]).toBeCloseTo(z[i], 5);
      expect(me.variance![cells[i]]).toBeLessThan(1e-8);
      expect(ms.variance![cells[i]]).toBeGreaterThan(0.01);
      moved = Math.max(moved, Math.abs(ms.values[cells[i]] - z[i]));
    }
    expect(moved).toBeGreaterThan(0.1);
    // away from the data both agree (the nugget only acts at distance 0)
    const free = Array.from({ length: 32 * 32 }, (_, p) => p).filter((p) => !cells.includes(p));
    for (const p of free.slice(0, 50)) expect(ms.values[p]).toBeCloseTo(me.values[p], 4);
  });

  it('a constant field gives a constant map with ~zero variance and no NaN', async () => {
    const obs = observations(g, cells, new Float64Array(25).fill(3.2));
    const prepared = await kriging.prepare(obs, params(), {});
    const m = await prepared.predict(obs.values, {});
    for (let p = 0; p < m.values.length; p++) {
      expect(m.values[p]).toBeCloseTo(3.2, 5);
      expect(m.variance![p]).toBeLessThan(1e-6);
      expect(Number.isNaN(m.variance![p])).toBe(false);
    }
    const h = await prepared.predictHeldOut!(obs.values, [Int32Array.of(0), Int32Array.of(1, 2)], {});
    expect(h.mean[0]).toBeCloseTo(3.2, 8);
    expect(h.mean[2]).toBeCloseTo(3.2, 8);
  });

  it('duplicate / co-located sensors: no NaN, the map there lies between their values', async () => {
    const obs = observations(g, cells, z);
    // duplicate site 0 twice (same coordinates, different readings), without nugget: C is singular
    const dup: Observations = {
      ...obs,
      cell: Int32Array.from([...obs.cell, obs.cell[0], obs.cell[0]]),
      x: Float64Array.from([...obs.x, obs.x[0], obs.x[0]]),
      y: Float64Array.from([...obs.y, obs.y[0], obs.y[0]]),
      values: Float64Array.from([...z, z[0] + 1, z[0] + 2]),
      count: new Int32Array(27).fill(1),
      sensorIds: [...obs.sensorIds, ['d1'], ['d2']],
    };
    for (const p of [params({ model: 'exponential', nugget: '0' }), params()]) {
      const prepared = await kriging.prepare(dup, p, {});
      const m = await prepared.predict(dup.values, {});
      expect(m.values.every(Number.isFinite)).toBe(true);
      expect(m.variance!.every(Number.isFinite)).toBe(true);
      expect(m.values[cells[0]]).toBeGreaterThan(z[0] - 0.5);
      expect(m.values[cells[0]]).toBeLessThan(z[0] + 2.5);
      const h = await prepared.predictHeldOut!(dup.values, Array.from({ length: 27 }, (_, i) => Int32Array.of(i)), {});
      expect(h.mean.every(Number.isFinite)).toBe(true);
      expect(h.variance!.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    }
  });

  it('works with 3 sensors (default model, no fit possible) and with 1', async () => {
    const obs = observations(g, [40, 500, 900], [1, 5, 2]);
    const prepared = await kriging.prepare(obs, params(), {});
    const m = await prepared.predict(obs.values, {});
    expect(m.values.every(Number.isFinite)).toBe(true);
    expect(m.values[40]).toBeCloseTo(1, 5);
    expect(m.values[500]).toBeCloseTo(5, 5);
    expect(Math.min(...m.values)).toBeGreaterThanOrEqual(1 - 1e-6); // convex weights between 3 sites? at least no wild values
    expect(Math.max(...m.values)).toBeLessThanOrEqual(5 + 1e-6);
    const d = prepared.diagnostics as { variogram: { selection: string } };
    expect(d.variogram.selection).toMatch(/too few/);
    const one = await kriging.prepare(observations(g, [77], [4]), params(), {});
    const m1 = await one.predict(Float64Array.of(4), {});
    expect(m1.values.every((v) => Math.abs(v - 4) < 1e-6)).toBe(true);
  });

  it('refuses non-finite values with a UserError and honours cancellation', async () => {
    const obs = observations(g, cells, z);
    const bad = { ...obs, values: obs.values.map((v, i) => (i === 3 ? NaN : v)) };
    await expect(kriging.prepare(bad, params(), {})).rejects.toBeInstanceOf(UserError);
    const ac = new AbortController();
    ac.abort();
    await expect(kriging.prepare(obs, params(), { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    const prepared = await kriging.prepare(obs, params(), {});
    await expect(prepared.predict(obs.values, { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    // cancelling mid-way through the variance pass of a larger grid
    const big = grid(256, 256, 100);
    const obsBig = observations(big, randomCells(big, 300, 1), Array.from({ length: 300 }, (_, i) => Math.sin(i)));
    const p2 = await kriging.prepare(obsBig, fixedExp(20, 1), {});
    const ac2 = new AbortController();
    const stages: string[] = [];
    const run = p2.predict(obsBig.values, {
      signal: ac2.signal,
      onProgress: (pr) => {
        stages.push(pr.stage);
        ac2.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(stages[0]).toMatch(/kriging/);
  });
});

describe('kriging time series', () => {
  it('fits one variogram on the pooled, per-step standardized steps (sill scaled by the mean step variance)', async () => {
    const g = grid(32, 32, 100);
    const cells = randomCells(g, 80, 31);
    const o0 = observations(g, cells, new Float64Array(80));
    const z = simulateField(o0.x, o0.y, (h) => Math.exp(-h / 12), 3)[0];
    const obs = observations(g, cells, z);
    const p = params({ model: 'exponential' });
    const one = await kriging.prepare(obs, p, {});
    // the same spatial pattern at 3× the amplitude (9× the variance) plus an offset
    const pooled = await kriging.prepare(obs, p, {}, [z, z.map((v) => 3 * v + 2)]);
    type V = { variogram: { sill: number; range: number; empirical: { steps: number } } };
    const a = (one.diagnostics as V).variogram;
    const b = (pooled.diagnostics as V).variogram;
    expect(b.empirical.steps).toBe(2);
    expect(b.range).toBeCloseTo(a.range, 6);
    expect(b.sill / a.sill).toBeCloseTo(5, 6); // mean of 1× and 9× the variance
    // the weights are the same: step 2's map is 3·map(step 1) + 2
    const m1 = await pooled.predict(z, {});
    const m2 = await pooled.predict(z.map((v) => 3 * v + 2), {});
    for (let q = 0; q < m1.values.length; q += 37) expect(m2.values[q]).toBeCloseTo(3 * m1.values[q] + 2, 4);
  });
});

describe('kriging leave-out in closed form equals brute-force refits', () => {
  const g = grid(24, 24, 100);
  const cells = randomCells(g, 30, 5);
  const r = gaussian(rng(4));
  const z = Float64Array.from({ length: 30 }, () => 5 + r());

  for (const [label, extra] of [
    ['global', { neighbours: 0 }],
    ['local (10 nearest)', { neighbours: 10 }],
  ] as const) {
    it(`${label}: leave-one-out and 3-site folds`, async () => {
      const obs = observations(g, cells, z);
      // exact=true: the map variance at a held-out site is then the variance of its measurement
      const p = fixedExp(25, 1.2, 0.3, { exact: true, ...extra });
      const prepared = await kriging.prepare(obs, p, {});
      const folds = [Int32Array.of(0), Int32Array.of(7), Int32Array.of(3, 11, 29), Int32Array.of(14, 15)];
      const h = await prepared.predictHeldOut!(obs.values, folds, {});
      for (const F of folds) {
        const keep = Array.from({ length: 30 }, (_, i) => i).filter((i) => !F.includes(i));
        const sub = observations(g, keep.map((i) => cells[i]), keep.map((i) => z[i]));
        const refit = await kriging.prepare(sub, p, {});
        const m = await refit.predict(sub.values, {});
        for (const i of F) {
          expect(h.mean[i]).toBeCloseTo(m.values[cells[i]], 4);
          expect(h.variance![i]).toBeCloseTo(m.variance![cells[i]], 4);
        }
      }
    });
  }
});

describe('kriging at scale and with transforms', () => {
  it('2 000 sensors: moving neighbourhood, accurate on a smooth field, no NaN', async () => {
    const g = grid(64, 64, 1000);
    const cells = randomCells(g, 2000, 8);
    const f = (x: number, y: number) => 3 + Math.sin(x / 120) + Math.cos(y / 90) + 0.5 * Math.sin((x + y) / 60);
    const o0 = observations(g, cells, new Float64Array(2000));
    const obs = observations(g, cells, Array.from(o0.x, (x, i) => f(x, o0.y[i])));
    const prepared = await kriging.prepare(obs, params(), {});
    expect((prepared.diagnostics as { neighbourhood: string }).neighbourhood).toBe('48 nearest');
    const m = await prepared.predict(obs.values, {});
    const { x: cx, y: cy } = cellCentres(g);
    let maxErr = 0, se = 0;
    for (let p = 0; p < cx.length; p++) {
      const e = m.values[p] - f(cx[p], cy[p]);
      maxErr = Math.max(maxErr, Math.abs(e));
      se += e * e;
    }
    // field range ≈ 5; sensors ~22 m apart on a 1 km square
    expect(Math.sqrt(se / cx.length)).toBeLessThan(0.02);
    expect(maxErr).toBeLessThan(0.15);
    expect(m.variance!.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
  });

  it('lognormal kriging: exp(Ŷ + σ²/2 − m) is unbiased where exp(Ŷ) is biased low', async () => {
    const g = grid(48, 48, 100);
    let biasLog = 0, biasNaive = 0, meanZ = 0;
    const seeds = [1, 2, 3];
    for (const seed of seeds) {
      const cells = randomCells(g, 150, 20 + seed);
      const o0 = observations(g, cells, new Float64Array(150));
      const yv = simulateField(o0.x, o0.y, (h) => 0.8 * Math.exp(-h / 6), 40 + seed)[0];
      const zv = yv.map((v) => Math.exp(1 + v));
      const obs = observations(g, cells, zv);
      const p = params({ model: 'exponential', nugget: '0', range: 6, sill: 0.8, log: true });
      const prepared = await kriging.prepare(obs, p, {});
      const folds = Array.from({ length: 150 }, (_, i) => Int32Array.of(i));
      const h = await prepared.predictHeldOut!(obs.values, folds, {});
      // naive back-transform: exp of the log-scale LOO prediction
      const plain = await kriging.prepare(observations(g, cells, yv.map((v) => 1 + v)), params({ model: 'exponential', nugget: '0', range: 6, sill: 0.8 }), {});
      const hy = await plain.predictHeldOut!(yv.map((v) => 1 + v), folds, {});
      for (let i = 0; i < 150; i++) {
        biasLog += (h.mean[i] - zv[i]) / (150 * seeds.length);
        biasNaive += (Math.exp(hy.mean[i]) - zv[i]) / (150 * seeds.length);
        meanZ += zv[i] / (150 * seeds.length);
      }
      // exact at the data with nugget 0
      const m = await prepared.predict(obs.values, {});
      for (let i = 0; i < 150; i += 15) expect(m.values[cells[i]] / zv[i]).toBeCloseTo(1, 4);
    }
    expect(biasNaive / meanZ).toBeLessThan(-0.04);
    expect(Math.abs(biasLog)).toBeLessThan(0.5 * Math.abs(biasNaive));
  });

  it('lognormal kriging far from uncorrelated data: exp(ȳ + C₀/2 − C₀/2n), the unbiased estimate of E[Z]', async () => {
    // spherical range 1 m, sites ≥ 10 m apart and from the target: OK weights 1/n, σ² = C₀(1 + 1/n), m = C₀/n
    const g = grid(10, 10, 100);
    const cells = [0, 9, 90, 99, 4];
    const zv = [2, 5, 3, 8, 1];
    const C0 = 0.7;
    const prepared = await kriging.prepare(
      observations(g, cells, zv),
      params({ model: 'spherical', nugget: '0', range: 1, sill: C0, log: true }),
      {},
    );
    const m = await prepared.predict(Float64Array.from(zv), {});
    const n = zv.length;
    const ybar = zv.reduce((s, v) => s + Math.log(v), 0) / n;
    expect(m.values[55]).toBeCloseTo(Math.exp(ybar + C0 / 2 - C0 / (2 * n)), 5);
  });

  it('lognormalBack matches the lognormal moments', () => {
    const r = lognormalBack({ mean: Float64Array.of(0.5), variance: Float64Array.of(0.2), lagrange: Float64Array.of(0.05) });
    expect(r.mean[0]).toBeCloseTo(Math.exp(0.5 + 0.1 - 0.05), 14);
    expect(r.variance[0]).toBeCloseTo(Math.exp(2 * (0.5 + 0.1 - 0.05)) * (Math.exp(0.2) - 1), 14);
  });

  it('auto model choice: the chosen candidate has the lowest LOO RMSE and all candidates are reported', async () => {
    const g = grid(48, 48, 100);
    const cells = randomCells(g, 200, 77);
    const o0 = observations(g, cells, new Float64Array(200));
    // a smooth field (Gaussian covariance): smooth models must beat the exponential by LOO
    const zv = simulateField(o0.x, o0.y, (h) => Math.exp(-((h / 15) ** 2)) + (h === 0 ? 1e-4 : 0), 5)[0];
    const prepared = await kriging.prepare(observations(g, cells, zv), params(), {});
    const v = (prepared.diagnostics as { variogram: { model: string; candidates: { model: string; looRmse: number }[] } }).variogram;
    expect([...new Set(v.candidates.map((c) => c.model))].sort()).toEqual(['exponential', 'gaussian', 'matern15', 'matern25', 'spherical']);
    const best = v.candidates.reduce((a, b) => (b.looRmse < a.looRmse ? b : a));
    expect(v.model).toBe(best.model);
    expect(['gaussian', 'matern25']).toContain(v.model);
    const expo = v.candidates.find((c) => c.model === 'exponential')!;
    expect(best.looRmse).toBeLessThan(0.8 * expo.looRmse);
  });

  it('CovariancePredictor: simple kriging mean uses the training mean', async () => {
    const g = grid(8, 8, 100);
    const obs = observations(g, [0, 63], [2, 6]);
    const pr = new CovariancePredictor(obs.x, obs.y, { model: 'exponential', range: 10, psill: 1, nugget: 0 }, { mean: 'simple', exact: false, neighbours: 0 });
    const r = await pr.predictGrid(g, obs.values);
    // far from both sites (range 10 m, sites ~88 m apart): the mean 4
    expect(r.mean[7]).toBeCloseTo(4, 3);
    expect(r.mean[0]).toBeCloseTo(2, 10);
    // per-cell caches follow the grid: another grid gives what a fresh predictor gives
    for (const neighbours of [0, 1]) {
      const a = new CovariancePredictor(obs.x, obs.y, { model: 'exponential', range: 30, psill: 1, nugget: 0 }, { mean: 'ordinary', exact: false, neighbours });
      await a.predictGrid(g, obs.values);
      const g2 = grid(5, 7, 60);
      const fresh = new CovariancePredictor(obs.x, obs.y, { model: 'exponential', range: 30, psill: 1, nugget: 0 }, { mean: 'ordinary', exact: false, neighbours });
      const r2 = await a.predictGrid(g2, obs.values);
      const f2 = await fresh.predictGrid(g2, obs.values);
      expect(Array.from(r2.variance)).toEqual(Array.from(f2.variance));
      expect(Array.from(r2.mean)).toEqual(Array.from(f2.mean));
    }
  });
});
