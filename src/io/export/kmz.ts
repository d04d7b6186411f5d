// KMZ export for Google Earth: the map reprojected to WGS84 as a GroundOverlay (a PNG on a regular
// lon/lat grid covering the grid's footprint, with its LatLonBox), the standard deviation as a second
// overlay (hidden by default) when there is one, the legend as a ScreenOverlay, and the sensors as
// placemarks. KML GroundOverlays are stretched linearly in lon/lat, so the image must be resampled
// onto a lon/lat grid: each output pixel centre is inverse-projected to the grid CRS with proj4 and
// sampled (bilinear between cell centres, nearest next to nodata); outside the grid it is transparent.

import { strToU8, zipSync } from 'fflate';
import type { ExposureMap, Grid, Sensor } from '../../domain/types.ts';
import { UserError } from '../../domain/errors.ts';
import { throwIfCancelled, type RunContext } from '../../domain/run.ts';
import { LOCAL, transformer, type Transformer } from '../../geo/crs.ts';
import { cellHeight, cellWidth } from '../../geo/grid.ts';
import { footprintLonLat, type LonLatBox } from '../../geo/footprint.ts';
import { makeScale, renderLegend, type ColourScale } from './colour.ts';
import type { RgbaImage } from './font.ts';
import { encodePng, standardDeviation } from './png.ts';
import { formatValue, xmlEscape } from './text.ts';
import type { OutFile } from './atomic.ts';

export type LatLonBox = LonLatBox;

/** A sensor placemark: the sensor's identity and position (src/domain/types.ts Sensor). */
export interface KmzSensor extends Pick<Sensor, 'id' | 'name' | 'lat' | 'lon' | 'x' | 'y'> {
  /** Value observed at the sensor for this run, when the caller knows it. */
  observed?: number | null;
}

export interface KmzOptions {
  thresholds?: number[];
  ramp?: string;
  sensors?: KmzSensor[];
  /** Document title. */
  title?: string;
  /** Longest side of the overlay image in pixels (default: 1 to 4 pixels a cell, about 1024 or more, at most 4096). */
  maxPixels?: number;
}

function wgs84Link(g: Grid): Transformer {
  if (g.crs.trim().toLowerCase() === LOCAL) {
    throw new UserError('KMZ needs WGS84 coordinates but this grid is in a "local" CRS; give the project a real CRS (EPSG code or proj4)');
  }
  return transformer(g.crs, 'EPSG:4326');
}

/** Bounding box in lon/lat of the grid's outline (each side sampled, since projected straight lines curve). */
export function footprintBox(g: Grid, t: Transformer = wgs84Link(g), steps = 64): LatLonBox {
  return footprintLonLat(g, (p) => t.forward(p), steps);
}

/**
 * Value of the map at (x, y) in the grid CRS: bilinear between cell centres (clamped at the edges),
 * nearest cell when one of the four is nodata, NaN outside the grid. Inlined rather than geo/grid's
 * sampleBilinear: it runs once per overlay pixel and field.
 */
export function sampleMap(g: Grid, values: ArrayLike<number>, x: number, y: number): number {
  const { xmin, ymin, xmax, ymax } = g.bounds;
  if (!(x >= xmin && x <= xmax && y >= ymin && y <= ymax)) return NaN;
  const W = g.width;
  const H = g.height;
  const fc = ((x - xmin) / (xmax - xmin)) * W - 0.5;
  const fr = ((ymax - y) / (ymax - ymin)) * H - 0.5;
  const c0 = fc <= 0 ? 0 : fc >= W - 1 ? W - 1 : Math.floor(fc);
  const r0 = fr <= 0 ? 0 : fr >= H - 1 ? H - 1 : Math.floor(fr);
  const c1 = c0 + 1 < W ? c0 + 1 : c0;
  const r1 = r0 + 1 < H ? r0 + 1 : r0;
  const tc = fc <= c0 ? 0 : fc >= c1 ? (c1 === c0 ? 0 : 1) : fc - c0;
  const tr = fr <= r0 ? 0 : fr >= r1 ? (r1 === r0 ? 0 : 1) : fr - r0;
  const a = values[r0 * W + c0];
  const b = values[r0 * W + c1];
  const c = values[r1 * W + c0];
  const d = values[r1 * W + c1];
  const v = (1 - tr) * ((1 - tc) * a + tc * b) + tr * ((1 - tc) * c + tc * d);
  if (v === v) return v; // not NaN
  const col = Math.min(W - 1, Math.floor(((x - xmin) / (xmax - xmin)) * W));
  const row = Math.min(H - 1, Math.floor(((ymax - y) / (ymax - ymin)) * H));
  return values[row * W + col];
}

