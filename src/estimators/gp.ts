// Gaussian-process regression with hyper-parameters by maximum marginal likelihood.
//
// Model: z(x) = m + f(x) + ε, f ~ GP(0, σ_f²·ρ(|x − x'|/ℓ)), ε ~ N(0, σ_n²); m = the training mean (the GP is
// zero-mean on the centred target). Kernels (Rasmussen & Williams 2006, ch. 4): Matérn ν = ½ (exponential),
// 3/2, 5/2 and the squared exponential (RBF) exp(−r²/2ℓ²). The map is the posterior of the noise-free f
// (plus m): mean k*ᵀ(K + σ_n²I)⁻¹(z − m) and variance σ_f² − k*ᵀ(K + σ_n²I)⁻¹k*, i.e. simple kriging with
// the nugget filtered, computed by the same predictor as kriging (kriging.ts), global or with a moving
// neighbourhood for many sensors.
//
// Hyper-parameters: on the target standardized per time step ((z − z̄)/s, pooled over the steps of a group),
// maximise the log marginal likelihood
//     log p(y) = −½ Σ_t y_tᵀK⁻¹y_t − (T/2)·log|K| − (nT/2)·log 2π.
// With σ_f² and σ_n² both free, σ_f² is profiled out in closed form (K = σ_f²(R + gI), σ̂_f² = Σ yᵀ(R+gI)⁻¹y/nT)
// and (log ℓ, log g) are optimised by Nelder–Mead from the best of a small grid of starts; fixed values
// (parameters lengthScale / variance / noise) are honoured and the rest optimised. For more than `fitPoints`
// sensors the likelihood uses a random subset of that size (O(n³) per evaluation); the map uses all sensors.
// kernel=auto fits each kernel and keeps the highest marginal likelihood (all have the same parameter count).
// The standardized σ_f², σ_n² are brought back to target units with the mean step variance.
//
// Leave-out (Rasmussen & Williams eq. 5.12, generalised to folds): with A = (K + σ_n²I)⁻¹ and r = A(z − m_F·1),
// where m_F is the mean of the training values of the fold, the held-out error is (A_FF)⁻¹r_F and its
// covariance (A_FF)⁻¹. Hyper-parameters are kept fixed across folds (as in R&W's LOO-CV).

import { UserError } from '../domain/errors.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import type { Observations } from '../domain/types.ts';
import { cholesky, choleskyLogDet, choleskySolve } from '../solvers/cholesky.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import type { Estimator, ParamSpec, ParamValues, PreparedEstimator } from './types.ts';
import {
  AUTO_NEIGHBOURS,
  autoOrNumber,
  checkObservations,
  CovariancePredictor,
  covarianceResources,
  GLOBAL_MAX_SITES,
  preparedCovariance,
  resolveNeighbours,
  workingValues,
} from './kriging.ts';
import { nelderMead } from '../solvers/optimize.ts';
import { correlation, meanVar, sampleIndices, type VariogramModelName } from './variogram.ts';

export type GpKernel = 'matern12' | 'matern32' | 'matern52' | 'rbf';
export const GP_KERNELS: GpKernel[] = ['matern12', 'matern32', 'matern52', 'rbf'];

/** Kernel → covariance model of variogram.ts, and the factor a = factor·ℓ between its scale and R&W's ℓ. */
const KERNEL_MODEL: Record<GpKernel, { model: VariogramModelName; scale: number }> = {
  matern12: { model: 'exponential', scale: 1 },
  matern32: { model: 'matern15', scale: 1 },
  matern52: { model: 'matern25', scale: 1 },
  rbf: { model: 'gaussian', scale: Math.SQRT2 }, // exp(−r²/2ℓ²) = exp(−(r/(√2ℓ))²)
};

export interface GpHyper {
  kernel: GpKernel;
  lengthScale: number;
  signalVariance: number;
  noiseVariance: number;
}

