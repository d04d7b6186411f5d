// The export part of the application service: find the run and its map, check the whole request before
// any work (format, output path, thresholds, ramp, CRS), render the files in memory, then write them
// atomically (io/export/atomic.ts). An invalid request fails with a UserError and writes nothing.

import path from 'node:path';
import { createRequire } from 'node:module';
import type { ExposureMap, RunRecord } from '../domain/types.ts';
import { UserError } from '../domain/errors.ts';
import { subProgress, throwIfCancelled } from '../domain/run.ts';
import type { ProjectStore } from '../store/types.ts';
import type { ExportFormat, ExportRequest, ExportResult, JobContext } from './api.ts';
import { LOCAL, fromWgs84 } from '../geo/crs.ts';
import { checkWritableTarget, writeFilesAtomically, type OutFile } from '../io/export/atomic.ts';
import { checkThresholds, resolveRamp } from '../io/export/colour.ts';
import { describeCrs } from '../io/export/crs-encode.ts';
import { selectSensorValues } from '../selection/select.ts';

export const EXPORT_FORMATS: ExportFormat[] = ['geotiff', 'png', 'kmz', 'geojson', 'csv', 'report'];

/** Accepted file extensions per format; the first is added when --out has none. */
export const EXTENSIONS: Record<ExportFormat, string[]> = {
  geotiff: ['.tif', '.tiff'],
  png: ['.png'],
  kmz: ['.kmz'],
  geojson: ['.geojson', '.json'],
  csv: ['.csv'],
  report: ['.html', '.htm'],
};

/** Formats that place the map on the globe (WGS84) and so need a CRS with a geodetic reference. */
const NEEDS_WGS84: ExportFormat[] = ['kmz', 'geojson'];

/** Output path with the format's extension (added when missing; a different known one is refused). */
export function outputPath(out: string, format: ExportFormat): string {
  if (typeof out !== 'string' || out.trim() === '') throw new UserError('give the output file (--out FILE)');
  const abs = path.resolve(out.trim());
  const ext = path.extname(abs).toLowerCase();
  const ok = EXTENSIONS[format];
  if (ok.includes(ext)) return abs;
  const known = Object.values(EXTENSIONS).flat();
  if (ext && known.includes(ext)) {
    throw new UserError(`${out}: a ${ext} file does not match --format ${format} (use ${ok.join(' or ')}, or change --format)`);
  }
  return abs + ok[0];
}

/** The run a request names: --run ID, or the latest run of --method. */
export function resolveRun(store: ProjectStore, req: Pick<ExportRequest, 'runId' | 'method'>): RunRecord {
  if (req.runId !== undefined && req.method !== undefined) throw new UserError('give either a run id (--run) or a method (--method), not both');
  if (req.runId !== undefined) {
    if (!Number.isInteger(req.runId) || req.runId < 1) throw new UserError(`run id must be a positive integer (got ${req.runId})`);
    const run = store.run(req.runId);
    if (!run) {
      const ids = store.runs().map((r) => r.id);
      throw new UserError(`no run ${req.runId} in ${store.path}${ids.length ? ` (runs: ${ids.join(', ')})` : ' (it has no runs yet: emfmap estimate makes one)'}`);
    }
    return run;
  }
  if (req.method !== undefined) {
    const method = req.method.trim();
    const runs = store.runs();
    const mine = runs.filter((r) => r.method === method);
    if (mine.length === 0) {
      const methods = [...new Set(runs.map((r) => r.method))];
      throw new UserError(
        `no run of method "${method}" in ${store.path}` +
          (methods.length ? ` (methods with runs: ${methods.join(', ')})` : ' (it has no runs yet: emfmap estimate makes one)'),
      );
    }
    // latest: newest creation time, then highest id
    return mine.reduce((a, b) => (b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a));
  }
  throw new UserError('say which map to export: --run ID or --method NAME (latest run of that method)');
}

function appVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '';
  }
}

export interface ExportPlan {
  format: ExportFormat;
  out: string;
  run: RunRecord;
  step: number;
  map: ExposureMap;
  thresholds?: number[];
  ramp: string;
}

/** Check a request completely (nothing is written) and load the map. */
export function planExport(store: ProjectStore, req: ExportRequest): ExportPlan {
  const format = req.format;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new UserError(`unknown export format "${String(format)}": use one of ${EXPORT_FORMATS.join(', ')}`);
  }
  const out = outputPath(req.out, format);
  checkWritableTarget(out);
  const thresholds = req.thresholds && req.thresholds.length ? checkThresholds([...req.thresholds]) : undefined;
  const ramp = resolveRamp(req.ramp).name;
  const run = resolveRun(store, req);
  const step = req.step ?? 0;
  if (!Number.isInteger(step) || step < 0 || step >= Math.max(1, run.steps)) {
    throw new UserError(`run ${run.id} has ${run.steps} step(s): --step must be from 0 to ${Math.max(0, run.steps - 1)} (got ${req.step})`);
  }
  const [map] = store.runMaps(run.id, step);
  if (!map) throw new UserError(`run ${run.id} has no stored map for step ${step}`);
  const crs = map.grid.crs;
  if (NEEDS_WGS84.includes(format) && crs.trim().toLowerCase() === LOCAL) {
    throw new UserError(
      `${format} places the map on the globe (WGS84), but run ${run.id}'s grid is in a "local" CRS with no geographic reference; ` +
        'export it as geotiff, png or csv, or give the project a real CRS and run the method again',
    );
  }
  if (format === 'geotiff' || format === 'png') describeCrs(crs); // throws a clear UserError for a CRS we cannot write
  return { format, out, run, step, map, thresholds, ramp };
}

