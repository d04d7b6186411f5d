// The run engine: one estimator, one grid, one or many time steps → one ExposureMap per step.
//
// Steps are grouped by the SET of reporting sensors (any steps, not only consecutive ones). Each group is
// prepared once — everything that depends only on where the observations are (variogram, kernel matrix,
// factorization) — with all the group's value vectors passed as trainingValues, then `predict` is called
// per step. A step where a sensor has no reading (NaN) belongs to a group without that sensor: the method
// is prepared on that subset; a value is never filled in. Steps with no reporting sensor inside the grid
// produce no map and are listed in the result.

import type { ExposureMap, Grid, Observations, Timings } from '../domain/types.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import { UserError } from '../domain/errors.ts';
import type { Estimator, ParamValues } from './types.ts';
import { observationsFromSites, siteCells } from './observations.ts';

export interface Sites {
  ids: string[];
  /** Positions in the grid's CRS. */
  x: Float64Array;
  y: Float64Array;
}

export interface StepValues {
  /** Time the step stands for (epoch ms; the start of its window), or null for a snapshot. */
  time: number | null;
  /** One value per site, V/m; NaN = no reading in this step. */
  values: Float64Array;
  /** The step's window [from, to), when time-resolved. */
  window?: [number, number] | null;
}

export interface RunJob {
  estimator: Estimator;
  params: ParamValues;
  grid: Grid;
  sites: Sites;
  steps: StepValues[];
}

export interface RunGroup {
  /** Step indices (into job.steps) predicted with this preparation. */
  steps: number[];
  sensors: number;
  observed: number;
  prepareSeconds: number;
}

export interface RunOutput {
  /** One map per step that had observations, in step order. */
  maps: ExposureMap[];
  /** Index into job.steps of each map. */
  stepOfMap: number[];
  /** Steps without any reporting sensor inside the grid (no map). */
  emptySteps: number[];
  groups: RunGroup[];
  /** Sites with readings that fall outside the grid. */
  outside: string[];
  /** Observations of the first mapped step (for summaries and cross-validation). */
  firstObservations: Observations | null;
  timings: Timings;
  backend: string;
}

/** Group key: the indices of the sites with a reading in this step. */
function reportingKey(values: Float64Array, cells: Int32Array): string {
  const parts: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]) && cells[i] >= 0) parts.push(i);
  return parts.join(',');
}

export interface StepGroups {
  /** Step indices of each group, groups in order of their first step. */
  groups: number[][];
  /** Steps without any reporting site inside the grid. */
  emptySteps: number[];
  /** Largest number of reporting sites in a group. */
  maxSites: number;
}

/** Group steps by the set of reporting sites inside the grid (cells from siteCells). */
export function groupSteps(steps: StepValues[], cells: Int32Array): StepGroups {
  const byKey = new Map<string, number[]>();
  const emptySteps: number[] = [];
  let maxSites = 0;
  steps.forEach((s, i) => {
    const key = reportingKey(s.values, cells);
    if (key === '') {
      emptySteps.push(i);
      return;
    }
    const g = byKey.get(key);
    if (g) g.push(i);
    else {
      byKey.set(key, [i]);
      maxSites = Math.max(maxSites, key.split(',').length);
    }
  });
  return { groups: [...byKey.values()], emptySteps, maxSites };
}

