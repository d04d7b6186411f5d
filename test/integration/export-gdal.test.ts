// Exports read back by independent software: GDAL/OGR (gdal-bin: gdalinfo, gdal_translate,
// gdaltransform, ogrinfo, ogr2ogr; SpatiaLite/GEOS through ogrinfo's SQLite dialect) and unzip.
// Test maps are built here from analytic fields on grids in Lambert-93, UTM, a local transverse
// Mercator and a "local" plane.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import proj4 from 'proj4';
import { PNG } from 'pngjs';
import type { ExposureMap, Grid } from '../../src/domain/types.ts';
import { proj4Def } from '../../src/geo/crs.ts';
import { writeFilesAtomically } from '../../src/io/export/atomic.ts';
import { geoTiffBytes } from '../../src/io/export/geotiff.ts';
import { pngFiles } from '../../src/io/export/png.ts';
import { geoJsonFiles } from '../../src/io/export/geojson.ts';
import { kmzFile } from '../../src/io/export/kmz.ts';
import { csvFile } from '../../src/io/export/csv.ts';
import { esriWkt } from '../../src/io/export/crs-encode.ts';
import { classOf, makeScale } from '../../src/io/export/colour.ts';

const TMERC = '+proj=tmerc +lat_0=50.63 +lon_0=3.05 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs';

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** The analytic field of the test maps (V/m), at cell (row, col). */
const fieldAt = (r: number, c: number) => 0.4 + 1.5 * Math.exp(-((c - 14) ** 2 + (r - 9) ** 2) / 60) + 0.02 * c;

function makeMap(grid: Grid, opts: { variance?: boolean; nodata?: number[] } = {}): ExposureMap {
  const n = grid.width * grid.height;
  const values = new Float32Array(n);
  const variance = new Float32Array(n);
  for (let r = 0; r < grid.height; r++) for (let c = 0; c < grid.width; c++) {
    values[r * grid.width + c] = fieldAt(r, c);
    variance[r * grid.width + c] = 0.001 * (1 + r + c);
  }
  for (const i of opts.nodata ?? []) values[i] = NaN;
  return { grid, values, variance: opts.variance ? variance : undefined, method: 'idw', params: { power: 2 }, backend: 'js', timings: { fit: 0.01, predict: 0.02, total: 0.03 }, diagnostics: {} };
}

// Lambert-93 near Lille, 10 m × 5 m cells; UTM 31N near Strasbourg (far from the central meridian, so the
// grid is turned by ~2.6° against lon/lat); the project's default local transverse Mercator; a plain plane.
const L93: Grid = { crs: 'EPSG:2154', bounds: { xmin: 703000, ymin: 7058000, xmax: 703400, ymax: 7058150 }, width: 40, height: 30 };
const UTM: Grid = { crs: 'EPSG:32631', bounds: { xmin: 755000, ymin: 5380000, xmax: 757400, ymax: 5381800 }, width: 48, height: 36 };
const LOCALTM: Grid = { crs: TMERC, bounds: { xmin: -500, ymin: -400, xmax: 500, ymax: 400 }, width: 50, height: 40 };
const PLANE: Grid = { crs: 'local', bounds: { xmin: 0, ymin: 0, xmax: 320, ymax: 240 }, width: 32, height: 24 };

