/// <reference types="electron" />
// The service inside Electron's utilityProcess: messages from the main process arrive on process.parentPort.

import { EmfmapService } from '../src/service/service.ts';
import { serveComputeHost } from '../src/server/compute-host.ts';
import type { ToCompute } from '../src/server/compute-protocol.ts';

const port = process.parentPort;
const service = new EmfmapService();
serveComputeHost(
  {
    send: (m) => port.postMessage(m),
    onMessage: (cb) => port.on('message', (e: Electron.MessageEvent) => cb(e.data as ToCompute)),
  },
  service,
);
