import { describe, expect, it } from 'vitest';
import { gp, gpLogMarginalLikelihood, fitGp } from '../../src/estimators/gp.ts';
import { resolveParams } from '../../src/estimators/params.ts';
import { gaussian, grid, observations, randomCells, rng, simulateField } from './kriging-helpers.ts';

const params = (p: Record<string, unknown> = {}) => resolveParams('gp', gp.params, p);
const matern32 = (l: number) => (h: number) => {
  const t = (Math.sqrt(3) * h) / l;
  return (1 + t) * Math.exp(-t);
};

describe('GP log marginal likelihood', () => {
  it('equals the float64 formula with a 3×3 determinant and inverse by cofactors', () => {
    const x = [0, 3, 1], y = [0, 1, 4];
    const z = [0.5, -1.2, 2.0];
    const sf2 = 1.7, sn2 = 0.3, l = 2.5;
    const K: number[][] = x.map((_, i) => x.map((_, j) => sf2 * matern32(l)(Math.hypot(x[i] - x[j], y[i] - y[j])) + (i === j ? sn2 : 0)));
    const [[a, b, c], [d, e, f], [g, h, k]] = K;
    const det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
    const inv = [
      [e * k - f * h, c * h - b * k, b * f - c * e],
      [f * g - d * k, a * k - c * g, c * d - a * f],
      [d * h - e * g, b * g - a * h, a * e - b * d],
    ].map((r) => r.map((v) => v / det));
    let quad = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) quad += z[i] * inv[i][j] * z[j];
    const ref = -0.5 * quad - 0.5 * Math.log(det) - 1.5 * Math.log(2 * Math.PI);
    const got = gpLogMarginalLikelihood(x, y, [Float64Array.from(z)], { kernel: 'matern32', lengthScale: l, signalVariance: sf2, noiseVariance: sn2 });
    expect(got).toBeCloseTo(ref, 12);
  });

  it('is maximised near the true length scale on simulated data', () => {
    const g = grid(64, 64, 100);
    const trueL = 12;
    const grid_ = Array.from({ length: 37 }, (_, i) => 4 + i); // 4 … 40 m
    const argmaxes: number[] = [];
    for (const seed of [1, 2, 3]) {
      const o = observations(g, randomCells(g, 300, seed), new Float64Array(300));
      const z = simulateField(o.x, o.y, (h) => matern32(trueL)(h) + (h === 0 ? 0.01 : 0), 50 + seed)[0];
      let best = -Infinity, arg = 0;
      for (const l of grid_) {
        const v = gpLogMarginalLikelihood(o.x, o.y, [z], { kernel: 'matern32', lengthScale: l, signalVariance: 1, noiseVariance: 0.01 });
        if (v > best) {
          best = v;
          arg = l;
        }
      }
      argmaxes.push(arg);
      expect(arg / trueL).toBeGreaterThan(0.6);
      expect(arg / trueL).toBeLessThan(1.6);
    }
    const mean = argmaxes.reduce((a, b) => a + b, 0) / argmaxes.length;
    expect(Math.abs(mean / trueL - 1)).toBeLessThan(0.25);
  });

  it('fitGp (Nelder–Mead, σ_f² profiled) finds the maximum of the likelihood surface', async () => {
    const g = grid(64, 64, 100);
    const o = observations(g, randomCells(g, 200, 11), new Float64Array(200));
    const z = simulateField(o.x, o.y, (h) => 2 * matern32(15)(h) + (h === 0 ? 0.1 : 0), 61)[0].map((v) => v + 3);
    const fit = await fitGp(o.x, o.y, [z], { kernels: ['matern32'], fitPoints: 200 });
    const h = fit.chosen;
    expect(h.lengthScale / 15).toBeGreaterThan(0.6);
    expect(h.lengthScale / 15).toBeLessThan(1.6);
    // the optimum beats every neighbour on a grid around it (likelihood on the centred data, target units)
    const zc = z.map((v) => v - z.reduce((a, b) => a + b, 0) / z.length);
    const at = (l: number, s: number, n: number) => gpLogMarginalLikelihood(o.x, o.y, [zc], { kernel: 'matern32', lengthScale: l, signalVariance: s, noiseVariance: n });
    const best = at(h.lengthScale, h.signalVariance, h.noiseVariance);
    for (const fl of [0.8, 1, 1.25]) for (const fs of [0.8, 1, 1.25]) for (const fn of [0.7, 1, 1.4]) {
      if (fl === 1 && fs === 1 && fn === 1) continue;
      expect(at(h.lengthScale * fl, h.signalVariance * fs, h.noiseVariance * fn)).toBeLessThan(best + 1e-6);
    }
  });
});

