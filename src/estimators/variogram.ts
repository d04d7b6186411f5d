// Variograms: the empirical semivariogram of scattered data, the covariance models used by kriging and the
// GP, and a weighted-least-squares fit of a model to the empirical variogram.
//
// Model parametrisation (h = distance, a = range/scale parameter, c0 = nugget, c1 = partial sill):
//   γ(h) = c0·[h > 0] + c1·(1 − ρ(h))      C(h) = c1·ρ(h) + c0·[h = 0]      (sill = c0 + c1)
//   spherical    ρ = 1 − 1.5 h/a + 0.5 (h/a)³ for h < a, else 0   (a = the range itself)
//   exponential  ρ = exp(−h/a)                                     (= Matérn ν = ½; 95 % of the sill at ≈ 3a)
//   gaussian     ρ = exp(−(h/a)²)                                  (95 % at ≈ 1.73a)
//   matern15     ρ = (1 + √3 h/a)·exp(−√3 h/a)                     (Matérn ν = 3/2, Rasmussen & Williams form)
//   matern25     ρ = (1 + √5 h/a + 5h²/3a²)·exp(−√5 h/a)           (Matérn ν = 5/2)
// Diagnostics also report the "effective range": the distance where ρ falls to 0.05, comparable across models.
//
// Empirical variogram: equal-width lags up to maxLag (default half of the largest site distance, the usual
// rule of thumb: beyond it few pairs span the whole area and estimates are unreliable). Matheron's estimator
// γ̂(h) = Σ(zi − zj)²/(2N_h), or Cressie–Hawkins' robust one γ̄(h) = (mean |zi − zj|^½)⁴ / (0.914 + 0.988/N_h).
// The lag distance reported (and fitted) is the mean pair distance in the lag, not the lag centre.
// Time series: several value vectors (one per step) are pooled. Each step is divided by its own standard
// deviation so that every step weighs the same whatever its amplitude, and the pooled variogram is scaled back
// by the mean step variance (for a single step this is exactly the plain variogram).
//
// Fit: weighted least squares with Cressie's weights N_h/γ(h;θ)², i.e. minimise Σ N_h (γ̂_h/γ(h;θ) − 1)², or with
// the empirical ones N_h/γ̂_h² (Σ N_h (γ(h;θ)/γ̂_h − 1)²; see FitOptions.weighting),
// over θ = (log sill, log range, logit nugget share) by Nelder–Mead from several starts (the objective is not
// convex in the range). Lags with fewer than `minPairs` pairs are reported but not fitted.

import { nelderMead } from '../solvers/optimize.ts';
import { mulberry32, randomSubset } from '../util/random.ts';

export type VariogramModelName = 'spherical' | 'exponential' | 'gaussian' | 'matern15' | 'matern25';

export const MODEL_NAMES: VariogramModelName[] = ['spherical', 'exponential', 'gaussian', 'matern15', 'matern25'];

export interface VariogramModel {
  model: VariogramModelName;
  /** Nugget c0 (variance at distance 0+ not explained by spatial structure), units² of the target. */
  nugget: number;
  /** Partial sill c1. */
  psill: number;
  /** Range / scale parameter a, metres (see header for each model's meaning). */
  range: number;
}

const SQRT3 = Math.sqrt(3);
const SQRT5 = Math.sqrt(5);

/** Correlation function ρ(h) of a model with scale a (h ≥ 0). */
export function correlation(model: VariogramModelName, a: number): (h: number) => number {
  const inv = 1 / a;
  switch (model) {
    case 'spherical':
      return (h) => {
        const t = h * inv;
        return t >= 1 ? 0 : 1 - t * (1.5 - 0.5 * t * t);
      };
    case 'exponential':
      return (h) => Math.exp(-h * inv);
    case 'gaussian':
      return (h) => {
        const t = h * inv;
        return Math.exp(-t * t);
      };
    case 'matern15':
      return (h) => {
        const t = SQRT3 * h * inv;
        return (1 + t) * Math.exp(-t);
      };
    case 'matern25':
      return (h) => {
        const t = SQRT5 * h * inv;
        return (1 + t + (t * t) / 3) * Math.exp(-t);
      };
  }
}

/** Semivariance γ(h) of a model. */
export function semivariance(m: VariogramModel, h: number): number {
  if (h <= 0) return 0;
  return m.nugget + m.psill * (1 - correlation(m.model, m.range)(h));
}

