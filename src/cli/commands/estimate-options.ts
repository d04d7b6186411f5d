// Options shared by the estimation commands (estimate, compare, predict): grid size, time window,
// aggregation and --param pairs, parsed into the service's request types.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import type { Aggregation, Selection } from '../../domain/types.ts';
import type { GridRequest } from '../../service/api.ts';
import { gridSizeFromOptions } from '../../estimators/grid-default.ts';
import { parseParamPairs } from '../../estimators/params.ts';

/** What addGridOptions adds to a command's parsed options. */
export interface GridCliOptions {
  grid?: string;
  cell?: string;
  gridCrs?: string;
}

/** What addSelectionOptions adds to a command's parsed options. */
export interface SelectionCliOptions {
  from?: string;
  to?: string;
  agg?: string;
  band?: string;
  quality?: string;
  sensors?: string;
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addGridOptions(cmd: Command): Command {
  return cmd
    .option('--grid <size>', 'cells on the larger side (e.g. 128), or WxH (e.g. 128x96); 8 to 1024 per side (default 128)')
    .option('--cell <metres>', 'cell size in metres, instead of --grid')
    .option('--grid-crs <crs>', 'CRS of the grid (EPSG:xxxx or proj4); default: the project CRS, or a local transverse Mercator');
}

/** The time window, aggregation, band and quality options; `sensors: false` leaves out --sensors. */
export function addSelectionOptions(cmd: Command, opts: { sensors?: boolean } = {}): Command {
  cmd
    .option('--from <time>', 'start of the time window (ISO 8601, e.g. 2024-05-01T08:00Z; no zone = UTC), inclusive')
    .option('--to <time>', 'end of the time window, exclusive')
    .option('--agg <how>', 'per-sensor aggregation over the window: mean, median, max, p95, last', 'mean')
    .option('--band <name>', 'one frequency band (e.g. GSM900); default: the total field, per-band readings combined by power where no total is stored')
    .option('--quality <which>', 'good (readings with quality flag 0 only) or all', 'good');
  return opts.sensors === false ? cmd : cmd.option('--sensors <ids>', 'comma-separated sensor ids to use (default: all)');
}

export function gridRequest(o: GridCliOptions): GridRequest {
  return { ...gridSizeFromOptions(o.grid, o.cell), ...(o.gridCrs ? { crs: o.gridCrs } : {}) };
}

/** ISO 8601 (a missing zone means UTC) or epoch milliseconds. */
export function parseTimeOption(s: string | undefined, name: string): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  if (/^-?\d{10,}$/.test(t)) return Number(t);
  const hasZone = /(z|[+-]\d{2}:?\d{2})$/i.test(t);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : hasZone ? t : `${t.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new UserError(`--${name}: cannot read time "${s}" (use ISO 8601, e.g. 2024-05-01T08:00Z)`);
  return ms;
}

export function selectionRequest(o: SelectionCliOptions): Partial<Selection> {
  const agg = (o.agg ?? 'mean').trim().toLowerCase();
  if (!['mean', 'median', 'max', 'p95', 'last'].includes(agg)) throw new UserError(`--agg must be one of mean, median, max, p95, last (got "${o.agg}")`);
  const quality = (o.quality ?? 'good').trim().toLowerCase();
  if (quality !== 'good' && quality !== 'all') throw new UserError(`--quality must be good (quality flag 0 only) or all (got "${o.quality}")`);
  const band = o.band?.trim();
  if (o.band !== undefined && !band) throw new UserError('--band is empty: name a band (e.g. GSM900), or leave it out for the total field');
  const from = parseTimeOption(o.from, 'from');
  const to = parseTimeOption(o.to, 'to');
  if (from !== null && to !== null && from >= to) throw new UserError('--from must be before --to');
  const sensorIds = o.sensors ? o.sensors.split(',').map((s) => s.trim()).filter(Boolean) : null;
  return { from, to, agg: agg as Aggregation, quality, ...(band ? { band } : {}), ...(sensorIds ? { sensorIds } : {}) };
}

/** --param method.key=value pairs into per-method records; plain key=value is allowed with one method. */
export function perMethodParams(pairs: string[], methods: string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [key, value] of Object.entries(parseParamPairs(pairs))) {
    const dot = key.indexOf('.');
    let method: string;
    let name: string;
    if (dot > 0) {
      method = key.slice(0, dot);
      name = key.slice(dot + 1);
    } else if (methods.length === 1) {
      method = methods[0];
      name = key;
    } else {
      throw new UserError(`--param ${key}=${value}: with several methods write method.${key}=${value}`);
    }
    (out[method] ??= {})[name] = value;
  }
  return out;
}

export function fmtNum(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(digits);
}
