// `emfmap compare`: cross-validate several methods on the same observations (and score them against the
// project's reference map when it has one); one row per method, best first.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { cliJobContext, printJson, table } from '../output.ts';
import { addGridOptions, addSelectionOptions, collect, gridRequest, perMethodParams, selectionRequest, type GridCliOptions, type SelectionCliOptions } from './estimate-options.ts';
import { estimatorIds } from '../../estimators/registry.ts';
import { parseCvScheme, formatCvScheme } from '../../evaluation/folds.ts';
import type { CompareResult, CvScheme } from '../../service/api.ts';

interface CompareCliOptions extends GridCliOptions, SelectionCliOptions {
  project?: string;
  methods?: string;
  cv?: string;
  seed?: string;
  param?: string[];
  save?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('compare')
    .description('compare methods by cross-validation (RMSE, MAE, bias, R²) and against the reference map; best first')
    .requiredOption('--project <file>', 'project file')
    .option('--methods <ids>', `comma-separated methods (default: all: ${estimatorIds().join(',')})`)
    .option('--cv <scheme>', 'loo (leave one sensor cell out), kfold:K (random), blocks:K (spatially blocked), none', 'loo')
    .option('--seed <n>', 'seed of the random / blocked folds', '1');
  addGridOptions(cmd);
  addSelectionOptions(cmd);
  cmd
    .option('--param <method.key=value>', 'method parameter (repeatable), e.g. --param idw.power=3', collect, [])
    .option('--no-save', 'do not store the runs (by default each method\'s map and its scores are stored as a run)')
    .option('--json', 'print a JSON array of row objects')
    .addHelpText(
      'after',
      '\nRows are sorted by cross-validated RMSE (by RMSE against the reference map with --cv none).\n' +
        'bias = mean(predicted − observed): positive means the method over-predicts.\n' +
        'Each method is stored as a run labelled "compare <scheme>" (its map on all sensors, with the scores\n' +
        'in the run\'s metrics, shown by the UI and the HTML report); --no-save stores nothing.\n' +
        'Examples:\n' +
        '  emfmap compare --project city.emfmap --methods idw,kriging --cv kfold:10\n' +
        '  emfmap compare --project demo.emfmap --cv none --grid 64 --json --no-save',
    )
    .action(async (o: CompareCliOptions) => {
      await compare(o);
    });
}

async function compare(o: CompareCliOptions): Promise<void> {
  const methods = (o.methods ? o.methods.split(',') : estimatorIds()).map((m) => m.trim()).filter(Boolean);
  if (methods.length === 0) throw new UserError('--methods is empty');
  const cv = formatCvScheme(parseCvScheme(o.cv)) as CvScheme;
  if (!/^\d+$/.test((o.seed ?? '1').trim())) throw new UserError(`--seed must be a non-negative integer (got "${o.seed}")`);
  const { EmfmapService } = await import('../../service/service.ts');
  const service = new EmfmapService({ projectPath: o.project });
  const ctx = cliJobContext({ quiet: o.json });
  try {
    const res = await service.compare(
      { methods, cv, seed: Number(o.seed ?? 1), params: perMethodParams(o.param ?? [], methods), grid: gridRequest(o), selection: selectionRequest(o), save: o.save !== false },
      ctx,
    );
    ctx.done();
    printCompare(res, { json: o.json, project: o.project! });
  } finally {
    ctx.done();
    service.close();
  }
}

/** The rows as `--json` prints them. */
export function compareRows(res: CompareResult) {
  return res.rows.map((r) => ({
    method: r.method,
    rmse: r.rmse,
    mae: r.mae,
    bias: r.bias,
    r2: r.r2,
    truthRmse: r.truthRmse,
    truthMae: r.truthMae,
    seconds: Math.round(r.seconds * 1000) / 1000,
    backend: r.backend,
    cv: r.cv,
    ...(r.runId !== undefined ? { runId: r.runId } : {}),
    ...(r.error ? { error: r.error } : {}),
  }));
}

/** The comparison table (or JSON rows), the saved runs, and the failed methods (which set exit code 1). */
export function printCompare(res: CompareResult, o: { json?: boolean; project: string }): void {
  const rows = compareRows(res);
  // a method that failed makes the command fail (exit 1), after printing what did work
  if (rows.some((r) => r.error)) process.exitCode = 1;
  if (o.json) {
    printJson(rows);
    return;
  }
  const g = res.grid;
  const held = res.rows.find((r) => r.cv)?.cv?.n ?? 0;
  process.stdout.write(
    res.cv === 'none' ? `no cross-validation; grid ${g.width}×${g.height}\n` : `cross-validation: ${res.cv}; grid ${g.width}×${g.height}; ${held} held-out cells\n`,
  );
  const hasVar = res.rows.some((r) => r.cv?.rmsse !== undefined);
  const cols = ['method', 'rmse', 'mae', 'bias', 'r2', 'truthRmse', 'seconds', 'backend'];
  const shown = rows.map((r) => ({
    ...r,
    ...(hasVar ? { rmsse: r.cv?.rmsse ?? null, cover95: r.cv?.cover95 ?? null } : {}),
  }));
  process.stdout.write(table(shown, hasVar ? [...cols.slice(0, 5), 'rmsse', 'cover95', ...cols.slice(5)] : cols));
  const saved = rows.filter((r) => r.runId !== undefined);
  if (saved.length > 0) {
    const ids = saved.map((r) => `${r.runId} (${r.method})`).join(', ');
    process.stdout.write(
      `saved as run${saved.length > 1 ? 's' : ''} ${ids}, labelled "compare ${res.cv}"\n` +
        `  see them: emfmap runs --project ${quoteArg(o.project)}; report: emfmap export --project ${quoteArg(o.project)} --run ${saved[0].runId} --format report --out report.html\n`,
    );
  }
  for (const r of rows) if (r.error) process.stderr.write(`error: ${r.method} failed: ${r.error}\n`);
}

/** A path as a user can paste it into a shell. */
function quoteArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
