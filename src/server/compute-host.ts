// The compute process's side: receives calls, runs them on the service with a per-call AbortController and
// progress forwarding, answers with the result or a WireError. Shared by the browser-mode child process
// (compute-child.ts) and Electron's utilityProcess (electron/compute-host.ts).

import type { EmfmapApi } from '../service/api.ts';
import { CHANNELS, type Channel, type ApiMethod, isApiMethod } from '../service/channels.ts';
import { errorToWire } from '../service/wire.ts';
import type { Progress } from '../domain/run.ts';
import type { HostEnd, ToCompute } from './compute-protocol.ts';

/** Minimum interval between two progress messages of one job (the UI redraws at most this often). */
const PROGRESS_INTERVAL_MS = 50;

export function serveComputeHost(end: HostEnd, api: EmfmapApi): void {
  const running = new Map<number, AbortController>();

  end.onMessage((msg: ToCompute) => {
    if (msg.t === 'cancel') {
      running.get(msg.id)?.abort();
      return;
    }
    if (msg.t !== 'call') return;
    const { id, method, args } = msg;
    if (!isApiMethod(method)) {
      end.send({ t: 'done', id, ok: false, error: { name: 'ArgumentError', message: `unknown method ${String(method)}` } });
      return;
    }
    const controller = new AbortController();
    running.set(id, controller);
    let last = 0;
    let pending: Progress | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      if (pending && running.has(id)) end.send({ t: 'progress', id, p: pending });
      pending = null;
    };
    const onProgress = (p: Progress) => {
      // throttle: keep the latest, send at most every PROGRESS_INTERVAL_MS (always send the final 100 %)
      pending = p;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS || p.fraction === 1) {
        last = now;
        if (timer) clearTimeout(timer);
        flush();
      } else if (!timer) {
        timer = setTimeout(() => {
          last = Date.now();
          flush();
        }, PROGRESS_INTERVAL_MS);
      }
    };
    const ch = CHANNELS[method] as Channel<ApiMethod>;
    // arguments were validated by the front door; validating again here costs little and keeps the host safe
    new Promise<unknown>((resolve) => resolve(ch.call(api, ch.validate(args), { signal: controller.signal, onProgress })))
      .then(
        (value) => end.send({ t: 'done', id, ok: true, value }),
        (err) => end.send({ t: 'done', id, ok: false, error: errorToWire(err) }),
      )
      .finally(() => {
        if (timer) clearTimeout(timer);
        running.delete(id);
      });
  });

  end.send({ t: 'ready', pid: process.pid });
}
