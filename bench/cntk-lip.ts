// Which Local Image Prior should `cntk` use by default? Honest cross-validation on real and demo fields.
//
//   npx tsx bench/cntk-lip.ts [--quick]
//
// For each data set: sensors at random (volcano, annual-precip) or the demo's network (time-mean of its
// readings), a grid over the field, then for each candidate LIP:
//   cv    10-fold CV RMSE. LIPs that depend on the sensor set or the values are re-prepared on each fold's
//         training cells (the LIP never sees the held-out sensors); grid-only LIPs use the closed form,
//         which is the same refit exactly (the kernel does not depend on the sensors).
//   ref   RMSE of the map from all sensors against the full field (the ground truth).
// Both are relative to the field's standard deviation (lower is better). IDW (power 2, 12 neighbours) and
// ordinary kriging and the GP (when registered) are shown for scale. Writes bench/out/cntk-lip.json.

import fs from 'node:fs';
import path from 'node:path';
import type { Grid, Observations } from '../src/domain/types.ts';
import { cntk } from '../src/estimators/cntk.ts';
import { idw } from '../src/estimators/idw.ts';
import { snapPoints } from '../src/estimators/observations.ts';
import { withTargetTransform } from '../src/estimators/transform.ts';
import { getEstimator } from '../src/estimators/registry.ts';
import type { Estimator, ParamValues } from '../src/estimators/types.ts';
import { crossValidate } from '../src/evaluation/cv.ts';
import { kfoldFolds } from '../src/evaluation/folds.ts';
import { cellCentres, sampleBilinear } from '../src/geo/grid.ts';
import { mulberry32 } from '../src/util/random.ts';

const quick = process.argv.includes('--quick');

interface Dataset {
  name: string;
  obs: Observations;
  /** Ground truth at every cell of obs.grid. */
  truth: Float64Array;
}

const rng = mulberry32;

/** A vega raster (row 0 = north) as a sampling function on x ∈ [0, width], y ∈ [0, height]. */
function rasterDataset(name: string, file: string, n: number, gw: number, gh: number, seed: number): Dataset {
  const raw = JSON.parse(fs.readFileSync(path.join('node_modules/vega-datasets/data', file), 'utf8')) as { width: number; height: number; values: number[] };
  const src: Grid = { crs: 'local', bounds: { xmin: 0, xmax: raw.width, ymin: 0, ymax: raw.height }, width: raw.width, height: raw.height };
  const at = (x: number, y: number) => sampleBilinear(src, raw.values, x, y);
  const grid: Grid = { ...src, width: gw, height: gh };
  const r = rng(seed);
  const xs: number[] = [];
  const ys: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = r() * raw.width;
    const y = r() * raw.height;
    xs.push(x);
    ys.push(y);
    vs.push(at(x, y));
  }
  const { obs } = snapPoints(grid, xs, ys, vs);
  const c = cellCentres(grid);
  return { name, obs, truth: Float64Array.from(c.x, (x, i) => at(x, c.y[i])) };
}

async function demoDataset(side: number): Promise<Dataset | null> {
  try {
    const { generateDemo } = await import('../src/demo/generate.ts');
    const { resampleReference } = await import('../src/evaluation/reference.ts');
    const d = await generateDemo({});
    const sum = new Map<string, { s: number; k: number }>();
    for (const r of d.readings) {
      const e = sum.get(r.sensorId) ?? { s: 0, k: 0 };
      e.s += r.value;
      e.k++;
      sum.set(r.sensorId, e);
    }
    const grid: Grid = { crs: d.reference.grid.crs, bounds: d.reference.grid.bounds, width: side, height: side };
    const sensors = d.sensors.filter((s) => sum.has(s.id));
    const { obs } = snapPoints(grid, sensors.map((s) => s.x), sensors.map((s) => s.y), sensors.map((s) => sum.get(s.id)!.s / sum.get(s.id)!.k), sensors.map((s) => s.id));
    return { name: `demo (${obs.cell.length} sensors, time-mean)`, obs, truth: Float64Array.from(resampleReference(d.reference, grid)) };
  } catch (e) {
    console.error(`demo data set unavailable: ${(e as Error).message}`);
    return null;
  }
}

function sd(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i] / v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2 / v.length;
  return Math.sqrt(s);
}

function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) continue;
    s += (a[i] - b[i]) ** 2;
    k++;
  }
  return Math.sqrt(s / k);
}

interface Candidate {
  label: string;
  est: Estimator;
  params: ParamValues;
}

