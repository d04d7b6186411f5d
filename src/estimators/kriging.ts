// Ordinary kriging with an automatically fitted variogram, and the covariance-based linear predictor it
// shares with the GP estimator (gp.ts: a GP posterior mean is simple kriging).
//
// Covariance form. With C(h) = c1·ρ(h) (+ c0 at h = 0) the ordinary-kriging (OK) system
//     [C  1] [w]   [c*]
//     [1ᵀ 0] [μ] = [1 ]
// is solved through one Cholesky factor C = L·Lᵀ (Schur complement on the constraint): with u = C⁻¹1,
// s = 1ᵀu, q = L⁻¹1, v = L⁻¹c*:
//     mean   Z*  = m̂ + c*ᵀβ,  m̂ = uᵀz/s (GLS mean), β = C⁻¹(z − m̂1)   (identical to Σ wᵢzᵢ with Σ wᵢ = 1)
//     var    σ²  = C₀ − vᵀv + (1 − qᵀv)²/s
//     Lagrange m = (1 − qᵀv)/s   (Cressie's sign: σ² = C₀ − wᵀc* + m)
// Simple kriging (the GP) uses the training mean m̂ = z̄ and σ² = C₀ − vᵀv.
//
// Nugget. `exact`: the nugget is micro-scale variation, C(0) = c0 + c1 at the data, so the map reproduces
// every observation (a jump at the observed cell when c0 > 0). Not exact (default): the nugget is
// measurement error and is filtered: the map estimates the noise-free signal, smooth through the data, and
// its variance is that of the signal (C₀ = c1). Without nugget both are the same exact interpolator.
//
// Neighbourhood. Global kriging (all sites) factors C once; the mean costs n per cell, but the variance costs
// n²/2 per cell (one triangular solve), so for many sites the default switches to a moving neighbourhood of
// the k nearest sites (local OK per cell, the gstat/ArcGIS practice), with the local factorization reused
// while consecutive cells share their neighbour set. `neighbours` = 0 picks automatically (global up to
// GLOBAL_MAX_SITES sites), a value ≥ n forces global.
//
// Leave-out in closed form (Dubrule 1983). With A = inverse of the whole OK matrix, the prediction error of
// held-out sites F from all others is e_F = (A_FF)⁻¹·(A[z;0])_F and its covariance (A_FF)⁻¹, where
// A_FF = (C⁻¹)_FF − u_F u_Fᵀ/s and A[z;0] = β. The Lagrange multipliers of the leave-out systems are
// (A_FF)⁻¹ u_F/s. For simple kriging A = C⁻¹ and the training mean of each fold is used. The variogram is
// not refitted per fold (as gstat's krige.cv). For the local neighbourhood, each held-out site is kriged
// from its k nearest training sites.
//
// Log transform (lognormal ordinary kriging, Journel 1980; Cressie 1993 §3.2.2): kriging Y = ln Z gives Ŷ,
// σ²_Y and m; the back-transform  Ẑ = exp(Ŷ + σ²_Y/2 − m)  is unbiased under the lognormal model (the −m
// term corrects for the unknown mean; m = 0 at the data, so an exact map still honours the data).
// The variance reported is the lognormal one, Ẑ²·(exp(σ²_Y) − 1). Values ≤ 0 are replaced as in transform.ts.
//
// Time series: the variogram is fitted once per prepare on the pooled, per-step standardized values
// (variogram.ts) and its sill brought back to the mean step variance; the geometry-only work (factor,
// per-cell variance, local weights) is done once and each step costs one solve and one pass over the cells.

import { UserError } from '../domain/errors.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import type { Grid, Observations } from '../domain/types.ts';
import { cellCentres } from '../geo/grid.ts';
import {
  cholesky,
  choleskyBackwardInPlace,
  choleskyForward,
  choleskyForwardInPlace,
  choleskyForwardRows,
  choleskyInto,
  choleskyInverse,
  choleskyInverseDiag,
  choleskySolve,
  type CholeskyFactor,
} from '../solvers/cholesky.ts';
import { PointIndex } from '../geo/point-index.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import { logForward } from './transform.ts';
import type { Estimator, HeldOutPrediction, ParamSpec, ParamValues, PreparedEstimator, Prediction } from './types.ts';
import {
  correlation,
  effectiveRange,
  empiricalVariogram,
  fitVariogram,
  sampleIndices,
  type EmpiricalVariogram,
  type VariogramFit,
  type VariogramModel,
  type VariogramModelName,
} from './variogram.ts';

/** Global kriging up to this many sites when `neighbours` = 0 (auto); above it, the k nearest. */
export const GLOBAL_MAX_SITES = 400;
/** Neighbours used by the automatic moving neighbourhood. */
export const AUTO_NEIGHBOURS = 48;
/** Cells × neighbours up to which local weights are kept between time steps (×12 bytes). */
const LOCAL_CACHE_ENTRIES = 16_000_000;
/** Sites up to which the moving neighbourhood keeps the full site-to-site covariance matrix (8·n² bytes). */
const SITE_COV_MAX = 3000;
/** Cells × sites up to which the global predictor keeps the cell-to-site covariances (×8 bytes: 64 MB). */
const CROSS_CACHE_ENTRIES = 8_000_000;
/** Cells per block in the global variance pass (one multi-RHS triangular solve per block). */
const CELL_BLOCK = 256;

// ---------------------------------------------------------------------------------------------------------
// The covariance-based linear predictor (ordinary or simple kriging, global or local)

export interface CovarianceSpec {
  model: VariogramModelName;
  range: number;
  /** Partial sill c1 (signal variance). */
  psill: number;
  /** Nugget c0 (measurement error or micro-scale variance). */
  nugget: number;
}

export interface PredictorOptions {
  /** 'ordinary': unknown constant mean (Lagrange constraint); 'simple': mean = training mean. */
  mean: 'ordinary' | 'simple';
  /** Nugget counted at distance 0 between a target and a site (exact interpolation). */
  exact: boolean;
  /** 0 = global; k > 0 = the k nearest sites. */
  neighbours: number;
}