const toLonLat = (crs: string, x: number, y: number) => proj4(proj4Def(crs)!, 'EPSG:4326').forward([x, y]);
const cellCentre = (g: Grid, r: number, c: number) => [
  g.bounds.xmin + ((c + 0.5) * (g.bounds.xmax - g.bounds.xmin)) / g.width,
  g.bounds.ymax - ((r + 0.5) * (g.bounds.ymax - g.bounds.ymin)) / g.height,
];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-export-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('GeoTIFF read by GDAL', () => {
  it('Lambert-93: EPSG code, geotransform, nodata, two bands, every value', () => {
    const map = makeMap(L93, { variance: true, nodata: [0, 77] });
    const file = path.join(dir, 'l93.tif');
    writeFilesAtomically([{ path: file, data: geoTiffBytes(map) }]);
    const info = JSON.parse(run('gdalinfo', ['-json', file]));
    expect(info.coordinateSystem.wkt).toContain('ID["EPSG",2154]');
    expect(info.size).toEqual([40, 30]);
    expect(info.geoTransform).toEqual([703000, 10, 0, 7058150, 0, -5]);
    expect(info.bands.length).toBe(2);
    for (const b of info.bands) {
      expect(b.type).toBe('Float32');
      expect(b.noDataValue).toBe(-9999);
      expect(b.unit).toBe('V/m');
    }
    expect(info.bands[0].description).toMatch(/electric field/);
    expect(info.bands[1].description).toMatch(/standard deviation/);
    expect(info.metadata[''].AREA_OR_POINT).toBe('Area');

    for (const band of [1, 2]) {
      const xyz = run('gdal_translate', ['-q', '-of', 'XYZ', '-b', String(band), file, '/vsistdout/']).trim().split('\n');
      expect(xyz.length).toBe(40 * 30);
      xyz.forEach((line, i) => {
        const [x, y, v] = line.trim().split(/\s+/).map(Number);
        const [cx, cy] = cellCentre(L93, Math.floor(i / 40), i % 40);
        expect([x, y]).toEqual([cx, cy]);
        const want = !Number.isFinite(map.values[i]) ? -9999 : band === 1 ? map.values[i] : Math.fround(Math.sqrt(map.variance![i]));
        expect(Math.fround(v)).toBe(want);
      });
    }
  });

  it('local transverse Mercator (proj4 only): GDAL puts every pixel where proj4 does', () => {
    const map = makeMap(LOCALTM);
    const file = path.join(dir, 'tm.tif');
    writeFilesAtomically([{ path: file, data: geoTiffBytes(map) }]);
    const info = JSON.parse(run('gdalinfo', ['-json', file]));
    expect(info.coordinateSystem.wkt).toMatch(/Transverse Mercator/);
    expect(info.bands.length).toBe(1);
    // pixel/line of cell centres → lon/lat by GDAL, from the file's own georeferencing
    const cells = [[0, 0], [39, 49], [20, 7], [5, 44]];
    const out = run('gdaltransform', [file, '-t_srs', 'EPSG:4326', '-output_xy'], cells.map(([r, c]) => `${c + 0.5} ${r + 0.5}`).join('\n')).trim().split('\n');
    cells.forEach(([r, c], k) => {
      const [lon, lat] = out[k].split(/\s+/).map(Number);
      const [x, y] = cellCentre(LOCALTM, r, c);
      const [elon, elat] = toLonLat(TMERC, x, y);
      expect(Math.abs(lon - elon)).toBeLessThan(1e-8);
      expect(Math.abs(lat - elat)).toBeLessThan(1e-8);
    });
  });

  it('a "local" plane: coordinates kept, engineering CRS without geodetic meaning', () => {
    const file = path.join(dir, 'plane.tif');
    writeFilesAtomically([{ path: file, data: geoTiffBytes(makeMap(PLANE)) }]);
    const info = JSON.parse(run('gdalinfo', ['-json', file]));
    expect(info.geoTransform).toEqual([0, 10, 0, 240, 0, -10]);
    expect(info.coordinateSystem.wkt).toMatch(/^ENGCRS/);
  });
});

