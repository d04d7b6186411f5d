// `emfmap runs`: list (or delete) the stored runs of a project.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { printJson, table } from '../output.ts';

interface RunsCliOptions {
  project?: string;
  delete?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('runs')
    .description('list the runs (stored maps) of a project')
    .requiredOption('--project <file>', 'project file')
    .option('--delete <id>', 'delete this run and its maps')
    .option('--json', 'machine-readable output (array of run records)')
    .addHelpText('after', '\nExamples:\n  emfmap runs --project city.emfmap\n  emfmap runs --project city.emfmap --delete 3')
    .action(async (o: RunsCliOptions) => {
      await runs(o);
    });
}

async function runs(o: RunsCliOptions): Promise<void> {
  const { EmfmapService } = await import('../../service/service.ts');
  const service = new EmfmapService({ projectPath: o.project });
  try {
    if (o.delete !== undefined) {
      if (!/^\d+$/.test(o.delete.trim())) throw new UserError(`--delete expects a run id (got "${o.delete}")`);
      const id = Number(o.delete);
      await service.deleteRun(id);
      if (o.json) printJson({ deleted: id });
      else process.stdout.write(`deleted run ${id}\n`);
      return;
    }
    const list = await service.runs();
    if (o.json) {
      printJson(list);
      return;
    }
    const rows = list.map((r) => {
      const truth = (r.metrics as { truth?: { rmse: number } }).truth;
      // a saved comparison keeps its cross-validation metrics under the scheme's key (loo, kfold:10, blocks:5)
      const cvKey = Object.keys(r.metrics).find((k) => /^(loo|kfold:\d+|blocks:\d+)$/.test(k));
      const cv = cvKey ? (r.metrics[cvKey] as { rmse: number | null }) : null;
      return {
        id: r.id,
        created: new Date(r.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
        method: r.method,
        grid: `${r.grid.width}×${r.grid.height}`,
        steps: r.steps,
        agg: r.selection.agg,
        seconds: Math.round(r.timings.total * 1000) / 1000,
        backend: r.backend,
        cvRmse: cv ? `${cv.rmse === null ? '—' : Number(cv.rmse.toPrecision(4))} (${cvKey})` : null,
        truthRmse: truth ? truth.rmse : null,
        label: r.label || '',
      };
    });
    process.stdout.write(rows.length ? table(rows) : 'no runs yet (make one with: emfmap estimate --project P --method idw)\n');
  } finally {
    service.close();
  }
}