/** Per-target results on the working (possibly log) scale. */
export interface PointPredictions {
  mean: Float64Array;
  variance: Float64Array;
  /** OK Lagrange multiplier m (0 for simple kriging), for the lognormal back-transform. */
  lagrange: Float64Array;
}

/** Scratch buffers for local systems of up to k sites (no allocation per cell). */
interface Workspace {
  C: Float64Array;
  L: Float64Array;
  u: Float64Array;
  q: Float64Array;
  v: Float64Array;
  t: Float64Array;
}

function workspace(k: number): Workspace {
  return { C: new Float64Array(k * k), L: new Float64Array(k * k), u: new Float64Array(k), q: new Float64Array(k), v: new Float64Array(k), t: new Float64Array(k) };
}

interface LocalSystem {
  k: number;
  f: CholeskyFactor;
  u: Float64Array;
  s: number;
  q: Float64Array;
}

/**
 * Kriging / GP predictor over fixed sites with a fixed covariance. Geometry-only work is cached, so that
 * predicting for many value vectors (time steps, candidate checks) costs a solve each.
 */
export class CovariancePredictor {
  readonly n: number;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly rho: (h: number) => number;
  /** Distances at or below this are "the same place" (1e-9 of the data extent). */
  readonly eps: number;
  private sys: { f: CholeskyFactor; u: Float64Array; s: number; q: Float64Array } | null = null;
  private cellStats: { variance: Float64Array; lagrange: Float64Array } | null = null;
  private localCache: { idx: Int32Array; w: Float64Array; cnt: Int32Array; wsum: Float64Array; variance: Float64Array; lagrange: Float64Array } | null = null;
  private index: PointIndex | null = null;
  private siteCov: Float64Array | null | undefined = undefined;
  private cacheGrid: Grid | null = null;
  /** Cell-to-site covariances (P×n) of the global system, when within CROSS_CACHE_ENTRIES. */
  private crossCov: Float64Array | null = null;
  /** Largest jitter any factorization needed (diagnostics). */
  maxJitter = 0;

  constructor(x: ArrayLike<number>, y: ArrayLike<number>, readonly cov: CovarianceSpec, readonly opts: PredictorOptions) {
    this.n = x.length;
    if (this.n === 0) throw new Error('kriging: no sites');
    if (!(cov.psill >= 0 && cov.nugget >= 0 && cov.range > 0) || !Number.isFinite(cov.psill + cov.nugget + cov.range)) {
      throw new Error(`kriging: invalid covariance (partial sill ${cov.psill}, nugget ${cov.nugget}, range ${cov.range})`);
    }
    this.x = Float64Array.from(x);
    this.y = Float64Array.from(y);
    this.rho = correlation(cov.model, cov.range);
    let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    for (let i = 0; i < this.n; i++) {
      xmin = Math.min(xmin, this.x[i]); xmax = Math.max(xmax, this.x[i]);
      ymin = Math.min(ymin, this.y[i]); ymax = Math.max(ymax, this.y[i]);
    }
    this.eps = 1e-9 * Math.max(xmax - xmin, ymax - ymin, 1);
  }

  get global(): boolean {
    return this.opts.neighbours <= 0 || this.opts.neighbours >= this.n;
  }

  /** Covariance between two different observations / an observation and a target at distance d. */
  private covAt(d: number): number {
    if (d <= this.eps) return this.opts.exact ? this.cov.psill + this.cov.nugget : this.cov.psill;
    return this.cov.psill * this.rho(d);
  }

  /** Variance of the mapped quantity at a target: the signal alone when the nugget is filtered. */
  get targetVariance(): number {
    return this.opts.exact ? this.cov.psill + this.cov.nugget : this.cov.psill;
  }

  /**
   * Site-to-site covariances for the moving neighbourhood (built once when n ≤ SITE_COV_MAX): every cell's
   * local system is then assembled by look-up instead of k²/2 distance and exp evaluations.
   */
  private siteCovariances(): Float64Array | null {
    if (this.siteCov === undefined) {
      const n = this.n;
      if (n > SITE_COV_MAX || this.global) this.siteCov = null;
      else {
        const all = Int32Array.from({ length: n }, (_, i) => i);
        this.siteCov = this.buildC(all, n, false);
      }
    }
    return this.siteCov;
  }

  private buildC(sites: ArrayLike<number>, k: number, useCache = true, out?: Float64Array): Float64Array {
    const C = out ? out.subarray(0, k * k) : new Float64Array(k * k);
    const diag = this.cov.psill + this.cov.nugget;
    const S = useCache ? this.siteCovariances() : null;
    const n = this.n;
    for (let a = 0; a < k; a++) {
      const ia = sites[a];
      const xa = this.x[ia], ya = this.y[ia];
      C[a * k + a] = diag;
      for (let b = 0; b < a; b++) {
        const ib = sites[b];
        const c = S ? S[ia * n + ib] : this.covAt(dist(xa - this.x[ib], ya - this.y[ib]));
        C[a * k + b] = c;
        C[b * k + a] = c;
      }
    }
    return C;
  }

  /** Factor a local system into the workspace (valid until the next call with the same workspace). */
  private factorLocal(sites: Int32Array, k: number, ws: Workspace): LocalSystem {
    const C = this.buildC(sites, k, true, ws.C);
    const f = choleskyInto(C, k, ws.L);
    if (f.jitter > this.maxJitter) this.maxJitter = f.jitter;
    const u = ws.u, q = ws.q;
    for (let i = 0; i < k; i++) q[i] = 1;
    choleskyForwardInPlace(f, q);
    for (let i = 0; i < k; i++) u[i] = q[i];
    choleskyBackwardInPlace(f, u);
    let s = 0;
    for (let i = 0; i < k; i++) s += u[i];
    return { k, f, u, s, q };
  }

  private factor(C: Float64Array, k: number): LocalSystem {
    const f = cholesky(C, k);
    if (f.jitter > this.maxJitter) this.maxJitter = f.jitter;
    const ones = new Float64Array(k).fill(1);
    const u = choleskySolve(f, ones);
    let s = 0;
    for (let i = 0; i < k; i++) s += u[i];
    const q = choleskyForward(f, ones);
    return { k, f, u, s, q };
  }

