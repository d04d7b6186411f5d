// Small CSV exports of the SYNTHETIC demo, committed in resources/demo/ as example import files:
//   demo-sensors.csv      sensor metadata (id, name, WGS84 position, height, mount, street, ...)
//   demo-readings.csv     2 days of readings, long format, one self-contained row per reading
//                         (sensor id, latitude, longitude, ISO 8601 UTC time, E in V/m)
//   demo-readings-fr.csv  1 day in the French style: semicolons, decimal comma, dd/mm/yyyy hh:mm local
//                         time, "valeur (V/m)"; positions come from demo-sensors.csv
//   demo-drive.csv        a 1-in-20 sample of the drive test (no timestamps: one snapshot)
// Regenerate with:  npx tsx src/demo/write-examples.ts [--out DIR] [--seed N]
// The output is deterministic: the same seed writes byte-identical files.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';
import { UserError } from '../domain/errors.ts';
import { DEMO_START, UTC_OFFSET_HOURS, generateDemo, type DemoDataset } from './generate.ts';
import { DEFAULT_SEED } from './scene.ts';

const HOUR = 3_600_000;
const SYNTHETIC_NOTE = 'SYNTHETIC (emfmap demo)';

/** Write atomically: a temporary file renamed into place, so a failed run never leaves half a file. */
function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** dd/mm/yyyy hh:mm in the scene's local time (CET). */
function frenchLocal(t: number): string {
  const d = new Date(t + UTC_OFFSET_HOURS * HOUR);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export function sensorsCsv(d: DemoDataset): string {
  return Papa.unparse(
    d.sensors.map((s) => ({
      sensor_id: s.id,
      name: s.name,
      latitude: s.lat.toFixed(7),
      longitude: s.lon.toFixed(7),
      height_m: s.height,
      mount: String(s.meta.mount ?? ''),
      street: String(s.meta.street ?? ''),
      installed: String(s.meta.installed ?? ''),
      note: `${SYNTHETIC_NOTE}, seed ${d.params.seed}`,
    })),
    { newline: '\n' },
  ) + '\n';
}

export function readingsCsv(d: DemoDataset, days: number): string {
  const byId = new Map(d.sensors.map((s) => [s.id, s]));
  const end = DEMO_START + days * 24 * HOUR;
  const rows = d.readings
    .filter((r) => r.time !== null && r.time < end)
    .map((r) => {
      const s = byId.get(r.sensorId)!;
      return { sensor_id: r.sensorId, latitude: s.lat.toFixed(7), longitude: s.lon.toFixed(7), time: iso(r.time!), 'E (V/m)': r.value.toFixed(3) };
    });
  return Papa.unparse(rows, { newline: '\n' }) + '\n';
}

export function readingsFrenchCsv(d: DemoDataset, days: number): string {
  const end = DEMO_START + days * 24 * HOUR;
  const rows = d.readings
    .filter((r) => r.time !== null && r.time < end)
    .map((r) => ({ capteur: r.sensorId, horodatage: frenchLocal(r.time!), 'valeur (V/m)': r.value.toFixed(3).replace('.', ',') }));
  return Papa.unparse(rows, { delimiter: ';', newline: '\n' }) + '\n';
}

export function driveCsv(d: DemoDataset, every: number): string {
  const rows: Array<Record<string, string>> = [];
  for (let i = 0; i < d.readings.length; i += every) {
    const s = d.sensors[i];
    rows.push({ point_id: s.id, latitude: s.lat.toFixed(7), longitude: s.lon.toFixed(7), 'E (V/m)': d.readings[i].value.toFixed(3) });
  }
  return Papa.unparse(rows, { newline: '\n' }) + '\n';
}

export async function writeExamples(outDir: string, seed = DEFAULT_SEED): Promise<Array<{ file: string; bytes: number }>> {
  if (!fs.existsSync(outDir)) throw new UserError(`output folder ${outDir} does not exist`);
  const sensors = await generateDemo({ seed, variant: 'sensors' });
  const drive = await generateDemo({ seed, variant: 'drive' });
  const files: Array<[string, string]> = [
    ['demo-sensors.csv', sensorsCsv(sensors)],
    ['demo-readings.csv', readingsCsv(sensors, 2)],
    ['demo-readings-fr.csv', readingsFrenchCsv(sensors, 1)],
    ['demo-drive.csv', driveCsv(drive, 20)],
  ];
  return files.map(([name, text]) => {
    const file = path.join(outDir, name);
    writeFileAtomic(file, text);
    return { file, bytes: Buffer.byteLength(text) };
  });
}

// run as a script
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const out = path.resolve(opt('--out') ?? path.join(here, '..', '..', 'resources', 'demo'));
  const seedArg = opt('--seed');
  const seed = seedArg === undefined ? DEFAULT_SEED : Number(seedArg);
  try {
    if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed must be a non-negative integer (got "${seedArg}")`);
    const written = await writeExamples(out, seed);
    for (const w of written) process.stdout.write(`${w.file}  ${(w.bytes / 1024).toFixed(1)} KB\n`);
    process.stdout.write(`total ${(written.reduce((a, w) => a + w.bytes, 0) / 1024).toFixed(1)} KB (SYNTHETIC demo data, seed ${seed})\n`);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
