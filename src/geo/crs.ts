// Coordinate reference systems. Estimation runs in a metric CRS; sensors are stored in WGS84 and in the
// project CRS. A CRS is written as "EPSG:<code>", a proj4 string ("+proj=..."), or "local" (coordinates
// are already plain metres on an arbitrary local plane; no conversion to WGS84 is possible).

import proj4 from 'proj4';
import { UserError } from '../domain/errors.ts';

// EPSG codes users bring most often, defined here because proj4 only ships 4326/3857 (no network lookup).
const KNOWN: Record<string, string> = {
  'EPSG:4326': '+proj=longlat +datum=WGS84 +no_defs',
  'EPSG:3857': '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs',
  // RGF93 / Lambert-93 (France)
  'EPSG:2154':
    '+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs',
  // Belgian Lambert 2008
  'EPSG:3812':
    '+proj=lcc +lat_0=50.797815 +lon_0=4.35921583333333 +lat_1=49.8333333333333 +lat_2=51.1666666666667 +x_0=649328 +y_0=665262 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs',
  // ETRS89 / LAEA Europe
  'EPSG:3035': '+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs',
};

export const WGS84 = 'EPSG:4326';
export const LOCAL = 'local';

/** proj4 definition for a CRS string, or null for "local". Throws a UserError for an unknown CRS. */
export function proj4Def(crs: string): string | null {
  const c = crs.trim();
  if (c.toLowerCase() === LOCAL) return null;
  if (c.startsWith('+')) return c;
  const m = /^EPSG:(\d+)$/i.exec(c);
  if (m) {
    const key = `EPSG:${m[1]}`;
    if (KNOWN[key]) return KNOWN[key];
    const code = Number(m[1]);
    // WGS84 / UTM zones: 326xx north, 327xx south
    if (code >= 32601 && code <= 32660) return `+proj=utm +zone=${code - 32600} +datum=WGS84 +units=m +no_defs`;
    if (code >= 32701 && code <= 32760) return `+proj=utm +zone=${code - 32700} +south +datum=WGS84 +units=m +no_defs`;
    // ETRS89 / UTM zones 28..38 N
    if (code >= 25828 && code <= 25838) return `+proj=utm +zone=${code - 25800} +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs`;
    throw new UserError(`unknown CRS ${key}: give its proj4 definition instead (e.g. --crs "+proj=...")`);
  }
  throw new UserError(`cannot read CRS "${crs}": use EPSG:<code>, a proj4 string starting with "+proj=", or "local"`);
}

/** True when the CRS's units are degrees (geographic). */
export function isGeographic(crs: string): boolean {
  const d = proj4Def(crs);
  return d !== null && /\+proj=longlat/.test(d);
}

/** EPSG code of a CRS string, when it has one (used for GeoTIFF geokeys and .prj files). */
export function epsgCode(crs: string): number | null {
  const m = /^EPSG:(\d+)$/i.exec(crs.trim());
  if (m) return Number(m[1]);
  const utm = /\+proj=utm \+zone=(\d+)( \+south)? \+datum=WGS84/.exec(crs);
  if (utm) return (utm[2] ? 32700 : 32600) + Number(utm[1]);
  return null;
}

/** A local transverse Mercator centred on (lat0, lon0): metric, negligible distortion over a city. */
export function localTransverseMercator(lat0: number, lon0: number): string {
  const r = (v: number) => Math.round(v * 1e6) / 1e6;
  return `+proj=tmerc +lat_0=${r(lat0)} +lon_0=${r(lon0)} +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs`;
}

/** The UTM zone CRS (EPSG:326xx / 327xx) containing a WGS84 position. */
export function utmFor(lat: number, lon: number): string {
  const zone = Math.min(60, Math.max(1, Math.floor((lon + 180) / 6) + 1));
  return `EPSG:${(lat >= 0 ? 32600 : 32700) + zone}`;
}

export type XY = [number, number];

export interface Transformer {
  forward(p: XY): XY;
  inverse(p: XY): XY;
}

/** Converter between two CRSs; "local" only converts to itself. */
export function transformer(from: string, to: string): Transformer {
  const a = proj4Def(from);
  const b = proj4Def(to);
  if (a === null || b === null) {
    if (a === null && b === null) return { forward: (p) => [p[0], p[1]], inverse: (p) => [p[0], p[1]] };
    throw new UserError('a "local" CRS cannot be converted to or from geographic coordinates; give the real CRS');
  }
  if (a === b) return { forward: (p) => [p[0], p[1]], inverse: (p) => [p[0], p[1]] };
  const conv = proj4(a, b);
  return { forward: (p) => conv.forward(p) as XY, inverse: (p) => conv.inverse(p) as XY };
}

/** WGS84 (lon, lat) -> CRS (x, y). */
export function fromWgs84(crs: string, lon: number, lat: number): XY {
  return transformer(WGS84, crs).forward([lon, lat]);
}

/** CRS (x, y) -> WGS84 (lon, lat). */
export function toWgs84(crs: string, x: number, y: number): XY {
  return transformer(crs, WGS84).forward([x, y]);
}
