// Resource estimate before a run: cells, observed cells, memory and a rough time, so that a choice that
// cannot fit (a 1024² exact-kernel grid, 2 000 time steps with variance) is refused up front with a clear
// message instead of an out-of-memory crash half-way.
//
// An estimator may expose `estimateResources(query)` (an optional extra on its Estimator object; see
// docs/estimators.md). Without one, a generic guess is used: a dense n×n system on the observed cells plus
// a few float64 grids.

import os from 'node:os';
import { UserError } from '../domain/errors.ts';
import type { Estimator, ParamValues } from './types.ts';

export interface ResourceQuery {
  width: number;
  height: number;
  /** Observed cells (largest group). */
  observed: number;
  /** Time steps (maps) in the run. */
  steps: number;
  /** Number of prepare calls (groups of steps with the same reporting sensors). */
  groups: number;
  params: ParamValues;
}

/** What ONE prepare + predict of a method needs (its own working memory; the engine adds the outputs). */
export interface ResourceEstimate {
  /** Peak working memory, bytes. */
  bytes: number;
  /** Seconds for one prepare. */
  prepareSeconds: number;
  /** Seconds for one predict (one map). */
  predictSeconds: number;
  note?: string;
}

export interface ResourceAware {
  estimateResources(q: ResourceQuery): ResourceEstimate;
}

export interface RunResources {
  method: string;
  cells: number;
  observed: number;
  steps: number;
  groups: number;
  /** Working memory + stored maps, bytes. */
  bytes: number;
  /** Rough wall time, seconds (this machine's speed is not measured: an order of magnitude). */
  seconds: number;
  /** Memory limit checked against, bytes. */
  limitBytes: number;
  /** True when the method gave its own estimate, false for the generic guess. */
  fromMethod: boolean;
  note?: string;
}

export function hasResourceEstimate(e: Estimator): e is Estimator & ResourceAware {
  return typeof (e as Partial<ResourceAware>).estimateResources === 'function';
}

/** Generic guess for methods without their own estimate: dense n×n float64 system + 4 float64 grids. */
export function genericEstimate(q: ResourceQuery): ResourceEstimate {
  const cells = q.width * q.height;
  const n = q.observed;
  return {
    bytes: 8 * n * n * 2 + 4 * 8 * cells,
    prepareSeconds: (n ** 3 / 3) * 2e-9 + 1e-3,
    predictSeconds: cells * n * 4e-9 + 1e-3,
    note: 'generic estimate (the method gives none)',
  };
}

/** Memory limit: EMFMAP_MAX_MEMORY (bytes, or with a K/M/G suffix) or 70 % of physical memory. */
export function memoryLimit(): number {
  const env = process.env.EMFMAP_MAX_MEMORY?.trim();
  if (env) {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(env);
    if (m) {
      const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
      return Number(m[1]) * mult;
    }
  }
  return 0.7 * os.totalmem();
}

export function estimateRun(est: Estimator, q: ResourceQuery, limitBytes = memoryLimit()): RunResources {
  const own = hasResourceEstimate(est) ? est.estimateResources(q) : genericEstimate(q);
  const cells = q.width * q.height;
  const perMap = cells * 4 * (est.providesVariance ? 2 : 1);
  // all maps are held until the run is stored in one transaction, then written as blobs (×2 briefly)
  const bytes = own.bytes + 2 * perMap * q.steps;
  return {
    method: est.id,
    cells,
    observed: q.observed,
    steps: q.steps,
    groups: q.groups,
    bytes,
    seconds: q.groups * own.prepareSeconds + q.steps * own.predictSeconds,
    limitBytes,
    fromMethod: hasResourceEstimate(est),
    note: own.note,
  };
}

/** Refuse a run that would not fit in memory, saying what to change. */
export function assertFits(r: RunResources): void {
  if (r.bytes <= r.limitBytes) return;
  throw new UserError(
    `${r.method} on ${r.cells.toLocaleString('en')} cells with ${r.observed} observed cells and ${r.steps} step(s) needs about ${formatBytes(r.bytes)}, ` +
      `more than the limit of ${formatBytes(r.limitBytes)} (70 % of this machine's memory, or EMFMAP_MAX_MEMORY): ` +
      'use a smaller grid (--grid N or a larger --cell), fewer steps, or a method that scales (e.g. idw)',
  );
}

export function formatBytes(b: number): string {
  if (b < 1024) return `${b.toFixed(0)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = b / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
