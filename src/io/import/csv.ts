// Readings from delimited text (CSV, TSV, semicolon-separated). Three layouts:
//  - long: one reading per row (value column; sensor id and/or position; optional time, unit, band, ...)
//  - wide by sensor: a time column (optional) and one value column per sensor, headed by the sensor id;
//    positions come from a --sensors file or from sensors already in the project
//  - wide by time: one row per sensor (id and/or position) and one value column per time step, headed by
//    the timestamp
// Every row is checked; problems are collected as issues (file, line, field) and nothing is written here.

import type { DetectedColumn } from '../../service/api.ts';
import { ROLE_LABEL, crsHintFromHeaders, normaliseHeader, roleOf, splitHeaderUnit, type HeaderInfo, type Role } from './columns.ts';
import { parseCoordinate, haversine } from './coords.ts';
import { isMissing, parseNumber } from './numbers.ts';
import type { TextSniff } from './sniff.ts';
import { scanTable, type TableHead } from './table.ts';
import { headerIsTimestamp, isTimeOfDay, parseTimestamp, type TimeZone } from './time.ts';
import { Interner, ReadingColumns, type ParseContext, type ParsedFile, type SensorDraft } from './types.ts';
import { knownUnits, parseUnit, toVoltsPerMetre, type Unit } from './units.ts';

export interface DelimitedOptions {
  text: TextSniff;
  /** Forced delimiter (TSV); sniffed otherwise. */
  delimiter?: string;
  /** --unit: unit of values when neither a unit column nor the header says it. */
  unit: Unit | null;
  zone: TimeZone;
}

const PREVIEW_ROWS = 10;
/** Band labels that mean the total (broadband) field, stored as band null. */
const TOTAL_BAND = new Set(['total', 'all', 'global', 'e_total', 'broadband', 'wideband', 'large_bande', 'tous', 'toutes']);
const V_PER_M = parseUnit('V/m')!;

/** Anonymous point (no sensor id column): the id is derived from the position, so re-imports match. */
export function pointId(a: number, b: number, projected: boolean): string {
  return projected ? `p:${a.toFixed(2)},${b.toFixed(2)}` : `p:${a.toFixed(6)},${b.toFixed(6)}`;
}

