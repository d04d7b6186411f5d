// Importing readings into a project: check the file → parse and validate everything (streaming) →
// write sensors, readings and the import record in ONE transaction. Any problem (bad cells, missing
// columns, unknown units, binary data, an oversized file, a cancel) leaves the project exactly as it was.
// A dry run does the whole import inside the transaction and rolls it back, so its counts (added,
// replaced, skipped) are exact. A file whose content was already imported with the same options is
// reported as "already imported" and not read again.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Reading, Sensor } from '../../domain/types.ts';
import { CancelledError, throwIfCancelled, yieldToLoop, type RunContext } from '../../domain/run.ts';
import { UserError } from '../../domain/errors.ts';
import type { ImportReport, ImportRequest } from '../../service/api.ts';
import type { DuplicatePolicy, ProjectStore } from '../../store/types.ts';
import { proj4Def, WGS84 } from '../../geo/crs.ts';
import { parseDelimited } from './csv.ts';
import { parseGeoJson } from './geojson.ts';
import { resolvePositions } from './positions.ts';
import { parseSensorsFile, type SensorsFile } from './sensors-file.ts';
import { SNIFF_BYTES, sniffText, type TextSniff } from './sniff.ts';
import { parseTimeZone } from './time.ts';
import { IssueList, type ParsedFile, type ReadingColumns } from './types.ts';
import { knownUnits, parseUnit } from './units.ts';

/** Files above this size are refused before reading (override: EMFMAP_IMPORT_MAX_BYTES). */
export const DEFAULT_MAX_IMPORT_BYTES = 1024 ** 3;

export interface ImportLimits {
  maxBytes?: number;
  /** Issues listed in the error (all are counted). */
  maxIssues?: number;
}

const WRITE_CHUNK = 50_000;

function maxBytes(limits: ImportLimits): number {
  if (limits.maxBytes !== undefined) return limits.maxBytes;
  const env = Number(process.env.EMFMAP_IMPORT_MAX_BYTES);
  return Number.isFinite(env) && env > 0 ? env : DEFAULT_MAX_IMPORT_BYTES;
}

function human(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${bytes} bytes`;
}

/** Checks done before reading a byte: exists, is a file, not empty, not too large; then sniff the head. */
function openText(file: string, label: string, limit: number): TextSniff {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: no such file`, [{ file: label, line: null, field: null, message: 'file not found' }]);
  }
  if (!st.isFile()) throw new UserError(`${file} is not a file`, [{ file: label, line: null, field: null, message: 'not a regular file' }]);
  if (st.size === 0) throw new UserError(`${label} is empty`, [{ file: label, line: null, field: null, message: 'empty file (0 bytes)' }]);
  if (st.size > limit) {
    throw new UserError(`${label} is ${human(st.size)}, above the import limit of ${human(limit)} (set EMFMAP_IMPORT_MAX_BYTES to raise it, or split the file)`, [
      { file: label, line: null, field: null, message: `file too large (${human(st.size)})` },
    ]);
  }
  const head = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const sniff = sniffText(head);
  if (sniff.binary) throw new UserError(`${label} cannot be imported: ${sniff.binary}`, [{ file: label, line: null, field: null, message: sniff.binary }]);
  return sniff;
}

async function sha256(file: string, signal?: AbortSignal): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    if (signal?.aborted) throw new CancelledError();
    h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

function isGeoJsonFile(file: string, sniff: TextSniff): boolean {
  if (/\.(geo)?json$/i.test(file)) return true;
  const head = Buffer.alloc(256);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 256, sniff.bom);
  } finally {
    fs.closeSync(fd);
  }
  return /^\s*\{/.test(head.toString(sniff.encoding === 'utf-16le' ? 'utf16le' : 'latin1').replace(/\0/g, ''));
}

function* readingsOf(p: ParsedFile, from: number, to: number): Generator<Reading> {
  const r: ReadingColumns = p.readings;
  for (let i = from; i < to; i++) {
    const t = r.time[i];
    const b = r.band[i];
    yield { sensorId: p.sensorIds[r.sensor[i]], time: Number.isNaN(t) ? null : t, value: r.value[i], band: b < 0 ? null : p.bands[b], quality: r.quality[i] };
  }
}

class DryRunRollback extends Error {}

