// The estimation part of the application service: list estimators, run one (possibly time-resolved) and
// store it, compare several by cross-validation and against the reference map. service.ts delegates here.

import type { ExposureMap, Grid, Observations, RunRecord, Selection, Sensor } from '../domain/types.ts';
import { UserError } from '../domain/errors.ts';
import { CancelledError, subProgress, throwIfCancelled, type RunContext } from '../domain/run.ts';
import type { ProjectStore } from '../store/types.ts';
import type { Estimator, EstimatorInfo, ParamValues } from '../estimators/types.ts';
import type { CompareRequest, CompareResult, CompareRow, CvScheme, EstimateRequest, EstimateResult, GridRequest } from './api.ts';
import { estimatorIds, getEstimator } from '../estimators/registry.ts';
import { resolveParams } from '../estimators/params.ts';
import { withTargetTransform } from '../estimators/transform.ts';
import { chooseGridCrs, defaultGrid, reprojectBounds, sensorPositions } from '../estimators/grid-default.ts';
import { observationsFromSites, siteCells } from '../estimators/observations.ts';
import { groupSteps, runSteps, type Sites, type StepValues } from '../estimators/run.ts';
import { assertFits, estimateRun, type RunResources } from '../estimators/resources.ts';
import { crossValidate } from '../evaluation/cv.ts';
import { formatCvScheme, makeFolds, parseCvScheme } from '../evaluation/folds.ts';
import { rasterStats } from '../evaluation/metrics.ts';
import { compareToReference } from '../evaluation/reference.ts';
import { selectSensorValues } from '../selection/select.ts';
import { transformer } from '../geo/crs.ts';
import { sampleBilinear } from '../geo/grid.ts';

// ------------------------------------------------------------------------------------------- estimators

/** An estimator from the registry, with the generic `log` target option added (transform.ts). */
export async function loadEstimator(id: string): Promise<Estimator> {
  return withTargetTransform(await getEstimator(id));
}

export async function estimatorInfos(): Promise<EstimatorInfo[]> {
  const out: EstimatorInfo[] = [];
  for (const id of estimatorIds()) {
    const e = await loadEstimator(id);
    out.push({ id: e.id, label: e.label, description: e.description, params: e.params, providesVariance: e.providesVariance });
  }
  return out;
}

// ------------------------------------------------------------------------------------------- grid + sites

export interface ProjectGrid {
  grid: Grid;
  sites: Sites;
  sensors: Sensor[];
}

/** The run grid and the sensors' positions in its CRS (see estimators/grid-default.ts). */
export function projectGrid(
  store: ProjectStore,
  req: GridRequest = {},
  sensorIds?: string[] | null,
  /** More positions the grid must cover (e.g. prediction points), in the project's CRS. */
  extra?: { x: ArrayLike<number>; y: ArrayLike<number> },
): ProjectGrid {
  const meta = store.meta();
  let sensors = store.sensors();
  if (sensors.length === 0) throw new UserError(`${store.path}: the project has no sensors yet: import readings first (emfmap import FILE --project ${store.path})`);
  if (sensorIds && sensorIds.length > 0) {
    const known = new Set(sensors.map((s) => s.id));
    const unknown = sensorIds.filter((id) => !known.has(id));
    if (unknown.length) throw new UserError(`unknown sensor id(s): ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''}`);
    const want = new Set(sensorIds);
    sensors = sensors.filter((s) => want.has(s.id));
  }
  const crs = chooseGridCrs(meta.crs, sensors, req.crs);
  const pos = sensorPositions(sensors, meta.crs, crs);
  const toGrid = (b: Grid['bounds']) => (meta.crs && meta.crs.trim() !== crs ? reprojectBounds(b, meta.crs, crs) : b);
  let xs: ArrayLike<number> = pos.x;
  let ys: ArrayLike<number> = pos.y;
  if (extra && extra.x.length > 0) {
    const e = toGridCrs(extra, meta.crs, crs);
    xs = [...pos.x, ...e.x];
    ys = [...pos.y, ...e.y];
  }
  const grid = defaultGrid({
    x: xs,
    y: ys,
    crs,
    aoi: meta.aoi ? toGrid(meta.aoi) : null,
    bounds: req.bounds ? toGrid(req.bounds) : null,
    size: { size: req.size, width: req.width, height: req.height, cell: req.cell },
  });
  return { grid, sites: { ids: pos.ids, x: pos.x, y: pos.y }, sensors };
}

