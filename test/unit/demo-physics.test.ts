// Physics of the synthetic demo scene, checked against formulas written here in float64 from their
// published form (3GPP TR 36.814 antenna pattern, TR 38.901 UMa path loss, E = √(S·Z0)), against the
// demo's documented grading of the NLOS excess (docs/demo.md: fraction 1 - exp(-n/3) of the UMa excess
// behind n building screens, n0 = 3) and against physical properties (1/d decay, shadowing behind buildings,
// power summation).

import { describe, expect, it } from 'vitest';
import { MACRO_PANEL, patternDb } from '../../src/demo/antenna.ts';
import { computeSiteFields, pointsOf, totalField } from '../../src/demo/field.ts';
import { makeScene, type Carrier, type Sector } from '../../src/demo/scene.ts';
import { segmentRectInterval, blockedBrute, screensBrute } from '../../src/demo/los.ts';
import { buildingsFromRects } from '../../src/demo/layout.ts';
import { pathLossDb, umaInverseLoss } from '../../src/demo/pathloss.ts';

const Z0 = 376.73;
const C = 299_792_458;
/** The documented grading of the NLOS excess: 1 - exp(-n/3) of the UMa excess behind n screens. */
const nlosShare = (n: number) => (n === 0 ? 0 : 1 - Math.exp(-n / 3));

/** TR 38.901 UMa LOS and NLOS path loss (dB), written out from Table 7.4.1-1. */
function umaRef(d2: number, hBS: number, hUT: number, fGHz: number): { los: number; nlos: number } {
  const d3 = Math.hypot(d2, hBS - hUT);
  const dbp = (4 * (hBS - 1) * (hUT - 1) * fGHz * 1e9) / C;
  const pl1 = 28 + 22 * Math.log10(d3) + 20 * Math.log10(fGHz);
  const pl2 = 28 + 40 * Math.log10(d3) + 20 * Math.log10(fGHz) - 9 * Math.log10(dbp ** 2 + (hBS - hUT) ** 2);
  const los = d2 <= dbp ? pl1 : pl2;
  return { los, nlos: Math.max(los, 13.54 + 39.08 * Math.log10(d3) + 20 * Math.log10(fGHz) - 0.6 * (hUT - 1.5)) };
}

const oneSector = (az = 0, mech = 0, elec = 0): Sector[] => [{ azimuthDeg: az, mechTiltDeg: mech, elecTiltDeg: elec }];
const carrier = (eirpDbm = 60, freqMHz = 1800): Carrier[] => [{ band: 'test', freqMHz, eirpDbm }];
/** A panel with no vertical directivity: isolates the horizontal pattern and the path loss. */
const FLAT_VERTICAL = { ...MACRO_PANEL, theta3dB: 1e9 };

async function fieldAt(scene: ReturnType<typeof makeScene>, xs: number[], ys: number[], h: number) {
  const f = await computeSiteFields(scene, pointsOf(xs, ys, h));
  return { e: totalField(f), los: f.los };
}

describe('antenna pattern (3GPP TR 36.814)', () => {
  it('is -3 dB at half the beamwidths and floored at the front-to-back ratio', () => {
    const p = MACRO_PANEL;
    expect(patternDb(p, 0, 5, 0, 5)).toBeCloseTo(0, 12);
    expect(patternDb(p, p.phi3dB / 2, 0, 0, 0)).toBeCloseTo(-3, 12);
    expect(patternDb(p, -p.phi3dB / 2, 0, 0, 0)).toBeCloseTo(-3, 12);
    expect(patternDb(p, 0, 4 + p.theta3dB / 2, 0, 4)).toBeCloseTo(-3, 12);
    expect(patternDb(p, 0, 4 - p.theta3dB / 2, 0, 4)).toBeCloseTo(-3, 12);
    expect(patternDb(p, 180, 0, 0, 0)).toBe(-p.am);
    expect(patternDb(p, 0, 60, 0, 0)).toBe(-p.slaV); // far below the main lobe: side-lobe level
    // angles wrap: 350° off boresight is 10° off
    expect(patternDb(p, 350, 0, 0, 0)).toBeCloseTo(patternDb(p, -10, 0, 0, 0), 12);
  });

  it('projects mechanical tilt by cos(φ), electrical tilt at every azimuth', () => {
    const p = MACRO_PANEL;
    // at φ = 60°, a 6° mechanical tilt acts as 3°; the combined loss is A_H + A_V
    const aH = 12 * (60 / p.phi3dB) ** 2;
    const aV = 12 * ((3 - 3) / p.theta3dB) ** 2;
    expect(patternDb(p, 60, 3, 6, 0)).toBeCloseTo(-Math.min(aH + aV, p.am), 10);
    const aV2 = 12 * ((3 - 6) / p.theta3dB) ** 2;
    expect(patternDb(p, 60, 3, 0, 6)).toBeCloseTo(-Math.min(aH + aV2, p.am), 10);
  });
});

