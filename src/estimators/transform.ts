// Optional log transform of the target, for every estimator (exposure is roughly log-normal).
//
// With `log=true` the estimator is fitted on y = ln(v) and its output is transformed back:
//   - methods with a predictive variance σ² (kriging, GP, CNTK): the lognormal mean
//       E[v] = exp(μ + σ²/2),  Var[v] = (exp(σ²) − 1)·exp(2μ + σ²)
//     (at an observed cell σ² ≈ 0, so the map still honours the data);
//   - methods without a variance (IDW, finite CNN without ensemble): exp(μ), the lognormal median
//     (a geometric-mean interpolator; it is biased low for the mean by exp(σ²/2), which we cannot know).
// Values ≤ 0 (below the detection limit, reported as 0) cannot be logged: they are replaced by half of the
// smallest positive value of the same vector (the usual LOD/2 substitution); the count is in diagnostics.
//
// Estimators that handle the transform themselves declare their own `log` parameter and are left alone.

import type { Estimator, HeldOutPrediction, ParamSpec, ParamValues, PreparedEstimator, Prediction } from './types.ts';
import type { Observations } from '../domain/types.ts';

export const LOG_PARAM: ParamSpec = {
  name: 'log',
  type: 'boolean',
  default: false,
  help: 'Fit on ln(value) and transform back: exp(μ+σ²/2) for methods with a variance (lognormal mean), exp(μ) otherwise (median). Values ≤ 0 become half the smallest positive value.',
  advanced: true,
};

export interface LogForward {
  y: Float64Array;
  /** Number of values ≤ 0 that were replaced. */
  replaced: number;
  /** The replacement value used (V/m), or null when none was needed. */
  floor: number | null;
}

/** y = ln(v), with v ≤ 0 replaced by half the smallest positive value (NaN stays NaN). */
export function logForward(v: ArrayLike<number>): LogForward {
  let minPos = Infinity;
  let nonPos = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) continue;
    if (x > 0) minPos = Math.min(minPos, x);
    else nonPos++;
  }
  // all values ≤ 0: nothing positive to anchor on; use 1e-6 (µV/m scale) so the math stays finite
  const floor = nonPos > 0 ? (Number.isFinite(minPos) ? minPos / 2 : 1e-6) : null;
  const y = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    y[i] = !Number.isFinite(x) ? NaN : x > 0 ? Math.log(x) : Math.log(floor!);
  }
  return { y, replaced: nonPos, floor };
}

/** Back-transform a mean (and variance) on the log scale to V/m (lognormal moments; see header). */
export function logBack(mu: ArrayLike<number>, variance?: ArrayLike<number>): { mean: Float64Array; variance?: Float64Array } {
  const n = mu.length;
  const mean = new Float64Array(n);
  if (!variance) {
    for (let i = 0; i < n; i++) mean[i] = Math.exp(mu[i]);
    return { mean };
  }
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s2 = Math.max(0, variance[i]);
    mean[i] = Math.exp(mu[i] + s2 / 2);
    v[i] = Math.expm1(s2) * Math.exp(2 * mu[i] + s2);
  }
  return { mean, variance: v };
}

function backPrediction(p: Prediction): Prediction {
  const b = logBack(p.values, p.variance);
  return {
    values: Float32Array.from(b.mean),
    variance: b.variance ? Float32Array.from(b.variance) : undefined,
    diagnostics: p.diagnostics,
  };
}

/** Wrap an estimator so that it accepts `log=true|false` (see header). Idempotent. */
export function withTargetTransform(est: Estimator): Estimator {
  if (est.params.some((p) => p.name === LOG_PARAM.name)) return est;
  const wrapped: Estimator & Record<string, unknown> = {
    id: est.id,
    label: est.label,
    description: est.description,
    params: [...est.params, LOG_PARAM],
    providesVariance: est.providesVariance,
    backend: est.backend ? () => est.backend!() : undefined,
    async prepare(obs: Observations, params: ParamValues, ctx, trainingValues) {
      const { [LOG_PARAM.name]: log, ...inner } = params;
      if (!log) return est.prepare(obs, inner, ctx, trainingValues);
      const f = logForward(obs.values);
      const logObs: Observations = { ...obs, values: f.y };
      const logTraining = trainingValues?.map((t) => logForward(t).y);
      const prepared = await est.prepare(logObs, inner, ctx, logTraining);
      return logPrepared(prepared, f);
    },
  };
  // pass through optional extras an estimator may expose (e.g. estimateResources, see resources.ts)
  for (const [k, v] of Object.entries(est as unknown as Record<string, unknown>)) {
    if (!(k in wrapped)) wrapped[k] = typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(est) : v;
  }
  return wrapped;
}

function logPrepared(inner: PreparedEstimator, first: LogForward): PreparedEstimator {
  const out: PreparedEstimator = {
    diagnostics: { ...(inner.diagnostics ?? {}), transform: 'log', replacedNonPositiveAtFit: first.replaced },
    async predict(values, ctx) {
      const f = logForward(values);
      const p = backPrediction(await inner.predict(f.y, ctx));
      p.diagnostics = { ...(p.diagnostics ?? {}), transform: 'log', backTransform: p.variance ? 'exp(mu+s2/2)' : 'exp(mu)', replacedNonPositive: f.replaced, floor: f.floor };
      return p;
    },
    dispose: inner.dispose ? () => inner.dispose!() : undefined,
  };
  if (inner.predictHeldOut) {
    out.predictHeldOut = async (values, folds, ctx): Promise<HeldOutPrediction> => {
      const f = logForward(values);
      const h = await inner.predictHeldOut!(f.y, folds, ctx);
      return logBack(h.mean, h.variance);
    };
  }
  return out;
}
