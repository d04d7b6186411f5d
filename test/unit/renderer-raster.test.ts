// The renderer's raster pipeline, in Node: where each overlay pixel takes its value from (reprojection of a
// projected grid onto Web Mercator), how values become colours (continuous, classed, threshold lines), the
// per-sensor aggregation used to colour markers, and the error map against a reference.

import { describe, expect, it } from 'vitest';
import proj4 from 'proj4';
import { interpolateViridis } from 'd3-scale-chromatic';
import { gridFootprint, identityGeometry, warpGeometry, oversample } from '../../renderer/src/lib/overlay-geometry.ts';
import { colourize } from '../../renderer/src/lib/colourize.ts';
import { classBreaks, parseColour, parseThresholds, rampLut, type RasterStyle } from '../../renderer/src/lib/ramps.ts';
import { aggregateBySensor } from '../../renderer/src/lib/aggregate.ts';
import { errorMap } from '../../renderer/src/lib/error-map.ts';
import type { ExposureMap, Grid, Reading, ReferenceMap } from '../../src/domain/types.ts';

const UTM31 = '+proj=utm +zone=31 +datum=WGS84 +units=m +no_defs';

// Web Mercator, written out here (spherical, R = 6378137) as the reference for the image's geometry
const R = 6378137;
const lonOfX = (x: number) => (x / R) * (180 / Math.PI);
const latOfY = (y: number) => (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * (180 / Math.PI);
const mercX = (lon: number) => R * lon * (Math.PI / 180);
const mercY = (lat: number) => R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));

describe('overlay geometry', () => {
  // a 640 m × 480 m grid in UTM 31N, 200 km west of the zone's central meridian (near Le Havre), where grid
  // north is ~1.7° off true north: the warp has to rotate the raster, not just scale it
  const grid: Grid = { crs: 'EPSG:32631', bounds: { xmin: 300000, ymin: 5485000, xmax: 300640, ymax: 5485480 }, width: 64, height: 48 };

  it('takes each pixel from the cell under its centre (exact reprojection per pixel as reference)', () => {
    const g = warpGeometry(grid, UTM31);
    const [[south, west], [north, east]] = g.bounds;
    const toUtm = proj4('EPSG:4326', UTM31);
    const x0 = mercX(west);
    const x1 = mercX(east);
    const y0 = mercY(south);
    const y1 = mercY(north);
    let compared = 0;
    let same = 0;
    for (let j = 0; j < g.height; j += 2) {
      for (let i = 0; i < g.width; i += 2) {
        const lon = lonOfX(x0 + ((i + 0.5) / g.width) * (x1 - x0));
        const lat = latOfY(y1 - ((j + 0.5) / g.height) * (y1 - y0));
        const [x, y] = toUtm.forward([lon, lat]);
        const col = Math.floor((x - grid.bounds.xmin) / 10);
        const row = Math.floor((grid.bounds.ymax - y) / 10);
        const inside = col >= 0 && col < 64 && row >= 0 && row < 48;
        const got = g.index[j * g.width + i];
        compared++;
        if ((inside ? row * 64 + col : -1) === got) same++;
        else if (inside && got >= 0) {
          // only a neighbouring cell, right at a cell edge, may differ (bilinear lattice between exact points)
          expect(Math.abs(Math.floor(got / 64) - row)).toBeLessThanOrEqual(1);
          expect(Math.abs((got % 64) - col)).toBeLessThanOrEqual(1);
        }
      }
    }
    expect(same / compared).toBeGreaterThan(0.995);
  });

  it('bounds the image by the grid outline in WGS84, tightly', () => {
    const box = gridFootprint(grid, UTM31);
    const toLL = proj4(UTM31, 'EPSG:4326');
    const corners = [
      [grid.bounds.xmin, grid.bounds.ymin],
      [grid.bounds.xmin, grid.bounds.ymax],
      [grid.bounds.xmax, grid.bounds.ymin],
      [grid.bounds.xmax, grid.bounds.ymax],
    ].map((p) => toLL.forward(p));
    for (const [lon, lat] of corners) {
      expect(lon).toBeGreaterThanOrEqual(box.west - 1e-12);
      expect(lon).toBeLessThanOrEqual(box.east + 1e-12);
      expect(lat).toBeGreaterThanOrEqual(box.south - 1e-12);
      expect(lat).toBeLessThanOrEqual(box.north + 1e-12);
    }
    // over 640 m the edges are straight to well under a millimetre: the corners are the extremes
    expect(Math.min(...corners.map((c) => c[0]))).toBeCloseTo(box.west, 9);
    expect(Math.max(...corners.map((c) => c[1]))).toBeCloseTo(box.north, 9);
    // a rotated grid leaves the corners of its bounding box empty, but covers most of it
    const g = warpGeometry(grid, UTM31);
    const covered = g.index.reduce((n, v) => n + (v >= 0 ? 1 : 0), 0) / g.index.length;
    expect(covered).toBeGreaterThan(0.9);
    expect(covered).toBeLessThan(1);
  });

  it('draws a local (plain metres) grid as is, oversampled', () => {
    const local: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 30, ymax: 20 }, width: 3, height: 2 };
    const s = oversample(local);
    expect(s).toBe(4);
    const g = identityGeometry(local);
    expect([g.width, g.height]).toEqual([12, 8]);
    expect(g.bounds).toEqual([[0, 0], [20, 30]]);
    expect(g.index[0]).toBe(0);
    expect(g.index[11]).toBe(2); // first row, last pixel -> cell (0, 2)
    expect(g.index[7 * 12 + 11]).toBe(5); // last pixel -> cell (1, 2)
  });
});