/** Positions from the project's CRS into the grid's. */
export function toGridCrs(p: { x: ArrayLike<number>; y: ArrayLike<number> }, projectCrs: string, gridCrs: string): { x: Float64Array; y: Float64Array } {
  const x = Float64Array.from(p.x);
  const y = Float64Array.from(p.y);
  if (!projectCrs || projectCrs.trim() === gridCrs.trim()) return { x, y };
  const t = transformer(projectCrs, gridCrs);
  for (let i = 0; i < x.length; i++) [x[i], y[i]] = t.forward([x[i], y[i]]);
  return { x, y };
}

// ------------------------------------------------------------------------------------------- time steps

const UNIT_MS: Record<string, number> = { s: 1e3, sec: 1e3, min: 60e3, m: 60e3, h: 3600e3, hr: 3600e3, d: 86400e3, day: 86400e3, w: 7 * 86400e3 };

/** "2h", "30min", "1d", "90s", "1w" → milliseconds. */
export function parseEvery(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(s);
  const unit = m?.[2].toLowerCase();
  if (!m || !unit || !(unit in UNIT_MS)) throw new UserError(`cannot read --every "${s}": use a number and a unit, e.g. 30min, 2h, 1d (units: s, min, h, d, w)`);
  const ms = Number(m[1]) * UNIT_MS[unit];
  if (!(ms >= 1000)) throw new UserError(`--every ${s}: the step must be at least one second`);
  return ms;
}

export const MAX_STEPS = 10_000;

/** Windows [from, to) covering [from, to) in steps of `every` ms, or `steps` equal parts. */
export function stepWindows(from: number, to: number, opts: { every?: number; steps?: number }): Array<[number, number]> {
  if (!(to > from)) throw new UserError('the time window is empty: "from" must be before "to"');
  let n: number;
  let dt: number;
  if (opts.every !== undefined) {
    dt = opts.every;
    n = Math.ceil((to - from) / dt);
  } else if (opts.steps !== undefined) {
    if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new UserError(`--steps must be a positive integer (got ${opts.steps})`);
    n = opts.steps;
    dt = (to - from) / n;
  } else return [[from, to]];
  if (n > MAX_STEPS) throw new UserError(`${n} time steps is too many (at most ${MAX_STEPS}): use a longer --every or fewer --steps`);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push([Math.round(from + i * dt), i === n - 1 ? to : Math.round(from + (i + 1) * dt)]);
  return out;
}

export interface StepPlan {
  selection: Selection;
  steps: StepValues[];
  /** Sensors (of the selection) with no reading in any step. */
  dropped: string[];
}

function fullSelection(sel: Partial<Selection> | undefined): Selection {
  const agg = sel?.agg ?? 'mean';
  if (!['mean', 'median', 'max', 'p95', 'last'].includes(agg)) throw new UserError(`unknown aggregation "${agg}" (use mean, median, max, p95 or last)`);
  const quality = sel?.quality ?? 'good';
  if (quality !== 'good' && quality !== 'all') throw new UserError(`unknown quality selection "${quality}" (use good = quality flag 0 only, or all)`);
  if (sel?.from != null && sel?.to != null && sel.from >= sel.to) throw new UserError('the time window is empty: "from" must be before "to"');
  return { from: sel?.from ?? null, to: sel?.to ?? null, agg, band: sel?.band ?? null, sensorIds: sel?.sensorIds ?? null, quality };
}

