// Shared by the sketch tests: a LIP prior on a plain square grid, and the relative Frobenius error.

import type { Grid, Observations } from '../../src/domain/types.ts';
import { buildLip, DEFAULT_LIP, type Prior } from '../../src/kernels/lip.ts';

/** The default Local Image Prior of a size×size grid with no observations (geometry-only channels). */
export function gridPrior(size: number): Prior {
  const grid: Grid = { crs: 'local', width: size, height: size, bounds: { xmin: 0, ymin: 0, xmax: size, ymax: size } };
  const obs: Observations = { grid, cell: new Int32Array(0), x: new Float64Array(0), y: new Float64Array(0), values: new Float64Array(0), count: new Int32Array(0), sensorIds: [] };
  return buildLip(obs, DEFAULT_LIP);
}

export { relErr as relFrob } from './relerr.ts';
