// Default estimation grids: which CRS, which bounds, how many cells.
//
// A grid covers the sensors' extent (or the project's area of interest) plus a margin, in a metric CRS:
// the project's CRS when it is metric, else a local transverse Mercator centred on the sensors.
// Cells are square whenever the user gives a single size (`--grid 128`, `--cell 10`) or W×H: the bounds
// are widened symmetrically on the short axis so that whole square cells cover the area.

import type { Bounds, Grid, Sensor } from '../domain/types.ts';
import { UserError } from '../domain/errors.ts';
import { LOCAL, fromWgs84, isGeographic, localTransverseMercator, proj4Def, transformer } from '../geo/crs.ts';
import { boundsAround, parseGridSize } from '../geo/grid.ts';

export const MIN_SIDE = 8;
export const MAX_SIDE = 1024;
export const DEFAULT_LONG_SIDE = 128;
/** Margin around the sensors' extent, as a fraction of the larger side. */
export const DEFAULT_MARGIN = 0.05;
/** Smallest margin in metres (a single sensor, or sensors on a line, still get an area around them). */
export const MIN_MARGIN_M = 10;

/** How many cells, given one way or another. Mirrors service/api.ts GridRequest (size/width/height/cell). */
export interface GridSizeRequest {
  /** Larger side's cell count. */
  size?: number;
  width?: number;
  height?: number;
  /** Cell size in metres. */
  cell?: number;
}

/** Positions of sites (sensors) in one CRS. */
export interface SitePositions {
  ids: string[];
  x: Float64Array;
  y: Float64Array;
  crs: string;
}

/** Parse the CLI's --grid / --cell options into a size request. */
export function gridSizeFromOptions(grid?: string, cell?: string | number): GridSizeRequest {
  if (grid !== undefined && cell !== undefined) throw new UserError('give either --grid or --cell, not both');
  if (cell !== undefined) {
    const c = typeof cell === 'number' ? cell : Number(String(cell).trim());
    if (!Number.isFinite(c) || c <= 0) throw new UserError(`--cell must be a positive number of metres (got "${cell}")`);
    return { cell: c };
  }
  if (grid === undefined) return {};
  const g = parseGridSize(grid);
  return g.longSide !== undefined ? { size: g.longSide } : { width: g.width, height: g.height };
}

function checkSide(n: number, what: string): number {
  if (!Number.isInteger(n) || n < MIN_SIDE || n > MAX_SIDE) {
    throw new UserError(`grid ${what} must be an integer from ${MIN_SIDE} to ${MAX_SIDE} (got ${n})`);
  }
  return n;
}

/**
 * The CRS a grid is built in. An explicit request wins; else the project's CRS when metric; else a local
 * transverse Mercator around the sensors' WGS84 centroid.
 */
export function chooseGridCrs(projectCrs: string, sensors: Array<Pick<Sensor, 'lat' | 'lon'>>, requested?: string): string {
  if (requested && requested.trim()) {
    const r = requested.trim();
    proj4Def(r); // throws a clear UserError for an unreadable CRS
    if (isGeographic(r)) throw new UserError(`grid CRS ${r} is geographic (degrees): estimation needs a metric CRS (e.g. a UTM zone, or omit it for a local one)`);
    return r;
  }
  const p = projectCrs?.trim();
  if (p && (p.toLowerCase() === LOCAL || !isGeographic(p))) return p;
  const ok = sensors.filter((s) => Number.isFinite(s.lat) && Number.isFinite(s.lon));
  if (ok.length === 0) throw new UserError('cannot choose a metric CRS: the project has no sensors with WGS84 positions');
  const lat = ok.reduce((a, s) => a + s.lat, 0) / ok.length;
  const lon = ok.reduce((a, s) => a + s.lon, 0) / ok.length;
  return localTransverseMercator(lat, lon);
}

/** Sensor positions in the grid CRS: the stored x/y when the grid is in the project's CRS, else from WGS84. */
export function sensorPositions(sensors: Sensor[], projectCrs: string, gridCrs: string): SitePositions {
  const n = sensors.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const same = projectCrs.trim() === gridCrs.trim();
  if (!same && gridCrs.trim().toLowerCase() === LOCAL) {
    throw new UserError('the grid CRS is "local" but the project is not: give a real CRS for the grid');
  }
  for (let i = 0; i < n; i++) {
    const s = sensors[i];
    if (same) {
      x[i] = s.x;
      y[i] = s.y;
    } else {
      if (!Number.isFinite(s.lat) || !Number.isFinite(s.lon)) {
        throw new UserError(`sensor "${s.id}" has no WGS84 position, so it cannot be placed in grid CRS ${gridCrs}`);
      }
      [x[i], y[i]] = fromWgs84(gridCrs, s.lon, s.lat);
    }
  }
  return { ids: sensors.map((s) => s.id), x, y, crs: gridCrs };
}

