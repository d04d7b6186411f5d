// `emfmap export` on a real project file (store/project.ts) through the CLI and the service: every
// format is written; invalid requests fail with a clear message, exit code 1, and write nothing.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import type { ExposureMap, Grid, Sensor } from '../../src/domain/types.ts';
import { UserError } from '../../src/domain/errors.ts';
import { CancelledError } from '../../src/domain/run.ts';
import { createProject } from '../../src/store/project.ts';
import { fromWgs84 } from '../../src/geo/crs.ts';
import { EmfmapService } from '../../src/service/service.ts';
import { exportRequest } from '../../src/cli/commands/export.ts';

const root = path.resolve(__dirname, '../..');
const GRID: Grid = { crs: 'EPSG:2154', bounds: { xmin: 703000, ymin: 7058000, xmax: 703400, ymax: 7058300 }, width: 40, height: 30 };
const PLANE: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 160, ymax: 120 }, width: 16, height: 12 };

function map(grid: Grid, scale: number, variance: boolean): ExposureMap {
  const n = grid.width * grid.height;
  const values = Float32Array.from({ length: n }, (_, i) => scale * (0.5 + 0.01 * (i % grid.width) + 0.02 * Math.floor(i / grid.width)));
  return {
    grid, values, variance: variance ? Float32Array.from({ length: n }, (_, i) => 0.01 + 0.0001 * i) : undefined,
    method: '', params: {}, backend: 'js', timings: { fit: 0.5, predict: 0.25, total: 0.75 }, diagnostics: {},
  };
}

let dir: string;
let project: string;
const ids: Record<string, number> = {};