/** Values per site and step: each window reduced per sensor with the selection's aggregation (NaN = none). */
export function planSteps(store: ProjectStore, sites: Sites, req: { selection?: Partial<Selection>; every?: string; steps?: number }): StepPlan {
  const selection = fullSelection(req.selection);
  const timeResolved = req.every !== undefined || req.steps !== undefined;
  if (req.every !== undefined && req.steps !== undefined) throw new UserError('give either --every or --steps, not both');
  let windows: Array<[number, number] | null> = [null];
  if (timeResolved) {
    const counts = store.counts();
    if (counts.timeFrom === null || counts.timeTo === null) {
      throw new UserError('the readings have no timestamps (a snapshot): --every / --steps need time-stamped readings');
    }
    const from = selection.from ?? counts.timeFrom;
    const to = selection.to ?? counts.timeTo + 1; // "to" is exclusive: include the last reading
    windows = stepWindows(from, to, { every: req.every !== undefined ? parseEvery(req.every) : undefined, steps: req.steps });
  }
  const index = new Map(sites.ids.map((id, i) => [id, i]));
  const seen = new Uint8Array(sites.ids.length);
  const steps: StepValues[] = windows.map((w) => {
    const sel: Selection = w ? { ...selection, from: w[0], to: w[1] } : selection;
    const res = selectSensorValues(store, sel);
    const values = new Float64Array(sites.ids.length).fill(NaN);
    res.sensors.forEach((s: string | { id: string }, j: number) => {
      const i = index.get(typeof s === 'string' ? s : s.id);
      if (i !== undefined && Number.isFinite(res.values[j])) {
        values[i] = res.values[j];
        seen[i] = 1;
      }
    });
    return { time: w ? w[0] : null, values, window: w };
  });
  const dropped = sites.ids.filter((_, i) => !seen[i]);
  return { selection, steps, dropped };
}

// ------------------------------------------------------------------------------------------- estimate

/** Resource estimate for a planned run; throws a UserError when it cannot fit in memory. */
export function checkResources(est: Estimator, grid: Grid, sites: Sites, steps: StepValues[], params: ParamValues): RunResources {
  const g = groupSteps(steps, siteCells(grid, sites.x, sites.y));
  const r = estimateRun(est, {
    width: grid.width,
    height: grid.height,
    observed: g.maxSites,
    steps: steps.length - g.emptySteps.length,
    groups: g.groups.length,
    params,
  });
  assertFits(r);
  return r;
}

/**
 * `cntk` on a dense observation set (drive tests) is solved by EigenPro: the same model without the O(n³)
 * direct solve. The switch counts the distinct grid cells the sites fall in (what the solver sees), not
 * the sites: 24 000 drive-test readings on a 32×32 grid are only ~500 cells, which `cntk` solves directly.
 */
export async function cntkSolverFor(method: string, grid: Grid, sites: Sites): Promise<string> {
  if (method !== 'cntk') return method;
  const cells = new Set(siteCells(grid, sites.x, sites.y));
  cells.delete(-1);
  return (await import('../estimators/cntk-eigenpro.ts')).resolveCntkMethod('cntk', cells.size);
}

export async function runEstimate(store: ProjectStore, req: EstimateRequest, ctx: RunContext = {}): Promise<EstimateResult> {
  const { grid, sites } = projectGrid(store, req.grid, req.selection?.sensorIds);
  const est = await loadEstimator(await cntkSolverFor(req.method, grid, sites));
  const params = resolveParams(est.id, est.params, req.params ?? {});
  const plan = planSteps(store, sites, req);
  const resources = checkResources(est, grid, sites, plan.steps, params);

  const out = await runSteps({ estimator: est, params, grid, sites, steps: plan.steps }, ctx);

  const metrics: Record<string, unknown> = {};
  const ref = out.maps.length === 1 ? store.referenceMap() : null;
  if (ref) {
    const c = compareToReference(out.maps[0], ref);
    metrics.truth = { reference: ref.name, synthetic: ref.synthetic, n: c.n, rmse: c.rmse, mae: c.mae, bias: c.bias, r2: c.r2, maxAbs: c.maxAbs };
  }
  const diagnostics: Record<string, unknown> = {
    ...(out.maps.length === 1 ? out.maps[0].diagnostics : {}),
    groups: out.groups.map((g) => ({ steps: g.steps.length, sensors: g.sensors, observed: g.observed, prepareSeconds: g.prepareSeconds })),
    emptySteps: out.emptySteps.map((i) => plan.steps[i].window ?? null),
    outsideGrid: out.outside,
    droppedSensors: plan.dropped,
    resources: { bytes: resources.bytes, seconds: resources.seconds, fromMethod: resources.fromMethod },
  };
  // a cancelled run stores nothing: check once more right before the single write
  throwIfCancelled(ctx.signal);
  const id = store.saveRun(
    { method: est.id, params, grid, selection: plan.selection, backend: out.backend, timings: out.timings, metrics, diagnostics, label: req.label ?? '' },
    out.maps,
  );
  const run = store.run(id);
  if (!run) throw new Error(`run ${id} was saved but cannot be read back`);
  const st = rasterStats(out.maps[0].values);
  return {
    run,
    summary: {
      min: st.min,
      max: st.max,
      mean: st.mean,
      negativeCells: st.negative,
      cells: grid.width * grid.height,
      observed: out.firstObservations?.cell.length ?? 0,
      droppedSensors: plan.dropped,
    },
  };
}

