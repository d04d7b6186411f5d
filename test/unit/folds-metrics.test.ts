import { describe, expect, it } from 'vitest';
import { blockFolds, kfoldFolds, looFolds, makeFolds, parseCvScheme, seededRandom } from '../../src/evaluation/folds.ts';
import { computeMetrics, rasterStats, Z90 } from '../../src/evaluation/metrics.ts';
import { snapPoints } from '../../src/estimators/observations.ts';
import type { Grid, Observations } from '../../src/domain/types.ts';

function everyIndexOnce(folds: Int32Array[], n: number) {
  const seen = new Int32Array(n);
  for (const f of folds) for (const i of f) seen[i]++;
  expect(Array.from(seen).every((c) => c === 1)).toBe(true);
}

function denseObs(w: number, h: number): Observations {
  const grid: Grid = { crs: 'local', width: w, height: h, bounds: { xmin: 0, xmax: w, ymin: 0, ymax: h } };
  const xs: number[] = [], ys: number[] = [];
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) { xs.push(c + 0.5); ys.push(h - r - 0.5); }
  return snapPoints(grid, xs, ys, xs.map((_, i) => i)).obs;
}

describe('folds', () => {
  it('leave-one-out and k-fold hold every cell out exactly once', () => {
    everyIndexOnce(looFolds(17), 17);
    const k = kfoldFolds(103, 10, 5);
    expect(k.length).toBe(10);
    everyIndexOnce(k, 103);
    const sizes = k.map((f) => f.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(kfoldFolds(103, 10, 5)).toEqual(k); // deterministic by seed
    expect(kfoldFolds(103, 10, 6)).not.toEqual(k);
    expect(kfoldFolds(4, 10, 1).length).toBe(4); // capped at n
  });

  it('spatial blocks: every cell once, tiles are contiguous rectangles, one fold per tile', () => {
    const obs = denseObs(30, 20);
    const b = blockFolds(obs, 5, 9);
    expect(b.folds.length).toBe(5);
    everyIndexOnce(b.folds, obs.cell.length);
    const foldOf = new Int32Array(obs.cell.length);
    b.folds.forEach((f, j) => f.forEach((i) => (foldOf[i] = j)));
    const W = obs.grid.width;
    const byTile = new Map<number, number[]>();
    obs.cell.forEach((c, i) => byTile.set(b.tileOf[i], [...(byTile.get(b.tileOf[i]) ?? []), i]));
    expect(byTile.size).toBeGreaterThanOrEqual(5);
    for (const [, members] of byTile) {
      // one fold per tile
      expect(new Set(members.map((i) => foldOf[i])).size).toBe(1);
      // contiguous rectangle: the tile's bounding box contains exactly its own members (dense layout)
      const rows = members.map((i) => Math.floor(obs.cell[i] / W));
      const cols = members.map((i) => obs.cell[i] % W);
      const area = (Math.max(...rows) - Math.min(...rows) + 1) * (Math.max(...cols) - Math.min(...cols) + 1);
      expect(area).toBe(members.length);
    }
    // neighbours are held out together far more often than in random k-fold
    const sameFoldShare = (fold: Int32Array) => {
      let same = 0, all = 0;
      for (let i = 0; i < obs.cell.length; i++) {
        const c = obs.cell[i];
        if (c % W < W - 1) { all++; if (fold[i] === fold[i + 1]) same++; }
      }
      return same / all;
    };
    const rnd = new Int32Array(obs.cell.length);
    kfoldFolds(obs.cell.length, 5, 9).forEach((f, j) => f.forEach((i) => (rnd[i] = j)));
    expect(sameFoldShare(foldOf)).toBeGreaterThan(0.6);
    expect(sameFoldShare(rnd)).toBeLessThan(0.35);
  });

  it('spatial blocks on scattered sensors still give k non-empty folds', () => {
    const r = seededRandom(4);
    const grid: Grid = { crs: 'local', width: 64, height: 64, bounds: { xmin: 0, xmax: 640, ymin: 0, ymax: 640 } };
    const xs = Array.from({ length: 23 }, () => r() * 640);
    const ys = Array.from({ length: 23 }, () => r() * 640);
    const obs = snapPoints(grid, xs, ys, xs).obs;
    const b = blockFolds(obs, 5, 1);
    expect(b.folds.length).toBe(5);
    everyIndexOnce(b.folds, obs.cell.length);
  });

  it('parses schemes', () => {
    expect(parseCvScheme('loo')).toEqual({ kind: 'loo' });
    expect(parseCvScheme('kfold:10')).toEqual({ kind: 'kfold', k: 10 });
    expect(parseCvScheme('blocks:5')).toEqual({ kind: 'blocks', k: 5 });
    expect(parseCvScheme('none')).toEqual({ kind: 'none' });
    expect(() => parseCvScheme('kfold:1')).toThrow(/≥ 2/);
    expect(() => parseCvScheme('jackknife')).toThrow(/loo, kfold/);
    expect(makeFolds({ kind: 'none' }, denseObs(8, 8))).toBeNull();
  });
});

describe('rasterStats', () => {
  it('skips NaN cells and counts the cells below zero', () => {
    const s = rasterStats(Float32Array.from([0.5, -0.25, NaN, 0, 1.5, -1e-6]));
    expect(s.finite).toBe(5);
    expect(s.negative).toBe(2); // 0 is not negative
    expect(s.min).toBeCloseTo(-0.25, 12);
    expect(s.max).toBe(1.5);
    expect(s.mean).toBeCloseTo((0.5 - 0.25 + 0 + 1.5 - 1e-6) / 5, 6);
    expect(rasterStats(Float32Array.from([NaN])).negative).toBe(0);
  });
});

describe('metrics', () => {
  it('match hand-computed values', () => {
    // errors e = pred - obs = [0.5, 0, -0.9, 1]
    const m = computeMetrics([1, 2, 3, 4], [1.5, 2, 2.1, 5], [0.25, 1, 0.25, 4]);
    expect(m.n).toBe(4);
    expect(m.rmse).toBeCloseTo(Math.sqrt(2.06 / 4), 12);
    expect(m.mae).toBeCloseTo(0.6, 12);
    expect(m.bias).toBeCloseTo(0.15, 12); // positive: over-prediction
    expect(m.r2).toBeCloseTo(1 - 2.06 / 5, 12);
    // z = [1, 0, -1.8, 0.5]
    expect(m.mse).toBeCloseTo(-0.075, 12);
    expect(m.rmsse).toBeCloseTo(Math.sqrt(4.49 / 4), 12);
    expect(m.cover90).toBe(0.75); // |−1.8| > 1.645
    expect(m.cover95).toBe(1); // 1.8 ≤ 1.96
  });

  it('skip non-finite pairs; R² undefined on a constant field', () => {
    const m = computeMetrics([2, 2, 2, NaN], [2, 3, 1, 5]);
    expect(m.n).toBe(3);
    expect(m.bias).toBeCloseTo(0, 12);
    expect(Number.isNaN(m.r2)).toBe(true);
    expect(m.mse).toBeUndefined();
  });

  it('calibrated Gaussian errors cover 90 % and 95 % and have RMSSE ≈ 1', () => {
    const r = seededRandom(12);
    const n = 40000;
    const obs = new Float64Array(n), pred = new Float64Array(n), v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const sd = 0.2 + r();
      const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      obs[i] = 3 + r();
      pred[i] = obs[i] + sd * z;
      v[i] = sd * sd;
    }
    const m = computeMetrics(obs, pred, v);
    expect(m.cover90!).toBeGreaterThan(0.89);
    expect(m.cover90!).toBeLessThan(0.91);
    expect(m.cover95!).toBeGreaterThan(0.945);
    expect(m.cover95!).toBeLessThan(0.955);
    expect(Math.abs(m.rmsse! - 1)).toBeLessThan(0.02);
    expect(Math.abs(m.mse!)).toBeLessThan(0.02);
    // over-confident variance (half the sd): RMSSE ≈ 2 and coverage falls
    const m2 = computeMetrics(obs, pred, v.map((x) => x / 4));
    expect(m2.rmsse!).toBeGreaterThan(1.9);
    expect(m2.cover90!).toBeLessThan(0.65);
    expect(Z90).toBeCloseTo(1.6449, 4);
  });
});
