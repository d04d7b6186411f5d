import { describe, expect, it } from 'vitest';
import { IdwModel, idw } from '../../src/estimators/idw.ts';
import { PointIndex } from '../../src/geo/point-index.ts';
import { snapPoints, subsetObservations, complementIndices } from '../../src/estimators/observations.ts';
import { seededRandom, kfoldFolds } from '../../src/evaluation/folds.ts';
import type { Grid } from '../../src/domain/types.ts';

// Independent float64 reference: Shepard IDW over an explicit neighbour list, written from the formula.
function bruteIdw(xs: number[], ys: number[], vs: number[], tx: number, ty: number, power: number, k = 0, radius = 0): number {
  let cand = xs.map((x, i) => ({ i, d: Math.hypot(x - tx, ys[i] - ty) }));
  cand.sort((a, b) => a.d - b.d);
  if (radius > 0) {
    const inside = cand.filter((c) => c.d <= radius);
    cand = inside.length ? inside : cand.slice(0, 1);
  }
  if (k > 0) cand = cand.slice(0, k);
  const zero = cand.filter((c) => c.d === 0);
  if (zero.length) return zero.reduce((a, c) => a + vs[c.i], 0) / zero.length;
  let sw = 0, swv = 0;
  for (const c of cand) {
    const w = 1 / c.d ** power;
    sw += w;
    swv += w * vs[c.i];
  }
  return swv / sw;
}

function randomSites(n: number, seed: number, size = 1000) {
  const r = seededRandom(seed);
  const xs = Array.from({ length: n }, () => r() * size);
  const ys = Array.from({ length: n }, () => r() * size);
  const vs = Array.from({ length: n }, () => 0.1 + 5 * r());
  return { xs, ys, vs, r };
}

const grid: Grid = { crs: 'local', width: 40, height: 30, bounds: { xmin: 0, xmax: 400, ymin: 0, ymax: 300 } };

describe('IDW against a brute-force float64 formula', () => {
  const { xs, ys, vs, r } = randomSites(300, 7);
  const targets = Array.from({ length: 150 }, () => [r() * 1400 - 200, r() * 1400 - 200]); // some outside the extent

  for (const [label, opts] of [
    ['global p=2', { power: 2, neighbours: 0, radius: 0 }],
    ['global p=3', { power: 3, neighbours: 0, radius: 0 }],
    ['global p=1', { power: 1, neighbours: 0, radius: 0 }],
    ['k=7 p=2', { power: 2, neighbours: 7, radius: 0 }],
    ['k=1', { power: 2, neighbours: 1, radius: 0 }],
    ['k=20 p=2.5', { power: 2.5, neighbours: 20, radius: 0 }],
    ['radius 120', { power: 2, neighbours: 0, radius: 120 }],
    ['radius 80, k=5', { power: 2, neighbours: 5, radius: 80 }],
  ] as const) {
    it(label, () => {
      const m = new IdwModel(xs, ys, opts);
      m.setValues(vs);
      for (const [tx, ty] of targets) {
        const want = bruteIdw(xs, ys, vs, tx, ty, opts.power, opts.neighbours, opts.radius);
        expect(m.at(tx, ty)).toBeCloseTo(want, 9);
      }
    });
  }

  it('k-nearest search returns the same neighbours as a sort', () => {
    const idx = new PointIndex(xs, ys);
    const slot = new Int32Array(10);
    const d2 = new Float64Array(10);
    for (const [tx, ty] of targets) {
      const cnt = idx.search(tx, ty, 10, Infinity, slot, d2);
      expect(cnt).toBe(10);
      const got = Array.from(slot.subarray(0, cnt), (s) => idx.order[s]).sort((a, b) => a - b);
      const want = xs
        .map((x, i) => ({ i, d: (x - tx) ** 2 + (ys[i] - ty) ** 2 }))
        .sort((a, b) => a.d - b.d)
        .slice(0, 10)
        .map((c) => c.i)
        .sort((a, b) => a - b);
      expect(got).toEqual(want);
    }
  });
});

