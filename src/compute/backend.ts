// TensorFlow.js backend selection, in the order of architecture.md: "tensorflow" (tfjs-node-gpu with CUDA,
// or tfjs-node) when installed and loadable, then "wasm" (bundled SIMD binaries), then "cpu".
// Override with EMFMAP_BACKEND=tensorflow|wasm|cpu or the `backend` option. The choice and the reason
// are reported in every run's metadata.

import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** One line: what was chosen and why (e.g. "wasm: tfjs-node-gpu not installed"). */
  reason: string;
}

let chosen: Promise<BackendChoice> | null = null;
const require = createRequire(import.meta.url);

async function tryTensorflow(): Promise<string | null> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
    } catch {
      errors.push(`${pkg} not installed`);
      continue;
    }
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return null;
      errors.push(`${pkg} loaded but its backend did not initialise`);
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      errors.push(/libcud|cuda/i.test(msg) ? `${pkg}: CUDA libraries not found` : `${pkg} failed to load: ${msg.split('\n')[0]}`);
    }
  }
  return errors.join('; ');
}

async function tryWasm(): Promise<string | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Node: point the loader at the bundled .wasm files (no network).
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
    if (await tf.setBackend('wasm')) return null;
    return 'wasm backend did not initialise';
  } catch (e) {
    return `wasm failed: ${(e as Error).message}`;
  }
}

async function tryCpu(): Promise<string | null> {
  await import('@tensorflow/tfjs-backend-cpu');
  return (await tf.setBackend('cpu')) ? null : 'cpu backend did not initialise';
}

async function choose(preferred?: string): Promise<BackendChoice> {
  const want = (preferred ?? process.env.EMFMAP_BACKEND ?? '').trim().toLowerCase();
  const order: BackendName[] =
    want === 'cpu' ? ['cpu'] : want === 'wasm' ? ['wasm', 'cpu'] : want === 'tensorflow' ? ['tensorflow', 'wasm', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
  const why: string[] = [];
  if (want && !['cpu', 'wasm', 'tensorflow'].includes(want)) why.push(`unknown backend "${want}" ignored`);
  for (const name of order) {
    const fail = name === 'tensorflow' ? await tryTensorflow() : name === 'wasm' ? await tryWasm() : await tryCpu();
    if (fail === null) {
      await tf.ready();
      const reason = why.length ? `${name}: ${why.join('; ')}` : want === name ? `${name}: requested` : `${name}: first available`;
      return { name, reason };
    }
    why.push(fail);
  }
  throw new Error(`no TensorFlow.js backend available: ${why.join('; ')}`);
}

/** Initialise (once) and return the backend in use. Later calls return the same choice. */
export function initBackend(preferred?: string): Promise<BackendChoice> {
  if (!chosen) chosen = choose(preferred);
  return chosen;
}

/** The tfjs namespace, with a backend initialised. */
export async function getTf(preferred?: string): Promise<typeof tf> {
  await initBackend(preferred);
  return tf;
}