describe('.prj files (ESRI WKT) read by GDAL/PROJ', () => {
  const cases: Array<[string, number, number]> = [
    ['EPSG:2154', 703000, 7058000],
    ['EPSG:3812', 650000, 670000],
    ['EPSG:3035', 3800000, 3100000],
    ['EPSG:3857', 340000, 6560000],
    ['EPSG:32631', 500000, 5600000],
    ['EPSG:32731', 500000, 9000000],
    ['EPSG:25832', 400000, 5500000],
    [TMERC, 1200, -800],
    ['+proj=lcc +lat_0=45 +lon_0=10 +lat_1=45 +k_0=0.9996 +x_0=500000 +y_0=200000 +datum=WGS84 +units=m +no_defs', 520000, 230000],
    ['+proj=laea +lat_0=48 +lon_0=2 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs', 10000, -5000],
  ];
  it.each(cases)('%s: a point converts to the same lon/lat as with proj4', (crs, x, y) => {
    const prj = path.join(dir, `p${Math.abs(hash(crs))}.prj`);
    fs.writeFileSync(prj, esriWkt(crs)!);
    const [lon, lat] = run('gdaltransform', ['-s_srs', prj, '-t_srs', 'EPSG:4326', '-output_xy'], `${x} ${y}\n`).trim().split(/\s+/).map(Number);
    const [elon, elat] = toLonLat(crs, x, y);
    expect(Math.abs(lon - elon)).toBeLessThan(1e-8);
    expect(Math.abs(lat - elat)).toBeLessThan(1e-8);
  });
  it('Lambert-93 and UTM .prj are identified as their EPSG codes', () => {
    for (const [crs, code] of [['EPSG:2154', '2154'], ['EPSG:32631', '32631']]) {
      const prj = path.join(dir, `id${code}.prj`);
      fs.writeFileSync(prj, esriWkt(crs)!);
      expect(run('gdalsrsinfo', ['-e', '-o', 'epsg', prj])).toContain(`EPSG:${code}`);
    }
  });
});

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return h;
}

describe('PNG + world file read by GDAL', () => {
  it('geotransform from the .pgw, CRS from the .aux.xml, colours per cell', () => {
    const map = makeMap(L93, { variance: true, nodata: [5] });
    const out = path.join(dir, 'map.png');
    writeFilesAtomically(pngFiles(map, out, { thresholds: [0.6, 1, 1.4], ramp: 'ylorrd' }));
    const info = JSON.parse(run('gdalinfo', ['-json', out]));
    expect(info.geoTransform).toEqual([703000, 10, 0, 7058150, 0, -5]);
    expect(info.coordinateSystem.wkt).toMatch(/^PROJCRS\["RGF93 v1 \/ Lambert-93"/); // named from the ESRI WKT
    // and the CRS is really Lambert-93: GDAL's lon/lat of a pixel centre = proj4's
    const [lon, lat] = run('gdaltransform', [out, '-t_srs', 'EPSG:4326', '-output_xy'], '12.5 7.5\n').trim().split(/\s+/).map(Number);
    const [elon, elat] = toLonLat('EPSG:2154', ...(cellCentre(L93, 7, 12) as [number, number]));
    expect(Math.abs(lon - elon) + Math.abs(lat - elat)).toBeLessThan(1e-8);
    expect(info.files.map((f: string) => path.basename(f)).sort()).toEqual(['map.pgw', 'map.png', 'map.png.aux.xml']);
    expect(info.bands.length).toBe(4);
    // colours via GDAL at a few cells, against the class colours
    const scale = makeScale(map.values, { thresholds: [0.6, 1, 1.4], ramp: 'ylorrd' });
    for (const [r, c] of [[0, 5], [9, 14], [29, 39], [0, 0]]) {
      const i = r * 40 + c;
      const rgba = [1, 2, 3, 4].map((b) => Number(run('gdallocationinfo', ['-valonly', '-b', String(b), out, String(c), String(r)]).trim()));
      const col = scale.colour(map.values[i]);
      expect(rgba).toEqual(col ? [...col, 255] : [0, 0, 0, 0]);
    }
    // the standard deviation layer is georeferenced the same way
    expect(JSON.parse(run('gdalinfo', ['-json', path.join(dir, 'map.sd.png')])).geoTransform).toEqual([703000, 10, 0, 7058150, 0, -5]);
    const legend = PNG.sync.read(fs.readFileSync(path.join(dir, 'map.legend.png')));
    expect(legend.height).toBeGreaterThan(4 * 18);
  });
});

/** Shoelace area of GeoJSON polygon coordinates (outer minus holes), absolute values. */
function polyArea(rings: number[][][]): number {
  const a = (r: number[][]) => {
    let s = 0;
    for (let i = 0; i < r.length - 1; i++) s += r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1];
    return Math.abs(s / 2);
  };
  return a(rings[0]) - rings.slice(1).reduce((s, h) => s + a(h), 0);
}