/** Correlation matrix R(ℓ) of a kernel at the given points (row-major n×n). */
function correlationMatrix(x: ArrayLike<number>, y: ArrayLike<number>, kernel: GpKernel, lengthScale: number): Float64Array {
  const n = x.length;
  const { model, scale } = KERNEL_MODEL[kernel];
  const rho = correlation(model, scale * lengthScale);
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    R[i * n + i] = 1;
    for (let j = 0; j < i; j++) {
      const dx = x[i] - x[j], dy = y[i] - y[j];
      const r = rho(Math.sqrt(dx * dx + dy * dy));
      R[i * n + j] = r;
      R[j * n + i] = r;
    }
  }
  return R;
}

/** Quadratic forms Σ_t y_tᵀK⁻¹y_t and log|K| for K = a·R + b·I. */
function quadAndLogDet(R: Float64Array, n: number, a: number, b: number, ys: Float64Array[]): { quad: number; logDet: number } {
  const K = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) K[i] = a * R[i];
  for (let i = 0; i < n; i++) K[i * n + i] += b;
  const f = cholesky(K, n);
  const T = ys.length;
  const Y = new Float64Array(n * T);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) Y[i * T + t] = ys[t][i];
  const X = choleskySolve(f, Y, T);
  let quad = 0;
  for (let i = 0; i < n * T; i++) quad += Y[i] * X[i];
  return { quad, logDet: choleskyLogDet(f) };
}

/**
 * Log marginal likelihood of zero-mean data vectors (one per step, pooled) under a GP with the given kernel
 * and hyper-parameters: −½ Σ yᵀK⁻¹y − (T/2)·log|K| − (nT/2)·log 2π, K = σ_f²R + σ_n²I.
 */
export function gpLogMarginalLikelihood(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  values: Float64Array[],
  h: GpHyper,
): number {
  const n = x.length;
  const R = correlationMatrix(x, y, h.kernel, h.lengthScale);
  const { quad, logDet } = quadAndLogDet(R, n, h.signalVariance, h.noiseVariance, values);
  const T = values.length;
  return -0.5 * quad - 0.5 * T * logDet - 0.5 * n * T * Math.log(2 * Math.PI);
}

export interface GpFitOptions {
  kernels: GpKernel[];
  lengthScale?: number;
  signalVariance?: number;
  noiseVariance?: number;
  fitPoints: number;
}

export interface GpKernelReport extends GpHyper {
  /** Log marginal likelihood on the standardized fitting data (comparable between kernels). */
  logMarginalLikelihood: number;
  evaluations: number;
}

export interface GpFit {
  chosen: GpHyper;
  candidates: GpKernelReport[];
  /** Sites and steps the likelihood was computed on. */
  fitSites: number;
  fitSteps: number;
  /** Mean step variance used to bring σ_f², σ_n² back to target units. */
  scale: number;
  note?: string;
}

