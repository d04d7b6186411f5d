// Messages between a front door (browser-mode server, Electron main) and the compute process hosting the
// service. Both ends use structured clone (child_process 'advanced' serialization, Electron's MessagePort),
// so typed arrays cross as they are.

import type { Progress } from '../domain/run.ts';
import type { ApiMethod } from '../service/channels.ts';
import type { WireError } from '../service/wire.ts';

export type ToCompute =
  | { t: 'call'; id: number; method: ApiMethod; args: unknown[] }
  | { t: 'cancel'; id: number };

export type FromCompute =
  | { t: 'ready'; pid: number }
  | { t: 'progress'; id: number; p: Progress }
  | { t: 'done'; id: number; ok: true; value: unknown }
  | { t: 'done'; id: number; ok: false; error: WireError };

/** The host end of the channel, whatever carries it (process.send, Electron's parentPort). */
export interface HostEnd {
  send(msg: FromCompute): void;
  onMessage(cb: (msg: ToCompute) => void): void;
}
