// IPC routing of the desktop shell: every call from the page goes through one of these channels, each sender is
// checked (the frame must show our page) and each argument validated (src/service/channels.ts) before the
// service (in the compute process) sees it. Electron objects are passed in, so this is testable without Electron.

import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import { ArgumentError, CHANNELS, HOST_VALIDATORS, isApiMethod, isHostMethod, obj, opt, str, arr, filePath, type ApiMethod, type Channel, type HostApi } from '../src/service/channels.ts';
import { errorToWire, type Envelope } from '../src/service/wire.ts';
import type { Invoker } from '../src/server/invoker.ts';
import type { JobContext } from '../src/service/api.ts';
import type { FileFilter, ShellCalls, ShellMethod } from './bridge.ts';
import { isTrustedSender } from './security.ts';
import { IPC } from './ipc-channels.ts';

/** IPC channel names (the preload uses the same constants). */
export { IPC };

const fileFilters = opt(arr(obj({ name: str(200), extensions: arr(str(20), 50) }), 20));

export const SHELL_VALIDATORS: { [K in ShellMethod]: (a: unknown) => Parameters<ShellCalls[K]> } = {
  pickOpenFile: (a) => {
    if (!Array.isArray(a) || a.length !== 1) throw new ArgumentError('pickOpenFile: expects one options object');
    return [obj({ title: str(200), filters: fileFilters })(a[0], 'pickOpenFile: options')] as [{ title: string; filters?: FileFilter[] }];
  },
  pickSaveFile: (a) => {
    if (!Array.isArray(a) || a.length !== 1) throw new ArgumentError('pickSaveFile: expects one options object');
    return [obj({ title: str(200), defaultPath: opt(filePath), filters: fileFilters })(a[0], 'pickSaveFile: options')] as [
      { title: string; defaultPath?: string; filters?: FileFilter[] },
    ];
  },
};

export interface IpcDeps {
  ipcMain: Pick<IpcMain, 'handle' | 'on'>;
  invoker: Invoker;
  host: HostApi;
  shell: ShellCalls;
  /** Called after a project was opened or created (recent list, window title, menu). */
  onProjectOpened?(path: string): void;
}

type AnyEvent = IpcMainEvent | IpcMainInvokeEvent;

function trusted(e: AnyEvent): boolean {
  const f = e.senderFrame;
  return !!f && isTrustedSender(f.url, f.parent === null);
}

const refused: Envelope<never> = { ok: false, error: { name: 'Forbidden', message: 'IPC from an untrusted frame refused' } };

export function registerIpc(deps: IpcDeps): { cancelAll(): void } {
  const { ipcMain, invoker } = deps;
  const running = new Map<string, AbortController>();

  const remember = (method: ApiMethod, value: unknown) => {
    if (method === 'openProject' || method === 'createProject' || method === 'openDemo') {
      const p = (value as { path?: unknown })?.path;
      if (typeof p === 'string') deps.onProjectOpened?.(p);
    }
  };

  const callService = async (method: unknown, args: unknown, ctx: JobContext | undefined, job: boolean): Promise<Envelope<unknown>> => {
    try {
      if (typeof method !== 'string' || !isApiMethod(method)) throw new ArgumentError(`unknown method ${JSON.stringify(method)}`);
      const ch = CHANNELS[method] as Channel<ApiMethod>;
      if (ch.job !== job) throw new ArgumentError(`${method} ${ch.job ? 'is a job: use the job channel' : 'is not a job'}`);
      const validated = ch.validate(args);
      // structured clone carries typed arrays as they are: no wire encoding on IPC
      const value = await invoker.invoke(method, validated as never, ctx);
      remember(method, value);
      return { ok: true, value };
    } catch (err) {
      return { ok: false, error: errorToWire(err) };
    }
  };

  ipcMain.handle(IPC.call, (e, method: unknown, args: unknown) => (trusted(e) ? callService(method, args, undefined, false) : refused));

  ipcMain.handle(IPC.job, async (e, method: unknown, args: unknown, jobId: unknown) => {
    if (!trusted(e)) return refused;
    if (typeof jobId !== 'string' || jobId.length > 100 || running.has(jobId)) {
      return { ok: false, error: { name: 'ArgumentError', message: 'job id must be a new short string' } };
    }
    const controller = new AbortController();
    running.set(jobId, controller);
    const sender: WebContents = e.sender;
    try {
      return await callService(method, args, {
        signal: controller.signal,
        onProgress: (p) => {
          if (!sender.isDestroyed()) sender.send(IPC.progress, jobId, p);
        },
      }, true);
    } finally {
      running.delete(jobId);
    }
  });

  ipcMain.on(IPC.cancel, (e, jobId: unknown) => {
    if (!trusted(e) || typeof jobId !== 'string') return;
    running.get(jobId)?.abort();
  });

  ipcMain.handle(IPC.host, async (e, method: unknown, args: unknown): Promise<Envelope<unknown>> => {
    if (!trusted(e)) return refused;
    try {
      if (typeof method !== 'string' || !isHostMethod(method)) throw new ArgumentError(`unknown host method ${JSON.stringify(method)}`);
      const a = HOST_VALIDATORS[method](args) as unknown[];
      return { ok: true, value: await (deps.host[method] as (...x: unknown[]) => Promise<unknown>)(...a) };
    } catch (err) {
      return { ok: false, error: errorToWire(err) };
    }
  });

  ipcMain.handle(IPC.shell, async (e, method: unknown, args: unknown): Promise<Envelope<unknown>> => {
    if (!trusted(e)) return refused;
    try {
      if (method !== 'pickOpenFile' && method !== 'pickSaveFile') throw new ArgumentError(`unknown shell method ${JSON.stringify(method)}`);
      const a = SHELL_VALIDATORS[method](args) as unknown[];
      return { ok: true, value: await (deps.shell[method] as (...x: unknown[]) => Promise<unknown>)(...a) };
    } catch (err) {
      return { ok: false, error: errorToWire(err) };
    }
  });

  return {
    cancelAll() {
      for (const c of running.values()) c.abort();
    },
  };
}
