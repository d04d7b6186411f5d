// IDW speed: 2 000 sensors on grids up to 1024×1024, k-nearest (bucket grid) versus all sensors.
//   npx tsx bench/idw.ts [--sensors 2000] [--sizes 256,512,1024]
// Prints a table and writes bench/out/idw.json. Wall-clock on a shared machine: noisy.

import fs from 'node:fs';
import path from 'node:path';
import { idw } from '../src/estimators/idw.ts';
import { gridOver } from '../src/estimators/grid-default.ts';
import { snapPoints } from '../src/estimators/observations.ts';
import { seededRandom } from '../src/evaluation/folds.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const n = Number(arg('sensors', '2000'));
const sizes = arg('sizes', '256,512,1024').split(',').map(Number);
const r = seededRandom(1);
const xs = Array.from({ length: n }, () => r() * 5000);
const ys = Array.from({ length: n }, () => r() * 5000);
const vs = xs.map((x, i) => 1 + Math.sin(x / 700) * Math.cos(ys[i] / 500) + 0.1 * r());
const rows: Array<Record<string, unknown>> = [];
console.log('sensors  grid        neighbours  power  prepare s  map s   Mcells/s');
for (const size of sizes) {
  const grid = gridOver({ xmin: 0, ymin: 0, xmax: 5000, ymax: 5000 }, 'local', { size });
  const obs = snapPoints(grid, xs, ys, vs).obs;
  for (const [neighbours, power] of [[12, 2], [12, 2.5], [0, 2]] as const) {
    if (neighbours === 0 && size > 512 && !process.argv.includes('--all-global')) continue; // 2·10⁹ distances: opt-in
    const t0 = performance.now();
    const p = await idw.prepare(obs, { power, neighbours, radius: 0 }, {});
    const t1 = performance.now();
    await p.predict(obs.values, {});
    const t2 = performance.now();
    const row = { sensors: obs.cell.length, grid: `${grid.width}×${grid.height}`, neighbours, power, prepareS: (t1 - t0) / 1000, mapS: (t2 - t1) / 1000, mcellsPerS: (grid.width * grid.height) / (t2 - t1) / 1000 };
    rows.push(row);
    console.log(`${String(row.sensors).padEnd(8)} ${row.grid.padEnd(11)} ${String(neighbours).padEnd(11)} ${String(power).padEnd(6)} ${row.prepareS.toFixed(3).padEnd(10)} ${row.mapS.toFixed(3).padEnd(7)} ${row.mcellsPerS.toFixed(2)}`);
  }
}
const out = path.join(path.dirname(new URL(import.meta.url).pathname), 'out');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'idw.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
console.log(`wrote ${path.join(out, 'idw.json')}`);
