// Preload (sandboxed, context-isolated): exposes ONE object, window.emfmap, whose functions forward to the main
// process over the fixed IPC channels. No Node or Electron object reaches the page; the main process checks the
// sender and validates every argument.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { BridgeEvents, EmfmapBridge } from './bridge.ts';
import type { Progress } from '../src/domain/run.ts';
// dependency-free, so the bundle inlines it (a sandboxed preload can only require 'electron')
import { IPC } from './ipc-channels.ts';

const progressListeners = new Map<string, (p: Progress) => void>();
ipcRenderer.on(IPC.progress, (_e: IpcRendererEvent, jobId: string, p: Progress) => progressListeners.get(jobId)?.(p));

const bridge: EmfmapBridge = {
  call: (method, args) => ipcRenderer.invoke(IPC.call, method, args),
  job: async (method, args, jobId, onProgress) => {
    progressListeners.set(jobId, onProgress);
    try {
      return await ipcRenderer.invoke(IPC.job, method, args, jobId);
    } finally {
      progressListeners.delete(jobId);
    }
  },
  cancel: (jobId) => ipcRenderer.send(IPC.cancel, jobId),
  host: (method, args) => ipcRenderer.invoke(IPC.host, method, args),
  shell: (method, args) => ipcRenderer.invoke(IPC.shell, method, args),
  on: <E extends keyof BridgeEvents>(event: E, cb: (payload: BridgeEvents[E]) => void) => {
    const channel = event === 'menu' ? IPC.menu : IPC.computeStatus;
    const listener = (_e: IpcRendererEvent, payload: BridgeEvents[E]) => cb(payload);
    ipcRenderer.on(channel, listener);
    return () => {
      ipcRenderer.removeListener(channel, listener);
    };
  },
};

contextBridge.exposeInMainWorld('emfmap', bridge);
