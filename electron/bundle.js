// Bundles the Electron main process, the preload and the compute host entry with esbuild into dist-electron/.
// Dependencies stay external (loaded from node_modules at run time); the engine itself is loaded by the compute
// process from its TypeScript sources through tsx (see compute-host.ts). Usage: node electron/bundle.js

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = path.join(ROOT, 'dist-electron');

export async function bundleElectron({ quiet = false } = {}) {
  const esbuild = await import('esbuild');
  const common = {
    absWorkingDir: ROOT,
    outdir: OUT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outExtension: { '.js': '.cjs' },
    external: ['electron'],
    packages: 'external',
    sourcemap: 'linked',
    logLevel: quiet ? 'error' : 'warning',
  };
  // main and compute host: CommonJS bundles; import.meta.url (used by shared modules) points at the bundle
  await esbuild.build({
    ...common,
    entryPoints: { main: 'electron/main.ts', 'compute-host': 'electron/compute-host.ts' },
    define: { 'import.meta.url': '__emfmapImportMetaUrl' },
    banner: { js: "const __emfmapImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  // the sandboxed preload can only require('electron'): no banner, nothing else external
  await esbuild.build({ ...common, packages: undefined, entryPoints: { preload: 'electron/preload.ts' } });
  return OUT;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleElectron().then(
    (out) => console.log(`bundled the desktop shell into ${path.relative(process.cwd(), out) || out}`),
    (err) => {
      console.error(err.message ?? err);
      process.exit(1);
    },
  );
}
