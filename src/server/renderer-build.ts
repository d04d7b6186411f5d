// Locating and (re)building the renderer bundle that browser mode and Electron serve (dist/renderer).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RENDERER_OUT = path.join(ROOT, 'dist', 'renderer');
const RENDERER_SRC = path.join(ROOT, 'renderer');
const VITE_CONFIG = path.join(RENDERER_SRC, 'vite.config.ts');
/** Engine files the renderer bundles (pure modules shared with the server). */
const SHARED_SRC = ['src/service/channels.ts', 'src/service/wire.ts', 'src/geo/crs.ts', 'src/domain/errors.ts'];

export function rendererBuilt(): boolean {
  return fs.existsSync(path.join(RENDERER_OUT, 'index.html'));
}

function newestMtime(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const e of fs.readdirSync(p)) if (e !== 'node_modules') max = Math.max(max, newestMtime(path.join(p, e)));
  return max;
}

/** True when the renderer sources (a checkout, not an installed package) are newer than the build. */
export function rendererStale(): boolean {
  if (!rendererBuilt()) return true;
  if (!fs.existsSync(VITE_CONFIG)) return false;
  const built = fs.statSync(path.join(RENDERER_OUT, 'index.html')).mtimeMs;
  const src = Math.max(newestMtime(RENDERER_SRC), ...SHARED_SRC.map((f) => newestMtime(path.join(ROOT, f))));
  return src > built;
}

/** Build dist/renderer with Vite (a dev dependency: present in a checkout). */
export async function buildRenderer(opts: { quiet?: boolean } = {}): Promise<void> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    throw new Error('the user interface is not built and Vite is not installed: run "npm install" then "npm run build:renderer"');
  }
  await vite.build({ configFile: VITE_CONFIG, logLevel: opts.quiet ? 'error' : 'warn' });
}

/** Build when missing or out of date; returns whether a build ran. */
export async function ensureRenderer(opts: { quiet?: boolean; force?: boolean; log?: (s: string) => void } = {}): Promise<boolean> {
  if (!opts.force && !rendererStale()) return false;
  opts.log?.(rendererBuilt() ? 'renderer sources changed: rebuilding the user interface...' : 'building the user interface (first run)...');
  await buildRenderer(opts);
  return true;
}
