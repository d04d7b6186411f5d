// Browser-mode HTTP server: the session token, the Host/Origin checks, argument validation at the boundary,
// wire encoding of typed arrays, jobs with Server-Sent Events and cancel. The service is a small in-process fake:
// these tests are about the transport.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { inProcessInvoker } from '../../src/server/invoker.ts';
import { HostState } from '../../src/server/state.ts';
import { decodeWire } from '../../src/service/wire.ts';
import { CancelledError, type Progress } from '../../src/domain/run.ts';
import { UserError } from '../../src/domain/errors.ts';
import type { EmfmapApi, JobContext } from '../../src/service/api.ts';

let dir: string;
let srv: RunningServer;
const calls: Array<{ method: string; args: unknown[] }> = [];

const fake = {
  async summary() {
    calls.push({ method: 'summary', args: [] });
    return { path: '/p.emfmap', meta: { name: 'p' }, counts: { sensors: 3 } };
  },
  async openProject(p: string) {
    calls.push({ method: 'openProject', args: [p] });
    if (p.endsWith('missing.emfmap')) throw new UserError(`${p}: no such project file`);
    return { path: p, meta: { name: 'p' }, counts: {} };
  },
  async runMaps(id: number, step?: number) {
    calls.push({ method: 'runMaps', args: [id, step] });
    return [{ grid: { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 2, ymax: 2 }, width: 2, height: 2 }, values: new Float32Array([1.5, NaN, -2, 3.25]), variance: new Float32Array([0.1, 0.2, 0.3, Infinity]), method: 'idw', params: {}, backend: 'js', timings: { fit: 0, predict: 0, total: 0 }, diagnostics: { r2: NaN } }];
  },
  async estimate(req: { method: string }, ctx: JobContext = {}) {
    calls.push({ method: 'estimate', args: [req] });
    const n = req.method === 'slow' ? 400 : 5;
    for (let i = 1; i <= n; i++) {
      if (ctx.signal?.aborted) throw new CancelledError();
      ctx.onProgress?.({ stage: 'work', fraction: i / n });
      await new Promise((r) => setTimeout(r, 10));
    }
    return { run: { id: 7 }, summary: { min: 0, max: 1 } };
  },
  async importReadings() {
    throw new UserError('bad.csv: 1 problem found, nothing was imported', [{ file: 'bad.csv', line: 4, field: 'value', message: 'cannot read "abc" as a number' }], 3);
  },
} as unknown as EmfmapApi;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-srv-'));
  fs.mkdirSync(path.join(dir, 'www', 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'www', 'index.html'), '<!doctype html><html><head><title>t</title></head><body></body></html>');
  fs.writeFileSync(path.join(dir, 'www', 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'do not serve');
  srv = await startServer({ invoker: inProcessInvoker(fake), staticDir: path.join(dir, 'www'), state: new HostState(path.join(dir, 'state')), token: 'T0ken-for-tests-0123456789abcdefghijklmnopq' });
});

