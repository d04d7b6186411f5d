// GeoJSON export (RFC 7946: WGS84 lon/lat, counter-clockwise outer rings): one MultiPolygon feature per
// isoband between consecutive thresholds, with its value range, label and fill colour (simplestyle
// properties, shown by geojson.io and many viewers); and the isolines at the thresholds in a second file
// NAME.contours.geojson (a separate file so each has one geometry type, which GIS software prefers).

import type { Feature, FeatureCollection, MultiLineString, MultiPolygon, Position } from 'geojson';
import type { ExposureMap, Grid } from '../../domain/types.ts';
import { UserError } from '../../domain/errors.ts';
import type { RunContext } from '../../domain/run.ts';
import { transformer, LOCAL } from '../../geo/crs.ts';
import { cellHeight, cellWidth } from '../../geo/grid.ts';
import { classLabels, finiteRange, makeScale, niceTicks } from './colour.ts';
import { isobands, type Pt } from './isobands.ts';
import type { OutFile } from './atomic.ts';

export interface GeoJsonOptions {
  /** Band limits; default: about 6 round values over the map's range. */
  thresholds?: number[];
  ramp?: string;
}

/** Default thresholds for contouring when the user gives none: round values inside the data range. */
export function defaultThresholds(values: ArrayLike<number>): number[] {
  const { min, max, count } = finiteRange(values);
  if (count === 0 || !(max > min)) return [count ? min : 0];
  const ticks = niceTicks(min, max, 6).filter((t) => t > min && t < max);
  return ticks.length ? ticks : [(min + max) / 2];
}

/** Grid model space (cells, Y up from the south edge) → lon/lat. */
function toLonLat(g: Grid): (p: Pt) => Position {
  if (g.crs.trim().toLowerCase() === LOCAL) {
    throw new UserError('GeoJSON needs WGS84 coordinates but this grid is in a "local" CRS; give the project a real CRS (EPSG code or proj4)');
  }
  const t = transformer(g.crs, 'EPSG:4326');
  const dx = cellWidth(g);
  const dy = cellHeight(g);
  return (p) => t.forward([g.bounds.xmin + p[0] * dx, g.bounds.ymin + p[1] * dy]);
}

const hex = (c: [number, number, number]) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');

export async function geoJsonFiles(map: ExposureMap, out: string, opts: GeoJsonOptions = {}, ctx: RunContext = {}): Promise<OutFile[]> {
  const g = map.grid;
  const project = toLonLat(g); // fails early for "local"
  const thresholds = opts.thresholds?.length ? opts.thresholds : defaultThresholds(map.values);
  const scale = makeScale(map.values, { ramp: opts.ramp, thresholds });
  const labels = classLabels(thresholds);
  const range = finiteRange(map.values);
  const res = await isobands(map.values, g.width, g.height, thresholds, ctx);
  if (res.openChains > 0) throw new Error(`isobands: ${res.openChains} ring(s) did not close`);

  const ring = (r: Pt[]): Position[] => {
    const pts = r.map(project);
    pts.push(pts[0]);
    return pts;
  };
  const cellArea = cellWidth(g) * cellHeight(g);
  const bands: Feature<MultiPolygon>[] = res.bands.map((b) => ({
    type: 'Feature',
    properties: {
      band: b.index,
      label: labels[b.index],
      // open-ended first/last bands carry the data's own extreme, so every band has a numeric range
      min: b.lower ?? range.min,
      max: b.upper ?? range.max,
      lowerBound: b.lower,
      upperBound: b.upper,
      unit: 'V/m',
      areaM2: b.area * cellArea,
      fill: hex(scale.classColours[b.index]),
      'fill-opacity': 0.7,
      'stroke-width': 0,
    },
    geometry: { type: 'MultiPolygon', coordinates: b.polygons.map((p) => p.map(ring)) },
  }));
  const lines: Feature<MultiLineString>[] = res.lines
    .filter((l) => l.chains.length > 0)
    .map((l) => ({
      type: 'Feature',
      properties: { value: l.value, unit: 'V/m', stroke: '#202020', 'stroke-width': 1 },
      geometry: { type: 'MultiLineString', coordinates: l.chains.map((c) => c.map(project)) },
    }));
  const fc = (features: Feature[], name: string): FeatureCollection & { name: string } => ({ type: 'FeatureCollection', name, features });
  const base = out.replace(/\.(geo)?json$/i, '');
  const title = `emfmap ${map.method}`;
  return [
    { path: out, data: JSON.stringify(fc(bands, `${title} isobands`)) + '\n' },
    { path: `${base}.contours.geojson`, data: JSON.stringify(fc(lines, `${title} contours`)) + '\n' },
  ];
}