export interface Reprojected {
  box: LatLonBox;
  width: number;
  height: number;
  /** Sampled values on the lon/lat grid, row 0 = north; NaN outside the map. */
  values: Float32Array;
}

/** Resample a field onto a regular lon/lat grid over the footprint. */
export function reprojectToLonLat(g: Grid, fields: Array<ArrayLike<number>>, maxPixels = 4096, ctx: RunContext = {}): { box: LatLonBox; width: number; height: number; out: Float32Array[] } {
  const t = wgs84Link(g);
  const box = footprintBox(g, t);
  // keep about the grid's resolution: metres per degree at the box's mid-latitude
  const latMid = ((box.north + box.south) / 2) * (Math.PI / 180);
  const mPerDegLat = 111132.92 - 559.82 * Math.cos(2 * latMid);
  const mPerDegLon = 111412.84 * Math.cos(latMid);
  // a few pixels a cell (up to 4) so that small grids still look smooth in Google Earth: the bilinear
  // sampling draws class boundaries between cells, not along them
  const over = Math.max(1, Math.min(4, Math.ceil(1024 / Math.max(g.width, g.height))));
  const px = Math.min(cellWidth(g), cellHeight(g)) / over;
  const clamp = (n: number) => Math.max(1, Math.min(maxPixels, Math.ceil(n)));
  const width = clamp(((box.east - box.west) * mPerDegLon) / px);
  const height = clamp(((box.north - box.south) * mPerDegLat) / px);
  const out = fields.map(() => new Float32Array(width * height).fill(NaN));
  const dlon = (box.east - box.west) / width;
  const dlat = (box.north - box.south) / height;
  // Inverse-project a lattice of every LATTICE-th pixel centre with proj4 and interpolate linearly in
  // between: the projection is smooth at this scale (the tests bound the difference to direct proj4 far
  // below a cell), and it cuts the proj4 calls by LATTICE².
  const LATTICE = 8;
  const lc = Math.ceil((width - 1) / LATTICE) + 1;
  const lr = Math.ceil((height - 1) / LATTICE) + 1;
  const lx = new Float64Array(lc * lr);
  const ly = new Float64Array(lc * lr);
  for (let j = 0; j < lr; j++) {
    const r = Math.min(height - 1, j * LATTICE);
    for (let i = 0; i < lc; i++) {
      const c = Math.min(width - 1, i * LATTICE);
      const [x, y] = t.inverse([box.west + (c + 0.5) * dlon, box.north - (r + 0.5) * dlat]);
      lx[j * lc + i] = x;
      ly[j * lc + i] = y;
    }
  }
  for (let r = 0; r < height; r++) {
    if (r % 64 === 0) {
      throwIfCancelled(ctx.signal);
      ctx.onProgress?.({ stage: 'reprojecting to WGS84', fraction: r / height });
    }
    const j0 = Math.min(lr - 2, Math.floor(r / LATTICE));
    const ra = Math.min(height - 1, j0 * LATTICE);
    const rb = Math.min(height - 1, (j0 + 1) * LATTICE);
    const v = lr === 1 || rb === ra ? 0 : (r - ra) / (rb - ra);
    for (let c = 0; c < width; c++) {
      const i0 = Math.min(lc - 2, Math.floor(c / LATTICE));
      const ca = Math.min(width - 1, i0 * LATTICE);
      const cb = Math.min(width - 1, (i0 + 1) * LATTICE);
      const u = lc === 1 || cb === ca ? 0 : (c - ca) / (cb - ca);
      const p00 = Math.max(0, j0) * lc + Math.max(0, i0);
      const p01 = lc === 1 ? p00 : p00 + 1;
      const p10 = lr === 1 ? p00 : p00 + lc;
      const p11 = lr === 1 ? p01 : p01 + lc;
      const x = (1 - v) * ((1 - u) * lx[p00] + u * lx[p01]) + v * ((1 - u) * lx[p10] + u * lx[p11]);
      const y = (1 - v) * ((1 - u) * ly[p00] + u * ly[p01]) + v * ((1 - u) * ly[p10] + u * ly[p11]);
      for (let f = 0; f < fields.length; f++) out[f][r * width + c] = sampleMap(g, fields[f], x, y);
    }
  }
  return { box, width, height, out };
}

