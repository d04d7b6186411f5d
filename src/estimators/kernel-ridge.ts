// Closed-form kernel ridge regression pieces shared by `cntk` (exact kernel, dual) and `cntk-sketch`
// (sketched kernel, dual or primal): the choice of λ by leave-one-out over the τ grid, and exact
// held-out predictions for any folds. Both work with any (K + λI)⁻¹ that can be applied for many λ
// cheaply (a tridiagonalisation, or a low-rank eigendecomposition).

import { UserError } from '../domain/errors.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import { cholesky, choleskyInverse, choleskySolve, type CholeskyFactor } from '../solvers/cholesky.ts';
import type { HeldOutPrediction } from './types.ts';

/** Ridge λ = τ·mean(diag K_OO): the τ values tried by leave-one-out (1e-7 … 10, 4 per decade). */
export const TAU_GRID: number[] = Array.from({ length: 33 }, (_, i) => 10 ** (-7 + i / 4));

/** K ← (K + Kᵀ)/2 in place (n×n row-major): kernel rows computed independently are symmetric only to rounding. */
export function symmetrize(K: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (K[i * n + j] + K[j * n + i]);
      K[i * n + j] = v;
      K[j * n + i] = v;
    }
  }
  return K;
}

/** (K + λI)⁻¹ for any λ > 0 (tridiag.ts ShiftedSolver, cntk-sketch LowRankShifted). */
export interface ShiftedSolve {
  readonly n: number;
  /** y in the solver's basis, reused for every λ by solveProjected. */
  project(y: ArrayLike<number>): Float64Array;
  solveProjected(u: Float64Array, lambda: number): Float64Array;
  solve(y: ArrayLike<number>, lambda: number): Float64Array;
  inverseDiag(lambda: number): Float64Array;
  inverseBlock(lambda: number, F: ArrayLike<number>): Float64Array;
}

export interface LooCurvePoint {
  tau: number;
  /** RMS of the leave-one-out residuals (standardized units), pooled over the value vectors. */
  rmse: number;
}

/**
 * Choose τ (λ = τ·scale) minimising the pooled closed-form leave-one-out error: the LOO residual of
 * cell i is [(K+λI)⁻¹y]_i / [(K+λI)⁻¹]_ii. A λ at which the solver is numerically indefinite counts
 * as infinitely bad; if every λ is, the largest is returned.
 */
export function chooseLambda(solver: ShiftedSolve, scale: number, ys: Float64Array[]): { tau: number; curve: LooCurvePoint[]; atBound: boolean } {
  const us = ys.map((y) => solver.project(y));
  const curve: LooCurvePoint[] = [];
  let best = -1;
  for (let t = 0; t < TAU_GRID.length; t++) {
    const lambda = TAU_GRID[t] * scale;
    let rmse = Infinity;
    try {
      const diag = solver.inverseDiag(lambda);
      let ss = 0;
      let cnt = 0;
      for (const u of us) {
        const a = solver.solveProjected(u, lambda);
        for (let i = 0; i < a.length; i++) {
          const r = a[i] / diag[i];
          ss += r * r;
          cnt++;
        }
      }
      rmse = Math.sqrt(ss / cnt);
      if (!Number.isFinite(rmse)) rmse = Infinity;
    } catch {
      rmse = Infinity; // numerically indefinite at this λ
    }
    curve.push({ tau: TAU_GRID[t], rmse });
    if (best < 0 || rmse < curve[best].rmse) best = t;
  }
  if (best < 0 || !Number.isFinite(curve[best].rmse)) best = TAU_GRID.length - 1;
  return { tau: TAU_GRID[best], curve, atBound: best === 0 || best === TAU_GRID.length - 1 };
}

export type Target = 'standardize' | 'raw';

/** standardize: (v − mean)/sd, the network having no intercept; raw: the values as they are. */
export function standardize(v: ArrayLike<number>, target: Target): { y: Float64Array; shift: number; scale: number } {
  const n = v.length;
  if (target === 'raw' || n === 0) return { y: Float64Array.from(v), shift: 0, scale: 1 };
  let m = 0;
  for (let i = 0; i < n; i++) m += v[i];
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i] - m) ** 2;
  const sd = n > 1 && ss > 0 ? Math.sqrt(ss / (n - 1)) : 1;
  return { y: Float64Array.from(v, (x) => (x - m) / sd), shift: m, scale: sd };
}

