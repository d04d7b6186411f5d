// GLIP benchmark (finite CNN, src/estimators/glip.ts):
//   (1) time per training iteration at 128×128 (default architecture, widths 16 = default and 32) and the
//       cost of one alignment checkpoint (empirical NTK on the default 32 pixels);
//   (2) time to a 128×128 map at DEFAULT settings on the SYNTHETIC demo project (3 networks, held-out
//       early stopping, refit), with peak memory (process RSS and tf.memory()) and the tensor count after;
//   (3) accuracy next to every other registered estimator: the demo's reference map, and the real `volcano`
//       field (vega-datasets; ~70 cells sampled with a seed, RMSE against the full field).
//
//   npx tsx bench/glip.ts [--size 128] [--acc-size 64] [--methods idw,kriging,...] [--seeds 1,2,3] [--skip-accuracy]
//
// Prints tables and writes bench/out/glip.json. Wall-clock timings on a shared 2-core machine are noisy:
// the load average is printed with them.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getTf, initBackend } from '../src/compute/backend.ts';
import { createDemoProject } from '../src/demo/project.ts';
import type { Grid, Observations } from '../src/domain/types.ts';
import { glip } from '../src/estimators/glip.ts';
import { gridOver } from '../src/estimators/grid-default.ts';
import { snapPoints } from '../src/estimators/observations.ts';
import { resolveParams } from '../src/estimators/params.ts';
import { estimatorIds } from '../src/estimators/registry.ts';
import { computeMetrics } from '../src/evaluation/metrics.ts';
import { seededRandom } from '../src/evaluation/folds.ts';
import { compareToReference } from '../src/evaluation/reference.ts';
import { sampleBilinear } from '../src/geo/grid.ts';
import { DEFAULT_ARCH, parseArch } from '../src/kernels/arch.ts';
import { DEFAULT_LIP, buildLip } from '../src/kernels/lip.ts';
import { FiniteCnn, priorTensor } from '../src/nn/network.ts';
import { empiricalNtk } from '../src/nn/ntk.ts';
import { trainNetwork } from '../src/nn/train.ts';
import { loadEstimator, projectObservations } from '../src/service/estimate.ts';
import { openProject } from '../src/store/project.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const SIZE = Number(arg('size', '128'));
const ACC_SIZE = Number(arg('acc-size', '64'));
const METHODS = arg('methods', estimatorIds().join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const SEEDS = arg('seeds', '1').split(',').map(Number);
const SKIP_ACC = process.argv.includes('--skip-accuracy');

const tf = await getTf();
const backend = await initBackend();
const load = () => os.loadavg()[0].toFixed(1);
const out: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cores: os.cpus().length, memGB: os.totalmem() / 2 ** 30, node: process.version, loadAvgAtStart: os.loadavg() },
  backend: backend.reason,
};
process.stdout.write(`glip benchmark — backend ${backend.reason}\n`);
process.stdout.write(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}; load average ${load()} (shared machine: timings are noisy)\n\n`);

// the demo project (synthetic), generated once into a temp dir
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-bench-glip-'));
const demoFile = path.join(dir, 'demo.emfmap');
await createDemoProject(demoFile);
const store = openProject(demoFile);
const ref = store.referenceMap();
if (!ref) throw new Error('demo project without a reference map');

try {
  // ------------------------------------------------------------------------------ (1) per iteration
  const { obs: obs128 } = projectObservations(store, { grid: { size: SIZE } });
  const layers = parseArch(DEFAULT_ARCH);
  const prior = buildLip(obs128, DEFAULT_LIP);
  const input = priorTensor(prior);
  const iterRows: Array<Record<string, unknown>> = [];
  for (const width of [16, 32]) {
    const net = new FiniteCnn({ layers, inChannels: prior.channels.length, width, sigmaW2: 2, sigmaB2: 0.01, parameterization: 'ntk', seed: 1 });
    const y = Float32Array.from(obs128.values, (v) => v);
    await trainNetwork(net, { input, trainCells: obs128.cell, trainY: y }, { optimizer: 'adam', lr: 0.03, iterations: 2, center: true }); // warm-up
    const iters = 20;
    const r = await trainNetwork(net, { input, trainCells: obs128.cell, trainY: y }, { optimizer: 'adam', lr: 0.03, iterations: iters, center: true });
    // working set of one training step: tensors alive at the end of forward + backward (inside the step)
    const base = tf.memory().numBytes;
    const stepBytes = tf.tidy(() => {
      const { out, cache } = net.forward(input);
      const grads = net.backward(cache, tf.onesLike(out) as typeof out);
      void grads;
      return tf.memory().numBytes - base;
    });
    const pixels = Int32Array.from({ length: 32 }, (_, i) => obs128.cell[i % obs128.cell.length] + (i >= obs128.cell.length ? 1 : 0));
    const k = await empiricalNtk(net, input, pixels);
    net.dispose();
    const row = { grid: `${prior.width}×${prior.height}`, width, params: net.numParams, msPerIteration: (1000 * r.seconds) / (iters + 1), stepWorkingSetMB: stepBytes / 2 ** 20, alignmentCheckpointS: k.seconds, loadAvg: Number(load()) };
    iterRows.push(row);
    process.stdout.write(`per iteration: ${row.grid} width ${width} (${row.params} parameters): ${row.msPerIteration.toFixed(1)} ms/iteration, step working set ${row.stepWorkingSetMB.toFixed(1)} MB; one alignment checkpoint (32 px): ${k.seconds.toFixed(2)} s  [load ${row.loadAvg}]\n`);
  }
  input.dispose();
  out.perIteration = iterRows;

  // ------------------------------------------------------------------------------ (2) a default map
  const tensorsBefore = tf.memory().numTensors;
  let peakRss = process.memoryUsage().rss;
  let peakTfBytes = tf.memory().numBytes;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakTfBytes = Math.max(peakTfBytes, tf.memory().numBytes);
  }, 50);
  const t0 = performance.now();
  const params = resolveParams('glip', glip.params, {});
  const prepared = await glip.prepare(obs128, params, {});
  const tPrep = (performance.now() - t0) / 1000;
  let lastMsg = '';
  const pred = await prepared.predict(obs128.values, {
    onProgress: (p) => {
      const msg = `${p.message ?? p.stage}`;
      if (process.stdout.isTTY && msg !== lastMsg) process.stdout.write(`\r\x1b[K  ${msg}${p.eta !== undefined ? `  ETA ${p.eta.toFixed(0)} s` : ''}`);
      lastMsg = msg;
    },
  });
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  prepared.dispose?.();
  clearInterval(sampler);
  const total = (performance.now() - t0) / 1000;
  const d = pred.diagnostics as { chosenIterations: number[]; members: Array<{ searchIterations: number | null; seconds: number }>; alignmentSeconds: number; alignment: unknown[] };
  const grid128: Grid = obs128.grid;
  const truth = compareToReference({ grid: grid128, values: pred.values }, ref);
  const mapRow = {
    grid: `${grid128.width}×${grid128.height}`,
    seconds: total,
    prepareSeconds: tPrep,
    chosenIterations: d.chosenIterations,
    searchIterations: d.members.map((m) => m.searchIterations),
    alignmentSeconds: d.alignmentSeconds,
    peakRssMB: peakRss / 2 ** 20,
    peakTfMB: peakTfBytes / 2 ** 20,
    tensorsLeaked: tf.memory().numTensors - tensorsBefore,
    truthRmse: truth.rmse,
    loadAvg: Number(load()),
  };
  out.defaultMap = mapRow;
  process.stdout.write(
    `\ndefault map ${mapRow.grid} on the demo (3 networks, width 16): ${total.toFixed(1)} s (prepare ${tPrep.toFixed(2)} s, alignment ${d.alignmentSeconds.toFixed(1)} s); ` +
      `iterations chosen ${d.chosenIterations.join('/')} (searched ${mapRow.searchIterations.join('/')}); peak RSS ${mapRow.peakRssMB.toFixed(0)} MB, tf.memory between steps ≤ ${mapRow.peakTfMB.toFixed(1)} MB; ` +
      `tensors left ${mapRow.tensorsLeaked}; RMSE vs reference ${truth.rmse.toFixed(4)} V/m  [load ${mapRow.loadAvg}]\n`,
  );

  // ------------------------------------------------------------------------------ (3) accuracy
  if (!SKIP_ACC) {
    const rows: Array<Record<string, unknown>> = [];
    const datasets: Array<{ name: string; obs: Observations; score: (v: Float32Array) => number; sd: number }> = [];
    const { obs: dObs, grid: dGrid } = projectObservations(store, { grid: { size: ACC_SIZE } });
    const refVals = Array.from(ref.values).filter(Number.isFinite);
    datasets.push({ name: 'demo (synthetic)', obs: dObs, score: (v) => compareToReference({ grid: dGrid, values: v }, ref).rmse, sd: sdOf(refVals) });
    const vol = JSON.parse(fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node_modules/vega-datasets/data/volcano.json'), 'utf8')) as { width: number; height: number; values: number[] };
    const cell = 10;
    const vGrid = gridOver({ xmin: 0, ymin: 0, xmax: vol.width * cell, ymax: vol.height * cell }, 'local', { size: ACC_SIZE });
    const cx = (p: number) => ((p % vol.width) + 0.5) * cell;
    const cy = (p: number) => vol.height * cell - (Math.floor(p / vol.width) + 0.5) * cell;
    for (const seed of SEEDS) {
      const rand = seededRandom(seed);
      const picked = new Set<number>();
      while (picked.size < 70) picked.add(Math.floor(rand() * vol.values.length));
      const idx = [...picked];
      const vObs = snapPoints(vGrid, idx.map(cx), idx.map(cy), idx.map((p) => vol.values[p])).obs;
      datasets.push({
        name: `volcano (70 cells, seed ${seed})`,
        obs: vObs,
        sd: sdOf(vol.values),
        score: (v) => {
          const at = new Float64Array(vol.values.length);
          for (let p = 0; p < at.length; p++) at[p] = sampleBilinear(vGrid, v, cx(p), cy(p));
          return computeMetrics(vol.values, at).rmse;
        },
      });
    }
    process.stdout.write(`\naccuracy (grid ${ACC_SIZE} cells on the longer side, default parameters, no cross-validation):\n`);
    const head = ['dataset', 'grid', 'method', 'RMSE', 'RMSE/sd', 'seconds', 'backend'];
    process.stdout.write(head.map((h, i) => h.padEnd([30, 8, 14, 10, 8, 8, 8][i])).join(' ') + '\n');
    for (const ds of datasets) {
      const meanV = ds.obs.values.reduce((a, b) => a + b, 0) / ds.obs.values.length;
      const baseline = ds.score(new Float32Array(ds.obs.grid.width * ds.obs.grid.height).fill(meanV));
      const print = (r: Record<string, unknown>) => {
        rows.push(r);
        const cells = [r.dataset, r.grid, r.method, fmt(r.rmse as number), fmt((r.rmse as number) / ds.sd), fmt(r.seconds as number, 3), r.backend];
        process.stdout.write(cells.map((c, i) => String(c ?? '—').padEnd([30, 8, 14, 10, 8, 8, 8][i])).join(' ') + (r.error ? ` ERROR ${r.error}` : '') + '\n');
      };
      const gridLabel = `${ds.obs.grid.width}×${ds.obs.grid.height}`;
      print({ dataset: ds.name, grid: gridLabel, method: '(sample mean)', rmse: baseline, seconds: 0, backend: '-' });
      for (const m of METHODS) {
        const t = performance.now();
        try {
          const est = await loadEstimator(m);
          const prep = await est.prepare(ds.obs, resolveParams(m, est.params, {}), {}, [ds.obs.values]);
          try {
            const map = await prep.predict(ds.obs.values, {});
            print({ dataset: ds.name, grid: gridLabel, method: m, rmse: ds.score(map.values), seconds: (performance.now() - t) / 1000, backend: est.backend?.() ?? 'js' });
          } finally {
            prep.dispose?.();
          }
        } catch (e) {
          print({ dataset: ds.name, grid: gridLabel, method: m, rmse: NaN, seconds: (performance.now() - t) / 1000, backend: '-', error: (e as Error).message.split('\n')[0] });
        }
      }
    }
    out.accuracy = rows;
    out.accuracyLoadAvgAtEnd = Number(load());
  }
} finally {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

const outDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'out');
fs.mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, 'glip.json');
fs.writeFileSync(file, JSON.stringify(out, null, 2));
process.stdout.write(`\nwrote ${file}\n`);

function sdOf(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i] / v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return Math.sqrt(s / v.length);
}

function fmt(v: number | null | undefined, d = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toPrecision(d);
}
