// Browser mode: the built renderer and the service API over HTTP on a loopback address.
//
//   GET  /?token=T                  sets the session cookie and redirects to / (the token leaves the address bar)
//   GET  /, /assets/...             the renderer (token cookie required); index.html carries the token in a meta tag
//   POST /api/call/<method>         {"args":[...]} -> {"ok":true,"value":...} | {"ok":false,"error":{...}}
//   POST /api/jobs/<method>         starts a long job -> {"ok":true,"value":{"jobId":"..."}}
//   GET  /api/jobs/<id>/events      Server-Sent Events: "progress" events, then one "done" event (an envelope)
//   POST /api/jobs/<id>/cancel      aborts the job's AbortController
//   POST /api/host/<method>         settings, recent projects, host info
// API calls carry the token in "Authorization: Bearer T"; the event stream (EventSource cannot set headers)
// uses the cookie. Results are wire-encoded (service/wire.ts: typed arrays as base64). See security.ts.

import http from 'node:http';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ArgumentError, CHANNELS, HOST_VALIDATORS, isApiMethod, isHostMethod, type ApiMethod, type Channel, type HostApi } from '../service/channels.ts';
import { encodeWire, errorToWire, type Envelope, type WireError } from '../service/wire.ts';
import type { Invoker } from './invoker.ts';
import { JobTable } from './jobs.ts';
import { contentType, resolveStatic } from './static-files.ts';
import type { HostState } from './state.ts';
import {
  allowedHosts,
  bearer,
  contentSecurityPolicy,
  cookieName,
  hostAllowed,
  isLoopbackHost,
  newToken,
  originAllowed,
  readCookie,
  securityHeaders,
  tokenMatches,
} from './security.ts';

export interface ServerOptions {
  invoker: Invoker;
  /** Folder of the built renderer (dist/renderer). */
  staticDir: string;
  state: HostState;
  host?: string;
  /** 0 = a free port chosen by the system. */
  port?: number;
  /** Needed to bind anything but a loopback address. */
  allowRemote?: boolean;
  /** Fixed token (tests); default: 32 random bytes. */
  token?: string;
  /** Opened by the page at start-up (shown in the project view). */
  startProject?: string | null;
  demoPath?: string | null;
  /** Extra Host header names accepted (e.g. the machine's name with --allow-remote). */
  extraHosts?: string[];
}

