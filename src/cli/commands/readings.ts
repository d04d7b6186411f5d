// `emfmap readings`: list readings, filtered by sensor and time window.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { parseTimeZone, parseTimestamp } from '../../io/import/time.ts';
import { EmfmapService } from '../../service/service.ts';
import { printJson, table } from '../output.ts';
import { formatTime } from './info.ts';

interface ReadingsOptions {
  project: string;
  sensor?: string[];
  from?: string;
  to?: string;
  timezone?: string;
  limit: string;
  json?: boolean;
}

function time(text: string | undefined, flag: string, zone: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = parseTimestamp(text, parseTimeZone(zone));
  if (Number.isNaN(t.ms)) throw new UserError(`${flag}: ${t.error}`);
  return t.ms;
}

export function register(program: Command): void {
  program
    .command('readings')
    .description('list readings (V/m), oldest first, optionally for some sensors and a time window [from, to)')
    .requiredOption('--project <file>', 'project file')
    .option('--sensor <id...>', 'only these sensor ids (repeat or list several)')
    .option('--from <time>', 'first time included: ISO 8601 or dd/mm/yyyy hh:mm')
    .option('--to <time>', 'first time excluded')
    .option('--timezone <zone>', 'time zone of --from/--to without an offset (IANA name or +hh:mm; default UTC)')
    .option('--limit <n>', 'at most this many readings', '1000')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  emfmap readings --project lille.emfmap --sensor LIL-01 --from 2024-03-01 --to 2024-03-02\n' +
        '  emfmap readings --project lille.emfmap --limit 100000 --json > readings.json\n',
    )
    .action(async (o: ReadingsOptions) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UserError(`--limit must be a positive integer (got "${o.limit}")`);
      const svc = new EmfmapService({ projectPath: o.project });
      try {
        const rows = await svc.readings({
          sensorIds: o.sensor,
          from: time(o.from, '--from', o.timezone),
          to: time(o.to, '--to', o.timezone),
          limit,
        });
        if (o.json) {
          printJson(rows);
          return;
        }
        process.stdout.write(
          table(
            rows.map((r) => ({ sensor: r.sensorId, time: formatTime(r.time), 'V/m': r.value.toFixed(4), band: r.band, quality: r.quality })),
          ),
        );
        process.stdout.write(`${rows.length} reading${rows.length === 1 ? '' : 's'}${rows.length === limit ? ` (limit ${limit} reached: raise --limit)` : ''}\n`);
      } finally {
        svc.close();
      }
    });
}