describe('path loss', () => {
  it('the multi-frequency UMa shortcut equals 10^(-PL/10) of the per-frequency formula', () => {
    const f = [0.806, 0.947, 1.842, 2.14, 2.655, 3.55];
    const out = new Float64Array(f.length);
    let seed = 7;
    const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
    for (let k = 0; k < 500; k++) {
      const d2 = k < 20 ? r() * 12 : 5 + r() * 3000; // includes the < 10 m clamp
      const hBS = 15 + r() * 30;
      const hUT = 1 + r() * 5;
      const d3 = Math.hypot(d2, hBS - hUT);
      const nlos = k % 3 === 0 ? 0 : k % 3 === 1 ? 1 : r(); // LOS, full NLOS, graded
      umaInverseLoss(d2, d3, hBS, hUT, f, nlos, out);
      f.forEach((fc, i) => expect(out[i] / 10 ** (-pathLossDb('uma', d2, d3, hBS, hUT, fc, nlos) / 10)).toBeCloseTo(1, 10));
    }
  });
});

describe('field of a single site', () => {
  it('free space: E = √(Z0·EIRP/(4π))/d on boresight', async () => {
    const scene = makeScene({
      sites: [{ id: 'A', x: 0, y: 0, height: 30, sectors: oneSector(0), carriers: carrier(60) }],
      model: 'free-space',
      pattern: FLAT_VERTICAL,
    });
    const ds = [50, 100, 250, 500, 900];
    const { e } = await fieldAt(scene, ds.map(() => 0), ds, 30);
    const eirpW = 1000;
    ds.forEach((d, i) => expect(e[i] / (Math.sqrt((Z0 * eirpW) / (4 * Math.PI)) / d)).toBeCloseTo(1, 9));
    // the classic rule of thumb E ≈ √(30·P)/d
    expect(e[1]).toBeCloseTo(Math.sqrt(30 * eirpW) / 100, 2);
  });

  it('UMa LOS and NLOS match TR 38.901 Table 7.4.1-1 with the TR 36.814 pattern', async () => {
    const hBS = 28;
    const hUT = 1.5;
    const f = 2140;
    const sec: Sector = { azimuthDeg: 30, mechTiltDeg: 2, elecTiltDeg: 4 };
    const pts: Array<[number, number]> = [[40, 120], [200, 150], [-300, 500], [700, -100], [30, 900]];
    /** Field with n building screens on the ray (0 = LOS). */
    const ref = (x: number, y: number, n: number) => {
      const d2 = Math.hypot(x, y);
      const u = umaRef(d2, hBS, hUT, f / 1000);
      const pl = u.los + nlosShare(n) * (u.nlos - u.los);
      // pattern
      let phi = (Math.atan2(x, y) * 180) / Math.PI - sec.azimuthDeg;
      phi = ((phi + 540) % 360) - 180;
      const theta = (Math.atan2(hBS - hUT, d2) * 180) / Math.PI;
      const tilt = sec.elecTiltDeg + sec.mechTiltDeg * Math.cos((phi * Math.PI) / 180);
      const aH = Math.min(12 * (phi / 65) ** 2, 25);
      const aV = Math.min(12 * ((theta - tilt) / 7) ** 2, 20);
      const g = 10 ** (-Math.min(aH + aV, 25) / 10);
      const lambda = C / (f * 1e6);
      const s = (10 ** ((58 - 30) / 10) * g * 4 * Math.PI) / lambda ** 2 / 10 ** (pl / 10);
      return Math.sqrt(s * Z0);
    };
    const sites = [{ id: 'A', x: 0, y: 0, height: hBS, sectors: [sec], carriers: carrier(58, f) }];
    const open = makeScene({ sites });
    const r1 = await fieldAt(open, pts.map((p) => p[0]), pts.map((p) => p[1]), hUT);
    pts.forEach(([x, y], i) => {
      expect(r1.los[0][i]).toBe(1);
      expect(r1.e[i] / ref(x, y, 0)).toBeCloseTo(1, 9);
    });
    // a tall building around every receiver: one screen on every link
    const walls = pts.map(([x, y]) => ({ xmin: x - 3, ymin: y - 3, xmax: x + 3, ymax: y + 3, height: 60 }));
    const blocked = makeScene({ sites, buildings: walls });
    const r2 = await fieldAt(blocked, pts.map((p) => p[0]), pts.map((p) => p[1]), hUT);
    pts.forEach(([x, y], i) => {
      expect(r2.los[0][i]).toBe(0);
      expect(r2.e[i] / ref(x, y, 1)).toBeCloseTo(1, 9);
    });
    // a closed ring of tall buildings 13 m further out (a courtyard around the house) is a second screen
    const ring = ([x, y]: [number, number]) => [
      { xmin: x - 20, ymin: y - 20, xmax: x + 20, ymax: y - 16, height: 60 },
      { xmin: x - 20, ymin: y + 16, xmax: x + 20, ymax: y + 20, height: 60 },
      { xmin: x - 20, ymin: y - 16, xmax: x - 16, ymax: y + 16, height: 60 },
      { xmin: x + 16, ymin: y - 16, xmax: x + 20, ymax: y + 16, height: 60 },
    ];
    const twice = makeScene({ sites, buildings: [...walls, ...pts.flatMap(ring)] });
    const r3 = await fieldAt(twice, pts.map((p) => p[0]), pts.map((p) => p[1]), hUT);
    pts.forEach(([x, y], i) => expect(r3.e[i] / ref(x, y, 2)).toBeCloseTo(1, 9));
  });

  it('the NLOS excess grows with the number of building rows towards the full UMa NLOS loss', async () => {
    // site at the origin, receiver 300 m north; k rows of tall buildings (10 m deep) across the ray, 20 m apart
    const hBS = 30;
    const f = 1800;
    const site = { id: 'A', x: 0, y: 0, height: hBS, sectors: oneSector(0, 0, 4), carriers: carrier(60, f) };
    const rows = (k: number) => Array.from({ length: k }, (_, j) => ({ xmin: -20, ymin: 280 - 20 * j, xmax: 20, ymax: 290 - 20 * j, height: 60 }));
    const open = (await fieldAt(makeScene({ sites: [site] }), [0], [300], 1.5)).e[0];
    const u = umaRef(300, hBS, 1.5, f / 1000);
    let prev = open;
    for (const k of [1, 2, 3, 5, 8]) {
      const e = (await fieldAt(makeScene({ sites: [site], buildings: rows(k) }), [0], [300], 1.5)).e[0];
      const excessDb = 20 * Math.log10(open / e);
      expect(excessDb).toBeCloseTo(nlosShare(k) * (u.nlos - u.los), 9);
      expect(e).toBeLessThan(prev);
      prev = e;
    }
    // behind many rows the field settles at the UMa NLOS value (within 0.6 dB after 13 rows)
    const deep = (await fieldAt(makeScene({ sites: [site], buildings: rows(13) }), [0], [300], 1.5)).e[0];
    expect(Math.abs(20 * Math.log10(open / deep) - (u.nlos - u.los))).toBeLessThan(0.6);
  });

  it('counts a row of adjoining buildings (and lots a few metres apart) as one screen', () => {
    // ray from (0, 300, 1.5) to (0, 0, 30) in the city frame; buildings across it at y 240–260
    const screens = (rects: Array<[number, number, number, number]>) =>
      screensBrute(buildingsFromRects(rects.map(([u0, v0, u1, v1]) => ({ u0, v0, u1, v1, h: 40 }))), 0, 300, 1.5, 0, 0, 30);
    expect(screens([])).toBe(0);
    expect(screens([[-10, 240, 10, 250]])).toBe(1);
    // two lots back to back along the ray: one row
    expect(screens([[-10, 240, 10, 250], [-10, 250, 10, 260]])).toBe(1);
    // a 2 m passage between them: still one screen; a 20 m courtyard: two
    expect(screens([[-10, 240, 10, 250], [-10, 252, 10, 262]])).toBe(1);
    expect(screens([[-10, 240, 10, 250], [-10, 270, 10, 280]])).toBe(2);
    // near the mast a 40 m roof still blocks (a second screen), a 20 m roof is passed over (ray ≈ 27 m there)
    expect(screens([[-10, 240, 10, 250], [-10, 20, 10, 30]])).toBe(2);
    const low = screensBrute(buildingsFromRects([{ u0: -10, v0: 240, u1: 10, v1: 250, h: 40 }, { u0: -10, v0: 20, u1: 10, v1: 30, h: 20 }]), 0, 300, 1.5, 0, 0, 30);
    expect(low).toBe(1);
  });

  it('decays as 1/d in free space once beyond the main lobe near region', async () => {
    const scene = makeScene({
      sites: [{ id: 'A', x: 0, y: 0, height: 30, sectors: oneSector(0), carriers: carrier(60) }],
      model: 'free-space',
      halfSize: 5000,
    });
    const ds = [150, 250, 500, 1000, 2000, 4000];
    const { e } = await fieldAt(scene, ds.map(() => 0), ds, 1.5);
    const ed = ds.map((d, i) => e[i] * d);
    const farField = Math.sqrt((Z0 * 1000) / (4 * Math.PI));
    // near the mast the receiver is below the vertical main lobe: E·d is far below its far-field value
    expect(ed[0]).toBeLessThan(0.3 * farField);
    // far out E·d settles at √(Z0·EIRP/4π): the field falls as 1/d
    expect(ed[4] / ed[5]).toBeGreaterThan(0.9);
    expect(ed[4] / ed[5]).toBeLessThan(1.1);
    expect(ed[5] / farField).toBeGreaterThan(0.9);
    expect(ed[5] / farField).toBeLessThanOrEqual(1);
    // with no tilt the lobe meets the ground far out: the field only falls steadily from ~500 m on
    for (let i = 3; i < ds.length; i++) expect(e[i]).toBeLessThan(e[i - 1]);
  });

  it('decays with the UMa exponents: d^-1.1 before the breakpoint, d^-2 beyond (flat vertical pattern)', async () => {
    const scene = makeScene({
      sites: [{ id: 'A', x: 0, y: 0, height: 25, sectors: oneSector(0), carriers: carrier(60, 1800) }],
      pattern: FLAT_VERTICAL,
      halfSize: 5000,
    });
    // d'BP = 4·24·0.5·1.8e9/c ≈ 288 m at 1.5 m
    const ds = [60, 120, 240, 600, 1200, 2400];
    const { e } = await fieldAt(scene, ds.map(() => 0), ds, 1.5);
    const slope = (i: number, j: number) => Math.log(e[j] / e[i]) / Math.log(ds[j] / ds[i]);
    // slopes in d3D are exactly -1.1 and -2; in d2D they are slightly steeper near the mast
    expect(slope(1, 2)).toBeGreaterThan(-1.2);
    expect(slope(1, 2)).toBeLessThan(-1.0);
    expect(slope(4, 5)).toBeGreaterThan(-2.05);
    expect(slope(4, 5)).toBeLessThan(-1.95);
  });

  it('falls along boresight with the real panel pattern beyond the point where the main lobe meets the street', async () => {
    const scene = makeScene({ sites: [{ id: 'A', x: 0, y: 0, height: 30, sectors: oneSector(0, 2, 4), carriers: carrier(60) }] });
    // main lobe (6° down) reaches 1.5 m at 28.5/tan 6° ≈ 271 m
    const ds = Array.from({ length: 30 }, (_, i) => 300 + 25 * i);
    const { e } = await fieldAt(scene, ds.map(() => 0), ds, 1.5);
    for (let i = 1; i < ds.length; i++) expect(e[i]).toBeLessThan(e[i - 1]);
    // and is weaker right under the mast (below the main lobe) than where the lobe lands
    const near = await fieldAt(scene, [0], [40], 1.5);
    expect(near.e[0]).toBeLessThan(e[0]);
  });
});