  /** The global system: factor of C, u = C⁻¹1, s, q = L⁻¹1. */
  system(): { f: CholeskyFactor; u: Float64Array; s: number; q: Float64Array } {
    if (!this.sys) {
      const all = Int32Array.from({ length: this.n }, (_, i) => i);
      this.sys = this.factor(this.buildC(all, this.n), this.n);
    }
    return this.sys;
  }

  private pointIndex(): PointIndex {
    if (!this.index) this.index = new PointIndex(this.x, this.y);
    return this.index;
  }

  /** Mean m̂ and β = C⁻¹(z − m̂1) of the global system for one value vector. */
  private globalWeights(z: Float64Array): { m: number; beta: Float64Array } {
    const { f, u, s } = this.system();
    let m = 0;
    if (this.opts.mean === 'ordinary') {
      for (let i = 0; i < this.n; i++) m += u[i] * z[i];
      m /= s;
    } else {
      for (let i = 0; i < this.n; i++) m += z[i];
      m /= this.n;
    }
    const r = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) r[i] = z[i] - m;
    return { m, beta: choleskySolve(f, r) };
  }

  /**
   * Variance and Lagrange multiplier at every grid cell (geometry only; computed once, then cached).
   * Global: one multi-RHS triangular solve per block of cells. Local: the per-cell neighbourhood solves.
   */
  async gridStats(grid: Grid, ctx: RunContext = {}): Promise<{ variance: Float64Array; lagrange: Float64Array }> {
    this.useGrid(grid);
    if (this.global) {
      if (!this.cellStats) this.cellStats = await this.globalCellStats(grid, ctx);
      return this.cellStats;
    }
    const cache = await this.localGrid(grid, null, ctx);
    return { variance: cache.variance, lagrange: cache.lagrange };
  }

  private async globalCellStats(grid: Grid, ctx: RunContext): Promise<{ variance: Float64Array; lagrange: Float64Array }> {
    const { f, s, q } = this.system();
    const n = this.n;
    const { x: cx, y: cy } = cellCentres(grid);
    const P = cx.length;
    const variance = new Float64Array(P);
    const lagrange = new Float64Array(P);
    const C0 = this.targetVariance;
    const ordinary = this.opts.mean === 'ordinary';
    const B = new Float64Array(n * CELL_BLOCK);
    // keep the cell-to-site covariances when they fit: later time steps then cost one dot product per cell
    const cross = P * n <= CROSS_CACHE_ENTRIES ? new Float64Array(P * n) : null;
    this.crossCov = cross;
    let lastYield = performance.now();
    for (let p0 = 0; p0 < P; p0 += CELL_BLOCK) {
      const nb = Math.min(CELL_BLOCK, P - p0);
      // right-hand sides as rows: B[c][i] = cov(cell c, site i)
      for (let c = 0; c < nb; c++) {
        const tx = cx[p0 + c], ty = cy[p0 + c];
        const o = c * n;
        for (let i = 0; i < n; i++) B[o + i] = this.covAt(dist(tx - this.x[i], ty - this.y[i]));
      }
      if (cross) cross.set(B.subarray(0, n * nb), p0 * n);
      const V = choleskyForwardRows(f, B.subarray(0, n * nb), nb);
      const vv = new Float64Array(nb);
      const qv = new Float64Array(nb);
      for (let c = 0; c < nb; c++) {
        const o = c * n;
        let a = 0, b = 0;
        for (let i = 0; i < n; i++) {
          const v = V[o + i];
          a += v * v;
          b += q[i] * v;
        }
        vv[c] = a;
        qv[c] = b;
      }
      for (let c = 0; c < nb; c++) {
        if (ordinary) {
          const t = 1 - qv[c];
          variance[p0 + c] = Math.max(0, C0 - vv[c] + (t * t) / s);
          lagrange[p0 + c] = t / s;
        } else {
          variance[p0 + c] = Math.max(0, C0 - vv[c]);
        }
      }
      if (performance.now() - lastYield > 100) {
        ctx.onProgress?.({ stage: 'kriging variance', fraction: (p0 + nb) / P });
        await yieldToLoop();
        throwIfCancelled(ctx.signal);
        lastYield = performance.now();
      }
    }
    return { variance, lagrange };
  }

  /** Solve one local system for a target: weights into w (length k), returns [variance, lagrange, Σw]. */
  private localSolve(sys: LocalSystem, sites: Int32Array, tx: number, ty: number, C0: number, w: Float64Array, ws: Workspace): [number, number, number] {
    const k = sys.k;
    const v = ws.v, t = ws.t;
    for (let a = 0; a < k; a++) v[a] = this.covAt(dist(tx - this.x[sites[a]], ty - this.y[sites[a]]));
    choleskyForwardInPlace(sys.f, v); // v = L⁻¹c*
    let vv = 0, qv = 0;
    for (let a = 0; a < k; a++) {
      vv += v[a] * v[a];
      qv += sys.q[a] * v[a];
      t[a] = v[a];
    }
    choleskyBackwardInPlace(sys.f, t); // t = C⁻¹c*
    let wsum = 0;
    if (this.opts.mean === 'ordinary') {
      const mu = (qv - 1) / sys.s;
      for (let a = 0; a < k; a++) {
        w[a] = t[a] - sys.u[a] * mu;
        wsum += w[a];
      }
      const r = 1 - qv;
      return [Math.max(0, C0 - vv + (r * r) / sys.s), r / sys.s, wsum];
    }
    for (let a = 0; a < k; a++) {
      w[a] = t[a];
      wsum += t[a];
    }
    return [Math.max(0, C0 - vv), 0, wsum];
  }

  /**
   * Local neighbourhood over all cells: neighbour indices, weights, variance, Lagrange multiplier.
   * With `values`, also returns the mean per cell (used directly when the cache would be too large).
   */
  private async localGrid(grid: Grid, values: Float64Array | null, ctx: RunContext): Promise<NonNullable<CovariancePredictor['localCache']> & { mean?: Float64Array }> {
    if (this.localCache) {
      if (!values) return this.localCache;
      return { ...this.localCache, mean: this.applyLocal(this.localCache, values) };
    }
    const k = Math.min(this.opts.neighbours, this.n);
    const { x: cx, y: cy } = cellCentres(grid);
    const P = cx.length;
    const keep = P * k <= LOCAL_CACHE_ENTRIES;
    const idx = keep ? new Int32Array(P * k) : new Int32Array(0);
    const wAll = keep ? new Float64Array(P * k) : new Float64Array(0);
    const cnt = new Int32Array(P);
    const wsum = new Float64Array(P);
    const variance = new Float64Array(P);
    const lagrange = new Float64Array(P);
    const mean = values ? new Float64Array(P) : undefined;
    const zbar = values ? meanOf(values) : 0;
    const index = this.pointIndex();
    const slot = new Int32Array(k);
    const d2 = new Float64Array(k);
    // neighbour sets of the current and previous cell (swapped, sorted): equal sets reuse the factor
    let cur = new Int32Array(k);
    let prev = new Int32Array(k);
    let prevCount = -1;
    let sys: LocalSystem | null = null;
    const w = new Float64Array(k);
    const work = workspace(k);
    const C0 = this.targetVariance;
    let lastYield = performance.now();
    for (let p = 0; p < P; p++) {
      const m = index.search(cx[p], cy[p], k, Infinity, slot, d2);
      for (let a = 0; a < m; a++) cur[a] = index.order[slot[a]];
      const sites = cur.subarray(0, m).sort();
      if (!sys || m !== prevCount || !sameSet(sites, prev.subarray(0, m))) {
        sys = this.factorLocal(sites, m, work);
        const t = prev;
        prev = cur;
        cur = t;
        prevCount = m;
      }
      const [vr, lg, ws] = this.localSolve(sys, prev, cx[p], cy[p], C0, w, work);
      variance[p] = vr;
      lagrange[p] = lg;
      wsum[p] = ws;
      cnt[p] = m;
      if (keep) {
        for (let a = 0; a < m; a++) {
          idx[p * k + a] = prev[a];
          wAll[p * k + a] = w[a];
        }
      }
      if (mean && values) {
        let s = 0;
        if (this.opts.mean === 'ordinary') for (let a = 0; a < m; a++) s += w[a] * values[prev[a]];
        else {
          s = zbar;
          for (let a = 0; a < m; a++) s += w[a] * (values[prev[a]] - zbar);
        }
        mean[p] = s;
      }
      if ((p & 255) === 255 && performance.now() - lastYield > 100) {
        ctx.onProgress?.({ stage: 'kriging (local neighbourhoods)', fraction: (p + 1) / P });
        await yieldToLoop();
        throwIfCancelled(ctx.signal);
        lastYield = performance.now();
      }
    }
    const out = { idx, w: wAll, cnt, wsum, variance, lagrange };
    if (keep) this.localCache = out;
    return { ...out, mean };
  }

  private applyLocal(c: NonNullable<CovariancePredictor['localCache']>, values: Float64Array): Float64Array {
    const P = c.cnt.length;
    const k = Math.min(this.opts.neighbours, this.n);
    const out = new Float64Array(P);
    const zbar = meanOf(values);
    const ordinary = this.opts.mean === 'ordinary';
    for (let p = 0; p < P; p++) {
      const o = p * k;
      let s = 0;
      for (let a = 0; a < c.cnt[p]; a++) s += c.w[o + a] * values[c.idx[o + a]];
      out[p] = ordinary ? s : s + zbar * (1 - c.wsum[p]);
    }
    return out;
  }

  /** The per-cell caches belong to one grid: drop them when another grid is asked for. */
  private useGrid(grid: Grid): void {
    const g = this.cacheGrid;
    const same =
      g !== null &&
      g.width === grid.width &&
      g.height === grid.height &&
      g.bounds.xmin === grid.bounds.xmin &&
      g.bounds.xmax === grid.bounds.xmax &&
      g.bounds.ymin === grid.bounds.ymin &&
      g.bounds.ymax === grid.bounds.ymax;
    if (!same) {
      this.cellStats = null;
      this.localCache = null;
      this.crossCov = null;
      this.cacheGrid = { ...grid, bounds: { ...grid.bounds } };
    }
  }

  /** Prediction at every cell of a grid for one value vector (working scale). */
  async predictGrid(grid: Grid, values: Float64Array, ctx: RunContext = {}): Promise<PointPredictions> {
    if (values.length !== this.n) throw new Error(`kriging: ${values.length} values for ${this.n} sites`);
    throwIfCancelled(ctx.signal);
    this.useGrid(grid);
    if (!this.global) {
      const r = await this.localGrid(grid, values, ctx);
      return { mean: r.mean!, variance: r.variance, lagrange: r.lagrange };
    }
    const stats = await this.gridStats(grid, ctx);
    const { m, beta } = this.globalWeights(values);
    const { x: cx, y: cy } = cellCentres(grid);
    const P = cx.length;
    const n = this.n;
    const mean = new Float64Array(P);
    const cross = this.crossCov;
    let lastYield = performance.now();
    for (let p = 0; p < P; p++) {
      let s = m;
      if (cross) {
        const o = p * n;
        for (let i = 0; i < n; i++) s += beta[i] * cross[o + i];
      } else {
        const tx = cx[p], ty = cy[p];
        for (let i = 0; i < n; i++) s += beta[i] * this.covAt(dist(tx - this.x[i], ty - this.y[i]));
      }
      mean[p] = s;
      if ((p & 1023) === 1023 && performance.now() - lastYield > 100) {
        await yieldToLoop();
        throwIfCancelled(ctx.signal);
        lastYield = performance.now();
      }
    }
    return { mean, variance: stats.variance, lagrange: stats.lagrange };
  }

  /**
   * Prediction of the held-out observations of each fold from all other sites (see header). The variance is
   * that of the held-out measurement (nugget included), as cross-validation compares with measurements.
   */
  heldOut(values: Float64Array, folds: Int32Array[]): PointPredictions {
    const n = this.n;
    if (values.length !== n) throw new Error(`kriging: ${values.length} values for ${n} sites`);
    const mean = new Float64Array(n).fill(NaN);
    const variance = new Float64Array(n).fill(NaN);
    const lagrange = new Float64Array(n).fill(NaN);
    for (const F of folds) {
      if (F.length >= n) throw new UserError(`kriging: a cross-validation fold holds out all ${n} sites; nothing is left to predict from`);
    }
    if (this.global) this.heldOutGlobal(values, folds, mean, variance, lagrange);
    else this.heldOutLocal(values, folds, mean, variance, lagrange);
    return { mean, variance, lagrange };
  }

  private heldOutGlobal(z: Float64Array, folds: Int32Array[], mean: Float64Array, variance: Float64Array, lagrange: Float64Array): void {
    const n = this.n;
    const { f, u, s } = this.system();
    const ordinary = this.opts.mean === 'ordinary';
    const single = folds.every((F) => F.length <= 1);
    const invDiag = single ? choleskyInverseDiag(f) : null;
    const inv = single ? null : choleskyInverse(f);
    const Cz = choleskySolve(f, z);
    let zsum = 0;
    for (let i = 0; i < n; i++) zsum += z[i];
    let uz = 0;
    for (let i = 0; i < n; i++) uz += u[i] * z[i];
    for (const F of folds) {
      const k = F.length;
      if (k === 0) continue;
      // r = A·[z;0] restricted to F: OK: β = C⁻¹z − u·(uᵀz)/s; SK with the training mean m_F: C⁻¹z − m_F·u
      let mF = 0;
      if (!ordinary) {
        let held = 0;
        for (const i of F) held += z[i];
        mF = (zsum - held) / (n - k);
      }
      const A = new Float64Array(k * k);
      const r = new Float64Array(k);
      const uf = new Float64Array(k);
      for (let a = 0; a < k; a++) {
        const i = F[a];
        r[a] = ordinary ? Cz[i] - (u[i] * uz) / s : Cz[i] - mF * u[i];
        uf[a] = u[i] / s;
        for (let b = 0; b <= a; b++) {
          const j = F[b];
          let v = inv ? inv[i * n + j] : invDiag![i];
          if (ordinary) v -= (u[i] * u[j]) / s;
          A[a * k + b] = v;
          A[b * k + a] = v;
        }
      }
      const fa = cholesky(A, k);
      const e = choleskySolve(fa, r);
      const lg = ordinary ? choleskySolve(fa, uf) : new Float64Array(k);
      const dInv = k === 1 ? Float64Array.of(1 / fa.L[0] ** 2) : choleskyInverseDiag(fa);
      for (let a = 0; a < k; a++) {
        const i = F[a];
        mean[i] = z[i] - e[a];
        variance[i] = Math.max(0, dInv[a]);
        lagrange[i] = lg[a];
      }
    }
  }

  private heldOutLocal(z: Float64Array, folds: Int32Array[], mean: Float64Array, variance: Float64Array, lagrange: Float64Array): void {
    const n = this.n;
    const k = Math.min(this.opts.neighbours, n);
    const index = this.pointIndex();
    const excluded = new Uint8Array(n);
    const work = workspace(k);
    const w = new Float64Array(k);
    const C0 = this.cov.psill + this.cov.nugget; // a held-out measurement, nugget included
    let zsum = 0;
    for (let i = 0; i < n; i++) zsum += z[i];
    for (const F of folds) {
      for (const i of F) excluded[i] = 1;
      let held = 0;
      for (const i of F) held += z[i];
      const kk = Math.min(k, n - F.length);
      const zbar = (zsum - held) / (n - F.length);
      for (const i of F) {
        // k nearest training sites: widen the search until enough non-held-out sites are found
        let want = Math.min(n, kk + 8);
        let sites: number[] = [];
        for (;;) {
          const slot = new Int32Array(want);
          const d2 = new Float64Array(want);
          const m = index.search(this.x[i], this.y[i], want, Infinity, slot, d2);
          sites = [];
          for (let a = 0; a < m && sites.length < kk; a++) {
            const j = index.order[slot[a]];
            if (!excluded[j]) sites.push(j);
          }
          if (sites.length >= kk || want >= n) break;
          want = Math.min(n, want * 2);
        }
        const sIdx = Int32Array.from(sites).sort();
        const sys = this.factorLocal(sIdx, sIdx.length, work);
        const [vr, lg, ws] = this.localSolve(sys, sIdx, this.x[i], this.y[i], C0, w, work);
        let s = 0;
        for (let a = 0; a < sIdx.length; a++) s += w[a] * z[sIdx[a]];
        mean[i] = this.opts.mean === 'ordinary' ? s : s + zbar * (1 - ws);
        variance[i] = vr;
        lagrange[i] = lg;
      }
      for (const i of F) excluded[i] = 0;
    }
  }
}

