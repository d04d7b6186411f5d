// Demo generation speed and the demo's learnability.
//
//   npx tsx bench/demo.ts [--seed 42] [--repeat 3]
//     each stage of the synthetic scene for both variants, the whole project written to disk, and the
//     value ranges it produces; writes bench/out/demo.json.
//
//   npx tsx bench/demo.ts --learnability [--seeds 42,1,2,...,15] [--days 7] [--methods idw,kriging]
//     how much of the demo's field an interpolator can recover from the 70 sensors, for the default
//     scenario and with each tuning choice of docs/demo.md ("Tuning") reverted in turn: leave-one-sensor-out
//     R² of the time-mean per sensor (as `emfmap compare --cv loo` computes it: 128×128 grid over the
//     area, readings averaged per sensor) and RMSE of the map against the reference map, relative to the
//     sample mean's. Writes bench/out/demo-learnability.json. A few minutes (generation + CV per seed).
//
// Wall-clock on a shared machine: noisy (best of N shown).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDemo, type DemoParams, type DemoVariant } from '../src/demo/generate.ts';
import { createDemoProject } from '../src/demo/project.ts';
import { buildScene } from '../src/demo/scene.ts';
import { gridOver } from '../src/estimators/grid-default.ts';
import { observationsFromSites, siteCells } from '../src/estimators/observations.ts';
import { resolveParams } from '../src/estimators/params.ts';
import { getEstimator } from '../src/estimators/registry.ts';
import { crossValidate } from '../src/evaluation/cv.ts';
import { looFolds } from '../src/evaluation/folds.ts';
import { compareToReference } from '../src/evaluation/reference.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const outDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'out');

/** Quantile of the finite values (reference maps carry NaN outside public space). */
function quantile(v: ArrayLike<number>, q: number): number {
  const a = Array.from(v).filter(Number.isFinite).sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor(q * a.length))];
}

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : v === undefined ? '' : String(v));

function printTable(rows: Array<Record<string, unknown>>, cols: string[]): void {
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  console.log(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
  for (const r of rows) console.log(cols.map((c, i) => fmt(r[c]).padEnd(widths[i])).join('  '));
}

async function timings(): Promise<void> {
  const seed = Number(arg('seed', '42'));
  const repeat = Number(arg('repeat', '3'));
  async function best(fn: () => Promise<unknown> | unknown): Promise<number> {
    let b = Infinity;
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      await fn();
      b = Math.min(b, (performance.now() - t0) / 1000);
    }
    return b;
  }
  const rows: Array<Record<string, unknown>> = [];
  const sceneS = await best(() => buildScene(seed));
  rows.push({ stage: 'scene (layout, sites, shadowing)', seconds: sceneS });
  for (const variant of ['sensors', 'drive'] as DemoVariant[]) {
    const genS = await best(() => generateDemo({ seed, variant }));
    const d = await generateDemo({ seed, variant });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-bench-'));
    let k = 0;
    const writeS = await best(() => createDemoProject(path.join(dir, `d${k++}.emfmap`), { seed, driveTest: variant === 'drive' }));
    const bytes = fs.statSync(path.join(dir, 'd0.emfmap')).size;
    fs.rmSync(dir, { recursive: true, force: true });
    const ref = d.reference.values;
    const vals = d.readings.map((r) => r.value);
    rows.push({
      stage: `${variant}: generate`,
      seconds: genS,
      sensors: d.sensors.length,
      readings: d.readings.length,
      refCells: Array.from(ref).filter(Number.isFinite).length,
      refMedian: quantile(ref, 0.5),
      refP99: quantile(ref, 0.99),
      refMax: quantile(ref, 1),
      readMedian: quantile(vals, 0.5),
      readMax: quantile(vals, 1),
    });
    rows.push({ stage: `${variant}: generate + write project`, seconds: writeS, mb: bytes / 1e6 });
  }
  printTable(rows, ['stage', 'seconds', 'sensors', 'readings', 'refCells', 'refMedian', 'refP99', 'refMax', 'readMedian', 'readMax', 'mb']);
  console.log(`(best of ${repeat}; ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}: timings are noisy on a shared machine)`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'demo.json'), JSON.stringify({ seed, repeat, loadavg: os.loadavg()[0], rows }, null, 2));
}

