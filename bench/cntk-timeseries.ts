// 100 time steps of the demo with an unchanged sensor set versus one map, through the run engine
// (estimators/run.ts groups the steps by reporting sensors and prepares once per group).
//
//   npx tsx bench/cntk-timeseries.ts [--grid 64] [--steps 100]
//
// Values: the demo's noise-free field at each sensor and reading time (demo.truth), so every sensor reports
// at every step (the readings file has gaps, which would split the steps into groups). Default LIP is
// geometry-only, so the kernel, its tridiagonalisation, λ and the variance map are computed once; each
// further step costs one O(n²) solve and one n×P product. The value-channel LIP (idw) is shown too: its
// kernel is built from the group's time-mean, so it is reused as well.
// Writes bench/out/cntk-timeseries.json.

import fs from 'node:fs';
import type { Grid } from '../src/domain/types.ts';
import { generateDemo } from '../src/demo/generate.ts';
import { cntk } from '../src/estimators/cntk.ts';
import { resolveParams } from '../src/estimators/params.ts';
import { runSteps, type StepValues } from '../src/estimators/run.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const side = arg('--grid', 64);
const nSteps = arg('--steps', 100);

const demo = await generateDemo({ days: Math.ceil((nSteps * 2) / 24) + 1 });
const grid: Grid = { crs: demo.reference.grid.crs, bounds: demo.reference.grid.bounds, width: side, height: side };
const sites = { ids: demo.sensors.map((s) => s.id), x: Float64Array.from(demo.sensors, (s) => s.x), y: Float64Array.from(demo.sensors, (s) => s.y) };
const steps: StepValues[] = demo.times.slice(0, nSteps).map((time, k) => ({ time, values: Float64Array.from(demo.truth, (series) => series[k]) }));

// warm-up (JIT) so that the one-map run is not charged for compilation
await runSteps({ estimator: cntk, params: resolveParams('cntk', cntk.params, {}), grid, sites, steps: steps.slice(0, 1) });

const rows: Array<Record<string, unknown>> = [];
console.log(`demo: ${sites.ids.length} sensors, grid ${side}×${side}, ${steps.length} steps`);
console.log('lip'.padEnd(22), 'steps'.padStart(6), 'groups'.padStart(7), 'wall s'.padStart(8), 'cpu s'.padStart(8), 'prepare s'.padStart(10), 'per step ms'.padStart(12));
for (const lip of ['x,y,const', 'idw,x,y,const']) {
  const params = resolveParams('cntk', cntk.params, { lip });
  const res: Record<number, { wall: number; cpu: number }> = {};
  for (const count of [1, steps.length]) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await runSteps({ estimator: cntk, params, grid, sites, steps: steps.slice(0, count) });
    const wall = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    res[count] = { wall, cpu };
    const prep = out.groups.reduce((a, g) => a + g.prepareSeconds, 0);
    const perStep = ((wall - prep) / count) * 1000;
    console.log(lip.padEnd(22), String(count).padStart(6), String(out.groups.length).padStart(7), wall.toFixed(2).padStart(8), cpu.toFixed(2).padStart(8), prep.toFixed(2).padStart(10), perStep.toFixed(1).padStart(12));
    rows.push({ lip, steps: count, groups: out.groups.length, wall, cpu, prepareSeconds: prep, perStepMs: perStep, maps: out.maps.length, variance: out.maps[0]?.variance !== undefined });
  }
  const ratio = res[steps.length].cpu / res[1].cpu;
  console.log(`  ${steps.length} steps / 1 step (CPU time): ${ratio.toFixed(2)}× ${ratio < 2 ? '(< 2×: kernel and factorisation reused)' : '(NOT < 2×)'}`);
  rows.push({ lip, ratioCpu: ratio, ratioWall: res[steps.length].wall / res[1].wall });
}
fs.mkdirSync('bench/out', { recursive: true });
fs.writeFileSync('bench/out/cntk-timeseries.json', JSON.stringify({ date: new Date().toISOString(), grid: side, sensors: sites.ids.length, rows }, null, 1));
console.log('wrote bench/out/cntk-timeseries.json');
