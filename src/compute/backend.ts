// TensorFlow.js backend selection, in the order of architecture.md: "tensorflow" (tfjs-node-gpu with CUDA,
// or tfjs-node) when installed and loadable, then "wasm" (bundled SIMD binaries), then "cpu".
//
// Override: the `preferred` argument (CLI/UI option) wins over the environment variable EMFMAP_BACKEND;
// both accept tensorflow | wasm | cpu | auto. A requested backend that cannot start falls back along the
// default order, and an unknown name is reported (not fatal: a typo in an environment variable must not
// stop the app). The choice is made once per process; `describeBackend()` gives the one-line report
// stored with every run ("wasm (EMFMAP_BACKEND=wasm)", "wasm (tensorflow: @tensorflow/tfjs-node-gpu not
// installed, @tensorflow/tfjs-node not installed)").
//
// tfjs-node-gpu / tfjs-node are optional and never in package.json: they are looked up with
// require.resolve and imported only when present (docs/glip.md says how a GPU user installs them).

import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The optional native packages, best first. */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it failed (or which package provided it). */
  detail: string;
}

export interface BackendChoice {
  name: BackendName;
  /** One line: what was chosen and why (e.g. "wasm (tensorflow: @tensorflow/tfjs-node-gpu not installed, ...)"). */
  reason: string;
  /** The name asked for (option or EMFMAP_BACKEND), lower-cased; null when none. */
  requested: string | null;
  /** Where the request came from. */
  requestedBy: 'option' | 'env' | null;
  /** Every backend tried, in order. */
  attempts: BackendAttempt[];
  /** For "tensorflow": the package that provided it. */
  provider?: string;
}

export interface SelectOptions {
  /** Explicit choice (CLI option / UI setting); wins over the environment. */
  preferred?: string | null;
  /** Environment to read EMFMAP_BACKEND from (default process.env). */
  env?: Record<string, string | undefined>;
}

const require = createRequire(import.meta.url);
let chosen: Promise<BackendChoice> | null = null;

/** Whether a package can be resolved from here (without loading it). */
export function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Register and activate the native TensorFlow backend. Returns the provider package, or throws with the reason. */
async function startTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    if (!isInstalled(pkg)) {
      errors.push(`${pkg} not installed`);
      continue;
    }
    try {
      await import(pkg);
      if (tf.findBackendFactory('tensorflow') === null) {
        errors.push(`${pkg} loaded but registered no "tensorflow" backend with this @tensorflow/tfjs-core (${tf.version_core}): install a matching version`);
        continue;
      }
      if (await tf.setBackend('tensorflow')) return pkg;
      errors.push(`${pkg} loaded but its backend did not initialise`);
    } catch (e) {
      const msg = String((e as Error)?.message ?? e).split('\n')[0];
      errors.push(/libcud|cuda|cudnn/i.test(msg) ? `${pkg}: CUDA/cuDNN libraries not found (${msg})` : `${pkg} failed to load: ${msg}`);
    }
  }
  throw new Error(errors.join(', '));
}

async function startWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Node: point the loader at the bundled .wasm files (no network). Only read at the first initialisation.
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
}

async function startCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not initialise');
  // The cpu backend prints a banner ("install our node backend") on its first write; the choice is reported
  // by describeBackend() instead. Trigger that first write with warnings muted.
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true);
  try {
    tf.scalar(0).dispose();
  } finally {
    tf.env().set('PROD', prod);
  }
}

async function start(name: BackendName): Promise<string | undefined> {
  if (name === 'tensorflow') return startTensorflow();
  if (name === 'wasm') await startWasm();
  else await startCpu();
  return undefined;
}

function normalise(s: string | null | undefined): string | null {
  const t = (s ?? '').trim().toLowerCase();
  return t === '' ? null : t;
}

/**
 * Choose and activate a backend now (not cached: initBackend() is the cached entry point).
 * Order: the requested one (when known), then the default order tensorflow → wasm → cpu.
 */
