// GeoTIFF export: float32 values in V/m (band 1) and, when the method gives a variance, the predictive
// standard deviation in V/m (band 2); georeferenced in the grid's CRS (EPSG code or user-defined
// projection geokeys), PixelIsArea, nodata -9999 (GDAL_NODATA), band names and units in GDAL_METADATA.

import type { ExposureMap } from '../../domain/types.ts';
import { cellHeight, cellWidth } from '../../geo/grid.ts';
import { geoKeysFor, type GeoKey } from './crs-encode.ts';
import { encodeFloat32Tiff, type TiffTag } from './tiff.ts';
import { xmlEscape } from './text.ts';

/** Written where the map has no value (NaN); announced in GDAL_NODATA. */
export const GEOTIFF_NODATA = -9999;

export interface GeoTiffOptions {
  /** Dataset-level metadata items (run id, method, ...), written to GDAL_METADATA. */
  metadata?: Record<string, string>;
  compress?: boolean;
}

const TAG_MODEL_PIXEL_SCALE = 33550;
const TAG_MODEL_TIEPOINT = 33922;
const TAG_GEO_KEY_DIRECTORY = 34735;
const TAG_GEO_DOUBLE_PARAMS = 34736;
const TAG_GEO_ASCII_PARAMS = 34737;
const TAG_GDAL_METADATA = 42112;
const TAG_GDAL_NODATA = 42113;

/** GeoKeyDirectoryTag + GeoDoubleParamsTag + GeoAsciiParamsTag for a list of keys (sorted by id). */
export function geoKeyTags(keys: GeoKey[]): TiffTag[] {
  const dir: number[] = [1, 1, 0, keys.length];
  const doubles: number[] = [];
  let ascii = '';
  for (const k of keys) {
    if ('short' in k) dir.push(k.id, 0, 1, k.short);
    else if ('double' in k) {
      dir.push(k.id, TAG_GEO_DOUBLE_PARAMS, 1, doubles.length);
      doubles.push(k.double);
    } else {
      const s = `${k.ascii.replace(/\|/g, '/')}|`; // '|' terminates each string in GeoAsciiParams
      dir.push(k.id, TAG_GEO_ASCII_PARAMS, s.length, ascii.length);
      ascii += s;
    }
  }
  const tags: TiffTag[] = [{ tag: TAG_GEO_KEY_DIRECTORY, type: 'SHORT', values: dir }];
  if (doubles.length) tags.push({ tag: TAG_GEO_DOUBLE_PARAMS, type: 'DOUBLE', values: doubles });
  if (ascii.length) tags.push({ tag: TAG_GEO_ASCII_PARAMS, type: 'ASCII', values: ascii });
  return tags;
}

function gdalMetadataXml(items: Record<string, string>, bands: Array<{ description: string; unit: string }>): string {
  const lines = ['<GDALMetadata>'];
  for (const [k, v] of Object.entries(items)) lines.push(`  <Item name="${xmlEscape(k, true)}">${xmlEscape(v, true)}</Item>`);
  bands.forEach((b, i) => {
    lines.push(`  <Item name="DESCRIPTION" sample="${i}" role="description">${xmlEscape(b.description, true)}</Item>`);
    lines.push(`  <Item name="UNITTYPE" sample="${i}" role="unittype">${xmlEscape(b.unit, true)}</Item>`);
  });
  lines.push('</GDALMetadata>');
  return lines.join('\n');
}

/** The GeoTIFF bytes for a map. Throws a UserError when the grid's CRS cannot be described. */
export function geoTiffBytes(map: ExposureMap, opts: GeoTiffOptions = {}): Uint8Array {
  const g = map.grid;
  const n = g.width * g.height;
  const value = new Float32Array(n);
  for (let i = 0; i < n; i++) value[i] = Number.isFinite(map.values[i]) ? map.values[i] : GEOTIFF_NODATA;
  const bands = [value];
  const bandInfo = [{ description: 'electric field E (V/m)', unit: 'V/m' }];
  if (map.variance) {
    const sd = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = map.variance[i];
      sd[i] = Number.isFinite(v) && Number.isFinite(map.values[i]) ? Math.sqrt(Math.max(0, v)) : GEOTIFF_NODATA;
    }
    bands.push(sd);
    bandInfo.push({ description: 'prediction standard deviation (V/m)', unit: 'V/m' });
  }
  const tags: TiffTag[] = [
    { tag: TAG_MODEL_PIXEL_SCALE, type: 'DOUBLE', values: [cellWidth(g), cellHeight(g), 0] },
    // raster point (0, 0) = the upper-left corner of the upper-left cell (PixelIsArea)
    { tag: TAG_MODEL_TIEPOINT, type: 'DOUBLE', values: [0, 0, 0, g.bounds.xmin, g.bounds.ymax, 0] },
    ...geoKeyTags(geoKeysFor(g.crs)),
    { tag: TAG_GDAL_METADATA, type: 'ASCII', values: gdalMetadataXml(opts.metadata ?? {}, bandInfo) },
    { tag: TAG_GDAL_NODATA, type: 'ASCII', values: String(GEOTIFF_NODATA) },
  ];
  return encodeFloat32Tiff({ width: g.width, height: g.height, bands, tags, compress: opts.compress });
}
