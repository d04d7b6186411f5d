import { describe, expect, it } from 'vitest';
import {
  correlation,
  effectiveRange,
  empiricalVariogram,
  fitVariogram,
  semivariance,
  type EmpiricalVariogram,
  type VariogramModelName,
} from '../../src/estimators/variogram.ts';
import { nelderMead } from '../../src/solvers/optimize.ts';
import { grid, observations, randomCells, simulateField } from './kriging-helpers.ts';

describe('covariance models', () => {
  it('have ρ(0) = 1, decrease, and match their closed forms', () => {
    const a = 7;
    for (const m of ['spherical', 'exponential', 'gaussian', 'matern15', 'matern25'] as VariogramModelName[]) {
      const rho = correlation(m, a);
      expect(rho(0)).toBe(1);
      let prev = 1;
      for (let h = 0.5; h < 40; h += 0.5) {
        const r = rho(h);
        expect(r).toBeLessThanOrEqual(prev + 1e-15);
        expect(r).toBeGreaterThanOrEqual(0);
        prev = r;
      }
    }
    // independent formulas
    expect(correlation('exponential', a)(3)).toBeCloseTo(Math.exp(-3 / 7), 15);
    expect(correlation('gaussian', a)(3)).toBeCloseTo(Math.exp(-9 / 49), 15);
    expect(correlation('spherical', a)(3.5)).toBeCloseTo(1 - 1.5 * 0.5 + 0.5 * 0.125, 15);
    expect(correlation('spherical', a)(7)).toBe(0);
    const t = (Math.sqrt(3) * 3) / 7;
    expect(correlation('matern15', a)(3)).toBeCloseTo((1 + t) * Math.exp(-t), 15);
    const u = (Math.sqrt(5) * 3) / 7;
    expect(correlation('matern25', a)(3)).toBeCloseTo((1 + u + (u * u) / 3) * Math.exp(-u), 15);
    // semivariance: nugget jump at 0+, sill far away
    const m = { model: 'exponential' as const, nugget: 0.3, psill: 2, range: 5 };
    expect(semivariance(m, 0)).toBe(0);
    expect(semivariance(m, 1e-9)).toBeCloseTo(0.3, 6);
    expect(semivariance(m, 1e4)).toBeCloseTo(2.3, 12);
  });

  it('effective range is where ρ = 0.05 (closed forms for exponential and Gaussian)', () => {
    expect(effectiveRange('exponential', 10)).toBeCloseTo(10 * Math.log(20), 6);
    expect(effectiveRange('gaussian', 10)).toBeCloseTo(10 * Math.sqrt(Math.log(20)), 6);
    for (const m of ['spherical', 'matern15', 'matern25'] as VariogramModelName[]) {
      expect(correlation(m, 10)(effectiveRange(m, 10))).toBeCloseTo(0.05, 3);
    }
  });
});

describe('empirical variogram', () => {
  // four sites on a line at x = 0, 1, 2, 3 with values 1, 3, 2, 5; 3 lags of width 1.1:
  // lag 0 (d = 1): diffs 2, −1, 3; lag 1 (d = 2): 1, 2; lag 2 (d = 3): 4
  const x = [0, 1, 2, 3];
  const y = [0, 0, 0, 0];
  const z = Float64Array.from([1, 3, 2, 5]);

  it('matches a hand computation (Matheron)', () => {
    const e = empiricalVariogram(x, y, [z], { lags: 3, maxLag: 3.3 });
    expect(e.pairs).toEqual([3, 2, 1]);
    expect(e.h).toEqual([1, 2, 3]);
    expect(e.gamma[0]).toBeCloseTo(14 / 6, 12);
    expect(e.gamma[1]).toBeCloseTo(5 / 4, 12);
    expect(e.gamma[2]).toBeCloseTo(8, 12);
    expect(e.maxDistance).toBe(3);
  });

  it('matches a hand computation (Cressie–Hawkins)', () => {
    const e = empiricalVariogram(x, y, [z], { lags: 3, maxLag: 3.3, estimator: 'cressie' });
    const ch = (d: number[]) => (d.reduce((s, v) => s + Math.sqrt(Math.abs(v)), 0) / d.length) ** 4 / (0.914 + 0.988 / d.length);
    expect(e.gamma[0]).toBeCloseTo(ch([2, -1, 3]), 12);
    expect(e.gamma[1]).toBeCloseTo(ch([1, 2]), 12);
    expect(e.gamma[2]).toBeCloseTo(ch([4]), 12);
  });

  it('pools time steps standardized, scaled back by the mean step variance', () => {
    const z2 = z.map((v) => 2 * v + 7); // same pattern, 4× the variance
    const one = empiricalVariogram(x, y, [z], { lags: 3, maxLag: 3.3 });
    const both = empiricalVariogram(x, y, [z, z2, Float64Array.from([4, 4, 4, 4])], { lags: 3, maxLag: 3.3 });
    // standardized steps are identical; mean variance = (var + 4 var)/2 = 2.5 var
    for (let l = 0; l < 3; l++) expect(both.gamma[l]).toBeCloseTo(2.5 * one.gamma[l], 10);
    expect(both.constantSteps).toBe(1);
  });

  it('defaults to lags up to half the largest distance', () => {
    const e = empiricalVariogram([0, 10, 0, 10], [0, 0, 10, 10], [Float64Array.from([1, 2, 3, 4])]);
    expect(e.maxLag).toBeCloseTo(Math.SQRT2 * 5, 12);
    expect(e.h.length).toBe(15);
  });
});