export async function selectBackend(opts: SelectOptions = {}): Promise<BackendChoice> {
  const env = opts.env ?? process.env;
  const fromOption = normalise(opts.preferred);
  const fromEnv = normalise(env.EMFMAP_BACKEND);
  const requested = fromOption ?? fromEnv;
  const requestedBy = fromOption ? 'option' : fromEnv ? 'env' : null;
  const source = requestedBy === 'option' ? `option backend=${requested}` : `EMFMAP_BACKEND=${requested}`;
  const known = requested !== null && (BACKEND_ORDER as readonly string[]).includes(requested);
  const notes: string[] = [];
  if (requested !== null && requested !== 'auto' && !known) {
    notes.push(`unknown backend "${requested}" in ${requestedBy === 'option' ? 'the backend option' : 'EMFMAP_BACKEND'} ignored (known: ${BACKEND_ORDER.join(', ')}, auto)`);
  }
  const order: BackendName[] = known ? [requested as BackendName, ...BACKEND_ORDER.filter((b) => b !== requested)] : [...BACKEND_ORDER];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    try {
      const provider = await start(name);
      await tf.ready();
      attempts.push({ name, ok: true, detail: provider ?? 'ok' });
      const failed = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.detail}`);
      let why: string;
      if (known && name === requested) why = source;
      else if (known) why = `${requested} requested by ${source} but unavailable; ${failed.join('; ')}`;
      else why = failed.length ? failed.join('; ') : 'first available';
      const parts = [...notes, why];
      const label = provider ? `${name} via ${provider}` : name;
      return { name, reason: `${label} (${parts.join('; ')})`, requested, requestedBy, attempts, provider };
    } catch (e) {
      attempts.push({ name, ok: false, detail: String((e as Error)?.message ?? e) });
    }
  }
  throw new Error(`no TensorFlow.js backend available: ${attempts.map((a) => `${a.name}: ${a.detail}`).join('; ')}`);
}

/**
 * Initialise (once per process) and return the backend in use. Later calls return the first choice,
 * whatever they ask for (tensors live on one backend; switching mid-run would move them).
 */
export function initBackend(preferred?: string): Promise<BackendChoice> {
  if (!chosen) {
    chosen = selectBackend({ preferred });
    chosen.catch(() => {
      chosen = null; // let a later call retry
    });
  }
  return chosen;
}

/** The tfjs namespace, with a backend initialised. */
export async function getTf(preferred?: string): Promise<typeof tf> {
  await initBackend(preferred);
  return tf;
}

/** One-line report of the process's backend choice, e.g. for `emfmap backends` and run metadata. */
export async function describeBackend(): Promise<string> {
  const b = await initBackend();
  return `backend ${b.reason}`;
}

// ------------------------------------------------------------------------------------------ probing

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** "in use: …", "available (via …)", or why it is unavailable ("not installed", "CUDA libraries not found"). */
  reason: string;
  /** Median wall time of a 256×256 · 256×256 float32 matMul, ms. */
  matMulMs?: number;
  /** Median wall time of a 3×3 conv2d, 1×64×64×16 → 16 channels, ms. */
  conv2dMs?: number;
  /** GFLOP/s of the matMul (2·256³ flops). */
  matMulGflops?: number;
  /** True for the backend the process uses. */
  active: boolean;
}

export interface ListOptions {
  /** Time matMul and conv2d on each available backend (default true). */
  time?: boolean;
  /** Timed repetitions after one warm-up (default 5). */
  repeats?: number;
}

async function timeOp(run: () => tf.Tensor, repeats: number): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const out = run();
    await out.data();
    out.dispose();
    return performance.now() - t0;
  };
  await once(); // warm-up: compiles / allocates
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) ts.push(await once());
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

/** Seeded uniform data (no tf.random, so that every backend times the same numbers). */
function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

/**
 * Probe tensorflow / wasm / cpu: which can start here, and (optionally) the time of a small matMul and a 3×3
 * conv2d on each. The process's backend is switched temporarily and restored afterwards, so do not call this
 * while a computation is running.
 */
export async function listBackends(opts: ListOptions = {}): Promise<BackendProbe[]> {
  const active = await initBackend();
  const repeats = Math.max(1, opts.repeats ?? 5);
  const out: BackendProbe[] = [];
  for (const name of BACKEND_ORDER) {
    const probe: BackendProbe = { name, available: false, reason: '', active: name === active.name };
    if (name === 'tensorflow' && !NATIVE_PACKAGES.some(isInstalled)) {
      probe.reason = 'not installed (npm install @tensorflow/tfjs-node-gpu, see docs/glip.md)';
      out.push(probe);
      continue;
    }
    try {
      const provider = name === active.name ? active.provider : await start(name);
      await tf.ready();
      probe.available = true;
      probe.reason = name === active.name ? `in use: ${active.reason}` : provider ? `available via ${provider}` : 'available';
    } catch (e) {
      probe.reason = String((e as Error)?.message ?? e);
      out.push(probe);
      continue;
    }
    if (opts.time !== false) {
      if (tf.getBackend() !== name) await tf.setBackend(name);
      const a = tf.tensor2d(filled(256 * 256, 1), [256, 256]);
      const b = tf.tensor2d(filled(256 * 256, 2), [256, 256]);
      const x = tf.tensor4d(filled(64 * 64 * 16, 3), [1, 64, 64, 16]);
      const w = tf.tensor4d(filled(3 * 3 * 16 * 16, 4), [3, 3, 16, 16]);
      try {
        probe.matMulMs = await timeOp(() => tf.matMul(a, b), repeats);
        probe.matMulGflops = (2 * 256 ** 3) / (probe.matMulMs * 1e6);
        probe.conv2dMs = await timeOp(() => tf.conv2d(x, w, 1, 'same'), repeats);
      } finally {
        a.dispose();
        b.dispose();
        x.dispose();
        w.dispose();
      }
    }
    out.push(probe);
  }
  if (tf.getBackend() !== active.name) await tf.setBackend(active.name);
  return out;
}
