// `emfmap estimate`: build an exposure map (or one per time step) with one method, store it as a run in
// the project, and print a summary.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { cliJobContext, formatSeconds, printJson } from '../output.ts';
import { addGridOptions, addSelectionOptions, collect, fmtNum, gridRequest, selectionRequest, type GridCliOptions, type SelectionCliOptions } from './estimate-options.ts';
import { parseParamPairs } from '../../estimators/params.ts';
import { estimatorIds } from '../../estimators/registry.ts';
import { cellWidth } from '../../geo/grid.ts';

interface EstimateCliOptions extends GridCliOptions, SelectionCliOptions {
  project?: string;
  method?: string;
  every?: string;
  steps?: string;
  param?: string[];
  label?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('estimate')
    .description('build an exposure map with one method and store it as a run in the project')
    .requiredOption('--project <file>', 'project file')
    .requiredOption('--method <id>', `estimator (${estimatorIds().join(', ')}); parameters and defaults: docs/estimators.md`);
  addGridOptions(cmd);
  addSelectionOptions(cmd);
  cmd
    .option('--every <step>', 'one map per time step of this length over the window: 30min, 2h, 1d, ...')
    .option('--steps <n>', 'one map per each of N equal time steps over the window')
    .option('--param <key=value>', 'method parameter (repeatable), e.g. --param power=3 --param log=true', collect, [])
    .option('--label <text>', 'a label stored with the run')
    .option('--json', 'machine-readable output (the stored run record and a summary)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  emfmap estimate --project city.emfmap --method idw --grid 256\n' +
        '  emfmap estimate --project city.emfmap --method kriging --cell 5 --from 2024-05-01 --to 2024-05-02 --agg p95\n' +
        '  emfmap estimate --project city.emfmap --method idw --every 2h --param neighbours=8\n' +
        'Progress shows on a terminal; Ctrl-C cancels and stores nothing.',
    )
    .action(async (o: EstimateCliOptions) => {
      await estimate(o);
    });
}

async function estimate(o: EstimateCliOptions): Promise<void> {
  if (o.steps !== undefined && !/^\d+$/.test(o.steps.trim())) throw new UserError(`--steps must be a positive integer (got "${o.steps}")`);
  const req = {
    method: o.method!.trim(),
    params: parseParamPairs(o.param ?? []),
    grid: gridRequest(o),
    selection: selectionRequest(o),
    every: o.every,
    steps: o.steps !== undefined ? Number(o.steps) : undefined,
    label: o.label,
  };
  const { EmfmapService } = await import('../../service/service.ts');
  const service = new EmfmapService({ projectPath: o.project });
  const ctx = cliJobContext({ quiet: o.json });
  try {
    const res = await service.estimate(req, ctx);
    ctx.done();
    if (o.json) {
      printJson(res);
      return;
    }
    const r = res.run;
    const g = r.grid;
    const cell = cellWidth(g);
    const d = r.diagnostics as { droppedSensors?: string[]; outsideGrid?: string[]; groups?: unknown[]; emptySteps?: unknown[] };
    const truth = (r.metrics as { truth?: { rmse: number; mae: number; reference: string; synthetic: boolean } }).truth;
    const lines = [
      `run ${r.id}: ${r.method} on a ${g.width}×${g.height} grid (${fmtNum(cell, 3)} m cells, ${g.crs.startsWith('+') ? 'local CRS' : g.crs}), ${r.steps} map${r.steps === 1 ? '' : 's'}`,
      `  observed cells: ${res.summary.observed} of ${res.summary.cells.toLocaleString('en')}` +
        (res.summary.droppedSensors.length ? `; sensors without readings: ${list(res.summary.droppedSensors)}` : ''),
      `  values (V/m${r.steps > 1 ? ', first step' : ''}): min ${fmtNum(res.summary.min)}  mean ${fmtNum(res.summary.mean)}  max ${fmtNum(res.summary.max)}`,
    ];
    if (res.summary.negativeCells > 0) {
      lines.push(
        `  note: ${res.summary.negativeCells.toLocaleString('en')} cells below 0 V/m (min ${fmtNum(res.summary.min)}): the method undershoots between sensors; ` +
          '--param log=true fits ln(V/m) and keeps the map positive',
      );
    }
    if (d.outsideGrid?.length) lines.push(`  outside the grid (not used): ${list(d.outsideGrid)}`);
    if (r.steps > 1 || (d.groups?.length ?? 0) > 1) lines.push(`  fits: ${d.groups?.length} (one per set of reporting sensors)${d.emptySteps?.length ? `; ${d.emptySteps.length} step(s) without readings skipped` : ''}`);
    if (truth) lines.push(`  against the reference map "${truth.reference}"${truth.synthetic ? ' (synthetic)' : ''}: RMSE ${fmtNum(truth.rmse)}  MAE ${fmtNum(truth.mae)} V/m`);
    lines.push(`  time: fit ${formatSeconds(r.timings.fit)}, predict ${formatSeconds(r.timings.predict)}, total ${formatSeconds(r.timings.total)}; backend ${r.backend}`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    ctx.done();
    service.close();
  }
}

function list(ids: string[]): string {
  return ids.length > 8 ? `${ids.slice(0, 8).join(', ')} ... (${ids.length})` : ids.join(', ');
}