export async function runSteps(job: RunJob, ctx: RunContext = {}): Promise<RunOutput> {
  const t0 = performance.now();
  const { estimator, params, grid, sites, steps } = job;
  if (steps.length === 0) throw new UserError('nothing to map: no time steps');
  for (const s of steps) {
    if (s.values.length !== sites.ids.length) throw new Error(`run: a step has ${s.values.length} values for ${sites.ids.length} sites`);
  }
  const cells = siteCells(grid, sites.x, sites.y);

  // group steps by the set of reporting sensors, groups in order of their first step
  const { groups: stepGroups, emptySteps } = groupSteps(steps, cells);
  if (stepGroups.length === 0) {
    throw new UserError('no sensor has a reading inside the grid in the selected window: nothing to map');
  }

  const outsideSet = new Set<string>();
  const mapsByStep = new Map<number, ExposureMap>();
  const groups: RunGroup[] = [];
  const totalUnits = stepGroups.length + (steps.length - emptySteps.length);
  let doneUnits = 0;
  let fitTotal = 0;
  let predictTotal = 0;
  let backend = 'js';
  let firstObservations: Observations | null = null;
  let firstStepMapped = Infinity;

  const report = (stage: string, fracWithinUnit = 0) => {
    if (!ctx.onProgress) return;
    const fraction = Math.min(1, (doneUnits + fracWithinUnit) / totalUnits);
    const elapsed = (performance.now() - t0) / 1000;
    const eta = fraction > 0.02 ? (elapsed / fraction) * (1 - fraction) : undefined;
    ctx.onProgress({ stage, fraction, eta });
  };
  const unitProgress = (stage: string) => (p: { stage: string; fraction?: number; message?: string }) =>
    report(`${stage}: ${p.stage}`, Math.max(0, Math.min(1, p.fraction ?? 0)));

  let gi = 0;
  for (const stepIdx of stepGroups) {
    gi++;
    throwIfCancelled(ctx.signal);
    const first = observationsFromSites(grid, cells, sites.ids, steps[stepIdx[0]].values);
    for (const id of first.outside) outsideSet.add(id);
    // every step of the group has the same reporting sites, hence the same cells in the same order
    const perStep = stepIdx.map((i) => (i === stepIdx[0] ? first.obs.values : observationsFromSites(grid, cells, sites.ids, steps[i].values).obs.values));
    const stage = stepGroups.length > 1 ? `fit ${gi}/${stepGroups.length}` : 'fit';
    const tf = performance.now();
    const prepared = await estimator.prepare(first.obs, params, { signal: ctx.signal, onProgress: unitProgress(stage) }, perStep);
    const prepareSeconds = (performance.now() - tf) / 1000;
    fitTotal += prepareSeconds;
    doneUnits++;
    backend = estimator.backend?.() ?? 'js';
    groups.push({ steps: stepIdx, sensors: first.used, observed: first.obs.cell.length, prepareSeconds });
    if (stepIdx[0] < firstStepMapped) {
      firstStepMapped = stepIdx[0];
      firstObservations = first.obs;
    }
    try {
      for (let j = 0; j < stepIdx.length; j++) {
        throwIfCancelled(ctx.signal);
        const step = steps[stepIdx[j]];
        const pstage = steps.length > 1 ? `map ${mapsByStep.size + 1}/${steps.length - emptySteps.length}` : 'map';
        const tp = performance.now();
        const pred = await prepared.predict(perStep[j], { signal: ctx.signal, onProgress: unitProgress(pstage) });
        const predictSeconds = (performance.now() - tp) / 1000;
        predictTotal += predictSeconds;
        doneUnits++;
        report(pstage);
        mapsByStep.set(stepIdx[j], {
          grid,
          values: pred.values,
          variance: pred.variance,
          method: estimator.id,
          params: { ...params },
          backend,
          // the fit is shared by the group's steps; each map records the fit that produced it
          timings: { fit: prepareSeconds, predict: predictSeconds, total: prepareSeconds + predictSeconds },
          diagnostics: {
            ...(prepared.diagnostics ?? {}),
            ...(pred.diagnostics ?? {}),
            observedCells: first.obs.cell.length,
            sensors: first.used,
            group: gi - 1,
            groupSteps: stepIdx.length,
            ...(step.window ? { window: step.window } : {}),
          },
          time: step.time,
        });
        if (j % 8 === 7) await yieldToLoop();
      }
    } finally {
      prepared.dispose?.();
    }
  }
  throwIfCancelled(ctx.signal);
  const order = [...mapsByStep.keys()].sort((a, b) => a - b);
  ctx.onProgress?.({ stage: 'done', fraction: 1, eta: 0 });
  return {
    maps: order.map((i) => mapsByStep.get(i)!),
    stepOfMap: order,
    emptySteps,
    groups,
    outside: [...outsideSet],
    firstObservations,
    timings: { fit: fitTotal, predict: predictTotal, total: (performance.now() - t0) / 1000 },
    backend,
  };
}