/** Euclidean length (Math.hypot is several times slower in V8 and overflow is no concern at map scales). */
function dist(dx: number, dy: number): number {
  return Math.sqrt(dx * dx + dy * dy);
}

function meanOf(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return v.length > 0 ? s / v.length : 0;
}

function sameSet(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Largest n²/2 · cells (multiply-adds of the global variance pass) that `neighbours` = auto accepts. */
const GLOBAL_VARIANCE_BUDGET = 4e9;

/**
 * Neighbourhood size from the `neighbours` parameter (0 = global). Auto: global up to GLOBAL_MAX_SITES
 * sensors while the global variance pass (n²/2 per cell) stays within budget, and always for
 * ≤ 2·AUTO_NEIGHBOURS sensors (a local system would be nearly as large); else the AUTO_NEIGHBOURS nearest.
 */
export function resolveNeighbours(param: number, n: number, cells: number): number {
  if (param > 0) return param >= n ? 0 : param;
  if (n <= 2 * AUTO_NEIGHBOURS) return 0;
  return n <= GLOBAL_MAX_SITES && (n * n * cells) / 2 <= GLOBAL_VARIANCE_BUDGET ? 0 : AUTO_NEIGHBOURS;
}

/** Lognormal back-transform (see header): mean exp(Ŷ + σ²/2 − m), variance mean²·(exp(σ²) − 1). */
export function lognormalBack(p: PointPredictions): { mean: Float64Array; variance: Float64Array } {
  const n = p.mean.length;
  const mean = new Float64Array(n);
  const variance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s2 = Math.max(0, p.variance[i]);
    const z = Math.exp(p.mean[i] + s2 / 2 - p.lagrange[i]);
    mean[i] = z;
    variance[i] = z * z * Math.expm1(s2);
  }
  return { mean, variance };
}

