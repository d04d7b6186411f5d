// The import report names the CRS an import chose for a new project (ImportReport.projectCrs), and the
// service lists the project's imports (EmfmapApi.imports), which `emfmap info` shows, newest first.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmfmapService } from '../../src/service/service.ts';
import { runCli } from '../helpers/cli.ts';
import { toWgs84 } from '../../src/geo/crs.ts';

const fx = (f: string) => path.resolve(__dirname, '../fixtures/import', f);
let dir: string;
let svc: EmfmapService;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  svc = new EmfmapService();
});
afterEach(() => {
  svc.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ImportReport.projectCrs', () => {
  it('is the local transverse Mercator the first WGS84 import chose, and absent afterwards', async () => {
    await svc.createProject(path.join(dir, 'p.emfmap'));
    const dry = await svc.importReadings({ file: fx('long-en.csv'), dryRun: true });
    expect(dry.projectCrs).toMatch(/^\+proj=tmerc /);
    expect((await svc.summary()).meta.crs).toBe(''); // a dry run chooses, but writes nothing

    const first = await svc.importReadings({ file: fx('long-en.csv') });
    expect(first.projectCrs).toBe((await svc.summary()).meta.crs);
    // centred on the sensors: the projection's origin is inside their extent (50.631–50.6372 N, 3.048–3.0704 E)
    const lat0 = Number(/\+lat_0=([\d.]+)/.exec(first.projectCrs!)![1]);
    const lon0 = Number(/\+lon_0=([\d.]+)/.exec(first.projectCrs!)![1]);
    expect(lat0).toBeGreaterThanOrEqual(50.631);
    expect(lat0).toBeLessThanOrEqual(50.6372);
    expect(lon0).toBeGreaterThanOrEqual(3.048);
    expect(lon0).toBeLessThanOrEqual(3.0704);
    // and the sensors' x/y are metres in it: back to WGS84 they land where the file put them
    const s = (await svc.sensors()).find((x) => x.id === 'LIL-01')!;
    const [lon, lat] = toWgs84(first.projectCrs!, s.x, s.y);
    expect(lat).toBeCloseTo(50.6372, 6);
    expect(lon).toBeCloseTo(3.0633, 6);

    const second = await svc.importReadings({ file: fx('snapshot.csv') });
    expect(second.projectCrs).toBeUndefined();
  });

  it('keeps a projected CRS given for the first import, and is absent when the project had a CRS', async () => {
    await svc.createProject(path.join(dir, 'l93.emfmap'));
    const r = await svc.importReadings({ file: fx('lambert93.csv'), crs: 'EPSG:2154' });
    expect(r.projectCrs).toBe('EPSG:2154');
    await svc.createProject(path.join(dir, 'set.emfmap'), { crs: 'EPSG:2154' });
    expect((await svc.importReadings({ file: fx('long-en.csv') })).projectCrs).toBeUndefined();
  });
});

describe('imports()', () => {
  it('lists the imports oldest first; info prints the latest first, and all of them in --json', async () => {
    const p = path.join(dir, 'i.emfmap');
    await svc.createProject(p);
    expect(await svc.imports()).toEqual([]);
    await svc.importReadings({ file: fx('long-en.csv') });
    await svc.importReadings({ file: fx('snapshot.csv') });
    await svc.importReadings({ file: fx('long-en.csv') }); // already imported: not recorded again
    const list = await svc.imports();
    expect(list.map((r) => r.fileName)).toEqual(['long-en.csv', 'snapshot.csv']);
    expect(list[0].readingsAdded).toBe((await svc.summary()).counts.readings - list[1].readingsAdded);
    expect(list[1].sensorsAdded).toBeGreaterThan(0);
    svc.close();

    const text = await runCli(['info', '--project', p]);
    expect(text.code).toBe(0);
    const at = (f: string) => text.out.indexOf(`  ${f}: `);
    expect(text.out).toMatch(/last imports:/);
    expect(at('snapshot.csv')).toBeGreaterThan(0);
    expect(at('long-en.csv')).toBeGreaterThan(at('snapshot.csv')); // newest first
    expect(text.out).toMatch(new RegExp(`#1  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  long-en\\.csv: ${list[0].readingsAdded} readings added, ${list[0].sensorsAdded} new sensors`));
    const json = JSON.parse((await runCli(['info', '--project', p, '--json'])).out);
    expect(json.imports.map((r: { id: number }) => r.id)).toEqual(list.map((r) => r.id));
  });
});
