// Speed of the geostatistics code: the dense Cholesky factorization (n = 500, 2000, 4000) and kriging / GP
// with 100, 400 and 2000 sensors on a 128×128 grid (prepare = variogram or likelihood fit + geometry work,
// first and second predict, closed-form leave-one-out), on a Gaussian random field simulated with a known
// Matérn-3/2 covariance. Wall-clock timings on a shared machine: an order of magnitude, not a contract.
//
//   npx tsx bench/geostat.ts [--chol 500,2000,4000] [--sites 100,400,2000] [--grid 128] [--methods kriging,gp]
// Prints tables and writes bench/out/geostat.json.

import fs from 'node:fs';
import path from 'node:path';
import { cholesky, choleskySolve } from '../src/solvers/cholesky.ts';
import { kriging } from '../src/estimators/kriging.ts';
import { gp } from '../src/estimators/gp.ts';
import { resolveParams } from '../src/estimators/params.ts';
import { mulberry32, sampleIndices } from '../src/estimators/variogram.ts';
import { cellCentre } from '../src/geo/grid.ts';
import type { Grid, Observations } from '../src/domain/types.ts';
import type { Estimator } from '../src/estimators/types.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const list = (s: string) => s.split(',').map((v) => v.trim()).filter(Boolean);
const cholSizes = list(arg('chol', '500,2000,4000')).map(Number);
const siteCounts = list(arg('sites', '100,400,2000')).map(Number);
const side = Number(arg('grid', '128'));
const methods = list(arg('methods', 'kriging,gp'));

const sec = (t0: number) => (performance.now() - t0) / 1000;
/** CPU seconds of this process since `c0` (user + system): less sensitive than wall time to a loaded machine. */
const cpu = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};

// --- Cholesky -------------------------------------------------------------------------------------------
const cholRows: Record<string, unknown>[] = [];
for (const n of cholSizes) {
  const r = mulberry32(n);
  const x = Float64Array.from({ length: n }, () => r());
  const y = Float64Array.from({ length: n }, () => r());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = Math.exp(-Math.sqrt((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2) / 0.2) + (i === j ? 1e-3 : 0);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const f = cholesky(A, n);
  const tf = sec(t0);
  const cf = cpu(c0);
  const t1 = performance.now();
  choleskySolve(f, new Float64Array(n).fill(1));
  const ts = sec(t1);
  cholRows.push({ n, factorS: +tf.toFixed(3), factorCpuS: +cf.toFixed(3), gflopsCpu: +((n ** 3 / 3) / cf / 1e9).toFixed(2), solveMs: +(ts * 1000).toFixed(1), jitter: f.jitter });
}
console.log('\nCholesky (float64, row-major, blocked)');
console.table(cholRows);

// --- kriging / GP ---------------------------------------------------------------------------------------
const grid: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 1000, ymax: 1000 }, width: side, height: side };

/** A Matérn-3/2 field (ℓ = 120 m, σ² = 1) + nugget 0.05, mean 3, simulated at the sites by Cholesky. */
function simulate(n: number, seed: number): Observations {
  const cells = sampleIndices(side * side, n, seed);
  const xs = new Float64Array(n), ys = new Float64Array(n);
  for (let i = 0; i < n; i++) [xs[i], ys[i]] = cellCentre(grid, Math.floor(cells[i] / side), cells[i] % side);
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const t = (Math.sqrt(3) * Math.sqrt((xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2)) / 120;
      C[i * n + j] = (1 + t) * Math.exp(-t) + (i === j ? 0.05 : 0);
    }
  const f = cholesky(C, n);
  const r = mulberry32(seed + 99);
  const e = Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-300))) * Math.cos(2 * Math.PI * r()));
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 3;
    for (let k = 0; k <= i; k++) s += f.L[i * n + k] * e[k];
    v[i] = s;
  }
  return { grid, cell: Int32Array.from(cells), x: xs, y: ys, values: v, count: new Int32Array(n).fill(1), sensorIds: Array.from({ length: n }, (_, i) => [`s${i}`]) };
}

const estimators: Record<string, Estimator> = { kriging, gp };
const rows: Record<string, unknown>[] = [];
for (const n of siteCounts) {
  const obs = simulate(n, n);
  for (const id of methods) {
    const est = estimators[id];
    if (!est) throw new Error(`unknown method ${id} (kriging, gp)`);
    const params = resolveParams(id, est.params, {});
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const prepared = await est.prepare(obs, params, {});
    const prepareS = sec(t0);
    const prepareCpu = cpu(c0);
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    const map = await prepared.predict(obs.values, {});
    const predict1S = sec(t1);
    const predict1Cpu = cpu(c1);
    const t2 = performance.now();
    await prepared.predict(obs.values, {});
    const predict2S = sec(t2);
    const folds = Array.from({ length: n }, (_, i) => Int32Array.of(i));
    const t3 = performance.now();
    const h = await prepared.predictHeldOut!(obs.values, folds, {});
    const looS = sec(t3);
    let se = 0;
    for (let i = 0; i < n; i++) se += (h.mean[i] - obs.values[i]) ** 2;
    const d = prepared.diagnostics as Record<string, unknown>;
    const model = id === 'kriging' ? (d.variogram as { model: string }).model : String(d.kernel);
    rows.push({
      method: id,
      sites: n,
      cells: side * side,
      neighbourhood: d.neighbourhood,
      model,
      prepareS: +prepareS.toFixed(2),
      prepareCpu: +prepareCpu.toFixed(2),
      predict1S: +predict1S.toFixed(2),
      predict1Cpu: +predict1Cpu.toFixed(2),
      predict2S: +predict2S.toFixed(3),
      looS: +looS.toFixed(2),
      looRmse: +Math.sqrt(se / n).toFixed(4),
      nan: map.values.some(Number.isNaN) || (map.variance?.some(Number.isNaN) ?? false),
    });
  }
}
console.log(`\nKriging / GP on a ${side}×${side} grid (Matérn-3/2 field, ℓ = 120 m on 1 km, nugget 0.05 of sill 1.05)`);
console.table(rows);

fs.mkdirSync(path.join('bench', 'out'), { recursive: true });
fs.writeFileSync(path.join('bench', 'out', 'geostat.json'), JSON.stringify({ cholesky: cholRows, estimators: rows, when: new Date().toISOString() }, null, 2));
console.log('wrote bench/out/geostat.json');
