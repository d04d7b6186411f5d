// The project store: file creation and refusal, migrations, the duplicate rule, runs and reference maps
// (float32 blobs round-trip), and the long transaction that imports use.

import { describe, expect, it, beforeEach } from 'vitest';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProject, openProject } from '../../src/store/project.ts';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/store/migrations.ts';
import { UserError } from '../../src/domain/errors.ts';
import type { Grid, Sensor } from '../../src/domain/types.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
});

const sensor = (id: string, x = 0, y = 0): Sensor => ({ id, name: id, lat: 50.6, lon: 3.06, x, y, height: 3, meta: { operator: 'city' } });
const rd = (sensorId: string, time: number | null, value: number, band: string | null = null, quality = 0) => ({ sensorId, time, value, band, quality });

describe('creating and opening', () => {
  it('creates a WAL-mode file with metadata, and refuses to overwrite it', () => {
    const p = path.join(dir, 'a.emfmap');
    const s = createProject(p, { name: 'Lille', crs: 'EPSG:2154', description: 'test', aoi: { xmin: 0, ymin: 1, xmax: 2, ymax: 3 } });
    const m = s.meta();
    expect(m).toMatchObject({ name: 'Lille', crs: 'EPSG:2154', description: 'test', synthetic: false, schemaVersion: SCHEMA_VERSION });
    expect(m.aoi).toEqual({ xmin: 0, ymin: 1, xmax: 2, ymax: 3 });
    s.close();
    const raw = new Database(p, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    raw.close();
    expect(() => createProject(p, { name: 'x', crs: '' })).toThrow(/already exists/);
  });

  it('refuses a missing file, a non-SQLite file and a foreign SQLite database', () => {
    expect(() => openProject(path.join(dir, 'none.emfmap'))).toThrow(/no project at/);
    const txt = path.join(dir, 'notes.emfmap');
    fs.writeFileSync(txt, 'hello, this is not a database at all');
    expect(() => openProject(txt)).toThrow(/not an emfmap project/);
    const foreign = path.join(dir, 'other.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE t (a)');
    db.close();
    expect(() => openProject(foreign)).toThrow(/not an emfmap project/);
  });

  it('refuses a file written by a newer schema, naming both versions, and leaves it untouched', () => {
    const p = path.join(dir, 'new.emfmap');
    createProject(p, { name: 'x', crs: '' }).close();
    const db = new Database(p);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const before = fs.readFileSync(p);
    let err: unknown;
    try {
      openProject(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(new RegExp(`newer emfmap \\(project schema ${SCHEMA_VERSION + 5}; this version reads up to ${SCHEMA_VERSION}\\)`));
    expect(fs.readFileSync(p).equals(before)).toBe(true);
  });

  it('migrates a version-1 file made by hand, keeping its data', () => {
    const p = path.join(dir, 'v1.emfmap');
    // schema 1 as released: meta, sensors, readings, imports (written here independently of migrations.ts)
    const db = new Database(p);
    db.pragma('journal_mode = WAL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE sensors (sid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, lat REAL, lon REAL,
        x REAL NOT NULL, y REAL NOT NULL, height REAL, meta TEXT NOT NULL DEFAULT '{}');
      CREATE TABLE readings (sensor INTEGER NOT NULL REFERENCES sensors(sid) ON DELETE CASCADE, time INTEGER, value REAL NOT NULL,
        band TEXT NOT NULL DEFAULT '', quality INTEGER NOT NULL DEFAULT 0);
      CREATE UNIQUE INDEX readings_key ON readings(sensor, band, time);
      CREATE UNIQUE INDEX readings_snapshot_key ON readings(sensor, band) WHERE time IS NULL;
      CREATE INDEX readings_time ON readings(time);
      CREATE TABLE imports (id INTEGER PRIMARY KEY, file_name TEXT NOT NULL, content_hash TEXT NOT NULL, imported_at INTEGER NOT NULL,
        sensors_added INTEGER NOT NULL, readings_added INTEGER NOT NULL, readings_replaced INTEGER NOT NULL,
        readings_skipped INTEGER NOT NULL, options TEXT NOT NULL DEFAULT '{}');
      INSERT INTO meta VALUES ('name', 'Old'), ('crs', 'EPSG:2154'), ('aoi', 'null'), ('description', ''), ('synthetic', '0'), ('created_at', '1700000000000');
      INSERT INTO sensors VALUES (1, 'S1', 'First', 50.6, 3.06, 704000, 7059000, 3, '{}');
      INSERT INTO readings VALUES (1, 1700000000000, 0.5, '', 0), (1, 1700007200000, 0.7, '', 0);
    `);
    db.pragma('user_version = 1');
    db.close();

    const s = openProject(p);
    expect(s.meta().schemaVersion).toBe(SCHEMA_VERSION);
    expect(s.meta().name).toBe('Old');
    expect(s.sensors().map((x) => x.id)).toEqual(['S1']);
    expect(s.readings().map((r) => r.value)).toEqual([0.5, 0.7]);
    // tables added by later migrations work
    const grid: Grid = { crs: 'EPSG:2154', bounds: { xmin: 0, ymin: 0, xmax: 2, ymax: 1 }, width: 2, height: 1 };
    const id = s.saveRun(
      { method: 'idw', params: {}, grid, selection: { agg: 'mean' }, backend: 'js', timings: { fit: 0, predict: 0, total: 0 }, metrics: {}, diagnostics: {}, label: '' },
      [{ grid, values: new Float32Array([1, 2]), method: 'idw', params: {}, backend: 'js', timings: { fit: 0, predict: 0, total: 0 }, diagnostics: {} }],
    );
    expect(s.run(id)?.steps).toBe(1);
    s.close();
    const raw = new Database(p, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });
});

describe('readings and the duplicate rule', () => {
  it('replace overwrites value and quality; keep leaves the stored reading; both count what happened', () => {
    const s = createProject(path.join(dir, 'd.emfmap'), { name: 'd', crs: 'local' });
    s.upsertSensors([sensor('A'), sensor('B', 10, 0)]);
    expect(s.insertReadings([rd('A', 1000, 1), rd('A', 2000, 2), rd('B', 1000, 3)], 'replace')).toEqual({ added: 3, replaced: 0, skipped: 0 });
    expect(s.insertReadings([rd('A', 1000, 9, null, 2), rd('A', 3000, 4)], 'replace')).toEqual({ added: 1, replaced: 1, skipped: 0 });
    expect(s.insertReadings([rd('A', 2000, 99), rd('B', 5000, 5)], 'keep')).toEqual({ added: 1, replaced: 0, skipped: 1 });
    const all = s.readings({ sensorIds: ['A'] });
    expect(all.map((r) => [r.time, r.value, r.quality])).toEqual([
      [1000, 9, 2],
      [2000, 2, 0],
      [3000, 4, 0],
    ]);
    expect(s.counts().readings).toBe(5);
    s.close();
  });

  it('keeps one snapshot reading (no time) per sensor and band, and bands apart', () => {
    const s = createProject(path.join(dir, 's.emfmap'), { name: 's', crs: 'local' });
    s.upsertSensors([sensor('A')]);
    expect(s.insertReadings([rd('A', null, 1), rd('A', null, 2), rd('A', null, 3, 'GSM900'), rd('A', 1000, 4, 'GSM900')], 'replace')).toEqual({
      added: 3,
      replaced: 1,
      skipped: 0,
    });
    expect(s.readings({ band: null }).map((r) => r.value)).toEqual([2]);
    expect(s.readings({ band: 'GSM900' }).map((r) => [r.time, r.value])).toEqual([
      [null, 3],
      [1000, 4],
    ]);
    expect(s.readingTimes()).toEqual([1000]);
    s.close();
  });

  it('refuses a reading for an unknown sensor and rolls the batch back', () => {
    const s = createProject(path.join(dir, 'u.emfmap'), { name: 'u', crs: 'local' });
    s.upsertSensors([sensor('A')]);
    expect(() => s.insertReadings([rd('A', 1, 1), rd('Z', 1, 1)], 'replace')).toThrow(/unknown sensor "Z"/);
    expect(s.counts().readings).toBe(0);
    s.close();
  });

  it('filters by sensor, window [from, to) and limit; reports per-sensor stats', () => {
    const s = createProject(path.join(dir, 'q.emfmap'), { name: 'q', crs: 'local' });
    s.upsertSensors([sensor('A'), sensor('B')]);
    s.insertReadings([rd('A', 0, 1), rd('A', 10, 2), rd('A', 20, 3), rd('B', 10, 5), rd('B', 30, 6, 'LTE')], 'replace');
    expect(s.readings({ from: 10, to: 20 }).map((r) => `${r.sensorId}${r.time}`)).toEqual(['A10', 'B10']);
    expect(s.readings({ sensorIds: ['B'] }).length).toBe(2);
    expect(s.readings({ limit: 2 }).length).toBe(2);
    const stats = s.sensorStats();
    // latest value = the total field at the latest time; B has no total at t=30, so its bands there are
    // combined by power (one band: √(6²) = 6), as selections do (test/unit/select.test.ts)
    expect(stats).toEqual([
      { id: 'A', readings: 3, latest: 3, latestTime: 20 },
      { id: 'B', readings: 2, latest: 6, latestTime: 30 },
    ]);
    expect(s.counts()).toMatchObject({ sensors: 2, readings: 5, timeFrom: 0, timeTo: 30 });
    s.close();
  });
});

describe('runs and reference maps', () => {
  const grid: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 30, ymax: 20 }, width: 3, height: 2 };

  it('round-trips float32 maps, variance, per-step times and deletes runs with their maps', () => {
    const s = createProject(path.join(dir, 'r.emfmap'), { name: 'r', crs: 'local' });
    const v0 = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, Math.PI]);
    const var0 = new Float32Array([1, 2, 3, 4, 5, 6]);
    const v1 = new Float32Array([9, 8, 7, 6, 5, NaN]);
    const base = { grid, method: 'kriging', params: { range: 100 }, backend: 'js', timings: { fit: 1, predict: 2, total: 3 }, diagnostics: { nugget: 0.1 } };
    const id = s.saveRun(
      { method: 'kriging', params: { range: 100 }, grid, selection: { agg: 'p95', from: 0, to: 10 }, backend: 'js', timings: base.timings, metrics: { rmse: 0.2 }, diagnostics: {}, label: 'test' },
      [
        { ...base, values: v0, variance: var0, time: 1000 },
        { ...base, values: v1, time: 2000 },
      ],
    );
    const rec = s.run(id)!;
    expect(rec).toMatchObject({ method: 'kriging', steps: 2, label: 'test', metrics: { rmse: 0.2 }, selection: { agg: 'p95', from: 0, to: 10 } });
    const maps = s.runMaps(id);
    expect(maps.map((m) => m.time)).toEqual([1000, 2000]);
    expect(Array.from(maps[0].values)).toEqual(Array.from(v0));
    expect(Array.from(maps[0].variance!)).toEqual(Array.from(var0));
    expect(maps[1].variance).toBeUndefined();
    expect(Number.isNaN(maps[1].values[5])).toBe(true);
    expect(s.runMaps(id, 1)[0].values[0]).toBe(9);
    expect(() => s.runMaps(id, 5)).toThrow(/no step 5/);
    expect(() => s.saveRun({ ...rec }, [{ ...base, values: new Float32Array(5) }])).toThrow(/5 values for a 3×2 grid/);
    s.deleteRun(id);
    expect(s.runs()).toEqual([]);
    expect(() => s.deleteRun(id)).toThrow(/no run/);
    s.close();
    const raw = new Database(path.join(dir, 'r.emfmap'), { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM run_maps').pluck().get()).toBe(0);
    raw.close();
  });

  it('stores one reference map and replaces it', () => {
    const s = createProject(path.join(dir, 'ref.emfmap'), { name: 'ref', crs: 'local', synthetic: true });
    expect(s.referenceMap()).toBeNull();
    s.setReferenceMap({ name: 'truth', grid, values: new Float32Array([1, 2, 3, 4, 5, 6]), synthetic: true, description: 'synthetic' });
    s.setReferenceMap({ name: 'truth2', grid, values: new Float32Array([6, 5, 4, 3, 2, 1]), synthetic: false, description: '' });
    const r = s.referenceMap()!;
    expect(r.name).toBe('truth2');
    expect(Array.from(r.values)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(r.grid).toEqual(grid);
    expect(s.counts().hasReferenceMap).toBe(true);
    expect(s.meta().synthetic).toBe(true);
    s.close();
  });
});

describe('asyncTransaction', () => {
  it('commits on success, rolls everything back on a throw, and refuses outside writes meanwhile', async () => {
    const s = createProject(path.join(dir, 't.emfmap'), { name: 't', crs: 'local' });
    s.upsertSensors([sensor('A')]);
    await expect(
      s.asyncTransaction(async () => {
        s.insertReadings([rd('A', 1, 1)], 'replace');
        s.updateMeta({ crs: 'EPSG:2154' });
        await new Promise((r) => setTimeout(r, 5));
        s.insertReadings([rd('A', 2, 2)], 'replace');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(s.counts().readings).toBe(0);
    expect(s.meta().crs).toBe('local');

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = s.asyncTransaction(async () => {
      s.insertReadings([rd('A', 1, 1)], 'replace');
      await gate;
    });
    // a write from outside the transaction's async context is refused, not silently joined
    expect(() => s.insertReadings([rd('A', 5, 5)], 'replace')).toThrow(/busy with an import/);
    release();
    await tx;
    expect(s.readings().map((r) => r.value)).toEqual([1]);
    s.close();
  });
});
