// Column roles from header names, in English and French. A header may carry the value's unit:
// "E (V/m)", "valeur [dBµV/m]", "champ_mV/m", "E V/m". Matching ignores case, accents, spaces and
// punctuation ("Date/Heure" = "date_heure").

import { parseUnit, type Unit } from './units.ts';

export type Role =
  | 'id'
  | 'name'
  | 'lat'
  | 'lon'
  | 'latHemisphere'
  | 'lonHemisphere'
  | 'x'
  | 'y'
  | 'time'
  | 'date'
  | 'clock'
  | 'value'
  | 'unit'
  | 'band'
  | 'quality'
  | 'height';

/** Human names of roles, for reports. */
export const ROLE_LABEL: Record<Role, string> = {
  id: 'sensor id',
  name: 'sensor name',
  lat: 'latitude',
  lon: 'longitude',
  latHemisphere: 'latitude hemisphere',
  lonHemisphere: 'longitude hemisphere',
  x: 'x (projected)',
  y: 'y (projected)',
  time: 'timestamp',
  date: 'date',
  clock: 'time of day',
  value: 'value',
  unit: 'unit',
  band: 'band',
  quality: 'quality flag',
  height: 'height (m)',
};

const ALIASES: Record<Role, string[]> = {
  id: ['id', 'sensor', 'sensor_id', 'sensorid', 'sensor_code', 'station', 'station_id', 'capteur', 'id_capteur', 'capteur_id',
    'identifiant', 'device', 'device_id', 'point', 'point_id', 'site', 'site_id', 'code', 'code_capteur', 'num_capteur', 'numero', 'sonde', 'id_sonde'],
  name: ['name', 'nom', 'label', 'libelle', 'sensor_name', 'station_name', 'nom_capteur', 'location', 'lieu', 'adresse', 'address', 'emplacement'],
  lat: ['lat', 'latitude', 'lat_wgs84', 'latitude_wgs84', 'lat_deg', 'gps_lat', 'lat_dd'],
  lon: ['lon', 'lng', 'long', 'longitude', 'lon_wgs84', 'longitude_wgs84', 'lon_deg', 'gps_lon', 'lon_dd'],
  latHemisphere: ['ns', 'n_s', 'lat_dir', 'lat_hemisphere', 'hemisphere_lat', 'lat_hem'],
  lonHemisphere: ['ew', 'e_w', 'eo', 'e_o', 'lon_dir', 'lon_hemisphere', 'hemisphere_lon', 'lon_hem'],
  x: ['x', 'easting', 'east', 'x_m', 'coord_x', 'x_l93', 'xl93', 'x_lambert93', 'lambert93_x', 'x_lambert', 'utm_x', 'x_utm'],
  y: ['y', 'northing', 'north', 'nord', 'y_m', 'coord_y', 'y_l93', 'yl93', 'y_lambert93', 'lambert93_y', 'y_lambert', 'utm_y', 'y_utm'],
  time: ['time', 'timestamp', 'datetime', 'date_time', 'date_heure', 'dateheure', 'horodatage', 'horodate', 'instant', 'utc',
    'time_utc', 'datetime_utc', 'timestamp_utc', 'date_utc', 'measurement_time', 'date_mesure', 'date_de_mesure', 'date_de_la_mesure',
    'heure_mesure', 'date_releve', 't'],
  date: ['date', 'jour', 'day'],
  clock: ['heure', 'hour', 'time_of_day', 'heure_locale', 'local_time'],
  value: ['value', 'valeur', 'e', 'field', 'champ', 'e_total', 'etotal', 'e_tot', 'e_field', 'efield', 'field_strength', 'level', 'niveau',
    'mesure', 'measurement', 'measure', 'exposure', 'exposition', 'champ_electrique', 'electric_field', 'val', 'result', 'resultat',
    'total', 'valeur_mesuree', 'niveau_exposition', 'niveau_global', 'e_rms', 'rms',
    // power density columns (the unit says how to convert)
    's', 'power_density', 'densite_puissance', 'densite_de_puissance', 'dsp'],
  unit: ['unit', 'units', 'unite', 'unites', 'unite_mesure'],
  band: ['band', 'bande', 'frequency_band', 'freq_band', 'bande_de_frequence', 'bande_frequence', 'service'],
  quality: ['quality', 'qualite', 'flag', 'quality_flag', 'qc', 'qualite_mesure', 'code_qualite'],
  height: ['height', 'hauteur', 'height_m', 'hauteur_m', 'h', 'height_agl', 'hauteur_sol', 'elevation_above_ground'],
};

const LOOKUP = new Map<string, Role>();
for (const [role, names] of Object.entries(ALIASES) as Array<[Role, string[]]>) for (const n of names) LOOKUP.set(n, role);

/** Header text → matching key: lower case, no accents, runs of non-alphanumerics → "_". */
export function normaliseHeader(h: string): string {
  return h
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export interface HeaderInfo {
  /** Header as written (trimmed). */
  text: string;
  /** Header without its unit part. */
  base: string;
  /** Unit found in the header, if any. */
  unit: Unit | null;
}

/** Split a unit off a header: "E (V/m)", "valeur [dBµV/m]", "E V/m", "champ_mV/m". */
export function splitHeaderUnit(header: string): HeaderInfo {
  const text = header.trim();
  const bracket = /^(.*?)\s*[([]\s*([^)\]]+?)\s*[)\]]\s*$/.exec(text);
  if (bracket) {
    const u = parseUnit(bracket[2]);
    if (u) return { text, base: bracket[1].trim(), unit: u };
  }
  const tail = /^(.*?)[\s_]+(\S+)$/.exec(text);
  if (tail) {
    const u = parseUnit(tail[2]);
    if (u) return { text, base: tail[1].trim(), unit: u };
  }
  // "E_V_m": unit written with underscores
  const us = /^(.*?)_((?:d[bB])?[mµuμ]?[vVwW])_(m2?|cm2)$/.exec(text);
  if (us) {
    const u = parseUnit(`${us[2]}/${us[3]}`);
    if (u) return { text, base: us[1].trim(), unit: u };
  }
  const whole = parseUnit(text);
  if (whole) return { text, base: '', unit: whole };
  return { text, base: text, unit: null };
}

/** The role a header names, or null (extra column). A bare unit header ("V/m") is a value column. */
export function roleOf(h: HeaderInfo): Role | null {
  if (h.base === '' && h.unit) return 'value';
  const key = normaliseHeader(h.base);
  const r = LOOKUP.get(key);
  if (r) return r;
  // "E (V/m)" handled above; "valeur_e", "mesure_v_m" etc.: a value column when a unit was in the header
  if (h.unit && /^(e|valeur|value|champ|field|mesure|niveau|level)(_|$)/.test(key)) return 'value';
  return null;
}

/** Does a header hint at a projected CRS? ("x_l93" → Lambert-93.) */
export function crsHintFromHeaders(headers: string[]): string | null {
  for (const h of headers) {
    const k = normaliseHeader(h);
    if (/(^|_)(l93|lambert93|lambert_93)(_|$)/.test(k)) return 'EPSG:2154';
  }
  return null;
}