/** Fit the GP hyper-parameters by maximum (pooled) marginal likelihood; see the header. */
export async function fitGp(x: ArrayLike<number>, y: ArrayLike<number>, valueSets: ArrayLike<number>[], o: GpFitOptions, ctx: RunContext = {}): Promise<GpFit> {
  const idx = sampleIndices(x.length, o.fitPoints, 5);
  const n = idx.length;
  const xs = Float64Array.from(idx, (i) => x[i]);
  const ys = Float64Array.from(idx, (i) => y[i]);
  let maxD = 0;
  let minD = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d = Math.sqrt((xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2);
      if (d > maxD) maxD = d;
      if (d > 0 && d < minD) minD = d;
    }
  }
  if (!(maxD > 0)) maxD = 1;
  if (!Number.isFinite(minD)) minD = maxD;
  // standardize each step (at most 24 evenly spaced steps)
  const stepIdx: number[] = [];
  const S = valueSets.length;
  if (S <= 24) for (let t = 0; t < S; t++) stepIdx.push(t);
  else for (let k = 0; k < 24; k++) stepIdx.push(Math.round((k * (S - 1)) / 23));
  const std: Float64Array[] = [];
  let varSum = 0;
  for (const t of stepIdx) {
    const v = Float64Array.from(idx, (i) => valueSets[t][i]);
    const { mean: m, variance: s2 } = meanVar(v);
    if (!(s2 > 0)) continue;
    const sd = Math.sqrt(s2);
    for (let i = 0; i < n; i++) v[i] = (v[i] - m) / sd;
    std.push(v);
    varSum += s2;
  }
  const scale = std.length > 0 ? varSum / std.length : 0;
  const defaultLength = maxD / 3;
  if (std.length === 0 || n < 3) {
    // constant field or too few sensors: nothing to learn from; document the defaults used
    const kernel = o.kernels.includes('matern32') ? 'matern32' : o.kernels[0];
    const sv = o.signalVariance ?? scale;
    return {
      chosen: { kernel, lengthScale: o.lengthScale ?? defaultLength, signalVariance: sv, noiseVariance: o.noiseVariance ?? 0.01 * sv },
      candidates: [],
      fitSites: n,
      fitSteps: std.length,
      scale,
      note: std.length === 0 ? 'constant values: no hyper-parameters to fit' : 'fewer than 3 sensors: default hyper-parameters',
    };
  }
  const T = std.length;
  const fixedL = o.lengthScale;
  const fixedS = o.signalVariance !== undefined ? o.signalVariance / scale : undefined;
  const fixedN = o.noiseVariance !== undefined ? o.noiseVariance / scale : undefined;
  const profiled = fixedS === undefined && fixedN === undefined;
  const lMin = minD / 20;
  const lMax = maxD * 20;
  const candidates: GpKernelReport[] = [];
  const LOG2PI = Math.log(2 * Math.PI);
  for (const kernel of o.kernels) {
    let evals = 0;
    let cacheL = NaN;
    let R: Float64Array = new Float64Array(0);
    const Rfor = (l: number) => {
      if (l !== cacheL) {
        R = correlationMatrix(xs, ys, kernel, l);
        cacheL = l;
      }
      return R;
    };
    // negative log likelihood and the σ_f², σ_n² it implies (standardized units)
    const nll = (l: number, a: number, b: number): { v: number; sf2: number; sn2: number } => {
      evals++;
      if (!(l >= lMin && l <= lMax)) return { v: Infinity, sf2: a, sn2: b };
      if (profiled) {
        // a = 1, b = g: σ̂² = quad/(nT), nll = ½nT·log σ̂² + ½T·log|R+gI| + ½nT(1 + log 2π)
        const { quad, logDet } = quadAndLogDet(Rfor(l), n, 1, b, std);
        const s2 = quad / (n * T);
        return { v: 0.5 * n * T * Math.log(s2) + 0.5 * T * logDet + 0.5 * n * T * (1 + LOG2PI), sf2: s2, sn2: b * s2 };
      }
      const { quad, logDet } = quadAndLogDet(Rfor(l), n, a, b, std);
      return { v: 0.5 * quad + 0.5 * T * logDet + 0.5 * n * T * LOG2PI, sf2: a, sn2: b };
    };
    // free parameters θ (log scale): ℓ unless fixed; profiled: g; else σ_f² and/or σ_n² unless fixed
    const decode = (t: number[]): [number, number, number] => {
      let k = 0;
      const l = fixedL ?? Math.exp(t[k++]);
      if (profiled) return [l, 1, Math.min(Math.max(Math.exp(t[k]), 1e-8), 1e3)];
      const a = fixedS ?? Math.exp(t[k++]);
      const b = fixedN ?? Math.exp(t[k++]);
      return [l, a, b];
    };
    const dims = (fixedL === undefined ? 1 : 0) + (profiled ? 1 : (fixedS === undefined ? 1 : 0) + (fixedN === undefined ? 1 : 0));
    const f = (t: number[]) => {
      const [l, a, b] = decode(t);
      return nll(l, a, b).v;
    };
    // grid of starts, then Nelder–Mead from the two best
    const starts: number[][] = [];
    for (const lf of fixedL === undefined ? [0.03, 0.1, 0.3, 1] : [0]) {
      for (const g of [0.01, 0.3]) {
        const t: number[] = [];
        if (fixedL === undefined) t.push(Math.log(lf * maxD));
        if (profiled) t.push(Math.log(g));
        else {
          if (fixedS === undefined) t.push(Math.log(Math.max(1 - (fixedN ?? g), 0.05)));
          if (fixedN === undefined) t.push(Math.log(g));
        }
        starts.push(t);
      }
    }
    let best: { t: number[]; v: number };
    if (dims === 0) best = { t: [], v: f([]) };
    else {
      const scored = starts.map((t) => ({ t, v: f(t) })).sort((a, b) => a.v - b.v);
      best = scored[0];
      // the second start only when it lies in another basin (a different length-scale start)
      const second = scored.slice(1).find((s) => s.t[0] !== scored[0].t[0] && s.v < scored[0].v + 2);
      for (const s of second ? [scored[0], second] : [scored[0]]) {
        const r = nelderMead(f, s.t, { step: 0.8, maxEvaluations: 50 * dims, tolF: 1e-8, tolX: 2e-3 });
        if (r.f < best.v) best = { t: r.x, v: r.f };
        await yieldToLoop();
        throwIfCancelled(ctx.signal);
      }
    }
    const [l, a, b] = decode(best.t);
    const res = nll(l, a, b);
    candidates.push({
      kernel,
      lengthScale: l,
      signalVariance: res.sf2 * scale,
      noiseVariance: res.sn2 * scale,
      logMarginalLikelihood: -res.v,
      evaluations: evals,
    });
    ctx.onProgress?.({ stage: 'GP hyper-parameters', fraction: candidates.length / o.kernels.length, message: kernel });
  }
  let bi = 0;
  for (let c = 1; c < candidates.length; c++) if (candidates[c].logMarginalLikelihood > candidates[bi].logMarginalLikelihood) bi = c;
  const c = candidates[bi];
  return {
    chosen: { kernel: c.kernel, lengthScale: c.lengthScale, signalVariance: c.signalVariance, noiseVariance: c.noiseVariance },
    candidates,
    fitSites: n,
    fitSteps: T,
    scale,
  };
}

