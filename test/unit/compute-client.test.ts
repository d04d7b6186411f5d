// The compute process seam: calls, progress and cancel cross to a child process; a crash or an out-of-memory
// there rejects the call with a clear error, the process is restarted and the project reopened; a job that
// ignores cancellation is stopped by a restart. Uses a fake service in the child (test/fixtures/compute-fake.ts).

import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ComputeClient, nodeComputeProcess, type ComputeStatus } from '../../src/server/compute-client.ts';
import type { ApiError } from '../../src/service/wire.ts';
import type { Progress } from '../../src/domain/run.ts';

const FAKE = fileURLToPath(new URL('../fixtures/compute-fake.ts', import.meta.url));
let client: ComputeClient | null = null;

afterEach(async () => {
  await client?.close();
  client = null;
});

function start(opts: { maxOldSpaceMb?: number; grace?: number; statuses?: ComputeStatus[] } = {}) {
  client = new ComputeClient(() => nodeComputeProcess({ entry: FAKE, maxOldSpaceMb: opts.maxOldSpaceMb }), {
    cancelGraceMs: opts.grace ?? 10_000,
    onStatus: (s) => opts.statuses?.push(s),
  });
  return client;
}

async function waitFor(cond: () => boolean, ms = 20_000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ComputeClient', () => {
  it('forwards calls, results and progress', async () => {
    const c = start();
    const seen: Progress[] = [];
    const res = (await c.invoke('estimate', [{ method: 'ok' }], { onProgress: (p) => seen.push(p) })) as unknown as { run: { id: number } };
    expect(res.run.id).toBe(1);
    // throttled, but the last (100 %) is always delivered and fractions only grow
    expect(seen.length).toBeGreaterThan(3);
    expect(seen[seen.length - 1].fraction).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i].fraction!).toBeGreaterThanOrEqual(seen[i - 1].fraction!);
  });

  it('keeps the error name and message of a failed call', async () => {
    const c = start();
    const err = (await c.invoke('summary', []).catch((e) => e)) as ApiError;
    expect(err.name).toBe('UserError');
    expect(err.message).toBe('no project open');
  });

  it('cancels cooperatively', async () => {
    const c = start();
    const ac = new AbortController();
    const p = c.invoke('estimate', [{ method: 'ok' }], { signal: ac.signal, onProgress: (q) => (q.fraction! > 0.1 ? ac.abort() : undefined) });
    const err = (await p.catch((e) => e)) as ApiError;
    expect(err.name).toBe('CancelledError');
  });

  it('reports a crash, restarts the process and reopens the project', async () => {
    const statuses: ComputeStatus[] = [];
    const c = start({ statuses });
    await c.invoke('openProject', ['/tmp/some.emfmap']);
    const before = (await c.invoke('summary', [])).meta as unknown as { pid: number };
    const err = (await c.invoke('estimate', [{ method: 'crash' }]).catch((e) => e)) as ApiError;
    expect(err.name).toBe('ComputeCrashed');
    expect(err.message).toContain('exit code 7');
    expect(err.message).toContain('"estimate" did not complete');
    await waitFor(() => statuses.some((s) => s.state === 'restarted'));
    const after = await c.invoke('summary', []);
    expect(after.path).toBe('/tmp/some.emfmap');
    expect((after.meta as unknown as { pid: number }).pid).not.toBe(before.pid);
    expect(statuses.find((s) => s.state === 'restarted')).toMatchObject({ reopened: '/tmp/some.emfmap' });
  });

  it('reports an out-of-memory in the compute process as such and keeps working', async () => {
    const c = start({ maxOldSpaceMb: 48 });
    const err = (await c.invoke('estimate', [{ method: 'oom' }]).catch((e) => e)) as ApiError;
    expect(err.name).toBe('ComputeCrashed');
    expect(err.message).toContain('out of memory');
    const res = (await c.invoke('estimate', [{ method: 'ok' }])) as unknown as { run: { id: number } };
    expect(res.run.id).toBe(1);
  }, 60_000);

  it('stops a job that ignores cancellation by restarting the process', async () => {
    const c = start({ grace: 300 });
    await c.start();
    const ac = new AbortController();
    const t0 = Date.now();
    const p = c.invoke('estimate', [{ method: 'stubborn' }], { signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    const err = (await p.catch((e) => e)) as ApiError;
    expect(err.name).toBe('CancelledError');
    expect(Date.now() - t0).toBeLessThan(10_000);
    const res = (await c.invoke('estimate', [{ method: 'ok' }])) as unknown as { run: { id: number } };
    expect(res.run.id).toBe(1);
  });
});