describe('colouring', () => {
  const geom = (w: number, h: number) => identityGeometry({ crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: w, ymax: h }, width: w, height: h });

  it('maps values linearly onto the ramp; no data is transparent', () => {
    const g = geom(2, 2);
    const style: RasterStyle = { ramp: 'viridis', domain: [0, 1], mode: 'continuous', breaks: [], outline: [] };
    const rgba = colourize(new Float32Array([0, 1, NaN, 0.5]), g, style);
    const px = (cell: number) => {
      const row = Math.floor(cell / 2);
      const col = cell % 2;
      const p = (row * 4 * g.width + col * 4) * 4; // top-left output pixel of the cell (oversampled by 4)
      return Array.from(rgba.slice(p, p + 4));
    };
    expect(px(0)).toEqual([...parseColour(interpolateViridis(0)), 255]);
    expect(px(1)).toEqual([...parseColour(interpolateViridis(1)), 255]);
    expect(px(2)[3]).toBe(0);
    // 0.5 -> LUT entry round(0.5·255) = 128, i.e. the ramp at 128/255
    expect(px(3)).toEqual([...parseColour(interpolateViridis(128 / 255)), 255]);
  });

  it('classed mode gives one colour per band, the middle of the band on the ramp', () => {
    const g = geom(3, 1);
    const style: RasterStyle = { ramp: 'viridis', domain: [0, 1], mode: 'classed', breaks: [0.3, 0.7], outline: [] };
    expect(classBreaks(style)).toEqual([0.3, 0.7]);
    const rgba = colourize(new Float32Array([0.1, 0.5, 0.9]), g, style);
    const lut = rampLut('viridis');
    for (const [cell, mid] of [[0, 0.15], [1, 0.5], [2, 0.85]] as const) {
      const p = cell * 4 * 4;
      const k = Math.round(mid * 255) * 3;
      expect(Array.from(rgba.slice(p, p + 3)), `cell ${cell}`).toEqual([lut[k], lut[k + 1], lut[k + 2]]);
    }
    // without thresholds: five equal bands
    expect(classBreaks({ domain: [0, 10], breaks: [] })).toEqual([2, 4, 6, 8]);
  });

  it('draws a dark line where the field crosses a threshold, and nowhere else', () => {
    const w = 8;
    const h = 8;
    const values = new Float32Array(w * h).map((_, p) => (p % w < 4 ? 1 : 10));
    const g = geom(w, h);
    const rgba = colourize(values, g, { ramp: 'viridis', domain: [0, 10], mode: 'continuous', breaks: [], outline: [6] });
    const dark: number[] = [];
    for (let p = 0; p < g.width * g.height; p++) if (rgba[p * 4] === 17 && rgba[p * 4 + 1] === 17 && rgba[p * 4 + 2] === 17) dark.push(p % g.width);
    // one pixel column: the last pixel of the 4th cell column (oversampled ×4 -> x = 15), on every row
    expect(dark.length).toBe(g.height);
    expect(new Set(dark)).toEqual(new Set([15]));
  });

  it('parses thresholds as typed by users', () => {
    expect(parseThresholds('6, 1;3')).toEqual([1, 3, 6]);
    expect(parseThresholds('')).toEqual([]);
    expect(parseThresholds('1, x')).toBeNull();
  });
});

