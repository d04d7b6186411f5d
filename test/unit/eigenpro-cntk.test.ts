// The `cntk-eigenpro` estimator: the same model as `cntk` solved by EigenPro. Checked against the direct
// `cntk` estimator (its maps and variance) on a real field (volcano), for the same λ; the subset variance
// is an upper bound of the full one; time-series groups are solved together; progress, cancel, routing.

import { describe, expect, it } from 'vitest';
import type { Grid } from '../../src/domain/types.ts';
import { CancelledError } from '../../src/domain/run.ts';
import { getTf } from '../../src/compute/backend.ts';
import { cntk } from '../../src/estimators/cntk.ts';
import { EIGENPRO_THRESHOLD, chooseCntkSolver, cntkEigenpro, resolveCntkMethod } from '../../src/estimators/cntk-eigenpro.ts';
import { resolveParams } from '../../src/estimators/params.ts';
import { getEstimator } from '../../src/estimators/registry.ts';
import { cntkSolverFor } from '../../src/service/estimate.ts';
import { relErr } from '../helpers/relerr.ts';
import { volcanoObs } from '../helpers/volcano.ts';


const pDirect = (given: Record<string, unknown> = {}) => resolveParams('cntk', cntk.params, given);
const pEigen = (given: Record<string, unknown> = {}) => resolveParams('cntk-eigenpro', cntkEigenpro.params, given);

/** ‖a − b‖/‖b − mean‖: relative error of the map's deviation from the data mean (the part the kernel fits). */
function relMapErr(a: Float32Array, b: Float32Array, mean: number): number {
  let num = 0;
  let den = 0;
  for (let p = 0; p < a.length; p++) {
    num += (a[p] - b[p]) ** 2;
    den += (b[p] - mean) ** 2;
  }
  return Math.sqrt(num / den);
}


const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;

