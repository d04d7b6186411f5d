// Project coordinates <-> what Leaflet shows. A project in a real CRS is shown on Web Mercator (lat/lon); a
// "local" project (plain metres, no geographic reference) on Leaflet's CRS.Simple with y up.

import proj4 from 'proj4';
import { proj4Def } from '../../../src/geo/crs.ts';

export interface Geo {
  /** Plain metres on CRS.Simple (no basemap possible). */
  local: boolean;
  crs: string;
  /** Project/grid (x, y) -> Leaflet [lat, lng]. */
  toLatLng(x: number, y: number): [number, number];
  /** Leaflet lat/lng -> project (x, y). */
  fromLatLng(lat: number, lng: number): [number, number];
}

export function isLocalCrs(crs: string | null | undefined): boolean {
  return !crs || crs.trim() === '' || crs.trim().toLowerCase() === 'local';
}

export function makeGeo(crs: string): Geo {
  if (isLocalCrs(crs)) {
    return { local: true, crs: 'local', toLatLng: (x, y) => [y, x], fromLatLng: (lat, lng) => [lng, lat] };
  }
  const def = proj4Def(crs)!;
  const conv = proj4(def, 'EPSG:4326');
  return {
    local: false,
    crs,
    toLatLng: (x, y) => {
      const [lon, lat] = conv.forward([x, y]);
      return [lat, lon];
    },
    fromLatLng: (lat, lng) => conv.inverse([lng, lat]) as [number, number],
  };
}