afterAll(async () => {
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(p: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: p, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${srv.port}`, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

const auth = () => ({ authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' });
const cookie = () => ({ cookie: `emfmap_token_${srv.port}=${srv.token}` });
const call = (method: string, args: unknown[], headers: Record<string, string> = auth()) => request(`/api/call/${method}`, { method: 'POST', headers, body: JSON.stringify({ args }) });

describe('session token', () => {
  it('prints a URL on 127.0.0.1 that carries the token', () => {
    expect(srv.url).toBe(`http://127.0.0.1:${srv.port}/?token=${srv.token}`);
  });

  it('refuses the page without the token, or with a wrong one', async () => {
    expect((await request('/')).status).toBe(401);
    expect((await request('/assets/app.js')).status).toBe(401);
    expect((await request('/?token=wrong')).status).toBe(401);
    expect((await request('/', { headers: { cookie: `emfmap_token_${srv.port}=wrong` } })).status).toBe(401);
  });

  it('turns the token in the URL into an HttpOnly, SameSite=Strict cookie and drops it from the address', async () => {
    const r = await request(`/?token=${srv.token}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    const c = String(r.headers['set-cookie']);
    expect(c).toContain(`emfmap_token_${srv.port}=${srv.token}`);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
  });

  it('serves the page with the cookie, with the token for API calls and a strict CSP', async () => {
    const r = await request('/', { headers: cookie() });
    expect(r.status).toBe(200);
    expect(r.body).toContain(`<meta name="emfmap-token" content="${srv.token}">`);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await request('/assets/app.js', { headers: cookie() })).body).toBe('console.log(1)');
  });

  it('requires the token in a header for API calls (the cookie alone is not enough)', async () => {
    expect((await call('summary', [], { 'content-type': 'application/json' })).status).toBe(401);
    expect((await call('summary', [], { ...cookie(), 'content-type': 'application/json' })).status).toBe(401);
    expect((await call('summary', [], { authorization: 'Bearer nope', 'content-type': 'application/json' })).status).toBe(401);
    const ok = await call('summary', []);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ ok: true, value: { path: '/p.emfmap', meta: { name: 'p' }, counts: { sensors: 3 } } });
  });

  it('never serves files outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%5c..%5csecret.txt']) {
      const r = await request(p, { headers: cookie() });
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('do not serve');
    }
  });
});

describe('Host and Origin checks', () => {
  it('refuses a foreign Host header even with the token (DNS rebinding)', async () => {
    const r = await call('summary', [], { ...auth(), host: `evil.example:${srv.port}` });
    expect(r.status).toBe(403);
    expect((await request('/', { headers: { ...cookie(), host: 'evil.example' } })).status).toBe(403);
  });

  it('accepts the loopback names', async () => {
    for (const host of [`127.0.0.1:${srv.port}`, `localhost:${srv.port}`]) expect((await call('summary', [], { ...auth(), host })).status).toBe(200);
  });

  it('refuses a cross-origin request', async () => {
    expect((await call('summary', [], { ...auth(), origin: 'http://evil.example' })).status).toBe(403);
    expect((await call('summary', [], { ...auth(), origin: `http://127.0.0.1:${srv.port}` })).status).toBe(200);
  });

  it('refuses to listen on a non-loopback address without --allow-remote', async () => {
    await expect(startServer({ invoker: inProcessInvoker(fake), staticDir: dir, state: new HostState(dir), host: '0.0.0.0' })).rejects.toThrow(/allow-remote/);
  });
});

describe('API calls', () => {
  it('validates arguments before the service sees them', async () => {
    const n = calls.length;
    const cases: Array<[string, unknown[], RegExp]> = [
      ['runMaps', ['7'], /runMaps: runId must be an integer/],
      ['runMaps', [1.5], /runMaps: runId must be an integer/],
      ['openProject', [''], /openProject: path must be a non-empty file path/],
      ['openProject', [42], /openProject: path must be a string/],
      ['estimate', [{ method: 'idw', grid: { size: 'big' } }], /estimate: request\.grid\.size must be an integer/],
      ['estimate', [{ method: 'idw', evil: 1 }], /estimate: request has an unknown field "evil"/],
      ['estimate', [{ method: 'idw', selection: { agg: 'sum' } }], /request\.selection\.agg must be one of mean, median, max, p95, last/],
      ['estimate', [{ method: 'idw', params: { power: { $gt: 1 } } }], /request\.params\.power must be a finite number/],
      ['summary', [1], /summary: expects no arguments/],
      ['compare', [{ methods: [] }], /compare: request\.methods must be a non-empty list/],
      ['compare', [{ methods: ['idw'], cv: 'kfold:x' }], /request\.cv must be none, loo, kfold:K or blocks:K/],
      ['exportMap', [{ format: 'exe', out: '/tmp/x' }], /request\.format must be one of geotiff/],
    ];
    for (const [m, args, msg] of cases) {
      const r = await call(m, args);
      expect(r.status, `${m} ${JSON.stringify(args)}`).toBe(400);
      const env = JSON.parse(r.body);
      expect(env.ok).toBe(false);
      expect(env.error.name).toBe('ArgumentError');
      expect(env.error.message).toMatch(msg);
    }
    expect(calls.length).toBe(n);
  });

  it('refuses unknown methods and non-JSON bodies', async () => {
    expect((await call('constructor', [])).status).toBe(404);
    expect((await call('__proto__', [])).status).toBe(404);
    expect((await request('/api/call/summary', { method: 'POST', headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await request('/api/call/summary', { method: 'POST', headers: auth(), body: '{not json' })).status).toBe(400);
  });

  it('carries typed arrays and non-finite numbers exactly', async () => {
    const r = await call('runMaps', [3, 0]);
    expect(r.status).toBe(200);
    expect(r.body).toContain('"$typed":"Float32Array"');
    const maps = decodeWire<Array<{ values: Float32Array; variance: Float32Array; diagnostics: { r2: number } }>>(JSON.parse(r.body).value);
    expect(maps[0].values).toBeInstanceOf(Float32Array);
    expect(Array.from(maps[0].values)).toEqual([1.5, NaN, -2, 3.25]);
    expect(Array.from(maps[0].variance)).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3), Infinity]);
    expect(maps[0].diagnostics.r2).toBeNaN();
  });

  it('keeps a user error with its located issues', async () => {
    const r = await request('/api/jobs/importReadings', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ file: '/tmp/bad.csv' }] }) });
    const { jobId } = JSON.parse(r.body).value;
    const events = await sse(jobId);
    const done = JSON.parse(events.find((e) => e.event === 'done')!.data);
    expect(done.ok).toBe(false);
    expect(done.error).toEqual({ name: 'UserError', message: 'bad.csv: 1 problem found, nothing was imported', issues: [{ file: 'bad.csv', line: 4, field: 'value', message: 'cannot read "abc" as a number' }], totalIssues: 3 });
  });

  it('remembers opened projects in the recent list', async () => {
    await call('openProject', ['/tmp/a.emfmap']);
    const r = await request('/api/host/recentProjects', { method: 'POST', headers: auth(), body: '{"args":[]}' });
    // the list only keeps files that exist
    expect(JSON.parse(r.body)).toEqual({ ok: true, value: [] });
  });

  it('validates settings, and names the tile host in the CSP only when configured', async () => {
    const bad = await request('/api/host/saveSettings', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ tileUrl: "javascript:alert(1)//{z}{x}{y}", tileAttribution: '' }] }) });
    expect(bad.status).toBe(400);
    const ok = await request('/api/host/saveSettings', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ tileUrl: 'https://{s}.tiles.example.org/{z}/{x}/{y}.png', tileAttribution: 'x' }] }) });
    expect(ok.status).toBe(200);
    expect(String((await request('/', { headers: cookie() })).headers['content-security-policy'])).toContain('img-src \'self\' data: blob: https://*.tiles.example.org');
    await request('/api/host/saveSettings', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ tileUrl: null, tileAttribution: '' }] }) });
    expect(String((await request('/', { headers: cookie() })).headers['content-security-policy'])).toMatch(/img-src 'self' data: blob:;/);
  });
});