const LIPS = [
  'x,y,const',
  'distance,x,y,const',
  'mask,x,y,const',
  'idw,x,y,const',
  'idw,distance,x,y,const',
  'nearest,x,y,const',
  'values,mask,x,y,const',
  'idw,const',
];

async function main(): Promise<void> {
  const datasets: Dataset[] = [
    rasterDataset('volcano (40 random sensors)', 'volcano.json', 40, 48, 32, 10),
    rasterDataset('volcano (120 random sensors)', 'volcano.json', 120, 48, 32, 11),
    rasterDataset('annual-precip (150 random sensors)', 'annual-precip.json', 150, 64, 32, 12),
    ...(quick ? [] : [rasterDataset('annual-precip (400 random sensors)', 'annual-precip.json', 400, 64, 32, 13)]),
  ];
  const demo = await demoDataset(48);
  if (demo) datasets.push(demo);
  const logCntk = withTargetTransform(cntk);
  const context: Candidate[] = [];
  for (const id of ['kriging', 'gp']) {
    try {
      context.push({ label: id, est: await getEstimator(id), params: {} });
    } catch {
      /* not registered in this build */
    }
  }
  const cands: Candidate[] = [
    { label: 'idw (power 2, 12 nb)', est: idw, params: { power: 2, neighbours: 12, radius: 0 } },
    ...context,
    ...(quick ? LIPS.slice(0, 3) : LIPS).map((lip) => ({ label: `cntk lip=${lip}`, est: cntk, params: { lip, variance: false } as ParamValues })),
    { label: 'cntk lip=x,y,const target=raw', est: cntk, params: { lip: 'x,y,const', target: 'raw', variance: false } },
    { label: 'cntk lip=x,y,const log', est: logCntk, params: { lip: 'x,y,const', log: true, variance: false } },
    { label: 'cntk lip=idw,x,y,const log', est: logCntk, params: { lip: 'idw,x,y,const', log: true, variance: false } },
  ];
  const rows: Array<Record<string, unknown>> = [];
  for (const ds of datasets) {
    const s = sd(ds.truth);
    const folds = kfoldFolds(ds.obs.cell.length, 10, 7);
    console.log(`\n${ds.name}: grid ${ds.obs.grid.width}×${ds.obs.grid.height}, ${ds.obs.cell.length} observed cells, field sd ${s.toPrecision(4)}`);
    console.log('candidate'.padEnd(46), 'cv/sd'.padStart(8), 'ref/sd'.padStart(8), 'seconds'.padStart(8));
    for (const c of cands) {
      const full = c.est.params.map((p) => [p.name, p.default] as const);
      const params = { ...Object.fromEntries(full), ...c.params } as ParamValues;
      const t0 = performance.now();
      const cv = await crossValidate(c.est, ds.obs, params, folds);
      const prep = await c.est.prepare(ds.obs, params, {});
      const map = await prep.predict(ds.obs.values, {});
      const seconds = (performance.now() - t0) / 1000;
      const cvRel = cv.metrics.rmse / s;
      const refRel = rmse(map.values, ds.truth) / s;
      console.log(c.label.padEnd(46), cvRel.toFixed(4).padStart(8), refRel.toFixed(4).padStart(8), seconds.toFixed(1).padStart(8));
      rows.push({ dataset: ds.name, candidate: c.label, cvRmseOverSd: cvRel, refRmseOverSd: refRel, cvFastPath: cv.fastPath, seconds, tau: (prep.diagnostics as Record<string, unknown> | undefined)?.tau ?? null });
    }
  }
  // mean rank over data sets (cv and ref)
  const labels = cands.map((c) => c.label);
  const summary = labels.map((label) => {
    const mine = rows.filter((r) => r.candidate === label);
    return {
      candidate: label,
      meanCv: mine.reduce((a, r) => a + (r.cvRmseOverSd as number), 0) / mine.length,
      meanRef: mine.reduce((a, r) => a + (r.refRmseOverSd as number), 0) / mine.length,
    };
  });
  console.log('\nmean over data sets (relative RMSE, lower is better)');
  for (const r of summary) console.log(r.candidate.padEnd(46), r.meanCv.toFixed(4).padStart(8), r.meanRef.toFixed(4).padStart(8));
  fs.mkdirSync('bench/out', { recursive: true });
  fs.writeFileSync('bench/out/cntk-lip.json', JSON.stringify({ date: new Date().toISOString(), rows, summary }, null, 1));
  console.log('\nwrote bench/out/cntk-lip.json');
}

await main();
