// Demo generation speed: each stage of the synthetic scene for both variants, and the whole project
// written to disk, plus the value ranges it produces.
//   npx tsx bench/demo.ts [--seed 42] [--repeat 3]
// Prints a table and writes bench/out/demo.json. Wall-clock on a shared machine: noisy (best of N shown).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDemo, type DemoVariant } from '../src/demo/generate.ts';
import { createDemoProject } from '../src/demo/project.ts';
import { buildScene } from '../src/demo/scene.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const seed = Number(arg('seed', '42'));
const repeat = Number(arg('repeat', '3'));

function quantile(v: ArrayLike<number>, q: number): number {
  const a = Array.from(v).sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor(q * a.length))];
}

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
    refMedian: quantile(ref, 0.5),
    refP99: quantile(ref, 0.99),
    refMax: quantile(ref, 1),
    readMedian: quantile(vals, 0.5),
    readMax: quantile(vals, 1),
  });
  rows.push({ stage: `${variant}: generate + write project`, seconds: writeS, mb: bytes / 1e6 });
}

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : v === undefined ? '' : String(v));
const cols = ['stage', 'seconds', 'sensors', 'readings', 'refMedian', 'refP99', 'refMax', 'readMedian', 'readMax', 'mb'];
const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
console.log(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
for (const r of rows) console.log(cols.map((c, i) => fmt(r[c]).padEnd(widths[i])).join('  '));
console.log(`(best of ${repeat}; ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}: timings are noisy on a shared machine)`);
const out = path.join(path.dirname(new URL(import.meta.url).pathname), 'out');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'demo.json'), JSON.stringify({ seed, repeat, loadavg: os.loadavg()[0], rows }, null, 2));
