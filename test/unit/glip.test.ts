// The `glip` estimator: training fits the observed cells, the held-out stopping rule, ensembles, seeds,
// progress, cancellation, tensor bookkeeping and the kernel-alignment diagnostics. Small grids and narrow
// networks keep this file fast; the lazy-training limit is in glip-lazy.test.ts.

import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { getTf } from '../../src/compute/backend.ts';
import { CancelledError, type Progress } from '../../src/domain/run.ts';
import { UserError } from '../../src/domain/errors.ts';
import type { Grid, Observations } from '../../src/domain/types.ts';
import { glip } from '../../src/estimators/glip.ts';
import { resolveParams } from '../../src/estimators/params.ts';
import { getEstimator } from '../../src/estimators/registry.ts';

let tf: typeof tfTypes;

beforeAll(async () => {
  tf = await getTf();
});

function makeObs(width: number, height: number, cells: Array<[number, number]>, f: (r: number, c: number) => number): Observations {
  const grid: Grid = { crs: 'local', width, height, bounds: { xmin: 0, ymin: 0, xmax: width * 10, ymax: height * 10 } };
  const cell = Int32Array.from(cells.map(([r, c]) => r * width + c));
  return {
    grid,
    cell,
    x: Float64Array.from(cells.map(([, c]) => (c + 0.5) * 10)),
    y: Float64Array.from(cells.map(([r]) => (height - r - 0.5) * 10)),
    values: Float64Array.from(cells.map(([r, c]) => f(r, c))),
    count: new Int32Array(cells.length).fill(1),
    sensorIds: cells.map((_, i) => [`s${i}`]),
  };
}

/** 14 scattered cells of a smooth field on a 16×16 grid. */
const CELLS: Array<[number, number]> = [
  [1, 2], [2, 12], [4, 6], [5, 14], [7, 1], [7, 9], [9, 4], [10, 12], [12, 7], [13, 2], [14, 14], [3, 9], [11, 0], [15, 10],
];
const field = (r: number, c: number) => 2 + Math.sin(r / 3) + 0.5 * Math.cos(c / 4) + 0.02 * r * c;
const obs = makeObs(16, 16, CELLS, field);

function sd(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i] / v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return Math.sqrt(s / (v.length - 1));
}

const fast = { width: 8, alignment: 'off', ensemble: 1 };

async function run(params: Record<string, unknown>, o: Observations = obs, ctx: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}) {
  const prepared = await glip.prepare(o, resolveParams('glip', glip.params, params), {});
  try {
    return await prepared.predict(o.values, ctx);
  } finally {
    prepared.dispose?.();
  }
}