// ------------------------------------------------------------------------------------------- runs

export function listRuns(store: ProjectStore): RunRecord[] {
  return store.runs();
}

export function runMapsOf(store: ProjectStore, runId: number, step?: number): ExposureMap[] {
  if (!store.run(runId)) throw new UserError(`no run ${runId} in this project (emfmap runs lists them)`);
  return store.runMaps(runId, step);
}

export function removeRun(store: ProjectStore, runId: number): void {
  if (!store.run(runId)) throw new UserError(`no run ${runId} in this project (emfmap runs lists them)`);
  store.deleteRun(runId);
}

// ------------------------------------------------------------------------------------------- compare

/** Observations of one selection window on the project grid. */
export function projectObservations(
  store: ProjectStore,
  req: { grid?: GridRequest; selection?: Partial<Selection> },
): { obs: Observations; grid: Grid; selection: Selection; dropped: string[]; outside: string[] } {
  const { grid, sites } = projectGrid(store, req.grid, req.selection?.sensorIds);
  const plan = planSteps(store, sites, { selection: req.selection });
  const snap = observationsFromSites(grid, siteCells(grid, sites.x, sites.y), sites.ids, plan.steps[0].values);
  if (snap.obs.cell.length === 0) throw new UserError('no sensor has a reading inside the grid in the selected window: nothing to compare');
  return { obs: snap.obs, grid, selection: plan.selection, dropped: plan.dropped, outside: snap.outside };
}

/** Held-out residuals kept in a saved comparison run's diagnostics up to this many observed cells. */
export const MAX_SAVED_RESIDUALS = 2000;

/** What a compared method leaves to store: a run like `estimate`'s, written once every method is done. */
interface PendingRun {
  run: Omit<RunRecord, 'id' | 'createdAt' | 'steps'>;
  map: ExposureMap;
}

interface CompareContext {
  obs: Observations;
  grid: Grid;
  selection: Selection;
  folds: Int32Array[] | null;
  scheme: string;
  seed: number;
  ref: ReturnType<ProjectStore['referenceMap']>;
  save: boolean;
  dropped: string[];
  outside: string[];
}

/**
 * Cross-validate each method on the same observations (and score its full map against the reference map).
 * With `save` (the default) each method that succeeds is also stored as a run: the map fitted on all the
 * observations, exactly as `estimate` would make it, with `metrics[scheme]` = the cross-validation metrics
 * and `metrics.truth` = the reference-map error. The runs are written together at the end, in one
 * transaction: a cancelled comparison stores nothing; a method that fails has no run.
 */
