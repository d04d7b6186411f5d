// Entry of Electron's compute utilityProcess (bundled to dist-electron/compute-host.cjs). The engine runs from its
// TypeScript sources through tsx's loader, exactly as the CLI does, so paths relative to the sources
// (package.json, resources/, wasm binaries) stay right; this file only registers the loader and starts the host.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const entry = pathToFileURL(path.join(__dirname, '..', 'electron', 'compute-service.ts')).href;
import(entry).catch((err: unknown) => {
  process.stderr.write(`emfmap compute process failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(3);
});
