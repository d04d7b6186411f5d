// PNG export: the coloured map (one pixel a cell, nodata transparent) with its world file (.pgw), its
// CRS as a .prj (ESRI WKT, read by ArcGIS/QGIS) and as GDAL's .png.aux.xml (GDAL's PNG driver reads the
// CRS only from there), plus the legend as a separate PNG. With a variance, the same set for the
// standard deviation map (NAME.sd.png ...).

import { PNG } from 'pngjs';
import type { ExposureMap, Grid } from '../../domain/types.ts';
import { cellHeight, cellWidth } from '../../geo/grid.ts';
import { makeScale, renderLegend, renderMap, type ColourScale } from './colour.ts';
import { esriWkt } from './crs-encode.ts';
import type { RgbaImage } from './font.ts';
import type { OutFile } from './atomic.ts';
import { xmlEscape } from './text.ts';

export function encodePng(img: RgbaImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height, colorType: 6 });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 6 });
}

/**
 * World file (ESRI): pixel size x, rotation terms (0, 0), negative pixel size y, then x and y of the
 * CENTRE of the upper-left pixel. `upscale` pixels a cell.
 */
export function worldFile(g: Grid, upscale = 1): string {
  const px = cellWidth(g) / upscale;
  const py = cellHeight(g) / upscale;
  return [px, 0, 0, -py, g.bounds.xmin + px / 2, g.bounds.ymax - py / 2].map((v) => String(v)).join('\n') + '\n';
}

/** GDAL PAM sidecar carrying the CRS (GDAL's PNG driver ignores .prj files). */
export function pamAuxXml(wkt: string): string {
  return `<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping="1,2">${xmlEscape(wkt)}</SRS>\n</PAMDataset>\n`;
}

/** SD = sqrt(variance), NaN where the value itself is nodata. */
export function standardDeviation(map: ExposureMap): Float32Array | null {
  if (!map.variance) return null;
  const sd = new Float32Array(map.values.length);
  for (let i = 0; i < sd.length; i++) {
    const v = map.variance[i];
    sd[i] = Number.isFinite(map.values[i]) && Number.isFinite(v) ? Math.sqrt(Math.max(0, v)) : NaN;
  }
  return sd;
}

function stripPng(p: string): string {
  return p.replace(/\.png$/i, '');
}

function layerFiles(out: string, g: Grid, values: ArrayLike<number>, scale: ColourScale, title: string, wkt: string | null): OutFile[] {
  const base = stripPng(out);
  const files: OutFile[] = [
    { path: out, data: encodePng(renderMap(values, g.width, g.height, scale)) },
    { path: `${base}.pgw`, data: worldFile(g) },
  ];
  if (wkt) files.push({ path: `${base}.prj`, data: wkt + '\n' }, { path: `${out}.aux.xml`, data: pamAuxXml(wkt) });
  files.push({ path: `${base}.legend.png`, data: encodePng(renderLegend(scale, title)) });
  return files;
}

export interface PngOptions {
  thresholds?: number[];
  ramp?: string;
}

/** Files of a PNG export; `out` ends in .png. */
export function pngFiles(map: ExposureMap, out: string, opts: PngOptions = {}): OutFile[] {
  const g = map.grid;
  const wkt = esriWkt(g.crs);
  const files = layerFiles(out, g, map.values, makeScale(map.values, opts), 'E (V/m)', wkt);
  const sd = standardDeviation(map);
  if (sd) files.push(...layerFiles(`${stripPng(out)}.sd.png`, g, sd, makeScale(sd, { ramp: opts.ramp }), 'SD (V/m)', wkt));
  return files;
}
