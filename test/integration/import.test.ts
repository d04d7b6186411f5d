// Importing readings through the service: every accepted format with values checked against independent
// computations (GDAL for Lambert-93, hand formulas for units), dry runs, re-imports, the duplicate rule,
// and bad input that must leave the project EXACTLY as it was (row counts and a hash of every table).

import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmfmapService } from '../../src/service/service.ts';
import { importReadings } from '../../src/io/import/import.ts';
import { UserError, type InputIssue } from '../../src/domain/errors.ts';
import { CancelledError } from '../../src/domain/run.ts';
import type { ImportRequest } from '../../src/service/api.ts';

const FIX = path.join(import.meta.dirname, '../fixtures/import');
const fx = (f: string) => path.join(FIX, f);
const Z0 = 376.73;
const tmpDirs: string[] = [];
let dir: string;
let svc: EmfmapService;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  tmpDirs.push(dir);
  svc?.close();
  svc = new EmfmapService();
  await svc.createProject(path.join(dir, 'p.emfmap'), { name: 'test' });
});
afterAll(() => {
  svc?.close();
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const write = (name: string, content: string | Uint8Array) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
const imp = (file: string, o: Partial<ImportRequest> = {}) => svc.importReadings({ file, ...o });
const sensorsById = async () => new Map((await svc.sensors()).map((s) => [s.id, s]));
const values = async (sensor: string) => (await svc.readings({ sensorIds: [sensor] })).map((r) => r.value);

/** Row counts and a SHA-256 of every row of every table, read through a separate read-only connection. */
function snapshot(): { counts: Record<string, number>; hash: string } {
  const db = new Database(path.join(dir, 'p.emfmap'), { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    const h = crypto.createHash('sha256');
    const counts: Record<string, number> = {};
    for (const t of tables) {
      const rows = db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).raw().all() as unknown[][];
      counts[t] = rows.length;
      h.update(t);
      for (const r of rows) h.update(JSON.stringify(r, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
    }
    return { counts, hash: h.digest('hex') };
  } finally {
    db.close();
  }
}

type IssueMatch = Omit<Partial<InputIssue>, 'message'> & { message?: RegExp | string };

/** Expect the import to be refused with a UserError whose issues match, and the project unchanged. */
async function expectRefused(file: string, o: Partial<ImportRequest>, match: IssueMatch) {
  const before = snapshot();
  let err: unknown;
  try {
    await imp(file, o);
  } catch (e) {
    err = e;
  }
  expect(err, 'import should fail').toBeInstanceOf(UserError);
  const ue = err as UserError;
  const { message, ...where } = match;
  const hit = ue.issues.find(
    (i) =>
      Object.entries(where).every(([k, v]) => i[k as keyof InputIssue] === v) &&
      (message === undefined || (typeof message === 'string' ? i.message.includes(message) : message.test(i.message))),
  );
  expect(hit, `issues: ${JSON.stringify(ue.issues)}`).toBeDefined();
  const after = snapshot();
  expect(after.counts).toEqual(before.counts);
  expect(after.hash).toBe(before.hash);
  return ue;
}

describe('the service and its project', () => {
  it('refuses data calls with no project open, opens one lazily from projectPath, reopens after close', async () => {
    const none = new EmfmapService();
    await expect(none.summary()).rejects.toThrow(/no project open/);
    expect(() => none.store()).toThrow(UserError);
    await imp(fx('long-en.csv'));
    svc.close();
    const lazy = new EmfmapService({ projectPath: path.join(dir, 'p.emfmap') });
    expect((await lazy.summary()).counts.readings).toBe(8);
    expect((await lazy.readings({ sensorIds: ['LIL-01'], limit: 2 })).length).toBe(2);
    await expect(lazy.readings({ from: 10, to: 5 })).rejects.toThrow(/empty/);
    lazy.close();
    await svc.openProject(path.join(dir, 'p.emfmap'));
    expect((await svc.sensors()).length).toBe(3);
  });
});

describe('accepted formats', () => {
  it('long CSV, English headers, unit column, offsets and a gap', async () => {
    const r = await imp(fx('long-en.csv'));
    expect(r).toMatchObject({ format: 'csv', layout: 'long', delimiter: ',', sensors: 3, sensorsNew: 3, readings: 8, readingsAdded: 8 });
    expect(r.timeFrom).toBe(Date.UTC(2024, 2, 1, 10));
    expect(r.timeTo).toBe(Date.UTC(2024, 2, 1, 13)); // 14:00+01:00
    expect(r.warnings.join('\n')).toMatch(/1 empty or "NA" value/);
    expect(await values('LIL-03')).toEqual([0.35, 0.41, 0.39]); // 350 and 410 mV/m
    const s = (await sensorsById()).get('LIL-02')!;
    expect(s).toMatchObject({ name: 'Gare Lille-Flandres', lat: 50.6367, lon: 3.0704, height: 4, readings: 2 });
    const summary = await svc.summary();
    expect(summary.counts).toMatchObject({ sensors: 3, readings: 8, imports: 1 });
    expect(summary.meta.crs).toMatch(/^\+proj=tmerc/);
  });

  it('places WGS84 sensors in a local transverse Mercator: plane distances match great-circle distances', async () => {
    await imp(fx('long-en.csv'));
    const s = [...(await sensorsById()).values()];
    const R = 6_371_008.8;
    const rad = Math.PI / 180;
    for (let i = 0; i < s.length; i++) {
      for (let j = i + 1; j < s.length; j++) {
        const a = s[i];
        const b = s[j];
        const hav =
          2 * R * Math.asin(Math.sqrt(Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2));
        const plane = Math.hypot(a.x - b.x, a.y - b.y);
        expect(Math.abs(plane - hav) / hav).toBeLessThan(0.005);
      }
    }
    // centred on the sensors: the centroid is near (0, 0)
    const cx = s.reduce((t, x) => t + x.x, 0) / s.length;
    const cy = s.reduce((t, x) => t + x.y, 0) / s.length;
    expect(Math.hypot(cx, cy)).toBeLessThan(50);
  });

  it('semicolons, decimal commas, French headers and a time zone (DST gap included)', async () => {
    const r = await imp(fx('long-fr.csv'), { timezone: 'Europe/Paris' });
    expect(r).toMatchObject({ delimiter: ';', decimalComma: true, unit: 'V/m', timezone: 'Europe/Paris', readings: 5 });
    expect(r.columns.find((c) => c.name === 'E (V/m)')).toMatchObject({ role: 'value', unit: 'V/m' });
    const rows = await svc.readings({ sensorIds: ['C1'] });
    expect(rows.map((x) => [x.time, x.value])).toEqual([
      [Date.UTC(2024, 2, 1, 10), 0.61], // 11:00 CET
      [Date.UTC(2024, 2, 1, 12), 0.72],
      [Date.UTC(2024, 2, 31, 1, 30), 0.55], // 02:30 does not exist: 03:30 CEST
    ]);
    expect((await sensorsById()).get('C2')!.name).toBe('Hôtel de Ville');
  });

  it('Lambert-93 x/y with --crs EPSG:2154 (reference: GDAL gdaltransform), split date + time columns', async () => {
    const r = await imp(fx('lambert93.csv'), { crs: 'EPSG:2154' });
    expect(r).toMatchObject({ crs: 'EPSG:2154', unit: 'mV/m', readings: 3 });
    expect(r.warnings).toContain('project CRS set to EPSG:2154');
    const s = await sensorsById();
    // gdaltransform -s_srs EPSG:4326 -t_srs EPSG:2154: (3.0633, 50.6372) → (704485.68, 7060028.35), etc.
    const ref: Record<string, [number, number, number, number]> = {
      L1: [50.6372, 3.0633, 704485.68, 7060028.35],
      L2: [50.6367, 3.0704, 704988.86, 7059973.06],
      L3: [50.631, 3.048, 703401.89, 7059336.72],
    };
    for (const [id, [lat, lon, x, y]] of Object.entries(ref)) {
      const g = s.get(id)!;
      expect(Math.abs(g.lat - lat)).toBeLessThan(2e-7); // ≈ 2 cm
      expect(Math.abs(g.lon - lon)).toBeLessThan(2e-7);
      expect(g.x).toBe(x); // the project CRS is the import CRS: coordinates kept as given
      expect(g.y).toBe(y);
    }
    expect(await values('L2')).toEqual([1.1]);
    expect((await svc.readings({ sensorIds: ['L1'] }))[0].time).toBe(Date.UTC(2024, 2, 1, 10));
    expect((await svc.summary()).meta.crs).toBe('EPSG:2154');
  });

  it('projected coordinates without a CRS are refused, naming the option', async () => {
    await expectRefused(fx('lambert93.csv'), {}, { file: 'lambert93.csv', message: /--crs/ });
  });

  it('GPS ddmm.mmmm with hemisphere columns and dBµV/m values', async () => {
    const r = await imp(fx('nmea.csv'));
    expect(r.unit).toBe('dBµV/m');
    const s = await sensorsById();
    expect(s.get('N1')!.lat).toBeCloseTo(50 + 38.232 / 60, 10);
    expect(s.get('N1')!.lon).toBeCloseTo(3 + 3.798 / 60, 10);
    expect(s.get('N3')!.lon).toBeCloseTo(3 + 2.88 / 60, 10);
    expect((await values('N1'))[0]).toBeCloseTo(1, 12); // 120 dBµV/m
    expect((await values('N2'))[0]).toBeCloseTo(0.1, 12);
    expect((await values('N3'))[0]).toBeCloseTo(10 ** (106.0206 / 20) / 1e6, 12);
  });

  it('TSV with power density in µW/cm² (E = √(S·Z0))', async () => {
    const r = await imp(fx('power.tsv'));
    expect(r).toMatchObject({ format: 'tsv', delimiter: '\t', unit: 'µW/cm²' });
    expect((await values('P1'))[0]).toBeCloseTo(Math.sqrt(0.01 * Z0), 12);
    expect((await values('P2'))[0]).toBeCloseTo(Math.sqrt(0.0025 * Z0), 12);
    expect((await values('P3'))[0]).toBe(0);
  });

  it('wide file (one column per sensor) joined to a sensor-metadata file', async () => {
    const r = await imp(fx('wide-sensors.csv'), { sensorsFile: fx('sensors.csv') });
    expect(r).toMatchObject({ layout: 'wide', sensors: 4, sensorsNew: 4, readings: 8, readingsAdded: 8 });
    const s = await sensorsById();
    expect(s.get('LIL-04')).toMatchObject({ name: 'Citadelle', readings: 0, meta: { installed: '2023-06-01', operator: 'University' } });
    expect(s.get('LIL-01')).toMatchObject({ lat: 50.6372, lon: 3.0633, height: 3.5, meta: { operator: 'City of Lille' } });
    expect(await values('LIL-02')).toEqual([1.1, 1.3]); // the empty cell is a gap
  });

  it('wide file without positions: refused, unless the project already knows the sensors', async () => {
    await expectRefused(fx('wide-sensors.csv'), {}, { message: /sensor LIL-01: no position/ });
    await imp(fx('long-en.csv'));
    const r = await imp(fx('wide-sensors.csv'));
    expect(r).toMatchObject({ sensorsNew: 0, readings: 8 });
    // long-en had 8 readings; 5 of the wide file's keys overlap (10:00 and 12:00) and are replaced
    expect(r.readingsReplaced).toBe(5);
    expect(r.readingsAdded).toBe(3);
  });

  it('wide file with one column per time step', async () => {
    const r = await imp(fx('wide-time.csv'));
    expect(r).toMatchObject({ layout: 'wide', readings: 3 });
    expect((await svc.readings({ sensorIds: ['W1'] })).map((x) => [x.time, x.value])).toEqual([
      [Date.UTC(2024, 2, 1, 10), 0.52],
      [Date.UTC(2024, 2, 1, 12), 0.61],
    ]);
  });

  it('a snapshot without timestamps and without sensor ids: points named by position, repeated point replaced', async () => {
    const r = await imp(fx('snapshot.csv'));
    expect(r).toMatchObject({ timeFrom: null, timeTo: null, readings: 4, readingsAdded: 3, readingsReplaced: 1, sensors: 3 });
    const rows = await svc.readings({ sensorIds: ['p:50.637200,3.063300'] });
    expect(rows).toEqual([{ sensorId: 'p:50.637200,3.063300', time: null, value: 0.55, band: null, quality: 0 }]);
  });

  it('GeoJSON points: value/time properties, units in property names, a readings array, metadata', async () => {
    const r = await imp(fx('points.geojson'));
    expect(r).toMatchObject({ format: 'geojson', layout: 'geojson', readings: 4, sensors: 3 });
    expect(await values('G2')).toEqual([1.1]);
    expect(await values('G3')).toEqual([0.35, 0.41]);
    expect((await sensorsById()).get('G1')).toMatchObject({ name: 'Grand Place', lat: 50.6372, lon: 3.0633, meta: { operator: 'City' } });
  });

  it('Windows-1252 and mixed-encoding files decode with a warning', async () => {
    const r = await imp(fx('latin1.csv'));
    expect(r.warnings.join('\n')).toMatch(/not UTF-8: read as Windows-1252/);
    expect((await sensorsById()).get('E2')!.name).toBe('Théâtre');
    svc.close();
    svc = new EmfmapService();
    await svc.createProject(path.join(dir, 'q.emfmap'));
    const m = await imp(fx('mixed-encoding.csv'));
    expect(m.warnings.join('\n')).toMatch(/1 line\(s\) are not valid UTF-8 .*line 3/);
    const s = await sensorsById();
    expect(s.get('E1')!.name).toBe('Église Saint-Maurice');
    expect(s.get('E2')!.name).toBe('Théâtre');
  });

  it('CRLF line ends, an Excel "sep=" line, a UTF-8 BOM, UTF-16 text and quoted fields with newlines', async () => {
    write('crlf.csv', '\ufeffsep=;\r\nid;lat;lon;value\r\nA;50,1;3,0;0,5\r\nB;50,2;3,1;0,7\r\n');
    expect((await imp(path.join(dir, 'crlf.csv'))).readingsAdded).toBe(2);
    // a trailing delimiter (an empty extra cell) is harmless
    write('trailing.csv', 'id,lat,lon,value,\nT1,50.1,3.0,0.5,\n');
    expect((await imp(path.join(dir, 'trailing.csv'))).readingsAdded).toBe(1);
    expect(await values('B')).toEqual([0.7]);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id\tlat\tlon\tvalue\nU1\t50.1\t3.0\t0.25\n', 'utf16le')]);
    write('excel.txt', utf16);
    expect((await imp(path.join(dir, 'excel.txt'))).readingsAdded).toBe(1);
    expect(await values('U1')).toEqual([0.25]);
    // a name spanning two lines: the bad value after it is reported on its physical line (5)
    write('quoted.csv', 'id,name,lat,lon,value\nQ1,"Rue X,\nLille",50.1,3.0,0.5\nQ2,"Y",50.1,3.0,0.6\nQ3,Z,50.1,3.0,oops\n');
    await expectRefused(path.join(dir, 'quoted.csv'), {}, { file: 'quoted.csv', line: 5, field: 'value', message: /"oops"/ });
  });
});

describe('dry run, re-import, duplicates', () => {
  it('a dry run reports exact counts and writes nothing', async () => {
    await imp(fx('long-en.csv'));
    const before = snapshot();
    const dry = await imp(fx('wide-sensors.csv'), { sensorsFile: fx('sensors.csv'), dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, readings: 8, readingsAdded: 3, readingsReplaced: 5, sensorsNew: 1, errors: [] });
    expect(dry.preview.length).toBeGreaterThan(0);
    expect(snapshot()).toEqual(before);
    const real = await imp(fx('wide-sensors.csv'), { sensorsFile: fx('sensors.csv') });
    expect([real.readingsAdded, real.readingsReplaced, real.sensorsNew]).toEqual([dry.readingsAdded, dry.readingsReplaced, dry.sensorsNew]);
    expect(snapshot().hash).not.toBe(before.hash);
  });

  it('a dry run of a bad file returns the issues instead of throwing', async () => {
    const p = write('bad.csv', 'id,lat,lon,value\nA,50,3,x\n');
    const r = await imp(p, { dryRun: true });
    expect(r.totalErrors).toBe(1);
    expect(r.errors[0]).toEqual({ file: 'bad.csv', line: 2, field: 'value', message: 'cannot read "x" as a number' });
  });

  it('importing the same file twice does not duplicate: "already imported"', async () => {
    await imp(fx('long-en.csv'));
    const before = snapshot();
    const again = await imp(fx('long-en.csv'));
    expect(again.alreadyImported).toBe(true);
    expect(again.warnings[0]).toMatch(/already imported on .* \(import #1, 8 readings added then\)/);
    expect(snapshot()).toEqual(before);
    // a copy under another name is the same content
    const copy = write('copy.csv', fs.readFileSync(fx('long-en.csv')));
    expect((await imp(copy)).alreadyImported).toBe(true);
    // the same content with other options is imported again (replacing, so still no duplicates)
    const other = await imp(fx('long-en.csv'), { timezone: 'UTC' });
    expect(other.alreadyImported).toBe(false);
    expect(other.warnings.join('\n')).toMatch(/imported before .* with other options/);
    expect(other).toMatchObject({ readingsAdded: 0, readingsReplaced: 8 });
    expect((await svc.summary()).counts.readings).toBe(8);
  });

  it('bands: per-band readings are kept apart from the total field ("Total" means the total field)', async () => {
    const p = write('bands.csv', 'id,lat,lon,time,band,value\nA,50,3,2024-01-01T00:00Z,Total,1.0\nA,50,3,2024-01-01T00:00Z,GSM900,0.6\nA,50,3,2024-01-01T00:00Z,LTE800,0.8\n');
    expect((await imp(p)).readingsAdded).toBe(3);
    const rows = await svc.readings({ sensorIds: ['A'] });
    expect(rows.map((r) => [r.band, r.value])).toEqual([
      [null, 1.0],
      ['GSM900', 0.6],
      ['LTE800', 0.8],
    ]);
    expect((await sensorsById()).get('A')!.latest).toBe(1.0);
  });

  it('duplicate rule: replace (default) overwrites, keep leaves stored values', async () => {
    write('a.csv', 'id,lat,lon,time,value\nA,50,3,2024-01-01T00:00Z,1\nA,50,3,2024-01-01T01:00Z,2\n');
    write('b.csv', 'id,lat,lon,time,value\nA,50,3,2024-01-01T01:00Z,20\nA,50,3,2024-01-01T02:00Z,30\n');
    write('c.csv', 'id,lat,lon,time,value\nA,50,3,2024-01-01T01:00Z,200\nA,50,3,2024-01-01T03:00Z,300\n');
    await imp(path.join(dir, 'a.csv'));
    expect(await imp(path.join(dir, 'b.csv'))).toMatchObject({ readingsAdded: 1, readingsReplaced: 1, readingsSkipped: 0 });
    expect(await values('A')).toEqual([1, 20, 30]);
    expect(await imp(path.join(dir, 'c.csv'), { onDuplicate: 'keep' })).toMatchObject({ readingsAdded: 1, readingsReplaced: 0, readingsSkipped: 1 });
    expect(await values('A')).toEqual([1, 20, 30, 300]);
  });
});

describe('bad input changes nothing', () => {
  beforeEach(async () => {
    // a project with data, so that "unchanged" means something
    await imp(fx('long-en.csv'));
  });

  const bad: Array<[string, string, IssueMatch]> = [
    ['no value column', 'id,lat,lon,time\nA,50,3,2024-01-01T00:00Z\n', { line: 1, field: null, message: /no value column/ }],
    ['an unrecognised value column', 'id,lat,lon,time,E_tot_Vm\nA,50,3,2024-01-01T00:00Z,1\n', { line: 1, message: /no value column.*not recognised: "E_tot_Vm"/ }],
    ['no longitude column', 'id,lat,time,value\nA,50,2024-01-01T00:00Z,1\n', { line: 1, field: 'lat', message: /longitude column is missing/ }],
    ['unparseable number', 'id,lat,lon,value\nA,50,3,1\nB,50,3,1..2\n', { line: 3, field: 'value', message: /cannot read "1\.\.2" as a number/ }],
    ['unparseable date', 'id,lat,lon,time,value\nA,50,3,2024-02-30T10:00Z,1\n', { line: 2, field: 'time', message: /day 30 does not exist/ }],
    ['latitude out of range', 'id,lat,lon,value\nA,50,3,1\nB,91.5,3,1\n', { line: 3, field: 'lat', message: /out of range/ }],
    ['longitude out of range', 'id,lat,lon,value\nA,50,-181,1\n', { line: 2, field: 'lon', message: /out of range/ }],
    ['negative field', 'id,lat,lon,value\nA,50,3,-0.1\n', { line: 2, field: 'value', message: /negative value/ }],
    ['negative height', 'id,lat,lon,height,value\nA,50,3,-2,0.1\n', { line: 2, field: 'height', message: /negative height/ }],
    ['unknown unit', 'id,lat,lon,value,unit\nA,50,3,1,V/m\nB,50,3,1,dBm\n', { line: 3, field: 'unit', message: /unknown unit "dBm"/ }],
    ['missing timestamp', 'id,lat,lon,time,value\nA,50,3,,1\n', { line: 2, field: 'time', message: /missing timestamp/ }],
    ['header only', 'id,lat,lon,value\n', { line: null, message: /no data rows/ }],
    ['a row with too few cells', 'id,lat,lon,value\nA,50,3,1\nB,50,3\n', { line: 3, field: null, message: /3 cells, the header has 4/ }],
    ['an unquoted decimal comma', 'id,lat,lon,value\nA,50,3,0,5\n', { line: 2, field: null, message: /unquoted decimal comma/ }],
    ['blank lines only', '\n\n  \n', { line: null, message: /empty file/ }],
    ['US dates', 'id,lat,lon,time,value\nA,50,3,03/25/2024 10:00,1\n', { line: 2, field: 'time', message: /month\/day\/year/ }],
    ['GeoJSON: not a FeatureCollection', '{"type": "Feature"}', { field: 'type', message: /FeatureCollection/ }],
    ['GeoJSON: bad geometry', '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{"value":1}}]}', { field: 'features[0].geometry', message: /Point/ }],
    ['GeoJSON: broken JSON', '{"type":"FeatureCollection",\n"features": [\n{,}]}', { line: 3, message: /JSON/ }],
  ];
  for (const [what, content, match] of bad) {
    it(what, async () => {
      const name = what.startsWith('GeoJSON') ? 'bad.geojson' : 'bad.csv';
      const p = write(name, content);
      await expectRefused(p, {}, { file: name, ...match });
    });
  }

  it('an empty (0-byte) file', async () => {
    await expectRefused(write('empty.csv', ''), {}, { file: 'empty.csv', message: /empty file/ });
  });

  it('binary garbage: NUL bytes, or random bytes', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    await expectRefused(write('image.csv', png), {}, { file: 'image.csv', message: /binary data/ });
    let s = 1;
    const noise = Buffer.alloc(10_000).map(() => ((s = (s * 1664525 + 1013904223) >>> 0), 1 + ((s >>> 24) % 255)));
    await expectRefused(write('noise.csv', noise), {}, { file: 'noise.csv', message: /binary data/ });
  });

  it('a 2 GB file is refused from its size without being read', async () => {
    const p = path.join(dir, 'huge.csv');
    const fd = fs.openSync(p, 'w');
    fs.writeSync(fd, 'id,lat,lon,value\n');
    fs.closeSync(fd);
    fs.truncateSync(p, 2 * 1024 ** 3); // sparse: no disk used
    const t0 = performance.now();
    const e = await expectRefused(p, {}, { file: 'huge.csv', message: /too large/ });
    expect(e.message).toMatch(/2\.0 GB, above the import limit of 1\.0 GB/);
    expect(performance.now() - t0).toBeLessThan(5000);
    fs.rmSync(p);
  });

  it('the size limit is configurable', async () => {
    const store = svc.store();
    await expect(importReadings(store, { file: fx('long-fr.csv') }, {}, { maxBytes: 100 })).rejects.toThrow(/above the import limit of 100 bytes/);
  });

  it('lists the first 20 problems and counts them all', async () => {
    const rows = ['id,lat,lon,value'];
    for (let i = 0; i < 57; i++) rows.push(`S${i},50,3,bad${i}`);
    const e = await expectRefused(write('many.csv', rows.join('\n')), {}, { line: 2, field: 'value' });
    expect(e.issues.length).toBe(20);
    expect(e.totalIssues).toBe(57);
    expect(e.message).toMatch(/57 problems found, nothing was imported \(first 20 listed\)/);
    expect(e.issues[19].line).toBe(21);
  });

  it('one bad row at the end of a long file: nothing of the good rows is written', async () => {
    const rows = ['id,lat,lon,time,value'];
    for (let i = 0; i < 30_000; i++) rows.push(`S${i % 50},50.${i % 50},3.0,${new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 50) * 600_000).toISOString()},0.5`);
    rows.push('S1,50.1,3.0,2024-06-01T00:00:00Z,-1');
    await expectRefused(write('long.csv', rows.join('\n') + '\n'), {}, { line: 30_002, field: 'value', message: /negative/ });
  });

  it('sensors without positions, unknown options', async () => {
    await expectRefused(write('ids.csv', 'id,time,value\nNEW-1,2024-01-01T00:00Z,1\n'), {}, { file: 'ids.csv', message: /sensor NEW-1: no position/ });
    const ok = write('ok.csv', 'id,lat,lon,value\nA,50,3,1\n');
    const before = snapshot();
    await expect(imp(ok, { unit: 'furlongs' })).rejects.toThrow(/unknown unit "furlongs"/);
    await expect(imp(ok, { crs: 'EPSG:999999' })).rejects.toThrow(/unknown CRS/);
    await expect(imp(ok, { timezone: 'Europe/Lile' })).rejects.toThrow(/unknown time zone/);
    await expect(imp(path.join(dir, 'missing.csv'))).rejects.toThrow(/no such file/);
    expect(snapshot()).toEqual(before);
  });
});

describe('large files: streaming, progress, cancel', () => {
  function bigCsv(rows: number): string {
    const lines = ['sensor;lat;lon;horodatage;valeur'];
    for (let i = 0; i < rows; i++) {
      const s = i % 100;
      const t = Math.floor(i / 100);
      lines.push(`S${s};${(50.6 + s * 0.0004).toFixed(4).replace('.', ',')};3,06;${new Date(Date.UTC(2024, 0, 1) + t * 600_000).toISOString()};${(0.1 + (i % 37) / 10).toFixed(2).replace('.', ',')}`);
    }
    return lines.join('\n') + '\n';
  }

  it('imports a multi-chunk file completely, reporting progress', async () => {
    const p = write('big.csv', bigCsv(60_000)); // ≈ 3.3 MB: several 1 MB read chunks and 2 write chunks
    const stages = new Set<string>();
    let last = 0;
    const r = await svc.importReadings({ file: p }, { onProgress: (pr) => (stages.add(pr.stage), (last = pr.fraction ?? last)) });
    expect(r).toMatchObject({ readings: 60_000, readingsAdded: 60_000, sensors: 100, decimalComma: true });
    expect(stages).toEqual(new Set(['checking', 'reading', 'writing', 'done']));
    expect(last).toBe(1);
    const s = await svc.sensors();
    expect(s.every((x) => x.readings === 600)).toBe(true);
    // the value cycle: reading i has 0.1 + (i mod 37)/10
    const first = await svc.readings({ sensorIds: ['S3'], limit: 3 });
    expect(first.map((x) => x.value)).toEqual([3, 103, 203].map((i) => Number((0.1 + (i % 37) / 10).toFixed(2))));
  });

  for (const stage of ['reading', 'writing']) {
    it(`cancel while ${stage}: rolled back, project unchanged`, async () => {
      await imp(fx('long-en.csv'));
      const p = write('big.csv', bigCsv(60_000));
      const before = snapshot();
      const ac = new AbortController();
      await expect(
        svc.importReadings({ file: p }, { signal: ac.signal, onProgress: (pr) => pr.stage === stage && ac.abort() }),
      ).rejects.toBeInstanceOf(CancelledError);
      expect(snapshot()).toEqual(before);
      // and the project still works afterwards
      expect((await imp(p)).readingsAdded).toBe(60_000);
    });
  }
});