async function sse(jobId: string, onEvent?: (e: { event: string; data: string }) => void): Promise<Array<{ event: string; data: string }>> {
  return new Promise((resolve, reject) => {
    const events: Array<{ event: string; data: string }> = [];
    const req = http.get({ host: '127.0.0.1', port: srv.port, path: `/api/jobs/${jobId}/events`, headers: { host: `127.0.0.1:${srv.port}`, ...cookie() } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data !== undefined) {
            const e = { event: ev, data };
            events.push(e);
            onEvent?.(e);
          }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', reject);
  });
}

describe('jobs over Server-Sent Events', () => {
  it('streams progress then the result', async () => {
    const r = await request('/api/jobs/estimate', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ method: 'idw' }] }) });
    expect(r.status).toBe(202);
    const { jobId } = JSON.parse(r.body).value;
    const events = await sse(jobId);
    const progress = events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data) as Progress);
    expect(progress.length).toBeGreaterThan(0);
    expect(events[events.length - 1].event).toBe('done');
    expect(JSON.parse(events[events.length - 1].data)).toEqual({ ok: true, value: { run: { id: 7 }, summary: { min: 0, max: 1 } } });
  });

  it('refuses the event stream without the session cookie', async () => {
    const r = await request('/api/jobs/estimate', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ method: 'idw' }] }) });
    const { jobId } = JSON.parse(r.body).value;
    expect((await request(`/api/jobs/${jobId}/events`)).status).toBe(401);
  });

  it('cancels a running job', async () => {
    const r = await request('/api/jobs/estimate', { method: 'POST', headers: auth(), body: JSON.stringify({ args: [{ method: 'slow' }] }) });
    const { jobId } = JSON.parse(r.body).value;
    let cancelled = false;
    const events = await sse(jobId, (e) => {
      if (e.event === 'progress' && !cancelled) {
        cancelled = true;
        request(`/api/jobs/${jobId}/cancel`, { method: 'POST', headers: auth(), body: '{}' });
      }
    });
    const done = JSON.parse(events[events.length - 1].data);
    expect(done.ok).toBe(false);
    expect(done.error.name).toBe('CancelledError');
    // stopped long before its 400 steps
    const last = events.filter((e) => e.event === 'progress').map((e) => (JSON.parse(e.data) as Progress).fraction!);
    expect(Math.max(...last)).toBeLessThan(0.5);
  });

  it('refuses to run a short call as a job', async () => {
    expect((await request('/api/jobs/summary', { method: 'POST', headers: auth(), body: '{"args":[]}' })).status).toBe(400);
  });
});
