// The lazy-training limit: a wide finite network in NTK parameterization, trained by plain gradient descent
// with a small step from random initialisation (output centred on the initial function), converges to kernel
// regression with its tangent kernel, which tends to the CNTK Θ as width grows. So GLIP's map approaches the
// `cntk` estimator's map (same architecture, LIP, σ_w², σ_b²; ridge λ → 0) and the gap shrinks with width
// (roughly like 1/√width: the empirical NTK fluctuates around Θ with that size).
//
// Widths 16, 64, 256 (each 4× the previous) on an 8×8 grid with five observed cells keep the file under a
// minute on a shared 2-core machine.

import { describe, expect, it } from 'vitest';
import type { Grid, Observations } from '../../src/domain/types.ts';
import { cntk } from '../../src/estimators/cntk.ts';
import { glip } from '../../src/estimators/glip.ts';
import { resolveParams } from '../../src/estimators/params.ts';
import { cntkRows } from '../../src/kernels/cntk.ts';
import { DEFAULT_ARCH } from '../../src/kernels/arch.ts';
import { DEFAULT_LIP, buildLip } from '../../src/kernels/lip.ts';

const S = 8;
const CELLS: Array<[number, number]> = [[1, 1], [1, 6], [6, 1], [6, 6], [3, 4]];
const grid: Grid = { crs: 'local', width: S, height: S, bounds: { xmin: 0, ymin: 0, xmax: S * 10, ymax: S * 10 } };
const obs: Observations = {
  grid,
  cell: Int32Array.from(CELLS.map(([r, c]) => r * S + c)),
  x: Float64Array.from(CELLS.map(([, c]) => (c + 0.5) * 10)),
  y: Float64Array.from(CELLS.map(([r]) => (S - r - 0.5) * 10)),
  values: Float64Array.from(CELLS.map(([r, c]) => 1 + Math.sin(r) + 0.5 * Math.cos(c))),
  count: new Int32Array(CELLS.length).fill(1),
  sensorIds: CELLS.map((_, i) => [`s${i}`]),
};
const n = CELLS.length;

/** Largest eigenvalue of a small symmetric matrix (power iteration, float64). */
function lambdaMax(K: Float64Array, m: number): number {
  let v = new Float64Array(m).fill(1);
  let lam = 0;
  for (let it = 0; it < 500; it++) {
    const w = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) w[i] += K[i * m + j] * v[j];
    lam = Math.hypot(...w);
    v = w.map((x) => x / lam);
  }
  return lam;
}

describe('glip → cntk in the lazy-training limit', () => {
  it('the gap to the cntk map shrinks as width grows (16, 64, 256)', async () => {
    // the cntk estimator's map, interpolating (λ = 1e-7 × mean diag Θ_OO), float64 kernel
    const cp = await cntk.prepare(obs, resolveParams('cntk', cntk.params, { lambda: 1e-7, variance: false, precision: 'float64' }), {});
    const ref = (await cp.predict(obs.values, {})).values;
    cp.dispose?.();

    // step size from the CNTK Θ_OO: the loss is (1/n)Σ(g − y)², so GD contracts eigen-direction i by
    // 1 − 2ηλ_i/n; η = 0.9·n/(2λ_max) is stable for the finite network's (nearby) kernel too
    const prior = buildLip(obs, DEFAULT_LIP);
    const rows = await cntkRows(prior, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, precision: 'float64' }, obs.cell);
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = rows.ntkRows[i * S * S + obs.cell[j]];
    const lr = (0.9 * n) / (2 * lambdaMax(K, n));

    let mean = 0;
    for (const v of ref) mean += v / ref.length;
    let den = 0;
    for (const v of ref) den += (v - mean) ** 2;

    const gaps: number[] = [];
    for (const width of [16, 64, 256]) {
      const params = resolveParams('glip', glip.params, { width, optimizer: 'gd', lr, iterations: 100, holdout: 0, ensemble: 1, center: true, alignment: 'off', seed: 1 });
      const prepared = await glip.prepare(obs, params, {});
      const pred = await prepared.predict(obs.values, {});
      prepared.dispose?.();
      // converged: the observed cells are interpolated
      const d = pred.diagnostics as { trainRmse: number };
      expect(d.trainRmse).toBeLessThan(1e-3);
      let num = 0;
      for (let i = 0; i < ref.length; i++) num += (pred.values[i] - ref[i]) ** 2;
      gaps.push(Math.sqrt(num / den));
    }
    // eslint-disable-next-line no-console
    console.log(`glip vs cntk relative RMS gap: width 16 ${gaps[0].toFixed(4)}, 64 ${gaps[1].toFixed(4)}, 256 ${gaps[2].toFixed(4)}`);
    expect(gaps[1]).toBeLessThan(gaps[0]);
    expect(gaps[2]).toBeLessThan(gaps[1]);
    expect(gaps[0] / gaps[2]).toBeGreaterThan(2);
    expect(gaps[2]).toBeLessThan(0.2);
  });
});
