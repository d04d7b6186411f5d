// EigenPro 2 benchmark (see docs/eigenpro.md):
//   (a) epochs to reach a relative residual of 1e-3: EigenPro vs plain mini-batch SGD with the same batch,
//       plain full-batch gradient descent, and plain SGD at its own critical batch size;
//   (b) wall (and CPU) time vs a direct float64 Cholesky solve, n = 2 000 … 20 000 (RBF kernel on 2-D points
//       laid out like drive-test readings along streets); the direct solve is measured where it fits and
//       extrapolated as c·n³ beyond;
//   (c) with --cntk: the cntk-eigenpro estimator on the demo's drive-test variant (≥ 20 000 readings snapped
//       to 32×32 and a --grid G×G grid, default 64), next to the direct cntk where that can run (≤ 3 000
//       cells); with --dense also a campaign observing every cell of the G×G grid (G² cells).
//
//   npx tsx bench/eigenpro.ts [--quick] [--cntk [--grid 64|128] [--dense [--variance]]] [--max-n 20000] [--direct-max 4000|20000]
//                             [--min-n 20000] [--skip-ab | --skip-a | --skip-b]
//   --direct-max 20000 measures the direct solve at n = 20 000 too (~8 GB, tens of minutes on 2 cores).
//
// Prints tables and writes bench/out/eigenpro.json. Timings on a shared machine are noisy: CPU seconds of
// this process are reported next to wall seconds.

import fs from 'node:fs';
import path from 'node:path';
import { cholesky, choleskySolve } from '../src/solvers/cholesky.ts';
import { eigenproSolve, setupEigenPro, type EigenProSetup } from '../src/solvers/eigenpro.ts';
import { denseKernelOperator, pointKernelOperator, type KernelOperator, type PointKernel } from '../src/solvers/kernel-operator.ts';
import { makeRng } from '../src/solvers/eigen.ts';
import { initBackend } from '../src/compute/backend.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = flag('quick');
const maxN = opt('max-n', quick ? 5000 : 20000);
const directMax = opt('direct-max', quick ? 2000 : 4000);
const minN = opt('min-n', 0); // (b) only: skip the smaller sizes
const TARGET = 1e-3;
const LAMBDA = 1e-2;
const KERNEL: PointKernel = { kind: 'rbf', lengthScale: 0.05 };

/** Wall and CPU seconds of a piece of work. */
async function timed<T>(f: () => Promise<T> | T): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

/**
 * n points along random straight "streets" across the unit square (a 1 km × 1 km district), with 2 m of
 * jitter, and a field that decays from a few "antennas" plus measurement noise: drive-test-like data.
 */
function driveLike(n: number, seed: number): { pts: Float64Array; y: Float64Array } {
  const r = makeRng(seed);
  const streets = Array.from({ length: 40 }, () => {
    const a = r() * Math.PI;
    const c = [r(), r()];
    return { x0: c[0] - Math.cos(a), y0: c[1] - Math.sin(a), dx: 2 * Math.cos(a), dy: 2 * Math.sin(a) };
  });
  const ants = Array.from({ length: 5 }, () => [r(), r(), 0.5 + r()]);
  const pts = new Float64Array(2 * n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; ) {
    const s = streets[Math.floor(r() * streets.length)];
    const t = r();
    const x = s.x0 + t * s.dx + 0.002 * (r() - 0.5);
    const z = s.y0 + t * s.dy + 0.002 * (r() - 0.5);
    if (x < 0 || x > 1 || z < 0 || z > 1) continue;
    pts[2 * i] = x;
    pts[2 * i + 1] = z;
    let e = 0;
    for (const [ax, ay, p] of ants) e += p / (0.02 + (x - ax) ** 2 + (z - ay) ** 2);
    y[i] = Math.log(e) + 0.1 * (r() - 0.5);
    i++;
  }
  let m = 0;
  for (const v of y) m += v / n;
  for (let i = 0; i < n; i++) y[i] -= m;
  return { pts, y };
}

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const exp = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : String(x));

function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  console.log(`\n${title}`);
  cells.forEach((r, i) => {
    console.log(r.map((c, j) => c.padStart(w[j])).join('  '));
    if (i === 0) console.log(w.map((x) => '-'.repeat(x)).join('  '));
  });
}

const out: Record<string, unknown> = {
  date: new Date().toISOString(),
  backend: (await initBackend()).reason,
  kernel: KERNEL,
  lambda: LAMBDA,
  target: TARGET,
  note: 'shared 2-core machine: wall times are noisy, CPU seconds of this process are given as well',
};

