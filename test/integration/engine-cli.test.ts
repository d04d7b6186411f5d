// End to end: a small project made here through the store, then the estimate / compare / runs / predict
// commands as a user runs them (child processes), and the service functions behind them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProject, openProject } from '../../src/store/project.ts';
import { seededRandom } from '../../src/evaluation/folds.ts';
import { runCompare, runEstimate } from '../../src/service/estimate.ts';
import { CancelledError } from '../../src/domain/run.ts';
import type { Grid, Sensor } from '../../src/domain/types.ts';
import { runCli } from '../helpers/cli.ts';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/emfmap.js');
let dir: string;
let project: string;
const sensors: Sensor[] = [];
const field = (x: number, y: number) => 1 + Math.sin(x / 300) + 0.5 * Math.cos(y / 200);
const T0 = Date.UTC(2024, 4, 1);

/** The real binary in a child process (exit codes, stdout/stderr as a user sees them). */
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  project = path.join(dir, 'tiny.emfmap');
  const s = createProject(project, { name: 'tiny', crs: 'local' });
  const r = seededRandom(5);
  for (let i = 0; i < 30; i++) {
    sensors.push({ id: `s${String(i).padStart(2, '0')}`, name: `S${i}`, lat: NaN, lon: NaN, x: 20 + r() * 960, y: 20 + r() * 760, height: null, meta: {} });
  }
  s.upsertSensors(sensors);
  const readings = [];
  for (let h = 0; h < 24; h++) {
    for (const se of sensors) {
      if (se.id === 's03' && h >= 10 && h < 14) continue; // a gap: s03 silent 10:00-14:00
      readings.push({ sensorId: se.id, time: T0 + h * 3600e3, value: field(se.x, se.y) * (1 + 0.2 * Math.sin(h / 4)), band: null, quality: 0 });
    }
  }
  s.insertReadings(readings, 'replace');
  const W = 100, H = 80;
  const vals = new Float32Array(W * H);
  for (let rr = 0; rr < H; rr++) for (let c = 0; c < W; c++) vals[rr * W + c] = field((c + 0.5) * 10, 800 - (rr + 0.5) * 10);
  s.setReferenceMap({ name: 'truth', grid: { crs: 'local', width: W, height: H, bounds: { xmin: 0, xmax: 1000, ymin: 0, ymax: 800 } }, values: vals, synthetic: true, description: 'test field' });
  s.close();
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('emfmap estimate / runs', () => {
  it('stores a run and prints a summary', async () => {
    const r = cli(['estimate', '--project', project, '--method', 'idw', '--grid', '64', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.run.method).toBe('idw');
    expect(res.run.grid.width).toBe(64);
    expect(res.run.steps).toBe(1);
    expect(res.summary.observed).toBe(30);
    // IDW is a convex combination: the map stays inside the range of the (mean) sensor values
    const means = sensors.map((s) => field(s.x, s.y) * (1 + 0.2 * Array.from({ length: 24 }, (_, h) => Math.sin(h / 4)).reduce((a, b) => a + b) / 24));
    expect(res.summary.min).toBeGreaterThanOrEqual(Math.min(...means) - 0.02);
    expect(res.summary.max).toBeLessThanOrEqual(Math.max(...means) + 0.02);
    expect(res.summary.negativeCells).toBe(0); // a convex combination of positive values
    expect(res.run.metrics.truth.rmse).toBeGreaterThan(0);
    expect(res.run.metrics.truth.rmse).toBeLessThan(0.5);

    const human = await runCli(['estimate', '--project', project, '--method', 'idw', '--cell', '25', '--param', 'power=3', '--label', 'p3']);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/run 2: idw on a \d+×\d+ grid \(25\.0 m cells/);
    expect(human.out).toMatch(/observed cells: 30/);
    expect(human.out).toMatch(/RMSE/);

    const list = JSON.parse((await runCli(['runs', '--project', project, '--json'])).out);
    expect(list.map((x: { id: number }) => x.id)).toEqual([1, 2]);
    expect(list[1].params.power).toBe(3);
    expect(list[1].label).toBe('p3');
  });

  it('--every builds one map per step, refitting only where the sensor set changes', () => {
    const r = cli(['estimate', '--project', project, '--method', 'idw', '--grid', '32', '--every', '2h', '--json']);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.out).run;
    expect(run.steps).toBe(12);
    // steps 10:00 and 12:00 lack s03: a second fit on 29 sensors, never a filled value
    expect(run.diagnostics.groups).toHaveLength(2);
    expect(run.diagnostics.groups.map((g: { steps: number; sensors: number }) => [g.steps, g.sensors])).toEqual([[10, 30], [2, 29]]);
    const store = openProject(project);
    try {
      const maps = store.runMaps(run.id);
      expect(maps.map((m) => m.time)).toEqual(Array.from({ length: 12 }, (_, i) => T0 + i * 2 * 3600e3));
      expect(maps[5].diagnostics.sensors).toBe(29);
      expect(maps[4].diagnostics.sensors).toBe(30);
    } finally {
      store.close();
    }
  });

  it('refuses bad requests with a clear message and exit code 1, storing nothing', async () => {
    const before = JSON.parse((await runCli(['runs', '--project', project, '--json'])).out).length;
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['--method', 'nope'], /unknown method "nope"/],
      [['--method', 'idw', '--grid', '2000'], /8 to 1024/],
      [['--method', 'idw', '--param', 'power=-1'], /power.*≥ 0/],
      [['--method', 'idw', '--every', '2 fortnights'], /cannot read --every/],
      [['--method', 'idw', '--from', '2024-06-01', '--to', '2024-06-02'], /nothing to map/],
      [['--method', 'idw', '--grid', '1024'], /needs about .* more than the limit/, { EMFMAP_MAX_MEMORY: '1M' }],
      [['--method', 'idw', '--quality', 'best'], /--quality must be good \(quality flag 0 only\) or all/],
      [['--method', 'idw', '--band', 'GSM900'], /nothing to map/],
    ];
    for (const [args, msg, env] of cases) {
      const r = await runCli(['estimate', '--project', project, ...args], env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(msg);
    }
    expect(JSON.parse((await runCli(['runs', '--project', project, '--json'])).out).length).toBe(before);
  });

  it('deletes a run', async () => {
    const before = JSON.parse((await runCli(['runs', '--project', project, '--json'])).out);
    expect((await runCli(['runs', '--project', project, '--delete', String(before[0].id)])).code).toBe(0);
    const after = JSON.parse((await runCli(['runs', '--project', project, '--json'])).out);
    expect(after.length).toBe(before.length - 1);
    const again = await runCli(['runs', '--project', project, '--delete', String(before[0].id)]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no run/);
  });
});

