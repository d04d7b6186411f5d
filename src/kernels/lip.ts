// The Local Image Prior (LIP): the input image of the pixel-to-pixel CNN / CNTK, built from the sensors
// themselves (there is no training set of full maps). Shared by the CNTK estimators, the finite CNN (GLIP)
// and the sketched features, so that they are the finite and infinite versions of one model.
//
// Channel normalisation (so that no channel dominates Σ_in = (1/C) Σ_c x_c x_cᵀ by its units):
//   values   standardized observed values ((v − mean)/sd) at observed cells, 0 elsewhere
//   mask     1 at observed cells, 0 elsewhere
//   idw      inverse-distance-weighted (power 2) interpolant of the standardized values (exact at sensors)
//   nearest  standardized value of the nearest sensor (Voronoi / nearest-neighbour image)
//   distance distance to the nearest sensor divided by the grid's longer side (0 at sensors, ≤ √2)
//   x, y     cell-centre coordinates mapped to [−1, 1] (x east, y north)
//   const    1 everywhere
// Distances are metric (cell centres in the grid CRS), so non-square cells are handled.
//
// Value channels (values, idw, nearest) make the kernel depend on the observed VALUES; the geometry
// channels (mask, distance) on the observed SET; x, y, const on nothing but the grid. See docs/cntk.md.

import { UserError } from '../domain/errors.ts';
import type { Observations } from '../domain/types.ts';
import { cellCentres } from '../geo/grid.ts';

export type LipChannel = 'values' | 'mask' | 'idw' | 'nearest' | 'distance' | 'x' | 'y' | 'const';

export const LIP_CHANNELS: LipChannel[] = ['values', 'mask', 'idw', 'nearest', 'distance', 'x', 'y', 'const'];

/** Channels that depend on the observed values: a kernel built on them must be rebuilt when values change. */
export const VALUE_CHANNELS: ReadonlySet<LipChannel> = new Set<LipChannel>(['values', 'idw', 'nearest']);
/** Channels that depend on which cells are observed (but not on the values). */
export const SET_CHANNELS: ReadonlySet<LipChannel> = new Set<LipChannel>(['values', 'idw', 'nearest', 'mask', 'distance']);

/**
 * Default channels, chosen by honest cross-validation (bench/cntk-lip.ts; evidence in docs/cntk.md): on
 * volcano, annual-precip and the demo, sensor-set and value channels (mask, distance, idw, nearest,
 * values) changed the error by a few per cent either way, while a grid-only LIP makes the kernel
 * independent of the sensors: exact closed-form cross-validation, one kernel for every time step.
 */
export const DEFAULT_LIP: LipChannel[] = ['x', 'y', 'const'];

/** The network input: C channels of H×W, row-major (cell = row*width + col). */
export interface Prior {
  height: number;
  width: number;
  channels: Float32Array[];
}

export interface LipOptions {
  /** Values to use instead of obs.values (e.g. log-transformed targets, or a time-mean). Same order as obs.cell. */
  values?: ArrayLike<number>;
  /** IDW power (default 2). */
  idwPower?: number;
}

/** Parse "idw,distance,x,y" into channels (UserError on unknown names or duplicates). */
export function parseLipChannels(spec: string | LipChannel[]): LipChannel[] {
  const list = typeof spec === 'string' ? spec.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '') : spec;
  if (list.length === 0) throw new UserError(`LIP channel list is empty (choose from ${LIP_CHANNELS.join(', ')})`);
  const seen = new Set<string>();
  for (const c of list) {
    if (!(LIP_CHANNELS as string[]).includes(c)) {
      throw new UserError(`unknown LIP channel "${c}" (choose from ${LIP_CHANNELS.join(', ')})`);
    }
    if (seen.has(c)) throw new UserError(`LIP channel "${c}" is listed twice`);
    seen.add(c);
  }
  return list as LipChannel[];
}

/** Whether a LIP with these channels depends on observed values (then the kernel is value-dependent). */
export function lipDependsOnValues(channels: LipChannel[]): boolean {
  return channels.some((c) => VALUE_CHANNELS.has(c));
}

/** Whether a LIP with these channels depends on which cells are observed. */
export function lipDependsOnSet(channels: LipChannel[]): boolean {
  return channels.some((c) => SET_CHANNELS.has(c));
}