/** The default scenario and each tuning choice reverted (docs/demo.md, "Tuning"). */
const SCENARIOS: Array<{ name: string; opts: Partial<DemoParams> }> = [
  { name: 'default (generator 2)', opts: {} },
  { name: 'plain LOS/NLOS switch', opts: { scene: { nlosScale: 0 } } },
  { name: 'single-scale shadowing', opts: { scene: { largeShare: 0 } } },
  { name: 'sensor spacing 80 → 60 m', opts: { sensorSpacing: 60 } },
  { name: '5 → 9 sites', opts: { scene: { sites: 9 } } },
  { name: 'reference on all cells', opts: { referenceMask: 'none' } },
  {
    name: 'all reverted (generator 1)',
    opts: { scene: { nlosScale: 0, largeShare: 0, sites: 9 }, sensorSpacing: 60, referenceMask: 'none' },
  },
];

interface Score {
  r2: number;
  truthRatio: number;
}

/** LOO R² and truth RMSE / sample-mean truth RMSE of each method on one generated dataset. */
async function score(opts: Partial<DemoParams>, methods: string[]): Promise<{ scores: Record<string, Score>; meanTruthRmse: number }> {
  const d = await generateDemo(opts);
  const grid = gridOver(d.meta.aoi, d.meta.crs, { size: 128 });
  const ids = d.sensors.map((s) => s.id);
  const sums = new Map<string, [number, number]>();
  for (const r of d.readings) {
    const a = sums.get(r.sensorId) ?? [0, 0];
    a[0] += r.value;
    a[1]++;
    sums.set(r.sensorId, a);
  }
  const values = ids.map((id) => {
    const a = sums.get(id);
    return a ? a[0] / a[1] : NaN;
  });
  const { obs } = observationsFromSites(grid, siteCells(grid, d.sensors.map((s) => s.x), d.sensors.map((s) => s.y)), ids, values);
  const n = obs.values.length;
  const mean = obs.values.reduce((a, b) => a + b, 0) / n;
  const meanTruthRmse = compareToReference({ grid, values: new Float32Array(grid.width * grid.height).fill(mean) }, d.reference).rmse;
  const scores: Record<string, Score> = {};
  for (const id of methods) {
    const est = await getEstimator(id);
    const params = resolveParams(id, est.params, {});
    const prepared = await est.prepare(obs, params, {}, [obs.values]);
    try {
      const map = await prepared.predict(obs.values, {});
      const truth = compareToReference({ grid, values: map.values }, d.reference);
      const cv = await crossValidate(est, obs, params, looFolds(n), {}, prepared);
      scores[id] = { r2: cv.metrics.r2, truthRatio: truth.rmse / meanTruthRmse };
    } finally {
      prepared.dispose?.();
    }
  }
  return { scores, meanTruthRmse };
}

async function learnability(): Promise<void> {
  const seeds = arg('seeds', '42,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15').split(',').map(Number);
  const days = Number(arg('days', '7'));
  const methods = arg('methods', 'idw,kriging').split(',').map((m) => m.trim());
  const rows: Array<Record<string, unknown>> = [];
  const t0 = performance.now();
  for (const sc of SCENARIOS) {
    const perSeed: Array<{ seed: number; scores: Record<string, Score> }> = [];
    for (const seed of seeds) perSeed.push({ seed, ...(await score({ ...sc.opts, seed, days }, methods)) });
    const row: Record<string, unknown> = { scenario: sc.name };
    for (const m of methods) {
      const r2 = perSeed.map((p) => p.scores[m].r2);
      const tr = perSeed.map((p) => p.scores[m].truthRatio);
      const s42 = perSeed.find((p) => p.seed === 42);
      if (s42) {
        row[`${m} R² s42`] = s42.scores[m].r2;
        row[`${m} truth/mean s42`] = s42.scores[m].truthRatio;
      }
      row[`${m} R² mean`] = r2.reduce((a, b) => a + b, 0) / r2.length;
      row[`${m} R² min`] = Math.min(...r2);
      row[`${m} truth/mean mean`] = tr.reduce((a, b) => a + b, 0) / tr.length;
    }
    rows.push(row);
    console.error(`${sc.name}: done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  printTable(rows, Object.keys(rows[0]));
  console.log(
    `(leave-one-sensor-out R² of the ${days}-day mean per sensor; truth/mean = RMSE against the reference map ÷ that of the sample mean; ` +
      `seeds ${seeds.join(',')}; s42 = the shipped demo)`,
  );
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'demo-learnability.json'), JSON.stringify({ seeds, days, methods, rows }, null, 2));
}

if (process.argv.includes('--learnability')) await learnability();
else await timings();
