// Inverse distance weighting (Shepard): v(p) = Σ w_i v_i / Σ w_i with w_i = 1 / d(p, s_i)^power.
//
// Neighbourhood: the `neighbours` nearest sites (0 = all sites: classic global Shepard), optionally limited
// to `radius` metres; a cell with no site inside the radius takes its single nearest site (never a hole).
// Exact at data points: a cell whose centre coincides with sites (distance ≤ 1e-9 of the data extent)
// takes their mean. Weights are computed relative to the nearest selected site, (d_min/d_i)^power, so a
// large power neither overflows nor underflows (power → ∞ tends to nearest-neighbour interpolation).
// k-nearest search (src/geo/point-index.ts) uses a uniform bucket grid (≈ 2 sites per bucket) searched in rings: for 2 000 sites
// and a 1024² grid this is a few hundred milliseconds, not the 2·10⁹ distance evaluations of the global form.

import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import type { Grid, Observations } from '../domain/types.ts';
import type { Estimator, HeldOutPrediction, ParamValues, PreparedEstimator, Prediction } from './types.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import { complementIndices } from './observations.ts';
import { PointIndex } from '../geo/point-index.ts';

export interface IdwOptions {
  power: number;
  /** Nearest sites used; 0 = all. */
  neighbours: number;
  /** Search radius in metres; 0 = unlimited. */
  radius: number;
}

/** An IDW interpolator over fixed sites; values are set per time step. */
export class IdwModel {
  private readonly index: PointIndex | null;
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  /** Values in index slot order (or site order when there is no index). */
  private v: Float64Array;
  private readonly slot: Int32Array;
  private readonly d2: Float64Array;
  private readonly eps2: number;
  private readonly r2max: number;

  constructor(x: ArrayLike<number>, y: ArrayLike<number>, readonly opts: IdwOptions) {
    const n = x.length;
    if (n === 0) throw new Error('IDW needs at least one site');
    this.x = Float64Array.from(x);
    this.y = Float64Array.from(y);
    let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    for (let i = 0; i < n; i++) {
      xmin = Math.min(xmin, this.x[i]); xmax = Math.max(xmax, this.x[i]);
      ymin = Math.min(ymin, this.y[i]); ymax = Math.max(ymax, this.y[i]);
    }
    const extent = Math.max(xmax - xmin, ymax - ymin, 1);
    this.eps2 = (1e-9 * extent) ** 2;
    this.r2max = opts.radius > 0 ? opts.radius * opts.radius : Infinity;
    this.index = opts.neighbours > 0 || opts.radius > 0 ? new PointIndex(this.x, this.y) : null;
    this.v = new Float64Array(n);
    const cap = opts.neighbours > 0 && opts.radius <= 0 ? Math.min(n, opts.neighbours) : n;
    this.slot = new Int32Array(Math.max(1, cap));
    this.d2 = new Float64Array(Math.max(1, cap));
  }

  get sites(): number {
    return this.x.length;
  }

  get mode(): 'all' | 'knn' | 'radius' {
    return this.opts.radius > 0 ? 'radius' : this.opts.neighbours > 0 ? 'knn' : 'all';
  }

  setValues(values: ArrayLike<number>): void {
    if (values.length !== this.x.length) throw new Error(`IDW: ${values.length} values for ${this.x.length} sites`);
    if (this.index) {
      const o = this.index.order;
      for (let s = 0; s < o.length; s++) this.v[s] = values[o[s]];
    } else {
      this.v = Float64Array.from(values);
    }
  }

  /** Interpolated value at (tx, ty). */
  at(tx: number, ty: number): number {
    return this.index ? this.atIndexed(tx, ty) : this.atAll(tx, ty);
  }

  private atIndexed(tx: number, ty: number): number {
    const idx = this.index!;
    const k = this.opts.neighbours;
    let cnt = idx.search(tx, ty, k, this.r2max, this.slot, this.d2);
    if (cnt === 0) cnt = idx.search(tx, ty, 1, Infinity, this.slot, this.d2); // nothing in the radius
    return this.combine(cnt, this.slot, this.d2);
  }