export interface RunningServer {
  /** The URL to open, with the token. */
  url: string;
  port: number;
  host: string;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !opts.allowRemote) {
    throw new ArgumentError(
      `refusing to listen on ${host}: browser mode gives whoever reaches it access to your files through the service. ` +
        `Use 127.0.0.1 (the default), or pass --allow-remote if you really mean to expose it (the token is still required).`,
    );
  }
  const token = opts.token ?? newToken();
  const jobs = new JobTable();
  const { invoker, state } = opts;
  let allowed = new Set<string>();
  let cookie = '';

  // the project open in the service, so that a reloaded page starts on it
  let current = opts.startProject ?? null;
  const hostApi: HostApi = {
    info: async () => ({ kind: 'browser', demoPath: opts.demoPath ?? null, currentProject: current }),
    recentProjects: async () => state.recent(),
    settings: async () => state.settings(),
    saveSettings: async (s) => state.setSettings(s),
  };

  const rememberProject = (method: ApiMethod, value: unknown) => {
    if (method === 'openProject' || method === 'createProject' || method === 'openDemo') {
      const p = (value as { path?: unknown })?.path;
      if (typeof p === 'string') {
        current = p;
        state.addRecent(p);
      }
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, err);
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const csp = contentSecurityPolicy({ tileUrl: state.settings().tileUrl });
    for (const [k, v] of Object.entries(securityHeaders(csp))) res.setHeader(k, v);
    if (!hostAllowed(req.headers.host, allowed)) return deny(res, 403, 'unexpected Host header (requests must address this server by its loopback name)');
    if (!originAllowed(req.headers.origin, allowed)) return deny(res, 403, 'cross-origin request refused');

    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const cookieToken = readCookie(req.headers.cookie, cookie);
    const queryToken = url.searchParams.get('token');

    if (url.pathname.startsWith('/api/')) {
      const parts = url.pathname.split('/').filter(Boolean); // ['api', kind, name, (action)]
      // the event stream may use the cookie (EventSource cannot send headers); everything else needs the header
      const isEvents = method === 'GET' && parts[1] === 'jobs' && parts[3] === 'events' && parts.length === 4;
      const headerToken = bearer(req.headers.authorization);
      const ok = tokenMatches(headerToken, token) || (isEvents && tokenMatches(cookieToken, token));
      if (!ok) return deny(res, 401, 'missing or wrong session token: open the URL printed by "emfmap serve"');

      if (isEvents) {
        const job = jobs.get(parts[2]);
        if (!job) return deny(res, 404, 'no such job (finished jobs are forgotten after a few minutes)');
        jobs.subscribe(job, res);
        return;
      }
      if (method !== 'POST') return deny(res, 405, 'API calls use POST');
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return deny(res, 415, 'API calls send JSON');

      if (parts[1] === 'jobs' && parts.length === 4 && parts[3] === 'cancel') {
        if (!jobs.cancel(parts[2])) return deny(res, 404, 'no such job');
        return sendJson(res, 200, { ok: true, value: null });
      }
      const body = await readJson(req);
      const args = (body as { args?: unknown })?.args ?? [];

      if (parts[1] === 'host' && parts.length === 3 && isHostMethod(parts[2])) {
        const name = parts[2];
        try {
          const a = HOST_VALIDATORS[name](args) as unknown[];
          const value = await (hostApi[name] as (...x: unknown[]) => Promise<unknown>)(...a);
          return sendJson(res, 200, { ok: true, value: encodeWire(value) });
        } catch (err) {
          return sendError(res, err);
        }
      }
      if ((parts[1] === 'call' || parts[1] === 'jobs') && parts.length === 3 && isApiMethod(parts[2])) {
        const name = parts[2];
        const ch = CHANNELS[name] as Channel<ApiMethod>;
        let validated: unknown[];
        try {
          validated = ch.validate(args) as unknown[];
        } catch (err) {
          return sendError(res, err);
        }
        if (parts[1] === 'jobs') {
          if (!ch.job) return deny(res, 400, `${name} is not a job: call it with /api/call/${name}`);
          const jobId = jobs.start(
            name,
            (signal, onProgress) => invoker.invoke(name, validated as never, { signal, onProgress }),
            (value) => rememberProject(name, value),
          );
          return sendJson(res, 202, { ok: true, value: { jobId } });
        }
        try {
          const value = await invoker.invoke(name, validated as never);
          rememberProject(name, value);
          return sendJson(res, 200, { ok: true, value: encodeWire(value) });
        } catch (err) {
          return sendError(res, err);
        }
      }
      return deny(res, 404, 'no such API endpoint');
    }

    // the page and its assets
    if (method !== 'GET' && method !== 'HEAD') return deny(res, 405, 'method not allowed');
    if (queryToken !== null) {
      if (!tokenMatches(queryToken, token)) return deny(res, 401, 'wrong session token: open the URL printed by "emfmap serve"');
      // remember the session in a cookie and drop the token from the address bar (and from history)
      res.setHeader('set-cookie', `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete('token');
      res.writeHead(303, { location: url.pathname + (url.search || '') });
      res.end();
      return;
    }
    if (!tokenMatches(cookieToken, token)) {
      return deny(res, 401, 'this emfmap session needs its token: open the URL printed by "emfmap serve" (it ends with ?token=...)');
    }
    const file = resolveStatic(opts.staticDir, url.pathname);
    if (!file) return deny(res, 404, 'not found');
    let body: Buffer | string = fs.readFileSync(file);
    if (file.endsWith('index.html')) {
      body = body.toString('utf8').replace('</head>', `<meta name="emfmap-token" content="${token}">\n</head>`);
    }
    res.writeHead(200, { 'content-type': contentType(file), 'content-length': Buffer.byteLength(body) });
    res.end(method === 'HEAD' ? undefined : body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  allowed = allowedHosts(host, port, opts.extraHosts);
  cookie = cookieName(port);
  const shownHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    host,
    token,
    async close() {
      jobs.abortAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ArgumentError(`request body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new ArgumentError('request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, env: Envelope<unknown>): void {
  const body = JSON.stringify(env);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** HTTP status for an error: what the user did wrong (400), cancelled (409), compute down (503), ours (500). */
export function statusFor(e: WireError): number {
  switch (e.name) {
    case 'UserError':
    case 'ArgumentError':
      return 400;
    case 'CancelledError':
      return 409;
    case 'ComputeCrashed':
      return 503;
    default:
      return 500;
  }
}

function sendError(res: http.ServerResponse, err: unknown): void {
  const e = errorToWire(err);
  sendJson(res, statusFor(e), { ok: false, error: e });
}

function deny(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { ok: false, error: { name: status === 401 ? 'Unauthorized' : 'Forbidden', message } });
}