// ---------------------------------------------------------------------------------------- (a) epochs
if (!flag('skip-ab') && !flag('skip-a')) {
  const n = quick ? 2000 : 5000;
  const { pts, y } = driveLike(n, 1);
  const K = pointKernelOperator(pts, 2, KERNEL).rows(all(n)) as Float32Array;
  const op: KernelOperator = denseKernelOperator(K, { n });
  const ep = await timed(() => setupEigenPro(op, { lambda: LAMBDA, seed: 1 }));
  const setup = ep.value;
  const epRun = await timed(() => eigenproSolve(op, setup, y, { tol: TARGET, maxEpochs: 500 }));
  const E = epRun.value.epochs;
  const cap = Math.max(20 * E, 200);
  const runs: { name: string; setup: EigenProSetup }[] = [
    { name: 'plain SGD, same batch', setup: await setupEigenPro(op, { lambda: LAMBDA, preconditioner: 'none', batchSize: setup.batchSize, seed: 1 }) },
    { name: 'plain GD, full batch', setup: await setupEigenPro(op, { lambda: LAMBDA, preconditioner: 'none', batchSize: n, seed: 1 }) },
  ];
  const plainCrit = await setupEigenPro(op, { lambda: LAMBDA, preconditioner: 'none', batchSize: 1, seed: 1 });
  const critBatch = Math.max(1, Math.ceil(plainCrit.criticalBatch));
  runs.push({ name: `plain SGD, its critical batch`, setup: await setupEigenPro(op, { lambda: LAMBDA, preconditioner: 'none', batchSize: critBatch, seed: 1 }) });
  const rows: (string | number)[][] = [['EigenPro 2', setup.q, setup.batchSize, exp(setup.step / setup.batchSize), E, exp(epRun.value.residual), fmt(epRun.wall, 1), fmt(epRun.cpu, 1), '1']];
  const json: Record<string, unknown>[] = [{ name: 'EigenPro 2', q: setup.q, batch: setup.batchSize, epochs: E, residual: epRun.value.residual, wall: epRun.wall, cpu: epRun.cpu, setupWall: ep.wall, setupCpu: ep.cpu, history: epRun.value.history.map((h) => h.residual) }];
  for (const r of runs) {
    const res = await timed(() => eigenproSolve(op, r.setup, y, { tol: TARGET, maxEpochs: cap }));
    const reached = res.value.converged;
    const ratio = reached ? res.value.epochs / E : cap / E;
    rows.push([r.name, 0, r.setup.batchSize, exp(r.setup.step / r.setup.batchSize), reached ? res.value.epochs : `>${cap}`, exp(res.value.residual), fmt(res.wall, 1), fmt(res.cpu, 1), reached ? fmt(ratio, 1) : `>${fmt(ratio, 0)}`]);
    json.push({ name: r.name, batch: r.setup.batchSize, epochs: res.value.epochs, reached, residual: res.value.residual, ratioLowerBound: ratio, wall: res.wall, cpu: res.cpu, history: res.value.history.filter((_, i) => i % 10 === 0).map((h) => h.residual) });
  }
  printTable(
    `(a) epochs to relative residual ${TARGET}: n = ${n} drive-like points, RBF ℓ = ${KERNEL.lengthScale}, λ = ${LAMBDA}; EigenPro setup ${fmt(ep.wall, 1)} s wall / ${fmt(ep.cpu, 1)} s CPU (s = ${setup.s}, β_P = ${exp(setup.beta)} vs β = ${exp(setup.betaPlain)})`,
    ['solver', 'q', 'batch', 'step/sample', 'epochs', 'residual', 'wall s', 'CPU s', 'epochs ÷ EigenPro'],
    rows,
  );
  out.epochs = { n, s: setup.s, beta: setup.beta, betaPlain: setup.betaPlain, lambda1: setup.eigenvalues[0], lambdaQ1: setup.topEigenvalue, runs: json };
}

