// The demo project on disk. It is not shipped as a binary: it is generated deterministically from its
// seed on first use (a couple of seconds) into the user's data folder, or wherever --project says.
// Generation writes a temporary file next to the target and renames it at the end, so a failed or
// cancelled run leaves nothing behind and a half-written demo is never opened.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../domain/errors.ts';
import { throwIfCancelled, subProgress, type RunContext } from '../domain/run.ts';
import { createProject, openProject } from '../store/project.ts';
import { GENERATOR_VERSION, demoTag, generateDemo, parseDemoTag, type DemoVariant } from './generate.ts';
import { DEFAULT_SEED } from './scene.ts';

export interface DemoProjectOptions {
  /** PRNG seed of the scene (default 42). */
  seed?: number;
  /** The drive-test variant instead of the fixed sensor network. */
  driveTest?: boolean;
}

/** Folder for generated data: $EMFMAP_DATA_DIR, else ~/.emfmap. */
export function dataDir(): string {
  const env = process.env.EMFMAP_DATA_DIR;
  return env && env.trim() !== '' ? path.resolve(env) : path.join(os.homedir(), '.emfmap');
}

/** Where the demo lives when no path is given: demo.emfmap, demo-drive.emfmap, demo-seed7.emfmap, ... */
export function defaultDemoPath(opts: DemoProjectOptions = {}): string {
  const seed = opts.seed ?? DEFAULT_SEED;
  const name = `demo${opts.driveTest ? '-drive' : ''}${seed === DEFAULT_SEED ? '' : `-seed${seed}`}.emfmap`;
  return path.join(dataDir(), name);
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new UserError(`--seed must be an integer from 0 to 4294967295 (got ${seed})`);
  }
}

/**
 * Generate the demo project at `file` (which must not exist). The project is SYNTHETIC and marked so
 * (meta.synthetic, name, description, reference map, sensor metadata).
 */
export async function createDemoProject(file: string, opts: DemoProjectOptions = {}, ctx: RunContext = {}): Promise<void> {
  const target = path.resolve(file);
  const seed = opts.seed ?? DEFAULT_SEED;
  checkSeed(seed);
  const variant: DemoVariant = opts.driveTest ? 'drive' : 'sensors';
  if (fs.existsSync(target)) throw new UserError(`${target} already exists: open it, or choose another file name`);
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) throw new UserError(`cannot create ${target}: folder ${dir} does not exist`);

  const data = await generateDemo({ seed, variant }, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.85) });
  throwIfCancelled(ctx.signal);

  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}-${Date.now()}.partial`);
  const cleanup = () => {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) fs.rmSync(f, { force: true });
  };
  try {
    ctx.onProgress?.({ stage: 'writing project', fraction: 0.86 });
    const store = createProject(tmp, {
      name: data.meta.name,
      crs: data.meta.crs,
      description: data.meta.description,
      synthetic: true,
      aoi: data.meta.aoi,
    });
    try {
      store.transaction(() => {
        store.upsertSensors(data.sensors);
        store.insertReadings(data.readings, 'replace');
        store.setReferenceMap(data.reference);
        store.recordImport({
          fileName: `emfmap demo generator v${GENERATOR_VERSION} (SYNTHETIC, seed ${seed}, ${variant})`,
          contentHash: `synthetic:${demoTag(seed, variant)}`,
          importedAt: Date.now(),
          sensorsAdded: data.sensors.length,
          readingsAdded: data.readings.length,
          readingsReplaced: 0,
          readingsSkipped: 0,
          options: { synthetic: true, seed, variant, generator: GENERATOR_VERSION },
        });
      });
    } finally {
      store.close();
    }
    throwIfCancelled(ctx.signal);
    fs.renameSync(tmp, target);
    ctx.onProgress?.({ stage: 'writing project', fraction: 1 });
  } catch (e) {
    cleanup();
    throw e;
  }
}

export interface EnsureDemoResult {
  path: string;
  created: boolean;
  seed: number;
  variant: DemoVariant;
  /** The existing file was made by another version of the generator (delete it to regenerate). */
  stale: boolean;
}

/**
 * Make sure a demo project exists at `file` (default: the data folder) and return where it is.
 * An existing file is kept when it is a demo of the requested seed and variant (when given); any other
 * file is refused rather than overwritten.
 */
export async function ensureDemoProject(file: string | undefined, opts: DemoProjectOptions = {}, ctx: RunContext = {}): Promise<EnsureDemoResult> {
  if (opts.seed !== undefined) checkSeed(opts.seed);
  const target = path.resolve(file ?? defaultDemoPath(opts));
  if (file === undefined) fs.mkdirSync(path.dirname(target), { recursive: true });
  if (fs.existsSync(target)) {
    const store = openProject(target);
    let description: string;
    try {
      description = store.meta().description;
    } finally {
      store.close();
    }
    const tag = parseDemoTag(description);
    if (!tag) throw new UserError(`${target} exists and is not an emfmap demo project: choose another --project path`);
    const wantVariant = opts.driveTest === undefined ? tag.variant : opts.driveTest ? 'drive' : 'sensors';
    if ((opts.seed !== undefined && opts.seed !== tag.seed) || wantVariant !== tag.variant) {
      throw new UserError(
        `${target} holds the ${tag.variant} demo with seed ${tag.seed}, not the ${wantVariant} demo with seed ${opts.seed ?? tag.seed}: ` +
          'choose another --project path (or leave --project out to use the default location)',
      );
    }
    return { path: target, created: false, seed: tag.seed, variant: tag.variant, stale: tag.generator !== GENERATOR_VERSION };
  }
  await createDemoProject(target, opts, ctx);
  return { path: target, created: true, seed: opts.seed ?? DEFAULT_SEED, variant: opts.driveTest ? 'drive' : 'sensors', stale: false };
}
