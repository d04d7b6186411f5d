// The service inside Electron's utilityProcess (started by electron/compute-host.ts): messages from the main
// process arrive on process.parentPort. Kept free of Electron imports (the engine never imports Electron):
// parentPort is a global of utility processes, typed here by the little this file uses.

import { EmfmapService } from '../service/service.ts';
import { serveComputeHost } from './compute-host.ts';
import type { FromCompute, ToCompute } from './compute-protocol.ts';

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (!port) {
  process.stderr.write('compute-utility.ts runs inside Electron\'s utilityProcess (process.parentPort is missing)\n');
  process.exit(2);
}

serveComputeHost(
  {
    send: (m: FromCompute) => port.postMessage(m),
    onMessage: (cb) => port.on('message', (e) => cb(e.data as ToCompute)),
  },
  new EmfmapService(),
);
