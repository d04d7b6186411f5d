// Describing a grid's CRS to other software: ESRI-style WKT (.prj, PAM .aux.xml) and GeoTIFF geokeys.
//
// proj4js takes proj4 strings but cannot write WKT, and GeoTIFF needs geokeys, so we translate the
// projections our grids use ourselves: the EPSG codes geo/crs.ts knows, and proj4 strings for
// transverse Mercator (the project's default local CRS), UTM, Lambert conformal conic, Lambert azimuthal
// equal-area and Web Mercator, on the WGS84 or GRS80 ellipsoid. Anything else is refused with a clear
// message rather than written half-right. The output is checked against GDAL/PROJ in the export tests.

import { UserError } from '../../domain/errors.ts';
import { LOCAL, epsgCode, proj4Def } from '../../geo/crs.ts';

export type Datum = 'WGS84' | 'GRS80';

export type CrsDescription =
  | { kind: 'local' }
  | { kind: 'geographic'; datum: Datum; epsg: number | null }
  | {
      kind: 'projected';
      method: 'tmerc' | 'lcc' | 'laea' | 'webmerc';
      datum: Datum;
      epsg: number | null;
      /** Name written into the WKT (ESRI spelling for the EPSG codes we know, so GDAL identifies them). */
      name: string;
      lat0: number;
      lon0: number;
      k: number;
      x0: number;
      y0: number;
      /** Lambert conformal conic standard parallels (lat2 = lat1 for the one-parallel form). */
      lat1?: number;
      lat2?: number;
    };

/** Parse "+proj=tmerc +lat_0=48 +no_defs" into { proj: 'tmerc', lat_0: '48', no_defs: true }. */
export function parseProj4(def: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (const tok of def.trim().split(/\s+/)) {
    if (!tok.startsWith('+')) continue;
    const eq = tok.indexOf('=');
    if (eq < 0) out[tok.slice(1)] = true;
    else out[tok.slice(1, eq)] = tok.slice(eq + 1);
  }
  return out;
}

const ESRI_NAMES: Record<number, string> = {
  2154: 'RGF_1993_Lambert_93',
  3812: 'Belge_Lambert_2008',
  3035: 'ETRS_1989_LAEA',
};

function num(p: Record<string, string | true>, key: string, dflt: number, crs: string): number {
  const v = p[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new UserError(`CRS "${crs}": +${key} is not a number`);
  return n;
}

function datumOf(p: Record<string, string | true>, crs: string): Datum {
  if (p.datum === 'WGS84' || p.ellps === 'WGS84') return 'WGS84';
  if (p.ellps === 'GRS80') {
    const t = typeof p.towgs84 === 'string' ? p.towgs84.split(',').map(Number) : [0];
    if (t.every((v) => v === 0)) return 'GRS80';
  }
  throw new UserError(
    `CRS "${crs}": only the WGS84 and GRS80 (ETRS89/RGF93) ellipsoids can be written to GIS files; ` +
      'reproject the project to an EPSG CRS such as a UTM zone',
  );
}

/** What a CRS string is, in the terms WKT and GeoTIFF need. Throws a UserError for CRSs we cannot write. */
export function describeCrs(crs: string): CrsDescription {
  const def = proj4Def(crs);
  if (def === null) return { kind: 'local' };
  const p = parseProj4(def);
  const epsg = epsgCode(crs);
  if (p.proj === 'longlat') return { kind: 'geographic', datum: datumOf(p, crs), epsg };
  if (p.proj === 'merc' && p.a === '6378137' && p.b === '6378137' && (p.nadgrids === '@null' || epsg === 3857)) {
    return { kind: 'projected', method: 'webmerc', datum: 'WGS84', epsg: 3857, name: 'WGS_1984_Web_Mercator_Auxiliary_Sphere', lat0: 0, lon0: num(p, 'lon_0', 0, crs), k: 1, x0: 0, y0: 0 };
  }
  if (p.units !== undefined && p.units !== 'm') throw new UserError(`CRS "${crs}": only metre units can be written (got +units=${String(p.units)})`);
  const datum = datumOf(p, crs);
  const gcs = datum === 'WGS84' ? 'WGS_1984' : 'ETRS_1989';
  if (p.proj === 'utm') {
    const zone = num(p, 'zone', NaN, crs);
    if (!Number.isInteger(zone) || zone < 1 || zone > 60) throw new UserError(`CRS "${crs}": +zone must be 1..60`);
    const south = p.south === true;
    return {
      kind: 'projected', method: 'tmerc', datum, epsg,
      name: `${gcs}_UTM_Zone_${zone}${south ? 'S' : 'N'}`,
      lat0: 0, lon0: zone * 6 - 183, k: 0.9996, x0: 500000, y0: south ? 10000000 : 0,
    };
  }
  const common = {
    datum, epsg,
    lat0: num(p, 'lat_0', 0, crs), lon0: num(p, 'lon_0', 0, crs),
    k: num(p, 'k_0', num(p, 'k', 1, crs), crs),
    x0: num(p, 'x_0', 0, crs), y0: num(p, 'y_0', 0, crs),
  };
  const name = (epsg !== null && ESRI_NAMES[epsg]) || '';
  if (p.proj === 'tmerc') return { kind: 'projected', method: 'tmerc', name: name || 'emfmap_Transverse_Mercator', ...common };
  if (p.proj === 'lcc') {
    const lat1 = num(p, 'lat_1', common.lat0, crs);
    const lat2 = num(p, 'lat_2', lat1, crs);
    return { kind: 'projected', method: 'lcc', name: name || 'emfmap_Lambert_Conformal_Conic', lat1, lat2, ...common };
  }
  if (p.proj === 'laea') return { kind: 'projected', method: 'laea', name: name || 'emfmap_Lambert_Azimuthal_Equal_Area', ...common };
  throw new UserError(
    `CRS "${crs}": projection +proj=${String(p.proj)} cannot be written to GIS files yet ` +
      '(supported: EPSG codes, tmerc, utm, lcc, laea, Web Mercator)',
  );
}

/** True when the CRS can be converted to WGS84 (needed by KMZ and GeoJSON). */
export function hasGeographicLink(crs: string): boolean {
  return crs.trim().toLowerCase() !== LOCAL;
}

const fmt = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));

