// Prediction-error metrics, in the layout of ArcGIS's cross-validation report.
//
//   error e_i = predicted_i − observed_i            (positive bias = the method over-predicts)
//   RMSE = √(mean e²), MAE = mean |e|, bias = mean e
//   R² = 1 − Σe² / Σ(observed − mean(observed))²    (can be negative: worse than predicting the mean)
// With a predictive variance σ²_i (ArcGIS "standardized" statistics):
//   z_i = e_i / σ_i; mean standardized error = mean z (≈ 0 when unbiased);
//   RMS standardized error = √(mean z²) (≈ 1 when the variance is right; > 1 = over-confident);
//   cover90 / cover95 = share of observed values inside the central 90 % / 95 % normal interval
//   predicted ± 1.6449σ / ± 1.9600σ (≈ 0.90 / 0.95 when calibrated).
// Pairs with a non-finite prediction or observation are skipped (n counts the pairs used); standardized
// statistics skip pairs whose variance is not positive and finite.

import type { CvMetrics } from '../domain/types.ts';

export const Z90 = 1.6448536269514722;
export const Z95 = 1.959963984540054;

export function computeMetrics(observed: ArrayLike<number>, predicted: ArrayLike<number>, variance?: ArrayLike<number> | null): CvMetrics {
  let n = 0;
  let sumE = 0, sumE2 = 0, sumAbs = 0, sumO = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i], p = predicted[i];
    if (!Number.isFinite(o) || !Number.isFinite(p)) continue;
    const e = p - o;
    n++;
    sumE += e;
    sumE2 += e * e;
    sumAbs += Math.abs(e);
    sumO += o;
  }
  if (n === 0) return { n: 0, rmse: NaN, mae: NaN, bias: NaN, r2: NaN };
  const meanO = sumO / n;
  let ssTot = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i], p = predicted[i];
    if (!Number.isFinite(o) || !Number.isFinite(p)) continue;
    ssTot += (o - meanO) ** 2;
  }
  const out: CvMetrics = {
    n,
    rmse: Math.sqrt(sumE2 / n),
    mae: sumAbs / n,
    bias: sumE / n,
    // a constant field has no variance to explain: R² is undefined (NaN), not 1 or −∞
    r2: ssTot > 0 ? 1 - sumE2 / ssTot : NaN,
  };
  if (variance) {
    let m = 0, sz = 0, sz2 = 0, in90 = 0, in95 = 0;
    for (let i = 0; i < observed.length; i++) {
      const o = observed[i], p = predicted[i], v = variance[i];
      if (!Number.isFinite(o) || !Number.isFinite(p) || !(v > 0) || !Number.isFinite(v)) continue;
      const z = (p - o) / Math.sqrt(v);
      m++;
      sz += z;
      sz2 += z * z;
      if (Math.abs(z) <= Z90) in90++;
      if (Math.abs(z) <= Z95) in95++;
    }
    if (m > 0) {
      out.mse = sz / m;
      out.rmsse = Math.sqrt(sz2 / m);
      out.cover90 = in90 / m;
      out.cover95 = in95 / m;
    }
  }
  return out;
}

/** Min / mean / max of the finite values of a raster. */
export function rasterStats(values: ArrayLike<number>): { min: number; max: number; mean: number; finite: number; negative: number } {
  let min = Infinity, max = -Infinity, sum = 0, finite = 0, negative = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    finite++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v < 0) negative++;
  }
  return finite ? { min, max, mean: sum / finite, finite, negative } : { min: NaN, max: NaN, mean: NaN, finite: 0, negative: 0 };
}