describe('sensor aggregation', () => {
  const r = (sensorId: string, time: number | null, value: number): Reading => ({ sensorId, time, value, band: null, quality: 0 });
  const readings = [r('a', 1, 1), r('a', 3, 5), r('a', 2, 3), r('a', 4, 100), r('b', null, 2), r('b', null, NaN)];

  it('reduces each sensor like the run selection does', () => {
    expect(aggregateBySensor(readings, 'mean').get('a')).toBe(27.25);
    expect(aggregateBySensor(readings, 'median').get('a')).toBe(4);
    expect(aggregateBySensor(readings, 'max').get('a')).toBe(100);
    // linear interpolation between order statistics: 5 + 0.85·(100 − 5)
    expect(aggregateBySensor(readings, 'p95').get('a')).toBeCloseTo(85.75, 10);
    expect(aggregateBySensor(readings, 'last').get('a')).toBe(100);
    // NaN readings are ignored
    expect(aggregateBySensor(readings, 'mean').get('b')).toBe(2);
  });
});

describe('error map against the reference', () => {
  it('is map − reference at each cell, with RMSE/MAE/bias over the cells that have both', () => {
    const grid: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 4, ymax: 2 }, width: 4, height: 2 };
    const m = { grid, values: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) } as ExposureMap;
    // the reference covers only the left half, at twice the resolution
    const refGrid: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 2, ymax: 2 }, width: 4, height: 4 };
    const refValues = new Float32Array(16).map((_, p) => (p % 4 < 2 ? 0.5 : 1.5) + (p >= 8 ? 10 : 0));
    const em = errorMap(m, { grid: refGrid, values: refValues } as ReferenceMap);
    // cell (0,0) centre (0.5, 1.5) -> ref row 1, col 1 (0.5); cell (0,1) centre (1.5, 1.5) -> ref col 3 (1.5)
    // cell (1,0) centre (0.5, 0.5) -> ref row 3 (10.5); cell (1,1) -> 11.5
    const expected = [1 - 0.5, 2 - 1.5, NaN, NaN, 5 - 10.5, 6 - 11.5, NaN, NaN];
    expect(Array.from(em.values)).toEqual(expected);
    const e = [0.5, 0.5, -5.5, -5.5];
    expect(em.stats.n).toBe(4);
    expect(em.stats.rmse).toBeCloseTo(Math.sqrt(e.reduce((s, v) => s + v * v, 0) / 4), 12);
    expect(em.stats.mae).toBeCloseTo(3, 12);
    expect(em.stats.bias).toBeCloseTo(-2.5, 12);
    expect(em.maxAbs).toBe(5.5);
    // |e| sorted = [0.5, 0.5, 5.5, 5.5]: the 98th percentile (nearest rank below) is the largest here
    expect(em.p98Abs).toBe(5.5);
  });
});
