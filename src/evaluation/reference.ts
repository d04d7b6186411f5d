// Comparison of a map against a reference map (ground truth, simulation, measured raster).
//
// The reference is resampled onto the run's grid: each run cell centre is (if the CRSs differ) transformed
// into the reference's CRS and sampled bilinearly between reference cell centres. Cells whose centre falls
// outside the reference's bounds, or whose bilinear stencil touches a NaN (no data), get NaN and are left
// out of the metrics. Errors are predicted − reference (positive = over-prediction), as in metrics.ts.

import type { ExposureMap, Grid, ReferenceMap } from '../domain/types.ts';
import { sampleBilinear } from '../geo/grid.ts';
import { transformer } from '../geo/crs.ts';
import { computeMetrics } from './metrics.ts';

function sameGrid(a: Grid, b: Grid): boolean {
  const eq = (u: number, v: number) => Math.abs(u - v) <= 1e-9 * Math.max(1, Math.abs(u), Math.abs(v));
  return (
    a.crs.trim() === b.crs.trim() &&
    a.width === b.width &&
    a.height === b.height &&
    eq(a.bounds.xmin, b.bounds.xmin) &&
    eq(a.bounds.xmax, b.bounds.xmax) &&
    eq(a.bounds.ymin, b.bounds.ymin) &&
    eq(a.bounds.ymax, b.bounds.ymax)
  );
}

/** The reference's values at the cell centres of `grid` (NaN where it has no data). */
export function resampleReference(ref: Pick<ReferenceMap, 'grid' | 'values'>, grid: Grid): Float32Array {
  if (sameGrid(ref.grid, grid)) return Float32Array.from(ref.values);
  const out = new Float32Array(grid.width * grid.height);
  const t = grid.crs.trim() === ref.grid.crs.trim() ? null : transformer(grid.crs, ref.grid.crs);
  const rb = ref.grid.bounds;
  const dx = (grid.bounds.xmax - grid.bounds.xmin) / grid.width;
  const dy = (grid.bounds.ymax - grid.bounds.ymin) / grid.height;
  for (let r = 0; r < grid.height; r++) {
    for (let c = 0; c < grid.width; c++) {
      let x = grid.bounds.xmin + (c + 0.5) * dx;
      let y = grid.bounds.ymax - (r + 0.5) * dy;
      if (t) [x, y] = t.forward([x, y]);
      out[r * grid.width + c] =
        Number.isFinite(x) && Number.isFinite(y) && x >= rb.xmin && x <= rb.xmax && y >= rb.ymin && y <= rb.ymax
          ? sampleBilinear(ref.grid, ref.values, x, y)
          : NaN;
    }
  }
  return out;
}

export interface ReferenceComparison {
  /** Cells with both a prediction and a reference value. */
  n: number;
  rmse: number;
  mae: number;
  bias: number;
  r2: number;
  /** Largest |predicted − reference|. */
  maxAbs: number;
  /** predicted − reference per run cell; NaN where the reference has no data. */
  errorMap: Float32Array;
  /** The reference resampled onto the run grid. */
  reference: Float32Array;
  seconds: number;
}

export function compareToReference(map: Pick<ExposureMap, 'grid' | 'values'>, ref: Pick<ReferenceMap, 'grid' | 'values'>): ReferenceComparison {
  const t0 = performance.now();
  const reference = resampleReference(ref, map.grid);
  const n = map.values.length;
  const errorMap = new Float32Array(n);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const e = map.values[i] - reference[i];
    errorMap[i] = Number.isFinite(e) ? e : NaN;
    if (Number.isFinite(e)) maxAbs = Math.max(maxAbs, Math.abs(e));
  }
  // metrics in float64 from the float32 inputs
  const m = computeMetrics(reference, map.values);
  return { n: m.n, rmse: m.rmse, mae: m.mae, bias: m.bias, r2: m.r2, maxAbs, errorMap, reference, seconds: (performance.now() - t0) / 1000 };
}