describe('Nelder–Mead', () => {
  it('minimises the Rosenbrock function', () => {
    const r = nelderMead((p) => 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2, [-1.2, 1], { maxEvaluations: 2000, tolX: 1e-9, tolF: 1e-14 });
    expect(r.x[0]).toBeCloseTo(1, 4);
    expect(r.x[1]).toBeCloseTo(1, 4);
  });
});

describe('variogram fit', () => {
  /** A synthetic "empirical" variogram that lies exactly on a model. */
  function exactEmpirical(model: VariogramModelName, nugget: number, psill: number, range: number): EmpiricalVariogram {
    const h = Array.from({ length: 15 }, (_, i) => (i + 0.5) * 4);
    const m = { model, nugget, psill, range };
    return {
      h,
      gamma: h.map((d) => semivariance(m, d)),
      pairs: h.map(() => 100),
      lagWidth: 4,
      maxLag: 60,
      estimator: 'matheron',
      steps: 1,
      constantSteps: 0,
      variance: nugget + psill,
      maxDistance: 120,
      sites: 100,
    };
  }

  it('recovers the parameters of a variogram lying exactly on each model', () => {
    for (const weighting of ['cressie', 'empirical'] as const)
    for (const [model, range] of [['spherical', 35], ['exponential', 9], ['gaussian', 15], ['matern15', 10], ['matern25', 12]] as [VariogramModelName, number][]) {
      const f = fitVariogram(exactEmpirical(model, 0.4, 2, range), model, { weighting });
      expect(f.fallback).toBe(false);
      expect(f.model.range / range).toBeCloseTo(1, 2);
      expect(f.model.psill).toBeCloseTo(2, 2);
      expect(f.model.nugget).toBeCloseTo(0.4, 2);
    }
  });

  it('honours fixed nugget, range and sill', () => {
    const emp = exactEmpirical('exponential', 0.4, 2, 9);
    const a = fitVariogram(emp, 'exponential', { nugget: 0 });
    expect(a.model.nugget).toBe(0);
    const b = fitVariogram(emp, 'exponential', { range: 20 });
    expect(b.model.range).toBe(20);
    const c = fitVariogram(emp, 'exponential', { nugget: 0.4, psill: 2 });
    expect(c.model.nugget).toBe(0.4);
    expect(c.model.psill).toBe(2);
    expect(c.model.range).toBeCloseTo(9, 2);
  });

  it('falls back to a documented default with too few pairs', () => {
    const e = empiricalVariogram([0, 10, 3], [0, 0, 8], [Float64Array.from([1, 2, 4])]);
    const f = fitVariogram(e, 'exponential');
    expect(f.fallback).toBe(true);
    expect(f.model.nugget).toBe(0);
    expect(f.model.psill).toBeCloseTo(7 / 3, 12); // sample variance of 1, 2, 4
    expect(f.effectiveRange).toBeCloseTo(e.maxDistance / 2, 6);
  });

  it('recovers range and sill of simulated Gaussian random fields (averaged over seeds)', () => {
    const g = grid(64, 64, 100);
    const cases = [
      { model: 'exponential' as const, range: 8, psill: 1, nugget: 0.2, cov: (h: number) => Math.exp(-h / 8) + (h === 0 ? 0.2 : 0) },
      {
        model: 'spherical' as const,
        range: 20,
        psill: 2,
        nugget: 0,
        cov: (h: number) => (h >= 20 ? 0 : 2 * (1 - 1.5 * (h / 20) + 0.5 * (h / 20) ** 3)),
      },
    ];
    for (const c of cases) {
      let range = 0, sill = 0, nugget = 0;
      const seeds = [1, 2, 3, 4, 5];
      for (const seed of seeds) {
        const o = observations(g, randomCells(g, 600, seed), new Float64Array(600));
        const z = simulateField(o.x, o.y, c.cov, 1000 + seed)[0];
        const f = fitVariogram(empiricalVariogram(o.x, o.y, [z]), c.model);
        range += f.model.range / seeds.length;
        sill += (f.model.psill + f.model.nugget) / seeds.length;
        nugget += f.model.nugget / seeds.length;
      }
      expect(Math.abs(range / c.range - 1)).toBeLessThan(0.25);
      expect(Math.abs(sill / (c.psill + c.nugget) - 1)).toBeLessThan(0.2);
      expect(Math.abs(nugget - c.nugget)).toBeLessThan(0.15 * (c.psill + c.nugget));
    }
  });
});
