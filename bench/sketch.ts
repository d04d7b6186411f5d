// cntk-sketch benchmark:
//   (1) scaling: time and peak memory (RSS high-water mark of a fresh process) of one prepare + one map
//       (with variance) against the number of cells, 64×64 … 1024×1024, feature dimension fixed (default 512,
//       the default from 512×512 up) so that the growth is the pixel count's; 70 sensors sampled on the
//       volcano field stretched over the grid. Checks: 512×512 in < 60 s and < 6 GB.
//   (2) accuracy at 128×128 against the exact `cntk` estimator (same model, exact kernel): RMSE against the
//       truth on the demo project (its reference map) and on a real field (vega-datasets volcano, ~70 cells
//       sampled, RMSE at every original cell), and leave-one-out RMSE; the sketch with its default feature
//       dimension at 128×128 (4096), several seeds. Check: sketch RMSE within 5 % of the exact one.
//
//   npx tsx bench/sketch.ts [--sizes 64,128,256,512,1024] [--features 512] [--seeds 1,2,3]
//                           [--accuracy-features 0 (= by grid size)] [--skip-scaling] [--skip-accuracy]
// Prints tables and writes bench/out/sketch.json. Wall-clock timings on a shared 2-core machine: noisy when
// others work (the load average is recorded).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Grid, Observations } from '../src/domain/types.ts';
import { resolveParams } from '../src/estimators/params.ts';
import { gridOver } from '../src/estimators/grid-default.ts';
import { snapPoints } from '../src/estimators/observations.ts';
import { crossValidate } from '../src/evaluation/cv.ts';
import { makeFolds, parseCvScheme, seededRandom } from '../src/evaluation/folds.ts';
import { computeMetrics } from '../src/evaluation/metrics.ts';
import { compareToReference } from '../src/evaluation/reference.ts';
import { sampleBilinear } from '../src/geo/grid.ts';
import { loadEstimator, projectObservations } from '../src/service/estimate.ts';
import { createDemoProject } from '../src/demo/project.ts';
import { openProject } from '../src/store/project.ts';
import type { ReferenceMap } from '../src/domain/types.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

interface Field {
  width: number;
  height: number;
  values: Float64Array;
  /** Cell size, metres. */
  cell: number;
}

function volcanoField(): Field {
  const data = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/vega-datasets/data/volcano.json'), 'utf8')) as { width: number; height: number; values: number[] };
  return { width: data.width, height: data.height, values: Float64Array.from(data.values), cell: 10 };
}

/** n seeded samples of a field (bilinear at random points), positions in metres, as in bench/accuracy.ts. */
function fieldSamples(f: Field, n: number, seed: number): { xs: number[]; ys: number[]; vs: number[]; fieldGrid: Grid } {
  const fieldGrid: Grid = { crs: 'local', width: f.width, height: f.height, bounds: { xmin: 0, ymin: 0, xmax: f.width * f.cell, ymax: f.height * f.cell } };
  const rand = seededRandom(seed);
  const picked = new Set<number>();
  while (picked.size < Math.min(n, f.values.length)) picked.add(Math.floor(rand() * f.values.length));
  const idx = [...picked];
  return {
    xs: idx.map((p) => ((p % f.width) + 0.5) * f.cell),
    ys: idx.map((p) => f.height * f.cell - (Math.floor(p / f.width) + 0.5) * f.cell),
    vs: idx.map((p) => f.values[p]),
    fieldGrid,
  };
}

function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss;
}

// ------------------------------------------------------------------------------------------- child: one size

interface ScalingRow {
  size: number;
  cells: number;
  features: number;
  observed: number;
  featureSeconds: number | null;
  prepareSeconds: number | null;
  predictSeconds: number | null;
  totalSeconds: number | null;
  peakRssGB: number | null;
  backend: string;
  error?: string;
}

async function child(size: number, features: number): Promise<void> {
  const f = volcanoField();
  const s = fieldSamples(f, 70, 1);
  // the field stretched over a size×size grid: the same 70 sensors at every size
  const grid: Grid = { crs: 'local', width: size, height: size, bounds: { xmin: 0, ymin: 0, xmax: f.width * f.cell, ymax: f.height * f.cell } };
  const obs = snapPoints(grid, s.xs, s.ys, s.vs).obs;
  const est = await loadEstimator('cntk-sketch');
  const params = resolveParams('cntk-sketch', est.params, { features });
  const t0 = performance.now();
  const prepared = await est.prepare(obs, params, {}, [obs.values]);
  const t1 = performance.now();
  const map = await prepared.predict(obs.values, {});
  const t2 = performance.now();
  if (!map.variance || !Number.isFinite(map.values[0])) throw new Error('no map');
  const d = prepared.diagnostics ?? {};
  prepared.dispose?.();
  const row: ScalingRow = {
    size,
    cells: size * size,
    features: Number(d.features),
    observed: obs.cell.length,
    featureSeconds: Number(d.featureSeconds),
    prepareSeconds: (t1 - t0) / 1000,
    predictSeconds: (t2 - t1) / 1000,
    totalSeconds: (t2 - t0) / 1000,
    peakRssGB: peakRssBytes() / 2 ** 30,
    backend: String(d.featureBackend),
  };
  process.stdout.write(`RESULT ${JSON.stringify(row)}\n`);
}

