// The generated demo scene and datasets: realistic magnitudes, sensors where lamp posts can be, the
// traffic profile in the time series, measurement noise and gaps, determinism by seed, the building
// index against brute force, shadowing statistics, the district-scale structure that makes the demo a
// fair test of interpolators, the reference covering public space only, the drive-test variant.

import { beforeAll, describe, expect, it } from 'vitest';
import { generateDemo, DEMO_START, UTC_OFFSET_HOURS, type DemoDataset } from '../../src/demo/generate.ts';
import { toCity } from '../../src/demo/layout.ts';
import { blockedBrute, screensBrute } from '../../src/demo/los.ts';
import { Rng, mulberry32 } from '../../src/demo/prng.ts';
import { buildScene } from '../../src/demo/scene.ts';
import { correlatedField, siteShadowFields } from '../../src/demo/shadowing.ts';
import { INSTRUMENT } from '../../src/demo/sensors.ts';
import { WEEKDAY_LOAD, baseLoad, localClock, powerShare } from '../../src/demo/traffic.ts';
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

/** Street or square at (x, y): the rule of docs/demo.md written out over the layout (not the code's helper). */
function publicSpace(d: DemoDataset, x: number, y: number): boolean {
  if (insideAnyBuilding(d, x, y)) return false;
  const [u, v] = toCity(d.scene.layout.frame, x, y);
  if (d.scene.layout.streets.some((st) => Math.abs((st.axis === 'v' ? u : v) - st.at) <= st.width / 2)) return true;
  return d.scene.layout.squares.some((q) => u >= q.u0 && u <= q.u1 && v >= q.v0 && v <= q.v1);
}

/** The reference value of the nearest cell (centre within 8 m) that has one; NaN when there is none. */
function refNear(d: DemoDataset, x: number, y: number): number {
  const g = d.reference.grid;
  const cw = (g.bounds.xmax - g.bounds.xmin) / g.width;
  const ch = (g.bounds.ymax - g.bounds.ymin) / g.height;
  const c0 = Math.floor((x - g.bounds.xmin) / cw);
  const r0 = Math.floor((g.bounds.ymax - y) / ch);
  let best = NaN;
  let bestD = 8;
  for (let r = r0 - 2; r <= r0 + 2; r++) {
    for (let c = c0 - 2; c <= c0 + 2; c++) {
      if (r < 0 || c < 0 || r >= g.height || c >= g.width) continue;
      const v = d.reference.values[r * g.width + c];
      const dist = Math.hypot(g.bounds.xmin + (c + 0.5) * cw - x, g.bounds.ymax - (r + 0.5) * ch - y);
      if (Number.isFinite(v) && dist < bestD) {
        bestD = dist;
        best = v;
      }
    }
  }
  return best;
}

let demo: DemoDataset;
beforeAll(async () => {
  demo = await generateDemo();
});

