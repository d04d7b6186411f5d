// A separate sensor-metadata file, joined to readings by sensor id: CSV/TSV with an id column, a
// position (lat/lon, or x/y in the import CRS) and optional name and height; every other column
// (installation date, operator, mast type, ...) is kept as free metadata. A GeoJSON FeatureCollection of
// points with an id property works too.

import { ROLE_LABEL, crsHintFromHeaders, roleOf, splitHeaderUnit, type Role } from './columns.ts';
import { parseCoordinate } from './coords.ts';
import { legacyCrs, readGeoJson } from './geojson.ts';
import { isMissing, parseNumber } from './numbers.ts';
import type { TextSniff } from './sniff.ts';
import { scanTable } from './table.ts';
import type { ParseContext, SensorDraft } from './types.ts';
import type { DetectedColumn } from '../../service/api.ts';

export interface SensorsFile {
  sensors: Map<string, SensorDraft>;
  coords: 'wgs84' | 'projected' | 'none';
  crsHint: string | null;
  columns: DetectedColumn[];
  warnings: string[];
}

/** A metadata cell: numbers stay numbers, the rest stays text. */
function metaValue(s: string, decimalComma: boolean): unknown {
  const t = s.trim();
  const n = parseNumber(t, decimalComma);
  return Number.isNaN(n) ? t : n;
}

export async function parseSensorsFile(file: string, ctx: ParseContext, text: TextSniff, geojson: boolean, crs?: string): Promise<SensorsFile> {
  return geojson ? parseSensorsGeoJson(file, ctx, text, crs) : parseSensorsTable(file, ctx, text);
}

async function parseSensorsTable(file: string, ctx: ParseContext, text: TextSniff): Promise<SensorsFile> {
  const { issues, name } = ctx;
  const sensors = new Map<string, SensorDraft>();
  const columns: DetectedColumn[] = [];
  const warnings: string[] = [];
  let coords: SensorsFile['coords'] = 'none';
  let crsHint: string | null = null;
  let onRow: (f: string[], line: number) => void = () => {};
  const scan = await scanTable(
    file,
    text,
    { signal: ctx.signal },
    (h) => {
      const roles: Array<Role | null> = h.headers.map((x) => roleOf(splitHeaderUnit(x)));
      crsHint = crsHintFromHeaders(h.headers);
      const col = (r: Role) => roles.indexOf(r);
      const iId = col('id');
      if (iId < 0) {
        issues.add(name, h.headerLine, null, 'no sensor id column (id, sensor, capteur, station, ...) to join the readings on');
        return;
      }
      const [iLat, iLon, iX, iY] = [col('lat'), col('lon'), col('x'), col('y')];
      coords = iLat >= 0 && iLon >= 0 ? 'wgs84' : iX >= 0 && iY >= 0 ? 'projected' : 'none';
      if (coords === 'none') {
        issues.add(name, h.headerLine, null, 'no position columns (lat/lon, or x/y with --crs)');
        return;
      }
      const [iName, iHeight, iLatH, iLonH] = [col('name'), col('height'), col('latHemisphere'), col('lonHemisphere')];
      const used = new Set([iId, iLat, iLon, iX, iY, iName, iHeight, iLatH, iLonH].filter((i) => i >= 0));
      h.headers.forEach((hd, i) => {
        if (used.has(i)) columns.push({ name: hd, role: ROLE_LABEL[roles[i]!] });
        else if (hd !== '') columns.push({ name: hd, role: 'metadata' });
      });
      const comma = h.decimalComma || (h.undecidedDecimal && h.delimiter !== ',');
      onRow = (f, line) => {
        const id = (f[iId] ?? '').trim();
        if (!id) {
          issues.add(name, line, h.headers[iId], 'missing sensor id');
          return;
        }
        if (sensors.has(id)) {
          issues.add(name, line, h.headers[iId], `sensor ${id} is listed twice (first on line ${sensors.get(id)!.line})`);
          return;
        }
        const d: SensorDraft = { id, meta: {}, file: name, line };
        if (coords === 'wgs84') {
          const la = parseCoordinate(f[iLat] ?? '', 'lat', comma, iLatH >= 0 ? f[iLatH] : undefined);
          const lo = parseCoordinate(f[iLon] ?? '', 'lon', comma, iLonH >= 0 ? f[iLonH] : undefined);
          if (la.error) issues.add(name, line, h.headers[iLat], la.error);
          if (lo.error) issues.add(name, line, h.headers[iLon], lo.error);
          if (la.error || lo.error) return;
          d.lat = la.value;
          d.lon = lo.value;
        } else {
          const x = parseNumber(f[iX] ?? '', comma);
          const y = parseNumber(f[iY] ?? '', comma);
          if (Number.isNaN(x)) issues.add(name, line, h.headers[iX], `cannot read "${(f[iX] ?? '').trim()}" as a coordinate`);
          if (Number.isNaN(y)) issues.add(name, line, h.headers[iY], `cannot read "${(f[iY] ?? '').trim()}" as a coordinate`);
          if (Number.isNaN(x) || Number.isNaN(y)) return;
          d.x = x;
          d.y = y;
        }
        if (iName >= 0 && (f[iName] ?? '').trim()) d.name = f[iName].trim();
        if (iHeight >= 0 && !isMissing((f[iHeight] ?? '').trim())) {
          const v = parseNumber(f[iHeight], comma);
          if (Number.isNaN(v) || v < 0) issues.add(name, line, h.headers[iHeight], `height "${f[iHeight].trim()}" is not a non-negative number`);
          else d.height = v;
        }
        h.headers.forEach((hd, i) => {
          if (!used.has(i) && hd !== '' && (f[i] ?? '').trim() !== '') d.meta[hd] = metaValue(f[i], comma);
        });
        sensors.set(id, d);
      };
    },
    (f, line) => onRow(f, line),
  );
  if (!scan.head) issues.add(name, null, null, 'empty sensor file');
  else if (scan.rows === 0) issues.add(name, null, null, 'no sensors after the header');
  if (scan.decode.fallbackCount > 0) warnings.push(`${name}: ${scan.decode.fallbackCount} line(s) read as Windows-1252 (not UTF-8)`);
  return { sensors, coords, crsHint, columns, warnings };
}