/** Parse an "auto"-or-number parameter. */
export function autoOrNumber(method: string, name: string, v: unknown, min = 0): number | undefined {
  const s = String(v ?? 'auto').trim().toLowerCase();
  if (s === '' || s === 'auto') return undefined;
  const x = Number(s);
  if (!Number.isFinite(x) || x < min) throw new UserError(`${method}: parameter "${name}" must be "auto" or a number ≥ ${min} (got ${JSON.stringify(v)})`);
  return x;
}

// ---------------------------------------------------------------------------------------------------------
// Variogram selection by cross-validation

export interface CandidateReport {
  model: VariogramModelName;
  nugget: number;
  psill: number;
  range: number;
  effectiveRange: number;
  /** WLS objective of the fit (with its weighting). */
  wls: number;
  weighting: 'cressie' | 'empirical';
  /** Leave-one-out RMSE of ordinary kriging with this model (target units, working scale). */
  looRmse: number;
  /** Mean standardized squared LOO error (≈ 1 when the kriging variance is calibrated). */
  looMsse: number;
  fallback: boolean;
}

/** Sites used at most to score candidate models by leave-one-out (random subset beyond; O(n³) each). */
export const SELECT_MAX_SITES = 500;

/**
 * Leave-one-out RMSE (and mean standardized squared error) of global OK with a given model, pooled over up to
 * 4 value vectors, on at most SELECT_MAX_SITES sites.
 */
