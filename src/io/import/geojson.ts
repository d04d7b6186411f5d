// Readings from a GeoJSON FeatureCollection of Points. Each feature is a reading (or, with a "readings"
// array property of {time, value} objects, a sensor with its time series). Property names follow the
// same aliases as CSV headers (value / valeur / "E (V/m)", time / horodatage, id / capteur, unit, band,
// quality, name, height); other properties become sensor metadata. Coordinates are WGS84 [lon, lat]
// (RFC 7946) unless the legacy "crs" member or --crs names a projected CRS.

import fs from 'node:fs';
import { UserError } from '../../domain/errors.ts';
import type { DetectedColumn } from '../../service/api.ts';
import { ROLE_LABEL, roleOf, splitHeaderUnit, type Role } from './columns.ts';
import { pointId } from './csv.ts';
import { isMissing, parseNumber } from './numbers.ts';
import { isUtf8, type TextSniff } from './sniff.ts';
import { parseTimestamp, type TimeZone } from './time.ts';
import { Interner, ReadingColumns, type ParseContext, type ParsedFile, type SensorDraft } from './types.ts';
import { knownUnits, parseUnit, toVoltsPerMetre, type Unit } from './units.ts';

/** GeoJSON is parsed in one piece: larger files should come as CSV. */
export const GEOJSON_MAX_BYTES = 256 * 1024 * 1024;

export interface GeoJsonOptions {
  text: TextSniff;
  unit: Unit | null;
  zone: TimeZone;
  /** --crs: coordinates are projected in this CRS. */
  crs?: string;
}

const V_PER_M = parseUnit('V/m')!;

/** Read and JSON-parse a GeoJSON file; throws a UserError naming the file when it is not one. */
export function readGeoJson(file: string, name: string, text: TextSniff): { root: unknown; warnings: string[] } {
  const size = fs.statSync(file).size;
  if (size > GEOJSON_MAX_BYTES) {
    throw new UserError(`${name} is ${(size / 1e6).toFixed(0)} MB: GeoJSON above ${GEOJSON_MAX_BYTES / 1e6} MB is not supported, export it as CSV`, [
      { file: name, line: null, field: null, message: 'GeoJSON file too large' },
    ]);
  }
  const bytes = fs.readFileSync(file).subarray(text.bom);
  const warnings: string[] = [];
  let s: string;
  if (text.encoding === 'utf-16le' || text.encoding === 'utf-16be') s = new TextDecoder(text.encoding).decode(bytes);
  else if (isUtf8(bytes)) s = new TextDecoder('utf-8').decode(bytes);
  else {
    s = new TextDecoder('windows-1252').decode(bytes);
    warnings.push('the file is not valid UTF-8: read as Windows-1252');
  }
  try {
    return { root: JSON.parse(s), warnings };
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? s.slice(0, Number(pos[1])).split('\n').length : null;
    throw new UserError(`${name} is not valid JSON`, [{ file: name, line, field: null, message: msg }]);
  }
}

/** CRS named by a legacy GeoJSON "crs" member ("urn:ogc:def:crs:EPSG::2154", "EPSG:2154"). */
export function legacyCrs(root: Record<string, unknown>): string | null {
  const crs = root.crs as { properties?: { name?: string } } | undefined;
  const n = crs?.properties?.name;
  if (typeof n !== 'string') return null;
  if (/CRS84$/i.test(n)) return null;
  const m = /EPSG:{1,2}(\d+)$/i.exec(n);
  return m ? (m[1] === '4326' ? null : `EPSG:${m[1]}`) : null;
}

interface Feature {
  type?: string;
  id?: string | number;
  geometry?: { type?: string; coordinates?: unknown } | null;
  properties?: Record<string, unknown> | null;
}

/** Property key → role, using the CSV header aliases. */
function propertyRoles(props: Record<string, unknown>): Map<string, { role: Role | null; unit: Unit | null }> {
  const out = new Map<string, { role: Role | null; unit: Unit | null }>();
  for (const k of Object.keys(props)) {
    const h = splitHeaderUnit(k);
    out.set(k, { role: roleOf(h), unit: h.unit });
  }
  return out;
}

function asText(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
}

