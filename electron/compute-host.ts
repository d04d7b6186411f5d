// Entry of Electron's compute utilityProcess (bundled to dist-electron/compute-host.cjs). The engine runs from its
// TypeScript sources through tsx's loader, exactly as the CLI does, so paths relative to the sources
// (package.json, resources/, wasm binaries) stay right; this file only prepares and registers the loader, then
// starts the host (src/server/compute-utility.ts).

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// In a packaged app the sources sit in app.asar. tsx transforms them with esbuild's native binary, which cannot
// be started from inside the archive: point esbuild at the unpacked copy (electron-builder.yml, asarUnpack).
const resources = (process as unknown as { resourcesPath?: string }).resourcesPath;
if (resources && __dirname.includes('app.asar') && !process.env.ESBUILD_BINARY_PATH) {
  const pkg = path.join(resources, 'app.asar.unpacked', 'node_modules', '@esbuild', `${process.platform}-${process.arch}`);
  const bin = process.platform === 'win32' ? path.join(pkg, 'esbuild.exe') : path.join(pkg, 'bin', 'esbuild');
  if (fs.existsSync(bin)) process.env.ESBUILD_BINARY_PATH = bin;
}

// tsx is loaded only now, after ESBUILD_BINARY_PATH is set; through its ES module entry (the CommonJS build of
// tsx/esm/api resolves its loader relative to the wrong folder)
async function start(): Promise<void> {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(__dirname, '..', 'src', 'server', 'compute-utility.ts')).href);
}

start().catch((err: unknown) => {
  process.stderr.write(`emfmap compute process failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(3);
});