/** The kriging-style predictor for fitted hyper-parameters (simple kriging, nugget filtered). */
export function gpPredictor(x: ArrayLike<number>, y: ArrayLike<number>, h: GpHyper, neighbours: number): CovariancePredictor {
  const { model, scale } = KERNEL_MODEL[h.kernel];
  return new CovariancePredictor(
    x,
    y,
    { model, range: scale * h.lengthScale, psill: h.signalVariance, nugget: h.noiseVariance },
    { mean: 'simple', exact: false, neighbours },
  );
}

const PARAMS: ParamSpec[] = [
  {
    name: 'kernel',
    type: 'enum',
    default: 'matern32',
    choices: ['auto', ...GP_KERNELS],
    help: 'Covariance kernel: Matérn ν = ½, 3/2, 5/2 or RBF (squared exponential); auto keeps the one with the highest marginal likelihood.',
  },
  {
    name: 'lengthScale',
    type: 'number',
    default: 0,
    min: 0,
    help: 'Length scale ℓ in metres (0 = fit by marginal likelihood).',
  },
  {
    name: 'variance',
    type: 'number',
    default: 0,
    min: 0,
    help: 'Signal variance σ_f² in (V/m)² (0 = fit).',
    advanced: true,
  },
  {
    name: 'noise',
    type: 'string',
    default: 'auto',
    help: 'Noise variance σ_n² in (V/m)² ("auto" = fit; 0 = interpolate exactly).',
  },
  {
    name: 'neighbours',
    type: 'integer',
    default: 0,
    min: 0,
    max: 100000,
    help: `Sensors used per cell: 0 = automatic (all sensors up to ${GLOBAL_MAX_SITES}, fewer on large grids; else the ${AUTO_NEIGHBOURS} nearest); a number ≥ the sensor count forces the exact global posterior.`,
  },
  {
    name: 'fitPoints',
    type: 'integer',
    default: 200,
    min: 10,
    max: 5000,
    help: 'Sensors used at most for the marginal likelihood (a random subset beyond; each evaluation costs O(n³)).',
    advanced: true,
  },
  {
    name: 'log',
    type: 'boolean',
    default: false,
    help: 'Fit on ln(value) and back-transform with the lognormal mean exp(μ + σ²/2). Values ≤ 0 become half the smallest positive value.',
  },
];