/** Bounds given in one CRS, as the bounding box of their corners and edge midpoints in another. */
export function reprojectBounds(b: Bounds, from: string, to: string): Bounds {
  if (from.trim() === to.trim()) return { ...b };
  const t = transformer(from, to);
  const xs: number[] = [];
  const ys: number[] = [];
  const steps = 8;
  for (let i = 0; i <= steps; i++) {
    const fx = b.xmin + ((b.xmax - b.xmin) * i) / steps;
    const fy = b.ymin + ((b.ymax - b.ymin) * i) / steps;
    for (const p of [[fx, b.ymin], [fx, b.ymax], [b.xmin, fy], [b.xmax, fy]] as Array<[number, number]>) {
      const [x, y] = t.forward(p);
      xs.push(x);
      ys.push(y);
    }
  }
  return { xmin: Math.min(...xs), ymin: Math.min(...ys), xmax: Math.max(...xs), ymax: Math.max(...ys) };
}

/**
 * A grid over `bounds` with the requested number of cells. The bounds are widened symmetrically so that
 * cells are square and whole (never narrowed: everything inside `bounds` stays covered).
 */
export function gridOver(bounds: Bounds, crs: string, req: GridSizeRequest = {}): Grid {
  const ex = bounds.xmax - bounds.xmin;
  const ey = bounds.ymax - bounds.ymin;
  if (!(ex > 0) || !(ey > 0) || !Number.isFinite(ex) || !Number.isFinite(ey)) {
    throw new UserError(`grid bounds are empty or invalid (${JSON.stringify(bounds)})`);
  }
  const given = [req.size !== undefined, req.width !== undefined || req.height !== undefined, req.cell !== undefined].filter(Boolean).length;
  if (given > 1) throw new UserError('give the grid as one of: a size (larger side), width×height, or a cell size — not several');
  let width: number;
  let height: number;
  let cell: number;
  if (req.cell !== undefined) {
    cell = req.cell;
    if (!Number.isFinite(cell) || cell <= 0) throw new UserError(`cell size must be a positive number of metres (got ${cell})`);
    width = Math.max(MIN_SIDE, Math.ceil(ex / cell - 1e-9));
    height = Math.max(MIN_SIDE, Math.ceil(ey / cell - 1e-9));
    if (width > MAX_SIDE || height > MAX_SIDE) {
      const need = Math.max(ex, ey) / MAX_SIDE;
      throw new UserError(
        `a ${cell} m cell over ${fmtM(ex)} × ${fmtM(ey)} needs ${width}×${height} cells; the maximum is ${MAX_SIDE} per side: use a cell of at least ${niceCeil(need)} m, or a smaller area`,
      );
    }
  } else if (req.width !== undefined || req.height !== undefined) {
    if (req.width === undefined || req.height === undefined) throw new UserError('give both grid width and height (e.g. 128x96)');
    width = checkSide(req.width, 'width');
    height = checkSide(req.height, 'height');
    cell = Math.max(ex / width, ey / height);
  } else {
    const long = checkSide(req.size ?? DEFAULT_LONG_SIDE, 'size');
    cell = Math.max(ex, ey) / long;
    if (ex >= ey) {
      width = long;
      height = Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.ceil(ey / cell - 1e-9)));
    } else {
      height = long;
      width = Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.ceil(ex / cell - 1e-9)));
    }
  }
  const cx = (bounds.xmin + bounds.xmax) / 2;
  const cy = (bounds.ymin + bounds.ymax) / 2;
  const hw = (width * cell) / 2;
  const hh = (height * cell) / 2;
  return { crs, width, height, bounds: { xmin: cx - hw, xmax: cx + hw, ymin: cy - hh, ymax: cy + hh } };
}

export interface DefaultGridInput {
  /** Site positions in `crs`. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  crs: string;
  /** Area of interest (already in `crs`): used instead of the sites' extent when given. */
  aoi?: Bounds | null;
  /** Explicit bounds (in `crs`): win over the AOI and the sites. No margin is added. */
  bounds?: Bounds | null;
  size?: GridSizeRequest;
  /** Relative margin around the sites' extent (default 5 % of the larger side, at least 10 m). */
  margin?: number;
}

/** The default grid: sites' extent plus a margin (or the AOI / explicit bounds), sized as requested. */
export function defaultGrid(input: DefaultGridInput): Grid {
  let b: Bounds;
  if (input.bounds) b = input.bounds;
  else if (input.aoi) b = input.aoi;
  else {
    const fx: number[] = [];
    const fy: number[] = [];
    for (let i = 0; i < input.x.length; i++) {
      if (Number.isFinite(input.x[i]) && Number.isFinite(input.y[i])) {
        fx.push(input.x[i]);
        fy.push(input.y[i]);
      }
    }
    if (fx.length === 0) throw new UserError('no sensor positions to build a grid around');
    b = boundsAround(fx, fy, input.margin ?? DEFAULT_MARGIN, MIN_MARGIN_M);
  }
  return gridOver(b, input.crs, input.size ?? {});
}

function fmtM(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(2)} km` : `${m.toFixed(0)} m`;
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const s of [1, 2, 2.5, 5, 10]) if (s * p >= v) return s * p;
  return 10 * p;
}
