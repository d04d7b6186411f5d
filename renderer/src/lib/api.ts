// The renderer's one door to the service. It never knows which transport carries it: an HTTP + Server-Sent
// Events client in browser mode, or the preload's `window.emfmap` bridge in Electron. Both implement the same
// EmfmapApi (long calls take a JobContext: an AbortSignal and a progress callback) plus the host functions.

import type { EmfmapApi, JobContext } from '../../../src/service/api.ts';
import type { HostApi, HostMethod, ApiMethod } from '../../../src/service/channels.ts';
import { API_METHODS, CHANNELS } from '../../../src/service/channels.ts';
import { ApiError, decodeWire, type Envelope, type WireError } from '../../../src/service/wire.ts';
import type { ComputeStatusEvent, EmfmapBridge, FileFilter, MenuCommand } from '../../../electron/bridge.ts';
import type { Progress } from '../../../src/domain/run.ts';

export { ApiError };
export type { MenuCommand, ComputeStatusEvent, FileFilter };

export interface ShellApi {
  pickOpenFile(opts: { title: string; filters?: FileFilter[] }): Promise<string | null>;
  pickSaveFile(opts: { title: string; defaultPath?: string; filters?: FileFilter[] }): Promise<string | null>;
  onMenu(cb: (m: MenuCommand) => void): () => void;
}

export interface Api extends EmfmapApi {
  readonly kind: 'browser' | 'electron';
  readonly host: HostApi;
  /** Native dialogs and menus: Electron only (null in browser mode: paths are typed). */
  readonly shell: ShellApi | null;
  onComputeStatus(cb: (s: ComputeStatusEvent) => void): () => void;
}

function unwrap<T>(env: Envelope<unknown>): T {
  if (env.ok) return decodeWire<T>(env.value);
  throw new ApiError(env.error);
}

type CallFn = (method: ApiMethod, args: unknown[]) => Promise<unknown>;
type JobFn = (method: ApiMethod, args: unknown[], ctx: JobContext) => Promise<unknown>;

/** Build an EmfmapApi from a call and a job function, from the shared channel list. */
function buildService(call: CallFn, job: JobFn): EmfmapApi {
  const api: Record<string, unknown> = {};
  for (const m of API_METHODS) {
    if (CHANNELS[m].job) {
      api[m] = (...a: unknown[]) => {
        // the JobContext is the last argument when given; drop it (and trailing undefined) from the wire arguments
        const last = a[a.length - 1];
        const hasCtx = a.length > 0 && typeof last === 'object' && last !== null && ('signal' in last || 'onProgress' in last);
        const ctx = (hasCtx ? a.pop() : {}) as JobContext;
        while (a.length > 0 && a[a.length - 1] === undefined) a.pop();
        return job(m, a, ctx);
      };
    } else {
      api[m] = (...a: unknown[]) => {
        while (a.length > 0 && a[a.length - 1] === undefined) a.pop();
        return call(m, a);
      };
    }
  }
  return api as unknown as EmfmapApi;
}

function buildHost(call: (m: HostMethod, args: unknown[]) => Promise<unknown>): HostApi {
  return {
    info: () => call('info', []) as ReturnType<HostApi['info']>,
    recentProjects: () => call('recentProjects', []) as ReturnType<HostApi['recentProjects']>,
    settings: () => call('settings', []) as ReturnType<HostApi['settings']>,
    saveSettings: (s) => call('saveSettings', [s]) as ReturnType<HostApi['saveSettings']>,
  };
}

// ------------------------------------------------------------------------------------------ browser mode

export function createHttpApi(token: string, base = ''): Api {
  const post = async (path: string, args: unknown[]): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ args }),
      });
    } catch {
      throw new ApiError({ name: 'Disconnected', message: 'cannot reach the emfmap server: is "emfmap serve" still running?' });
    }
    let env: Envelope<unknown>;
    try {
      env = (await res.json()) as Envelope<unknown>;
    } catch {
      throw new ApiError({ name: 'Error', message: `the server answered ${res.status} ${res.statusText}` });
    }
    return unwrap(env);
  };

  const job: JobFn = async (method, args, ctx) => {
    if (ctx.signal?.aborted) throw new ApiError({ name: 'CancelledError', message: 'cancelled' });
    const { jobId } = (await post(`/api/jobs/${method}`, args)) as { jobId: string };
    return new Promise((resolve, reject) => {
      // EventSource sends the session cookie; it reconnects by itself after a network hiccup and the server
      // replays the latest progress and, if finished meanwhile, the result
      const es = new EventSource(`${base}/api/jobs/${encodeURIComponent(jobId)}/events`);
      let settled = false;
      const onAbort = () => {
        post(`/api/jobs/${encodeURIComponent(jobId)}/cancel`, []).catch(() => {});
      };
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        settled = true;
        es.close();
        ctx.signal?.removeEventListener('abort', onAbort);
      };
      es.addEventListener('progress', (e) => {
        if (!settled) ctx.onProgress?.(decodeWire<Progress>(JSON.parse((e as MessageEvent<string>).data)));
      });
      es.addEventListener('done', (e) => {
        if (settled) return;
        settle();
        try {
          resolve(unwrap(JSON.parse((e as MessageEvent<string>).data) as Envelope<unknown>));
        } catch (err) {
          reject(err);
        }
      });
      es.onerror = () => {
        if (settled) return;
        if (es.readyState === EventSource.CLOSED) {
          settle();
          reject(new ApiError({ name: 'Disconnected', message: 'lost the connection to the emfmap server while a job was running' }));
        }
      };
    });
  };

  return {
    ...buildService((m, a) => post(`/api/call/${m}`, a), job),
    kind: 'browser',
    host: buildHost((m, a) => post(`/api/host/${m}`, a)),
    shell: null,
    onComputeStatus: () => () => {},
  };
}

// ------------------------------------------------------------------------------------------ Electron

export function createElectronApi(bridge: EmfmapBridge): Api {
  let nextJob = 1;
  const job: JobFn = async (method, args, ctx) => {
    if (ctx.signal?.aborted) throw new ApiError({ name: 'CancelledError', message: 'cancelled' });
    const jobId = `${Date.now().toString(36)}-${nextJob++}`;
    const onAbort = () => bridge.cancel(jobId);
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return unwrap(await bridge.job(method, args, jobId, (p) => ctx.onProgress?.(p)));
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  };
  const shellCall = async (m: 'pickOpenFile' | 'pickSaveFile', a: unknown[]) => unwrap<string | null>(await bridge.shell(m, a));
  return {
    ...buildService(async (m, a) => unwrap(await bridge.call(m, a)), job),
    kind: 'electron',
    host: buildHost(async (m, a) => unwrap(await bridge.host(m, a))),
    shell: {
      pickOpenFile: (o) => shellCall('pickOpenFile', [o]),
      pickSaveFile: (o) => shellCall('pickSaveFile', [o]),
      onMenu: (cb) => bridge.on('menu', cb),
    },
    onComputeStatus: (cb) => bridge.on('compute-status', cb),
  };
}

/** The Api for the page we run in: Electron's bridge when present, else browser mode with the page's token. */
export function connectApi(): Api {
  const bridge = (window as unknown as { emfmap?: EmfmapBridge }).emfmap;
  if (bridge) return createElectronApi(bridge);
  const token = document.querySelector<HTMLMetaElement>('meta[name="emfmap-token"]')?.content;
  if (!token) {
    throw new ApiError({
      name: 'Unauthorized',
      message: 'this page has no session token: open the URL printed by "emfmap serve"',
    } satisfies WireError);
  }
  return createHttpApi(token);
}