describe('GeoJSON isobands read by OGR', () => {
  const thresholds = [0.6, 1, 1.4];

  it('Lambert-93: WGS84 multipolygons, valid (GEOS), no overlap, areas add up to the grid', async () => {
    const map = makeMap(L93);
    const out = path.join(dir, 'bands.geojson');
    writeFilesAtomically(await geoJsonFiles(map, out, { thresholds }));
    const so = run('ogrinfo', ['-ro', '-al', '-so', out]);
    expect(so).toMatch(/Geometry: Multi Polygon/);
    expect(so).toMatch(/Feature Count: 4/);
    expect(so).toMatch(/ID\["EPSG",4326\]/);
    const layer = JSON.parse(fs.readFileSync(out, 'utf8')).name;
    const sql = (q: string) => run('ogrinfo', ['-ro', '-q', '-dialect', 'sqlite', '-sql', q, out]);
    const rows = sql(`SELECT band, ST_IsValid(geometry) AS ok, ST_Area(ST_Transform(geometry, 2154)) AS a, min, max FROM "${layer}"`);
    const oks = [...rows.matchAll(/ok \(Integer\) = (\d)/g)].map((m) => m[1]);
    expect(oks).toEqual(['1', '1', '1', '1']);
    const areas = [...rows.matchAll(/ a \(Real\) = ([\d.e+-]+)/g)].map((m) => Number(m[1]));
    const gridArea = 400 * 150;
    expect(Math.abs(areas.reduce((s, a) => s + a, 0) - gridArea) / gridArea).toBeLessThan(1e-6);
    const overlap = sql(`SELECT SUM(ST_Area(ST_Transform(ST_Intersection(a.geometry, b.geometry), 2154))) AS o FROM "${layer}" a, "${layer}" b WHERE a.band < b.band`);
    const o = Number(/o \(Real\) = ([\d.e+-]+)/.exec(overlap)?.[1] ?? '0');
    expect(o).toBeLessThan(1e-6 * gridArea);
    // each band's share of the area is close to the share of cells in its class
    const counts = [0, 0, 0, 0];
    for (const v of map.values) counts[classOf(v, thresholds)]++;
    areas.forEach((a, k) => expect(Math.abs(a / gridArea - counts[k] / 1200)).toBeLessThan(0.04));
    // properties: the value range of each band
    const fc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(fc.features.map((f: { properties: { min: number; max: number; unit: string } }) => [f.properties.min, f.properties.max, f.properties.unit])).toEqual([
      [Math.min(...map.values), 0.6, 'V/m'], [0.6, 1, 'V/m'], [1, 1.4, 'V/m'], [1.4, Math.max(...map.values), 'V/m'],
    ]);
  });

  it('local transverse Mercator: reprojected back by ogr2ogr, the bands cover the grid', async () => {
    const map = makeMap(LOCALTM, { nodata: [] });
    const out = path.join(dir, 'tm.geojson');
    writeFilesAtomically(await geoJsonFiles(map, out, { thresholds }));
    const back = path.join(dir, 'tm-back.geojson');
    run('ogr2ogr', ['-f', 'GeoJSON', '-t_srs', TMERC, back, out]);
    const fc = JSON.parse(fs.readFileSync(back, 'utf8'));
    let total = 0;
    for (const f of fc.features) for (const poly of f.geometry.coordinates) total += polyArea(poly);
    expect(Math.abs(total - 1000 * 800) / (1000 * 800)).toBeLessThan(1e-6);
  });

  it('contour lines: one multiline per threshold, each vertex between the values of the cells around it', async () => {
    const map = makeMap(L93);
    const out = path.join(dir, 'lines.geojson');
    writeFilesAtomically(await geoJsonFiles(map, out, { thresholds }));
    const contours = path.join(dir, 'lines.contours.geojson');
    expect(run('ogrinfo', ['-ro', '-al', '-so', contours])).toMatch(/Geometry: Multi Line String/);
    const fc = JSON.parse(fs.readFileSync(contours, 'utf8'));
    expect(fc.features.map((f: { properties: { value: number } }) => f.properties.value)).toEqual(thresholds);
    const inv = proj4('EPSG:4326', proj4Def('EPSG:2154')!);
    for (const f of fc.features) {
      const t = f.properties.value;
      for (const line of f.geometry.coordinates) for (const [lon, lat] of line) {
        const [x, y] = inv.forward([lon, lat]);
        // continuous column/row position in cell-centre units
        const fc2 = (x - L93.bounds.xmin) / 10 - 0.5;
        const fr = (L93.bounds.ymax - y) / 5 - 0.5;
        const c0 = Math.max(0, Math.min(39, Math.floor(fc2)));
        const r0 = Math.max(0, Math.min(29, Math.floor(fr)));
        const around = [[r0, c0], [r0, Math.min(39, c0 + 1)], [Math.min(29, r0 + 1), c0], [Math.min(29, r0 + 1), Math.min(39, c0 + 1)]].map(([r, c]) => map.values[r * 40 + c]);
        expect(Math.min(...around)).toBeLessThanOrEqual(t + 1e-6);
        expect(Math.max(...around)).toBeGreaterThanOrEqual(t - 1e-6);
      }
    }
  });
});

