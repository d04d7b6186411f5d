// Selection speed with per-band readings: the same network stored (a) as total-field readings and (b) as
// per-band readings only (combined into the total by power at selection time, √Σ E_band²), through the
// project store (no CSV parsing), then whole-window selections (mean: SQL aggregation; p95: one scan)
// and a time-resolved plan of 24 windows.
//
//   npx tsx bench/select-bands.ts [--sensors 100] [--times 2000] [--bands 5]
//
// Prints a table and writes bench/out/select-bands.json. Wall-clock on a shared machine: expect noise.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProject } from '../src/store/project.ts';
import { selectSensorValues } from '../src/selection/select.ts';
import type { Reading } from '../src/domain/types.ts';
import type { ProjectStore } from '../src/store/types.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const SENSORS = arg('sensors', 100);
const TIMES = arg('times', 2000);
const BANDS = arg('bands', 5);
const STEP = 600_000;
const T0 = Date.UTC(2025, 0, 1);

function* readings(bands: boolean): Generator<Reading> {
  let s = 12345;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let t = 0; t < TIMES; t++) {
    for (let k = 0; k < SENSORS; k++) {
      const id = `S${k}`;
      if (!bands) yield { sensorId: id, time: T0 + t * STEP, value: 0.1 + 2 * rand(), band: null, quality: 0 };
      else for (let b = 0; b < BANDS; b++) yield { sensorId: id, time: T0 + t * STEP, value: 0.05 + rand(), band: `B${b}`, quality: 0 };
    }
  }
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

function measure(store: ProjectStore): Record<string, number> {
  const to = T0 + TIMES * STEP;
  const out: Record<string, number> = {};
  for (const agg of ['mean', 'p95'] as const) {
    out[agg] = time(() => {
      const r = selectSensorValues(store, { agg, from: T0, to });
      if (r.sensors.length !== SENSORS) throw new Error(`kept ${r.sensors.length} sensors`);
    });
  }
  const w = (to - T0) / 24;
  out.steps24 = time(() => {
    for (let i = 0; i < 24; i++) selectSensorValues(store, { agg: 'mean', from: T0 + i * w, to: T0 + (i + 1) * w });
  });
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-bench-'));
try {
  const result: Record<string, unknown> = { sensors: SENSORS, times: TIMES, bands: BANDS };
  const table: Array<[string, string, string, string, string]> = [];
  for (const bands of [false, true]) {
    const store = createProject(path.join(dir, `${bands ? 'bands' : 'total'}.emfmap`), { name: 'bench', crs: 'local' });
    store.upsertSensors(Array.from({ length: SENSORS }, (_, k) => ({ id: `S${k}`, name: `S${k}`, lat: NaN, lon: NaN, x: k * 10, y: 0, height: null, meta: {} })));
    const ins = time(() => store.insertReadings(readings(bands), 'replace'));
    const n = store.counts().readings;
    const m = measure(store);
    store.close();
    const key = bands ? 'perBand' : 'totalOnly';
    result[key] = { readings: n, insertSeconds: Number(ins.toFixed(2)), ...Object.fromEntries(Object.entries(m).map(([k, v]) => [`${k}Seconds`, Number(v.toFixed(3))])) };
    table.push([bands ? `per band (${BANDS} bands)` : 'total field', n.toLocaleString('en'), `${m.mean.toFixed(3)} s`, `${m.p95.toFixed(3)} s`, `${m.steps24.toFixed(3)} s`]);
  }
  result.loadAverage = os.loadavg().map((x) => Number(x.toFixed(2)));
  result.date = new Date().toISOString();
  const head: [string, string, string, string, string] = ['stored as', 'readings', 'select mean', 'select p95', '24 windows (mean)'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  for (const r of [head, ...table]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log(`load average ${(result.loadAverage as number[]).join(' ')}`);
  const outDir = path.join(import.meta.dirname, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'select-bands.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path.join(outDir, 'select-bands.json')}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
