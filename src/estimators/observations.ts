// Snapping point readings to grid cells. Every estimator consumes Observations: one entry per observed
// cell, in ascending cell order. Several sensors (or readings) in one cell are averaged (arithmetic mean
// of V/m) and counted; their ids are kept so residuals can be shown per sensor. Sites outside the grid
// and NaN values (no reading) are left out and reported, never filled.

import type { Grid, Observations } from '../domain/types.ts';
import { cellCentre, cellIndexAt } from '../geo/grid.ts';

/** Cell index of each site (-1 when outside the grid). Depends only on positions: compute once per run. */
export function siteCells(grid: Grid, x: ArrayLike<number>, y: ArrayLike<number>): Int32Array {
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    out[i] = Number.isFinite(x[i]) && Number.isFinite(y[i]) ? cellIndexAt(grid, x[i], y[i]) : -1;
  }
  return out;
}

export interface SnapResult {
  obs: Observations;
  /** Ids of sites with a value that lie outside the grid. */
  outside: string[];
  /** Number of sites that had a finite value and were used. */
  used: number;
}

/**
 * Observations for one vector of site values (NaN = no reading at this site): sites inside the grid with a
 * finite value, grouped by cell.
 */
export function observationsFromSites(grid: Grid, cells: Int32Array, ids: string[], values: ArrayLike<number>): SnapResult {
  const n = cells.length;
  const outside: string[] = [];
  const byCell = new Map<number, number[]>();
  let used = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (cells[i] < 0) {
      outside.push(ids[i]);
      continue;
    }
    used++;
    const list = byCell.get(cells[i]);
    if (list) list.push(i);
    else byCell.set(cells[i], [i]);
  }
  const order = [...byCell.keys()].sort((a, b) => a - b);
  const m = order.length;
  const obs = emptyObservations(grid, m);
  for (let j = 0; j < m; j++) {
    const c = order[j];
    const members = byCell.get(c)!;
    let sum = 0;
    for (const i of members) sum += values[i];
    obs.cell[j] = c;
    const [cx, cy] = cellCentre(grid, Math.floor(c / grid.width), c % grid.width);
    obs.x[j] = cx;
    obs.y[j] = cy;
    obs.values[j] = sum / members.length;
    obs.count[j] = members.length;
    obs.sensorIds[j] = members.map((i) => ids[i]);
  }
  return { obs, outside, used };
}

/** Observations of m cells on the grid, all arrays allocated (zeros), for the caller to fill. */
function emptyObservations(grid: Grid, m: number): Observations {
  return {
    grid,
    cell: new Int32Array(m),
    x: new Float64Array(m),
    y: new Float64Array(m),
    values: new Float64Array(m),
    count: new Int32Array(m),
    sensorIds: new Array(m),
  };
}

/** Convenience: snap arbitrary points (x, y, value) to a grid. */
export function snapPoints(grid: Grid, x: ArrayLike<number>, y: ArrayLike<number>, values: ArrayLike<number>, ids?: string[]): SnapResult {
  const names = ids ?? Array.from({ length: x.length }, (_, i) => String(i));
  return observationsFromSites(grid, siteCells(grid, x, y), names, values);
}

/** The observations at the given indices (training subsets in cross-validation), same grid. */
export function subsetObservations(obs: Observations, idx: ArrayLike<number>): Observations {
  const m = idx.length;
  const out = emptyObservations(obs.grid, m);
  for (let j = 0; j < m; j++) {
    const i = idx[j];
    out.cell[j] = obs.cell[i];
    out.x[j] = obs.x[i];
    out.y[j] = obs.y[i];
    out.values[j] = obs.values[i];
    out.count[j] = obs.count[i];
    out.sensorIds[j] = obs.sensorIds[i];
  }
  return out;
}

/** Indices 0..n-1 that are not in `held` (the training sites of a fold). */
export function complementIndices(n: number, held: ArrayLike<number>): Int32Array {
  const mark = new Uint8Array(n);
  for (let i = 0; i < held.length; i++) mark[held[i]] = 1;
  const out = new Int32Array(n - held.length);
  let k = 0;
  for (let i = 0; i < n; i++) if (!mark[i]) out[k++] = i;
  return out.subarray(0, k);
}

/** The same sites with other values (a later time step with the same reporting sensors). */
export function withValues(obs: Observations, values: Float64Array): Observations {
  return { ...obs, values };
}
