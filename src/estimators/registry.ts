// The list of estimators. Each method lives in its own file and is registered here, once, lazily,
// so that the CLI starts fast and TensorFlow.js is only loaded by the methods that need it.
// To add a method: implement Estimator (types.ts) in a new file and add one line to LOADERS.

import { UserError } from '../domain/errors.ts';
import type { Estimator, EstimatorInfo } from './types.ts';

/** id -> loader, in the order the UI and `compare` list them. */
const LOADERS: Record<string, () => Promise<Estimator>> = {
  idw: async () => (await import('./idw.ts')).idw,
  kriging: async () => (await import('./kriging.ts')).kriging,
  gp: async () => (await import('./gp.ts')).gp,
  cntk: async () => (await import('./cntk.ts')).cntk,
  'cntk-eigenpro': async () => (await import('./cntk-eigenpro.ts')).cntkEigenpro,
  'cntk-sketch': async () => (await import('./cntk-sketch.ts')).cntkSketch,
  glip: async () => (await import('./glip.ts')).glip,
};

export function estimatorIds(): string[] {
  return Object.keys(LOADERS);
}

export async function getEstimator(id: string): Promise<Estimator> {
  const load = LOADERS[id];
  if (!load) throw new UserError(`unknown method "${id}" (available: ${estimatorIds().join(', ')})`);
  return load();
}

export async function listEstimators(): Promise<EstimatorInfo[]> {
  const out: EstimatorInfo[] = [];
  for (const id of estimatorIds()) {
    const e = await getEstimator(id);
    out.push({ id: e.id, label: e.label, description: e.description, params: e.params, providesVariance: e.providesVariance });
  }
  return out;
}