/** Import one readings file into the project. See the file comment for the guarantees. */
export async function importReadings(store: ProjectStore, req: ImportRequest, ctx: RunContext = {}, limits: ImportLimits = {}): Promise<ImportReport> {
  const started = Date.now();
  const file = path.resolve(req.file);
  const label = path.basename(req.file);
  const limit = maxBytes(limits);
  const policy: DuplicatePolicy = req.onDuplicate ?? 'replace';
  if (policy !== 'replace' && policy !== 'keep') throw new UserError(`--on-duplicate must be "replace" or "keep" (got "${policy}")`);
  const format = req.format ?? 'auto';
  if (!['auto', 'csv', 'tsv', 'geojson'].includes(format)) throw new UserError(`unknown format "${format}" (use auto, csv, tsv or geojson)`);
  const unit = req.unit ? parseUnit(req.unit) : null;
  if (req.unit && !unit) throw new UserError(`unknown unit "${req.unit}" (known: ${knownUnits().join(', ')})`);
  const zone = parseTimeZone(req.timezone);
  if (req.crs) proj4Def(req.crs); // throws a clear UserError for an unknown CRS

  const progress = (stage: string, fraction: number, message?: string) => {
    const el = (Date.now() - started) / 1000;
    ctx.onProgress?.({ stage, fraction, message, eta: fraction > 0.02 ? (el * (1 - fraction)) / fraction : undefined });
  };

  // ---------------------------------------------------------------- checks before reading
  const sniff = openText(file, label, limit);
  const sensorsLabel = req.sensorsFile ? path.basename(req.sensorsFile) : null;
  const sensorsPath = req.sensorsFile ? path.resolve(req.sensorsFile) : null;
  const sensorsSniff = sensorsPath ? openText(sensorsPath, sensorsLabel!, limit) : null;

  // ---------------------------------------------------------------- already imported?
  progress('checking', 0);
  const contentHash = await sha256(file, ctx.signal);
  const sensorsHash = sensorsPath ? await sha256(sensorsPath, ctx.signal) : null;
  const optionsKey = JSON.stringify({ format, crs: req.crs ?? null, unit: unit?.name ?? null, timezone: req.timezone ? zone.name : null, sensorsHash });
  const previous = store.imports().filter((r) => r.contentHash === contentHash);
  const same = previous.find((r) => r.options.optionsKey === optionsKey);
  const warnings: string[] = [];
  if (same) {
    return {
      ...emptyReport(req, format, zone.name),
      alreadyImported: true,
      warnings: [`already imported on ${new Date(same.importedAt).toISOString()} (import #${same.id}, ${same.readingsAdded} readings added then): nothing to do`],
    };
  }
  if (previous.length > 0) warnings.push(`this file was imported before (import #${previous[0].id}) with other options: importing again with these`);

  // ---------------------------------------------------------------- parse and validate
  const issues = new IssueList(limits.maxIssues ?? 20);
  const size = fs.statSync(file).size;
  const pctx = {
    name: label,
    issues,
    signal: ctx.signal,
    onBytes: (n: number) => progress('reading', 0.6 * (n / size), `${human(n)} of ${human(size)}`),
  };
  const geo = format === 'geojson' || (format === 'auto' && isGeoJsonFile(file, sniff));
  let parsed: ParsedFile;
  if (geo) parsed = parseGeoJson(file, pctx, { text: sniff, unit, zone, crs: req.crs });
  else parsed = await parseDelimited(file, pctx, { text: sniff, delimiter: format === 'tsv' || (format === 'auto' && /\.(tsv|tab)$/i.test(file)) ? '\t' : undefined, unit, zone });
  throwIfCancelled(ctx.signal);

  let sensorsFile: SensorsFile | null = null;
  if (sensorsPath) {
    const sIssues = { ...pctx, name: sensorsLabel!, onBytes: undefined };
    sensorsFile = await parseSensorsFile(sensorsPath, sIssues, sensorsSniff!, isGeoJsonFile(sensorsPath, sensorsSniff!), req.crs);
    warnings.push(...sensorsFile.warnings);
  }
  warnings.push(...parsed.warnings);

  // ---------------------------------------------------------------- positions and CRS
  const meta = store.meta();
  const existing = new Map<string, Sensor>(store.sensors().map((s) => [s.id, s]));
  const coordsProjected = parsed.coords === 'projected' || sensorsFile?.coords === 'projected';
  let importCrs: string | null = req.crs ?? parsed.crsHint ?? sensorsFile?.crsHint ?? null;
  if (!req.crs && importCrs && coordsProjected) warnings.push(`coordinates read in ${importCrs} (from the file's ${geo ? '"crs" member' : 'column names'}): give --crs to override`);
  if (!importCrs && coordsProjected && meta.crs) {
    importCrs = meta.crs;
    warnings.push(`x/y coordinates read in the project CRS (${meta.crs}): give --crs if they are in another one`);
  }
  if (req.crs && !coordsProjected) warnings.push(`--crs ${req.crs} ignored: the file gives WGS84 latitude/longitude`);
  const pos = resolvePositions({
    drafts: parsed.sensors,
    fileSensors: sensorsFile?.sensors ?? null,
    importCrs,
    projectCrs: meta.crs,
    existing,
    issues,
  });
  warnings.push(...pos.warnings);
  if (pos.crsChosen) warnings.push(`project CRS ${req.dryRun ? 'would be set' : 'set'} to ${pos.projectCrs}`);
  if (parsed.naiveTimes && !req.timezone) warnings.push('timestamps without a time-zone offset were read as UTC (give --timezone, e.g. Europe/Paris)');

  // time span
  let tMin = Infinity;
  let tMax = -Infinity;
  const times = parsed.readings.time;
  for (let i = 0; i < parsed.readings.length; i++) {
    const t = times[i];
    if (t < tMin) tMin = t;
    if (t > tMax) tMax = t;
  }
  if (parsed.readings.length === 0 && issues.total === 0) {
    issues.add(label, null, null, 'no readings found (every value cell is empty)');
  }

  const report: ImportReport = {
    file: req.file,
    dryRun: Boolean(req.dryRun),
    format: parsed.format,
    layout: parsed.layout,
    delimiter: parsed.delimiter,
    decimalComma: parsed.decimalComma,
    columns: [...parsed.columns, ...(sensorsFile?.columns ?? []).map((c) => ({ ...c, name: `${sensorsLabel}: ${c.name}` }))],
    crs: coordsProjected ? (importCrs ?? '') : parsed.coords === 'wgs84' || sensorsFile?.coords === 'wgs84' ? WGS84 : meta.crs,
    ...(pos.crsChosen ? { projectCrs: pos.projectCrs } : {}),
    unit: parsed.unit,
    timezone: zone.name,
    sensors: new Set([...parsed.sensors.keys(), ...(sensorsFile?.sensors.keys() ?? [])]).size,
    sensorsNew: pos.newSensors,
    readings: parsed.readings.length,
    readingsAdded: 0,
    readingsReplaced: 0,
    readingsSkipped: 0,
    timeFrom: Number.isFinite(tMin) ? tMin : null,
    timeTo: Number.isFinite(tMax) ? tMax : null,
    preview: parsed.preview,
    warnings,
    errors: [],
    totalErrors: 0,
    alreadyImported: false,
  };

  if (issues.total > 0) {
    report.errors = issues.list;
    report.totalErrors = issues.total;
    if (req.dryRun) return report;
    throw new UserError(
      `${label}: ${issues.total} problem${issues.total > 1 ? 's' : ''} found, nothing was imported${issues.total > issues.list.length ? ` (first ${issues.list.length} listed)` : ''}`,
      issues.list,
      issues.total,
    );
  }

  // ---------------------------------------------------------------- write: one transaction
  const n = parsed.readings.length;
  try {
    await store.asyncTransaction(async () => {
      if (pos.crsChosen) store.updateMeta({ crs: pos.projectCrs });
      store.upsertSensors(pos.upserts);
      for (let i = 0; i < n; i += WRITE_CHUNK) {
        throwIfCancelled(ctx.signal);
        const r = store.insertReadings(readingsOf(parsed, i, Math.min(n, i + WRITE_CHUNK)), policy);
        report.readingsAdded += r.added;
        report.readingsReplaced += r.replaced;
        report.readingsSkipped += r.skipped;
        progress(req.dryRun ? 'checking duplicates' : 'writing', 0.6 + 0.4 * (Math.min(n, i + WRITE_CHUNK) / n), `${Math.min(n, i + WRITE_CHUNK)} of ${n} readings`);
        await yieldToLoop();
      }
      throwIfCancelled(ctx.signal);
      if (req.dryRun) throw new DryRunRollback();
      store.recordImport({
        fileName: label,
        contentHash,
        importedAt: Date.now(),
        sensorsAdded: pos.newSensors,
        readingsAdded: report.readingsAdded,
        readingsReplaced: report.readingsReplaced,
        readingsSkipped: report.readingsSkipped,
        options: {
          optionsKey,
          format: parsed.format,
          layout: parsed.layout,
          crs: importCrs,
          unit: parsed.unit,
          timezone: zone.name,
          onDuplicate: policy,
          sensorsFile: sensorsLabel,
        },
      });
    });
  } catch (e) {
    if (!(e instanceof DryRunRollback)) throw e;
  }
  progress('done', 1);
  return report;
}

function emptyReport(req: ImportRequest, format: string, timezone: string): ImportReport {
  return {
    file: req.file,
    dryRun: Boolean(req.dryRun),
    format,
    layout: 'long',
    columns: [],
    crs: '',
    unit: '',
    timezone,
    sensors: 0,
    sensorsNew: 0,
    readings: 0,
    readingsAdded: 0,
    readingsReplaced: 0,
    readingsSkipped: 0,
    timeFrom: null,
    timeTo: null,
    preview: [],
    warnings: [],
    errors: [],
    totalErrors: 0,
    alreadyImported: false,
  };
}
