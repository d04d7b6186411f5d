// Unit tests of the raster side of exports: our TIFF encoder read back by geotiff.js (an independent
// decoder), world files, colour scales and ramps, the legend image and its bitmap font, number formats,
// PNG layers decoded with pngjs, and output path rules.

import { describe, expect, it } from 'vitest';
import { fromArrayBuffer } from 'geotiff';
import { PNG } from 'pngjs';
import { interpolateViridis, interpolateYlOrRd } from 'd3-scale-chromatic';
import type { ExposureMap, Grid } from '../../src/domain/types.ts';
import { UserError } from '../../src/domain/errors.ts';
import { encodeFloat32Tiff } from '../../src/io/export/tiff.ts';
import { geoTiffBytes, GEOTIFF_NODATA } from '../../src/io/export/geotiff.ts';
import { worldFile, pngFiles } from '../../src/io/export/png.ts';
import { classLabels, classOf, makeScale, niceTicks, parseColour, parseThresholds, renderLegend, resolveRamp } from '../../src/io/export/colour.ts';
import { hasGlyph } from '../../src/io/export/font.ts';
import { formatFloat32, formatValue } from '../../src/io/export/text.ts';
import { outputPath } from '../../src/service/export.ts';
import { reprojectToLonLat } from '../../src/io/export/kmz.ts';
import { proj4Def } from '../../src/geo/crs.ts';
import proj4 from 'proj4';

function toArrayBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}

function testMap(crs: string, w: number, h: number, withVariance = true): ExposureMap {
  const grid: Grid = { crs, bounds: { xmin: 700000, ymin: 7000000, xmax: 700000 + 10 * w, ymax: 7000000 + 5 * h }, width: w, height: h };
  const values = new Float32Array(w * h);
  const variance = new Float32Array(w * h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    values[r * w + c] = 0.5 + Math.sin(c / 3) * Math.cos(r / 4) + r * 0.01;
    variance[r * w + c] = 0.01 * (1 + c);
  }
  values[3] = NaN;
  return { grid, values, variance: withVariance ? variance : undefined, method: 'idw', params: {}, backend: 'js', timings: { fit: 0, predict: 0, total: 0 }, diagnostics: {} };
}

let seed = 7;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

