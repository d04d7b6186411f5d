// The IPC channel names shared by the main process (ipc.ts) and the preload. This file imports nothing: the
// sandboxed preload can only require 'electron', so whatever it imports is inlined by esbuild (bundle.js).

export const IPC = {
  call: 'emfmap:call',
  job: 'emfmap:job',
  cancel: 'emfmap:cancel',
  progress: 'emfmap:progress',
  host: 'emfmap:host',
  shell: 'emfmap:shell',
  menu: 'emfmap:menu',
  computeStatus: 'emfmap:compute-status',
} as const;