function emfmap(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/emfmap.js'), ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under dir, recursively (temporaries included: they start with a dot). */
function listing(d: string): string[] {
  return fs.readdirSync(d, { recursive: true, withFileTypes: false }).map(String).sort();
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-export-cli-'));
  project = path.join(dir, 'district.emfmap');
  const store = createProject(project, { name: 'Test district', crs: 'EPSG:2154', synthetic: true, description: 'made by the export test' });
  const sensors: Sensor[] = [
    [50.6401, 3.0402, 'Rue A'],
    [50.6412, 3.0431, 'Place B'],
  ].map(([lat, lon, name], i) => {
    const [x, y] = fromWgs84('EPSG:2154', lon as number, lat as number);
    return { id: `s${i + 1}`, name: name as string, lat: lat as number, lon: lon as number, x, y, height: 3, meta: {} };
  });
  store.upsertSensors(sensors);
  const t0 = Date.UTC(2025, 2, 3);
  store.insertReadings(
    [0.8, 1.0].map((value, k) => ({ sensorId: 's1', time: t0 + k * 3600e3, value, band: null, quality: 0 })),
    'replace',
  );
  const base = { grid: GRID, selection: { agg: 'mean' as const }, backend: 'js', timings: { fit: 0.5, predict: 0.25, total: 0.75 }, diagnostics: {} };
  ids.idw = store.saveRun({ ...base, method: 'idw', params: { power: 2 }, metrics: { truth: { n: 1200, rmse: 0.2347, mae: 0.15, bias: 0.01, r2: 0.8 } }, label: '' }, [map(GRID, 1, false)]);
  ids.kriging = store.saveRun(
    { ...base, method: 'kriging', params: { model: 'exponential' }, backend: 'wasm', metrics: { loo: { n: 2, rmse: 0.3456, mae: 0.2, bias: -0.02, r2: 0.7 } }, label: 'loo test' },
    [map(GRID, 1.5, true)],
  );
  ids.steps = store.saveRun({ ...base, method: 'idw', params: { power: 3 }, metrics: {}, label: 'hourly' }, [map(GRID, 1, false), map(GRID, 2, false)]);
  ids.plane = store.saveRun({ ...base, grid: PLANE, method: 'gp', params: {}, metrics: {}, label: 'plane' }, [map(PLANE, 1, false)]);
  store.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('emfmap export (CLI)', () => {
  it('writes a GeoTIFF of the latest run of a method and reports it as JSON', () => {
    const out = path.join(dir, 'cli', 'kriging.tif');
    fs.mkdirSync(path.dirname(out));
    const r = emfmap(['export', '--project', project, '--method', 'kriging', '--format', 'geotiff', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.files).toEqual([out]);
    expect(res.bytes).toBe(fs.statSync(out).size);
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', out], { encoding: 'utf8' }));
    expect(info.bands.length).toBe(2); // kriging stored a variance
    expect(info.metadata[''].EMFMAP_RUN).toBe(String(ids.kriging));
    expect(info.metadata[''].EMFMAP_METHOD).toBe('kriging');
    expect(info.metadata[''].EMFMAP_SYNTHETIC).toBe('yes');
    expect(listing(path.dirname(out))).toEqual(['kriging.tif']); // no temporary left behind
  });

  it('writes a self-contained HTML report', () => {
    const out = path.join(dir, 'report'); // extension added
    const r = emfmap(['export', '--project', project, '--run', String(ids.kriging), '--format', 'report', '--out', out, '--thresholds', '0.8,1.2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}.html`);
    const html = fs.readFileSync(`${out}.html`, 'utf8');
    expect(html).not.toMatch(/(src|href)\s*=\s*"(?!data:)/); // nothing loaded from elsewhere
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('SYNTHETIC DATA');
    expect(html).toMatch(/@page \{ size: A4/);
    // the comparison table: the metrics stored with both runs
    expect(html).toContain('<td>0.235</td>'); // RMSE 0.2347 at 3 significant digits
    expect(html).toContain('0.346');
    expect(html).toContain('<td>leave-one-out</td>');
    expect(html).toContain('<td>reference map</td>');
    // classes of the thresholds with their shares
    expect(html).toContain('≥ 1.2 V/m');
    expect(html).toContain('exponential');
    // the images are real PNGs: map, legend, SD map, SD legend
    const uris = [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1]);
    expect(uris.length).toBe(4);
    for (const b64 of uris) expect(PNG.sync.read(Buffer.from(b64, 'base64')).width).toBeGreaterThan(10);
  });

  const failures: Array<[string, string[], RegExp]> = [
    ['unknown run', ['--run', '99', '--format', 'csv', '--out', 'OUT/x.csv'], /no run 99 in .* \(runs: 1, 2, 3, 4\)/],
    ['unknown method', ['--method', 'glip', '--format', 'csv', '--out', 'OUT/x.csv'], /no run of method "glip" .*methods with runs: idw, kriging, gp/],
    ['a "local" grid to KMZ', ['--run', 'PLANE', '--format', 'kmz', '--out', 'OUT/x.kmz'], /kmz places the map on the globe .* "local" CRS/],
    ['a "local" grid to GeoJSON', ['--run', 'PLANE', '--format', 'geojson', '--out', 'OUT/x.geojson'], /geojson places the map on the globe/],
    ['thresholds not increasing', ['--method', 'idw', '--format', 'png', '--out', 'OUT/x.png', '--thresholds', '3,1'], /thresholds must increase: 3 is followed by 1/],
    ['a threshold that is not a number', ['--method', 'idw', '--format', 'png', '--out', 'OUT/x.png', '--thresholds', '1,six'], /"six" is not a number/],
    ['a missing directory', ['--method', 'idw', '--format', 'geotiff', '--out', 'OUT/nodir/x.tif'], /directory .*nodir does not exist/],
    ['an extension of another format', ['--method', 'idw', '--format', 'geotiff', '--out', 'OUT/x.png'], /does not match --format geotiff/],
    ['an unknown format', ['--method', 'idw', '--format', 'shp', '--out', 'OUT/x.shp'], /unknown --format "shp"/],
    ['a step the run does not have', ['--method', 'kriging', '--format', 'csv', '--out', 'OUT/x.csv', '--step', '1'], /has 1 step\(s\): --step must be from 0 to 0/],
    ['an unknown ramp', ['--method', 'idw', '--format', 'png', '--out', 'OUT/x.png', '--ramp', 'rainbow'], /unknown colour ramp "rainbow"/],
  ];
  // each CLI start costs a second or two (tsx), so a few cases go through the process and the rest
  // through the same request parsing (exportRequest) and the service, in this process
  const viaCli = new Set(['unknown run', 'a "local" grid to KMZ', 'thresholds not increasing', 'a missing directory']);
  const argv = (args: string[], outDir: string) => args.map((a) => a.replace('OUT', outDir).replace('PLANE', String(ids.plane)));

  it.each(failures.filter(([what]) => viaCli.has(what)))('fails clearly, exit code 1, writes nothing: %s', (_what, args, message) => {
    const outDir = path.join(dir, `fail-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(outDir);
    const before = listing(dir);
    const r = emfmap(['export', '--project', project, ...argv(args, outDir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error|at .*\.ts:\d+/); // a message, not a stack trace
    expect(r.stdout).toBe('');
    expect(listing(dir)).toEqual(before);
    expect(listing(outDir)).toEqual([]);
  });

  it.each(failures.filter(([what]) => !viaCli.has(what)))('fails clearly with a UserError, writes nothing: %s', async (_what, args, message) => {
    const outDir = path.join(dir, `fail-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(outDir);
    const service = new EmfmapService({ projectPath: project });
    try {
      await service.summary(); // opening the project creates its WAL files: list after that
      const before = listing(dir);
      const a = argv(args, outDir);
      const opt = (name: string) => (a.includes(`--${name}`) ? a[a.indexOf(`--${name}`) + 1] : undefined);
      const run = async () => {
        const req = exportRequest({ run: opt('run'), method: opt('method'), step: opt('step'), format: opt('format'), out: opt('out'), thresholds: opt('thresholds'), ramp: opt('ramp') });
        return service.exportMap(req);
      };
      await expect(run()).rejects.toThrow(UserError);
      await expect(run()).rejects.toThrow(message);
      expect(listing(dir)).toEqual(before);
      expect(listing(outDir)).toEqual([]);
    } finally {
      service.close();
    }
  });
});

describe('exportMap (service)', () => {
  it('writes every format; the result lists the files and their bytes', async () => {
    const service = new EmfmapService({ projectPath: project });
    const out = path.join(dir, 'all');
    fs.mkdirSync(out);
    try {
      const expectFiles: Record<string, string[]> = {
        png: ['k.png', 'k.pgw', 'k.prj', 'k.png.aux.xml', 'k.legend.png', 'k.sd.png', 'k.sd.pgw', 'k.sd.prj', 'k.sd.png.aux.xml', 'k.sd.legend.png'],
        kmz: ['k.kmz'],
        geojson: ['k.geojson', 'k.contours.geojson'],
        csv: ['k.csv'],
      };
      for (const [format, names] of Object.entries(expectFiles)) {
        const res = await service.exportMap({ runId: ids.kriging, format: format as 'png', out: path.join(out, 'k'), thresholds: [0.8, 1.2] });
        expect(res.files.map((f) => path.basename(f))).toEqual(names);
        expect(res.bytes).toBe(res.files.reduce((s, f) => s + fs.statSync(f).size, 0));
      }
      // the KMZ carries the project's sensors
      const kml = execFileSync('unzip', ['-p', path.join(out, 'k.kmz'), 'doc.kml'], { encoding: 'utf8' });
      expect([...kml.matchAll(/<Placemark>/g)].length).toBe(2);
      expect(kml).toContain('Place B');
      expect(kml).toContain('<name>Rue A (0.9 V/m)</name>'); // mean of its readings, the run's aggregation
      expect(kml).toContain('observed: 0.9 V/m');
      expect(kml).toContain('[SYNTHETIC]');
    } finally {
      service.close();
    }
  });

  it('exports the requested time step', async () => {
    const service = new EmfmapService({ projectPath: project });
    try {
      const rows = async (step: number) => {
        const out = path.join(dir, `step${step}.csv`);
        await service.exportMap({ runId: ids.steps, step, format: 'csv', out });
        return fs.readFileSync(out, 'utf8').split('\n')[1].split(',')[4];
      };
      expect(Number(await rows(0))).toBeCloseTo(0.5 + 0.02 * 0, 6);
      expect(Number(await rows(1))).toBeCloseTo(2 * 0.5, 6); // second map is the first × 2
    } finally {
      service.close();
    }
  });

  it('refuses an output path that is a directory or lies under a file, and gives or takes both --run and --method', async () => {
    const service = new EmfmapService({ projectPath: project });
    await service.summary();
    const before = listing(dir);
    try {
      fs.mkdirSync(path.join(dir, 'adir.csv'));
      const after = listing(dir);
      await expect(service.exportMap({ runId: ids.idw, format: 'csv', out: path.join(dir, 'adir.csv') })).rejects.toThrow(/it is a directory/);
      await expect(service.exportMap({ runId: ids.idw, format: 'csv', out: path.join(project, 'x.csv') })).rejects.toThrow(/is not a directory/);
      await expect(service.exportMap({ runId: ids.idw, method: 'idw', format: 'csv', out: path.join(dir, 'y.csv') })).rejects.toThrow(/not both/);
      await expect(service.exportMap({ format: 'csv', out: path.join(dir, 'y.csv') })).rejects.toThrow(UserError);
      expect(listing(dir)).toEqual(after);
      fs.rmdirSync(path.join(dir, 'adir.csv'));
      expect(listing(dir)).toEqual(before);
    } finally {
      service.close();
    }
  });

  it('a cancelled export writes nothing', async () => {
    const service = new EmfmapService({ projectPath: project });
    const out = path.join(dir, 'cancel');
    fs.mkdirSync(out);
    try {
      const ac = new AbortController();
      const p = service.exportMap({ runId: ids.kriging, format: 'geojson', out: path.join(out, 'c.geojson'), thresholds: [0.8, 1.2] }, {
        signal: ac.signal,
        onProgress: (pr) => {
          if (pr.stage.includes('isobands')) ac.abort();
        },
      });
      await expect(p).rejects.toBeInstanceOf(CancelledError);
      expect(listing(out)).toEqual([]);
    } finally {
      service.close();
    }
  });

  it.skipIf(process.getuid?.() === 0)('refuses a directory it may not write to', async () => {
    const service = new EmfmapService({ projectPath: project });
    const ro = path.join(dir, 'readonly');
    fs.mkdirSync(ro, { mode: 0o555 });
    try {
      await expect(service.exportMap({ runId: ids.idw, format: 'csv', out: path.join(ro, 'x.csv') })).rejects.toThrow(/not writable/);
      expect(listing(ro)).toEqual([]);
    } finally {
      service.close();
      fs.chmodSync(ro, 0o755);
    }
  });
});