// ------------------------------------------------------------------------ (b) time vs direct Cholesky
if (!flag('skip-ab') && !flag('skip-b')) {
  const sizes = [2000, 5000, 10000, 20000].filter((n) => n <= maxN && n >= minN);
  const directSizes = [1000, 2000, 3000, 4000, 6000, 10000, 20000].filter((n) => n <= directMax && (n >= minN || n === directMax));
  const direct: { n: number; wall: number; cpu: number }[] = [];
  const directAlpha = new Map<number, Float64Array>();
  for (const n of directSizes) {
    const { pts, y } = driveLike(n, 2);
    const res = await timed(() => {
      const K32 = pointKernelOperator(pts, 2, KERNEL).rows(all(n)) as Float32Array;
      const A = Float64Array.from(K32);
      for (let i = 0; i < n; i++) A[i * n + i] += LAMBDA;
      return choleskySolve(cholesky(A, n), y);
    });
    direct.push({ n, wall: res.wall, cpu: res.cpu });
    directAlpha.set(n, res.value);
  }
  // c·n³ from the largest measured size (the O(n²) kernel build is negligible there)
  const last = direct[direct.length - 1];
  const cWall = last ? last.wall / last.n ** 3 : NaN;
  const cCpu = last ? last.cpu / last.n ** 3 : NaN;
  const rows: (string | number)[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const { pts, y } = driveLike(n, 2);
    const op = pointKernelOperator(pts, 2, KERNEL);
    const st = await timed(() => setupEigenPro(op, { lambda: LAMBDA, seed: 2 }));
    const sv = await timed(() => eigenproSolve(op, st.value, y, { tol: TARGET, maxEpochs: 300 }));
    const d = direct.find((x) => x.n === n);
    const dWall = d ? d.wall : cWall * n ** 3;
    const dCpu = d ? d.cpu : cCpu * n ** 3;
    // agreement with the direct solution where it was computed: fitted values K·α at the points
    let agree = NaN;
    const ad = directAlpha.get(n);
    if (ad) {
      const K = op.rows(all(n)) as Float32Array;
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++) {
        let fe = 0;
        let fd = 0;
        for (let j = 0; j < n; j++) {
          fe += K[i * n + j] * sv.value.alpha[0][j];
          fd += K[i * n + j] * ad[j];
        }
        num += (fe - fd) ** 2;
        den += fd * fd;
      }
      agree = Math.sqrt(num / den);
    }
    const epCpu = st.cpu + sv.cpu;
    rows.push([n, st.value.s, st.value.q, st.value.batchSize, sv.value.epochs, exp(sv.value.residual), fmt(st.wall, 1), fmt(sv.wall, 1), fmt(epCpu, 1), (d ? '' : '~') + fmt(dWall, 1), (d ? '' : '~') + fmt(dCpu, 1), fmt(dCpu / epCpu, 1), exp(agree)]);
    json.push({ n, s: st.value.s, q: st.value.q, batch: st.value.batchSize, epochs: sv.value.epochs, residual: sv.value.residual, residualExact: sv.value.residualExact, setupWall: st.wall, setupCpu: st.cpu, solveWall: sv.wall, solveCpu: sv.cpu, directWall: dWall, directCpu: dCpu, directMeasured: !!d, fittedValuesRelErr: agree });
  }
  printTable(
    `(b) EigenPro vs direct float64 Cholesky (RBF on n drive-like points, λ = ${LAMBDA}, tol ${TARGET}; ~ = extrapolated c·n³ from n = ${last?.n})`,
    ['n', 's', 'q', 'batch', 'epochs', 'residual', 'setup s', 'solve s', 'EP CPU s', 'direct s', 'direct CPU s', 'CPU ratio', 'K·α vs direct'],
    rows,
  );
  out.timing = { direct, runs: json };
}