describe('cancel', () => {
  it('a cancelled run stores nothing', async () => {
    const store = openProject(project);
    try {
      const before = store.runs().length;
      const ac = new AbortController();
      let calls = 0;
      const p = runEstimate(store, { method: 'idw', grid: { size: 256 }, every: '1h' }, {
        signal: ac.signal,
        onProgress: () => {
          if (++calls === 5) ac.abort();
        },
      });
      await expect(p).rejects.toBeInstanceOf(CancelledError);
      expect(store.runs().length).toBe(before);
    } finally {
      store.close();
    }
  });
});

describe('emfmap compare', () => {
  it('leave-one-out RMSE equals an independent brute-force leave-one-out IDW on the snapped cells', async () => {
    const store = openProject(project);
    let res;
    try {
      res = await runCompare(store, { methods: ['idw'], cv: 'loo', grid: { size: 48 }, params: { idw: { neighbours: 0 } } });
    } finally {
      store.close();
    }
    const g: Grid = res.grid;
    // snap mean values to cell centres, here from scratch
    const hmean = Array.from({ length: 24 }, (_, h) => h);
    const cells = new Map<number, number[]>();
    for (const s of sensors) {
      const hours = hmean.filter((h) => !(s.id === 's03' && h >= 10 && h < 14));
      const v = hours.reduce((a, h) => a + field(s.x, s.y) * (1 + 0.2 * Math.sin(h / 4)), 0) / hours.length;
      const dx = (g.bounds.xmax - g.bounds.xmin) / g.width, dy = (g.bounds.ymax - g.bounds.ymin) / g.height;
      const c = Math.floor((g.bounds.ymax - s.y) / dy) * g.width + Math.floor((s.x - g.bounds.xmin) / dx);
      cells.set(c, [...(cells.get(c) ?? []), v]);
    }
    const pts = [...cells.entries()].map(([c, vs]) => {
      const dx = (g.bounds.xmax - g.bounds.xmin) / g.width, dy = (g.bounds.ymax - g.bounds.ymin) / g.height;
      return { x: g.bounds.xmin + ((c % g.width) + 0.5) * dx, y: g.bounds.ymax - (Math.floor(c / g.width) + 0.5) * dy, v: vs.reduce((a, b) => a + b) / vs.length };
    });
    let se = 0;
    for (const p of pts) {
      let sw = 0, swv = 0;
      for (const q of pts) {
        if (q === p) continue;
        const w = 1 / ((p.x - q.x) ** 2 + (p.y - q.y) ** 2);
        sw += w;
        swv += w * q.v;
      }
      se += (swv / sw - p.v) ** 2;
    }
    const row = res.rows[0];
    expect(row.cv!.n).toBe(pts.length);
    expect(row.rmse!).toBeCloseTo(Math.sqrt(se / pts.length), 9);
    expect(row.truthRmse).not.toBeNull();
    expect(row.residuals).toHaveLength(pts.length);
  });

  it('--json prints one row object per method; blocks and none schemes work', async () => {
    const r = cli(['compare', '--project', project, '--methods', 'idw', '--cv', 'blocks:4', '--grid', '32', '--param', 'idw.power=3', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out);
    expect(rows).toHaveLength(1);
    for (const k of ['method', 'rmse', 'mae', 'bias', 'r2', 'truthRmse', 'seconds', 'backend', 'runId']) expect(rows[0]).toHaveProperty(k);
    expect(rows[0].cv.n).toBe(30);
    const runsBefore = JSON.parse((await runCli(['runs', '--project', project, '--json'])).out);
    const saved = runsBefore.find((x: { id: number }) => x.id === rows[0].runId);
    expect(saved.label).toBe('compare blocks:4');
    expect(saved.params.power).toBe(3);
    expect(saved.metrics['blocks:4']).toEqual(rows[0].cv);
    const none = JSON.parse((await runCli(['compare', '--project', project, '--methods', 'idw', '--cv', 'none', '--grid', '32', '--json', '--no-save'])).out);
    expect(none[0].rmse).toBeNull();
    expect(none[0].truthRmse).toBeGreaterThan(0);
    expect(none[0]).not.toHaveProperty('runId');
    expect(JSON.parse((await runCli(['runs', '--project', project, '--json'])).out)).toHaveLength(runsBefore.length);
    const human = await runCli(['compare', '--project', project, '--methods', 'idw', '--grid', '32']);
    expect(human.code).toBe(0);
    const id = Number(/saved as run (\d+) \(idw\), labelled "compare loo"/.exec(human.out)?.[1]);
    const after = JSON.parse((await runCli(['runs', '--project', project, '--json'])).out);
    expect(after).toHaveLength(runsBefore.length + 1);
    const savedLoo = after.find((x: { id: number }) => x.id === id);
    expect(savedLoo).toMatchObject({ method: 'idw', label: 'compare loo' });
    // `runs` shows a saved comparison's cross-validated RMSE with its scheme
    const listed = (await runCli(['runs', '--project', project])).out.split('\n').find((l) => l.startsWith(`${id} `))!;
    expect(listed).toContain(`${Number(savedLoo.metrics.loo.rmse.toPrecision(4))} (loo)`);
    const bad = await runCli(['compare', '--project', project, '--methods', 'idw,zzz']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown method "zzz"/);
  });
});

describe('selection options', () => {
  it('--quality and --band reach the selection: flagged readings, bands combined into the total, one band', async () => {
    const { EmfmapService } = await import('../../src/service/service.ts');
    const p = path.join(dir, 'bands.emfmap');
    const svc = new EmfmapService();
    await svc.createProject(p);
    await svc.importReadings({ file: path.resolve(__dirname, '../fixtures/import/bands.csv'), unit: 'V/m' });
    svc.close();
    const run = async (...args: string[]) => {
      const r = await runCli(['estimate', '--project', p, '--method', 'idw', '--grid', '16', '--json', ...args]);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    // D1 has only a flagged reading; B1 and B2 only per-band readings (combined, not dropped)
    const good = await run();
    expect(good.summary.observed).toBe(4);
    expect(good.summary.droppedSensors).toEqual(['D1']);
    expect(good.run.selection).toMatchObject({ quality: 'good', band: null });
    // every value lies between the per-sensor means of the combined totals (see test/unit/select.test.ts)
    expect(good.summary.min).toBeGreaterThanOrEqual(0.5 - 1e-6);
    expect(good.summary.max).toBeLessThanOrEqual(1.5 + 1e-6);
    const all = await run('--quality', 'all');
    expect(all.summary.observed).toBe(5);
    expect(all.run.selection.quality).toBe('all');
    const umts = await run('--band', 'UMTS2100', '--agg', 'max');
    expect(umts.summary.observed).toBe(1);
    expect(umts.summary.min).toBeCloseTo(0.6, 6);
    expect(umts.summary.max).toBeCloseTo(0.6, 6);
  });
});

describe('saved comparisons', () => {
  it('store each method as a run: the map estimate makes, with metrics.<scheme> and metrics.truth', async () => {
    const store = openProject(project);
    try {
      const before = store.runs().length;
      const res = await runCompare(store, { methods: ['idw', 'kriging'], cv: 'kfold:5', grid: { size: 40 }, seed: 3 });
      expect(res.rows.every((r) => r.runId !== undefined)).toBe(true);
      expect(store.runs().length).toBe(before + 2);
      for (const row of res.rows) {
        const run = store.run(row.runId!)!;
        expect(run.method).toBe(row.method);
        expect(run.label).toBe('compare kfold:5');
        expect(run.steps).toBe(1);
        expect(run.grid).toEqual(res.grid);
        expect(run.selection).toMatchObject({ agg: 'mean', quality: 'good', band: null });
        const m = run.metrics as Record<string, Record<string, number>>;
        expect(m['kfold:5']).toEqual(row.cv);
        expect(m['kfold:5'].n).toBe(30);
        expect(m.truth.rmse).toBe(row.truthRmse);
        expect(m.truth.mae).toBe(row.truthMae);
        expect(run.timings.total).toBeCloseTo(row.seconds, 9);
        const cvd = run.diagnostics.cv as { scheme: string; folds: number; seed: number; residuals: Array<{ observed: number; predicted: number }> };
        expect(cvd).toMatchObject({ scheme: 'kfold:5', folds: 5, seed: 3 });
        // the stored held-out residuals give back the stored RMSE
        const se = cvd.residuals.reduce((a, r) => a + (r.predicted - r.observed) ** 2, 0);
        expect(Math.sqrt(se / cvd.residuals.length)).toBeCloseTo(m['kfold:5'].rmse, 12);

        // the map is the one `estimate` makes with the same grid and selection, and scores the same
        const est = await runEstimate(store, { method: row.method, grid: { size: 40 } });
        const [a] = store.runMaps(row.runId!);
        const [b] = store.runMaps(est.run.id);
        expect(Array.from(a.values)).toEqual(Array.from(b.values));
        expect(a.variance === undefined).toBe(row.method === 'idw');
        expect((est.run.metrics.truth as { rmse: number }).rmse).toBeCloseTo(row.truthRmse!, 12);
        store.deleteRun(est.run.id);
      }

      // the HTML report reads these runs' metrics: one 5-fold and one reference-map row per method, best first
      const { reportHtml, metricsRows } = await import('../../src/io/export/report.ts');
      const runs = store.runs().filter((r) => r.label === 'compare kfold:5');
      expect(runs.flatMap(metricsRows).map((r) => r.scheme).sort()).toEqual(['kfold:5', 'kfold:5', 'truth', 'truth']);
      const html = reportHtml({
        map: store.runMaps(runs[0].id)[0],
        run: runs[0],
        runs,
        project: { name: 'tiny', path: project, crs: 'local', synthetic: true, description: '' },
      });
      const body = html.slice(html.indexOf('Comparison of methods'));
      const fold = [...body.matchAll(/<td>([a-z]+) \(compare kfold:5\)<\/td><td>5-fold<\/td><td>30<\/td><td>([\d.]+)<\/td>/g)];
      const best = [...res.rows].sort((x, y) => x.rmse! - y.rmse!);
      expect(fold.map((f) => f[1])).toEqual(best.map((r) => r.method));
      expect(fold.map((f) => Number(f[2]))).toEqual(best.map((r) => Number(r.rmse!.toPrecision(3))));
      expect(body).toContain('<td>reference map</td>');
    } finally {
      store.close();
    }
  });

  it('save: false, a failed method and a cancelled comparison store nothing of theirs', async () => {
    const store = openProject(project);
    try {
      const before = store.runs().length;
      const unsaved = await runCompare(store, { methods: ['idw'], grid: { size: 24 }, save: false });
      expect(unsaved.rows[0].runId).toBeUndefined();
      expect(unsaved.rows[0].rmse).toBeGreaterThan(0);
      expect(store.runs().length).toBe(before);

      // a bad parameter fails idw only: kriging is still stored
      const mixed = await runCompare(store, { methods: ['idw', 'kriging'], grid: { size: 24 }, params: { idw: { power: -1 } } });
      const bad = mixed.rows.find((r) => r.method === 'idw')!;
      expect(bad.error).toMatch(/power/);
      expect(bad.runId).toBeUndefined();
      expect(store.runs().length).toBe(before + 1);
      expect(store.run(mixed.rows.find((r) => r.method === 'kriging')!.runId!)!.method).toBe('kriging');

      // cancelled in the second method: the first method's finished run is not stored either
      const ac = new AbortController();
      const p = runCompare(store, { methods: ['idw', 'kriging'], grid: { size: 24 } }, {
        signal: ac.signal,
        onProgress: (pr) => {
          if (pr.stage.startsWith('kriging')) ac.abort();
        },
      });
      await expect(p).rejects.toBeInstanceOf(CancelledError);
      expect(store.runs().length).toBe(before + 1);
    } finally {
      store.close();
    }
  });
});

describe('emfmap predict', () => {
  it('writes value per point from a readings file without a project', async () => {
    const readings = path.join(dir, 'r.csv');
    const points = path.join(dir, 'pts.csv');
    const out = path.join(dir, 'out.csv');
    fs.writeFileSync(readings, 'id,x,y,value\n' + sensors.map((s) => `${s.id},${s.x},${s.y},${field(s.x, s.y)}`).join('\n') + '\n');
    fs.writeFileSync(points, 'name,x,y\nA,500,400\nB,-50,900\nC,' + sensors[0].x + ',' + sensors[0].y + '\n');
    const r = cli(['predict', '--readings', readings, '--at', points, '--method', 'idw', '--crs', 'local', '--grid', '256', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('name,x,y,value');
    expect(lines).toHaveLength(4);
    const vals = lines.slice(1).map((l) => Number(l.split(',')[3]));
    const sv = sensors.map((s) => field(s.x, s.y));
    for (const v of vals) {
      expect(v).toBeGreaterThanOrEqual(Math.min(...sv));
      expect(v).toBeLessThanOrEqual(Math.max(...sv));
    }
    // at a sensor, the map (exact there) read bilinearly stays close to the reading
    expect(Math.abs(vals[2] - sv[0])).toBeLessThan(0.1);

    const noCrs = await runCli(['predict', '--readings', readings, '--at', points, '--method', 'idw', '--out', path.join(dir, 'x.csv')]);
    expect(noCrs.code).toBe(1);
    expect(noCrs.err).toMatch(/--crs/);
    expect(fs.existsSync(path.join(dir, 'x.csv'))).toBe(false);
    fs.writeFileSync(points, 'name,x,y\nA,500,abc\n');
    const bad = await runCli(['predict', '--readings', readings, '--at', points, '--method', 'idw', '--crs', 'local', '--out', path.join(dir, 'x.csv')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/pts\.csv, line 2, field "y"/);
  });
});
