// Export timings for a 512×512 map with a variance (two bands / SD layers), each format rendered and
// written atomically to a temporary directory; median of 3 runs. Run: npx tsx bench/export.ts [size]
// Writes bench/out/export.json.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExposureMap, RunRecord } from '../src/domain/types.ts';
import { writeFilesAtomically, type OutFile } from '../src/io/export/atomic.ts';
import { geoTiffBytes } from '../src/io/export/geotiff.ts';
import { pngFiles } from '../src/io/export/png.ts';
import { kmzFile } from '../src/io/export/kmz.ts';
import { geoJsonFiles } from '../src/io/export/geojson.ts';
import { csvFile } from '../src/io/export/csv.ts';
import { reportFile } from '../src/io/export/report.ts';

const N = Number(process.argv[2] ?? 512);
const crs = '+proj=tmerc +lat_0=50.63 +lon_0=3.05 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs';
const grid = { crs, bounds: { xmin: -1000, ymin: -1000, xmax: 1000, ymax: 1000 }, width: N, height: N };
const values = new Float32Array(N * N);
const variance = new Float32Array(N * N);
for (let r = 0; r < N; r++) for (let c = 0; c < N; c++) {
  const x = c / N;
  const y = r / N;
  values[r * N + c] = 0.3 + 1.2 * Math.exp(-((x - 0.4) ** 2 + (y - 0.6) ** 2) / 0.02) + 0.4 * Math.sin(9 * x) * Math.cos(7 * y) ** 2;
  variance[r * N + c] = 0.01 + 0.02 * x;
}
const map: ExposureMap = { grid, values, variance, method: 'bench', params: {}, backend: 'js', timings: { fit: 0, predict: 0, total: 0 }, diagnostics: {} };
const run: RunRecord = { id: 1, createdAt: Date.now(), method: 'bench', params: {}, grid, selection: { agg: 'mean' }, backend: 'js', timings: map.timings, metrics: {}, diagnostics: {}, steps: 1, label: '' };
const thresholds = [0.5, 1, 1.5];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-bench-export-'));

const formats: Array<[string, () => Promise<OutFile[]>]> = [
  ['geotiff', async () => [{ path: path.join(dir, 'm.tif'), data: geoTiffBytes(map) }]],
  ['png', async () => pngFiles(map, path.join(dir, 'm.png'), { thresholds })],
  ['kmz', async () => [kmzFile(map, path.join(dir, 'm.kmz'), { thresholds })]],
  ['geojson', async () => geoJsonFiles(map, path.join(dir, 'm.geojson'), { thresholds })],
  ['csv', async () => [await csvFile(map, path.join(dir, 'm.csv'))]],
  ['report', async () => [reportFile({ map, run, runs: [run], project: { name: 'bench', path: '-', crs, synthetic: true, description: '' }, thresholds }, path.join(dir, 'm.html'))]],
];

const rows: Array<{ format: string; renderMs: number; writeMs: number; files: number; bytes: number }> = [];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [format, make] of formats) {
  const render: number[] = [];
  const write: number[] = [];
  let files = 0;
  let bytes = 0;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const out = await make();
    const t1 = performance.now();
    bytes = writeFilesAtomically(out); // temporaries + fsync + rename
    write.push(performance.now() - t1);
    render.push(t1 - t0);
    files = out.length;
  }
  rows.push({ format, renderMs: Math.round(median(render)), writeMs: Math.round(median(write)), files, bytes });
}
fs.rmSync(dir, { recursive: true, force: true });

process.stdout.write(`export of a ${N}×${N} map with variance (median of 3; machine shared, timings noisy)\n`);
process.stdout.write(`${'format'.padEnd(8)} ${'render ms'.padStart(10)} ${'write ms'.padStart(9)} ${'files'.padStart(5)} ${'KiB'.padStart(9)}\n`);
for (const r of rows) {
  process.stdout.write(`${r.format.padEnd(8)} ${String(r.renderMs).padStart(10)} ${String(r.writeMs).padStart(9)} ${String(r.files).padStart(5)} ${(r.bytes / 1024).toFixed(1).padStart(9)}\n`);
}
fs.mkdirSync(path.join(import.meta.dirname, 'out'), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, 'out', 'export.json'), JSON.stringify({ size: N, when: new Date().toISOString(), rows }, null, 2));