function parseSensorsGeoJson(file: string, ctx: ParseContext, text: TextSniff, crs?: string): SensorsFile {
  const { issues, name } = ctx;
  const { root, warnings } = readGeoJson(file, name, text);
  const r = root as Record<string, unknown>;
  const sensors = new Map<string, SensorDraft>();
  if (!r || r.type !== 'FeatureCollection' || !Array.isArray(r.features)) {
    issues.add(name, null, 'type', 'not a GeoJSON FeatureCollection');
    return { sensors, coords: 'none', crsHint: null, columns: [], warnings };
  }
  const crsHint = legacyCrs(r);
  const projected = Boolean(crs ?? crsHint) && !/^EPSG:4326$/i.test(crs ?? crsHint ?? '');
  (r.features as Array<{ id?: unknown; geometry?: { type?: string; coordinates?: unknown }; properties?: Record<string, unknown> }>).forEach((f, i) => {
    const where = `features[${i}]`;
    const c = f?.geometry?.coordinates as number[] | undefined;
    if (f?.geometry?.type !== 'Point' || !Array.isArray(c) || typeof c[0] !== 'number' || typeof c[1] !== 'number') {
      issues.add(name, null, `${where}.geometry`, 'expected a Point geometry');
      return;
    }
    const props = f.properties ?? {};
    let id = f.id !== undefined ? String(f.id) : '';
    const d: SensorDraft = { id: '', meta: {}, file: name, line: null };
    for (const [k, v] of Object.entries(props)) {
      const role = roleOf(splitHeaderUnit(k));
      if (role === 'id' && v !== null && v !== undefined) id = String(v).trim();
      else if (role === 'name' && typeof v === 'string') d.name = v;
      else if (role === 'height' && typeof v === 'number' && v >= 0) d.height = v;
      else d.meta[k] = v;
    }
    if (!id) {
      issues.add(name, null, `${where}.properties`, 'no sensor id (feature id or an id / sensor / capteur property)');
      return;
    }
    if (!projected && (Math.abs(c[1]) > 90 || Math.abs(c[0]) > 180)) {
      issues.add(name, null, `${where}.geometry`, `[${c[0]}, ${c[1]}] is out of range for WGS84 [lon, lat]`);
      return;
    }
    d.id = id;
    if (projected) Object.assign(d, { x: c[0], y: c[1] });
    else Object.assign(d, { lat: c[1], lon: c[0] });
    sensors.set(id, d);
  });
  return { sensors, coords: projected ? 'projected' : 'wgs84', crsHint, columns: [], warnings };
}