describe('glip estimator', () => {
  it('is registered', async () => {
    expect((await getEstimator('glip')).id).toBe('glip');
  });

  it('training loss decreases and the observed cells are fitted (fixed budget)', async () => {
    const pred = await run({ ...fast, holdout: 0, iterations: 200 });
    const d = pred.diagnostics as { lossCurve: Array<{ iter: number; train: number; heldOut: number | null }>; trainRmse: number };
    const curve = d.lossCurve;
    expect(curve[0].iter).toBe(0);
    expect(curve[curve.length - 1].iter).toBe(200);
    const first = curve[0].train;
    const last = curve[curve.length - 1].train;
    expect(last).toBeLessThan(first / 50);
    // the loss keeps falling: the best of the second half beats the best of the first half
    const half = Math.floor(curve.length / 2);
    expect(Math.min(...curve.slice(half).map((p) => p.train))).toBeLessThan(Math.min(...curve.slice(1, half).map((p) => p.train)));
    // map at the observed cells vs the data (V/m), independently of the diagnostics
    let sse = 0;
    for (let i = 0; i < obs.cell.length; i++) sse += (pred.values[obs.cell[i]] - obs.values[i]) ** 2;
    const rmse = Math.sqrt(sse / obs.cell.length);
    expect(rmse).toBeLessThan(0.05 * sd(obs.values));
    expect(d.trainRmse).toBeCloseTo(rmse, 5);
    expect(pred.values.length).toBe(256);
    expect(pred.values.every(Number.isFinite)).toBe(true);
  });

  it('same seed → identical map; another seed → another map', async () => {
    const p = { ...fast, ensemble: 2, iterations: 40, holdout: 0.25, patience: 10 };
    const a = await run({ ...p, seed: 5 });
    const b = await run({ ...p, seed: 5 });
    const c = await run({ ...p, seed: 6 });
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
    expect(Array.from(b.variance!)).toEqual(Array.from(a.variance!));
    let diff = 0;
    for (let i = 0; i < a.values.length; i++) diff = Math.max(diff, Math.abs(a.values[i] - c.values[i]));
    expect(diff).toBeGreaterThan(1e-3 * sd(obs.values));
  });

  it('held-out early stopping, refit and ensemble spread', async () => {
    const pred = await run({ width: 8, alignment: 'off', ensemble: 3, iterations: 120, holdout: 0.25, patience: 20 });
    const d = pred.diagnostics as {
      members: Array<{ rule: string; heldOutCells: number; chosenIterations: number; searchIterations: number; bestHeldOut: number }>;
      lossCurves: Array<{ member: number; phase: string; curve: Array<{ iter: number; heldOut: number | null }> }>;
      stoppingRule: string;
    };
    expect(d.members).toHaveLength(3);
    for (const m of d.members) {
      expect(m.rule).toBe('holdout');
      expect(m.heldOutCells).toBe(4); // round(0.25 · 14)
      expect(m.chosenIterations).toBeLessThanOrEqual(m.searchIterations);
      // the chosen iteration is the minimum of that member's held-out curve
      const search = d.lossCurves.find((c) => c.member === d.members.indexOf(m) && c.phase === 'search')!;
      const held = search.curve.filter((p) => p.heldOut !== null);
      const best = held.reduce((a, b) => (b.heldOut! < a.heldOut! ? b : a));
      expect(best.iter).toBe(m.chosenIterations);
      expect(best.heldOut).toBeCloseTo(m.bestHeldOut, 10);
    }
    expect(d.lossCurves.filter((c) => c.phase === 'refit')).toHaveLength(3);
    expect(d.stoppingRule).toMatch(/held-out/);
    const v = pred.variance!;
    expect(v.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
  });

  it('without refit the network keeps its best held-out weights: the map reproduces the best held-out loss', async () => {
    const pred = await run({ width: 8, alignment: 'off', ensemble: 1, iterations: 150, holdout: 0.25, patience: 25, refit: false, seed: 6 });
    const d = pred.diagnostics as { members: Array<{ seed: number; chosenIterations: number; searchIterations: number; bestHeldOut: number }> };
    const m = d.members[0];
    expect(m.chosenIterations).toBeGreaterThan(0);
    expect(m.chosenIterations).toBeLessThan(m.searchIterations);
    // the member's split: the same seeded stream the estimator documents (member seed, 'holdout')
    const { SeededRandom } = await import('../../src/nn/random.ts');
    const perm = SeededRandom.stream(m.seed, 'holdout').permutation(CELLS.length);
    const held = Array.from(perm.subarray(0, 4));
    const train = Array.from(perm.subarray(4));
    // held-out MSE in the training cells' standardized units, from the returned map
    const tv = train.map((i) => obs.values[i]);
    const mean = tv.reduce((a, b) => a + b, 0) / tv.length;
    const sdT = Math.sqrt(tv.reduce((a, b) => a + (b - mean) ** 2, 0) / (tv.length - 1));
    const mse = held.reduce((s, i) => s + ((pred.values[obs.cell[i]] - obs.values[i]) / sdT) ** 2, 0) / held.length;
    expect(mse).toBeCloseTo(m.bestHeldOut, 4);
  });

  it('ensemble: map = mean of the members, variance = their sample variance', async () => {
    const p = { width: 8, alignment: 'off', iterations: 60, holdout: 0.25, patience: 15, seed: 9 };
    const one = await run({ ...p, ensemble: 1 }); // member 0 alone (same seed, same split)
    const two = await run({ ...p, ensemble: 2 });
    expect(one.variance).toBeUndefined();
    // with two members a and b: mean m = (a+b)/2, sample variance (a−m)² + (b−m)² = 2(a−m)²
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < 256; i++) {
      const a = one.values[i];
      const m = two.values[i];
      worst = Math.max(worst, Math.abs(two.variance![i] - 2 * (a - m) ** 2));
      scale = Math.max(scale, two.variance![i]);
    }
    expect(scale).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-4 * scale + 1e-9);
  });

  it('releases every tensor, also when cancelled', async () => {
    const before = tf.memory().numTensors;
    await run({ ...fast, ensemble: 2, iterations: 20, holdout: 0.25, patience: 5 });
    expect(tf.memory().numTensors).toBe(before);

    const controller = new AbortController();
    const prepared = await glip.prepare(obs, resolveParams('glip', glip.params, { ...fast, iterations: 500, holdout: 0 }), {});
    let iters = 0;
    await expect(
      prepared.predict(obs.values, {
        signal: controller.signal,
        onProgress: () => {
          if (++iters === 10) controller.abort();
        },
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(iters).toBeLessThan(100);
    prepared.dispose?.();
    prepared.dispose?.(); // twice is safe
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports progress: iteration, loss, fraction and ETA', async () => {
    const seen: Progress[] = [];
    await run({ ...fast, ensemble: 2, iterations: 30, holdout: 0 }, obs, { onProgress: (p) => seen.push(p) });
    const train = seen.filter((p) => p.stage === 'train');
    expect(train.length).toBeGreaterThanOrEqual(62); // 31 iterations (0..30) per network
    const fr = train.map((p) => p.fraction!);
    for (let i = 1; i < fr.length; i++) expect(fr[i]).toBeGreaterThanOrEqual(fr[i - 1]);
    expect(fr[fr.length - 1]).toBe(1);
    expect(train.some((p) => p.eta !== undefined && p.eta > 0)).toBe(true);
    const mid = train[40];
    expect(mid.detail?.iter).toBeTypeOf('number');
    expect(mid.detail?.loss).toBeGreaterThan(0);
    expect(mid.message).toMatch(/network 2\/2/);
  });

  it('pads grids that do not suit the architecture and crops the map back', async () => {
    const o = makeObs(15, 13, [[1, 1], [2, 10], [6, 7], [11, 3], [12, 13], [8, 12]], (r, c) => r + c);
    const pred = await run({ ...fast, holdout: 0, iterations: 30 }, o);
    expect(pred.values.length).toBe(15 * 13);
    const prepared = await glip.prepare(o, resolveParams('glip', glip.params, { ...fast, holdout: 0, iterations: 5 }), {});
    expect(prepared.diagnostics?.paddedGrid).toBe('16x16');
    prepared.dispose?.();
  });

  it('alignment diagnostics: empirical NTK vs the CNTK and vs the targets', async () => {
    const pred = await run({ width: 32, ensemble: 1, holdout: 0, iterations: 40, alignment: 'full', alignmentPixels: 24 });
    const a = (pred.diagnostics as { alignment: Array<{ iter: number; cntk: number | null; target: number; init: number }> }).alignment;
    expect(a.map((p) => p.iter)).toEqual([0, 20, 40]);
    expect(a[0].init).toBeCloseTo(1, 10);
    for (const p of a) {
      expect(p.cntk).not.toBeNull();
      expect(Math.abs(p.cntk!)).toBeLessThanOrEqual(1 + 1e-9);
      expect(Math.abs(p.target)).toBeLessThanOrEqual(1 + 1e-9);
    }
    // at initialisation a width-32 network's tangent kernel is already close to the CNTK (NTK parameterization)
    expect(a[0].cntk!).toBeGreaterThan(0.9);
    // training with Adam moves the kernel away from its initial value
    expect(a[2].init).toBeLessThan(1);
  });

  it('rejects bad parameters with a UserError', () => {
    expect(() => resolveParams('glip', glip.params, { width: 0 })).toThrow(UserError);
    expect(() => resolveParams('glip', glip.params, { holdout: 0.9 })).toThrow(UserError);
    expect(() => resolveParams('glip', glip.params, { parameterization: 'mup' })).toThrow(UserError);
    expect(() => resolveParams('glip', glip.params, { arch: 'conv4' })).not.toThrow(); // strings are checked in prepare
  });

  it('an architecture error names the bad layer', async () => {
    await expect(glip.prepare(obs, resolveParams('glip', glip.params, { arch: 'conv3,relu,pool,conv3' }), {})).rejects.toThrow(/layer 3.*pool/);
  });
});
