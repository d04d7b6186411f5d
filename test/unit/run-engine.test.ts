import { describe, expect, it } from 'vitest';
import { runSteps, type StepValues } from '../../src/estimators/run.ts';
import type { Estimator } from '../../src/estimators/types.ts';
import type { Grid, Observations } from '../../src/domain/types.ts';
import { CancelledError } from '../../src/domain/run.ts';

const grid: Grid = { crs: 'local', width: 10, height: 10, bounds: { xmin: 0, xmax: 100, ymin: 0, ymax: 100 } };
const sites = { ids: ['a', 'b', 'c', 'd'], x: Float64Array.from([5, 25, 55, 95]), y: Float64Array.from([5, 45, 75, 95]) };

/** A spy: records every prepare (sites seen, training vectors) and predict; maps = mean of the values. */
function spy() {
  const prepares: Array<{ ids: string[][]; training: number }> = [];
  const predicts: number[][] = [];
  const est: Estimator = {
    id: 'spy',
    label: 'spy',
    description: '',
    params: [],
    providesVariance: false,
    async prepare(obs: Observations, _p, _ctx, training) {
      prepares.push({ ids: obs.sensorIds.map((s) => [...s]), training: training?.length ?? 0 });
      const n = obs.cell.length;
      return {
        diagnostics: { sites: n },
        async predict(values) {
          expect(values.length).toBe(n);
          predicts.push(Array.from(values));
          const mean = values.reduce((a, b) => a + b, 0) / n;
          return { values: new Float32Array(100).fill(mean) };
        },
      };
    },
  };
  return { est, prepares, predicts };
}

const step = (t: number, v: number[]): StepValues => ({ time: t, values: Float64Array.from(v) });

describe('run engine', () => {
  it('100 steps with an unchanged sensor set prepare once and predict 100 times', async () => {
    const s = spy();
    const steps = Array.from({ length: 100 }, (_, i) => step(i * 3600e3, [1 + i, 2, 3, 4]));
    const out = await runSteps({ estimator: s.est, params: {}, grid, sites, steps });
    expect(s.prepares.length).toBe(1);
    expect(s.prepares[0].training).toBe(100);
    expect(s.predicts.length).toBe(100);
    expect(out.maps.length).toBe(100);
    expect(out.maps[37].time).toBe(37 * 3600e3);
    expect(out.maps[37].values[0]).toBeCloseTo((38 + 2 + 3 + 4) / 4, 5);
    expect(out.groups.length).toBe(1);
  });

  it('a step where a sensor drops out is prepared on the subset, never filled', async () => {
    const s = spy();
    const steps = [
      step(0, [1, 2, 3, 4]),
      step(1, [1, 2, 3, 4]),
      step(2, [1, NaN, 3, 4]), // b silent
      step(3, [5, 6, 7, 8]),
      step(4, [10, NaN, 30, 40]), // b silent again: same group as step 2
      step(5, [NaN, NaN, NaN, NaN]), // nobody: no map
    ];
    const out = await runSteps({ estimator: s.est, params: {}, grid, sites, steps });
    expect(s.prepares.length).toBe(2);
    expect(s.prepares[0].ids.flat().sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(s.prepares[1].ids.flat().sort()).toEqual(['a', 'c', 'd']);
    expect(s.prepares[0].training).toBe(3);
    expect(s.prepares[1].training).toBe(2);
    expect(out.maps.map((m) => m.time)).toEqual([0, 1, 2, 3, 4]);
    expect(out.stepOfMap).toEqual([0, 1, 2, 3, 4]);
    expect(out.emptySteps).toEqual([5]);
    // step 2's map is the mean of the three reporting sensors, not of four with a filled value
    expect(out.maps[2].values[0]).toBeCloseTo((1 + 3 + 4) / 3, 5);
    expect(out.maps[4].values[0]).toBeCloseTo((10 + 30 + 40) / 3, 5);
    expect(out.maps[2].diagnostics.sensors).toBe(3);
    expect(out.maps[0].timings.fit).toBeGreaterThanOrEqual(0);
  });

  it('co-located sensors are averaged into one observed cell', async () => {
    const s = spy();
    const twin = { ids: ['a', 'a2', 'c'], x: Float64Array.from([5, 6, 55]), y: Float64Array.from([5, 6, 75]) };
    await runSteps({ estimator: s.est, params: {}, grid, sites: twin, steps: [step(0, [1, 3, 10])] });
    expect(s.predicts[0]).toEqual([10, 2]); // ascending cell order: c (row 2) then a/a2 (row 9)
  });

  it('cancellation mid-run stops with CancelledError and returns nothing', async () => {
    const s = spy();
    const ac = new AbortController();
    const inner = s.est.prepare.bind(s.est);
    s.est.prepare = async (...a) => {
      const p = await inner(...a);
      const predict = p.predict.bind(p);
      p.predict = async (v, ctx) => {
        if (s.predicts.length === 3) ac.abort();
        return predict(v, ctx);
      };
      return p;
    };
    const progress: number[] = [];
    const steps = Array.from({ length: 20 }, (_, i) => step(i, [1, 2, 3, i]));
    await expect(runSteps({ estimator: s.est, params: {}, grid, sites, steps }, { signal: ac.signal, onProgress: (p) => progress.push(p.fraction ?? -1) })).rejects.toBeInstanceOf(CancelledError);
    expect(s.predicts.length).toBeLessThan(20);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((f, i) => i === 0 || f >= progress[i - 1])).toBe(true);
  });

  it('refuses a run where no sensor reports inside the grid', async () => {
    const s = spy();
    await expect(runSteps({ estimator: s.est, params: {}, grid, sites, steps: [step(0, [NaN, NaN, NaN, NaN])] })).rejects.toThrow(/nothing to map/);
  });
});