function runChild(size: number, features: number): ScalingRow {
  const r = spawnSync('npx', ['tsx', fileURLToPath(import.meta.url), '--child', String(size), '--features', String(features)], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30 * 60 * 1000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return JSON.parse(line.slice(7)) as ScalingRow;
  const err = ((r.stderr ?? '') + (r.error ? String(r.error) : '')).split('\n').filter((l) => /Error|error|abort/i.test(l) && !l.startsWith('var Module')).slice(-1)[0] ?? `exit ${r.status}`;
  return { size, cells: size * size, features, observed: 0, featureSeconds: null, prepareSeconds: null, predictSeconds: null, totalSeconds: null, peakRssGB: null, backend: '-', error: err.slice(0, 200) };
}

// ------------------------------------------------------------------------------------------- accuracy

interface AccuracyRow {
  dataset: string;
  method: string;
  seed: number | null;
  features: number | null;
  truthRmse: number;
  /** truthRmse / exact cntk's truthRmse. */
  ratio: number | null;
  looRmse: number | null;
  seconds: number;
}

async function evaluate(
  dataset: string,
  method: 'cntk' | 'cntk-sketch',
  obs: Observations,
  seed: number | null,
  truthRmse: (map: Float32Array) => number,
): Promise<AccuracyRow> {
  const est = await loadEstimator(method);
  const m = Number(arg('accuracy-features', '0'));
  const params = resolveParams(method, est.params, method === 'cntk' ? { variance: false } : { variance: false, seed: seed ?? 1, features: m });
  const t0 = performance.now();
  const prepared = await est.prepare(obs, params, {}, [obs.values]);
  try {
    const map = await prepared.predict(obs.values, {});
    const seconds = (performance.now() - t0) / 1000;
    const folds = makeFolds(parseCvScheme('loo'), obs, 1);
    const cv = folds ? await crossValidate(est, obs, params, folds, {}, prepared) : null;
    return {
      dataset,
      method,
      seed,
      features: method === 'cntk' ? null : Number(prepared.diagnostics?.features),
      truthRmse: truthRmse(map.values),
      ratio: null,
      looRmse: cv ? cv.metrics.rmse : null,
      seconds,
    };
  } finally {
    prepared.dispose?.();
  }
}

async function accuracy(seeds: number[]): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  const compare = async (dataset: string, obs: Observations, truthRmse: (map: Float32Array) => number) => {
    const exact = await evaluate(dataset, 'cntk', obs, null, truthRmse);
    exact.ratio = 1;
    rows.push(exact);
    logAcc(exact);
    for (const seed of seeds) {
      const r = await evaluate(dataset, 'cntk-sketch', obs, seed, truthRmse);
      r.ratio = r.truthRmse / exact.truthRmse;
      rows.push(r);
      logAcc(r);
    }
  };

  // (a) the synthetic demo project against its reference map
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-bench-sketch-'));
  try {
    const file = path.join(dir, 'demo.emfmap');
    await createDemoProject(file);
    const store = openProject(file);
    try {
      const ref = store.referenceMap() as ReferenceMap;
      const { obs, grid } = projectObservations(store, { grid: { size: 128 } });
      await compare(`demo ${grid.width}×${grid.height}`, obs, (values) => compareToReference({ grid, values }, ref).rmse);
    } finally {
      store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // (b) volcano: 70 sampled cells, reconstruction read at every original cell
  const f = volcanoField();
  const s = fieldSamples(f, 70, 1);
  const grid = gridOver(s.fieldGrid.bounds, 'local', { size: 128 });
  const obs = snapPoints(grid, s.xs, s.ys, s.vs).obs;
  const cx = new Float64Array(f.values.length);
  const cy = new Float64Array(f.values.length);
  for (let p = 0; p < f.values.length; p++) {
    cx[p] = ((p % f.width) + 0.5) * f.cell;
    cy[p] = f.height * f.cell - (Math.floor(p / f.width) + 0.5) * f.cell;
  }
  await compare(`volcano ${grid.width}×${grid.height}`, obs, (values) => {
    const at = new Float64Array(f.values.length);
    for (let p = 0; p < at.length; p++) at[p] = sampleBilinear(grid, values, cx[p], cy[p]);
    return computeMetrics(f.values, at).rmse;
  });
  return rows;
}

// ------------------------------------------------------------------------------------------- output

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function logScaling(r: ScalingRow): void {
  const perM = r.totalSeconds !== null ? r.totalSeconds / (r.cells / 1e6) : null;
  process.stdout.write(
    `${`${r.size}×${r.size}`.padEnd(11)} ${String(r.cells).padEnd(9)} ${String(r.features).padEnd(5)} ${fmt(r.featureSeconds, 1).padEnd(8)} ${fmt(r.prepareSeconds, 1).padEnd(9)} ${fmt(r.predictSeconds, 1).padEnd(9)} ${fmt(r.totalSeconds, 1).padEnd(8)} ${fmt(perM, 1).padEnd(9)} ${fmt(r.peakRssGB, 2).padEnd(8)} ${r.backend}${r.error ? `  ERROR: ${r.error}` : ''}\n`,
  );
}

function logAcc(r: AccuracyRow): void {
  process.stdout.write(
    `${r.dataset.padEnd(16)} ${r.method.padEnd(12)} ${String(r.seed ?? '—').padEnd(5)} ${String(r.features ?? '—').padEnd(6)} ${fmt(r.truthRmse, 4).padEnd(12)} ${r.ratio === null ? '—'.padEnd(8) : `${((r.ratio - 1) * 100).toFixed(1)} %`.padEnd(8)} ${fmt(r.looRmse, 4).padEnd(10)} ${fmt(r.seconds, 1)}\n`,
  );
}

async function main(): Promise<void> {
  const ci = process.argv.indexOf('--child');
  if (ci >= 0) {
    await child(Number(process.argv[ci + 1]), Number(arg('features', '512')));
    return;
  }
  const sizes = arg('sizes', '64,128,256,512,1024').split(',').map(Number);
  const features = Number(arg('features', '512'));
  const seeds = arg('seeds', '1,2,3').split(',').map(Number);
  const load0 = os.loadavg()[0];
  process.stdout.write(`cntk-sketch benchmark: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}; load average ${load0.toFixed(1)} (shared machine: timings are noisy)\n\n`);
  let scaling: ScalingRow[] = [];
  if (!flag('skip-scaling')) {
    process.stdout.write(`(1) scaling: one prepare + one map with variance, features = ${features}, 70 sensors, default architecture; each size in a fresh process\n`);
    process.stdout.write(`${'grid'.padEnd(11)} ${'cells'.padEnd(9)} ${'m'.padEnd(5)} ${'feat s'.padEnd(8)} ${'prepare s'.padEnd(9)} ${'map s'.padEnd(9)} ${'total s'.padEnd(8)} ${'s/Mcell'.padEnd(9)} ${'peak GB'.padEnd(8)} backend\n`);
    scaling = sizes.map((size) => {
      const r = runChild(size, features);
      logScaling(r);
      return r;
    });
  }
  const r512 = scaling.find((r) => r.size === 512 && r.totalSeconds !== null);
  const checks: Record<string, unknown> = {};
  if (r512) {
    checks.map512Seconds = r512.totalSeconds;
    checks.map512PeakGB = r512.peakRssGB;
    checks.map512Under60sAnd6GB = (r512.totalSeconds ?? Infinity) < 60 && (r512.peakRssGB ?? Infinity) < 6;
    process.stdout.write(`\n512×512: ${fmt(r512.totalSeconds, 1)} s, ${fmt(r512.peakRssGB, 2)} GB peak RSS → ${checks.map512Under60sAnd6GB ? 'within' : 'NOT within'} 60 s / 6 GB\n`);
  }
  let acc: AccuracyRow[] = [];
  if (!flag('skip-accuracy')) {
    process.stdout.write(`\n(2) accuracy at 128×128 against the exact cntk (RMSE against the truth; Δ = relative to exact cntk; LOO = leave-one-out)\n`);
    process.stdout.write(`${'dataset'.padEnd(16)} ${'method'.padEnd(12)} ${'seed'.padEnd(5)} ${'m'.padEnd(6)} ${'RMSE(truth)'.padEnd(12)} ${'Δ'.padEnd(8)} ${'LOO RMSE'.padEnd(10)} s\n`);
    acc = await accuracy(seeds);
    for (const ds of [...new Set(acc.map((r) => r.dataset))]) {
      const sk = acc.filter((r) => r.dataset === ds && r.method === 'cntk-sketch');
      const meanRatio = sk.reduce((a, r) => a + (r.ratio ?? 0), 0) / sk.length;
      const worst = Math.max(...sk.map((r) => r.ratio ?? Infinity));
      checks[`${ds}: sketch/exact RMSE (mean of seeds)`] = meanRatio;
      checks[`${ds}: worst seed`] = worst;
      process.stdout.write(`${ds}: sketch RMSE / exact RMSE = ${meanRatio.toFixed(3)} on average over seeds (worst ${worst.toFixed(3)}) → ${meanRatio <= 1.05 ? 'within' : 'NOT within'} 5 %\n`);
    }
  }
  const load1 = os.loadavg()[0];
  const out = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, memoryGB: os.totalmem() / 2 ** 30, node: process.version, loadAverageStart: load0, loadAverageEnd: load1 },
    features,
    scaling,
    accuracy: acc,
    checks,
  };
  const dir = path.join(root, 'bench', 'out');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'sketch.json'), JSON.stringify(out, null, 2));
  process.stdout.write(`\nload average at the end ${load1.toFixed(1)}; wrote bench/out/sketch.json\n`);
}

await main();
