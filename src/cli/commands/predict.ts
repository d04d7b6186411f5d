// `emfmap predict`: values at given points from a readings file, without a project. The readings go
// through the regular importer into a temporary project (so every importable format, unit and CRS works),
// a map is built on a grid covering the readings and the points, and each point is read from it bilinearly.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import type { Command } from 'commander';
import { UserError, type InputIssue } from '../../domain/errors.ts';
import { cliJobContext, formatSeconds, printJson } from '../output.ts';
import { addGridOptions, addSelectionOptions, collect, gridRequest, selectionRequest, type GridCliOptions, type SelectionCliOptions } from './estimate-options.ts';
import { parseParamPairs } from '../../estimators/params.ts';
import { estimatorIds } from '../../estimators/registry.ts';
import { LOCAL, WGS84, isGeographic, transformer } from '../../geo/crs.ts';
import { cellWidth } from '../../geo/grid.ts';
import { checkWritableTarget, writeFilesAtomically } from '../../io/export/atomic.ts';

interface PredictCliOptions extends GridCliOptions, Omit<SelectionCliOptions, 'sensors'> {
  readings?: string;
  at?: string;
  method?: string;
  out?: string;
  crs?: string;
  unit?: string;
  timezone?: string;
  param?: string[];
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description('predict values at points from a readings file (no project needed); writes point, value and sd to a CSV')
    .requiredOption('--readings <file>', 'readings file (any format `emfmap import` reads, e.g. CSV with x,y,value or lat,lon,value)')
    .requiredOption('--at <points.csv>', 'CSV of points with x,y (or lat,lon) columns')
    .requiredOption('--method <id>', `estimator (${estimatorIds().join(', ')})`)
    .requiredOption('--out <file.csv>', 'output CSV: the point coordinates, value (V/m) and, where available, sd')
    .option('--crs <crs>', 'CRS of x,y columns in both files: EPSG:xxxx, a proj4 string, or "local" (plain metres)')
    .option('--unit <unit>', 'unit of the readings when the file does not say (V/m, mV/m, dBµV/m, W/m², ...)')
    .option('--timezone <tz>', 'time zone of timestamps without an offset (default UTC)');
  addGridOptions(cmd);
  addSelectionOptions(cmd, { sensors: false });
  cmd
    .option('--param <key=value>', 'method parameter (repeatable)', collect, [])
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      '\nThe grid covers the readings and the points plus a margin (--grid sets the larger side, default 128);\n' +
        'each point takes the bilinear interpolation of the map between cell centres.\n' +
        'Examples:\n' +
        '  emfmap predict --readings field.csv --at points.csv --method idw --crs local --out pred.csv\n' +
        '  emfmap predict --readings sensors.csv --at sites.csv --method kriging --grid 256 --out pred.csv',
    )
    .action(async (o: PredictCliOptions) => {
      await predict(o);
    });
}

const ALIASES = {
  x: ['x', 'easting', 'east', 'est', 'coord_x', 'coordx'],
  y: ['y', 'northing', 'north', 'nord', 'coord_y', 'coordy'],
  lat: ['lat', 'latitude'],
  lon: ['lon', 'lng', 'long', 'longitude'],
};
const ID_NAMES = ['id', 'name', 'point', 'point_id', 'nom', 'label'];

const norm = (h: string) => h.trim().toLowerCase().replace(/[\s-]+/g, '_');

export interface PointsFile {
  /** Header names as written. */
  headers: string[];
  rows: string[][];
  kind: 'xy' | 'latlon';
  /** Column index of the two coordinates (x/lon first), and of an id column when present. */
  a: number;
  b: number;
  id: number;
  /** First coordinate (x or lon) and second (y or lat) per row. */
  u: Float64Array;
  v: Float64Array;
}

