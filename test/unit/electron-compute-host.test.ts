// The desktop app's compute process without Electron: the esbuild bundle of electron/compute-host.ts, started in a
// Node child whose process.parentPort is emulated (test/fixtures/fake-parent-port.cjs), must register tsx, load
// the engine from its sources and serve the real service over the same protocol the main process uses.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ComputeClient, nodeComputeProcess } from '../../src/server/compute-client.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE_PORT = path.join(ROOT, 'test', 'fixtures', 'fake-parent-port.cjs');
let dir: string;
let client: ComputeClient;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-host-'));
  execFileSync(process.execPath, [path.join(ROOT, 'electron', 'bundle.js')], { cwd: ROOT, stdio: 'pipe' });
  client = new ComputeClient(() =>
    nodeComputeProcess({ entry: path.join(ROOT, 'dist-electron', 'compute-host.cjs'), execArgv: ['--require', FAKE_PORT], tsx: false }),
  );
}, 120_000);

afterAll(async () => {
  await client?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('bundled Electron compute host', () => {
  it('serves the real service from the TypeScript sources', async () => {
    const file = path.join(dir, 'p.emfmap');
    const created = await client.invoke('createProject', [file, { name: 'host test' }]);
    expect(created.path).toBe(file);
    expect(created.meta.name).toBe('host test');
    expect(fs.existsSync(file)).toBe(true);
    const s = await client.invoke('summary', []);
    expect(s.counts.sensors).toBe(0);
    const v = await client.invoke('version', []);
    expect(v.node).toBe(process.versions.node);
  }, 120_000);
});
