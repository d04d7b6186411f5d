// Selections: time window [from, to), per-sensor aggregation checked against values computed here
// independently, dropped sensors reported with a reason, band and sensor subsets.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProject } from '../../src/store/project.ts';
import { quantile, selectSensorValues } from '../../src/selection/select.ts';
import type { ProjectStore } from '../../src/store/types.ts';
import type { Reading } from '../../src/domain/types.ts';

const H = 3_600_000;
let store: ProjectStore;
let dir: string;

/** Deterministic pseudo-random values (LCG), so each sensor has an irregular series. */
function series(seed: number, n: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return 0.05 + (s / 2 ** 32) * 3;
  });
}

const data: Record<string, number[]> = { A: series(1, 24), B: series(2, 24), C: series(3, 7) };

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
  store = createProject(path.join(dir, 's.emfmap'), { name: 's', crs: 'local' });
  store.upsertSensors(['A', 'B', 'C', 'D'].map((id, i) => ({ id, name: id, lat: NaN, lon: NaN, x: i * 10, y: 0, height: null, meta: {} })));
  const rows: Reading[] = [];
  for (const [id, vals] of Object.entries(data)) vals.forEach((v, h) => rows.push({ sensorId: id, time: h * H, value: v, band: null, quality: 0 }));
  // a per-band reading that must not mix with the total field
  rows.push({ sensorId: 'A', time: 5 * H, value: 99, band: 'GSM900', quality: 0 });
  store.insertReadings(rows, 'replace');
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
function median(v: number[]): number {
  const s = sorted(v);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

describe('quantile (type 7, numpy default)', () => {
  it('matches published numpy values', () => {
    // numpy.percentile(np.arange(1, 21), 95) = 19.05; (…, 50) = 10.5
    const x = () => Float64Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(quantile(x(), 0.95)).toBeCloseTo(19.05, 12);
    expect(quantile(x(), 0.5)).toBeCloseTo(10.5, 12);
    expect(quantile(Float64Array.of(3), 0.95)).toBe(3);
    expect(quantile(new Float64Array(0), 0.5)).toBeNaN();
  });
});

describe('selectSensorValues', () => {
  it('aggregates the whole history per sensor (mean, median, max, p95, last)', () => {
    const ids = ['A', 'B', 'C'];
    const check = (agg: 'mean' | 'median' | 'max' | 'p95' | 'last', f: (v: number[]) => number) => {
      const r = selectSensorValues(store, { agg });
      expect(r.sensors.map((s) => s.id)).toEqual(ids);
      ids.forEach((id, i) => expect(r.values[i], `${agg} ${id}`).toBeCloseTo(f(data[id]), 12));
      expect(Array.from(r.counts)).toEqual([24, 24, 7]);
      expect(r.dropped).toEqual([{ id: 'D', reason: 'no reading at all (total field)' }]);
    };
    check('mean', mean);
    check('median', median);
    check('max', (v) => Math.max(...v));
    check('last', (v) => v[v.length - 1]);
    check('p95', (v) => {
      const s = sorted(v);
      const h = (s.length - 1) * 0.95;
      const lo = Math.floor(h);
      return s[lo] + (h - lo) * (s[Math.min(lo + 1, s.length - 1)] - s[lo]);
    });
  });

  it('uses the window [from, to): from included, to excluded; sensors without readings in it are dropped', () => {
    const r = selectSensorValues(store, { agg: 'mean', from: 6 * H, to: 12 * H });
    // C has readings at hours 0..6: only hour 6 is in the window
    expect(r.sensors.map((s) => s.id)).toEqual(['A', 'B', 'C']);
    expect(r.values[0]).toBeCloseTo(mean(data.A.slice(6, 12)), 12);
    expect(r.values[2]).toBeCloseTo(data.C[6], 12);
    expect(Array.from(r.counts)).toEqual([6, 6, 1]);
    const late = selectSensorValues(store, { agg: 'last', from: 7 * H });
    expect(late.sensors.map((s) => s.id)).toEqual(['A', 'B']);
    expect(late.dropped.map((d) => d.id)).toEqual(['C', 'D']);
    expect(late.dropped[0].reason).toBe('no reading from 1970-01-01T07:00:00Z (total field)');
    expect(late.values[1]).toBe(data.B[23]);
  });

  it('selects a band and a sensor subset; unknown ids are reported', () => {
    const band = selectSensorValues(store, { agg: 'max', band: 'GSM900' });
    expect(band.sensors.map((s) => s.id)).toEqual(['A']);
    expect(band.values[0]).toBe(99);
    const sub = selectSensorValues(store, { agg: 'mean', sensorIds: ['C', 'A', 'ZZ'] });
    expect(sub.sensors.map((s) => s.id)).toEqual(['A', 'C']);
    expect(sub.dropped).toEqual([{ id: 'ZZ', reason: 'no such sensor in the project' }]);
    expect(sub.values[1]).toBeCloseTo(mean(data.C), 12);
  });

  it('refuses an empty window and an unknown aggregation', () => {
    expect(() => selectSensorValues(store, { agg: 'mean', from: 5, to: 5 })).toThrow(/empty/);
    expect(() => selectSensorValues(store, { agg: 'mode' as never })).toThrow(/unknown aggregation/);
  });

  it('snapshot readings (no time): "last" takes a timed reading over a snapshot', () => {
    store.insertReadings([{ sensorId: 'D', time: null, value: 0.7, band: null, quality: 0 }], 'replace');
    expect(selectSensorValues(store, { agg: 'last', sensorIds: ['D'] }).values[0]).toBe(0.7);
    store.insertReadings([{ sensorId: 'D', time: 0, value: 0.9, band: null, quality: 0 }], 'replace');
    expect(selectSensorValues(store, { agg: 'last', sensorIds: ['D'] }).values[0]).toBe(0.9);
    // a window excludes snapshots
    expect(selectSensorValues(store, { agg: 'mean', sensorIds: ['D'], from: 0 }).counts[0]).toBe(1);
  });
});