export function looScore(x: ArrayLike<number>, y: ArrayLike<number>, valueSets: ArrayLike<number>[], model: VariogramModel, exact: boolean): { rmse: number; msse: number } {
  const idx = sampleIndices(x.length, SELECT_MAX_SITES, 7);
  const n = idx.length;
  if (n < 3) return { rmse: NaN, msse: NaN };
  const xs = Float64Array.from(idx, (i) => x[i]);
  const ys = Float64Array.from(idx, (i) => y[i]);
  const pred = new CovariancePredictor(xs, ys, { model: model.model, range: model.range, psill: model.psill, nugget: model.nugget }, { mean: 'ordinary', exact, neighbours: 0 });
  const folds = Array.from({ length: n }, (_, i) => Int32Array.of(i));
  const steps = valueSets.length <= 4 ? valueSets.map((_, t) => t) : [0, 1, 2, 3].map((k) => Math.round((k * (valueSets.length - 1)) / 3));
  let se = 0, sse = 0, cnt = 0;
  for (const t of steps) {
    const z = Float64Array.from(idx, (i) => valueSets[t][i]);
    const h = pred.heldOut(z, folds);
    for (let i = 0; i < n; i++) {
      const e = z[i] - h.mean[i];
      se += e * e;
      sse += h.variance[i] > 0 ? (e * e) / h.variance[i] : 0;
      cnt++;
    }
  }
  return { rmse: Math.sqrt(se / cnt), msse: sse / cnt };
}

function sameFit(a: VariogramFit, b: VariogramFit): boolean {
  if (a.model.model !== b.model.model || a.fallback !== b.fallback) return false;
  const close = (u: number, v: number, scale: number) => Math.abs(u - v) <= 0.01 * scale;
  const sill = a.model.nugget + a.model.psill;
  return close(a.model.range, b.model.range, a.model.range) && close(a.model.psill, b.model.psill, sill) && close(a.model.nugget, b.model.nugget, sill);
}

export interface VariogramChoice {
  empirical: EmpiricalVariogram;
  candidates: CandidateReport[];
  chosen: VariogramModel;
  selection: string;
}

export interface VariogramSelectOptions {
  models: VariogramModelName[];
  nugget?: number;
  range?: number;
  psill?: number;
  lags: number;
  maxLag: number;
  estimator: 'matheron' | 'cressie';
  exact: boolean;
}

/** Empirical variogram, WLS fit of each candidate family, choice by leave-one-out kriging RMSE. */
export async function selectVariogram(x: ArrayLike<number>, y: ArrayLike<number>, valueSets: ArrayLike<number>[], o: VariogramSelectOptions, ctx: RunContext = {}): Promise<VariogramChoice> {
  const empirical = empiricalVariogram(x, y, valueSets, { lags: o.lags, maxLag: o.maxLag, estimator: o.estimator });
  // each family fitted with both weightings (variogram.ts); near-identical fits are scored once
  const fits: VariogramFit[] = [];
  for (const m of o.models) {
    for (const weighting of ['cressie', 'empirical'] as const) {
      const f = fitVariogram(empirical, m, { nugget: o.nugget, range: o.range, psill: o.psill, weighting });
      if (!fits.some((g) => sameFit(g, f))) fits.push(f);
    }
    throwIfCancelled(ctx.signal);
  }
  // with too few pairs to fit anything, every family falls back to the same default: keep one
  const allFallback = fits.every((f) => f.fallback);
  const scored = allFallback ? [fits.find((f) => f.model.model === 'exponential') ?? fits[0]] : fits.filter((f) => !f.fallback);
  const candidates: CandidateReport[] = [];
  for (let c = 0; c < scored.length; c++) {
    const f = scored[c];
    const score = scored.length > 1 ? looScore(x, y, valueSets, f.model, o.exact) : { rmse: NaN, msse: NaN };
    candidates.push({
      model: f.model.model,
      nugget: f.model.nugget,
      psill: f.model.psill,
      range: f.model.range,
      effectiveRange: f.effectiveRange,
      wls: f.objective,
      weighting: f.weighting,
      looRmse: score.rmse,
      looMsse: score.msse,
      fallback: f.fallback,
    });
    ctx.onProgress?.({ stage: 'variogram selection', fraction: (c + 1) / scored.length, message: f.model.model });
    await yieldToLoop();
    throwIfCancelled(ctx.signal);
  }
  let best = 0;
  for (let c = 1; c < candidates.length; c++) {
    const a = candidates[c].looRmse, b = candidates[best].looRmse;
    if (Number.isFinite(a) && (!Number.isFinite(b) || a < b)) best = c;
  }
  const selection =
    candidates.length === 1
      ? allFallback
        ? empirical.variance === 0
          ? 'constant values: sill 0, nothing to fit'
          : 'default model (too few sensor pairs to fit a variogram)'
        : 'single candidate'
      : 'lowest leave-one-out kriging RMSE';
  return { empirical, candidates, chosen: scored[best].model, selection };
}

