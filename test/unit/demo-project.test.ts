// The demo project on disk: written through the project store, labelled synthetic, generated once and
// reused, never overwriting another file, and leaving nothing behind when cancelled.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoProject, defaultDemoPath, ensureDemoProject } from '../../src/demo/project.ts';
import { generateDemo, type DemoDataset } from '../../src/demo/generate.ts';
import { createProject, openProject } from '../../src/store/project.ts';
import { EmfmapService } from '../../src/service/service.ts';
import { CancelledError, type Progress } from '../../src/domain/run.ts';
import { UserError } from '../../src/domain/errors.ts';
import { main } from '../../src/cli/main.ts';
import { readingsCsv, readingsFrenchCsv, sensorsCsv } from '../../src/demo/write-examples.ts';
import { DEMO_START } from '../../src/demo/generate.ts';

const EXAMPLES = path.join(import.meta.dirname, '..', '..', 'resources', 'demo');

let dir: string;
let expected: DemoDataset;
let demoFile: string;
const progress: Progress[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  demoFile = path.join(dir, 'demo.emfmap');
  expected = await generateDemo();
  await createDemoProject(demoFile, {}, { onProgress: (p) => progress.push(p) });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('createDemoProject', () => {
  it('writes the generated sensors, readings and reference map, all marked synthetic', () => {
    const store = openProject(demoFile);
    try {
      const meta = store.meta();
      expect(meta.synthetic).toBe(true);
      expect(meta.name).toMatch(/SYNTHETIC/);
      expect(meta.description).toMatch(/SYNTHETIC/);
      expect(meta.crs).toBe(expected.scene.crs);
      expect(meta.aoi).toEqual(expected.scene.bounds);
      const counts = store.counts();
      expect(counts.sensors).toBe(70);
      expect(counts.readings).toBe(expected.readings.length);
      expect(counts.timeFrom).toBe(expected.times[0]);
      expect(counts.timeTo).toBe(expected.times[expected.times.length - 1]);
      expect(counts.hasReferenceMap).toBe(true);
      const ref = store.referenceMap()!;
      expect(ref.synthetic).toBe(true);
      expect(ref.name).toMatch(/SYNTHETIC/);
      expect(ref.grid).toEqual(expected.reference.grid);
      expect(Array.from(ref.values)).toEqual(Array.from(expected.reference.values));
      const sensors = store.sensors();
      expect(sensors.every((s) => s.meta.synthetic === true)).toBe(true);
      const s1 = sensors.find((s) => s.id === 'S001')!;
      expect(s1).toMatchObject({ x: expected.sensors[0].x, y: expected.sensors[0].y, height: expected.sensors[0].height });
      const r = store.readings({ sensorIds: ['S001'] });
      const want = expected.readings.filter((q) => q.sensorId === 'S001');
      expect(r.map((q) => [q.time, q.value])).toEqual(want.map((q) => [q.time, q.value]));
      // the generator is recorded like an import, so the project says where its data came from
      expect(store.imports()[0].fileName).toMatch(/SYNTHETIC/);
    } finally {
      store.close();
    }
  });

  it('reports progress from 0 to 1 without going back', () => {
    expect(progress.length).toBeGreaterThan(3);
    const f = progress.map((p) => p.fraction).filter((x): x is number => x !== undefined);
    for (let i = 1; i < f.length; i++) expect(f[i]).toBeGreaterThanOrEqual(f[i - 1]);
    expect(f[f.length - 1]).toBe(1);
  });

  it('leaves no file behind when cancelled', async () => {
    const target = path.join(dir, 'cancelled.emfmap');
    const ctrl = new AbortController();
    const before = fs.readdirSync(dir).sort();
    await expect(
      createDemoProject(target, {}, { signal: ctrl.signal, onProgress: (p) => (p.fraction ?? 0) > 0.5 && ctrl.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    // cancelled while the project file is being written: the temporary file goes too
    const ctrl2 = new AbortController();
    await expect(
      createDemoProject(target, { seed: 3 }, { signal: ctrl2.signal, onProgress: (p) => p.stage === 'writing project' && ctrl2.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('refuses an existing file', async () => {
    await expect(createDemoProject(demoFile)).rejects.toBeInstanceOf(UserError);
  });
});

describe('ensureDemoProject', () => {
  it('reuses an existing demo of the same seed without touching it', async () => {
    const mtime = fs.statSync(demoFile).mtimeMs;
    const r = await ensureDemoProject(demoFile, { seed: 42 });
    expect(r).toMatchObject({ created: false, seed: 42, variant: 'sensors', stale: false });
    expect(fs.statSync(demoFile).mtimeMs).toBe(mtime);
  });

  it('refuses to overwrite a project that is not the requested demo', async () => {
    const other = path.join(dir, 'mine.emfmap');
    createProject(other, { name: 'my city', crs: 'EPSG:2154' }).close();
    const size = fs.statSync(other).size;
    await expect(ensureDemoProject(other)).rejects.toThrow(/not an emfmap demo project/);
    expect(fs.statSync(other).size).toBe(size);
    await expect(ensureDemoProject(demoFile, { seed: 7 })).rejects.toThrow(/seed 42/);
    await expect(ensureDemoProject(demoFile, { driveTest: true })).rejects.toThrow(/sensors demo/);
    await expect(ensureDemoProject(path.join(dir, 'x.emfmap'), { seed: -1 })).rejects.toBeInstanceOf(UserError);
  });

  it('puts the default demo in $EMFMAP_DATA_DIR, named by variant and seed', () => {
    const old = process.env.EMFMAP_DATA_DIR;
    process.env.EMFMAP_DATA_DIR = dir;
    try {
      expect(defaultDemoPath()).toBe(path.join(dir, 'demo.emfmap'));
      expect(defaultDemoPath({ driveTest: true })).toBe(path.join(dir, 'demo-drive.emfmap'));
      expect(defaultDemoPath({ seed: 7 })).toBe(path.join(dir, 'demo-seed7.emfmap'));
    } finally {
      if (old === undefined) delete process.env.EMFMAP_DATA_DIR;
      else process.env.EMFMAP_DATA_DIR = old;
    }
  });
});

describe('service and CLI', () => {
  it('openDemo opens the demo project', async () => {
    const service = new EmfmapService();
    try {
      const summary = await service.openDemo(demoFile);
      expect(summary.meta.synthetic).toBe(true);
      expect(summary.counts.sensors).toBe(70);
      expect(summary.counts.hasReferenceMap).toBe(true);
      expect((await service.referenceMap())?.synthetic).toBe(true);
    } finally {
      service.close();
    }
  });

  it('`emfmap demo --json` prints the summary of the existing demo', async () => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['demo', '--project', demoFile, '--json']);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(j).toMatchObject({ created: false, synthetic: true, seed: 42, variant: 'sensors', sensors: 70, readings: expected.readings.length });
    expect(j.referenceMap).toMatchObject({ width: 200, height: 200, synthetic: true });
    expect(j.name).toMatch(/SYNTHETIC/);
  });

  it('`emfmap demo --seed x` is a user error (exit 1)', async () => {
    const err = process.stderr.write.bind(process.stderr);
    const msgs: string[] = [];
    process.stderr.write = ((chunk: string | Uint8Array) => {
      msgs.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['demo', '--project', demoFile, '--seed', 'x']);
    } finally {
      process.stderr.write = err;
    }
    expect(code).toBe(1);
    expect(msgs.join('')).toMatch(/--seed must be an integer/);
  });
});

describe('example CSV files in resources/demo', () => {
  it('are what the generator writes today (regenerate with npx tsx src/demo/write-examples.ts)', () => {
    expect(fs.readFileSync(path.join(EXAMPLES, 'demo-sensors.csv'), 'utf8')).toBe(sensorsCsv(expected));
    expect(fs.readFileSync(path.join(EXAMPLES, 'demo-readings.csv'), 'utf8')).toBe(readingsCsv(expected, 2));
    expect(fs.readFileSync(path.join(EXAMPLES, 'demo-readings-fr.csv'), 'utf8')).toBe(readingsFrenchCsv(expected, 1));
    const drive = fs.readFileSync(path.join(EXAMPLES, 'demo-drive.csv'), 'utf8').trim().split('\n');
    expect(drive[0]).toBe('point_id,latitude,longitude,E (V/m)');
    expect(drive.length - 1).toBeGreaterThan(1000);
    const total = ['demo-sensors.csv', 'demo-readings.csv', 'demo-readings-fr.csv', 'demo-drive.csv']
      .map((f) => fs.statSync(path.join(EXAMPLES, f)).size)
      .reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(300 * 1024);
  });

  it('the French-style file imports (with the sensors file, Europe/Paris time) to the generated readings', async () => {
    const service = new EmfmapService();
    try {
      await service.createProject(path.join(dir, 'fr.emfmap'));
      const report = await service.importReadings({
        file: path.join(EXAMPLES, 'demo-readings-fr.csv'),
        sensorsFile: path.join(EXAMPLES, 'demo-sensors.csv'),
        timezone: 'Europe/Paris',
      });
      expect(report.errors).toEqual([]);
      const day1 = expected.readings.filter((r) => r.time! < DEMO_START + 24 * 3_600_000);
      expect(report.readingsAdded).toBe(day1.length);
      const got = await service.readings({});
      const key = (r: { sensorId: string; time: number | null; value: number }) => `${r.sensorId}@${r.time}=${r.value.toFixed(3)}`;
      expect(new Set(got.map(key))).toEqual(new Set(day1.map(key)));
      const sensors = await service.sensors();
      const s1 = sensors.find((s) => s.id === 'S001')!;
      expect(s1.lat).toBeCloseTo(expected.sensors[0].lat, 7);
      expect(s1.lon).toBeCloseTo(expected.sensors[0].lon, 7);
      expect(s1.height).toBe(expected.sensors[0].height);
    } finally {
      service.close();
    }
  });
});
