// Grid geometry: cell centres, snapping points to cells, bilinear sampling. See domain/types.ts Grid.

import type { Bounds, Grid } from '../domain/types.ts';
import { UserError } from '../domain/errors.ts';

export function cellWidth(g: Grid): number {
  return (g.bounds.xmax - g.bounds.xmin) / g.width;
}

export function cellHeight(g: Grid): number {
  return (g.bounds.ymax - g.bounds.ymin) / g.height;
}

export function cellCount(g: Grid): number {
  return g.width * g.height;
}

/** Centre of cell (row, col) in the grid CRS. */
export function cellCentre(g: Grid, row: number, col: number): [number, number] {
  return [g.bounds.xmin + (col + 0.5) * cellWidth(g), g.bounds.ymax - (row + 0.5) * cellHeight(g)];
}

/** Cell index row*width+col containing (x, y), or -1 when outside the grid. */
export function cellIndexAt(g: Grid, x: number, y: number): number {
  const col = Math.floor((x - g.bounds.xmin) / cellWidth(g));
  const row = Math.floor((g.bounds.ymax - y) / cellHeight(g));
  if (col < 0 || col >= g.width || row < 0 || row >= g.height) {
    // points exactly on the max edge belong to the last cell
    const c2 = x === g.bounds.xmax ? g.width - 1 : col;
    const r2 = y === g.bounds.ymin ? g.height - 1 : row;
    if (c2 < 0 || c2 >= g.width || r2 < 0 || r2 >= g.height) return -1;
    return r2 * g.width + c2;
  }
  return row * g.width + col;
}

/** Cell-centre x and y coordinates of every cell, row-major. */
export function cellCentres(g: Grid): { x: Float64Array; y: Float64Array } {
  const n = g.width * g.height;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const dx = cellWidth(g);
  const dy = cellHeight(g);
  for (let r = 0; r < g.height; r++) {
    for (let c = 0; c < g.width; c++) {
      x[r * g.width + c] = g.bounds.xmin + (c + 0.5) * dx;
      y[r * g.width + c] = g.bounds.ymax - (r + 0.5) * dy;
    }
  }
  return { x, y };
}

/** Bilinear interpolation of a row-major raster at (x, y) between cell centres (clamped at the edges). */
export function sampleBilinear(g: Grid, values: ArrayLike<number>, x: number, y: number): number {
  const fc = (x - g.bounds.xmin) / cellWidth(g) - 0.5;
  const fr = (g.bounds.ymax - y) / cellHeight(g) - 0.5;
  const c0 = Math.max(0, Math.min(g.width - 1, Math.floor(fc)));
  const r0 = Math.max(0, Math.min(g.height - 1, Math.floor(fr)));
  const c1 = Math.min(g.width - 1, c0 + 1);
  const r1 = Math.min(g.height - 1, r0 + 1);
  const tc = Math.max(0, Math.min(1, fc - c0));
  const tr = Math.max(0, Math.min(1, fr - r0));
  const v = (r: number, c: number) => values[r * g.width + c];
  return (1 - tr) * ((1 - tc) * v(r0, c0) + tc * v(r0, c1)) + tr * ((1 - tc) * v(r1, c0) + tc * v(r1, c1));
}

/** Bounds of a point set with a relative margin (fraction of the larger side, at least `minMargin` metres). */
export function boundsAround(xs: ArrayLike<number>, ys: ArrayLike<number>, margin = 0.05, minMargin = 1): Bounds {
  if (xs.length === 0) throw new UserError('no points to build a grid around');
  let xmin = Infinity, ymin = Infinity, xmax = -Infinity, ymax = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    xmin = Math.min(xmin, xs[i]); xmax = Math.max(xmax, xs[i]);
    ymin = Math.min(ymin, ys[i]); ymax = Math.max(ymax, ys[i]);
  }
  const m = Math.max(minMargin, margin * Math.max(xmax - xmin, ymax - ymin));
  return { xmin: xmin - m, ymin: ymin - m, xmax: xmax + m, ymax: ymax + m };
}

/** Parse "128", "128x96" (width x height) into a size; the single number sets the larger side. */
export function parseGridSize(spec: string): { width?: number; height?: number; longSide?: number } {
  const s = spec.trim().toLowerCase();
  const m = /^(\d+)\s*[x×]\s*(\d+)$/.exec(s);
  const check = (n: number) => {
    if (!Number.isInteger(n) || n < 8 || n > 1024) throw new UserError(`grid side must be an integer from 8 to 1024 (got "${spec}")`);
    return n;
  };
  if (m) return { width: check(Number(m[1])), height: check(Number(m[2])) };
  if (/^\d+$/.test(s)) return { longSide: check(Number(s)) };
  throw new UserError(`cannot read grid size "${spec}": use N (larger side) or WxH, e.g. 128 or 128x96`);
}
