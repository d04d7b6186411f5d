// `emfmap demo --compare`: the README quick start's main job. The demo project is generated once here; the
// command then compares methods on it, prints the table and stores the runs (or not, with --no-save), and
// refuses bad options before generating anything.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoProject } from '../../src/demo/project.ts';
import { openProject } from '../../src/store/project.ts';
import { demoCompareMethods } from '../../src/cli/commands/demo.ts';
import { estimatorIds } from '../../src/estimators/registry.ts';
import type { CvMetrics } from '../../src/domain/types.ts';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let demo: string;

const inProc = (args: string[]) => runCli(args);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  demo = path.join(dir, 'demo.emfmap');
  await createDemoProject(demo);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('emfmap demo --compare', () => {
  it('prints the comparison table and stores one run per method', async () => {
    const r = await inProc(['demo', '--project', demo, '--compare', 'idw,kriging', '--grid', '32']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/SYNTHETIC demo project \(already present\)/);
    expect(r.out).toMatch(/Comparing idw, kriging on the demo \(leave-one-out and against the reference map\)/);
    expect(r.out).toMatch(/cross-validation: loo; grid 32×32; \d+ held-out cells/);
    const table = r.out.split('\n').filter((l) => /^(idw|kriging) /.test(l));
    expect(table).toHaveLength(2);
    const store = openProject(demo);
    try {
      const runs = store.runs();
      expect(runs.map((x) => [x.method, x.label, x.grid.width])).toEqual([
        ['idw', 'compare loo', 32],
        ['kriging', 'compare loo', 32],
      ]);
      // each printed row carries its run's stored scores (rmse first, truthRmse later in the row)
      for (const run of runs) {
        const line = table.find((l) => l.startsWith(run.method))!;
        const loo = run.metrics.loo as CvMetrics;
        const truth = run.metrics.truth as { rmse: number };
        expect(line).toContain(loo.rmse.toPrecision(4));
        expect(line).toContain(truth.rmse.toPrecision(4));
        // the demo's fields are a few tenths of V/m to a few V/m: errors of that order, not zero, not wild
        expect(loo.rmse).toBeGreaterThan(0.01);
        expect(loo.rmse).toBeLessThan(3);
        expect(loo.n).toBeGreaterThan(50);
      }
      expect(r.out).toContain(`saved as runs `);
    } finally {
      store.close();
    }
  }, 120_000);

  it('--json --no-save adds the rows to the summary and stores nothing', async () => {
    const before = openProject(demo);
    const n = before.runs().length;
    before.close();
    const r = await inProc(['demo', '--project', demo, '--compare', 'idw', '--cv', 'kfold:5', '--grid', '24', '--no-save', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.synthetic).toBe(true);
    expect(j.compare.cv).toBe('kfold:5');
    expect(j.compare.grid.width).toBe(24);
    expect(j.compare.rows).toHaveLength(1);
    expect(j.compare.rows[0]).toMatchObject({ method: 'idw' });
    expect(j.compare.rows[0].truthRmse).toBeGreaterThan(0);
    expect(j.compare.rows[0]).not.toHaveProperty('runId');
    const after = openProject(demo);
    expect(after.runs().length).toBe(n);
    after.close();
  }, 120_000);

  it('refuses bad options before generating anything', async () => {
    const fresh = path.join(dir, 'never.emfmap');
    const cases: Array<[string[], RegExp]> = [
      [['--grid', '64'], /--grid, --cv and --no-save go with --compare/],
      [['--compare', 'idw,zzz'], /--compare: unknown method "zzz"/],
      [['--compare', 'idw', '--grid', '5000'], /8 to 1024/],
      [['--compare', 'idw', '--cv', 'kfold:1'], /number of folds/],
    ];
    for (const [args, msg] of cases) {
      const r = await inProc(['demo', '--project', fresh, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(msg);
      expect(fs.existsSync(fresh)).toBe(false);
    }
  });
});

describe('demoCompareMethods', () => {
  it('defaults to the quick registered methods; IDW alone for the drive test; a list as given', () => {
    const quick = demoCompareMethods(true, false);
    expect(quick.slice(0, 3)).toEqual(['idw', 'kriging', 'gp']);
    expect(quick.every((m) => estimatorIds().includes(m))).toBe(true);
    expect(quick.length).toBeLessThanOrEqual(4);
    expect(demoCompareMethods(true, true)).toEqual(['idw']);
    expect(demoCompareMethods(' gp, idw ', false)).toEqual(['gp', 'idw']);
    expect(() => demoCompareMethods(',', false)).toThrow(/list of methods is empty/);
  });
});
