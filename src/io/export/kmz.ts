// KMZ export for Google Earth: the map reprojected to WGS84 as a GroundOverlay (a PNG on a regular
// lon/lat grid covering the grid's footprint, with its LatLonBox), the standard deviation as a second
// overlay (hidden by default) when there is one, the legend as a ScreenOverlay, and the sensors as
// placemarks. KML GroundOverlays are stretched linearly in lon/lat, so the image must be resampled
// onto a lon/lat grid: each output pixel centre is inverse-projected to the grid CRS with proj4 and
// sampled (bilinear between cell centres, nearest next to nodata); outside the grid it is transparent.

import { strToU8, zipSync } from 'fflate';
import type { ExposureMap, Grid } from '../../domain/types.ts';
import { UserError } from '../../domain/errors.ts';
import { throwIfCancelled, type RunContext } from '../../domain/run.ts';
import { LOCAL, transformer, type Transformer } from '../../geo/crs.ts';
import { cellHeight, cellWidth, sampleBilinear } from '../../geo/grid.ts';
import { makeScale, renderLegend, type ColourScale } from './colour.ts';
import type { RgbaImage } from './font.ts';
import { encodePng, standardDeviation } from './png.ts';
import { formatValue, xmlEscape } from './text.ts';
import type { OutFile } from './atomic.ts';

export interface LatLonBox {
  north: number;
  south: number;
  east: number;
  west: number;
}

export interface KmzSensor {
  id: string;
  name: string;
  lat: number;
  lon: number;
  x: number;
  y: number;
  /** Value observed at the sensor for this run, when the caller knows it. */
  observed?: number | null;
}

export interface KmzOptions {
  thresholds?: number[];
  ramp?: string;
  sensors?: KmzSensor[];
  /** Document title. */
  title?: string;
  /** Longest side of the overlay image in pixels (default: 1 to 8 pixels a cell, about 1024 or more, at most 4096). */
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
  const { xmin, ymin, xmax, ymax } = g.bounds;
  const box = { north: -Infinity, south: Infinity, east: -Infinity, west: Infinity };
  const add = (x: number, y: number) => {
    const [lon, lat] = t.forward([x, y]);
    box.north = Math.max(box.north, lat);
    box.south = Math.min(box.south, lat);
    box.east = Math.max(box.east, lon);
    box.west = Math.min(box.west, lon);
  };
  for (let i = 0; i <= steps; i++) {
    const s = i / steps;
    add(xmin + s * (xmax - xmin), ymin);
    add(xmin + s * (xmax - xmin), ymax);
    add(xmin, ymin + s * (ymax - ymin));
    add(xmax, ymin + s * (ymax - ymin));
  }
  return box;
}

/** Value of the map at (x, y) in the grid CRS: bilinear between cell centres, nearest cell next to nodata, NaN outside. */
export function sampleMap(g: Grid, values: ArrayLike<number>, x: number, y: number): number {
  const { xmin, ymin, xmax, ymax } = g.bounds;
  if (!(x >= xmin && x <= xmax && y >= ymin && y <= ymax)) return NaN;
  const v = sampleBilinear(g, values, x, y);
  if (Number.isFinite(v)) return v;
  const col = Math.min(g.width - 1, Math.floor((x - xmin) / cellWidth(g)));
  const row = Math.min(g.height - 1, Math.floor((ymax - y) / cellHeight(g)));
  return values[row * g.width + col];
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
  // a few pixels a cell (up to 8) so that small grids still look smooth in Google Earth: the bilinear
  // sampling draws class boundaries between cells, not along them
  const over = Math.max(1, Math.min(8, Math.ceil(1024 / Math.max(g.width, g.height))));
  const px = Math.min(cellWidth(g), cellHeight(g)) / over;
  const clamp = (n: number) => Math.max(1, Math.min(maxPixels, Math.ceil(n)));
  const width = clamp(((box.east - box.west) * mPerDegLon) / px);
  const height = clamp(((box.north - box.south) * mPerDegLat) / px);
  const out = fields.map(() => new Float32Array(width * height).fill(NaN));
  const dlon = (box.east - box.west) / width;
  const dlat = (box.north - box.south) / height;
  for (let r = 0; r < height; r++) {
    if (r % 64 === 0) {
      throwIfCancelled(ctx.signal);
      ctx.onProgress?.({ stage: 'reprojecting to WGS84', fraction: r / height });
    }
    const lat = box.north - (r + 0.5) * dlat;
    for (let c = 0; c < width; c++) {
      const [x, y] = t.inverse([box.west + (c + 0.5) * dlon, lat]);
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
