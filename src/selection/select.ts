// From a project to one value per sensor: the readings in a time window [from, to), of one band (the
// total field unless a band is named), reduced per sensor by an aggregation. Sensors with no reading in
// the window are dropped and reported, so a map never silently uses stale or missing data.
//
// Quality: by default only readings flagged good (quality 0) are used; `quality: 'all'` takes every one.
// Total field: instruments that report per frequency band store one reading per band and no total. At a
// (sensor, time) without a total-field reading, its bands are combined by power, E = √(Σ E_band²)
// (independent sources add in power), so such a sensor is mapped instead of dropped. A stored total wins
// over the bands at the same time. Under 'good', a time whose bands include a flagged one gives no
// combined total (a missing band would make it too low). Naming a band selects that band alone.
//
// Aggregations: mean, median, max, p95 (95th percentile, linear interpolation between order statistics,
// i.e. numpy's default / Hyndman-Fan type 7), last (the latest timestamp; a snapshot reading without a
// time counts as the oldest). mean / max / last are computed by SQLite, quantiles in one pass here.

import type { Aggregation, QualitySelection, Selection, Sensor } from '../domain/types.ts';
import { UserError } from '../domain/errors.ts';
import type { ProjectStore } from '../store/types.ts';

export interface SensorValues {
  /** Sensors kept, in the project's order (sorted by id). */
  sensors: Sensor[];
  /** One aggregated value per kept sensor, V/m. */
  values: Float64Array;
  /** Readings aggregated for each kept sensor (a total combined from bands counts once). */
  counts: Int32Array;
  dropped: Array<{ id: string; reason: string }>;
}

export const AGGREGATIONS: Aggregation[] = ['mean', 'median', 'max', 'p95', 'last'];
export const QUALITIES: QualitySelection[] = ['good', 'all'];

/** Quantile q ∈ [0, 1] of a sample, type 7 (linear between order statistics). Sorts `v` in place. */
export function quantile(v: Float64Array, q: number): number {
  const n = v.length;
  if (n === 0) return NaN;
  v.sort();
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return v[lo] + (h - lo) * (v[hi] - v[lo]);
}

interface Acc {
  n: number;
  sum: number;
  max: number;
  last: number;
  /** Values, only for median / p95. */
  vals: number[] | null;
}

export function selectSensorValues(store: ProjectStore, sel: Selection): SensorValues {
  const agg = sel.agg;
  if (!AGGREGATIONS.includes(agg)) throw new UserError(`unknown aggregation "${agg}" (use ${AGGREGATIONS.join(', ')})`);
  const quality = sel.quality ?? 'good';
  if (!QUALITIES.includes(quality)) throw new UserError(`unknown quality selection "${quality}" (use good = quality flag 0 only, or all)`);
  const from = sel.from ?? null;
  const to = sel.to ?? null;
  if (from !== null && to !== null && !(from < to)) throw new UserError('the time window is empty: "from" must be before "to"');

  const all = store.sensors();
  const byId = new Map(all.map((s) => [s.id, s]));
  const dropped: Array<{ id: string; reason: string }> = [];
  let wanted: Sensor[] = all;
  if (sel.sensorIds && sel.sensorIds.length > 0) {
    wanted = [];
    for (const id of new Set(sel.sensorIds)) {
      const s = byId.get(id);
      if (s) wanted.push(s);
      else dropped.push({ id, reason: 'no such sensor in the project' });
    }
    wanted.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  const keepValues = agg === 'median' || agg === 'p95';
  const acc = new Map<string, Acc>();
  for (const s of wanted) acc.set(s.id, { n: 0, sum: 0, max: -Infinity, last: NaN, vals: keepValues ? [] : null });
  const band = sel.band ?? null;
  const q = { from, to, band, quality, combineBands: band === null, sensorIds: sel.sensorIds && sel.sensorIds.length > 0 ? wanted.map((s) => s.id) : undefined };
  if (keepValues) {
    // quantiles need every value: one pass over the rows
    store.scanReadings(q, (id, _time, value) => {
      const a = acc.get(id);
      if (!a) return;
      a.n++;
      a.vals!.push(value);
    });
  } else {
    // mean / max / last: aggregated by SQLite, one row per sensor comes back
    for (const r of store.aggregateReadings(q)) {
      const a = acc.get(r.id);
      if (!a) continue;
      a.n = r.n;
      a.sum = r.mean * r.n;
      a.max = r.max;
      a.last = r.last;
    }
  }

  const sensors: Sensor[] = [];
  const values: number[] = [];
  const counts: number[] = [];
  const window = describeWindow(from, to, band, quality);
  for (const s of wanted) {
    const a = acc.get(s.id)!;
    if (a.n === 0) {
      dropped.push({ id: s.id, reason: `no reading ${window}` });
      continue;
    }
    let v: number;
    switch (agg) {
      case 'mean':
        v = a.sum / a.n;
        break;
      case 'max':
        v = a.max;
        break;
      case 'last':
        v = a.last;
        break;
      case 'median':
        v = quantile(Float64Array.from(a.vals!), 0.5);
        break;
      case 'p95':
        v = quantile(Float64Array.from(a.vals!), 0.95);
        break;
    }
    sensors.push(s);
    values.push(v);
    counts.push(a.n);
  }
  return { sensors, values: Float64Array.from(values), counts: Int32Array.from(counts), dropped };
}

function describeWindow(from: number | null, to: number | null, band: string | null, quality: QualitySelection): string {
  const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
  const w =
    from !== null && to !== null
      ? `in [${iso(from)}, ${iso(to)})`
      : from !== null
        ? `from ${iso(from)}`
        : to !== null
          ? `before ${iso(to)}`
          : 'at all';
  const what = band ? `in band ${band}` : '(total field)';
  return quality === 'good' ? `flagged good ${w} ${what}` : `${w} ${what}`;
}