/** Distance at which ρ falls to 0.05 (the "practical range"), by bisection. */
export function effectiveRange(model: VariogramModelName, a: number): number {
  if (model === 'spherical') return a * 0.8107; // 1 − 1.5t + 0.5t³ = 0.05 at t ≈ 0.8107
  const rho = correlation(model, a);
  let lo = 0;
  let hi = a;
  while (rho(hi) > 0.05) hi *= 2;
  for (let it = 0; it < 60; it++) {
    const mid = 0.5 * (lo + hi);
    if (rho(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

// ---------------------------------------------------------------------------------------------------------
// Empirical variogram

export interface EmpiricalVariogram {
  /** Mean pair distance in each lag, metres (lag centre when the lag has no pair). */
  h: number[];
  gamma: number[];
  pairs: number[];
  lagWidth: number;
  maxLag: number;
  estimator: 'matheron' | 'cressie';
  /** Number of value vectors (time steps) pooled, and how many had zero variance and were skipped. */
  steps: number;
  constantSteps: number;
  /** Mean variance of the pooled steps (the scale the pooled variogram was brought back to). */
  variance: number;
  /** Largest site-to-site distance. */
  maxDistance: number;
  /** Sites used (a random subset when there were more than `maxSites`). */
  sites: number;
}

export interface EmpiricalOptions {
  lags?: number;
  /** Largest lag distance; 0 or undefined = half of the largest site distance. */
  maxLag?: number;
  estimator?: 'matheron' | 'cressie';
  /** Sites used at most (random subset beyond; pairs grow as n²). Default 1500. */
  maxSites?: number;
  /** Steps used at most (evenly spaced beyond). Default 24. */
  maxSteps?: number;
}

// Deterministic PRNG: subsets and optimizer starts must not change from run to run (re-exported for bench/).
export { mulberry32 };

/** k distinct indices of 0..n-1 in increasing order (all of them when k ≥ n), deterministic. */
export function sampleIndices(n: number, k: number, seed = 1): Int32Array {
  return randomSubset(n, k, mulberry32(seed));
}

/**
 * Mean and sample variance of v at idx. A vector whose spread is at round-off level (max − min ≤ 1e-12 of its
 * magnitude) has variance exactly 0: the mean of equal values is not exactly representable, and the ~1e-31
 * "variance" it leaves would otherwise be standardized into huge values.
 */
export function meanVar(v: ArrayLike<number>, idx?: ArrayLike<number>): { mean: number; variance: number } {
  const n = idx ? idx.length : v.length;
  const at = (i: number) => (idx ? v[idx[i]] : v[i]);
  let m = 0;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = at(i);
    m += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  m /= Math.max(1, n);
  if (!(hi - lo > 1e-12 * Math.max(Math.abs(lo), Math.abs(hi)))) return { mean: m, variance: 0 };
  let s = 0;
  for (let i = 0; i < n; i++) s += (at(i) - m) ** 2;
  return { mean: m, variance: n > 1 ? s / (n - 1) : 0 };
}

export function empiricalVariogram(x: ArrayLike<number>, y: ArrayLike<number>, valueSets: ArrayLike<number>[], opts: EmpiricalOptions = {}): EmpiricalVariogram {
  const estimator = opts.estimator ?? 'matheron';
  const idx = sampleIndices(x.length, opts.maxSites ?? 1500, 11);
  const n = idx.length;
  let maxD2 = 0;
  for (let a = 0; a < n; a++) {
    const xa = x[idx[a]], ya = y[idx[a]];
    for (let b = 0; b < a; b++) {
      const dx = xa - x[idx[b]], dy = ya - y[idx[b]];
      const d2 = dx * dx + dy * dy;
      if (d2 > maxD2) maxD2 = d2;
    }
  }
  const maxDistance = Math.sqrt(maxD2);
  const nLags = Math.max(1, Math.floor(opts.lags ?? 15));
  const maxLag = opts.maxLag && opts.maxLag > 0 ? opts.maxLag : maxDistance / 2;
  const width = maxLag > 0 ? maxLag / nLags : 1;

  // steps: evenly spaced subset, each standardized
  const maxSteps = opts.maxSteps ?? 24;
  const stepIdx: number[] = [];
  if (valueSets.length <= maxSteps) for (let t = 0; t < valueSets.length; t++) stepIdx.push(t);
  else for (let k = 0; k < maxSteps; k++) stepIdx.push(Math.round((k * (valueSets.length - 1)) / (maxSteps - 1)));
  const scaled: Float64Array[] = [];
  let varSum = 0;
  let constantSteps = 0;
  for (const t of stepIdx) {
    const v = valueSets[t];
    const { variance } = meanVar(v, idx);
    if (!(variance > 0) || !Number.isFinite(variance)) {
      constantSteps++;
      continue;
    }
    const sd = Math.sqrt(variance);
    const z = new Float64Array(n);
    for (let a = 0; a < n; a++) z[a] = v[idx[a]] / sd;
    scaled.push(z);
    varSum += variance;
  }
  const variance = scaled.length > 0 ? varSum / scaled.length : 0;

  const sumD = new Float64Array(nLags);
  const cnt = new Float64Array(nLags);
  const acc = new Float64Array(nLags);
  for (let a = 0; a < n; a++) {
    const xa = x[idx[a]], ya = y[idx[a]];
    for (let b = 0; b < a; b++) {
      const dx = xa - x[idx[b]], dy = ya - y[idx[b]];
      const d = Math.sqrt(dx * dx + dy * dy);
      if (d > maxLag) continue;
      const l = Math.min(nLags - 1, Math.floor(d / width));
      sumD[l] += d;
      cnt[l] += 1;
      for (const z of scaled) {
        const diff = z[a] - z[b];
        acc[l] += estimator === 'matheron' ? diff * diff : Math.sqrt(Math.abs(diff));
      }
    }
  }
  const h: number[] = [];
  const gamma: number[] = [];
  const pairs: number[] = [];
  const T = scaled.length;
  for (let l = 0; l < nLags; l++) {
    const N = cnt[l];
    pairs.push(N);
    h.push(N > 0 ? sumD[l] / N : (l + 0.5) * width);
    if (N === 0 || T === 0) {
      gamma.push(T === 0 && N > 0 ? 0 : NaN);
      continue;
    }
    const NT = N * T;
    const g =
      estimator === 'matheron' ? acc[l] / (2 * NT) : (acc[l] / NT) ** 4 / (0.914 + 0.988 / NT);
    gamma.push(g * variance);
  }
  return { h, gamma, pairs, lagWidth: width, maxLag, estimator, steps: stepIdx.length, constantSteps, variance, maxDistance, sites: n };
}

// ---------------------------------------------------------------------------------------------------------
// Weighted least-squares fit

export interface FitOptions {
  /** Fixed nugget (same units as γ); undefined = fitted. */
  nugget?: number;
  /** Fixed range / scale parameter a; undefined = fitted. */
  range?: number;
  /** Fixed partial sill; undefined = fitted. */
  psill?: number;
  /** Lags with fewer pairs are not fitted (default 6, lowered when the data are few). */
  minPairs?: number;
  /**
   * 'cressie' (default): weights N_h/γ(h;θ)², Cressie (1985). 'empirical': N_h/γ̂_h², the same relative error
   * measured against the data; it cannot be gamed by overshooting the short lags with a large nugget (the
   * Cressie term is bounded by N_h when γ ≫ γ̂), at the price of trusting the noisy first lags more.
   */
  weighting?: 'cressie' | 'empirical';
}

export interface VariogramFit {
  model: VariogramModel;
  /** Cressie WLS objective Σ N_h (γ̂/γ − 1)² at the optimum. */
  objective: number;
  effectiveRange: number;
  lagsUsed: number;
  /** True when there were too few lags to fit and a default model was used. */
  fallback: boolean;
  weighting: 'cressie' | 'empirical';
}

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const logit = (p: number) => Math.log(p / (1 - p));

/**
 * Fit one model family by WLS (Cressie weights) with multi-start Nelder–Mead on log-parameters; any of
 * nugget, partial sill and range may be fixed. With fewer than 3 usable lags (a handful of sensors),
 * returns a documented fallback: nugget 0 (or the fixed one), sill = sample variance, and a scale such
 * that the effective range is half the largest distance (fixed values are kept).
 */
export function fitVariogram(emp: EmpiricalVariogram, model: VariogramModelName, opts: FitOptions = {}): VariogramFit {
  const totalPairs = emp.pairs.reduce((a, b) => a + b, 0);
  const minPairs = opts.minPairs ?? Math.max(1, Math.min(6, Math.floor(totalPairs / (4 * emp.pairs.length))));
  const use: number[] = [];
  const weighting = opts.weighting ?? 'cressie';
  // lags with γ̂ = 0 cannot carry the empirical weights N_h/γ̂²
  for (let l = 0; l < emp.h.length; l++) {
    if (emp.pairs[l] >= minPairs && Number.isFinite(emp.gamma[l]) && (weighting === 'cressie' || emp.gamma[l] > 0)) use.push(l);
  }
  const hs = use.map((l) => emp.h[l]);
  const gs = use.map((l) => emp.gamma[l]);
  const ns = use.map((l) => emp.pairs[l]);
  const fN = opts.nugget;
  const fP = opts.psill;
  const fA = opts.range;
  const scale = Math.max(emp.variance, ...gs.filter((g) => g > 0), 0);
  const unitRange = effectiveRange(model, 1); // effective range of a = 1

  const fallback = (): VariogramFit => {
    const sill = scale > 0 ? scale : 0;
    const nugget = fN !== undefined ? fN : 0;
    const psill = fP !== undefined ? fP : Math.max(sill - nugget, 0);
    const range = fA !== undefined ? fA : Math.max(emp.maxDistance / 2, 1e-9) / unitRange;
    const m: VariogramModel = { model, nugget, psill, range };
    return { model: m, objective: NaN, effectiveRange: effectiveRange(model, range), lagsUsed: use.length, fallback: true, weighting };
  };
  if (use.length < 3 || !(scale > 0) || !gs.some((g) => g > 0)) return fallback();

  // free parameters: [sill part...] [log a]
  //   nugget and psill free: log sill, logit(nugget share); one free: its log; none: nothing
  const aMin = (emp.lagWidth * 0.05) / unitRange;
  const aMax = (emp.maxDistance * 10) / unitRange;
  const sillDims = fN === undefined && fP === undefined ? 2 : fN === undefined || fP === undefined ? 1 : 0;
  const dims = sillDims + (fA === undefined ? 1 : 0);
  const decode = (t: number[]): VariogramModel => {
    let nugget: number, psill: number;
    if (sillDims === 2) {
      const sill = Math.exp(t[0]);
      const r = sigmoid(t[1]);
      nugget = sill * r;
      psill = sill * (1 - r);
    } else if (sillDims === 1) {
      nugget = fN !== undefined ? fN : Math.exp(t[0]);
      psill = fP !== undefined ? fP : Math.exp(t[0]);
    } else {
      nugget = fN!;
      psill = fP!;
    }
    const range = fA !== undefined ? fA : Math.exp(t[sillDims]);
    return { model, nugget, psill, range };
  };
  const objective = (m: VariogramModel): number => {
    if (fA === undefined && !(m.range >= aMin && m.range <= aMax)) return Infinity;
    const rho = correlation(model, m.range);
    let s = 0;
    for (let k = 0; k < hs.length; k++) {
      const g = m.nugget + m.psill * (1 - rho(hs[k]));
      if (!(g > 0)) return Infinity;
      const e = weighting === 'cressie' ? gs[k] / g - 1 : g / gs[k] - 1;
      s += ns[k] * e * e;
    }
    return s;
  };
  let best: { t: number[]; f: number } | null = null;
  if (dims === 0) best = { t: [], f: objective(decode([])) };
  else {
    const maxH = hs[hs.length - 1];
    for (const effFrac of fA === undefined ? [0.15, 0.4, 0.8, 1.5] : [0]) {
      for (const r of sillDims === 2 ? [0.02, 0.3] : [0.1]) {
        const t0: number[] = [];
        if (sillDims === 2) t0.push(Math.log(scale), logit(r));
        else if (sillDims === 1) t0.push(Math.log(fN !== undefined ? Math.max(scale - fN, scale * 0.05) : Math.max(scale * r, 1e-12)));
        if (fA === undefined) t0.push(Math.log((effFrac * maxH) / unitRange));
        const res = nelderMead((t) => objective(decode(t)), t0, { step: 0.7, maxEvaluations: 150 * dims });
        if (!best || res.f < best.f) best = { t: res.x, f: res.f };
      }
    }
  }
  if (!best || !Number.isFinite(best.f)) return fallback();
  let m = decode(best.t);
  let f = best.f;
  // a fitted nugget share below 0.5 % is indistinguishable from none: snap to 0 when it fits as well
  if (fN === undefined && m.nugget < 0.005 * (m.nugget + m.psill)) {
    const m0 = fP === undefined ? { ...m, psill: m.psill + m.nugget, nugget: 0 } : { ...m, nugget: 0 };
    const f0 = objective(m0);
    if (f0 <= f * 1.001 + 1e-12) {
      m = m0;
      f = f0;
    }
  }
  return { model: m, objective: f, effectiveRange: effectiveRange(model, m.range), lagsUsed: use.length, fallback: false, weighting };
}