describe('buildings', () => {
  const site = { id: 'A', x: 0, y: 0, height: 30, sectors: oneSector(0), carriers: carrier(60) };

  it('a point behind a building gets less field than its mirror image in line of sight', async () => {
    // receivers at (±60, 300) are mirror images across the boresight (same distance, same gain)
    const building = { xmin: 40, ymin: 265, xmax: 80, ymax: 290, height: 18 };
    const scene = makeScene({ sites: [site], buildings: [building] });
    const r = await fieldAt(scene, [60, -60], [300, 300], 1.5);
    expect(r.los[0][0]).toBe(0);
    expect(r.los[0][1]).toBe(1);
    // one screen: 28 % of the UMa NLOS excess (about 8 dB at 300 m)
    const u = umaRef(Math.hypot(60, 300), 30, 1.5, 1.8);
    expect(20 * Math.log10(r.e[1] / r.e[0])).toBeCloseTo(nlosShare(1) * (u.nlos - u.los), 9);
    expect(r.e[0]).toBeLessThan(r.e[1] / 2.2);
    // without the building both are equal
    const open = await fieldAt(makeScene({ sites: [site] }), [60, -60], [300, 300], 1.5);
    expect(open.e[0]).toBeCloseTo(open.e[1], 12);
    expect(open.e[1]).toBeCloseTo(r.e[1], 12);
  });

  it('a low building near the mast does not block: the ray passes over its roof', async () => {
    // the ray from (0, 300, 1.5) to the antenna at 30 m is ~24 m high at y = 50 (and 14 m at y = 150)
    const low = makeScene({ sites: [site], buildings: [{ xmin: -10, ymin: 45, xmax: 10, ymax: 55, height: 20 }] });
    const high = makeScene({ sites: [site], buildings: [{ xmin: -10, ymin: 45, xmax: 10, ymax: 55, height: 26 }] });
    const mid = makeScene({ sites: [site], buildings: [{ xmin: -10, ymin: 145, xmax: 10, ymax: 155, height: 20 }] });
    expect((await fieldAt(low, [0], [300], 1.5)).los[0][0]).toBe(1);
    expect((await fieldAt(high, [0], [300], 1.5)).los[0][0]).toBe(0);
    expect((await fieldAt(mid, [0], [300], 1.5)).los[0][0]).toBe(0);
  });

  it('segment–rectangle test agrees with dense sampling of the segment', () => {
    let seed = 12345;
    const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 100 - 50;
    for (let k = 0; k < 2000; k++) {
      const [ua, va, ub, vb] = [r(), r(), r(), r()];
      const [u0, v0] = [r() / 2, r() / 2];
      const [u1, v1] = [u0 + Math.abs(r()) / 3, v0 + Math.abs(r()) / 3];
      const iv = segmentRectInterval(ua, va, ub, vb, u0, v0, u1, v1);
      let first = -1;
      let last = -1;
      const N = 20000;
      for (let i = 0; i <= N; i++) {
        const t = i / N;
        const u = ua + t * (ub - ua);
        const v = va + t * (vb - va);
        if (u >= u0 && u <= u1 && v >= v0 && v <= v1) {
          if (first < 0) first = t;
          last = t;
        }
      }
      if (first >= 0) {
        expect(iv).not.toBeNull();
        expect(iv![0]).toBeLessThanOrEqual(first + 1e-9);
        expect(iv![1]).toBeGreaterThanOrEqual(last - 1e-9);
        expect(first - iv![0]).toBeLessThan(2 / N);
        expect(iv![1] - last).toBeLessThan(2 / N);
      } else if (iv) {
        // a miss by sampling can only be a crossing shorter than the sampling step
        expect(iv[1] - iv[0]).toBeLessThan(2 / N);
      }
    }
  });

  it('the brute-force LOS reference sees the same blocking as the field computation', async () => {
    const b = [{ xmin: 40, ymin: 265, xmax: 80, ymax: 290, height: 18 }];
    const blds = buildingsFromRects(b.map((q) => ({ u0: q.xmin, v0: q.ymin, u1: q.xmax, v1: q.ymax, h: q.height })));
    expect(blockedBrute(blds, 60, 300, 1.5, 0, 0, 30)).toBe(true);
    expect(blockedBrute(blds, -60, 300, 1.5, 0, 0, 30)).toBe(false);
  });
});