  private combine(cnt: number, slot: Int32Array, d2: Float64Array): number {
    const v = this.v;
    let d2min = Infinity;
    for (let j = 0; j < cnt; j++) if (d2[j] < d2min) d2min = d2[j];
    if (d2min <= this.eps2) {
      let s = 0, m = 0;
      for (let j = 0; j < cnt; j++) if (d2[j] <= this.eps2) { s += v[slot[j]]; m++; }
      return s / m;
    }
    const half = this.opts.power / 2;
    let sw = 0, swv = 0;
    for (let j = 0; j < cnt; j++) {
      const w = half === 1 ? d2min / d2[j] : Math.pow(d2min / d2[j], half);
      sw += w;
      swv += w * v[slot[j]];
    }
    return swv / sw;
  }

  /** Global Shepard over all sites, with fast paths for the usual powers. */
  private atAll(tx: number, ty: number): number {
    const { x, y, v, eps2 } = this;
    const n = x.length;
    const p = this.opts.power;
    let sw = 0, swv = 0, exactSum = 0, exactN = 0;
    if (p === 2 || p === 1 || p === 4) {
      for (let i = 0; i < n; i++) {
        const dx = x[i] - tx, dy = y[i] - ty;
        const d2 = dx * dx + dy * dy;
        if (d2 <= eps2) { exactSum += v[i]; exactN++; continue; }
        const w = p === 2 ? 1 / d2 : p === 4 ? 1 / (d2 * d2) : 1 / Math.sqrt(d2);
        sw += w;
        swv += w * v[i];
      }
      if (exactN > 0) return exactSum / exactN;
      if (sw > 0 && Number.isFinite(sw)) return swv / sw;
    }
    // general power (or a fast path that under/overflowed): weights relative to the nearest site
    let d2min = Infinity;
    for (let i = 0; i < n; i++) {
      const dx = x[i] - tx, dy = y[i] - ty;
      const d2 = dx * dx + dy * dy;
      if (d2 < d2min) d2min = d2;
    }
    if (d2min <= eps2) {
      for (let i = 0; i < n; i++) {
        const dx = x[i] - tx, dy = y[i] - ty;
        if (dx * dx + dy * dy <= eps2) { exactSum += v[i]; exactN++; }
      }
      return exactSum / exactN;
    }
    const half = p / 2;
    sw = 0;
    swv = 0;
    for (let i = 0; i < n; i++) {
      const dx = x[i] - tx, dy = y[i] - ty;
      const w = Math.pow(d2min / (dx * dx + dy * dy), half);
      sw += w;
      swv += w * v[i];
    }
    return swv / sw;
  }

  /**
   * One grid row of the global power-2 form, the hot loop of `neighbours=0`: branch-free inner loop with
   * the row's squared y-distances precomputed. Returns false when the row needs the general path
   * (a cell centre on a site, or weights out of range).
   */
  rowAllPower2(ty: number, x0: number, dx: number, width: number, out: Float32Array, offset: number, dy2: Float64Array): boolean {
    if (this.index || this.opts.power !== 2) return false;
    const { x, y, v, eps2 } = this;
    const n = x.length;
    for (let i = 0; i < n; i++) dy2[i] = (y[i] - ty) * (y[i] - ty);
    for (let c = 0; c < width; c++) {
      const tx = x0 + (c + 0.5) * dx;
      let sw = 0, swv = 0, dmin = Infinity;
      for (let i = 0; i < n; i++) {
        const ex = x[i] - tx;
        const d2 = ex * ex + dy2[i];
        const w = 1 / d2;
        sw += w;
        swv += w * v[i];
        if (d2 < dmin) dmin = d2;
      }
      out[offset + c] = dmin <= eps2 || !Number.isFinite(sw) || !(sw > 0) ? this.atAll(tx, ty) : swv / sw;
    }
    return true;
  }
}