/** Build the LIP image on obs.grid. */
export function buildLip(obs: Observations, channels: LipChannel[], opts: LipOptions = {}): Prior {
  const chans = parseLipChannels(channels);
  const { width: W, height: H } = obs.grid;
  const P = W * H;
  const n = obs.cell.length;
  const raw = opts.values ?? obs.values;
  if (raw.length !== n) throw new UserError(`LIP: ${raw.length} values for ${n} observed cells`);
  const needsObs = chans.some((c) => c !== 'x' && c !== 'y' && c !== 'const');
  if (needsObs && n === 0) throw new UserError('LIP: no observed cells to build the image from');

  // standardized values
  let mean = 0;
  for (let i = 0; i < n; i++) mean += raw[i];
  mean = n > 0 ? mean / n : 0;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (raw[i] - mean) ** 2;
  const sd = n > 1 && ss > 0 ? Math.sqrt(ss / (n - 1)) : 1;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(raw[i])) throw new UserError(`LIP: observed value ${i + 1} is not a finite number`);
    z[i] = (raw[i] - mean) / sd;
  }

  const want = new Set(chans);
  const out: Partial<Record<LipChannel, Float32Array>> = {};
  if (want.has('values') || want.has('mask')) {
    const v = new Float32Array(P);
    const m = new Float32Array(P);
    for (let i = 0; i < n; i++) {
      v[obs.cell[i]] = z[i];
      m[obs.cell[i]] = 1;
    }
    out.values = v;
    out.mask = m;
  }
  if (want.has('idw') || want.has('nearest') || want.has('distance')) {
    const { idw, nearest, distance } = distanceChannels(obs, z, opts.idwPower ?? 2, want.has('idw'));
    out.idw = idw;
    out.nearest = nearest;
    out.distance = distance;
  }
  if (want.has('x') || want.has('y')) {
    const x = new Float32Array(P);
    const y = new Float32Array(P);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        x[r * W + c] = -1 + (2 * (c + 0.5)) / W;
        y[r * W + c] = 1 - (2 * (r + 0.5)) / H;
      }
    }
    out.x = x;
    out.y = y;
  }
  if (want.has('const')) out.const = new Float32Array(P).fill(1);
  return { height: H, width: W, channels: chans.map((c) => out[c] as Float32Array) };
}

/** Nearest-sensor distance / value and IDW, by brute force over sensors (O(P·n), fine up to ~10⁹ pairs). */
function distanceChannels(
  obs: Observations,
  z: Float64Array,
  power: number,
  withIdw: boolean,
): { idw: Float32Array; nearest: Float32Array; distance: Float32Array } {
  const g = obs.grid;
  const P = g.width * g.height;
  const n = obs.cell.length;
  const centres = cellCentres(g);
  const sx = new Float64Array(n);
  const sy = new Float64Array(n);
  // use cell centres of the observed cells (obs.x/y are those too), so that distance is exactly 0 there
  for (let i = 0; i < n; i++) {
    sx[i] = centres.x[obs.cell[i]];
    sy[i] = centres.y[obs.cell[i]];
  }
  const scale = Math.max(g.bounds.xmax - g.bounds.xmin, g.bounds.ymax - g.bounds.ymin);
  const idw = new Float32Array(P);
  const nearest = new Float32Array(P);
  const distance = new Float32Array(P);
  const half = power / 2;
  for (let p = 0; p < P; p++) {
    const px = centres.x[p];
    const py = centres.y[p];
    let best = Infinity;
    let bestI = 0;
    let num = 0;
    let den = 0;
    let exact = -1;
    for (let i = 0; i < n; i++) {
      const dx = sx[i] - px;
      const dy = sy[i] - py;
      const d2 = dx * dx + dy * dy;
      if (d2 < best) {
        best = d2;
        bestI = i;
      }
      if (withIdw) {
        if (d2 === 0) exact = i;
        else {
          const w = half === 1 ? 1 / d2 : Math.pow(d2, -half);
          num += w * z[i];
          den += w;
        }
      }
    }
    distance[p] = Math.sqrt(best) / scale;
    nearest[p] = z[bestI];
    if (withIdw) idw[p] = exact >= 0 ? z[exact] : num / den;
  }
  return { idw, nearest, distance };
}