describe('KMZ read with unzip', () => {
  it('doc.kml with a LatLonBox on the grid footprint, the overlay resampled to lon/lat, sensors as placemarks', () => {
    const thresholds = [0.6, 1, 1.4];
    const map = makeMap(UTM, { variance: true });
    const sensors = [
      { id: 's1', name: 'Rue A', x: 755500, y: 5381000, observed: 0.8 },
      { id: 's2', name: 'Place <B>', x: 757000, y: 5380500, observed: null },
    ].map((s) => {
      const [lon, lat] = toLonLat('EPSG:32631', s.x, s.y);
      return { ...s, lon, lat };
    });
    const out = path.join(dir, 'map.kmz');
    writeFilesAtomically([kmzFile(map, out, { thresholds, sensors })]);
    const list = run('unzip', ['-l', out]);
    for (const f of ['doc.kml', 'files/map.png', 'files/legend.png', 'files/sd.png']) expect(list).toContain(f);
    const kml = run('unzip', ['-p', out, 'doc.kml']);
    expect(kml.startsWith('<?xml')).toBe(true);
    const num = (tag: string) => Number(new RegExp(`<${tag}>([-\\d.]+)</${tag}>`).exec(kml)![1]);
    // the test's own footprint: the grid outline densely converted with proj4
    const box = { north: -90, south: 90, east: -180, west: 180 };
    const { xmin, ymin, xmax, ymax } = UTM.bounds;
    for (let i = 0; i <= 400; i++) {
      const s = i / 400;
      for (const [x, y] of [[xmin + s * (xmax - xmin), ymin], [xmin + s * (xmax - xmin), ymax], [xmin, ymin + s * (ymax - ymin)], [xmax, ymin + s * (ymax - ymin)]]) {
        const [lon, lat] = toLonLat('EPSG:32631', x, y);
        box.north = Math.max(box.north, lat); box.south = Math.min(box.south, lat);
        box.east = Math.max(box.east, lon); box.west = Math.min(box.west, lon);
      }
    }
    for (const k of ['north', 'south', 'east', 'west'] as const) expect(Math.abs(num(k) - box[k])).toBeLessThan(2e-7);
    expect([...kml.matchAll(/<Placemark>/g)].length).toBe(2);
    // GDAL's LIBKML driver parses the archive: the placemarks are in the Sensors folder
    const ogr = run('ogrinfo', ['-ro', '-al', '-so', out]);
    expect(ogr).toMatch(/Layer name: Sensors\nGeometry: [^\n]*\nFeature Count: 2/);
    expect(kml).toContain('Place &lt;B&gt;');
    expect(kml).toContain(`<coordinates>${sensors[0].lon.toFixed(8)},${sensors[0].lat.toFixed(8)},0</coordinates>`);
    expect(kml).toContain('observed: 0.8 V/m');

    // overlay pixels: inverse-project each pixel centre with proj4 (independently of the exporter)
    const png = PNG.sync.read(Buffer.from(execFileSync('unzip', ['-p', out, 'files/map.png'])));
    const inv = proj4('EPSG:4326', proj4Def('EPSG:32631')!);
    const scale = makeScale(map.values, { thresholds });
    const cw = 50;
    let inside = 0, outside = 0;
    const bad: string[] = [];
    for (let r = 0; r < png.height; r += 3) for (let c = 0; c < png.width; c += 3) {
      const lon = num('west') + ((c + 0.5) * (num('east') - num('west'))) / png.width;
      const lat = num('north') - ((r + 0.5) * (num('north') - num('south'))) / png.height;
      const [x, y] = inv.forward([lon, lat]);
      const alpha = png.data[4 * (r * png.width + c) + 3];
      const margin = 1.5 * cw;
      if (x < xmin - 1 || x > xmax + 1 || y < ymin - 1 || y > ymax + 1) {
        outside++;
        if (alpha !== 0) bad.push(`(${r},${c}) outside the grid but opaque`);
      } else if (x > xmin + margin && x < xmax - margin && y > ymin + margin && y < ymax - margin) {
        inside++;
        // well inside: all cells around the point are in one class → that class's colour exactly
        const fc = (x - xmin) / cw - 0.5;
        const fr = (ymax - y) / cw - 0.5;
        const cls = new Set([[0, 0], [0, 1], [1, 0], [1, 1]].map(([dr, dc]) => classOf(map.values[(Math.floor(fr) + dr) * 48 + Math.floor(fc) + dc], thresholds)));
        if (cls.size === 1) {
          const want = scale.classColours[[...cls][0]];
          const got = Array.from(png.data.subarray(4 * (r * png.width + c), 4 * (r * png.width + c) + 4));
          if (got.join() !== [...want, 255].join()) bad.push(`(${r},${c}) ${got} != ${want}`);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(inside).toBeGreaterThan(100);
    expect(outside).toBeGreaterThan(10); // the grid is turned against lon/lat: the box corners are empty
  });

  it('refuses a "local" grid', () => {
    expect(() => kmzFile(makeMap(PLANE), path.join(dir, 'x.kmz'))).toThrow(/local/);
  });
});

describe('CSV', () => {
  it('one row per cell; lon/lat match GDAL/PROJ; values and SD exact', async () => {
    const map = makeMap(L93, { variance: true, nodata: [3] });
    const out = path.join(dir, 'cells.csv');
    writeFilesAtomically([await csvFile(map, out)]);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('x,y,lon,lat,value,sd');
    expect(lines.length).toBe(1 + 40 * 30);
    const rows = lines.slice(1).map((l) => l.split(','));
    const picks = [0, 3, 41, 599, 1199];
    const gd = run('gdaltransform', ['-s_srs', 'EPSG:2154', '-t_srs', 'EPSG:4326', '-output_xy'], picks.map((i) => `${rows[i][0]} ${rows[i][1]}`).join('\n')).trim().split('\n');
    picks.forEach((i, k) => {
      const [x, y, lon, lat, v, sd] = rows[i];
      const [cx, cy] = cellCentre(L93, Math.floor(i / 40), i % 40);
      expect([Number(x), Number(y)]).toEqual([cx, cy]);
      const [glon, glat] = gd[k].split(/\s+/).map(Number);
      expect(Math.abs(Number(lon) - glon)).toBeLessThan(2e-8);
      expect(Math.abs(Number(lat) - glat)).toBeLessThan(2e-8);
      if (i === 3) expect([v, sd]).toEqual(['', '']);
      else {
        expect(Math.fround(Number(v))).toBe(map.values[i]);
        expect(Math.fround(Number(sd))).toBe(Math.fround(Math.sqrt(map.variance![i])));
      }
    });
  });

  it('a "local" grid leaves lon/lat empty and SD empty without variance', async () => {
    const out = path.join(dir, 'plane.csv');
    writeFilesAtomically([await csvFile(makeMap(PLANE), out)]);
    const second = fs.readFileSync(out, 'utf8').split('\n')[1].split(',');
    expect(second[2]).toBe('');
    expect(second[3]).toBe('');
    expect(second[5]).toBe('');
    expect(second.length).toBe(6);
  });
});
