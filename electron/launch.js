#!/usr/bin/env node
// `npm start`: the desktop app on the bundled demo project. Builds what is missing (renderer, shell bundle),
// then starts Electron. Where the Electron binary is missing and cannot be fetched (no network, or its install
// script disabled), says so once, clearly, and points to browser mode, which runs the same interface.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ROOT, bundleElectron } from './bundle.js';

const require = createRequire(import.meta.url);
const ELECTRON_DIR = path.join(ROOT, 'node_modules', 'electron');

function electronBinary() {
  try {
    if (!fs.existsSync(path.join(ELECTRON_DIR, 'dist'))) return null;
    const p = require('electron'); // the binary's path when required from Node
    return typeof p === 'string' && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function tryInstallOnce() {
  const script = path.join(ELECTRON_DIR, 'install.js');
  if (!fs.existsSync(script)) return;
  process.stderr.write('The Electron binary is missing; trying to download it once (node node_modules/electron/install.js)...\n');
  spawnSync(process.execPath, [script], { cwd: ELECTRON_DIR, stdio: ['ignore', 'ignore', 'ignore'], timeout: 180_000 });
}

let electron = electronBinary();
if (!electron) {
  tryInstallOnce();
  electron = electronBinary();
}
if (!electron) {
  process.stderr.write(
    [
      'emfmap: the Electron binary is not available, so the desktop window cannot open.',
      '  To get it, on a machine with internet access run:  node node_modules/electron/install.js',
      '  (or reinstall with Electron\'s install script allowed: npm rebuild electron).',
      '  Meanwhile the same interface runs in your browser:  npx emfmap serve --demo',
      '',
    ].join('\n'),
  );
  process.exit(1);
}

// build the renderer when missing or older than its sources (TypeScript helper, loaded through tsx)
const { register } = await import('tsx/esm/api');
register();
const { ensureRenderer } = await import('../src/server/renderer-build.ts');
await ensureRenderer({ log: (s) => process.stderr.write(s + '\n') });
await bundleElectron({ quiet: true });

const args = [ROOT, ...(process.argv.includes('--no-demo') ? [] : ['--demo']), ...process.argv.slice(2).filter((a) => a !== '--no-demo')];
const env = { ...process.env, EMFMAP_COMPUTE_NODE: process.execPath };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(electron, args, { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