// ---------------------------------------------------------------------------------------------------------
// The estimator

const MODEL_PARAM_CHOICES = ['auto', 'spherical', 'exponential', 'gaussian', 'matern'];

const PARAMS: ParamSpec[] = [
  {
    name: 'model',
    type: 'enum',
    default: 'auto',
    choices: MODEL_PARAM_CHOICES,
    help: 'Variogram model. auto: fit spherical, exponential, Gaussian and Matérn (ν = 1.5, 2.5) and keep the one with the lowest leave-one-out kriging error.',
  },
  {
    name: 'nu',
    type: 'enum',
    default: 'auto',
    choices: ['auto', '0.5', '1.5', '2.5'],
    help: 'Matérn smoothness ν when model=matern (0.5 = exponential); auto chooses by leave-one-out error.',
    advanced: true,
  },
  {
    name: 'nugget',
    type: 'string',
    default: 'auto',
    help: 'Nugget variance in (V/m)² (in (ln V/m)² with log=true): "auto" fits it, a number fixes it (0 = none).',
  },
  {
    name: 'range',
    type: 'number',
    default: 0,
    min: 0,
    help: 'Range / scale parameter of the variogram in metres (0 = fit). Fix together with sill and nugget to skip fitting.',
    advanced: true,
  },
  {
    name: 'sill',
    type: 'number',
    default: 0,
    min: 0,
    help: 'Partial sill (structured variance, without the nugget) in (V/m)² (0 = fit).',
    advanced: true,
  },
  {
    name: 'exact',
    type: 'boolean',
    default: false,
    help: 'Honour each observation exactly (nugget = micro-scale variation). Off: the nugget is treated as measurement error and filtered, giving a smooth map.',
  },
  {
    name: 'neighbours',
    type: 'integer',
    default: 0,
    min: 0,
    max: 100000,
    help: `Sensors used per cell: 0 = automatic (all sensors up to ${GLOBAL_MAX_SITES}, fewer on large grids; else the ${AUTO_NEIGHBOURS} nearest); a number ≥ the sensor count forces global kriging.`,
  },
  {
    name: 'lags',
    type: 'integer',
    default: 15,
    min: 3,
    max: 60,
    help: 'Number of distance classes of the empirical variogram (up to maxLag).',
    advanced: true,
  },
  {
    name: 'maxLag',
    type: 'number',
    default: 0,
    min: 0,
    help: 'Largest distance of the empirical variogram in metres (0 = half the largest sensor distance).',
    advanced: true,
  },
  {
    name: 'estimator',
    type: 'enum',
    default: 'matheron',
    choices: ['matheron', 'cressie'],
    help: 'Empirical variogram estimator: matheron (classical) or cressie (Cressie–Hawkins, robust to outliers).',
    advanced: true,
  },
  {
    name: 'log',
    type: 'boolean',
    default: false,
    help: 'Lognormal kriging: krige ln(value) and back-transform with exp(Ŷ + σ²/2 − m) (unbiased; m = Lagrange multiplier). Values ≤ 0 become half the smallest positive value.',
  },
];

function candidateModels(model: string, nu: string): VariogramModelName[] {
  const matern: Record<string, VariogramModelName[]> = {
    auto: ['exponential', 'matern15', 'matern25'],
    '0.5': ['exponential'],
    '1.5': ['matern15'],
    '2.5': ['matern25'],
  };
  switch (model) {
    case 'auto':
      return nu === 'auto' ? ['spherical', 'exponential', 'gaussian', 'matern15', 'matern25'] : ['spherical', 'gaussian', ...matern[nu]];
    case 'matern':
      return matern[nu] ?? matern.auto;
    default:
      return [model as VariogramModelName];
  }
}

/** Working-scale values (log or not) with the count of replaced non-positive values. */
export function workingValues(v: Float64Array, log: boolean): { z: Float64Array; replaced: number } {
  if (!log) return { z: v, replaced: 0 };
  const f = logForward(v);
  return { z: f.y, replaced: f.replaced };
}

export function checkObservations(method: string, obs: Observations, values: Float64Array[]): void {
  if (obs.x.length === 0) throw new UserError(`${method}: no observations inside the grid`);
  for (const v of values) {
    if (v.length !== obs.x.length) throw new Error(`${method}: ${v.length} values for ${obs.x.length} sites`);
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new UserError(`${method}: value of observation ${i} (sensors ${obs.sensorIds[i]?.join(', ') ?? '?'}) is not a number`);
    }
  }
}

/** Assemble a Prediction from working-scale results (back-transforming when log). */
export function toPrediction(p: PointPredictions, log: boolean, diagnostics: Record<string, unknown>): Prediction {
  if (log) {
    const b = lognormalBack(p);
    return { values: Float32Array.from(b.mean), variance: Float32Array.from(b.variance), diagnostics };
  }
  return { values: Float32Array.from(p.mean), variance: Float32Array.from(p.variance), diagnostics };
}

export function toHeldOut(p: PointPredictions, log: boolean): HeldOutPrediction {
  if (log) return lognormalBack(p);
  return { mean: p.mean, variance: p.variance };
}

/**
 * The PreparedEstimator over a fitted CovariancePredictor (kriging and the GP): values are checked, taken to
 * the working scale (log or not), predicted on the observations' grid (or held out) and back-transformed.
 */