describe('cntk-eigenpro estimator', () => {
  const obs = volcanoObs(400, 32, 24, 5).obs;
  const n = obs.cell.length;

  it('reaches the direct cntk solution: maps within 1e-3 relative, same variance (same λ)', async () => {
    expect(n).toBeGreaterThan(300);
    const direct = await (await cntk.prepare(obs, pDirect({ lambda: 1e-3 }), {})).predict(obs.values, {});
    const tf = await getTf();
    const tensorsBefore = tf.memory().numTensors;
    const prep = await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-3 }), {});
    const iter = await prep.predict(obs.values, {});
    expect(tf.memory().numTensors).toBe(tensorsBefore); // eigenpairs, check sample and variance dispose theirs
    expect(iter.diagnostics?.converged).toBe(true);
    expect(relMapErr(iter.values, direct.values, mean(obs.values))).toBeLessThan(1e-3);
    // the variance conditions on all cells here (varianceCells ≥ n): the same NNGP posterior as cntk
    expect(relErr(iter.variance!, direct.variance!)).toBeLessThan(1e-3);
    const d = prep.diagnostics as { lambda: number; eigenpro: { q: number; batchSize: number } };
    expect(d.eigenpro.q).toBeGreaterThan(0);
    expect(d.lambda).toBeGreaterThan(0);
  });

  it('chooses the same λ as cntk by leave-one-out when the LOO subset is all cells', async () => {
    const dprep = await cntk.prepare(obs, pDirect({ variance: false }), {});
    const direct = await dprep.predict(obs.values, {});
    const prep = await cntkEigenpro.prepare(obs, pEigen({ variance: false, looCells: 1000 }), {});
    const iter = await prep.predict(obs.values, {});
    expect((prep.diagnostics as { tau: number }).tau).toBe((dprep.diagnostics as { tau: number }).tau);
    expect(relMapErr(iter.values, direct.values, mean(obs.values))).toBeLessThan(1e-3);
  });

  it('variance given a subset of the cells is an upper bound of the full posterior variance', async () => {
    const full = await (await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-2, tol: 1e-3 }), {})).predict(obs.values, {});
    const sub = await (await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-2, tol: 1e-3, varianceCells: 80 }), {})).predict(obs.values, {});
    expect(sub.diagnostics?.varianceConditionsOn).toBe(80);
    // compare unscaled: divide out each run's maximum-likelihood scale
    const sf = full.diagnostics!.varianceScale as number;
    const ss = sub.diagnostics!.varianceScale as number;
    let larger = 0;
    for (let p = 0; p < full.variance!.length; p++) {
      const a = sub.variance![p] / ss;
      const b = full.variance![p] / sf;
      expect(a).toBeGreaterThanOrEqual(b - 1e-4 * (1 + b));
      if (a > b * 1.1 + 1e-6) larger++;
    }
    expect(larger).toBeGreaterThan(full.variance!.length / 10);
  });

  it('solves a time-series group in one go and returns the same maps as step by step', async () => {
    const steps = [obs.values, Float64Array.from(obs.values, (v, i) => 0.5 * v + 10 * Math.sin(i)), Float64Array.from(obs.values, (v) => 200 - v)];
    const group = await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-3, variance: false, tol: 1e-5 }), {}, steps);
    const maps = [];
    for (const v of steps) maps.push(await group.predict(v, {}));
    // all three came from the same multi-right-hand-side solve
    expect(new Set(maps.map((m) => m.diagnostics?.epochs)).size).toBe(1);
    const single = await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-3, variance: false, tol: 1e-5 }), {});
    for (let t = 0; t < steps.length; t++) {
      const one = await single.predict(steps[t], {});
      expect(relMapErr(maps[t].values, one.values, mean(steps[t]))).toBeLessThan(1e-3);
    }
    // the last step is the first mirrored: 200 − v
    for (let p = 0; p < maps[0].values.length; p += 37) expect(maps[2].values[p]).toBeCloseTo(200 - maps[0].values[p], 1);
  });

  it('reports progress and stops with CancelledError', async () => {
    const ac = new AbortController();
    const stages = new Set<string>();
    const run = cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-3 }), {
      signal: ac.signal,
      onProgress: (p) => {
        stages.add(p.stage.split(':')[0]);
        if (p.stage.startsWith('preconditioner')) ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(stages.has('kernel')).toBe(true);
    // cancelling a solve
    const prep = await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-6, tol: 1e-8, maxEpochs: 100000, variance: false }), {});
    const ac2 = new AbortController();
    const solve = prep.predict(obs.values, { signal: ac2.signal, onProgress: (p) => (p.detail?.epoch ?? 0) >= 1 && ac2.abort() });
    await expect(solve).rejects.toBeInstanceOf(CancelledError);
  });

  it('is registered, accepts every cntk parameter, and takes over cntk above the threshold', async () => {
    expect((await getEstimator('cntk-eigenpro')).id).toBe('cntk-eigenpro');
    const names = new Set(cntkEigenpro.params.map((p) => p.name));
    for (const p of cntk.params) expect(names.has(p.name)).toBe(true);
    expect(chooseCntkSolver(EIGENPRO_THRESHOLD)).toBe('cntk');
    expect(chooseCntkSolver(EIGENPRO_THRESHOLD + 1)).toBe('cntk-eigenpro');
    expect(resolveCntkMethod('cntk', 16384)).toBe('cntk-eigenpro');
    expect(resolveCntkMethod('cntk', 100)).toBe('cntk');
    expect(resolveCntkMethod('kriging', 16384)).toBe('kriging');
    // the service counts distinct observed cells, not sites: a drive test of many readings in few cells
    // stays on the direct solver; as many sites in distinct cells switch to EigenPro
    const g64: Grid = { crs: 'local', width: 64, height: 64, bounds: { xmin: 0, ymin: 0, xmax: 64, ymax: 64 } };
    const many = EIGENPRO_THRESHOLD + 100;
    const distinct = { ids: [] as string[], x: Float64Array.from({ length: many }, (_, i) => (i % 64) + 0.5), y: Float64Array.from({ length: many }, (_, i) => Math.floor(i / 64) + 0.5) };
    const clustered = { ids: [] as string[], x: Float64Array.from({ length: 24000 }, (_, i) => (i % 20) + 0.25 + (i % 3) * 0.2), y: Float64Array.from({ length: 24000 }, (_, i) => (Math.floor(i / 20) % 25) + 0.5) };
    expect(await cntkSolverFor('cntk', g64, distinct)).toBe('cntk-eigenpro');
    expect(await cntkSolverFor('cntk', g64, clustered)).toBe('cntk'); // 500 cells
    expect(await cntkSolverFor('idw', g64, distinct)).toBe('idw');
    await expect(cntkEigenpro.prepare({ ...obs, cell: new Int32Array(0), x: new Float64Array(0), y: new Float64Array(0), values: new Float64Array(0), count: new Int32Array(0), sensorIds: [] }, pEigen(), {})).rejects.toThrow(/no observed cells/);
    const prep = await cntkEigenpro.prepare(obs, pEigen({ lambda: 1e-2, variance: false, tol: 1e-3 }), {});
    await expect(prep.predict(new Float64Array(3), {})).rejects.toThrow(/3 values for \d+ observed cells/);
  });
});