/** GP maximum-likelihood scale of standardized values y ~ N(0, s²·G), G = LLᵀ (L = chol): s² = yᵀG⁻¹y / n. */
export function mlScale(chol: CholeskyFactor, y: Float64Array): number {
  const n = y.length;
  const x = choleskySolve(chol, y);
  let s = 0;
  for (let i = 0; i < n; i++) s += y[i] * x[i];
  return n > 0 ? s / n : 1;
}

/** What the held-out predictor needs from a prepared kernel ridge model. */
export interface HeldOutModel {
  /** Estimator id, for error messages. */
  method: string;
  solver: ShiftedSolve;
  lambda: number;
  target: Target;
  /** Cholesky factor of Σ_OO + λ'I for held-out variances (NNGP posterior); null for none. */
  nngp: CholeskyFactor | null;
}

/**
 * predictHeldOut for a kernel ridge model: held-out predictions for every fold, exactly equal to refitting
 * on the other cells with the same λ. With M = (K+λI)⁻¹, α_y = M y and α_1 = M 1, fold F gets
 * y_F − (M_FF)⁻¹ (α_y − m_T α_1)_F, m_T the training mean (re-centring included). Variance of a held-out
 * observation: s²·diag(((G⁻¹)_FF)⁻¹), G = Σ_OO + λ'I (G⁻¹ computed once, on first use).
 */
export function heldOutPredictor(m: HeldOutModel): (values: Float64Array, folds: Int32Array[], hctx: RunContext) => Promise<HeldOutPrediction> {
  let gInv: Float64Array | null = null;
  return (values, folds, hctx) => {
    if (m.nngp) gInv ??= choleskyInverse(m.nngp);
    return heldOut(m, gInv, values, folds, hctx);
  };
}

async function heldOut(m: HeldOutModel, gInv: Float64Array | null, values: Float64Array, folds: Int32Array[], hctx: RunContext): Promise<HeldOutPrediction> {
  const { solver, lambda } = m;
  const n = solver.n;
  if (values.length !== n) throw new UserError(`${m.method}: ${values.length} values for ${n} observed cells`);
  const st = standardize(values, m.target);
  const y = st.y;
  const alphaY = solver.solve(y, lambda);
  const alpha1 = m.target === 'standardize' ? solver.solve(new Float64Array(n).fill(1), lambda) : null;
  const loDiag = folds.every((f) => f.length === 1) ? solver.inverseDiag(lambda) : null;
  const s2 = gInv && m.nngp ? mlScale(m.nngp, y) : 0;
  let sumY = 0;
  for (let i = 0; i < n; i++) sumY += y[i];
  const mean = new Float64Array(n).fill(NaN);
  const variance = gInv ? new Float64Array(n).fill(NaN) : undefined;
  let last = performance.now();
  for (let fi = 0; fi < folds.length; fi++) {
    const F = folds[fi];
    const mF = F.length;
    if (mF === 0 || mF >= n) continue;
    let sF = 0;
    for (const i of F) sF += y[i];
    const mT = alpha1 ? (sumY - sF) / (n - mF) : 0;
    const rhs = new Float64Array(mF);
    for (let a = 0; a < mF; a++) rhs[a] = alphaY[F[a]] - (alpha1 ? mT * alpha1[F[a]] : 0);
    const r = loDiag ? Float64Array.of(rhs[0] / loDiag[F[0]]) : choleskySolve(cholesky(solver.inverseBlock(lambda, F), mF), rhs);
    for (let a = 0; a < mF; a++) mean[F[a]] = st.shift + st.scale * (y[F[a]] - r[a]);
    if (variance && gInv) {
      const B = new Float64Array(mF * mF);
      for (let a = 0; a < mF; a++) for (let b = 0; b < mF; b++) B[a * mF + b] = gInv[F[a] * n + F[b]];
      const Binv = choleskyInverse(cholesky(B, mF));
      for (let a = 0; a < mF; a++) variance[F[a]] = s2 * st.scale * st.scale * Binv[a * mF + a];
    }
    if (performance.now() - last > 40) {
      last = performance.now();
      throwIfCancelled(hctx.signal);
      hctx.onProgress?.({ stage: 'held-out', fraction: (fi + 1) / folds.length });
      await yieldToLoop();
    }
  }
  return { mean, variance };
}