export function preparedCovariance(method: string, obs: Observations, pred: CovariancePredictor, log: boolean, diagnostics: Record<string, unknown>): PreparedEstimator {
  let disposed = false;
  return {
    diagnostics,
    async predict(values: Float64Array, pctx: RunContext): Promise<Prediction> {
      if (disposed) throw new Error(`${method}: predictor was disposed`);
      checkObservations(method, obs, [values]);
      const w = workingValues(values, log);
      const r = await pred.predictGrid(obs.grid, w.z, pctx);
      return toPrediction(r, log, { jitter: pred.maxJitter, replacedNonPositive: w.replaced });
    },
    async predictHeldOut(values: Float64Array, folds: Int32Array[]): Promise<HeldOutPrediction> {
      checkObservations(method, obs, [values]);
      const w = workingValues(values, log);
      return toHeldOut(pred.heldOut(w.z, folds), log);
    },
    dispose() {
      disposed = true;
    },
  };
}

/** Rough cost model for resources.ts (global: factor + n²/2 per cell; local: k³/6 per cell). */
export function covarianceResources(q: ResourceQuery, neighboursParam: number, extraPrepareSeconds: number): ResourceEstimate {
  const cells = q.width * q.height;
  const n = q.observed;
  const k = resolveNeighbours(neighboursParam, n, cells);
  const flop = 1e-9; // ~1 GFLOP/s for these loops
  if (k === 0) {
    return {
      bytes: 8 * n * n * 3 + 8 * cells * 4 + 8 * n * CELL_BLOCK * 2 + (cells * n <= CROSS_CACHE_ENTRIES ? 8 * cells * n : 0),
      prepareSeconds: extraPrepareSeconds + (n ** 3 / 3) * flop + (n * n * cells * 0.5) * flop,
      predictSeconds: cells * n * (cells * n <= CROSS_CACHE_ENTRIES ? 2e-9 : 3e-8),
      note: `global system of ${n} sites`,
    };
  }
  const keep = cells * k <= LOCAL_CACHE_ENTRIES;
  return {
    bytes: 8 * cells * 4 + (keep ? 12 * cells * k : 0) + (n <= SITE_COV_MAX ? 8 * n * n : 0) + 8 * n * 4,
    prepareSeconds: extraPrepareSeconds,
    predictSeconds: cells * ((k ** 3) / 6 + 3 * k * k) * flop * (keep ? 1 / Math.max(1, q.steps) : 1) + cells * k * 2e-9,
    note: `moving neighbourhood of ${k} sites`,
  };
}

export const kriging: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'kriging',
  label: 'Ordinary kriging',
  description:
    'Ordinary kriging with an automatically fitted variogram: empirical semivariogram, weighted least-squares fits of spherical, exponential, Gaussian and Matérn models, the model with the lowest leave-one-out error kept. Gives the kriging variance; optional lognormal kriging (log=true).',
  params: PARAMS,
  providesVariance: true,
  backend: () => 'js',
  estimateResources(q: ResourceQuery): ResourceEstimate {
    const n = Math.min(q.observed, SELECT_MAX_SITES);
    return covarianceResources(q, Number(q.params.neighbours ?? 0), 10 * (n ** 3 / 2) * 1e-9 + 0.05);
  },

  async prepare(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator> {
    const t0 = performance.now();
    const log = Boolean(params.log);
    const raw = trainingValues && trainingValues.length > 0 ? trainingValues : [obs.values];
    checkObservations('kriging', obs, raw);
    const sets = raw.map((v) => workingValues(v, log).z);
    const n = obs.x.length;
    const nuggetFixed = autoOrNumber('kriging', 'nugget', params.nugget ?? 'auto');
    const rangeFixed = Number(params.range ?? 0) > 0 ? Number(params.range) : undefined;
    const sillFixed = Number(params.sill ?? 0) > 0 ? Number(params.sill) : undefined;
    const exact = Boolean(params.exact);
    const models = candidateModels(String(params.model ?? 'auto'), String(params.nu ?? 'auto'));

    let choice: VariogramChoice | null = null;
    let model: VariogramModel;
    if (nuggetFixed !== undefined && rangeFixed !== undefined && sillFixed !== undefined && models.length === 1) {
      model = { model: models[0], nugget: nuggetFixed, psill: sillFixed, range: rangeFixed };
    } else {
      choice = await selectVariogram(
        obs.x,
        obs.y,
        sets,
        {
          models,
          nugget: nuggetFixed,
          range: rangeFixed,
          psill: sillFixed,
          lags: Number(params.lags ?? 15),
          maxLag: Number(params.maxLag ?? 0),
          estimator: params.estimator === 'cressie' ? 'cressie' : 'matheron',
          exact,
        },
        { signal: ctx.signal, onProgress: ctx.onProgress },
      );
      model = choice.chosen;
    }
    const neighbours = resolveNeighbours(Number(params.neighbours ?? 0), n, obs.grid.width * obs.grid.height);
    const pred = new CovariancePredictor(obs.x, obs.y, { model: model.model, range: model.range, psill: model.psill, nugget: model.nugget }, { mean: 'ordinary', exact, neighbours });
    // the factorization belongs to prepare; the per-cell variance pass runs (once) at the first predict,
    // so that cross-validation through predictHeldOut does not pay for a map it never draws
    if (pred.global) pred.system();
    const fitSeconds = (performance.now() - t0) / 1000;
    const diagnostics: Record<string, unknown> = {
      variogram: {
        model: model.model,
        nugget: model.nugget,
        psill: model.psill,
        sill: model.nugget + model.psill,
        range: model.range,
        effectiveRange: effectiveRange(model.model, model.range),
        selection: choice?.selection ?? 'fixed by parameters',
        candidates: choice?.candidates ?? [],
        empirical: choice
          ? {
              h: choice.empirical.h,
              gamma: choice.empirical.gamma,
              pairs: choice.empirical.pairs,
              estimator: choice.empirical.estimator,
              maxLag: choice.empirical.maxLag,
              steps: choice.empirical.steps,
              sites: choice.empirical.sites,
            }
          : null,
      },
      scale: log ? 'log' : 'linear',
      nuggetMode: exact ? 'exact (micro-scale)' : 'filtered (measurement error)',
      neighbourhood: pred.global ? 'global' : `${neighbours} nearest`,
      sites: n,
      jitter: pred.maxJitter,
      fitSeconds,
    };
    return preparedCovariance('kriging', obs, pred, log, diagnostics);
  },
};