describe('TIFF encoder (read back with geotiff.js)', () => {
  for (const compress of [true, false]) {
    it(`two float32 bands survive exactly (${compress ? 'deflate + floating-point predictor' : 'uncompressed'})`, async () => {
      const w = 37;
      const h = 23; // odd sizes: strip and row boundaries are not aligned with anything
      const a = Float32Array.from({ length: w * h }, () => (rnd() - 0.5) * 1e3);
      const b = Float32Array.from({ length: w * h }, (_, i) => i * 0.125 - 7);
      a[5] = -0;
      a[6] = 3.4028234663852886e38;
      const tif = encodeFloat32Tiff({ width: w, height: h, bands: [a, b], tags: [], compress });
      const img = await (await fromArrayBuffer(toArrayBuffer(tif))).getImage();
      expect([img.getWidth(), img.getHeight(), img.getSamplesPerPixel()]).toEqual([w, h, 2]);
      const [ra, rb] = (await img.readRasters()) as unknown as Float32Array[];
      expect(Array.from(ra)).toEqual(Array.from(a));
      expect(Array.from(rb)).toEqual(Array.from(b));
    });
  }

  it('compresses a smooth field', () => {
    const w = 256;
    const h = 256;
    const f = Float32Array.from({ length: w * h }, (_, i) => Math.sin((i % w) / 40) + Math.cos(Math.floor(i / w) / 30));
    const packed = encodeFloat32Tiff({ width: w, height: h, bands: [f], tags: [], compress: true });
    expect(packed.length).toBeLessThan(0.7 * w * h * 4);
  });

  it('GeoTIFF tags: pixel scale, tie point, nodata, EPSG geokeys, band metadata', async () => {
    const map = testMap('EPSG:2154', 12, 9);
    const img = await (await fromArrayBuffer(toArrayBuffer(geoTiffBytes(map, { metadata: { EMFMAP_RUN: '7' } })))).getImage();
    expect(img.getResolution()).toEqual([10, -5, 0]);
    expect(img.getOrigin()).toEqual([700000, 7000045, 0]);
    expect(img.getGDALNoData()).toBe(GEOTIFF_NODATA);
    const keys = img.getGeoKeys()!;
    expect(keys.ProjectedCSTypeGeoKey).toBe(2154);
    expect(keys.GTModelTypeGeoKey).toBe(1);
    expect(keys.GTRasterTypeGeoKey).toBe(1);
    expect(await img.getGDALMetadata()).toMatchObject({ EMFMAP_RUN: '7' });
    const [v, sd] = (await img.readRasters()) as unknown as Float32Array[];
    expect(v[3]).toBe(GEOTIFF_NODATA); // NaN → nodata value
    expect(v[4]).toBe(map.values[4]);
    expect(sd[10]).toBeCloseTo(Math.sqrt(map.variance![10]), 6);
  });

  it('user-defined transverse Mercator geokeys for a proj4 CRS', async () => {
    const map = testMap('+proj=tmerc +lat_0=50.63 +lon_0=3.05 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs', 8, 8, false);
    const img = await (await fromArrayBuffer(toArrayBuffer(geoTiffBytes(map)))).getImage();
    const k = img.getGeoKeys()!;
    expect(img.getSamplesPerPixel()).toBe(1);
    expect(k.ProjectedCSTypeGeoKey).toBe(32767);
    expect(k.ProjCoordTransGeoKey).toBe(1); // CT_TransverseMercator
    expect(k.ProjNatOriginLatGeoKey).toBeCloseTo(50.63, 12);
    expect(k.ProjNatOriginLongGeoKey).toBeCloseTo(3.05, 12);
    expect(k.ProjScaleAtNatOriginGeoKey).toBe(1);
    expect(k.GeographicTypeGeoKey).toBe(4326);
  });

  it('refuses a CRS it cannot describe, with a clear message', () => {
    const map = testMap('+proj=robin +lon_0=0 +datum=WGS84 +units=m +no_defs', 8, 8, false);
    expect(() => geoTiffBytes(map)).toThrow(/robin cannot be written/);
  });
});

describe('world file', () => {
  it('holds pixel size, zero rotations, negative y size and the CENTRE of the upper-left pixel', () => {
    const g: Grid = { crs: 'EPSG:2154', bounds: { xmin: 1000, ymin: 2000, xmax: 1400, ymax: 2300 }, width: 40, height: 30 };
    expect(worldFile(g).trim().split('\n').map(Number)).toEqual([10, 0, 0, -10, 1005, 2295]);
    expect(worldFile(g, 2).trim().split('\n').map(Number)).toEqual([5, 0, 0, -5, 1002.5, 2297.5]);
  });
});