describe('demo scene', () => {
  it('is about 1 km² near Lille in a local transverse Mercator, with several multi-sector rooftop sites', () => {
    const s = demo.scene;
    expect(s.crs).toContain('+proj=tmerc');
    const [lon, lat] = toWgs84(s.crs, 0, 0);
    expect(lat).toBeCloseTo(50.63, 6);
    expect(lon).toBeCloseTo(3.05, 6);
    expect((s.bounds.xmax - s.bounds.xmin) * (s.bounds.ymax - s.bounds.ymin)).toBeCloseTo(1e6, -3);
    expect(s.sites.length).toBeGreaterThanOrEqual(4);
    expect(s.sites.length).toBeLessThanOrEqual(10);
    // several operators in all: a dozen or so three-sector installations
    expect(s.sites.flatMap((q) => q.installations).length).toBeGreaterThanOrEqual(2 * s.sites.length);
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
    const all = demo.reference.values;
    expect(all.length).toBe(demo.reference.grid.width * demo.reference.grid.height);
    const ref = Array.from(all).filter((v) => !Number.isNaN(v));
    // streets and squares: a quarter to a half of a dense district
    expect(ref.length).toBeGreaterThan(0.2 * all.length);
    expect(ref.length).toBeLessThan(0.5 * all.length);
    const med = quantile(ref, 0.5);
    // street level in a European city centre: typically 0.1–0.5 V/m
    expect(med).toBeGreaterThan(0.1);
    expect(med).toBeLessThan(0.5);
    let max = 0;
    let bad = 0;
    for (const v of ref) {
      if (!(Number.isFinite(v) && v > 0)) bad++;
      max = Math.max(max, v);
    }
    expect(bad).toBe(0);
    // rare peaks of a few V/m, nowhere near the ICNIRP reference levels (41–61 V/m)
    expect(max).toBeGreaterThan(1);
    expect(max).toBeLessThan(30);
    // a city has hot spots: the top percent of the streets several times the median, above 1 V/m
    expect(quantile(ref, 0.99)).toBeGreaterThan(3 * med);
    expect(quantile(ref, 0.99)).toBeGreaterThan(1);
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
    // both come from the same model; the raster is at 3.5 m on 5 m cells, sensors at 3–4 m; every
    // sensor stands on the pavement, so a street cell lies within a few metres
    const ratios = demo.sensors.map((s, i) => {
      const mean = demo.truth[i].reduce((a, b) => a + b, 0) / demo.truth[i].length;
      return mean / refNear(demo, s.x, s.y);
    });
    expect(ratios.every(Number.isFinite)).toBe(true);
    expect(quantile(ratios, 0.5)).toBeGreaterThan(0.7);
    expect(quantile(ratios, 0.5)).toBeLessThan(1.4);
  });

  it('covers public open space only: NaN inside buildings and private courtyards, a value on streets and squares', () => {
    const g = demo.reference.grid;
    const cw = (g.bounds.xmax - g.bounds.xmin) / g.width;
    let checked = 0;
    let squares = 0;
    for (let k = 0; k < g.width * g.height; k += 7) {
      const r = Math.floor(k / g.width);
      const c = k % g.width;
      const x = g.bounds.xmin + (c + 0.5) * cw;
      const y = g.bounds.ymax - (r + 0.5) * cw;
      expect(Number.isNaN(demo.reference.values[k])).toBe(!publicSpace(demo, x, y));
      const [u, v] = toCity(demo.scene.layout.frame, x, y);
      if (demo.scene.layout.squares.some((q) => u >= q.u0 && u <= q.u1 && v >= q.v0 && v <= q.v1)) squares++;
      checked++;
    }
    expect(checked).toBeGreaterThan(5000);
    expect(squares).toBeGreaterThan(0); // the district has at least one open square
  });

  it('has district-scale structure: ln E stays correlated over the sensor spacing (~100 m)', () => {
    // correlation of ln E between street cells `lag` cells apart along rows and columns
    const g = demo.reference.grid;
    const v = demo.reference.values;
    const corr = (lag: number) => {
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
      for (let r = 0; r < g.height; r++) {
        for (let c = 0; c < g.width; c++) {
          for (const [dr, dc] of [[0, lag], [lag, 0]]) {
            if (r + dr >= g.height || c + dc >= g.width) continue;
            const a = v[r * g.width + c];
            const b = v[(r + dr) * g.width + c + dc];
            if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
            const x = Math.log(a);
            const y = Math.log(b);
            sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y; n++;
          }
        }
      }
      return (sxy / n - (sx / n) * (sy / n)) / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
    };
    const c50 = corr(10);
    const c100 = corr(20);
    const c200 = corr(40);
    // a plain LOS/NLOS switch with 40 m shadowing gives about 0.45 / 0.2 / 0.1 here
    expect(c50).toBeGreaterThan(0.6);
    expect(c100).toBeGreaterThan(0.4);
    expect(c50).toBeGreaterThan(c100);
    expect(c100).toBeGreaterThan(c200);
  });
});

