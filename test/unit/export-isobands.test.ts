// Isobands: the bands must tile the grid exactly, put every point in the band of its interpolated value,
// and agree with d3-contour's superlevel sets (an independent marching-squares implementation).

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contours } from 'd3-contour';
import { isobands, type Pt, type PolygonRings } from '../../src/io/export/isobands.ts';
import { CancelledError } from '../../src/domain/run.ts';

// ---- reference geometry written for the test (independent of the code under test)

function ringArea(r: Array<[number, number] | number[]>): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return a / 2;
}

function inRing(x: number, y: number, r: Pt[]): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(x: number, y: number, p: PolygonRings): boolean {
  if (!inRing(x, y, p[0])) return false;
  for (let h = 1; h < p.length; h++) if (inRing(x, y, p[h])) return false;
  return true;
}

/** Band index of a sorted-thresholds value: how many thresholds are <= v. */
function expectedBand(v: number, ts: number[]): number {
  return ts.filter((t) => v >= t).length;
}

function field(W: number, H: number, f: (c: number, r: number) => number): Float32Array {
  const v = new Float32Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) v[r * W + c] = f(c, r);
  return v;
}

type Indexed = Array<{ band: number; poly: PolygonRings; box: [number, number, number, number] }>;
const indexCache = new WeakMap<object, Indexed>();

/** Bands whose polygons contain (x, y) (bounding boxes first: the random-field case has hundreds of polygons). */
function bandsContaining(res: Awaited<ReturnType<typeof isobands>>, x: number, y: number): number[] {
  let idx = indexCache.get(res);
  if (!idx) {
    idx = res.bands.flatMap((b) =>
      b.polygons.map((poly) => {
        const xs = poly[0].map((p) => p[0]);
        const ys = poly[0].map((p) => p[1]);
        return { band: b.index, poly, box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] as [number, number, number, number] };
      }),
    );
    indexCache.set(res, idx);
  }
  // an array, not a set: a point inside two polygons of one band would be an overlap too
  const out: number[] = [];
  for (const e of idx) {
    if (x < e.box[0] || x > e.box[2] || y < e.box[1] || y > e.box[3]) continue;
    if (inPolygon(x, y, e.poly)) out.push(e.band);
  }
  return out;
}

let seed = 12345;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

