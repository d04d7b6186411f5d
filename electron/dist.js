#!/usr/bin/env node
// `npm run dist [-- electron-builder flags]`: build the desktop installers (electron-builder.yml).
//
// 1. Check that the Electron binary for this platform can be had: an unpacked one in
//    node_modules/electron/dist (then used directly, nothing is downloaded), a zip in Electron's download
//    cache, or a reachable download mirror (github.com or $ELECTRON_MIRROR). If none, stop with ONE
//    clear message and exit code 1, before building anything.
// 2. Build the renderer (vite) and the Electron bundles (the `build:electron` script, or electron/bundle.js).
// 3. Run electron-builder with electron-builder.yml; extra arguments are passed on (e.g. `--linux deb`,
//    `--win`, `--mac`). Installers land in release/.
//
// `node electron/dist.js --check` runs step 1 only (exit 0 when packaging could proceed).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const checkOnly = args.includes('--check');
const builderArgs = args.filter((a) => a !== '--check');

function fail(message) {
  process.stderr.write(`npm run dist: ${message}\n`);
  process.exit(1);
}

function electronVersion() {
  const p = path.join(root, 'node_modules', 'electron', 'package.json');
  if (!fs.existsSync(p)) return null;
  return JSON.parse(fs.readFileSync(p, 'utf8')).version;
}

/** An unpacked Electron for this platform (what `npm start` runs), or null. */
function localElectronDist() {
  const dist = path.join(root, 'node_modules', 'electron', 'dist');
  const exe = { linux: 'electron', win32: 'electron.exe', darwin: 'Electron.app' }[process.platform];
  return exe && fs.existsSync(path.join(dist, exe)) ? dist : null;
}

function cacheDirs() {
  const dirs = [];
  if (process.env.ELECTRON_CACHE) dirs.push(process.env.ELECTRON_CACHE);
  const home = os.homedir();
  if (process.platform === 'darwin') dirs.push(path.join(home, 'Library', 'Caches', 'electron'));
  else if (process.platform === 'win32') dirs.push(path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'electron', 'Cache'));
  else dirs.push(path.join(process.env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'electron'));
  return dirs;
}

/** A cached electron-vX-platform-arch.zip (the cache keeps it one directory down, under a hash), or null. */
function cachedZip(version) {
  const name = `electron-v${version}-${process.platform}-${process.arch}.zip`;
  for (const dir of cacheDirs()) {
    if (!fs.existsSync(dir)) continue;
    if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
    for (const sub of fs.readdirSync(dir, { withFileTypes: true })) {
      if (sub.isDirectory() && fs.existsSync(path.join(dir, sub.name, name))) return path.join(dir, sub.name, name);
    }
  }
  return null;
}

/** HEAD the Electron zip on the mirror; resolves to null when reachable, else the reason. */
function probeMirror(version) {
  const base = (process.env.ELECTRON_MIRROR ?? 'https://github.com/electron/electron/releases/download/').replace(/\/?$/, '/');
  const url = `${base}v${version}/electron-v${version}-${process.platform}-${process.arch}.zip`;
  const lib = url.startsWith('http:') ? http : https;
  return new Promise((resolve) => {
    const req = lib.request(url, { method: 'HEAD', timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode < 400 ? null : `${new URL(url).host} answered HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', (e) => resolve(`${new URL(url).host} is unreachable (${e.code ?? e.message})`));
    req.end();
  });
}

function run(cmd, cmdArgs, what) {
  process.stdout.write(`dist: ${what}\n`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) fail(`${what} failed (exit code ${r.status ?? r.signal}); see the output above`);
}

async function main() {
  const version = electronVersion();
  if (!version) fail('the electron package is not installed (run npm install first)');
  if (!fs.existsSync(path.join(root, 'node_modules', 'electron-builder'))) fail('electron-builder is not installed (run npm install first)');

  const local = localElectronDist();
  let source;
  if (local) source = `local Electron ${version} in ${path.relative(root, local)}`;
  else {
    const zip = cachedZip(version);
    if (zip) source = `cached ${zip}`;
    else {
      const reason = await probeMirror(version);
      if (reason) {
        fail(
          `cannot build installers here: Electron ${version} for ${process.platform}-${process.arch} is not installed ` +
            `(node_modules/electron/dist), not in the download cache (${cacheDirs().join(', ')}), and ${reason}. ` +
            'Run `npm run dist` on a machine with internet access (or set ELECTRON_MIRROR / put the zip into ELECTRON_CACHE). ' +
            'Without Electron, `emfmap serve` runs the same interface in a browser.',
        );
      }
      source = `download of Electron ${version} (mirror reachable)`;
    }
  }
  process.stdout.write(`dist: Electron from ${source}\n`);
  if (checkOnly) return;

  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, ['run', 'build:renderer'], 'building the renderer');
  const bundler = ['bundle.js', 'build.js'].map((f) => path.join(root, 'electron', f)).find((f) => fs.existsSync(f));
  if (pkg.scripts?.['build:electron']) run(npm, ['run', 'build:electron'], 'building the Electron bundles');
  else if (bundler) run(process.execPath, [bundler], 'building the Electron bundles');
  else fail('no Electron build step: add a "build:electron" script to package.json (or electron/bundle.js)');
  const main = path.join(root, pkg.main ?? 'dist-electron/main.cjs');
  if (!fs.existsSync(main)) fail(`the Electron build did not produce ${path.relative(root, main)} (package.json "main")`);

  const cli = path.join(root, 'node_modules', 'electron-builder', 'cli.js');
  const extra = local ? [`-c.electronDist=${local}`] : [];
  run(process.execPath, [cli, '--config', 'electron-builder.yml', ...extra, ...builderArgs], 'packaging with electron-builder');
  process.stdout.write(`dist: installers are in ${path.join(root, 'release')}\n`);
}

main().catch((e) => fail(e?.message ?? String(e)));
