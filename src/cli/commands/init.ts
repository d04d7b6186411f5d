// `emfmap init`: create an empty project file.

import type { Command } from 'commander';
import { EmfmapService } from '../../service/service.ts';
import { printJson } from '../output.ts';
import { printSummary } from './info.ts';

interface InitOptions {
  project: string;
  name?: string;
  crs?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('init')
    .description('create an empty project (one SQLite file) to import sensor readings into')
    .requiredOption('--project <file>', 'project file to create (e.g. lille.emfmap); refused if it exists')
    .option('--name <name>', 'project name (default: the file name)')
    .option('--crs <crs>', 'metric CRS for maps: EPSG:<code>, a proj4 string, or "local" (default: chosen at the first import)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  emfmap init --project lille.emfmap\n  emfmap init --project lille.emfmap --name "Lille centre" --crs EPSG:2154\n')
    .action(async (o: InitOptions) => {
      const svc = new EmfmapService();
      try {
        if (o.crs) (await import('../../geo/crs.ts')).proj4Def(o.crs); // clear error before creating anything
        const s = await svc.createProject(o.project, { name: o.name, crs: o.crs });
        if (o.json) printJson(s);
        else {
          process.stdout.write(`created ${s.path}\n`);
          printSummary(s);
          process.stdout.write(`next: emfmap import FILE --project ${o.project}\n`);
        }
      } finally {
        svc.close();
      }
    });
}