/** Read POINTS.csv: x,y or lat,lon columns (names case-insensitive), decimal point or comma. */
export function readPointsFile(file: string): PointsFile {
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file`);
  const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: 'greedy' });
  const data = parsed.data;
  if (data.length < 2) throw new UserError(`${file}: no points (a header line and at least one row are needed)`);
  const headers = data[0].map((h) => h.trim());
  const names = headers.map(norm);
  const find = (list: string[]) => names.findIndex((n) => list.includes(n));
  const [ix, iy, ilat, ilon] = [find(ALIASES.x), find(ALIASES.y), find(ALIASES.lat), find(ALIASES.lon)];
  let kind: 'xy' | 'latlon';
  let a: number, b: number;
  if (ix >= 0 && iy >= 0) [kind, a, b] = ['xy', ix, iy];
  else if (ilat >= 0 && ilon >= 0) [kind, a, b] = ['latlon', ilon, ilat];
  else throw new UserError(`${file}: no coordinate columns: need x,y (or easting,northing) or lat,lon (found: ${headers.join(', ')})`);
  const rows = data.slice(1);
  const u = new Float64Array(rows.length);
  const v = new Float64Array(rows.length);
  const issues: InputIssue[] = [];
  const num = (s: string | undefined) => Number(String(s ?? '').trim().replace(/^(-?\d+),(\d+)$/, '$1.$2'));
  rows.forEach((r, i) => {
    for (const [col, out] of [[a, u], [b, v]] as const) {
      const val = num(r[col]);
      if (!Number.isFinite(val) || String(r[col] ?? '').trim() === '') {
        issues.push({ file, line: i + 2, field: headers[col], message: `not a number: "${r[col] ?? ''}"` });
      }
      out[i] = val;
    }
    if (kind === 'latlon') {
      if (Math.abs(v[i]) > 90) issues.push({ file, line: i + 2, field: headers[b], message: `latitude out of range: ${v[i]}` });
      if (Math.abs(u[i]) > 180) issues.push({ file, line: i + 2, field: headers[a], message: `longitude out of range: ${u[i]}` });
    }
  });
  if (issues.length) throw new UserError(`${file}: cannot read the points`, issues.slice(0, 20), issues.length);
  return { headers, rows, kind, a, b, id: names.findIndex((n) => ID_NAMES.includes(n)), u, v };
}

async function predict(o: PredictCliOptions): Promise<void> {
  const readings = path.resolve(o.readings!);
  const out = path.resolve(o.out!);
  if (!fs.existsSync(readings)) throw new UserError(`${readings}: no such file`);
  checkWritableTarget(out);
  const pts = readPointsFile(path.resolve(o.at!));
  const crsOpt = o.crs?.trim();
  const params = parseParamPairs(o.param ?? []);
  const grid = gridRequest(o);
  const selection = selectionRequest(o);

  const [{ EmfmapService }, { predictPoints }] = await Promise.all([import('../../service/service.ts'), import('../../service/estimate.ts')]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-predict-'));
  const service = new EmfmapService();
  const ctx = cliJobContext({ quiet: o.json });
  try {
    // a metric --crs becomes the project's CRS; otherwise the importer picks a local one
    const projectCrs = crsOpt && (crsOpt.toLowerCase() === LOCAL || !isGeographic(crsOpt)) ? crsOpt : '';
    await service.createProject(path.join(tmp, 'predict.emfmap'), { name: 'predict', crs: projectCrs });
    const report = await service.importReadings({ file: readings, crs: crsOpt, unit: o.unit, timezone: o.timezone }, ctx);
    if (report.errors.length) throw new UserError(`${readings}: cannot import the readings`, report.errors, report.totalErrors);
    const meta = (await service.summary()).meta;

    // points into the project's CRS
    let pointsCrs: string;
    if (pts.kind === 'latlon') pointsCrs = WGS84;
    else if (crsOpt) pointsCrs = crsOpt;
    else if (report.crs && report.crs !== WGS84 && !isGeographic(report.crs)) pointsCrs = report.crs;
    else throw new UserError(`${o.at}: the points have x,y columns: say which CRS they are in with --crs (EPSG:xxxx, or "local" for plain metres)`);
    const px = Float64Array.from(pts.u);
    const py = Float64Array.from(pts.v);
    if (pointsCrs.trim() !== meta.crs.trim()) {
      const t = transformer(pointsCrs, meta.crs);
      for (let i = 0; i < px.length; i++) [px[i], py[i]] = t.forward([px[i], py[i]]);
    }
    const res = await predictPoints(service.store(), { method: o.method!.trim(), params, grid, selection, points: { x: px, y: py } }, ctx);
    ctx.done();

    // OUT.csv: id (when given), the coordinates as given, value, sd
    const cols = [...(pts.id >= 0 ? [pts.id] : []), pts.a, pts.b];
    const header = [...cols.map((c) => pts.headers[c]), 'value', ...(res.sd ? ['sd'] : [])];
    const lines = pts.rows.map((r, i) => [
      ...cols.map((c) => (r[c] ?? '').trim()),
      fmt(res.values[i]),
      ...(res.sd ? [fmt(res.sd[i])] : []),
    ]);
    // written to a temporary file, then renamed: a failure never leaves half a CSV behind
    writeFilesAtomically([{ path: out, data: Papa.unparse({ fields: header, data: lines }, { newline: '\n' }) + '\n' }]);

    const g = res.grid;
    const summary = {
      out,
      points: pts.rows.length,
      method: res.method,
      grid: { width: g.width, height: g.height, crs: g.crs, cell: cellWidth(g) },
      observed: res.observed,
      sd: res.sd !== null,
      backend: res.backend,
      seconds: res.seconds,
      droppedSensors: res.droppedSensors,
    };
    if (o.json) printJson(summary);
    else {
      process.stdout.write(
        `wrote ${pts.rows.length} points to ${out} (${res.method}, ${g.width}×${g.height} grid of ${summary.grid.cell.toPrecision(3)} m cells, ` +
          `${res.observed} observed cells${res.sd ? ', with sd' : ''}; ${formatSeconds(res.seconds)}, backend ${res.backend})\n`,
      );
    }
  } finally {
    ctx.done();
    service.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '';
}