describe('IDW limits', () => {
  it('is exact at data points (every mode)', async () => {
    const { xs, ys, vs } = randomSites(60, 3, 400);
    const snap = snapPoints(grid, xs.map((x) => x % 400), ys.map((y) => y % 300), vs);
    const obs = snap.obs;
    for (const params of [{ power: 2, neighbours: 0, radius: 0 }, { power: 2, neighbours: 8, radius: 0 }, { power: 3, neighbours: 0, radius: 50 }]) {
      const p = await idw.prepare(obs, params, {});
      const map = await p.predict(obs.values, {});
      for (let i = 0; i < obs.cell.length; i++) expect(map.values[obs.cell[i]]).toBeCloseTo(obs.values[i], 5);
    }
  });

  it('tends to nearest-neighbour interpolation as the power grows', () => {
    const { xs, ys, vs, r } = randomSites(40, 11);
    const targets = Array.from({ length: 200 }, () => [r() * 1000, r() * 1000]);
    const nn = (tx: number, ty: number) => {
      let best = 0;
      for (let i = 1; i < xs.length; i++) if (Math.hypot(xs[i] - tx, ys[i] - ty) < Math.hypot(xs[best] - tx, ys[best] - ty)) best = i;
      return vs[best];
    };
    const err = (power: number, neighbours: number) => {
      const m = new IdwModel(xs, ys, { power, neighbours, radius: 0 });
      m.setValues(vs);
      return targets.reduce((a, [tx, ty]) => a + Math.abs(m.at(tx, ty) - nn(tx, ty)), 0) / targets.length;
    };
    for (const k of [0, 6]) {
      const e = [1, 4, 16, 64, 256].map((p) => err(p, k));
      for (let i = 1; i < e.length; i++) expect(e[i]).toBeLessThan(e[i - 1]);
      expect(e[4]).toBeLessThan(e[0] / 50);
    }
    // where the nearest site is clearly nearest, power 64 is nearest-neighbour to 1e-9
    const m = new IdwModel(xs, ys, { power: 64, neighbours: 0, radius: 0 });
    m.setValues(vs);
    let checked = 0;
    for (const [tx, ty] of targets) {
      const d = xs.map((x, i) => Math.hypot(x - tx, ys[i] - ty)).sort((a, b) => a - b);
      if (d[1] / d[0] < 1.5) continue;
      checked++;
      expect(Math.abs(m.at(tx, ty) - nn(tx, ty))).toBeLessThan(1e-9);
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('far from all sites tends to their plain mean', () => {
    const { xs, ys, vs } = randomSites(25, 5, 100);
    const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
    for (const power of [1, 2, 3.5]) {
      const all = new IdwModel(xs, ys, { power, neighbours: 0, radius: 0 });
      all.setValues(vs);
      const knnAll = new IdwModel(xs, ys, { power, neighbours: 25, radius: 0 });
      knnAll.setValues(vs);
      const errNear = Math.abs(all.at(5e4, -3e4) - mean);
      const errFar = Math.abs(all.at(5e7, -3e7) - mean);
      expect(errFar).toBeLessThan(1e-4 * mean);
      expect(errFar).toBeLessThan(errNear);
      expect(knnAll.at(5e7, -3e7)).toBeCloseTo(all.at(5e7, -3e7), 9);
    }
  });

  it('averages co-located sites at their position and stays finite beside them', () => {
    const m = new IdwModel([10, 10, 50], [20, 20, 60], { power: 2, neighbours: 0, radius: 0 });
    m.setValues([1, 3, 10]);
    expect(m.at(10, 20)).toBeCloseTo(2, 12);
    const near = m.at(10.001, 20);
    expect(Number.isFinite(near)).toBe(true);
    expect(near).toBeCloseTo(2, 4);
    const k = new IdwModel([10, 10, 50], [20, 20, 60], { power: 2, neighbours: 2, radius: 0 });
    k.setValues([1, 3, 10]);
    expect(k.at(10, 20)).toBeCloseTo(2, 12);
  });

  it('a constant field stays constant everywhere', async () => {
    const { xs, ys } = randomSites(30, 9, 300);
    const obs = snapPoints(grid, xs, ys, xs.map(() => 0.7)).obs;
    const p = await idw.prepare(obs, { power: 2, neighbours: 12, radius: 0 }, {});
    const map = await p.predict(obs.values, {});
    for (const v of map.values) expect(v).toBeCloseTo(0.7, 6);
  });
});

describe('IDW held-out fast path', () => {
  it('equals the map of the training subset at each held-out cell', async () => {
    const { xs, ys, vs } = randomSites(50, 21, 300);
    const obs = snapPoints(grid, xs, ys, vs).obs;
    const params = { power: 2, neighbours: 6, radius: 0 };
    const folds = kfoldFolds(obs.cell.length, 5, 3);
    const p = await idw.prepare(obs, params, {});
    const fast = await p.predictHeldOut!(obs.values, folds, {});
    for (const f of folds) {
      const sub = subsetObservations(obs, complementIndices(obs.cell.length, f));
      const map = await (await idw.prepare(sub, params, {})).predict(sub.values, {});
      for (const i of f) expect(fast.mean[i]).toBeCloseTo(map.values[obs.cell[i]], 4);
    }
  });
});
