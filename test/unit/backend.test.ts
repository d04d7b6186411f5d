// TensorFlow.js backend selection (src/compute/backend.ts): the default order, the EMFMAP_BACKEND override and
// the option that beats it, unknown names, the fallback when tfjs-node(-gpu) is missing (as on this
// machine), listBackends(), and the `emfmap backends` command in a fresh process.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_ORDER, initBackend, isInstalled, listBackends, selectBackend } from '../../src/compute/backend.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// tfjs-node-gpu / tfjs-node are never installed here (they must stay optional)
const nativeInstalled = isInstalled('@tensorflow/tfjs-node-gpu') || isInstalled('@tensorflow/tfjs-node');

afterAll(async () => {
  // leave the process on its own choice for anything that runs after
  await tf.setBackend((await initBackend()).name);
});

describe('selectBackend', () => {
  it.skipIf(nativeInstalled)('default order: tensorflow is skipped with the reason, wasm is used', async () => {
    const b = await selectBackend({ env: {} });
    expect(b.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(b.requested).toBeNull();
    expect(b.attempts.map((a) => [a.name, a.ok])).toEqual([
      ['tensorflow', false],
      ['wasm', true],
    ]);
    expect(b.reason).toMatch(/^wasm \(/);
    expect(b.reason).toContain('@tensorflow/tfjs-node-gpu not installed');
    expect(b.reason).toContain('@tensorflow/tfjs-node not installed');
  });

  it('EMFMAP_BACKEND=cpu selects cpu and says so', async () => {
    const b = await selectBackend({ env: { EMFMAP_BACKEND: 'cpu' } });
    expect(b.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(b.requestedBy).toBe('env');
    expect(b.reason).toBe('cpu (EMFMAP_BACKEND=cpu)');
    // and it computes
    expect(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()))).toEqual([11]);
  });

  it('the option wins over the environment; names are case-insensitive', async () => {
    const b = await selectBackend({ preferred: ' WASM ', env: { EMFMAP_BACKEND: 'cpu' } });
    expect(b.name).toBe('wasm');
    expect(b.requestedBy).toBe('option');
    expect(b.reason).toContain('option backend=wasm');
  });

  it.skipIf(nativeInstalled)('an unknown name is reported and the default order is used', async () => {
    const b = await selectBackend({ env: { EMFMAP_BACKEND: 'gpu' } });
    expect(b.name).toBe('wasm');
    expect(b.reason).toContain('unknown backend "gpu" in EMFMAP_BACKEND ignored');
    expect(b.reason).toContain('known: tensorflow, wasm, cpu, auto');
  });

  it.skipIf(nativeInstalled)('a requested tensorflow backend that is not installed falls back with the reason', async () => {
    const b = await selectBackend({ env: { EMFMAP_BACKEND: 'tensorflow' } });
    expect(b.name).toBe('wasm');
    expect(b.reason).toMatch(/tensorflow requested by EMFMAP_BACKEND=tensorflow but unavailable/);
    expect(b.reason).toContain('not installed');
  });

  it('auto means the default order', async () => {
    const b = await selectBackend({ env: { EMFMAP_BACKEND: 'auto' } });
    expect(b.name).toBe(nativeInstalled ? 'tensorflow' : 'wasm');
    expect(b.reason).not.toContain('unknown');
  });
});

describe('listBackends', () => {
  it.skipIf(nativeInstalled)('reports wasm and cpu available with timings, tensorflow not installed', async () => {
    const active = await initBackend();
    const list = await listBackends({ repeats: 2 });
    expect(list.map((b) => b.name)).toEqual([...BACKEND_ORDER]);
    const byName = Object.fromEntries(list.map((b) => [b.name, b]));
    expect(byName.tensorflow.available).toBe(false);
    expect(byName.tensorflow.reason).toMatch(/^not installed/);
    expect(byName.tensorflow.matMulMs).toBeUndefined();
    for (const name of ['wasm', 'cpu'] as const) {
      expect(byName[name].available).toBe(true);
      expect(byName[name].matMulMs).toBeGreaterThan(0);
      expect(byName[name].conv2dMs).toBeGreaterThan(0);
      expect(byName[name].matMulGflops).toBeCloseTo((2 * 256 ** 3) / (byName[name].matMulMs! * 1e6), 6);
    }
    expect(list.filter((b) => b.active).map((b) => b.name)).toEqual([active.name]);
    // the process's backend is restored after probing
    expect(tf.getBackend()).toBe(active.name);
  });
});

describe('emfmap backends (fresh process)', () => {
  it('honours EMFMAP_BACKEND and prints JSON', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin/emfmap.js'), 'backends', '--json', '--no-time'], {
      cwd: ROOT,
      env: { ...process.env, EMFMAP_BACKEND: 'cpu' },
    });
    const out = JSON.parse(stdout) as { inUse: { name: string; reason: string; requestedBy: string }; backends: Array<{ name: string; available: boolean; active: boolean }> };
    expect(out.inUse.name).toBe('cpu');
    expect(out.inUse.requestedBy).toBe('env');
    expect(out.backends.find((b) => b.active)?.name).toBe('cpu');
    expect(out.backends.find((b) => b.name === 'wasm')?.available).toBe(true);
  });

  it('rejects a bad --repeats with exit code 1', async () => {
    await expect(run(process.execPath, [path.join(ROOT, 'bin/emfmap.js'), 'backends', '--repeats', '0'], { cwd: ROOT })).rejects.toMatchObject({ code: 1 });
  });
});
