// Test helpers for the geostatistics tests: a seeded PRNG, Gaussian random fields simulated exactly by
// Cholesky of a known covariance, and Observations built directly from grid cells (independent of the
// engine's snapping code).

import type { Grid, Observations } from '../../src/domain/types.ts';
import { cellCentre } from '../../src/geo/grid.ts';
import { cholesky } from '../../src/solvers/cholesky.ts';
import { mulberry32 } from '../../src/util/random.ts';

export const rng = mulberry32;

export function gaussian(r: () => number): () => number {
  return () => {
    const u = Math.max(r(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
}

export function grid(width: number, height: number, size = 100): Grid {
  return { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: size, ymax: (size * height) / width }, width, height };
}

/** `n` distinct random cells of the grid (ascending), deterministic. */
export function randomCells(g: Grid, n: number, seed: number): Int32Array {
  const r = rng(seed);
  const P = g.width * g.height;
  const chosen = new Set<number>();
  while (chosen.size < n) chosen.add(Math.floor(r() * P));
  return Int32Array.from([...chosen].sort((a, b) => a - b));
}

export function observations(g: Grid, cells: ArrayLike<number>, values: ArrayLike<number>): Observations {
  const n = cells.length;
  const obs: Observations = {
    grid: g,
    cell: Int32Array.from(cells),
    x: new Float64Array(n),
    y: new Float64Array(n),
    values: Float64Array.from(values),
    count: new Int32Array(n).fill(1),
    sensorIds: Array.from({ length: n }, (_, i) => [`s${i}`]),
  };
  for (let i = 0; i < n; i++) {
    const [x, y] = cellCentre(g, Math.floor(cells[i] / g.width), cells[i] % g.width);
    obs.x[i] = x;
    obs.y[i] = y;
  }
  return obs;
}

/**
 * Zero-mean Gaussian random field with covariance cov(distance) at the given points (several independent
 * realisations), simulated exactly as L·ε with C = L·Lᵀ.
 */
export function simulateField(x: ArrayLike<number>, y: ArrayLike<number>, cov: (h: number) => number, seed: number, realisations = 1): Float64Array[] {
  const n = x.length;
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] = cov(Math.hypot(x[i] - x[j], y[i] - y[j]));
  const f = cholesky(C, n);
  const g = gaussian(rng(seed));
  const out: Float64Array[] = [];
  for (let r = 0; r < realisations; r++) {
    const e = Float64Array.from({ length: n }, g);
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k <= i; k++) s += f.L[i * n + k] * e[k];
      z[i] = s;
    }
    out.push(z);
  }
  return out;
}

export const ctx = {};
