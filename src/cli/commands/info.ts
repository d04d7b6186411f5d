// `emfmap info`: what a project holds (sensors, readings, time span, CRS, reference map, runs).

import type { Command } from 'commander';
import type { ProjectSummary } from '../../service/api.ts';
import type { ImportRecord } from '../../store/types.ts';
import { EmfmapService } from '../../service/service.ts';
import { printJson } from '../output.ts';

interface InfoOptions {
  project: string;
  json?: boolean;
}

/** "2024-03-01 10:00:00Z" (UTC), or "—". */
export function formatTime(t: number | null | undefined): string {
  if (t === null || t === undefined) return '—';
  return new Date(t).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

export function printSummary(s: ProjectSummary): void {
  const m = s.meta;
  const c = s.counts;
  const rows: Array<[string, string]> = [
    ['project', `${m.name}${m.synthetic ? '  (SYNTHETIC demo data)' : ''}`],
    ['file', s.path],
    ['CRS', m.crs || '(not chosen yet: set by the first import)'],
    ['area', m.aoi ? `x ${m.aoi.xmin.toFixed(0)}…${m.aoi.xmax.toFixed(0)}, y ${m.aoi.ymin.toFixed(0)}…${m.aoi.ymax.toFixed(0)} m` : '—'],
    ['sensors', String(c.sensors)],
    ['readings', String(c.readings)],
    ['time span', c.timeFrom === null ? '—' : `${formatTime(c.timeFrom)} → ${formatTime(c.timeTo)}`],
    ['reference map', c.hasReferenceMap ? 'present' : 'none'],
    ['runs', String(c.runs)],
    ['imports', String(c.imports)],
    ['schema', String(m.schemaVersion)],
  ];
  if (m.description) rows.splice(2, 0, ['description', m.description]);
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(w)}  ${v}\n`);
}

/** Imports listed by `info` (the latest first). */
export const INFO_IMPORTS = 5;

/** The latest imports, newest first: when, file, what it added. */
export function printImports(imports: ImportRecord[], max = INFO_IMPORTS): void {
  if (imports.length === 0) return;
  const latest = imports.slice(-max).reverse();
  process.stdout.write(`  last import${latest.length > 1 ? 's' : ''}${imports.length > latest.length ? ` (${latest.length} of ${imports.length})` : ''}:\n`);
  for (const r of latest) {
    const changes = [`${r.readingsAdded} readings added`];
    if (r.readingsReplaced) changes.push(`${r.readingsReplaced} replaced`);
    if (r.readingsSkipped) changes.push(`${r.readingsSkipped} kept as they were`);
    if (r.sensorsAdded) changes.push(`${r.sensorsAdded} new sensor${r.sensorsAdded > 1 ? 's' : ''}`);
    // to the second: the milliseconds of an import time are noise here
    process.stdout.write(`    #${r.id}  ${formatTime(Math.floor(r.importedAt / 1000) * 1000)}  ${r.fileName}: ${changes.join(', ')}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('info')
    .description('summary of a project: sensors, readings, time span, CRS, reference map, runs, last imports')
    .requiredOption('--project <file>', 'project file')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  emfmap info --project lille.emfmap --json\n')
    .action(async (o: InfoOptions) => {
      const svc = new EmfmapService({ projectPath: o.project });
      try {
        const s = await svc.summary();
        if (o.json) {
          const ref = s.counts.hasReferenceMap ? await svc.referenceMap() : null;
          printJson({
            ...s,
            referenceMap: ref ? { name: ref.name, grid: ref.grid, synthetic: ref.synthetic, description: ref.description } : null,
            imports: await svc.imports(),
          });
        } else {
          printSummary(s);
          if (s.counts.hasReferenceMap) {
            const ref = await svc.referenceMap();
            if (ref) {
              process.stdout.write(
                `  reference     ${ref.name}: ${ref.grid.width}×${ref.grid.height} cells${ref.synthetic ? ' (SYNTHETIC)' : ''}${ref.description ? ` — ${ref.description}` : ''}\n`,
              );
            }
          }
          printImports(await svc.imports());
        }
      } finally {
        svc.close();
      }
    });
}