describe('colour scales', () => {
  it('reads both colour spellings of d3-scale-chromatic', () => {
    expect(parseColour('#440154')).toEqual([0x44, 0x01, 0x54]);
    expect(parseColour('rgb(255, 255, 204)')).toEqual([255, 255, 204]);
  });

  it('knows its ramps and names the choices for an unknown one', () => {
    expect(resolveRamp(undefined).name).toBe('viridis');
    expect(resolveRamp('YlOrRd').at(1)).toEqual(parseColour(interpolateYlOrRd(1)));
    expect(() => resolveRamp('rainbow')).toThrow(UserError);
    expect(() => resolveRamp('rainbow')).toThrow(/viridis, magma/);
  });

  it('classes values with the same rule as the isobands: a value equal to a threshold is above it', () => {
    const ts = [1, 3, 6];
    expect([0.99, 1, 2.999, 3, 5.9, 6, 100].map((v) => classOf(v, ts))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('classed colours sample the ramp evenly; continuous ends are the ramp ends; nodata has no colour', () => {
    const values = Float32Array.from([0.2, 0.5, 2, 4, 7, NaN]);
    const classed = makeScale(values, { thresholds: [1, 3, 6] });
    expect(classed.classColours).toEqual([0, 1 / 3, 2 / 3, 1].map((t) => parseColour(interpolateViridis(t))));
    expect(classed.colour(4)).toEqual(parseColour(interpolateViridis(2 / 3)));
    expect(classed.colour(NaN)).toBeNull();
    const cont = makeScale(values);
    expect([cont.min, cont.max]).toEqual([Math.fround(0.2), 7]);
    expect(cont.colour(Math.fround(0.2))).toEqual(parseColour(interpolateViridis(0)));
    expect(cont.colour(7)).toEqual(parseColour(interpolateViridis(1)));
    // a flat map is still drawn (mid-ramp), not divided by zero
    expect(makeScale(Float32Array.from([2, 2, 2])).colour(2)).toEqual(parseColour(interpolateViridis(128 / 255)));
  });

  it('parses thresholds and rejects bad ones with a message that says why', () => {
    expect(parseThresholds('1,3,6')).toEqual([1, 3, 6]);
    expect(parseThresholds(' 0.5; 1 2 ')).toEqual([0.5, 1, 2]);
    expect(() => parseThresholds('1,x,6')).toThrow(/"x" is not a number/);
    expect(() => parseThresholds('3,1')).toThrow(/must increase/);
    expect(() => parseThresholds('1,1')).toThrow(/must increase/);
    expect(() => parseThresholds('')).toThrow(/at least one/);
  });

  it('nice ticks are round, evenly spaced and inside the range', () => {
    for (const [lo, hi] of [[0.13, 4.7], [0, 1], [12, 13.5], [0.0021, 0.0093], [-3, 250]]) {
      const t = niceTicks(lo, hi, 5);
      expect(t.length).toBeGreaterThanOrEqual(2);
      expect(t.length).toBeLessThanOrEqual(7);
      expect(t[0]).toBeGreaterThanOrEqual(lo);
      expect(t[t.length - 1]).toBeLessThanOrEqual(hi);
      const step = t[1] - t[0];
      const mant = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
      expect([1, 2, 2.5, 5].some((m) => Math.abs(mant - m) < 1e-9)).toBe(true);
      for (let i = 2; i < t.length; i++) expect(t[i] - t[i - 1]).toBeCloseTo(step, 9);
    }
  });
});

describe('legend', () => {
  it('has a glyph for every character a label can use', () => {
    const labels = [...classLabels([0.5, 1, 3, 6, 14.5, 41, 61]), 'E (V/m)', 'SD (V/m)'];
    for (let i = 0; i < 500; i++) labels.push(formatValue((rnd() - 0.3) * Math.pow(10, Math.floor(rnd() * 8) - 4)));
    const missing = new Set(labels.join('').split('').filter((c) => !hasGlyph(c)));
    expect([...missing]).toEqual([]);
  });

  it('draws one swatch per class in the class colours, with text', () => {
    const scale = makeScale(Float32Array.from([0.2, 8]), { thresholds: [1, 3, 6], ramp: 'ylorrd' });
    const img = renderLegend(scale, 'E (V/m)');
    const count = (rgb: number[]) => {
      let n = 0;
      for (let i = 0; i < img.width * img.height; i++) {
        if (img.data[4 * i] === rgb[0] && img.data[4 * i + 1] === rgb[1] && img.data[4 * i + 2] === rgb[2]) n++;
      }
      return n;
    };
    for (const c of scale.classColours) expect(count(c)).toBeGreaterThanOrEqual(24 * 18); // a full swatch
    expect(count([20, 20, 20])).toBeGreaterThan(200); // title and labels
    expect(img.width).toBeGreaterThan(60);
  });
});

describe('number formats', () => {
  it('float32 values print with the fewest digits that read back exactly', () => {
    for (let i = 0; i < 2000; i++) {
      const v = Math.fround((rnd() - 0.5) * Math.pow(10, Math.floor(rnd() * 10) - 5));
      const s = formatFloat32(v);
      expect(Math.fround(Number(s))).toBe(v);
      expect(s.replace(/^-?0?\.?0*/, '').replace(/e.*$/, '').replace('.', '').length).toBeLessThanOrEqual(9);
    }
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(NaN)).toBe('');
  });

  it('legend labels use at most 3 significant digits', () => {
    expect([6, 0.5, 14.5, 41.25, 0.123456, 1234.5, 0].map(formatValue)).toEqual(['6', '0.5', '14.5', '41.3', '0.123', '1235', '0']);
  });
});

describe('PNG layers', () => {
  it('one pixel per cell in the scale colour, transparent nodata, sidecars named after the PNG', () => {
    const map = testMap('EPSG:2154', 16, 12);
    const files = pngFiles(map, '/x/out.png', { thresholds: [0, 0.5, 1] });
    expect(files.map((f) => f.path)).toEqual([
      '/x/out.png', '/x/out.pgw', '/x/out.prj', '/x/out.png.aux.xml', '/x/out.legend.png',
      '/x/out.sd.png', '/x/out.sd.pgw', '/x/out.sd.prj', '/x/out.sd.png.aux.xml', '/x/out.sd.legend.png',
    ]);
    const png = PNG.sync.read(Buffer.from(files[0].data as Uint8Array));
    expect([png.width, png.height]).toEqual([16, 12]);
    const scale = makeScale(map.values, { thresholds: [0, 0.5, 1] });
    for (let i = 0; i < 16 * 12; i++) {
      const c = scale.colour(map.values[i]);
      const px = Array.from(png.data.subarray(4 * i, 4 * i + 4));
      expect(px).toEqual(c ? [...c, 255] : [0, 0, 0, 0]);
    }
  });

  it('a "local" grid gets a world file but no CRS files', () => {
    const files = pngFiles(testMap('local', 8, 8, false), '/x/a.png');
    expect(files.map((f) => f.path)).toEqual(['/x/a.png', '/x/a.pgw', '/x/a.legend.png']);
  });
});

describe('KMZ resampling to lon/lat', () => {
  it('puts each overlay pixel where proj4 puts it (the interpolated projection lattice is exact to far below a cell)', () => {
    // a field equal to x (then y) at the cell centres: bilinear sampling returns the x (y) of the point
    // itself, so the overlay values show where each pixel was sampled
    for (const [crs, xmin, ymin] of [['EPSG:32631', 755000, 5380000], ['EPSG:2154', 703000, 7058000]] as const) {
      const W = 60;
      const H = 45;
      const grid: Grid = { crs, bounds: { xmin, ymin, xmax: xmin + 30 * W, ymax: ymin + 30 * H }, width: W, height: H };
      const xs = new Float32Array(W * H);
      const ys = new Float32Array(W * H);
      for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) {
        xs[r * W + c] = xmin + 30 * (c + 0.5) - xmin; // relative, to keep float32 precision
        ys[r * W + c] = ymin + 30 * H - 30 * (r + 0.5) - ymin;
      }
      const rp = reprojectToLonLat(grid, [xs, ys]);
      const inv = proj4('EPSG:4326', proj4Def(crs)!);
      let worst = 0;
      let checked = 0;
      for (let k = 0; k < 3000; k++) {
        const r = Math.floor(rnd() * rp.height);
        const c = Math.floor(rnd() * rp.width);
        const lon = rp.box.west + ((c + 0.5) * (rp.box.east - rp.box.west)) / rp.width;
        const lat = rp.box.north - ((r + 0.5) * (rp.box.north - rp.box.south)) / rp.height;
        const [x, y] = inv.forward([lon, lat]);
        // only where bilinear sampling is exact: between the outer cell centres
        if (x < xmin + 15 || x > xmin + 30 * W - 15 || y < ymin + 15 || y > ymin + 30 * H - 15) continue;
        checked++;
        worst = Math.max(worst, Math.abs(rp.out[0][r * rp.width + c] - (x - xmin)), Math.abs(rp.out[1][r * rp.width + c] - (y - ymin)));
      }
      expect(checked).toBeGreaterThan(1500);
      expect(worst).toBeLessThan(0.01); // metres, on 30 m cells (float32 values carry ~1e-4 m here)
    }
  });
});

describe('output paths', () => {
  it('adds the format extension when missing and refuses one that belongs to another format', () => {
    expect(outputPath('/d/map', 'geotiff')).toBe('/d/map.tif');
    expect(outputPath('/d/map.TIFF', 'geotiff')).toBe('/d/map.TIFF');
    expect(outputPath('/d/bands.json', 'geojson')).toBe('/d/bands.json');
    expect(outputPath('/d/v1.2', 'csv')).toBe('/d/v1.2.csv');
    expect(() => outputPath('/d/map.png', 'geotiff')).toThrow(/does not match --format geotiff/);
    expect(() => outputPath('  ', 'csv')).toThrow(/--out/);
  });
});
