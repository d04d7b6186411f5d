// Coordinates on import. WGS84 positions come as decimal degrees ("50.6329", "-3.05", "50.6329 N"),
// as GPS degrees-minutes "ddmm.mmmm" / "dddmm.mmmm" with a hemisphere ("5037.9740N", "00303.0000E"),
// or with symbols ("50°37.974'N", "50°37'58.4\"N"). A hemisphere may also sit in its own column.
// Projected coordinates (x/y) are plain numbers in a CRS given by the user (EPSG code, proj4, "local").

import { parseNumber } from './numbers.ts';

export type Axis = 'lat' | 'lon';

export interface ParsedCoord {
  value: number;
  error?: string;
}

const LIMIT: Record<Axis, number> = { lat: 90, lon: 180 };
// O = Ouest (French for west)
const HEMI_SIGN: Record<string, number> = { N: 1, S: -1, E: 1, W: -1, O: -1 };
const HEMI_AXIS: Record<string, Axis> = { N: 'lat', S: 'lat', E: 'lon', W: 'lon', O: 'lon' };

const WITH_HEMI = /^([NSEWO])?\s*([+-]?[\d.,]+)\s*([NSEWO])?$/i;
const DMS = /^([+-])?(\d{1,3})\s*°\s*(?:([\d.,]+)\s*['′]\s*(?:([\d.,]+)\s*(?:"|″|''))?)?\s*([NSEWO])?$/i;

/**
 * Parse one latitude or longitude in degrees. `hemisphere` is the content of a separate N/S or E/W
 * column when there is one. Checks the range ([-90, 90] or [-180, 180]).
 */
export function parseCoordinate(text: string, axis: Axis, decimalComma: boolean, hemisphere?: string): ParsedCoord {
  const s = text.trim();
  let deg: number;
  let hemi = hemisphere?.trim().toUpperCase() || undefined;
  const dms = s.includes('°') ? DMS.exec(s) : null;
  if (dms) {
    const d = Number(dms[2]);
    const min = dms[3] ? parseNumber(dms[3], true) : 0;
    const sec = dms[4] ? parseNumber(dms[4], true) : 0;
    if (!(min < 60) || !(sec < 60)) return { value: NaN, error: `minutes and seconds must be below 60 in "${s}"` };
    deg = (dms[1] === '-' ? -1 : 1) * (d + min / 60 + sec / 3600);
    if (dms[5]) hemi = dms[5].toUpperCase();
  } else {
    const m = WITH_HEMI.exec(s);
    if (!m) return { value: NaN, error: `cannot read "${s}" as a ${axis === 'lat' ? 'latitude' : 'longitude'}` };
    const letter = (m[1] ?? m[3])?.toUpperCase();
    if (m[1] && m[3]) return { value: NaN, error: `two hemisphere letters in "${s}"` };
    if (letter) hemi = letter;
    const num = m[2];
    const v = parseNumber(num, decimalComma || /^\d+,\d+$/.test(num));
    if (Number.isNaN(v)) return { value: NaN, error: `cannot read "${s}" as a ${axis === 'lat' ? 'latitude' : 'longitude'}` };
    const intDigits = num.replace(/^[+-]/, '').split(/[.,]/)[0].length;
    if (intDigits >= 4) {
      // GPS degrees + decimal minutes: ddmm.mmmm (lat) or dddmm.mmmm (lon)
      const a = Math.abs(v);
      const d = Math.floor(a / 100);
      const min = a - 100 * d;
      if (min >= 60) return { value: NaN, error: `"${s}" is not ddmm.mmmm: minutes ${min.toFixed(4)} ≥ 60` };
      deg = Math.sign(v) * (d + min / 60);
    } else deg = v;
  }
  if (hemi !== undefined) {
    const sign = HEMI_SIGN[hemi];
    if (sign === undefined || HEMI_AXIS[hemi] !== axis) {
      return { value: NaN, error: `hemisphere "${hemi}" does not fit a ${axis === 'lat' ? 'latitude (N/S)' : 'longitude (E/W)'}` };
    }
    if (deg < 0) return { value: NaN, error: `both a minus sign and a hemisphere in "${s}"` };
    deg *= sign;
  }
  if (!(Math.abs(deg) <= LIMIT[axis])) {
    return {
      value: NaN,
      error: `${axis === 'lat' ? 'latitude' : 'longitude'} ${s} is out of range [-${LIMIT[axis]}, ${LIMIT[axis]}] (projected coordinates? name the columns x/y and give --crs)`,
    };
  }
  return { value: deg };
}

/** Great-circle distance in metres (spherical Earth), for "sensor moved" warnings. */
export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const R = 6_371_008.8;
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}
