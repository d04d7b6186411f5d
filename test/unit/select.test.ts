// Selections: time window [from, to), per-sensor aggregation checked against values computed here
// independently, dropped sensors reported with a reason, band and sensor subsets, the quality flag, and
// per-band readings combined into the total field (a fixture checked against totals computed by hand).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProject } from '../../src/store/project.ts';
import { quantile, selectSensorValues } from '../../src/selection/select.ts';
import type { ProjectStore } from '../../src/store/types.ts';
import type { Reading } from '../../src/domain/types.ts';
import { importReadings } from '../../src/io/import/import.ts';

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
      expect(r.dropped).toEqual([{ id: 'D', reason: 'no reading flagged good at all (total field)' }]);
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
    expect(late.dropped[0].reason).toBe('no reading flagged good from 1970-01-01T07:00:00Z (total field)');
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

describe('quality flag', () => {
  it("uses quality-0 readings by default, every reading with quality 'all'", () => {
    // A gets a flagged spike at a new hour, D only a flagged reading
    store.insertReadings(
      [
        { sensorId: 'A', time: 30 * H, value: 50, band: null, quality: 4 },
        { sensorId: 'D', time: 0, value: 0.8, band: null, quality: 1 },
      ],
      'replace',
    );
    const good = selectSensorValues(store, { agg: 'mean', sensorIds: ['A', 'D'] });
    expect(good.sensors.map((s) => s.id)).toEqual(['A']);
    expect(good.values[0]).toBeCloseTo(mean(data.A), 12);
    expect(good.dropped).toEqual([{ id: 'D', reason: 'no reading flagged good at all (total field)' }]);
    const all = selectSensorValues(store, { agg: 'mean', sensorIds: ['A', 'D'], quality: 'all' });
    expect(all.sensors.map((s) => s.id)).toEqual(['A', 'D']);
    expect(all.values[0]).toBeCloseTo(mean([...data.A, 50]), 12);
    expect(all.values[1]).toBe(0.8);
    expect(Array.from(all.counts)).toEqual([25, 1]);
    // the quantile path (a scan, not SQL aggregation) filters the same way
    expect(selectSensorValues(store, { agg: 'max', sensorIds: ['A'] }).values[0]).toBe(Math.max(...data.A));
    expect(selectSensorValues(store, { agg: 'max', sensorIds: ['A'], quality: 'all' }).values[0]).toBe(50);
    expect(selectSensorValues(store, { agg: 'median', sensorIds: ['A'] }).values[0]).toBeCloseTo(median(data.A), 12);
    expect(selectSensorValues(store, { agg: 'median', sensorIds: ['A'], quality: 'all' }).values[0]).toBeCloseTo(median([...data.A, 50]), 12);
    expect(() => selectSensorValues(store, { agg: 'mean', quality: 'best' as never })).toThrow(/unknown quality selection "best"/);
  });
});

