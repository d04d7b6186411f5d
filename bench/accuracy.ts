// Accuracy table of every registered estimator (picked up from the registry, so methods added later
// appear automatically):
//   (a) the SYNTHETIC demo project: RMSE against its reference map, and leave-one-out cross-validation;
//   (b) real dense fields no one here made (vega-datasets): `volcano` (Maunga Whau heights, 87×61 cells
//       of 10 m) and `annual-precip` (global annual precipitation, 360×168 cells of 1°, treated as a flat
//       plate carrée with 1 km per degree: the estimators see plain metric coordinates). ~70 cells are
//       sampled (seeded), the field is reconstructed on a grid over its extent, and the map is read
//       bilinearly at EVERY cell centre of the original field to compute the RMSE against the full field.
// A "(sample mean)" row (the mean of the samples everywhere) gives the scale of a useless method.
//
//   npx tsx bench/accuracy.ts [--sizes 32,64,128] [--methods idw,kriging] [--samples 70] [--seed 1]
//                             [--datasets demo,volcano,precip] [--cv loo|kfold:10|blocks:5]
// Prints a table and writes bench/out/accuracy.json. Timings are wall-clock on a shared machine.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { estimatorIds } from '../src/estimators/registry.ts';
import { loadEstimator, projectObservations, runCompare } from '../src/service/estimate.ts';
import { compareToReference } from '../src/evaluation/reference.ts';
import { resolveParams } from '../src/estimators/params.ts';
import { gridOver } from '../src/estimators/grid-default.ts';
import { snapPoints } from '../src/estimators/observations.ts';
import { crossValidate } from '../src/evaluation/cv.ts';
import { computeMetrics } from '../src/evaluation/metrics.ts';
import { formatCvScheme, makeFolds, parseCvScheme, seededRandom } from '../src/evaluation/folds.ts';
import { sampleBilinear } from '../src/geo/grid.ts';
import type { Grid, Observations } from '../src/domain/types.ts';
import { createDemoProject } from '../src/demo/project.ts';
import { openProject } from '../src/store/project.ts';