// ------------------------------------------------------------------ (c) cntk-eigenpro on the drive test
if (flag('cntk')) {
  const { generateDemo } = await import('../src/demo/generate.ts');
  const { snapPoints } = await import('../src/estimators/observations.ts');
  const { cntkEigenpro } = await import('../src/estimators/cntk-eigenpro.ts');
  const { cntk } = await import('../src/estimators/cntk.ts');
  const { resolveParams } = await import('../src/estimators/params.ts');
  const { cellCentres, sampleBilinear } = await import('../src/geo/grid.ts');
  type Obs = import('../src/domain/types.ts').Observations;
  const rows: (string | number)[][] = [];
  const json: Record<string, unknown>[] = [];
  /** RMSE over the cells where the truth is known (the demo reference is NaN outside the mapped area). */
  const rmseOf = (v: Float32Array, truth: Float64Array) => {
    let ss = 0;
    let k = 0;
    for (let p = 0; p < v.length; p++)
      if (Number.isFinite(truth[p])) {
        ss += (v[p] - truth[p]) ** 2;
        k++;
      }
    return Math.sqrt(ss / k);
  };
  const mapDiff = (a: Float32Array, b: Float32Array, values: Float64Array) => {
    const mean = values.reduce((x, y) => x + y, 0) / values.length;
    let num = 0;
    let den = 0;
    for (let p = 0; p < a.length; p++) {
      num += (a[p] - b[p]) ** 2;
      den += (b[p] - mean) ** 2;
    }
    return Math.sqrt(num / den);
  };
  const run = async (label: string, obs: Obs, truth: Float64Array, method: 'cntk' | 'cntk-eigenpro', given: Record<string, unknown>, direct?: Float32Array) => {
    const est = method === 'cntk' ? cntk : cntkEigenpro;
    const mem0 = process.memoryUsage().rss;
    const prep = await timed(() => est.prepare(obs, resolveParams(method, est.params, { variance: false, ...given }), {}));
    const pred = await timed(() => prep.value.predict(obs.values, {}));
    const d = prep.value.diagnostics as Record<string, any>;
    const pd = pred.value.diagnostics as Record<string, any>;
    const vsDirect = direct ? mapDiff(pred.value.values, direct, obs.values) : NaN;
    const rmse = rmseOf(pred.value.values, truth);
    const name = method + (given.lambda ? ' (λ of cntk)' : '');
    rows.push([label, obs.cell.length, name, fmt(d.kernelSeconds, 1), exp(d.lambda), d.eigenpro?.q ?? '', pd.epochs ?? '', pd.residual !== undefined ? exp(pd.residual) : '', fmt(prep.wall, 1), fmt(pred.wall, 1), fmt(prep.cpu + pred.cpu, 1), fmt(rmse, 3), exp(vsDirect)]);
    json.push({ grid: label, observed: obs.cell.length, method: name, kernelSeconds: d.kernelSeconds, tau: d.tau, lambda: d.lambda, lambdaChosenBy: d.lambdaChosenBy, eigenpro: d.eigenpro, epochs: pd.epochs, residual: pd.residual, converged: pd.converged, prepareWall: prep.wall, predictWall: pred.wall, cpu: prep.cpu + pred.cpu, rmseVsTruth: rmse, mapVsDirect: vsDirect, rssGrowthBytes: process.memoryUsage().rss - mem0 });
    return { map: pred.value.values, tau: d.tau as number };
  };

  const gen = await timed(() => generateDemo({ variant: 'drive' }));
  const ds = gen.value;
  const byId = new Map(ds.readings.map((r) => [r.sensorId, r.value]));
  for (const side of [32, opt('grid', 64)].filter((v, i, a) => a.indexOf(v) === i)) {
    const grid = { ...ds.reference.grid, width: side, height: side };
    const obs = snapPoints(grid, ds.sensors.map((s) => s.x), ds.sensors.map((s) => s.y), ds.sensors.map((s) => byId.get(s.id)!)).obs;
    const cc = cellCentres(grid);
    const truth = Float64Array.from({ length: side * side }, (_, p) => sampleBilinear(ds.reference.grid, ds.reference.values, cc.x[p], cc.y[p]));
    const label = `drive ${side}×${side}`;
    if (obs.cell.length <= 3000) {
      const d = await run(label, obs, truth, 'cntk', {});
      await run(label, obs, truth, 'cntk-eigenpro', { lambda: d.tau }, d.map);
      await run(label, obs, truth, 'cntk-eigenpro', {}, d.map);
    } else {
      await run(label, obs, truth, 'cntk-eigenpro', {});
    }
  }

  // A dense campaign on a real field: volcano (vega-datasets) on a side×side grid, every cell observed with
  // 2 % noise: side² observed cells, far beyond the direct solver (cntk refuses more than 3 000).
  if (flag('dense')) {
    const side = opt('grid', 64);
    const vol = JSON.parse(fs.readFileSync('node_modules/vega-datasets/data/volcano.json', 'utf8')) as { width: number; height: number; values: number[] };
    const vgrid = { crs: 'local', bounds: { xmin: 0, xmax: vol.width * 10, ymin: 0, ymax: vol.height * 10 }, width: vol.width, height: vol.height };
    const grid = { ...vgrid, width: side, height: side };
    const cc = cellCentres(grid);
    const r = makeRng(9);
    const truth = Float64Array.from({ length: side * side }, (_, p) => sampleBilinear(vgrid, vol.values, cc.x[p], cc.y[p]));
    const vs = Array.from(truth, (t) => t * (1 + 0.02 * (r() + r() + r() - 1.5)));
    const obs = snapPoints(grid, Array.from(cc.x), Array.from(cc.y), vs).obs;
    await run(`volcano ${side}×${side} dense`, obs, truth, 'cntk-eigenpro', { maxEpochs: opt('max-epochs', 200) });
  }
  printTable(
    `(c) cntk-eigenpro: demo drive test (${ds.readings.length} readings snapped to the grid; RMSE vs the synthetic reference, V/m) and a dense campaign (RMSE in m)`,
    ['case', 'cells', 'method', 'kernel s', 'λ', 'q', 'epochs', 'residual', 'prepare s', 'predict s', 'CPU s', 'RMSE', 'map vs cntk'],
    rows,
  );
  out.driveTest = { readings: ds.readings.length, runs: json };
}

// Sections not run this time keep their previous results (e.g. --skip-ab then --cntk).
const file = path.join('bench', 'out', 'eigenpro.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
let previous: Record<string, unknown> = {};
try {
  previous = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch {
  // first run
}
fs.writeFileSync(file, JSON.stringify({ ...previous, ...out }, null, 2));
console.log('\nwrote bench/out/eigenpro.json');
