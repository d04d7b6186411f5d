// `emfmap import FILE`: import sensor readings (CSV / TSV / GeoJSON) into a project, in one transaction.
// The accepted formats are described in docs/formats.md.

import type { Command } from 'commander';
import { UserError, formatIssue } from '../../domain/errors.ts';
import type { ImportReport } from '../../service/api.ts';
import type { DuplicatePolicy } from '../../store/types.ts';
import { EmfmapService } from '../../service/service.ts';
import { cliJobContext, formatSeconds, printJson } from '../output.ts';
import { formatTime } from './info.ts';

interface ImportOptions {
  project: string;
  format: 'auto' | 'csv' | 'tsv' | 'geojson';
  crs?: string;
  unit?: string;
  timezone?: string;
  sensors?: string;
  onDuplicate: DuplicatePolicy;
  dryRun?: boolean;
  json?: boolean;
}

const DELIMITER_NAME: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

export function printReport(r: ImportReport, seconds: number): void {
  const out = (s: string) => process.stdout.write(s + '\n');
  if (r.alreadyImported) {
    out(`${r.file}: ${r.warnings[0] ?? 'already imported'}`);
    return;
  }
  const refused = r.totalErrors > 0;
  out(
    refused
      ? `${r.file}: ${r.totalErrors} problem(s), nothing would be imported`
      : r.dryRun
        ? `dry run of ${r.file}: nothing was written`
        : `imported ${r.file} in ${formatSeconds(seconds)}`,
  );
  const fmt = [r.format, r.layout !== r.format ? `${r.layout} layout` : '', r.delimiter ? `${DELIMITER_NAME[r.delimiter] ?? r.delimiter}-separated` : '', r.decimalComma ? 'decimal comma' : '']
    .filter(Boolean)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['format', fmt],
    ['columns', r.columns.length > 12 ? `${r.columns.slice(0, 12).map((c) => `${c.name} → ${c.role}`).join(', ')}, … (${r.columns.length})` : r.columns.map((c) => `${c.name} → ${c.role}${c.unit ? ` [${c.unit}]` : ''}`).join(', ')],
    ['coordinates', r.crs || '(from the project / sensor file)'],
    ['unit', `${r.unit} → stored as V/m`],
    ['time zone', r.timezone],
    ['sensors', `${r.sensors} (${r.sensorsNew} new)`],
    [
      'readings',
      refused ? String(r.readings) : `${r.readings}: ${r.readingsAdded} added, ${r.readingsReplaced} replaced, ${r.readingsSkipped} kept as they were`,
    ],
    ['time span', r.timeFrom === null ? 'no timestamps (one snapshot)' : `${formatTime(r.timeFrom)} → ${formatTime(r.timeTo)}`],
  ];
  for (const [k, v] of rows) out(`  ${k.padEnd(11)}  ${v}`);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (refused) {
    for (const i of r.errors) process.stderr.write(`  ${formatIssue(i)}\n`);
    if (r.totalErrors > r.errors.length) process.stderr.write(`  ... and ${r.totalErrors - r.errors.length} more\n`);
  }
}

export function register(program: Command): void {
  program
    .command('import')
    .description('import sensor readings (CSV, TSV, GeoJSON) into a project; all or nothing (see docs/formats.md)')
    .argument('<file>', 'readings file')
    .requiredOption('--project <file>', 'project file (create it first with emfmap init)')
    .option('--format <format>', 'auto | csv | tsv | geojson', 'auto')
    .option('--crs <crs>', 'CRS of x/y coordinate columns: EPSG:<code> (e.g. EPSG:2154 Lambert-93), a proj4 string, or "local"')
    .option('--unit <unit>', 'unit of values when the file does not say: V/m, mV/m, µV/m, dBµV/m, W/m², mW/m², µW/m², µW/cm²')
    .option('--timezone <zone>', 'time zone of timestamps without an offset: IANA name (Europe/Paris) or +hh:mm (default UTC)')
    .option('--sensors <file>', 'sensor metadata file (id, position, name, height, ...) joined by sensor id')
    .option('--on-duplicate <rule>', 'a reading for an existing (sensor, time, band): replace | keep', 'replace')
    .option('--dry-run', 'check everything and report what would be imported; write nothing')
    .option('--json', 'machine-readable report')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  emfmap import readings.csv --project lille.emfmap\n' +
        '  emfmap import mesures.csv --project lille.emfmap --timezone Europe/Paris --dry-run\n' +
        '  emfmap import l93.csv --project lille.emfmap --crs EPSG:2154 --unit mV/m\n' +
        '  emfmap import wide.csv --sensors sensors.csv --project lille.emfmap\n' +
        '\nBad input changes nothing: every problem is listed with file, line and field (exit code 1).\n' +
        'Ctrl-C cancels and rolls back.\n',
    )
    .action(async (file: string, o: ImportOptions) => {
      if (o.onDuplicate !== 'replace' && o.onDuplicate !== 'keep') {
        throw new UserError(`--on-duplicate must be "replace" or "keep" (got "${o.onDuplicate}")`);
      }
      const svc = new EmfmapService({ projectPath: o.project });
      const ctx = cliJobContext({ quiet: o.json });
      const t0 = performance.now();
      try {
        const report = await svc.importReadings(
          {
            file,
            format: o.format,
            crs: o.crs,
            unit: o.unit,
            timezone: o.timezone,
            sensorsFile: o.sensors,
            onDuplicate: o.onDuplicate,
            dryRun: Boolean(o.dryRun),
          },
          ctx,
        );
        ctx.done();
        if (o.json) printJson(report);
        else printReport(report, (performance.now() - t0) / 1000);
        if (report.totalErrors > 0) process.exitCode = 1;
      } finally {
        ctx.done();
        svc.close();
      }
    });
}
