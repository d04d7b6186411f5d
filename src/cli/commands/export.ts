// `emfmap export`: write a stored map (a run, or the latest run of a method) as GeoTIFF, PNG + world
// file, KMZ, GeoJSON isobands, CSV or a self-contained HTML report. Formats and options: docs/export.md.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import type { ExportFormat, ExportRequest } from '../../service/api.ts';
import { cliJobContext, formatSeconds, printJson } from '../output.ts';

const FORMATS: ExportFormat[] = ['geotiff', 'png', 'kmz', 'geojson', 'csv', 'report'];

export interface ExportCliOptions {
  project?: string;
  run?: string;
  method?: string;
  step?: string;
  format?: string;
  out?: string;
  thresholds?: string;
  ramp?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write a stored map as GeoTIFF, PNG + world file, KMZ, GeoJSON isobands, CSV or an HTML report')
    .requiredOption('--project <file>', 'project file')
    .option('--run <id>', 'run to export (emfmap runs lists them)')
    .option('--method <id>', 'export the latest run of this method instead')
    .option('--step <k>', 'time step of a time-resolved run, from 0', '0')
    .requiredOption('--format <format>', `one of ${FORMATS.join(', ')}`)
    .requiredOption('--out <file>', 'output file (the extension is added when missing; sidecar files go next to it)')
    .option('--thresholds <list>', 'class limits in V/m, e.g. 1,3,6: classed colours, and the isobands of geojson')
    .option('--ramp <name>', 'colour ramp: viridis (default), magma, inferno, plasma, cividis, turbo, ylorrd, ylgnbu, rdylgn, spectral, rdbu, blues, greys')
    .option('--json', 'machine-readable output ({files, bytes, seconds})')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  emfmap export --project city.emfmap --method kriging --format geotiff --out kriging.tif\n' +
        '  emfmap export --project city.emfmap --run 3 --format png --out map.png --thresholds 1,3,6 --ramp ylorrd\n' +
        '  emfmap export --project city.emfmap --run 3 --format kmz --out map.kmz\n' +
        '  emfmap export --project city.emfmap --run 3 --format geojson --out bands.geojson --thresholds 0.5,1,2,6\n' +
        '  emfmap export --project city.emfmap --method idw --format report --out report.html\n' +
        'Files are written atomically: a failed or cancelled export (Ctrl-C) leaves nothing behind.',
    )
    .action(async (o: ExportCliOptions) => {
      await exportCommand(o);
    });
}

function parseIntOption(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (!/^\d+$/.test(s) || Number(s) < min) throw new UserError(`--${name} must be an integer >= ${min} (got "${v}")`);
  return Number(s);
}

export function exportRequest(o: ExportCliOptions): ExportRequest {
  const format = (o.format ?? '').trim().toLowerCase() as ExportFormat;
  if (!FORMATS.includes(format)) throw new UserError(`unknown --format "${o.format}": use one of ${FORMATS.join(', ')}`);
  let thresholds: number[] | undefined;
  if (o.thresholds !== undefined) {
    const parts = o.thresholds.split(/[,;\s]+/).filter((p) => p.length > 0);
    thresholds = parts.map((p) => {
      const v = Number(p);
      if (!Number.isFinite(v)) throw new UserError(`--thresholds: "${p}" is not a number (use e.g. 1,3,6)`);
      return v;
    });
    if (thresholds.length === 0) throw new UserError('--thresholds needs at least one value, e.g. 1,3,6');
  }
  return {
    runId: parseIntOption('run', o.run, 1),
    method: o.method?.trim() || undefined,
    step: parseIntOption('step', o.step, 0),
    format,
    out: o.out ?? '',
    thresholds,
    ramp: o.ramp,
  };
}

async function exportCommand(o: ExportCliOptions): Promise<void> {
  const req = exportRequest(o);
  const { EmfmapService } = await import('../../service/service.ts');
  const service = new EmfmapService({ projectPath: o.project });
  const ctx = cliJobContext({ quiet: o.json });
  const t0 = performance.now();
  try {
    const res = await service.exportMap(req, ctx);
    ctx.done();
    const seconds = (performance.now() - t0) / 1000;
    if (o.json) {
      printJson({ ...res, seconds });
      return;
    }
    for (const f of res.files) process.stdout.write(`wrote ${f}\n`);
    process.stdout.write(`${res.files.length} file(s), ${(res.bytes / 1024).toFixed(1)} KiB in ${formatSeconds(seconds)}\n`);
  } catch (e) {
    ctx.done();
    throw e;
  } finally {
    service.close();
  }
}
