// `emfmap sensors`: the project's sensors with their reading counts and latest value.

import type { Command } from 'commander';
import { EmfmapService } from '../../service/service.ts';
import { printJson, table } from '../output.ts';
import { formatTime } from './info.ts';

interface SensorsOptions {
  project: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('sensors')
    .description("list the project's sensors: id, name, position, height, reading count, latest value")
    .requiredOption('--project <file>', 'project file')
    .option('--json', 'machine-readable output (with free metadata)')
    .addHelpText('after', '\nExample:\n  emfmap sensors --project lille.emfmap\n')
    .action(async (o: SensorsOptions) => {
      const svc = new EmfmapService({ projectPath: o.project });
      try {
        const list = await svc.sensors();
        if (o.json) {
          printJson(list);
          return;
        }
        const fix = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '—');
        process.stdout.write(
          table(
            list.map((s) => ({
              id: s.id,
              name: s.name === s.id ? '' : s.name,
              lat: fix(s.lat, 6),
              lon: fix(s.lon, 6),
              x: fix(s.x, 1),
              y: fix(s.y, 1),
              height: s.height,
              readings: s.readings,
              'latest V/m': s.latest === null ? null : s.latest.toFixed(3),
              'latest time': s.latestTime === null ? null : formatTime(s.latestTime),
            })),
          ),
        );
        process.stdout.write(`${list.length} sensor${list.length === 1 ? '' : 's'}\n`);
      } finally {
        svc.close();
      }
    });
}
