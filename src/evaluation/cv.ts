// Cross-validation of one estimator on one set of observations.
//
// Fast path: when the prepared estimator implements `predictHeldOut` (closed-form leave-out, reusable
// kernels), it is called once with all folds. Note that such estimators prepare on ALL observations, so
// hyper-parameters fitted in prepare (a variogram, a kernel scale) have seen the held-out values — the
// usual practice of geostatistical software (ArcGIS, gstat's krige.cv), stated here so nobody is surprised.
// Otherwise, for each fold the estimator is prepared afresh on the training cells only and the held-out
// cells are read from its map (nothing of the held-out values is seen).

import type { CvMetrics, Observations } from '../domain/types.ts';
import { subProgress, throwIfCancelled, type RunContext } from '../domain/run.ts';
import type { Estimator, ParamValues, PreparedEstimator } from '../estimators/types.ts';
import { complementIndices, subsetObservations } from '../estimators/observations.ts';
import { computeMetrics } from './metrics.ts';

export interface CvResult {
  metrics: CvMetrics;
  folds: number;
  /** Per observed cell (indexed like obs): observed value, held-out prediction, variance when given. */
  observed: Float64Array;
  predicted: Float64Array;
  variance?: Float64Array;
  /** True when the estimator's predictHeldOut was used. */
  fastPath: boolean;
  seconds: number;
  backend: string;
}

export async function crossValidate(
  est: Estimator,
  obs: Observations,
  params: ParamValues,
  folds: Int32Array[],
  ctx: RunContext = {},
  /** An estimator already prepared on all of `obs` (reused, not disposed): saves one prepare. */
  preparedOnAll?: PreparedEstimator,
): Promise<CvResult> {
  const t0 = performance.now();
  const n = obs.cell.length;
  const predicted = new Float64Array(n).fill(NaN);
  let variance: Float64Array | undefined;
  let fastPath = false;

  const full = preparedOnAll ?? (await est.prepare(obs, params, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.2, 'prepare') }, [obs.values]));
  try {
    if (full.predictHeldOut) {
      fastPath = true;
      const h = await full.predictHeldOut(obs.values, folds, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.2, 1, 'held-out') });
      predicted.set(h.mean);
      if (h.variance) variance = Float64Array.from(h.variance);
    }
  } finally {
    if (!preparedOnAll) full.dispose?.();
  }

  if (!fastPath) {
    for (let f = 0; f < folds.length; f++) {
      throwIfCancelled(ctx.signal);
      const held = folds[f];
      const train = complementIndices(n, held);
      if (train.length === 0) continue;
      const sub = subsetObservations(obs, train);
      const fctx: RunContext = { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.2 + (0.8 * f) / folds.length, 0.2 + (0.8 * (f + 1)) / folds.length, `fold ${f + 1}/${folds.length}`) };
      const prep = await est.prepare(sub, params, fctx, [sub.values]);
      try {
        const p = await prep.predict(sub.values, fctx);
        for (const i of held) {
          predicted[i] = p.values[obs.cell[i]];
          if (p.variance) {
            variance ??= new Float64Array(n).fill(NaN);
            variance[i] = p.variance[obs.cell[i]];
          }
        }
      } finally {
        prep.dispose?.();
      }
    }
  }
  throwIfCancelled(ctx.signal);
  ctx.onProgress?.({ stage: 'cross-validation', fraction: 1 });
  const observed = Float64Array.from(obs.values);
  return {
    metrics: computeMetrics(observed, predicted, variance),
    folds: folds.length,
    observed,
    predicted,
    variance,
    fastPath,
    seconds: (performance.now() - t0) / 1000,
    backend: est.backend?.() ?? 'js',
  };
}