describe('GP posterior', () => {
  it('2 sites: posterior mean and variance by the explicit 2×2 inverse', async () => {
    const g = grid(10, 1, 100);
    const obs = observations(g, [2, 6], [1, 4]);
    const l = 30, sf2 = 2, sn2 = 0.25;
    const prepared = await gp.prepare(obs, params({ kernel: 'matern32', lengthScale: l, variance: sf2, noise: String(sn2) }), {});
    const m = await prepared.predict(obs.values, {});
    const k = (h: number) => sf2 * matern32(l)(h);
    const a = sf2 + sn2, b = k(40);
    const det = a * a - b * b;
    const mean = 2.5;
    for (const col of [0, 2, 4, 9]) {
      const k1 = k(Math.abs(col - 2) * 10), k2 = k(Math.abs(col - 6) * 10);
      // [k1 k2]·K⁻¹ with K⁻¹ = [[a, −b], [−b, a]]/det
      const w1 = (k1 * a - k2 * b) / det, w2 = (k2 * a - k1 * b) / det;
      expect(m.values[col]).toBeCloseTo(mean + w1 * (1 - mean) + w2 * (4 - mean), 5);
      expect(m.variance![col]).toBeCloseTo(sf2 - (w1 * k1 + w2 * k2), 5);
    }
  });

  it('noise 0 interpolates the data; variance 0 there, ≥ 0 everywhere', async () => {
    const g = grid(24, 24, 100);
    const cells = randomCells(g, 20, 2);
    const r = rng(3);
    const z = Array.from({ length: 20 }, () => r() * 3);
    const prepared = await gp.prepare(observations(g, cells, z), params({ noise: '0' }), {});
    const m = await prepared.predict(Float64Array.from(z), {});
    for (let i = 0; i < 20; i++) {
      expect(m.values[cells[i]]).toBeCloseTo(z[i], 4);
      expect(m.variance![cells[i]]).toBeLessThan(1e-6);
    }
    expect(m.variance!.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
  });

  it('constant field: constant map, no NaN', async () => {
    const g = grid(16, 16, 100);
    const cells = randomCells(g, 12, 4);
    const prepared = await gp.prepare(observations(g, cells, new Array(12).fill(0.8)), params({ kernel: 'auto' }), {});
    const m = await prepared.predict(new Float64Array(12).fill(0.8), {});
    expect(m.values.every((v) => Math.abs(v - 0.8) < 1e-6)).toBe(true);
    expect(m.variance!.every((v) => Number.isFinite(v) && v >= 0 && v < 1e-6)).toBe(true);
  });

  it('log transform: positive, finite map that honours the data in ratio when noise is 0', async () => {
    const g = grid(24, 24, 100);
    const cells = randomCells(g, 30, 8);
    const r = rng(5);
    const z = Array.from({ length: 30 }, () => Math.exp(r() * 2));
    const prepared = await gp.prepare(observations(g, cells, z), params({ log: true, noise: '0' }), {});
    const m = await prepared.predict(Float64Array.from(z), {});
    expect(m.values.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
    for (let i = 0; i < 30; i++) expect(m.values[cells[i]] / z[i]).toBeCloseTo(1, 3);
  });
});

describe('GP leave-out in closed form (R&W eq. 5.12) equals brute-force refits', () => {
  const g = grid(24, 24, 100);
  const cells = randomCells(g, 28, 12);
  const r = gaussian(rng(6));
  const z = Float64Array.from({ length: 28 }, () => 2 + r());
  const fixed = { kernel: 'matern52', lengthScale: 18, variance: 1.1, noise: '0.2' };

  for (const neighbours of [0, 9]) {
    it(`${neighbours ? 'local' : 'global'}: LOO and 4-site folds, mean and variance`, async () => {
      const p = params({ ...fixed, neighbours });
      const prepared = await gp.prepare(observations(g, cells, z), p, {});
      const folds = [Int32Array.of(0), Int32Array.of(5), Int32Array.of(27), Int32Array.of(2, 9, 10, 20)];
      const h = await prepared.predictHeldOut!(z, folds, {});
      for (const F of folds) {
        const keep = Array.from({ length: 28 }, (_, i) => i).filter((i) => !F.includes(i));
        const sub = observations(g, keep.map((i) => cells[i]), keep.map((i) => z[i]));
        const refit = await gp.prepare(sub, p, {});
        const m = await refit.predict(sub.values, {});
        for (const i of F) {
          expect(h.mean[i]).toBeCloseTo(m.values[cells[i]], 4);
          // the map is the noise-free field: a held-out measurement adds the noise variance
          expect(h.variance![i]).toBeCloseTo(m.variance![cells[i]] + 0.2, 4);
        }
      }
    });
  }

  it('LOO matches R&W eq. 5.12 computed with a Gauss–Jordan inverse in the test', async () => {
    const obs = observations(g, cells, z);
    const prepared = await gp.prepare(obs, params({ ...fixed }), {});
    const n = 28;
    const folds = Array.from({ length: n }, (_, i) => Int32Array.of(i));
    const h = await prepared.predictHeldOut!(z, folds, {});
    const m52 = (d: number) => {
      const t = (Math.sqrt(5) * d) / 18;
      return 1.1 * (1 + t + (t * t) / 3) * Math.exp(-t);
    };
    // K + σ_n²I and its inverse by Gauss–Jordan elimination
    const M = Array.from({ length: n }, (_, i) =>
      [...Array.from({ length: n }, (_, j) => m52(Math.hypot(obs.x[i] - obs.x[j], obs.y[i] - obs.y[j])) + (i === j ? 0.2 : 0)), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))],
    );
    for (let c = 0; c < n; c++) {
      const piv = M[c][c];
      for (let k = 0; k < 2 * n; k++) M[c][k] /= piv;
      for (let r = 0; r < n; r++) {
        if (r === c) continue;
        const f = M[r][c];
        for (let k = 0; k < 2 * n; k++) M[r][k] -= f * M[c][k];
      }
    }
    const inv = M.map((row) => row.slice(n));
    const total = z.reduce((a, b) => a + b, 0);
    for (let i = 0; i < n; i++) {
      const mi = (total - z[i]) / (n - 1); // training mean without site i
      let ri = 0;
      for (let j = 0; j < n; j++) ri += inv[i][j] * (z[j] - mi);
      expect(h.mean[i]).toBeCloseTo(z[i] - ri / inv[i][i], 8);
      expect(h.variance![i]).toBeCloseTo(1 / inv[i][i], 8);
    }
  });
});