export const gp: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'gp',
  label: 'Gaussian process',
  description:
    'Gaussian-process regression (Matérn or RBF kernel) with length scale, signal and noise variance fitted by maximum marginal likelihood; the map is the posterior mean of the noise-free field with its posterior variance.',
  params: PARAMS,
  providesVariance: true,
  backend: () => 'js',
  estimateResources(q: ResourceQuery): ResourceEstimate {
    const m = Math.min(q.observed, Number(q.params.fitPoints ?? 200));
    const kernels = q.params.kernel === 'auto' ? GP_KERNELS.length : 1;
    return covarianceResources(q, Number(q.params.neighbours ?? 0), kernels * 80 * (m ** 3 / 3 + m * m) * 1e-9 + 0.05);
  },

  async prepare(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator> {
    const t0 = performance.now();
    const log = Boolean(params.log);
    const raw = trainingValues && trainingValues.length > 0 ? trainingValues : [obs.values];
    checkObservations('gp', obs, raw);
    const sets = raw.map((v) => workingValues(v, log).z);
    const kernelParam = String(params.kernel ?? 'matern32');
    if (kernelParam !== 'auto' && !GP_KERNELS.includes(kernelParam as GpKernel)) throw new UserError(`gp: unknown kernel "${kernelParam}"`);
    const kernels = kernelParam === 'auto' ? GP_KERNELS : [kernelParam as GpKernel];
    const l = Number(params.lengthScale ?? 0);
    const sv = Number(params.variance ?? 0);
    const fit = await fitGp(
      obs.x,
      obs.y,
      sets,
      {
        kernels,
        lengthScale: l > 0 ? l : undefined,
        signalVariance: sv > 0 ? sv : undefined,
        noiseVariance: autoOrNumber('gp', 'noise', params.noise ?? 'auto'),
        fitPoints: Number(params.fitPoints ?? 200),
      },
      ctx,
    );
    const n = obs.x.length;
    const neighbours = resolveNeighbours(Number(params.neighbours ?? 0), n, obs.grid.width * obs.grid.height);
    const pred = gpPredictor(obs.x, obs.y, fit.chosen, neighbours);
    // the factorization belongs to prepare; the per-cell variance pass runs (once) at the first predict,
    // so that cross-validation through predictHeldOut does not pay for a map it never draws
    if (pred.global) pred.system();
    const diagnostics: Record<string, unknown> = {
      kernel: fit.chosen.kernel,
      lengthScale: fit.chosen.lengthScale,
      signalVariance: fit.chosen.signalVariance,
      noiseVariance: fit.chosen.noiseVariance,
      candidates: fit.candidates,
      fitSites: fit.fitSites,
      fitSteps: fit.fitSteps,
      note: fit.note,
      scale: log ? 'log' : 'linear',
      neighbourhood: pred.global ? 'global' : `${neighbours} nearest`,
      sites: n,
      jitter: pred.maxJitter,
      fitSeconds: (performance.now() - t0) / 1000,
    };
    return preparedCovariance('gp', obs, pred, log, diagnostics);
  },
};