export async function runCompare(store: ProjectStore, req: CompareRequest, ctx: RunContext = {}): Promise<CompareResult> {
  if (!req.methods || req.methods.length === 0) throw new UserError('give at least one method to compare (e.g. --methods idw,kriging)');
  const methods = [...new Set(req.methods.map((m) => m.trim()).filter(Boolean))];
  const ests = await Promise.all(methods.map((m) => loadEstimator(m))); // unknown method: a clear UserError up front
  const cv = parseCvScheme(req.cv ?? 'loo');
  const { obs, grid, selection, dropped, outside } = projectObservations(store, req);
  const seed = req.seed ?? 1;
  const folds = makeFolds(cv, obs, seed);
  const ref = store.referenceMap();
  for (const m of Object.keys(req.params ?? {})) {
    if (!methods.includes(m)) throw new UserError(`--param given for "${m}", which is not among --methods (${methods.join(', ')})`);
  }
  const scheme = formatCvScheme(cv);
  const cc: CompareContext = { obs, grid, selection, folds, scheme, seed, ref, save: req.save ?? true, dropped, outside };
  const done: Array<{ row: CompareRow; pending: PendingRun | null }> = [];
  for (let k = 0; k < ests.length; k++) {
    throwIfCancelled(ctx.signal);
    const est = ests[k];
    const mctx: RunContext = { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, k / ests.length, (k + 1) / ests.length, est.id) };
    done.push(await compareOne(est, cc, req.params?.[est.id] ?? {}, mctx));
  }
  // a cancelled comparison stores nothing: check once more right before the single write
  throwIfCancelled(ctx.signal);
  const toSave = done.filter((d) => d.pending !== null);
  if (toSave.length > 0) {
    const ids = store.transaction(() => toSave.map((d) => store.saveRun(d.pending!.run, [d.pending!.map])));
    toSave.forEach((d, i) => (d.row.runId = ids[i])); // only once committed
  }
  const rows = done.map((d) => d.row);
  const key = (r: CompareRow) => (cv.kind === 'none' ? r.truthRmse : r.rmse);
  rows.sort((a, b) => (key(a) ?? Infinity) - (key(b) ?? Infinity));
  return { cv: scheme as CvScheme, grid, rows };
}

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

async function compareOne(est: Estimator, cc: CompareContext, given: Record<string, unknown>, ctx: RunContext): Promise<{ row: CompareRow; pending: PendingRun | null }> {
  const { obs, grid, folds, ref } = cc;
  const t0 = performance.now();
  const row: CompareRow = { method: est.id, rmse: null, mae: null, bias: null, r2: null, truthRmse: null, truthMae: null, seconds: 0, backend: est.backend?.() ?? 'js', cv: null };
  let pending: PendingRun | null = null;
  try {
    const params = resolveParams(est.id, est.params, given);
    assertFits(estimateRun(est, { width: grid.width, height: grid.height, observed: obs.cell.length, steps: 1, groups: 1 + (folds?.length ?? 0), params }));
    const tf = performance.now();
    const prepared = await est.prepare(obs, params, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.3, 'fit') }, [obs.values]);
    const fitSeconds = (performance.now() - tf) / 1000;
    try {
      const metrics: Record<string, unknown> = {};
      let map: ExposureMap | null = null;
      if (ref || cc.save) {
        const tp = performance.now();
        const pred = await prepared.predict(obs.values, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.3, 0.4, 'map') });
        const predictSeconds = (performance.now() - tp) / 1000;
        const backend = est.backend?.() ?? 'js';
        map = {
          grid,
          values: pred.values,
          variance: pred.variance,
          method: est.id,
          params: { ...params },
          backend,
          timings: { fit: fitSeconds, predict: predictSeconds, total: fitSeconds + predictSeconds },
          diagnostics: { ...(prepared.diagnostics ?? {}), ...(pred.diagnostics ?? {}), observedCells: obs.cell.length, sensors: sumOf(obs.count) },
          time: null,
        };
        if (ref) {
          const c = compareToReference(map, ref);
          row.truthRmse = num(c.rmse);
          row.truthMae = num(c.mae);
          metrics.truth = { reference: ref.name, synthetic: ref.synthetic, n: c.n, rmse: c.rmse, mae: c.mae, bias: c.bias, r2: c.r2, maxAbs: c.maxAbs };
        }
      }
      let cvDiag: Record<string, unknown> | null = null;
      if (folds) {
        const res = await crossValidate(est, obs, params, folds, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.4, 1, 'cross-validation') }, prepared);
        row.cv = res.metrics;
        row.rmse = num(res.metrics.rmse);
        row.mae = num(res.metrics.mae);
        row.bias = num(res.metrics.bias);
        row.r2 = num(res.metrics.r2);
        row.residuals = Array.from(obs.values, (o, i) => ({
          sensorIds: obs.sensorIds[i],
          x: obs.x[i],
          y: obs.y[i],
          observed: o,
          predicted: res.predicted[i],
          ...(res.variance ? { sd: Math.sqrt(Math.max(0, res.variance[i])) } : {}),
        }));
        metrics[cc.scheme] = res.metrics;
        cvDiag = {
          scheme: cc.scheme,
          folds: res.folds,
          seed: cc.seed,
          fastPath: res.fastPath,
          seconds: res.seconds,
          ...(row.residuals.length <= MAX_SAVED_RESIDUALS ? { residuals: row.residuals } : { residualsOmitted: row.residuals.length }),
        };
      }
      row.backend = est.backend?.() ?? 'js';
      if (cc.save && map) {
        pending = {
          run: {
            method: est.id,
            params,
            grid,
            selection: cc.selection,
            backend: row.backend,
            // total = the whole comparison of this method (fit, map and cross-validation), as in the table
            timings: { fit: map.timings.fit, predict: map.timings.predict, total: 0 },
            metrics,
            diagnostics: {
              ...map.diagnostics,
              cv: cvDiag ?? { scheme: 'none' },
              droppedSensors: cc.dropped,
              outsideGrid: cc.outside,
            },
            label: `compare ${cc.scheme}`,
          },
          map,
        };
      }
    } finally {
      prepared.dispose?.();
    }
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    row.error = e instanceof UserError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    pending = null;
  }
  row.seconds = (performance.now() - t0) / 1000;
  if (pending) pending.run.timings.total = row.seconds;
  return { row, pending };
}

function sumOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

// ------------------------------------------------------------------------------------------- points

export interface PointPredictionRequest {
  method: string;
  params?: Record<string, unknown>;
  grid?: GridRequest;
  selection?: Partial<Selection>;
  /** Points in the project's CRS. */
  points: { x: ArrayLike<number>; y: ArrayLike<number> };
}

export interface PointPrediction {
  method: string;
  grid: Grid;
  /** V/m at each point (bilinear from the map). */
  values: Float64Array;
  /** Standard deviation at each point, when the method gives a variance. */
  sd: Float64Array | null;
  observed: number;
  backend: string;
  seconds: number;
  droppedSensors: string[];
}

/**
 * Values at arbitrary points: a map on a grid covering the sensors AND the points (plus a margin), then
 * bilinear interpolation between cell centres (the variance likewise, then its square root). Nothing is stored.
 */
export async function predictPoints(store: ProjectStore, req: PointPredictionRequest, ctx: RunContext = {}): Promise<PointPrediction> {
  const t0 = performance.now();
  const { grid, sites } = projectGrid(store, req.grid, req.selection?.sensorIds, req.points);
  const est = await loadEstimator(await cntkSolverFor(req.method, grid, sites));
  const params = resolveParams(est.id, est.params, req.params ?? {});
  const plan = planSteps(store, sites, { selection: req.selection });
  checkResources(est, grid, sites, plan.steps, params);
  const out = await runSteps({ estimator: est, params, grid, sites, steps: plan.steps }, ctx);
  const map = out.maps[0];
  const p = toGridCrs(req.points, store.meta().crs, grid.crs);
  const n = p.x.length;
  const values = new Float64Array(n);
  const sd = map.variance ? new Float64Array(n) : null;
  for (let i = 0; i < n; i++) {
    values[i] = sampleBilinear(grid, map.values, p.x[i], p.y[i]);
    if (sd) sd[i] = Math.sqrt(Math.max(0, sampleBilinear(grid, map.variance!, p.x[i], p.y[i])));
  }
  return {
    method: est.id,
    grid,
    values,
    sd,
    observed: out.firstObservations?.cell.length ?? 0,
    backend: out.backend,
    seconds: (performance.now() - t0) / 1000,
    droppedSensors: plan.dropped,
  };
}
