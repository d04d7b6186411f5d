// Entry of the browser-mode compute process (a Node child process hosting the service), forked by
// ComputeClient with tsx's loader and 'advanced' (structured clone) serialization.

import { EmfmapService } from '../service/service.ts';
import { serveComputeHost } from './compute-host.ts';
import type { FromCompute, ToCompute } from './compute-protocol.ts';

if (!process.send) {
  process.stderr.write('compute-child.ts must be started by the emfmap server (it talks over an IPC channel)\n');
  process.exit(2);
}

const service = new EmfmapService();
serveComputeHost(
  {
    send: (m: FromCompute) => process.send!(m),
    onMessage: (cb) => process.on('message', (m) => cb(m as ToCompute)),
  },
  service,
);

// the parent went away: close the project cleanly and exit
process.on('disconnect', () => {
  try {
    service.close();
  } finally {
    process.exit(0);
  }
});