export function parseGeoJson(file: string, ctx: ParseContext, opts: GeoJsonOptions): ParsedFile {
  const { issues, name } = ctx;
  const { root, warnings } = readGeoJson(file, name, opts.text);
  const r = root as Record<string, unknown>;
  if (!r || typeof r !== 'object' || r.type !== 'FeatureCollection' || !Array.isArray(r.features)) {
    issues.add(name, null, 'type', 'not a GeoJSON FeatureCollection (expected {"type": "FeatureCollection", "features": [...]})');
    return emptyResult(warnings);
  }
  const crsHint = legacyCrs(r);
  const projected = Boolean(opts.crs ?? crsHint) && !/^EPSG:4326$/i.test(opts.crs ?? crsHint ?? '');
  const features = r.features as Feature[];
  if (features.length === 0) issues.add(name, null, 'features', 'the FeatureCollection has no features');

  const sensors = new Map<string, SensorDraft>();
  const ids = new Interner();
  const bands = new Interner();
  const readings = new ReadingColumns();
  const preview: Array<Record<string, string>> = [];
  const seenRoles = new Map<string, DetectedColumn>();
  let naiveTimes = false;
  let missingValues = 0;
  let headerUnit: Unit | null = null;

  const readTime = (v: unknown, field: string): number => {
    if (typeof v === 'number') return v > 1e11 ? v : v * 1000;
    const t = parseTimestamp(asText(v), opts.zone);
    if (Number.isNaN(t.ms)) issues.add(name, null, field, t.error!);
    else if (t.naive) naiveTimes = true;
    return t.ms;
  };
  const readValue = (v: unknown, unit: Unit, field: string): number => {
    const n = typeof v === 'number' ? v : parseNumber(asText(v), true);
    if (!Number.isFinite(n)) {
      issues.add(name, null, field, `cannot read ${JSON.stringify(v)} as a number`);
      return NaN;
    }
    if (unit.nonNegative && n < 0) {
      issues.add(name, null, field, `negative value ${n} ${unit.name}: a field strength or power density cannot be negative`);
      return NaN;
    }
    return toVoltsPerMetre(n, unit);
  };
  const unitOf = (v: unknown, field: string): Unit | null | undefined => {
    const t = asText(v).trim();
    if (t === '') return undefined;
    const u = parseUnit(t);
    if (!u) issues.add(name, null, field, `unknown unit "${t}" (known: ${knownUnits().join(', ')})`);
    return u;
  };

  features.forEach((f, i) => {
    const where = `features[${i}]`;
    if (!f || f.type !== 'Feature') {
      issues.add(name, null, where, 'not a GeoJSON Feature');
      return;
    }
    const g = f.geometry;
    const c = g?.coordinates as unknown[] | undefined;
    if (!g || g.type !== 'Point' || !Array.isArray(c) || c.length < 2 || typeof c[0] !== 'number' || typeof c[1] !== 'number') {
      issues.add(name, null, `${where}.geometry`, 'expected a Point geometry with numeric [x, y] / [lon, lat] coordinates');
      return;
    }
    const [a, b] = c as number[];
    if (!projected && (Math.abs(b) > 90 || Math.abs(a) > 180)) {
      issues.add(name, null, `${where}.geometry`, `[${a}, ${b}] is out of range for WGS84 [lon, lat] (projected coordinates? give --crs)`);
      return;
    }
    const props = f.properties ?? {};
    const roles = propertyRoles(props);
    const get = (role: Role): [string, unknown] | null => {
      for (const [k, v] of roles) if (v.role === role) return [k, props[k]];
      return null;
    };
    for (const [k, v] of roles) {
      if (v.role && !seenRoles.has(k)) seenRoles.set(k, { name: k, role: ROLE_LABEL[v.role], unit: v.unit?.name });
    }
    if (preview.length < 10) {
      const row: Record<string, string> = { geometry: `${a}, ${b}` };
      for (const [k, v] of Object.entries(props)) if (typeof v !== 'object' || v === null) row[k] = asText(v);
      preview.push(row);
    }
    const idProp = get('id');
    const idText = idProp ? asText(idProp[1]).trim() : f.id !== undefined ? String(f.id) : '';
    const id = idText || (projected ? pointId(a, b, true) : pointId(b, a, false));
    let draft = sensors.get(id);
    if (!draft) {
      draft = { id, meta: {}, file: name, line: null, ...(projected ? { x: a, y: b } : { lat: b, lon: a }) };
      const nm = get('name');
      if (nm && asText(nm[1]).trim()) draft.name = asText(nm[1]).trim();
      const h = get('height');
      if (h && !isMissing(asText(h[1]).trim())) {
        const hv = typeof h[1] === 'number' ? h[1] : parseNumber(asText(h[1]), true);
        if (!Number.isFinite(hv) || hv < 0) issues.add(name, null, `${where}.properties.${h[0]}`, `height ${JSON.stringify(h[1])} is not a non-negative number`);
        else draft.height = hv;
      }
      for (const [k, v] of roles) if (v.role === null && k !== 'readings') draft.meta[k] = props[k];
      sensors.set(id, draft);
    }
    const s = ids.get(id);
    const unitProp = get('unit');
    const valueProp = get('value');
    const rowUnit = unitProp ? unitOf(unitProp[1], `${where}.properties.${unitProp[0]}`) : undefined;
    if (rowUnit === null) return;
    const vUnit = rowUnit ?? (valueProp ? roles.get(valueProp[0])!.unit : null) ?? opts.unit ?? V_PER_M;
    if (valueProp && roles.get(valueProp[0])!.unit) headerUnit = roles.get(valueProp[0])!.unit;
    const timeProp = get('time') ?? get('date');
    const bandProp = get('band');
    const qProp = get('quality');
    const series = props.readings;
    const band = bandProp && asText(bandProp[1]).trim() ? bands.get(asText(bandProp[1]).trim()) : -1;
    let q = 0;
    if (qProp && asText(qProp[1]).trim() !== '') {
      q = Number(qProp[1]);
      if (!Number.isInteger(q)) {
        issues.add(name, null, `${where}.properties.${qProp[0]}`, `quality flag ${JSON.stringify(qProp[1])} is not an integer`);
        return;
      }
    }
    if (Array.isArray(series)) {
      series.forEach((item: unknown, j: number) => {
        const w = `${where}.properties.readings[${j}]`;
        const o = (item ?? {}) as Record<string, unknown>;
        const rr = propertyRoles(o);
        let t = NaN;
        let v: unknown = undefined;
        let u: Unit | null | undefined;
        let vu: Unit | null = null;
        for (const [k, info] of rr) {
          if (info.role === 'time' || info.role === 'date') t = readTime(o[k], `${w}.${k}`);
          else if (info.role === 'value') {
            v = o[k];
            vu = info.unit;
          } else if (info.role === 'unit') u = unitOf(o[k], `${w}.${k}`);
        }
        if (u === null) return;
        if (v === undefined || v === null || isMissing(asText(v).trim())) {
          missingValues++;
          return;
        }
        const value = readValue(v, u ?? vu ?? vUnit, `${w}.value`);
        if (!Number.isNaN(value)) readings.push(s, t, value, band, q);
      });
      return;
    }
    if (!valueProp) {
      issues.add(name, null, `${where}.properties`, 'no value property (value, valeur, E, "E (V/m)", ...) and no "readings" array');
      return;
    }
    if (valueProp[1] === null || isMissing(asText(valueProp[1]).trim())) {
      missingValues++;
      return;
    }
    const value = readValue(valueProp[1], vUnit, `${where}.properties.${valueProp[0]}`);
    const t = timeProp ? readTime(timeProp[1], `${where}.properties.${timeProp[0]}`) : NaN;
    if (Number.isNaN(value) || (timeProp && Number.isNaN(t))) return;
    readings.push(s, t, value, band, q);
  });

  if (missingValues > 0) warnings.push(`${missingValues} empty value(s) skipped (gaps)`);
  const u = headerUnit as Unit | null;
  return {
    format: 'geojson',
    layout: 'geojson',
    columns: [...seenRoles.values()],
    coords: projected ? 'projected' : 'wgs84',
    crsHint,
    unit: u ? u.name : opts.unit ? opts.unit.name : 'V/m',
    sensors,
    sensorIds: ids.values,
    readings,
    bands: bands.values,
    preview,
    warnings,
    naiveTimes,
    missingValues,
  };
}

function emptyResult(warnings: string[]): ParsedFile {
  return {
    format: 'geojson',
    layout: 'geojson',
    columns: [],
    coords: 'none',
    crsHint: null,
    unit: 'V/m',
    sensors: new Map(),
    sensorIds: [],
    readings: new ReadingColumns(),
    bands: [],
    preview: [],
    warnings,
    naiveTimes: false,
    missingValues: 0,
  };
}