function overlayImage(values: Float32Array, width: number, height: number, scale: ColourScale): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < values.length; i++) {
    const c = scale.colour(values[i]);
    if (!c) continue;
    data[4 * i] = c[0];
    data[4 * i + 1] = c[1];
    data[4 * i + 2] = c[2];
    data[4 * i + 3] = 255;
  }
  return { width, height, data };
}

const deg = (v: number) => v.toFixed(8);

function groundOverlay(name: string, href: string, box: LatLonBox, visible: boolean): string {
  return `    <GroundOverlay>
      <name>${xmlEscape(name)}</name>
      <visibility>${visible ? 1 : 0}</visibility>
      <color>b3ffffff</color>
      <Icon><href>${href}</href></Icon>
      <LatLonBox>
        <north>${deg(box.north)}</north>
        <south>${deg(box.south)}</south>
        <east>${deg(box.east)}</east>
        <west>${deg(box.west)}</west>
        <rotation>0</rotation>
      </LatLonBox>
    </GroundOverlay>`;
}

export function kmzFile(map: ExposureMap, out: string, opts: KmzOptions = {}, ctx: RunContext = {}): OutFile {
  const g = map.grid;
  const sd = standardDeviation(map);
  const fields: Array<ArrayLike<number>> = sd ? [map.values, sd] : [map.values];
  const rp = reprojectToLonLat(g, fields, opts.maxPixels ?? 4096, ctx);
  const scale = makeScale(map.values, { ramp: opts.ramp, thresholds: opts.thresholds });
  const files: Record<string, Uint8Array | [Uint8Array, { level: 0 }]> = {};
  const overlays = [groundOverlay('E (V/m)', 'files/map.png', rp.box, true)];
  const pngs: Record<string, Uint8Array> = {
    'files/map.png': encodePng(overlayImage(rp.out[0], rp.width, rp.height, scale)),
    'files/legend.png': encodePng(renderLegend(scale, 'E (V/m)')),
  };
  if (sd) {
    const sdScale = makeScale(sd, { ramp: opts.ramp });
    pngs['files/sd.png'] = encodePng(overlayImage(rp.out[1], rp.width, rp.height, sdScale));
    overlays.push(groundOverlay('standard deviation (V/m)', 'files/sd.png', rp.box, false));
  }
  const placemarks = (opts.sensors ?? []).map((s) => {
    const est = sampleMap(g, map.values, s.x, s.y);
    const lines = [
      `sensor id: ${s.id}`,
      s.observed !== undefined && s.observed !== null && Number.isFinite(s.observed) ? `observed: ${formatValue(s.observed)} V/m` : null,
      Number.isFinite(est) ? `map value here: ${formatValue(est)} V/m` : null,
    ].filter(Boolean);
    const label = s.observed !== undefined && s.observed !== null && Number.isFinite(s.observed) ? ` (${formatValue(s.observed)} V/m)` : '';
    return `      <Placemark>
        <name>${xmlEscape(s.name || s.id)}${xmlEscape(label)}</name>
        <description>${xmlEscape(lines.join('\n'))}</description>
        <styleUrl>#sensor</styleUrl>
        <ExtendedData>
          <Data name="id"><value>${xmlEscape(s.id)}</value></Data>
          <Data name="observed"><value>${s.observed ?? ''}</value></Data>
          <Data name="estimate"><value>${Number.isFinite(est) ? est : ''}</value></Data>
        </ExtendedData>
        <Point><coordinates>${deg(s.lon)},${deg(s.lat)},0</coordinates></Point>
      </Placemark>`;
  });
  const kml = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>${xmlEscape(opts.title ?? `emfmap ${map.method}`)}</name>
    <Style id="sensor">
      <IconStyle><scale>0.8</scale></IconStyle>
      <LabelStyle><scale>0.7</scale></LabelStyle>
    </Style>
${overlays.join('\n')}
    <ScreenOverlay>
      <name>Legend</name>
      <Icon><href>files/legend.png</href></Icon>
      <overlayXY x="0" y="0" xunits="fraction" yunits="fraction"/>
      <screenXY x="10" y="30" xunits="pixels" yunits="pixels"/>
      <size x="0" y="0" xunits="pixels" yunits="pixels"/>
    </ScreenOverlay>
    <Folder>
      <name>Sensors</name>
${placemarks.join('\n')}
    </Folder>
  </Document>
</kml>
`;
  files['doc.kml'] = strToU8(kml); // first entry: Google Earth reads the first .kml in the archive
  for (const [name, data] of Object.entries(pngs)) files[name] = [data, { level: 0 }]; // PNGs are compressed already
  return { path: out, data: zipSync(files, { level: 6 }) };
}