interface Row {
  dataset: string;
  size: string;
  method: string;
  /** RMSE against the full field / reference map. */
  truthRmse: number | null;
  /** truthRmse / standard deviation of the field. */
  nrmse: number | null;
  truthMae: number | null;
  cvRmse: number | null;
  cvR2: number | null;
  fitS: number | null;
  predictS: number | null;
  totalS: number;
  backend: string;
  error?: string;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const sizes = arg('sizes', '64').split(',').map((s) => Number(s.trim()));
const methods = arg('methods', estimatorIds().join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const samples = Number(arg('samples', '70'));
const seed = Number(arg('seed', '1'));
const datasets = arg('datasets', 'demo,volcano,precip').split(',').map((s) => s.trim());
const cv = parseCvScheme(arg('cv', 'loo'));

interface Field {
  name: string;
  width: number;
  height: number;
  values: Float64Array;
  /** Cell size, metres. */
  cell: number;
}

function loadField(file: string, name: string, cell: number): Field {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const data = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/vega-datasets/data', file), 'utf8')) as { width: number; height: number; values: number[] };
  // both files are row-major with row 0 at the top (north): volcano's 87 columns run east-west
  if (data.values.length !== data.width * data.height) throw new Error(`${file}: ${data.values.length} values for ${data.width}×${data.height}`);
  return { name, width: data.width, height: data.height, values: Float64Array.from(data.values), cell };
}

function std(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return Math.sqrt(s / v.length);
}

/** "(sample mean)": the mean of the observations everywhere; its CV predicts each fold by the training mean. */
function baselineRow(dataset: string, size: string, obs: Observations, folds: Int32Array[] | null, truthRmse: number | null, truthMae: number | null, sd: number): Row {
  let cvRmse: number | null = null;
  let cvR2: number | null = null;
  if (folds) {
    const n = obs.values.length;
    const total = obs.values.reduce((a, b) => a + b, 0);
    const pred = new Float64Array(n);
    for (const f of folds) {
      let held = 0;
      for (const i of f) held += obs.values[i];
      for (const i of f) pred[i] = (total - held) / (n - f.length);
    }
    const m = computeMetrics(obs.values, pred);
    cvRmse = m.rmse;
    cvR2 = m.r2;
  }
  return { dataset, size, method: '(sample mean)', truthRmse, nrmse: truthRmse !== null ? truthRmse / sd : null, truthMae, cvRmse, cvR2, fitS: null, predictS: null, totalS: 0, backend: '-' };
}

async function fieldRows(f: Field): Promise<Row[]> {
  const rows: Row[] = [];
  const fieldGrid: Grid = { crs: 'local', width: f.width, height: f.height, bounds: { xmin: 0, ymin: 0, xmax: f.width * f.cell, ymax: f.height * f.cell } };
  const rand = seededRandom(seed);
  const picked = new Set<number>();
  while (picked.size < Math.min(samples, f.values.length)) picked.add(Math.floor(rand() * f.values.length));
  const idx = [...picked];
  const xs = idx.map((p) => (p % f.width + 0.5) * f.cell);
  const ys = idx.map((p) => f.height * f.cell - (Math.floor(p / f.width) + 0.5) * f.cell);
  const vs = idx.map((p) => f.values[p]);
  const sd = std(f.values);
  // every original cell centre, where the reconstruction is scored
  const cx = new Float64Array(f.values.length);
  const cy = new Float64Array(f.values.length);
  for (let p = 0; p < f.values.length; p++) {
    cx[p] = (p % f.width + 0.5) * f.cell;
    cy[p] = f.height * f.cell - (Math.floor(p / f.width) + 0.5) * f.cell;
  }
  for (const size of sizes) {
    const grid = gridOver(fieldGrid.bounds, 'local', { size });
    const obs = snapPoints(grid, xs, ys, vs).obs;
    const folds = makeFolds(cv, obs, seed);
    {
      const meanV = obs.values.reduce((a, b) => a + b, 0) / obs.values.length;
      const t = computeMetrics(f.values, new Float64Array(f.values.length).fill(meanV));
      const row = baselineRow(f.name, `${grid.width}×${grid.height}`, obs, folds, t.rmse, t.mae, sd);
      rows.push(row);
      log(row);
    }
    for (const m of methods) {
      const t0 = performance.now();
      const row: Row = { dataset: f.name, size: `${grid.width}×${grid.height}`, method: m, truthRmse: null, nrmse: null, truthMae: null, cvRmse: null, cvR2: null, fitS: null, predictS: null, totalS: 0, backend: 'js' };
      try {
        const est = await loadEstimator(m);
        const params = resolveParams(m, est.params, {});
        const tf = performance.now();
        const prepared = await est.prepare(obs, params, {}, [obs.values]);
        row.fitS = (performance.now() - tf) / 1000;
        try {
          const tp = performance.now();
          const map = await prepared.predict(obs.values, {});
          row.predictS = (performance.now() - tp) / 1000;
          const at = new Float64Array(f.values.length);
          for (let p = 0; p < at.length; p++) at[p] = sampleBilinear(grid, map.values, cx[p], cy[p]);
          const t = computeMetrics(f.values, at);
          row.truthRmse = t.rmse;
          row.truthMae = t.mae;
          row.nrmse = t.rmse / sd;
          if (folds) {
            const c = await crossValidate(est, obs, params, folds, {}, prepared);
            row.cvRmse = c.metrics.rmse;
            row.cvR2 = c.metrics.r2;
          }
        } finally {
          prepared.dispose?.();
        }
        row.backend = est.backend?.() ?? 'js';
      } catch (e) {
        row.error = (e as Error).message.split('\n')[0];
      }
      row.totalS = (performance.now() - t0) / 1000;
      rows.push(row);
      log(row);
    }
  }
  return rows;
}

async function demoRows(): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-bench-'));
  const file = path.join(dir, 'demo.emfmap');
  const rows: Row[] = [];
  try {
    await createDemoProject(file);
    const store = openProject(file);
    try {
      const ref = store.referenceMap();
      const sd = ref ? std(Array.from(ref.values).filter(Number.isFinite)) : NaN;
      for (const size of sizes) {
        const { obs, grid } = projectObservations(store, { grid: { size } });
        const meanV = obs.values.reduce((a, b) => a + b, 0) / obs.values.length;
        const t = ref ? compareToReference({ grid, values: new Float32Array(grid.width * grid.height).fill(meanV) }, ref) : null;
        const base = baselineRow('demo (synthetic)', `${grid.width}×${grid.height}`, obs, makeFolds(cv, obs, seed), t?.rmse ?? null, t?.mae ?? null, sd);
        rows.push(base);
        log(base);
        const res = await runCompare(store, { methods, cv: formatCvScheme(cv) as never, grid: { size }, seed });
        for (const r of res.rows) {
          const row: Row = {
            dataset: 'demo (synthetic)',
            size: `${res.grid.width}×${res.grid.height}`,
            method: r.method,
            truthRmse: r.truthRmse,
            nrmse: r.truthRmse !== null ? r.truthRmse / sd : null,
            truthMae: r.truthMae,
            cvRmse: r.rmse,
            cvR2: r.r2,
            fitS: null,
            predictS: null,
            totalS: r.seconds,
            backend: r.backend,
            ...(r.error ? { error: r.error } : {}),
          };
          rows.push(row);
          log(row);
        }
      }
    } finally {
      store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const fmt = (v: number | null | undefined, d = 4) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toPrecision(d));
const COLS: Array<[keyof Row, string, number]> = [
  ['dataset', 'dataset', 18], ['size', 'grid', 8], ['method', 'method', 15], ['truthRmse', 'RMSE(truth)', 11], ['nrmse', 'RMSE/sd', 8],
  ['truthMae', 'MAE(truth)', 10], ['cvRmse', `RMSE(${formatCvScheme(cv)})`, 11], ['cvR2', 'R²(cv)', 7], ['fitS', 'fit s', 8], ['predictS', 'map s', 8], ['totalS', 'total s', 8], ['backend', 'backend', 7],
];
function line(r: Row): string {
  return COLS.map(([k, , w]) => {
    const v = r[k];
    const num = typeof v === 'number' ? (k === 'fitS' || k === 'predictS' || k === 'totalS' ? v.toFixed(3) : fmt(v)) : null;
    return (num ?? (v === null || v === undefined ? '—' : String(v))).padEnd(w);
  }).join(' ') + (r.error ? ` ERROR: ${r.error}` : '');
}
let headerShown = false;
function log(r: Row): void {
  if (!headerShown) {
    process.stdout.write(COLS.map(([, h, w]) => h.padEnd(w)).join(' ') + '\n');
    headerShown = true;
  }
  process.stdout.write(line(r) + '\n');
}

async function mainBench(): Promise<void> {
  process.stdout.write(`accuracy: methods ${methods.join(', ')}; sizes ${sizes.join(', ')}; ${samples} samples per real field; seed ${seed}; cv ${formatCvScheme(cv)}\n`);
  process.stdout.write(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version} (shared machine: timings are noisy)\n\n`);
  const rows: Row[] = [];
  if (datasets.includes('demo')) rows.push(...(await demoRows()));
  if (datasets.includes('volcano')) rows.push(...(await fieldRows(loadField('volcano.json', 'volcano', 10))));
  if (datasets.includes('precip')) rows.push(...(await fieldRows(loadField('annual-precip.json', 'annual-precip', 1000))));
  const outDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'accuracy.json');
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), methods, sizes, samples, seed, cv: formatCvScheme(cv), machine: { cores: os.cpus().length, memGB: os.totalmem() / 2 ** 30, node: process.version }, rows }, null, 2));
  process.stdout.write(`\nwrote ${file}\n`);
}

await mainBench();
