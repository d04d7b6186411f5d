// The `volcano` data set (vega-datasets: Maunga Whau heights in metres, 87×61) as a real field to sample
// sensors from, independent of our own estimators.

import fs from 'node:fs';
import path from 'node:path';
import type { Grid, Observations } from '../../src/domain/types.ts';
import { snapPoints } from '../../src/estimators/observations.ts';
import { sampleBilinear } from '../../src/geo/grid.ts';
import { lcg } from './random.ts';

export const volcano = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, '../../node_modules/vega-datasets/data/volcano.json'), 'utf8'),
) as { width: number; height: number; values: number[] };

/** The data set's own grid: one cell per value, 1 m cells. */
export const volcanoGrid: Grid = { crs: 'local', bounds: { xmin: 0, xmax: volcano.width, ymin: 0, ymax: volcano.height }, width: volcano.width, height: volcano.height };

/** n random sensors (lcg(seed)) on the volcano field, read bilinearly, snapped to a w×h grid over it. */
export function volcanoObs(n: number, w: number, h: number, seed: number): { obs: Observations; truth: (x: number, y: number) => number } {
  const r = lcg(seed);
  const truth = (x: number, y: number) => sampleBilinear(volcanoGrid, volcano.values, x, y);
  const xs: number[] = [];
  const ys: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(r() * volcano.width);
    ys.push(r() * volcano.height);
    vs.push(truth(xs[i], ys[i]));
  }
  const grid: Grid = { ...volcanoGrid, width: w, height: h };
  return { obs: snapPoints(grid, xs, ys, vs).obs, truth };
}