/**
 * What each sensor measured for the exported map: its readings in the run's time window (for a step of a
 * time-resolved run, from this step's time to the next one's) reduced by the run's aggregation. Empty
 * when the readings cannot be selected (e.g. removed since), as this only decorates placemarks.
 */
function observedValues(store: ProjectStore, run: RunRecord, step: number, map: ExposureMap): Map<string, number> {
  try {
    let sel = run.selection;
    if (run.steps > 1 && map.time !== undefined && map.time !== null) {
      const next = step + 1 < run.steps ? store.runMaps(run.id, step + 1)[0]?.time : null;
      sel = { ...sel, from: map.time, to: next ?? sel.to ?? null };
    }
    const res = selectSensorValues(store, sel);
    const out = new Map<string, number>();
    res.sensors.forEach((s, i) => {
      if (Number.isFinite(res.values[i])) out.set(s.id, res.values[i]);
    });
    return out;
  } catch {
    return new Map();
  }
}

/** Sensors with positions in the grid's CRS (the grid may be in another CRS than the project). */
function sensorsInGridCrs(store: ProjectStore, map: ExposureMap, observed: Map<string, number> = new Map()) {
  const projectCrs = store.meta().crs;
  const gridCrs = map.grid.crs;
  return store.sensors().map((s) => {
    let x = s.x;
    let y = s.y;
    if (gridCrs !== projectCrs && gridCrs.trim().toLowerCase() !== LOCAL) [x, y] = fromWgs84(gridCrs, s.lon, s.lat);
    return { id: s.id, name: s.name, lat: s.lat, lon: s.lon, x, y, observed: observed.get(s.id) ?? null };
  });
}

export async function exportRun(store: ProjectStore, req: ExportRequest, ctx: JobContext = {}): Promise<ExportResult> {
  ctx.onProgress?.({ stage: 'export: checking', fraction: 0 });
  const plan = planExport(store, req);
  const { map, run, out, format, thresholds, ramp } = plan;
  const meta = store.meta();
  const render = subProgress(ctx.onProgress, 0.05, 0.9, `export ${format}`);
  const rctx = { signal: ctx.signal, onProgress: render };
  let files: OutFile[];
  switch (format) {
    case 'geotiff': {
      const { geoTiffBytes } = await import('../io/export/geotiff.ts');
      const metadata: Record<string, string> = {
        EMFMAP_PROJECT: meta.name,
        EMFMAP_RUN: String(run.id),
        EMFMAP_STEP: String(plan.step),
        EMFMAP_METHOD: run.method,
        EMFMAP_PARAMS: JSON.stringify(run.params),
        EMFMAP_BACKEND: map.backend || run.backend,
        EMFMAP_CREATED: new Date(run.createdAt).toISOString(),
        EMFMAP_SYNTHETIC: meta.synthetic ? 'yes' : 'no',
      };
      if (map.time) metadata.EMFMAP_TIME = new Date(map.time).toISOString();
      if (run.label) metadata.EMFMAP_LABEL = run.label;
      files = [{ path: out, data: geoTiffBytes(map, { metadata }) }];
      break;
    }
    case 'png': {
      const { pngFiles } = await import('../io/export/png.ts');
      files = pngFiles(map, out, { thresholds, ramp });
      break;
    }
    case 'kmz': {
      const { kmzFile } = await import('../io/export/kmz.ts');
      const title = `${meta.name}: ${run.method}${run.label ? ` (${run.label})` : ''}, run ${run.id}${meta.synthetic ? ' [SYNTHETIC]' : ''}`;
      const observed = observedValues(store, run, plan.step, map);
      files = [kmzFile(map, out, { thresholds, ramp, sensors: sensorsInGridCrs(store, map, observed), title }, rctx)];
      break;
    }
    case 'geojson': {
      const { geoJsonFiles } = await import('../io/export/geojson.ts');
      files = await geoJsonFiles(map, out, { thresholds, ramp }, rctx);
      break;
    }
    case 'csv': {
      const { csvFile } = await import('../io/export/csv.ts');
      files = [await csvFile(map, out, rctx)];
      break;
    }
    case 'report': {
      const { reportFile } = await import('../io/export/report.ts');
      files = [
        reportFile(
          {
            map, run, runs: store.runs(),
            project: { name: meta.name, path: store.path, crs: meta.crs, synthetic: meta.synthetic, description: meta.description },
            sensors: sensorsInGridCrs(store, map), thresholds, ramp, step: plan.step, appVersion: appVersion(),
          },
          out,
        ),
      ];
      break;
    }
  }
  throwIfCancelled(ctx.signal);
  ctx.onProgress?.({ stage: 'export: writing', fraction: 0.9 });
  const bytes = writeFilesAtomically(files, ctx.signal);
  ctx.onProgress?.({ stage: 'export: done', fraction: 1 });
  return { files: files.map((f) => f.path), bytes };
}
