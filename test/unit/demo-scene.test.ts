// The generated demo scene and datasets: realistic magnitudes, sensors where lamp posts can be, the
// traffic profile in the time series, measurement noise and gaps, determinism by seed, the building
// index against brute force, shadowing statistics, the drive-test variant.

import { beforeAll, describe, expect, it } from 'vitest';
import { generateDemo, DEMO_START, UTC_OFFSET_HOURS, type DemoDataset } from '../../src/demo/generate.ts';
import { toCity } from '../../src/demo/layout.ts';
import { blockedBrute } from '../../src/demo/los.ts';
import { Rng, mulberry32 } from '../../src/demo/prng.ts';
import { buildScene } from '../../src/demo/scene.ts';
import { correlatedField } from '../../src/demo/shadowing.ts';
import { INSTRUMENT } from '../../src/demo/sensors.ts';
import { WEEKDAY_LOAD, baseLoad, localClock, powerShare } from '../../src/demo/traffic.ts';
import { sampleBilinear } from '../../src/geo/grid.ts';
import { toWgs84 } from '../../src/geo/crs.ts';
import { CancelledError } from '../../src/domain/run.ts';

function quantile(values: ArrayLike<number>, q: number): number {
  const v = Array.from(values).sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
}

/** Brute force over every building (not the index): footprint containing the point, in the city frame. */
function insideAnyBuilding(d: DemoDataset, x: number, y: number): boolean {
  const [u, v] = toCity(d.scene.layout.frame, x, y);
  const b = d.scene.layout.buildings;
  for (let i = 0; i < b.count; i++) if (u >= b.u0[i] && u <= b.u1[i] && v >= b.v0[i] && v <= b.v1[i]) return true;
  return false;
}

let demo: DemoDataset;
beforeAll(async () => {
  demo = await generateDemo();
});