describe('building index', () => {
  it('decides LOS exactly as testing every building, on random rays', () => {
    const scene = demo.scene;
    const rnd = mulberry32(99);
    let blocked = 0;
    let deep = 0;
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
      // the screen count walks the same index: equal to testing every building, 0 exactly in LOS
      const n = scene.index.screens(u, v, h, su, sv, site.height);
      expect(n).toBe(screensBrute(scene.layout.buildings, u, v, h, su, sv, site.height));
      expect(n > 0).toBe(fast);
      if (n >= 3) deep++;
    }
    // many rays pass under several rows of buildings
    expect(deep).toBeGreaterThan(300);
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

describe('two-scale shadowing', () => {
  it('per site: unit variance, correlation w·exp(-r²/D²) + (1-w)·exp(-r²/d²), shared part ρ·w between sites', () => {
    const p = { corrDist: 40, largeCorrDist: 150, largeShare: 0.8, siteCorrelation: 0.5 };
    const [f0, f1] = siteShadowFields(new Rng(11), 2, 0, 0, 3000, 3000, 10, p);
    const n = f0.z.length;
    const mean = (z: Float32Array) => z.reduce((a, b) => a + b, 0) / n;
    const m0 = mean(f0.z);
    const m1 = mean(f1.z);
    const cov = (a: Float32Array, ma: number, b: Float32Array, mb: number, lag: number) => {
      let c = 0;
      let k = 0;
      for (let y = 0; y < f0.ny; y++)
        for (let x = 0; x + lag < f0.nx; x++) {
          c += (a[y * f0.nx + x] - ma) * (b[y * f0.nx + x + lag] - mb);
          k++;
        }
      return c / k;
    };
    const v0 = cov(f0.z, m0, f0.z, m0, 0);
    const v1 = cov(f1.z, m1, f1.z, m1, 0);
    // the large-scale part has few independent patches over 3 km: allow for sampling spread
    expect(Math.sqrt(v0)).toBeGreaterThan(0.8);
    expect(Math.sqrt(v0)).toBeLessThan(1.2);
    expect(Math.sqrt(v1)).toBeGreaterThan(0.8);
    expect(Math.sqrt(v1)).toBeLessThan(1.2);
    const rho = (lag: number) => cov(f0.z, m0, f0.z, m0, lag) / v0;
    const model = (r: number) => p.largeShare * Math.exp(-((r / p.largeCorrDist) ** 2)) + (1 - p.largeShare) * Math.exp(-((r / p.corrDist) ** 2));
    for (const lag of [4, 15, 30]) expect(Math.abs(rho(lag) - model(lag * 10))).toBeLessThan(0.12);
    // two sites at the same place: correlated through the shared part, 0.5·0.8 = 0.4
    const cross = cov(f0.z, m0, f1.z, m1, 0) / Math.sqrt(v0 * v1);
    expect(cross).toBeGreaterThan(0.25);
    expect(cross).toBeLessThan(0.55);
    // with no shared part they are independent
    const [g0, g1] = siteShadowFields(new Rng(11), 2, 0, 0, 3000, 3000, 10, { ...p, siteCorrelation: 0 });
    expect(Math.abs(cov(g0.z, mean(g0.z), g1.z, mean(g1.z), 0))).toBeLessThan(0.12);
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
    const ratios = d.readings.map((r, i) => r.value / refNear(d, d.sensors[i].x, d.sensors[i].y)).filter(Number.isFinite);
    expect(ratios.length).toBeGreaterThan(0.9 * d.readings.length);
    expect(quantile(ratios, 0.5)).toBeGreaterThan(0.8);
    expect(quantile(ratios, 0.5)).toBeLessThan(1.25);
    const med = quantile(d.readings.map((r) => r.value), 0.5);
    expect(med).toBeGreaterThan(0.05);
    expect(med).toBeLessThan(5);
  });
});