describe('power summation', () => {
  it('two sources combine as √(E1² + E2²); load shares scale power', async () => {
    const a = { id: 'A', x: -200, y: 0, height: 30, sectors: oneSector(60, 1, 3), carriers: carrier(59, 800) };
    const b = { id: 'B', x: 250, y: 120, height: 24, sectors: oneSector(250, 0, 6), carriers: carrier(61, 2600) };
    const xs = [0, 100, -150, 300, -400];
    const ys = [0, 200, -300, -50, 400];
    const e1 = (await fieldAt(makeScene({ sites: [a] }), xs, ys, 3.5)).e;
    const e2 = (await fieldAt(makeScene({ sites: [b] }), xs, ys, 3.5)).e;
    const both = makeScene({ sites: [a, b] });
    const f = await computeSiteFields(both, pointsOf(xs, ys, 3.5));
    const e12 = totalField(f);
    xs.forEach((_, i) => {
      expect(e12[i]).toBeCloseTo(Math.sqrt(e1[i] ** 2 + e2[i] ** 2), 12);
      expect(e12[i]).toBeGreaterThan(Math.max(e1[i], e2[i]));
      expect(e12[i]).toBeLessThan(e1[i] + e2[i]);
    });
    const scaled = totalField(f, [0.3, 0.65]);
    xs.forEach((_, i) => expect(scaled[i]).toBeCloseTo(Math.sqrt(0.3 * e1[i] ** 2 + 0.65 * e2[i] ** 2), 12));
  });

  it('carriers of one sector add by power too', async () => {
    const two: Carrier[] = [
      { band: 'L8', freqMHz: 806, eirpDbm: 57 },
      { band: 'L18', freqMHz: 1842, eirpDbm: 58 },
    ];
    const mk = (c: Carrier[]) => makeScene({ sites: [{ id: 'A', x: 0, y: 0, height: 30, sectors: oneSector(0, 0, 5), carriers: c }] });
    const xs = [50, -120, 300];
    const ys = [300, 80, 600];
    const e1 = (await fieldAt(mk([two[0]]), xs, ys, 1.5)).e;
    const e2 = (await fieldAt(mk([two[1]]), xs, ys, 1.5)).e;
    const e12 = (await fieldAt(mk(two), xs, ys, 1.5)).e;
    xs.forEach((_, i) => expect(e12[i]).toBeCloseTo(Math.sqrt(e1[i] ** 2 + e2[i] ** 2), 12));
  });
});