function esriGeogcs(datum: Datum): string {
  return datum === 'WGS84'
    ? 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
    : 'GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
}

/**
 * ESRI-flavoured WKT1, the dialect of .prj files (read by ArcGIS, QGIS, GDAL). Null for a "local" CRS,
 * which has no geodetic meaning.
 */
export function esriWkt(crs: string): string | null {
  const d = describeCrs(crs);
  if (d.kind === 'local') return null;
  if (d.kind === 'geographic') return esriGeogcs(d.datum);
  // RGF93 is GRS80 with a zero shift, like ETRS89; name it properly for Lambert-93 so GDAL finds EPSG:2154
  const geogcs =
    d.epsg === 2154
      ? 'GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
      : esriGeogcs(d.datum);
  const par = (name: string, v: number) => `PARAMETER["${name}",${fmt(v)}]`;
  let body: string[];
  switch (d.method) {
    case 'tmerc':
      body = ['PROJECTION["Transverse_Mercator"]', par('False_Easting', d.x0), par('False_Northing', d.y0),
        par('Central_Meridian', d.lon0), par('Scale_Factor', d.k), par('Latitude_Of_Origin', d.lat0)];
      break;
    case 'lcc':
      body = d.lat1 !== d.lat2
        ? ['PROJECTION["Lambert_Conformal_Conic"]', par('False_Easting', d.x0), par('False_Northing', d.y0),
            par('Central_Meridian', d.lon0), par('Standard_Parallel_1', d.lat1!), par('Standard_Parallel_2', d.lat2!),
            par('Latitude_Of_Origin', d.lat0)]
        : ['PROJECTION["Lambert_Conformal_Conic"]', par('False_Easting', d.x0), par('False_Northing', d.y0),
            par('Central_Meridian', d.lon0), par('Standard_Parallel_1', d.lat1!), par('Scale_Factor', d.k),
            par('Latitude_Of_Origin', d.lat1!)];
      break;
    case 'laea':
      body = ['PROJECTION["Lambert_Azimuthal_Equal_Area"]', par('False_Easting', d.x0), par('False_Northing', d.y0),
        par('Central_Meridian', d.lon0), par('Latitude_Of_Origin', d.lat0)];
      break;
    case 'webmerc':
      body = ['PROJECTION["Mercator_Auxiliary_Sphere"]', par('False_Easting', 0), par('False_Northing', 0),
        par('Central_Meridian', d.lon0), par('Standard_Parallel_1', 0), par('Auxiliary_Sphere_Type', 0)];
      break;
  }
  return `PROJCS["${d.name}",${geogcs},${body.join(',')},UNIT["Meter",1.0]]`;
}

/** A GeoTIFF geokey: SHORT values sit in the directory, DOUBLE and ASCII ones in the params tags. */
export type GeoKey = { id: number; short: number } | { id: number; double: number } | { id: number; ascii: string };