describe('isobands', () => {
  const W = 64;
  const H = 48;
  const smooth = field(W, H, (c, r) => 2 + Math.sin(c / 7) * Math.cos(r / 5) + 0.02 * c);
  const ts = [1.5, 2, 2.5, 3];

  it('tiles the whole grid rectangle: band areas add up to W×H, outer rings counter-clockwise, holes clockwise', async () => {
    const res = await isobands(smooth, W, H, ts);
    expect(res.openChains).toBe(0);
    let total = 0;
    for (const b of res.bands) {
      let a = 0;
      for (const p of b.polygons) {
        expect(ringArea(p[0])).toBeGreaterThan(0);
        for (const h of p.slice(1)) expect(ringArea(h)).toBeLessThan(0);
        a += p.reduce((s, r) => s + ringArea(r), 0);
        const outside = p.flat().filter(([x, y]) => !(x >= 0 && x <= W && y >= 0 && y <= H));
        expect(outside).toEqual([]);
      }
      expect(a).toBeCloseTo(b.area, 9);
      total += a;
    }
    expect(Math.abs(total - W * H) / (W * H)).toBeLessThan(1e-12);
    expect(res.bands.map((b) => b.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('puts every cell centre in the band of its value, and random points in exactly one band', async () => {
    const res = await isobands(smooth, W, H, ts);
    const wrong: string[] = [];
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const v = smooth[r * W + c];
        if (ts.includes(v)) continue; // a node exactly on a threshold lies on the band outline
        const inside = bandsContaining(res, c + 0.5, H - r - 0.5);
        if (inside.length !== 1 || inside[0] !== expectedBand(v, ts)) wrong.push(`cell ${r},${c} value ${v}: bands ${inside}`);
      }
    }
    for (let k = 0; k < 2000; k++) {
      const x = rnd() * W;
      const y = rnd() * H;
      const n = bandsContaining(res, x, y).length;
      if (n !== 1) wrong.push(`point ${x},${y} in ${n} bands`);
    }
    expect(wrong).toEqual([]);
  });

  it('stays a partition when many values sit exactly on thresholds (integer data, random field)', async () => {
    const w = 40;
    const h = 30;
    const ints = field(w, h, () => Math.floor(rnd() * 6));
    const t2 = [1, 2, 3, 4, 5];
    const res = await isobands(ints, w, h, t2);
    expect(res.openChains).toBe(0);
    const total = res.bands.reduce((s, b) => s + b.area, 0);
    expect(total).toBeCloseTo(w * h, 9);
    const wrong: string[] = [];
    for (let k = 0; k < 2000; k++) {
      const x = rnd() * w;
      const y = rnd() * h;
      const n = bandsContaining(res, x, y).length;
      if (n !== 1) wrong.push(`point ${x},${y} in ${n} bands`);
    }
    expect(wrong).toEqual([]);
  });

  it('leaves nodata out: an interior NaN cell removes the 4 half-squares touching its centre (2 cells²)', async () => {
    const v = Float32Array.from(smooth);
    v[20 * W + 30] = NaN;
    const res = await isobands(v, W, H, ts);
    const total = res.bands.reduce((s, b) => s + b.area, 0);
    // each of the 4 squares around the NaN node loses the 2 of its 4 triangles that touch that node
    expect(total).toBeCloseTo(W * H - 2, 9);
    expect(bandsContaining(res, 30.5, H - 20.5)).toEqual([]);
    expect(bandsContaining(res, 32.5, H - 20.5).length).toBe(1);
  });

  it('agrees with d3-contour superlevel-set areas on the volcano data set', async () => {
    const volcano = JSON.parse(fs.readFileSync('node_modules/vega-datasets/data/volcano.json', 'utf8')) as { width: number; height: number; values: number[] };
    const { width: w, height: h } = volcano;
    const vals = Float32Array.from(volcano.values);
    const levels = [100, 110, 130, 150, 170, 190];
    const res = await isobands(vals, w, h, levels);
    expect(res.openChains).toBe(0);
    const d3 = contours().size([w, h]).thresholds(levels)(Array.from(vals));
    levels.forEach((t, k) => {
      const mp = d3[k].coordinates;
      const d3Area = mp.reduce((s, poly) => s + poly.reduce((a, ring, i) => a + Math.abs(ringArea(ring)) * (i === 0 ? 1 : -1), 0), 0);
      const perimeter = mp.flat(1).reduce((s, r) => s + r.slice(1).reduce((q, p, i) => q + Math.hypot(p[0] - r[i][0], p[1] - r[i][1]), 0), 0);
      const mine = res.bands.filter((b) => b.index >= k + 1).reduce((s, b) => s + b.area, 0);
      // both interpolate linearly along cell edges; inside a crossed cell ours follows 4 triangles, d3 a
      // straight segment, so the areas differ by a small fraction of a cell per cell of outline
      expect(Math.abs(mine - d3Area), `level ${t}`).toBeLessThan(0.1 * perimeter);
      if (d3Area > 500) expect(Math.abs(mine - d3Area) / d3Area, `level ${t}`).toBeLessThan(0.01);
    });
  });

  it('isolines of a cone f = distance lie on circles of the threshold radius', async () => {
    const w = 61;
    const h = 61;
    const cone = field(w, h, (c, r) => Math.hypot(c + 0.5 - 30.5, r + 0.5 - 30.5));
    const res = await isobands(cone, w, h, [8, 16]);
    for (const line of res.lines) {
      expect(line.chains.length).toBe(1);
      const chain = line.chains[0];
      expect(chain[0]).toEqual(chain[chain.length - 1]); // closed
      // grid model space has Y up; the cone is symmetric so the centre is (30.5, 30.5) either way;
      // linear interpolation of a cone cuts chords: a small radial error
      const worst = Math.max(...chain.map(([x, y]) => Math.abs(Math.hypot(x - 30.5, y - 30.5) - line.value)));
      expect(worst).toBeLessThan(0.1);
    }
    // the band between the two circles is an annulus: one polygon with one hole
    const ring = res.bands.find((b) => b.index === 1)!;
    expect(ring.polygons.length).toBe(1);
    expect(ring.polygons[0].length).toBe(2);
    expect(ring.area).toBeCloseTo(Math.PI * (16 * 16 - 8 * 8), -1);
  });

  it('can be cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(isobands(smooth, W, H, ts, { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
  });
});
