// The one object the preload exposes to the renderer as `window.emfmap` (types only; no Electron import, so the
// renderer's type-check can read it). Everything returns an Envelope so errors keep their name and located
// issues across IPC (a thrown error would arrive as a bare string).

import type { Progress } from '../src/domain/run.ts';
import type { ApiMethod, HostMethod } from '../src/service/channels.ts';
import type { Envelope } from '../src/service/wire.ts';

/** Electron-only shell functions (native dialogs). */
export interface ShellCalls {
  pickOpenFile(opts: { title: string; filters?: FileFilter[] }): Promise<string | null>;
  pickSaveFile(opts: { title: string; defaultPath?: string; filters?: FileFilter[] }): Promise<string | null>;
}

export interface FileFilter {
  name: string;
  extensions: string[];
}

export type ShellMethod = keyof ShellCalls;

/** Commands the application menu sends to the page. */
export type MenuCommand =
  | { cmd: 'new-project' }
  | { cmd: 'open-project' }
  | { cmd: 'open-recent'; path: string }
  | { cmd: 'open-demo' }
  | { cmd: 'import' }
  | { cmd: 'export' }
  | { cmd: 'settings' };

export type ComputeStatusEvent =
  | { state: 'started'; pid: number }
  | { state: 'crashed'; reason: string }
  | { state: 'restarted'; pid: number; reopened: string | null };

export interface BridgeEvents {
  menu: MenuCommand;
  'compute-status': ComputeStatusEvent;
}

export interface EmfmapBridge {
  /** A short service call. */
  call(method: ApiMethod, args: unknown[]): Promise<Envelope<unknown>>;
  /** A long service call: `jobId` is chosen by the caller so it can cancel before the call returns. */
  job(method: ApiMethod, args: unknown[], jobId: string, onProgress: (p: Progress) => void): Promise<Envelope<unknown>>;
  cancel(jobId: string): void;
  host(method: HostMethod, args: unknown[]): Promise<Envelope<unknown>>;
  shell(method: ShellMethod, args: unknown[]): Promise<Envelope<unknown>>;
  on<E extends keyof BridgeEvents>(event: E, cb: (payload: BridgeEvents[E]) => void): () => void;
}