describe('per-band readings (test/fixtures/import/bands.csv)', () => {
  let bands: ProjectStore;
  let bdir: string;
  beforeEach(async () => {
    bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
    bands = createProject(path.join(bdir, 'b.emfmap'), { name: 'bands', crs: '' });
    await importReadings(bands, { file: path.resolve(__dirname, '../fixtures/import/bands.csv'), unit: 'V/m' });
  });
  afterEach(() => {
    bands.close();
    fs.rmSync(bdir, { recursive: true, force: true });
  });
  const byId = (r: ReturnType<typeof selectSensorValues>) => Object.fromEntries(r.sensors.map((s, i) => [s.id, r.values[i]]));
  const countsById = (r: ReturnType<typeof selectSensorValues>) => Object.fromEntries(r.sensors.map((s, i) => [s.id, r.counts[i]]));

  // Totals by hand (3-4-5 style triples): B1 10:00 √(.3²+.4²) = .5, 12:00 √(.6²+.8²) = 1, 14:00 √(1.2²+.5²) = 1.3;
  // B2 10:00 √(.2²+.3²+.6²) = √.49 = .7, 12:00 √(.1²+.2²+.2²) = √.09 = .3; T1 10:00 the stored total 2.0 wins over its
  // bands, 12:00 bands only → 1; Q1 (quality 'good'): 10:00 has a flagged band → no total, 12:00 the flagged stored
  // total 0.9 gives way to its good bands √(1.2²+.5²) = 1.3, 14:00 stored 0.7; D1 has only a flagged reading.
  it('combines bands into the total field by power where no total is stored', () => {
    const m = selectSensorValues(bands, { agg: 'mean' });
    const v = byId(m);
    expect(Object.keys(v)).toEqual(['B1', 'B2', 'Q1', 'T1']);
    expect(v.B1).toBeCloseTo((0.5 + 1 + 1.3) / 3, 12);
    expect(v.B2).toBeCloseTo((0.7 + 0.3) / 2, 12);
    expect(v.T1).toBeCloseTo((2 + 1) / 2, 12);
    expect(v.Q1).toBeCloseTo((1.3 + 0.7) / 2, 12);
    expect(countsById(m)).toEqual({ B1: 3, B2: 2, Q1: 2, T1: 2 });
    expect(m.dropped).toEqual([{ id: 'D1', reason: 'no reading flagged good at all (total field)' }]);

    expect(byId(selectSensorValues(bands, { agg: 'max' }))).toMatchObject({ B1: expect.closeTo(1.3, 12), B2: expect.closeTo(0.7, 12), T1: 2, Q1: expect.closeTo(1.3, 12) });
    expect(byId(selectSensorValues(bands, { agg: 'last' }))).toMatchObject({ B1: expect.closeTo(1.3, 12), B2: expect.closeTo(0.3, 12), T1: expect.closeTo(1, 12), Q1: 0.7 });
    // the scan path (median, p95) sees the same totals
    expect(byId(selectSensorValues(bands, { agg: 'median' }))).toMatchObject({ B1: expect.closeTo(1, 12), B2: expect.closeTo(0.5, 12), T1: expect.closeTo(1.5, 12) });
    // one time window: 12:00 only
    const noon = byId(selectSensorValues(bands, { agg: 'mean', from: Date.UTC(2024, 2, 1, 12), to: Date.UTC(2024, 2, 1, 13) }));
    expect(noon).toEqual({ B1: expect.closeTo(1, 12), B2: expect.closeTo(0.3, 12), Q1: expect.closeTo(1.3, 12), T1: expect.closeTo(1, 12) });
  });

  it("with quality 'all', flagged readings count: stored totals win, flagged bands combine", () => {
    const v = byId(selectSensorValues(bands, { agg: 'mean', quality: 'all' }));
    // Q1: 10:00 √(.3²+.4²) = .5, 12:00 the stored 0.9, 14:00 0.7; D1 0.5
    expect(v.Q1).toBeCloseTo((0.5 + 0.9 + 0.7) / 3, 12);
    expect(v.D1).toBe(0.5);
    expect(v.B1).toBeCloseTo((0.5 + 1 + 1.3) / 3, 12);
  });

  it('a named band selects that band alone', () => {
    const r = selectSensorValues(bands, { agg: 'mean', band: 'GSM900' });
    expect(byId(r)).toEqual({ B1: expect.closeTo((0.3 + 0.6 + 1.2) / 3, 12), B2: expect.closeTo(0.15, 12), Q1: expect.closeTo((0.3 + 1.2) / 2, 12), T1: expect.closeTo(0.45, 12) });
    expect(r.dropped).toEqual([{ id: 'D1', reason: 'no reading flagged good at all in band GSM900' }]);
    expect(byId(selectSensorValues(bands, { agg: 'max', band: 'UMTS2100' }))).toEqual({ B2: 0.6 });
  });

  it("a sensor's latest value (sensors list) is the total at its latest time, combined from bands where needed", () => {
    const st = Object.fromEntries(bands.sensorStats().map((r) => [r.id, r]));
    const at = (h: number) => Date.UTC(2024, 2, 1, h);
    expect(st.B1).toMatchObject({ readings: 6, latestTime: at(14), latest: expect.closeTo(1.3, 12) });
    expect(st.B2).toMatchObject({ readings: 6, latestTime: at(12), latest: expect.closeTo(0.3, 12) });
    expect(st.T1).toMatchObject({ readings: 5, latestTime: at(12), latest: expect.closeTo(1, 12) });
    expect(st.Q1).toMatchObject({ latestTime: at(14), latest: 0.7 });
    expect(st.D1).toMatchObject({ readings: 1, latestTime: at(10), latest: 0.5 });
  });

  it('snapshot readings (no time) combine per sensor too', () => {
    bands.insertReadings(
      [
        { sensorId: 'D1', time: null, value: 0.6, band: 'GSM900', quality: 0 },
        { sensorId: 'D1', time: null, value: 0.8, band: 'LTE800', quality: 0 },
      ],
      'replace',
    );
    expect(byId(selectSensorValues(bands, { agg: 'mean', sensorIds: ['D1'] }))).toEqual({ D1: expect.closeTo(1, 12) });
    bands.insertReadings([{ sensorId: 'D1', time: null, value: 0.25, band: null, quality: 0 }], 'replace');
    expect(byId(selectSensorValues(bands, { agg: 'mean', sensorIds: ['D1'] }))).toEqual({ D1: 0.25 });
  });
});