/** IDW of every cell centre of a grid, in row chunks that yield for progress and cancellation. */
export async function idwGrid(model: IdwModel, grid: Grid, ctx: RunContext = {}): Promise<Float32Array> {
  const { width, height } = grid;
  const out = new Float32Array(width * height);
  const dx = (grid.bounds.xmax - grid.bounds.xmin) / width;
  const dy = (grid.bounds.ymax - grid.bounds.ymin) / height;
  let last = Date.now();
  const dy2 = new Float64Array(model.sites);
  for (let r = 0; r < height; r++) {
    const ty = grid.bounds.ymax - (r + 0.5) * dy;
    const base = r * width;
    if (!model.rowAllPower2(ty, grid.bounds.xmin, dx, width, out, base, dy2)) {
      for (let c = 0; c < width; c++) out[base + c] = model.at(grid.bounds.xmin + (c + 0.5) * dx, ty);
    }
    if (Date.now() - last > 50) {
      await yieldToLoop();
      throwIfCancelled(ctx.signal);
      ctx.onProgress?.({ stage: 'idw', fraction: (r + 1) / height });
      last = Date.now();
    }
  }
  throwIfCancelled(ctx.signal);
  return out;
}

function options(params: ParamValues): IdwOptions {
  return { power: Number(params.power ?? 2), neighbours: Number(params.neighbours ?? 12), radius: Number(params.radius ?? 0) };
}

export const idw: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'idw',
  label: 'Inverse distance weighting',
  description:
    'Weighted mean of nearby sensors with weights 1/distance^power. Exact at sensors, no uncertainty, no fitting: the fast baseline. ' +
    'Uses the `neighbours` nearest sensors (0 = all), optionally within `radius` metres (a cell with none inside takes the nearest sensor).',
  providesVariance: false,
  params: [
    { name: 'power', type: 'number', default: 2, min: 0, max: 64, help: 'Distance exponent: higher = more local (→ nearest sensor); 0 = plain mean of the neighbours.' },
    { name: 'neighbours', type: 'integer', default: 12, min: 0, max: 100000, help: 'Number of nearest sensors used per cell; 0 = all sensors (global Shepard).' },
    { name: 'radius', type: 'number', default: 0, min: 0, help: 'Search radius in metres; 0 = unlimited. Cells with no sensor inside use the nearest one.', advanced: true },
  ],
  backend: () => 'js',
  estimateResources(q: ResourceQuery): ResourceEstimate {
    const cells = q.width * q.height;
    const k = Number(q.params.neighbours ?? 12) > 0 ? Math.min(q.observed, Number(q.params.neighbours ?? 12)) : q.observed;
    return {
      bytes: 64 * q.observed + 8 * cells,
      prepareSeconds: 1e-6 * q.observed + 1e-3,
      // bucket search visits ~4k candidates per cell when k-limited
      predictSeconds: cells * (Number(q.params.neighbours ?? 12) > 0 ? 4 * k : q.observed) * 3e-9 + 1e-3,
    };
  },
  async prepare(obs: Observations, params: ParamValues): Promise<PreparedEstimator> {
    const opts = options(params);
    if (obs.values.length === 0) throw new Error('idw: no observations');
    const model = new IdwModel(obs.x, obs.y, opts);
    const diagnostics = { power: opts.power, neighbours: opts.neighbours, radius: opts.radius, mode: model.mode, sites: obs.x.length };
    return {
      diagnostics,
      async predict(values: Float64Array, ctx: RunContext): Promise<Prediction> {
        model.setValues(values);
        return { values: await idwGrid(model, obs.grid, ctx) };
      },
      // Cross-validation: IDW of the training sites at each held-out cell centre, which is exactly the
      // value the map of the training subset would have in that cell.
      async predictHeldOut(values: Float64Array, folds: Int32Array[], ctx: RunContext): Promise<HeldOutPrediction> {
        const n = obs.x.length;
        const mean = new Float64Array(n).fill(NaN);
        for (let f = 0; f < folds.length; f++) {
          const held = folds[f];
          const train = complementIndices(n, held);
          if (train.length === 0) continue;
          const tx = new Float64Array(train.length);
          const ty = new Float64Array(train.length);
          const tv = new Float64Array(train.length);
          for (let j = 0; j < train.length; j++) {
            tx[j] = obs.x[train[j]];
            ty[j] = obs.y[train[j]];
            tv[j] = values[train[j]];
          }
          const m = new IdwModel(tx, ty, opts);
          m.setValues(tv);
          for (const i of held) mean[i] = m.at(obs.x[i], obs.y[i]);
          if (f % 64 === 63) {
            await yieldToLoop();
            throwIfCancelled(ctx.signal);
            ctx.onProgress?.({ stage: 'idw cross-validation', fraction: (f + 1) / folds.length });
          }
        }
        return { mean };
      },
    };
  },
};