describe('demo scene', () => {
  it('is about 1 km² near Lille in a local transverse Mercator, with 6–10 multi-sector rooftop sites', () => {
    const s = demo.scene;
    expect(s.crs).toContain('+proj=tmerc');
    const [lon, lat] = toWgs84(s.crs, 0, 0);
    expect(lat).toBeCloseTo(50.63, 6);
    expect(lon).toBeCloseTo(3.05, 6);
    expect((s.bounds.xmax - s.bounds.xmin) * (s.bounds.ymax - s.bounds.ymin)).toBeCloseTo(1e6, -3);
    expect(s.sites.length).toBeGreaterThanOrEqual(6);
    expect(s.sites.length).toBeLessThanOrEqual(10);
    expect(s.layout.buildings.count).toBeGreaterThan(500);
    for (const site of s.sites) {
      expect(site.height).toBeGreaterThanOrEqual(20);
      expect(site.height).toBeLessThanOrEqual(40);
      // on a rooftop, above its host building
      expect(site.building).toBeGreaterThanOrEqual(0);
      expect(site.height).toBeGreaterThan(s.layout.buildings.h[site.building]);
      for (const inst of site.installations) {
        expect(inst.sectors).toHaveLength(3);
        const az = inst.sectors.map((q) => q.azimuthDeg).sort((a, b) => a - b);
        // three sectors roughly 120° apart
        const gaps = [az[1] - az[0], az[2] - az[1], 360 - az[2] + az[0]];
        for (const g of gaps) expect(Math.abs(g - 120)).toBeLessThan(30);
        const total = 10 * Math.log10(inst.carriers.reduce((a, c) => a + 10 ** (c.eirpDbm / 10), 0));
        expect(total).toBeGreaterThanOrEqual(55);
        expect(total).toBeLessThanOrEqual(65);
      }
    }
  });

  it('labels everything synthetic', () => {
    expect(demo.meta.synthetic).toBe(true);
    expect(demo.meta.name).toMatch(/SYNTHETIC/);
    expect(demo.meta.description).toMatch(/SYNTHETIC/);
    expect(demo.reference.synthetic).toBe(true);
    expect(demo.reference.name).toMatch(/SYNTHETIC/);
    for (const s of demo.sensors) {
      expect(s.meta.synthetic).toBe(true);
      expect(s.name).toMatch(/Synthetic/);
    }
  });

  it('gives realistic outdoor field strengths', () => {
    const ref = demo.reference.values;
    expect(ref.length).toBe(demo.reference.grid.width * demo.reference.grid.height);
    const med = quantile(ref, 0.5);
    expect(med).toBeGreaterThan(0.05);
    expect(med).toBeLessThan(5);
    let max = 0;
    let bad = 0;
    for (const v of ref) {
      if (!(Number.isFinite(v) && v > 0)) bad++;
      max = Math.max(max, v);
    }
    expect(bad).toBe(0);
    expect(max).toBeLessThan(30);
    // a city has hot spots: the top percent is an order of magnitude above the median
    expect(quantile(ref, 0.99)).toBeGreaterThan(5 * med);
    const values = demo.readings.map((r) => r.value);
    const rmed = quantile(values, 0.5);
    expect(rmed).toBeGreaterThan(0.05);
    expect(rmed).toBeLessThan(5);
    expect(Math.max(...values)).toBeLessThan(30);
  });

  it('puts ~70 sensors on lamp posts: in the area, 3–4 m high, outside buildings, spread out', () => {
    expect(demo.sensors.length).toBe(70);
    const b = demo.scene.bounds;
    for (const s of demo.sensors) {
      expect(insideAnyBuilding(demo, s.x, s.y)).toBe(false);
      expect(s.x).toBeGreaterThan(b.xmin);
      expect(s.x).toBeLessThan(b.xmax);
      expect(s.y).toBeGreaterThan(b.ymin);
      expect(s.y).toBeLessThan(b.ymax);
      expect(s.height).toBeGreaterThanOrEqual(3);
      expect(s.height).toBeLessThanOrEqual(4);
      // WGS84 position is the projected one
      const [lon, lat] = toWgs84(demo.scene.crs, s.x, s.y);
      expect(s.lat).toBeCloseTo(lat, 6);
      expect(s.lon).toBeCloseTo(lon, 6);
    }
    let minGap = Infinity;
    for (let i = 0; i < demo.sensors.length; i++)
      for (let j = i + 1; j < demo.sensors.length; j++)
        minGap = Math.min(minGap, Math.hypot(demo.sensors[i].x - demo.sensors[j].x, demo.sensors[i].y - demo.sensors[j].y));
    expect(minGap).toBeGreaterThan(40);
    expect(new Set(demo.sensors.map((s) => s.id)).size).toBe(70);
  });

  it('reads every 2 h for 7 days, with noise of a few percent, a floor and gaps', () => {
    expect(demo.times.length).toBe(84);
    expect(demo.times[1] - demo.times[0]).toBe(2 * 3_600_000);
    expect(demo.times[0]).toBe(DEMO_START);
    const idx = new Map(demo.sensors.map((s, i) => [s.id, i]));
    const tIdx = new Map(demo.times.map((t, k) => [t, k]));
    const ratios: number[] = [];
    expect(Math.min(...demo.readings.map((r) => r.value))).toBeGreaterThanOrEqual(INSTRUMENT.floor);
    for (const r of demo.readings) {
      const truth = demo.truth[idx.get(r.sensorId)!][tIdx.get(r.time!)!];
      if (truth > 3 * INSTRUMENT.floor) ratios.push(r.value / truth);
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    const sd = Math.sqrt(ratios.reduce((a, b) => a + (b - mean) ** 2, 0) / ratios.length);
    expect(Math.abs(mean - 1)).toBeLessThan(0.005);
    expect(sd).toBeGreaterThan(0.02);
    expect(sd).toBeLessThan(0.04);
    // gaps: some but not many readings missing; the dead sensor stays silent after it dies
    const full = demo.sensors.length * demo.times.length;
    expect(demo.readings.length).toBeLessThan(full * 0.99);
    expect(demo.readings.length).toBeGreaterThan(full * 0.9);
    const dead = demo.outages.find((o) => o.kind === 'dead')!;
    const deadId = demo.sensors[dead.sensor].id;
    expect(demo.readings.some((r) => r.sensorId === deadId && r.time! >= dead.from)).toBe(false);
    expect(demo.readings.some((r) => r.sensorId === deadId && r.time! < dead.from)).toBe(true);
    // no duplicate (sensor, time)
    expect(new Set(demo.readings.map((r) => `${r.sensorId}@${r.time}`)).size).toBe(demo.readings.length);
  });

  it('follows the traffic profile: night readings are lower than evening readings', () => {
    const byHour = (lo: number, hi: number) => {
      const v = demo.readings.filter((r) => {
        const h = localClock(r.time!, UTC_OFFSET_HOURS).hour;
        return h >= lo && h < hi;
      });
      return v.reduce((a, r) => a + r.value, 0) / v.length;
    };
    const night = byHour(2, 5);
    const evening = byHour(18, 22);
    expect(night).toBeLessThan(evening);
    // power ∝ 0.3 + 0.7·load: field ratio about √((0.3 + 0.7·0.1)/(0.3 + 0.7·0.95)) ≈ 0.62
    const expected = Math.sqrt(powerShare(0.1) / powerShare(0.95));
    expect(night / evening).toBeGreaterThan(expected - 0.12);
    expect(night / evening).toBeLessThan(expected + 0.12);
    // the reference (time average) lies between the two at the sensors
    const ref = demo.reference;
    let sumRef = 0;
    for (const s of demo.sensors) sumRef += sampleBilinear(ref.grid, ref.values, s.x, s.y);
    expect(sumRef / demo.sensors.length).toBeGreaterThan(0);
  });

  it('uses the published daily load shape (minimum at night, maximum in the evening)', () => {
    expect(WEEKDAY_LOAD.indexOf(Math.min(...WEEKDAY_LOAD))).toBeGreaterThanOrEqual(3);
    expect(WEEKDAY_LOAD.indexOf(Math.min(...WEEKDAY_LOAD))).toBeLessThanOrEqual(5);
    expect(WEEKDAY_LOAD.indexOf(Math.max(...WEEKDAY_LOAD))).toBeGreaterThanOrEqual(19);
    // DEMO_START is Monday 00:00 local
    expect(localClock(DEMO_START, UTC_OFFSET_HOURS)).toMatchObject({ dow: 1, hour: 0 });
    expect(baseLoad(DEMO_START + 4 * 3_600_000, UTC_OFFSET_HOURS)).toBeCloseTo(WEEKDAY_LOAD[4], 12);
  });

  it('the sensor truth matches the reference raster where the raster resolves the street', () => {
    // both come from the same model; the raster is at 3.5 m on 5 m cells, sensors at 3–4 m
    const ref = demo.reference;
    const ratios = demo.sensors.map((s, i) => {
      const mean = demo.truth[i].reduce((a, b) => a + b, 0) / demo.truth[i].length;
      return mean / sampleBilinear(ref.grid, ref.values, s.x, s.y);
    });
    expect(quantile(ratios, 0.5)).toBeGreaterThan(0.7);
    expect(quantile(ratios, 0.5)).toBeLessThan(1.4);
  });
});

describe('building index', () => {
  it('decides LOS exactly as testing every building, on random rays', () => {
    const scene = demo.scene;
    const rnd = mulberry32(99);
    let blocked = 0;
    for (let k = 0; k < 3000; k++) {
      const site = scene.sites[Math.floor(rnd() * scene.sites.length)];
      const x = scene.bounds.xmin + rnd() * 1000;
      const y = scene.bounds.ymin + rnd() * 1000;
      const h = 1.5 + rnd() * 3;
      const [u, v] = toCity(scene.layout.frame, x, y);
      const [su, sv] = toCity(scene.layout.frame, site.x, site.y);
      const fast = scene.index.blocked(u, v, h, su, sv, site.height);
      expect(fast).toBe(blockedBrute(scene.layout.buildings, u, v, h, su, sv, site.height));
      if (fast) blocked++;
    }
    // a dense district: most street-level links are blocked, but not all
    expect(blocked).toBeGreaterThan(1500);
    expect(blocked).toBeLessThan(3000);
  });
});

describe('shadowing field', () => {
  it('has unit variance and correlation 1/e at the correlation distance', () => {
    const dc = 40;
    const f = correlatedField(new Rng(5), 0, 0, 2000, 2000, 5, dc);
    const z = f.z;
    let m = 0;
    for (const v of z) m += v;
    m /= z.length;
    let s2 = 0;
    for (const v of z) s2 += (v - m) ** 2;
    s2 /= z.length;
    expect(Math.abs(m)).toBeLessThan(0.1);
    expect(Math.sqrt(s2)).toBeGreaterThan(0.85);
    expect(Math.sqrt(s2)).toBeLessThan(1.15);
    const corr = (lag: number) => {
      let c = 0;
      let n = 0;
      for (let y = 0; y < f.ny; y++)
        for (let x = 0; x + lag < f.nx; x++) {
          c += (z[y * f.nx + x] - m) * (z[y * f.nx + x + lag] - m);
          n++;
        }
      return c / n / s2;
    };
    expect(corr(dc / 5)).toBeGreaterThan(Math.exp(-1) - 0.08);
    expect(corr(dc / 5)).toBeLessThan(Math.exp(-1) + 0.08);
    expect(Math.abs(corr((3 * dc) / 5))).toBeLessThan(0.08);
    expect(corr(1)).toBeGreaterThan(0.9);
  });
});

describe('determinism', () => {
  it('same seed → identical data; another seed → another district', async () => {
    const small = { rasterSize: 40, days: 2 };
    const a = await generateDemo({ seed: 7, ...small });
    const b = await generateDemo({ seed: 7, ...small });
    const c = await generateDemo({ seed: 8, ...small });
    expect(Array.from(a.reference.values)).toEqual(Array.from(b.reference.values));
    expect(a.readings).toEqual(b.readings);
    expect(a.sensors).toEqual(b.sensors);
    expect(a.meta).toEqual(b.meta);
    expect(Array.from(a.reference.values)).not.toEqual(Array.from(c.reference.values));
    expect(a.sensors.map((s) => s.x)).not.toEqual(c.sensors.map((s) => s.x));
    expect(buildScene(7).layout.buildings.count).toBe(a.scene.layout.buildings.count);
  });

  it('can be cancelled', async () => {
    const ctrl = new AbortController();
    const run = generateDemo({}, { signal: ctrl.signal, onProgress: (p) => (p.fraction ?? 0) > 0.1 && ctrl.abort() });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('drive-test variant', () => {
  it('gives ≥ 20 000 one-reading points along the streets, consistent with its reference raster', async () => {
    const d = await generateDemo({ variant: 'drive', rasterSize: 100 });
    expect(d.readings.length).toBeGreaterThanOrEqual(20_000);
    expect(d.sensors.length).toBe(d.readings.length);
    expect(new Set(d.readings.map((r) => r.time)).size).toBe(1);
    const b = d.scene.bounds;
    expect(d.sensors.every((s) => s.meta.drive === true && s.meta.synthetic === true)).toBe(true);
    expect(d.sensors.every((s) => s.x >= b.xmin && s.x <= b.xmax && s.y >= b.ymin && s.y <= b.ymax)).toBe(true);
    let inside = 0;
    for (let i = 0; i < d.sensors.length; i += 11) if (insideAnyBuilding(d, d.sensors[i].x, d.sensors[i].y)) inside++;
    expect(inside).toBe(0);
    // consecutive points are close (a continuous route), mostly ~1 m apart
    const steps = d.sensors.slice(1, 2000).map((s, i) => Math.hypot(s.x - d.sensors[i].x, s.y - d.sensors[i].y));
    expect(quantile(steps, 0.5)).toBeLessThan(2);
    // readings scatter around the reference at their positions (fading + noise), median ratio ≈ 1
    const ratios = d.readings.map((r, i) => r.value / sampleBilinear(d.reference.grid, d.reference.values, d.sensors[i].x, d.sensors[i].y));
    expect(quantile(ratios, 0.5)).toBeGreaterThan(0.8);
    expect(quantile(ratios, 0.5)).toBeLessThan(1.25);
    const med = quantile(d.readings.map((r) => r.value), 0.5);
    expect(med).toBeGreaterThan(0.05);
    expect(med).toBeLessThan(5);
  });
});
