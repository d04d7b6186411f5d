// CLI commands init / import / info / sensors / readings: exit codes, --json output, error messages
// naming file, line and field. Most run in-process (test/helpers/cli.ts); one runs the real binary.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/import');
let dir: string;
let project: string;

const run = (...args: string[]) => runCli(args);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  project = path.join(dir, 'city.emfmap');
});
afterEach(() => {
  process.exitCode = undefined;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('emfmap data commands', () => {
  it('init creates a project and refuses an existing file', async () => {
    const r = await run('init', '--project', project, '--name', 'City', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ meta: { name: 'City', crs: '' }, counts: { sensors: 0, readings: 0 } });
    const again = await run('init', '--project', project);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
    const badCrs = await run('init', '--project', path.join(dir, 'x.emfmap'), '--crs', 'EPSG:1');
    expect(badCrs.code).toBe(1);
    expect(fs.existsSync(path.join(dir, 'x.emfmap'))).toBe(false);
  });

  it('import --dry-run --json reports and writes nothing; import writes; re-import says so', async () => {
    const dry = await run('import', path.join(FIX, 'long-fr.csv'), '--project', project, '--timezone', 'Europe/Paris', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const rep = JSON.parse(dry.out);
    expect(rep).toMatchObject({ dryRun: true, delimiter: ';', decimalComma: true, readings: 5, readingsAdded: 5, timezone: 'Europe/Paris' });
    expect(rep.columns.map((c: { role: string }) => c.role)).toEqual(['sensor id', 'sensor name', 'latitude', 'longitude', 'timestamp', 'value']);
    expect(JSON.parse((await run('info', '--project', project, '--json')).out).counts.readings).toBe(0);

    const real = await run('import', path.join(FIX, 'long-fr.csv'), '--project', project, '--timezone', 'Europe/Paris');
    expect(real.code).toBe(0);
    expect(real.out).toMatch(/imported .*long-fr\.csv/);
    expect(real.out).toMatch(/readings\s+5: 5 added, 0 replaced/);
    expect(real.out).toMatch(/semicolon-separated, decimal comma/);
    const again = await run('import', path.join(FIX, 'long-fr.csv'), '--project', project, '--timezone', 'Europe/Paris');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already imported/);
  });

  it('a bad file exits 1 naming file, line and field, and changes nothing', async () => {
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'id,lat,lon,time,value\nZ1,50.1,3.0,2024-03-01T10:00:00Z,0.5\nZ2,50.1,3.0,2024-03-01T10:00:00Z,1,5e\n');
    const r = await run('import', bad, '--project', project);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.csv: 1 problem found, nothing was imported/);
    expect(r.err).toMatch(/bad\.csv, line 3: 6 cells, the header has 5 \(an unquoted decimal comma\?/);
    const info = JSON.parse((await run('info', '--project', project, '--json')).out);
    expect(info.counts).toMatchObject({ sensors: 2, readings: 5, imports: 1 });
    const dry = await run('import', bad, '--project', project, '--dry-run');
    expect(dry.code).toBe(1);
  });

  it('info, sensors and readings show what was imported', async () => {
    const info = await run('info', '--project', project);
    expect(info.code).toBe(0);
    expect(info.out).toMatch(/sensors\s+2/);
    expect(info.out).toMatch(/readings\s+5/);
    expect(info.out).toMatch(/time span\s+2024-03-01 10:00:00Z → 2024-03-31 01:30:00Z/);
    const sensors = await run('sensors', '--project', project, '--json');
    expect(JSON.parse(sensors.out).map((s: { id: string; readings: number }) => [s.id, s.readings])).toEqual([
      ['C1', 3],
      ['C2', 2],
    ]);
    expect((await run('sensors', '--project', project)).out).toMatch(/Hôtel de Ville/);
    const rd = await run('readings', '--project', project, '--sensor', 'C1', '--from', '01/03/2024 11:30', '--timezone', 'Europe/Paris', '--json');
    expect(rd.code).toBe(0);
    // 11:30 Paris = 10:30Z: the 10:00Z reading is before the window
    expect(JSON.parse(rd.out).map((r: { value: number }) => r.value)).toEqual([0.72, 0.55]);
    const lim = await run('readings', '--project', project, '--limit', '2');
    expect(lim.out).toMatch(/2 readings \(limit 2 reached/);
    expect((await run('readings', '--project', project, '--limit', '0')).code).toBe(1);
    expect((await run('readings', '--project', project, '--from', 'tomorrow')).err).toMatch(/--from: cannot read "tomorrow"/);
  });

  it('a missing project is a clear error', async () => {
    const r = await run('info', '--project', path.join(dir, 'nope.emfmap'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no project at .*nope\.emfmap \(create one with: emfmap init/);
  });

  it('every command has --help', async () => {
    for (const cmd of ['init', 'import', 'info', 'sensors', 'readings']) {
      const r = await run(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toMatch(/--project/);
    }
    expect((await run('import', '--help')).out).toMatch(/--on-duplicate/);
  });

  it('the installed binary returns exit code 1 on bad input', () => {
    const p = spawnSync(process.execPath, [path.join(ROOT, 'bin/emfmap.js'), 'import', path.join(dir, 'nothing.csv'), '--project', project], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/nothing\.csv: no such file/);
  });
});