export async function parseDelimited(file: string, ctx: ParseContext, opts: DelimitedOptions): Promise<ParsedFile> {
  const { issues, name } = ctx;
  const warnings: string[] = [];
  const sensors = new Map<string, SensorDraft>();
  const ids = new Interner();
  const bands = new Interner();
  const readings = new ReadingColumns();
  const preview: Array<Record<string, string>> = [];
  const columns: DetectedColumn[] = [];
  let layout: ParsedFile['layout'] = 'long';
  let coords: ParsedFile['coords'] = 'none';
  let unitText = '';
  let naiveTimes = false;
  let missingValues = 0;
  let crsHint: string | null = null;
  let onRow: (f: string[], line: number) => void = () => {};
  let fatal = false;
  let head: TableHead | null = null;

  const setup = (h: TableHead) => {
    head = h;
    const headers = h.headers;
    const infos: HeaderInfo[] = headers.map(splitHeaderUnit);
    const roles: Array<Role | null> = infos.map(roleOf);
    crsHint = crsHintFromHeaders(headers);
    const col = (r: Role) => roles.indexOf(r);
    const duplicate = (r: Role) => roles.filter((x) => x === r).length > 1;
    for (const r of Object.keys(ROLE_LABEL) as Role[]) {
      if (duplicate(r)) {
        const all = roles.map((x, i) => (x === r ? headers[i] : null)).filter(Boolean);
        warnings.push(`several ${ROLE_LABEL[r]} columns (${all.join(', ')}): the first is used`);
        roles.forEach((x, i) => {
          if (x === r && i !== roles.indexOf(r)) roles[i] = null;
        });
      }
    }
    // "date" + "time" where time holds hh:mm → split date and time of day
    if (col('date') >= 0 && col('time') >= 0) {
      const vals = h.sample.map((r) => r[col('time')] ?? '').filter((v) => v.trim() !== '');
      if (vals.length > 0 && vals.every(isTimeOfDay)) roles[col('time')] = 'clock';
    }
    if (col('date') >= 0 && col('clock') < 0 && col('time') < 0) roles[col('date')] = 'time';
    if (col('clock') >= 0 && col('date') < 0) {
      issues.add(name, h.headerLine, headers[col('clock')], 'a time-of-day column needs a date column (or give full timestamps)');
      fatal = true;
      return;
    }
    const iId = col('id');
    const iName = col('name');
    const iLat = col('lat');
    const iLon = col('lon');
    const iLatH = col('latHemisphere');
    const iLonH = col('lonHemisphere');
    const iX = col('x');
    const iY = col('y');
    const iTime = col('time');
    const iDate = col('date');
    const iClock = col('clock');
    const iValue = col('value');
    const iUnit = col('unit');
    const iBand = col('band');
    const iQuality = col('quality');
    const iHeight = col('height');

    // ------------------------------------------------------------------ coordinates present?
    if ((iLat >= 0) !== (iLon >= 0)) {
      issues.add(name, h.headerLine, headers[iLat >= 0 ? iLat : iLon], `a ${iLat >= 0 ? 'longitude' : 'latitude'} column is missing`);
      fatal = true;
    }
    if ((iX >= 0) !== (iY >= 0)) {
      issues.add(name, h.headerLine, headers[iX >= 0 ? iX : iY], `the ${iX >= 0 ? 'y' : 'x'} coordinate column is missing`);
      fatal = true;
    }
    const hasLatLon = iLat >= 0 && iLon >= 0;
    const hasXY = iX >= 0 && iY >= 0;
    coords = hasLatLon ? 'wgs84' : hasXY ? 'projected' : 'none';
    if (hasLatLon && hasXY) warnings.push('both lat/lon and x/y columns: lat/lon (WGS84) are used');

    // ------------------------------------------------------------------ layout
    const unknown = roles.map((r, i) => (r === null && headers[i] !== '' ? i : -1)).filter((i) => i >= 0);
    const timeCols = unknown.filter((i) => headerIsTimestamp(infos[i].base || headers[i]));
    if (iValue >= 0) layout = 'long';
    else if (timeCols.length > 0) layout = 'wide';
    // one column per sensor: a time column and sensor columns, but no per-row sensor id or position
    else if (unknown.length > 0 && (iTime >= 0 || iDate >= 0) && iId < 0 && coords === 'none') layout = 'wide';
    else {
      const others = unknown.map((i) => `"${headers[i]}"`).join(', ');
      issues.add(
        name,
        h.headerLine,
        null,
        `no value column: name it "value", "valeur", "E" or "E (V/m)" (one reading per row), or give one column per sensor next to a time column, or one column per time step` +
          (others ? ` (columns not recognised: ${others})` : ''),
      );
      fatal = true;
      return;
    }
    const byTime = layout === 'wide' && iValue < 0 && timeCols.length > 0;
    if (layout === 'long' || byTime) {
      if (iId < 0 && coords === 'none') {
        issues.add(name, h.headerLine, null, 'no sensor id column and no coordinate columns (lat/lon or x/y): cannot tell where readings were taken');
        fatal = true;
      }
    }
    if (fatal) return;

    for (let i = 0; i < headers.length; i++) {
      const r = roles[i];
      if (r) columns.push({ name: headers[i], role: ROLE_LABEL[r], unit: r === 'value' ? infos[i].unit?.name : undefined });
      else if (layout === 'long' && headers[i] !== '') columns.push({ name: headers[i], role: 'ignored' });
    }

    // ------------------------------------------------------------------ units
    const defaultUnit = (headerUnit: Unit | null): Unit => {
      if (headerUnit) return headerUnit;
      return opts.unit ?? V_PER_M;
    };
    const checkUnitOption = (headerUnit: Unit | null, where: string) => {
      if (headerUnit && opts.unit && headerUnit !== opts.unit) {
        warnings.push(`--unit ${opts.unit.name} ignored for ${where}: the header says ${headerUnit.name}`);
      }
    };
    const allowComma = h.decimalComma || (h.undecidedDecimal && h.delimiter !== ',');
    const num = (s: string) => parseNumber(s, allowComma);
    const unitCache = new Map<string, Unit | null>();

    // ------------------------------------------------------------------ shared cell readers
    const readTime = (f: string[], line: number): number => {
      let text: string;
      let field: string;
      if (iTime >= 0) {
        text = (f[iTime] ?? '').trim();
        field = headers[iTime];
      } else if (iDate >= 0) {
        const d = (f[iDate] ?? '').trim();
        const c = (f[iClock] ?? '').trim();
        text = c ? `${d} ${c}` : d;
        field = `${headers[iDate]} + ${headers[iClock]}`;
      } else return NaN;
      if (text === '') {
        issues.add(name, line, field, 'missing timestamp');
        return NaN;
      }
      // rows of one time step usually follow each other: reuse the last parse
      if (text === lastTimeText) return lastTime;
      const t = parseTimestamp(text, opts.zone);
      if (Number.isNaN(t.ms)) {
        issues.add(name, line, field, t.error!);
        return NaN;
      }
      if (t.naive) naiveTimes = true;
      lastTimeText = text;
      lastTime = t.ms;
      return t.ms;
    };
    let lastTimeText = '';
    let lastTime = NaN;
    const hasTime = iTime >= 0 || iDate >= 0;

    /** Position from a row (first sight of a sensor, or an anonymous point); null on error. */
    const readPosition = (f: string[], line: number): { lat?: number; lon?: number; x?: number; y?: number } | null => {
      if (coords === 'wgs84') {
        const la = parseCoordinate(f[iLat] ?? '', 'lat', allowComma, iLatH >= 0 ? f[iLatH] : undefined);
        const lo = parseCoordinate(f[iLon] ?? '', 'lon', allowComma, iLonH >= 0 ? f[iLonH] : undefined);
        if (la.error) issues.add(name, line, headers[iLat], (f[iLat] ?? '').trim() === '' ? 'missing latitude' : la.error);
        if (lo.error) issues.add(name, line, headers[iLon], (f[iLon] ?? '').trim() === '' ? 'missing longitude' : lo.error);
        return la.error || lo.error ? null : { lat: la.value, lon: lo.value };
      }
      if (coords === 'projected') {
        const x = num(f[iX] ?? '');
        const y = num(f[iY] ?? '');
        if (Number.isNaN(x)) issues.add(name, line, headers[iX], `cannot read "${(f[iX] ?? '').trim()}" as a coordinate`);
        if (Number.isNaN(y)) issues.add(name, line, headers[iY], `cannot read "${(f[iY] ?? '').trim()}" as a coordinate`);
        return Number.isNaN(x) || Number.isNaN(y) ? null : { x, y };
      }
      return null;
    };
    // cells holding a position (compared as text, so a sensor's position is parsed once, not on every row)
    const posCols = (coords === 'wgs84' ? [iLat, iLon, iLatH, iLonH] : [iX, iY]).filter((i) => i >= 0);
    const rawPos = (f: string[]) => posCols.map((i) => f[i]);
    const samePos = (f: string[], raw: Array<string | undefined>) => {
      for (let k = 0; k < posCols.length; k++) if (f[posCols[k]] !== raw[k]) return false;
      return true;
    };
    const firstRaw = new Map<string, Array<string | undefined>>();

    /** The sensor of a row: id column, else the position (anonymous point). Returns its index or -1. */
    const rowSensor = (f: string[], line: number): number => {
      const id = iId >= 0 ? (f[iId] ?? '').trim() : '';
      if (iId >= 0 && id === '') {
        issues.add(name, line, headers[iId], 'missing sensor id');
        return -1;
      }
      if (id !== '') {
        const known = sensors.get(id);
        if (known) {
          if (coords !== 'none') {
            if (!samePos(f, firstRaw.get(id) ?? [])) {
              const p = readPosition(f, line);
              if (p) {
                const d =
                  coords === 'wgs84' && known.lat !== undefined
                    ? haversine(known.lat, known.lon!, p.lat!, p.lon!)
                    : known.x !== undefined
                      ? Math.hypot(p.x! - known.x, p.y! - known.y!)
                      : 0;
                known.spread = Math.max(known.spread ?? 0, d);
              }
            }
          }
          return ids.get(id);
        }
        const draft: SensorDraft = { id, meta: {}, file: name, line };
        if (coords !== 'none') {
          const p = readPosition(f, line);
          if (!p) return -1;
          Object.assign(draft, p);
          firstRaw.set(id, rawPos(f));
        }
        readSensorExtras(draft, f, line);
        sensors.set(id, draft);
        return ids.get(id);
      }
      const p = readPosition(f, line);
      if (!p) return -1;
      const pid = coords === 'wgs84' ? pointId(p.lat!, p.lon!, false) : pointId(p.x!, p.y!, true);
      if (!sensors.has(pid)) {
        const draft: SensorDraft = { id: pid, meta: {}, file: name, line, ...p };
        readSensorExtras(draft, f, line);
        sensors.set(pid, draft);
      }
      return ids.get(pid);
    };
    const readSensorExtras = (d: SensorDraft, f: string[], line: number) => {
      if (iName >= 0) {
        const n = (f[iName] ?? '').trim();
        if (n) d.name = n;
      }
      if (iHeight >= 0) {
        const t = (f[iHeight] ?? '').trim();
        if (!isMissing(t)) {
          const v = num(t);
          if (Number.isNaN(v)) issues.add(name, line, headers[iHeight], `cannot read "${t}" as a height in metres`);
          else if (v < 0) issues.add(name, line, headers[iHeight], `negative height ${t}`);
          else if (v > 1000) issues.add(name, line, headers[iHeight], `height ${t} m above ground is not plausible`);
          else d.height = v;
        }
      }
    };
    const readValue = (text: string, unit: Unit, line: number, field: string): number => {
      const v = num(text);
      if (Number.isNaN(v)) {
        const hint = /^\s*[+-]?\d+,\d+\s*$/.test(text) ? ' (decimal comma in a comma-separated file? quote the field or use ";")' : '';
        issues.add(name, line, field, `cannot read "${text.trim()}" as a number${hint}`);
        return NaN;
      }
      if (unit.nonNegative && v < 0) {
        issues.add(name, line, field, `negative value ${text.trim()} ${unit.name}: a field strength or power density cannot be negative`);
        return NaN;
      }
      const e = toVoltsPerMetre(v, unit);
      if (!Number.isFinite(e)) {
        issues.add(name, line, field, `value ${text.trim()} ${unit.name} is out of range`);
        return NaN;
      }
      return e;
    };
    const addPreview = (f: string[]) => {
      if (preview.length >= PREVIEW_ROWS) return;
      const r: Record<string, string> = {};
      headers.forEach((hd, i) => (r[hd] = (f[i] ?? '').trim()));
      preview.push(r);
    };

    // ------------------------------------------------------------------ long layout
    if (layout === 'long') {
      const headerUnit = infos[iValue].unit;
      const valueField = headers[iValue];
      if (iUnit >= 0) {
        unitText = headerUnit ? `from column "${headers[iUnit]}" (default ${headerUnit.name})` : `from column "${headers[iUnit]}"`;
      } else {
        checkUnitOption(headerUnit, `column "${valueField}"`);
        const u = defaultUnit(headerUnit);
        unitText = u.name;
        if (!headerUnit && !opts.unit) warnings.push(`no unit in the file or --unit: values read as V/m`);
      }
      const fixedUnit = defaultUnit(headerUnit);
      onRow = (f, line) => {
        addPreview(f);
        const vt = f[iValue] ?? '';
        if (isMissing(vt.trim())) {
          missingValues++;
          return;
        }
        let unit = fixedUnit;
        if (iUnit >= 0) {
          const ut = (f[iUnit] ?? '').trim();
          if (ut !== '') {
            let u = unitCache.get(ut);
            if (u === undefined) {
              u = parseUnit(ut);
              unitCache.set(ut, u);
            }
            if (!u) {
              issues.add(name, line, headers[iUnit], `unknown unit "${ut}" (known: ${knownUnits().join(', ')})`);
              return;
            }
            unit = u;
          }
        }
        const s = rowSensor(f, line);
        const v = readValue(vt, unit, line, valueField);
        const t = hasTime ? readTime(f, line) : NaN;
        let b = -1;
        if (iBand >= 0) {
          const bt = (f[iBand] ?? '').trim();
          if (bt !== '' && !isMissing(bt) && !TOTAL_BAND.has(normaliseHeader(bt))) b = bands.get(bt);
        }
        let q = 0;
        if (iQuality >= 0) {
          const qt = (f[iQuality] ?? '').trim();
          if (qt !== '') {
            q = Number(qt);
            if (!Number.isInteger(q)) {
              issues.add(name, line, headers[iQuality], `quality flag "${qt}" is not an integer`);
              return;
            }
          }
        }
        if (s < 0 || Number.isNaN(v) || (hasTime && Number.isNaN(t))) return;
        readings.push(s, t, v, b, q);
      };
      return;
    }

    // ------------------------------------------------------------------ wide by time step
    if (byTime) {
      const steps = timeCols.map((i) => {
        const t = parseTimestamp(infos[i].base || headers[i], opts.zone);
        if (t.naive) naiveTimes = true;
        return { col: i, time: t.ms, unit: defaultUnit(infos[i].unit) };
      });
      const others = unknown.filter((i) => !timeCols.includes(i));
      if (others.length > 0) warnings.push(`columns ignored: ${others.map((i) => headers[i]).join(', ')}`);
      for (const s of steps) columns.push({ name: headers[s.col], role: 'time step', unit: s.unit.name });
      const hu = infos[timeCols[0]].unit;
      checkUnitOption(hu, 'the time-step columns');
      unitText = defaultUnit(hu).name;
      if (!hu && !opts.unit) warnings.push('no unit in the file or --unit: values read as V/m');
      onRow = (f, line) => {
        addPreview(f);
        const s = rowSensor(f, line);
        for (const st of steps) {
          const cell = f[st.col] ?? '';
          if (isMissing(cell.trim())) {
            missingValues++;
            continue;
          }
          const v = readValue(cell, st.unit, line, headers[st.col]);
          if (s >= 0 && !Number.isNaN(v)) readings.push(s, st.time, v, -1, 0);
        }
      };
      return;
    }

    // ------------------------------------------------------------------ wide by sensor
    const sensorCols = unknown.map((i) => {
      const id = (infos[i].base || headers[i]).trim();
      return { col: i, id, unit: defaultUnit(infos[i].unit), index: ids.get(id) };
    });
    for (const sc of sensorCols) {
      columns.push({ name: headers[sc.col], role: 'sensor', unit: sc.unit.name });
      if (!sensors.has(sc.id)) sensors.set(sc.id, { id: sc.id, meta: {}, file: name, line: h.headerLine });
    }
    const hu = infos[sensorCols[0].col].unit;
    checkUnitOption(hu, 'the sensor columns');
    unitText = defaultUnit(hu).name;
    if (!hu && !opts.unit) warnings.push('no unit in the file or --unit: values read as V/m');
    if (coords !== 'none') warnings.push('coordinate columns ignored in a file with one column per sensor: positions come from --sensors or the project');
    coords = 'none';
    onRow = (f, line) => {
      addPreview(f);
      const t = hasTime ? readTime(f, line) : NaN;
      if (hasTime && Number.isNaN(t)) return;
      for (const sc of sensorCols) {
        const cell = f[sc.col] ?? '';
        if (isMissing(cell.trim())) {
          missingValues++;
          continue;
        }
        const v = readValue(cell, sc.unit, line, headers[sc.col]);
        if (!Number.isNaN(v)) readings.push(sc.index, t, v, -1, 0);
      }
    };
  };

  const scan = await scanTable(
    file,
    opts.text,
    { delimiter: opts.delimiter, signal: ctx.signal, onBytes: ctx.onBytes },
    setup,
    (f, line) => {
      if (fatal) return;
      const n = head!.headers.length;
      if (f.length !== n) {
        // extra cells are tolerated only when empty (a trailing delimiter); missing cells only in wide
        // layouts (trailing gaps); anything else is usually an unquoted decimal comma or a broken row
        const extra = f.length > n && f.slice(n).some((c) => c.trim() !== '');
        if (extra || (f.length < n && layout === 'long')) {
          const hint = extra && head!.delimiter === ',' ? ' (an unquoted decimal comma? quote the cell or use ";")' : '';
          issues.add(name, line, null, `${f.length} cells, the header has ${n}${hint}`);
          return;
        }
      }
      onRow(f, line);
    },
  );
  const h = head as TableHead | null;
  if (!scan.head) issues.add(name, null, null, 'empty file: no header and no data');
  else if (scan.rows === 0 && !fatal) issues.add(name, null, null, 'no data rows after the header');
  if (scan.decode.fallbackCount > 0) {
    warnings.push(
      `${scan.decode.fallbackCount} line(s) are not valid UTF-8 and were read as Windows-1252 (line ${scan.decode.fallbackLines.join(', ')}${scan.decode.fallbackCount > scan.decode.fallbackLines.length ? ', ...' : ''}): check accented names`,
    );
  }
  if (opts.text.encoding === 'windows-1252') warnings.push('the file is not UTF-8: read as Windows-1252');
  if (missingValues > 0) warnings.push(`${missingValues} empty or "NA" value cell(s) skipped (gaps)`);
  for (const s of sensors.values()) {
    if ((s.spread ?? 0) > 1) warnings.push(`sensor ${s.id} has positions up to ${s.spread!.toFixed(0)} m apart in the file: its first position is used`);
  }
  return {
    format: opts.delimiter === '\t' || h?.delimiter === '\t' ? 'tsv' : 'csv',
    layout,
    delimiter: h?.delimiter,
    decimalComma: h?.decimalComma,
    columns,
    coords,
    crsHint,
    unit: unitText,
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