// GeoTIFF 1.0 key ids and codes (OGC 19-008r4 / libgeotiff geokeys.inc, geo_ctrans.inc)
const K = {
  GTModelType: 1024, GTRasterType: 1025, GTCitation: 1026,
  GeographicType: 2048, GeogCitation: 2049, GeogAngularUnits: 2054,
  ProjectedCSType: 3072, PCSCitation: 3073, Projection: 3074, ProjCoordTrans: 3075, ProjLinearUnits: 3076,
  ProjStdParallel1: 3078, ProjStdParallel2: 3079, ProjNatOriginLong: 3080, ProjNatOriginLat: 3081,
  ProjFalseEasting: 3082, ProjFalseNorthing: 3083, ProjFalseOriginLong: 3084, ProjFalseOriginLat: 3085,
  ProjFalseOriginEasting: 3086, ProjFalseOriginNorthing: 3087, ProjCenterLong: 3088, ProjCenterLat: 3089,
  ProjScaleAtNatOrigin: 3092,
} as const;
const USER_DEFINED = 32767;
const MODEL_PROJECTED = 1;
const MODEL_GEOGRAPHIC = 2;
const RASTER_PIXEL_IS_AREA = 1;
const LINEAR_METRE = 9001;
const ANGULAR_DEGREE = 9102;
const CT = { TransverseMercator: 1, LambertConfConic_2SP: 8, LambertConfConic_1SP: 9, LambertAzimEqualArea: 10 } as const;

/**
 * GeoTIFF geokeys for a CRS: its EPSG code when it has one, else a user-defined projection with its
 * parameters (what GDAL writes for a proj4-only CRS). A "local" CRS gets a user-defined projected CRS in
 * metres with no geodetic link, so GIS software keeps the coordinates but knows it cannot reproject.
 */
export function geoKeysFor(crs: string): GeoKey[] {
  const d = describeCrs(crs);
  const keys: GeoKey[] = [{ id: K.GTRasterType, short: RASTER_PIXEL_IS_AREA }];
  if (d.kind === 'local') {
    keys.push(
      { id: K.GTModelType, short: MODEL_PROJECTED },
      { id: K.GTCitation, ascii: 'emfmap local plane (metres, no geodetic reference)' },
      { id: K.ProjectedCSType, short: USER_DEFINED },
      { id: K.ProjLinearUnits, short: LINEAR_METRE },
    );
  } else if (d.kind === 'geographic') {
    keys.push(
      { id: K.GTModelType, short: MODEL_GEOGRAPHIC },
      { id: K.GeographicType, short: d.datum === 'WGS84' ? 4326 : 4258 },
      { id: K.GeogAngularUnits, short: ANGULAR_DEGREE },
    );
  } else if (d.epsg !== null) {
    keys.push({ id: K.GTModelType, short: MODEL_PROJECTED }, { id: K.ProjectedCSType, short: d.epsg });
  } else {
    keys.push(
      { id: K.GTModelType, short: MODEL_PROJECTED },
      { id: K.GTCitation, ascii: d.name.replace(/_/g, ' ') },
      // WGS84 or ETRS89 (GRS80 with a zero shift)
      { id: K.GeographicType, short: d.datum === 'WGS84' ? 4326 : 4258 },
      { id: K.GeogAngularUnits, short: ANGULAR_DEGREE },
      { id: K.ProjectedCSType, short: USER_DEFINED },
      { id: K.Projection, short: USER_DEFINED },
      { id: K.ProjLinearUnits, short: LINEAR_METRE },
    );
    switch (d.method) {
      case 'tmerc':
        keys.push(
          { id: K.ProjCoordTrans, short: CT.TransverseMercator },
          { id: K.ProjNatOriginLong, double: d.lon0 }, { id: K.ProjNatOriginLat, double: d.lat0 },
          { id: K.ProjFalseEasting, double: d.x0 }, { id: K.ProjFalseNorthing, double: d.y0 },
          { id: K.ProjScaleAtNatOrigin, double: d.k },
        );
        break;
      case 'lcc':
        if (d.lat1 !== d.lat2) {
          keys.push(
            { id: K.ProjCoordTrans, short: CT.LambertConfConic_2SP },
            { id: K.ProjStdParallel1, double: d.lat1! }, { id: K.ProjStdParallel2, double: d.lat2! },
            { id: K.ProjFalseOriginLong, double: d.lon0 }, { id: K.ProjFalseOriginLat, double: d.lat0 },
            { id: K.ProjFalseOriginEasting, double: d.x0 }, { id: K.ProjFalseOriginNorthing, double: d.y0 },
          );
        } else {
          keys.push(
            { id: K.ProjCoordTrans, short: CT.LambertConfConic_1SP },
            { id: K.ProjNatOriginLong, double: d.lon0 }, { id: K.ProjNatOriginLat, double: d.lat1! },
            { id: K.ProjFalseEasting, double: d.x0 }, { id: K.ProjFalseNorthing, double: d.y0 },
            { id: K.ProjScaleAtNatOrigin, double: d.k },
          );
        }
        break;
      case 'laea':
        keys.push(
          { id: K.ProjCoordTrans, short: CT.LambertAzimEqualArea },
          { id: K.ProjCenterLong, double: d.lon0 }, { id: K.ProjCenterLat, double: d.lat0 },
          { id: K.ProjFalseEasting, double: d.x0 }, { id: K.ProjFalseNorthing, double: d.y0 },
        );
        break;
      case 'webmerc':
        // has an EPSG code (3857) by construction; not reached
        break;
    }
  }
  return keys.sort((a, b) => a.id - b.id);
}
