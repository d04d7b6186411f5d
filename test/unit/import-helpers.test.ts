// Import building blocks: unit conversion (against hand-computed values), timestamps and time zones
// (DST included), coordinates (decimal, ddmm.mmmm, DMS, hemispheres), sniffing, header aliases.

import { describe, expect, it } from 'vitest';
import { parseUnit, toVoltsPerMetre, knownUnits } from '../../src/io/import/units.ts';
import { parseTimeZone, parseTimestamp, isTimeOfDay, headerIsTimestamp } from '../../src/io/import/time.ts';
import { parseCoordinate } from '../../src/io/import/coords.ts';
import { sniffDecimalComma, sniffDelimiter, sniffText } from '../../src/io/import/sniff.ts';
import { roleOf, splitHeaderUnit, normaliseHeader } from '../../src/io/import/columns.ts';
import { parseNumber, isMissing } from '../../src/io/import/numbers.ts';
import { UserError } from '../../src/domain/errors.ts';

const conv = (v: number, u: string) => toVoltsPerMetre(v, parseUnit(u)!);

describe('units → V/m', () => {
  it('converts field units exactly', () => {
    expect(conv(1.5, 'V/m')).toBe(1.5);
    expect(conv(350, 'mV/m')).toBe(0.35);
    expect(conv(2500, 'µV/m')).toBe(0.0025);
    expect(conv(2500, 'uV/m')).toBe(0.0025);
    expect(conv(2500, 'μV/m')).toBe(0.0025); // Greek mu
  });

  it('converts dBµV/m: E = 10^(dB/20) µV/m', () => {
    expect(conv(120, 'dBµV/m')).toBeCloseTo(1, 12);
    expect(conv(0, 'dBuV/m')).toBeCloseTo(1e-6, 18);
    expect(conv(100, 'dBµV/m')).toBeCloseTo(0.1, 12);
    // 106.0206 dB ≈ 20·log10(200000): 0.2 V/m
    expect(conv(106.0206, 'dBµV/m')).toBeCloseTo(0.2, 5);
    // negative dB is a valid (small) field
    expect(conv(-20, 'dBµV/m')).toBeCloseTo(1e-7, 18);
  });

  it('converts power density with E = √(S·Z0), Z0 = 376.73 Ω (hand-computed)', () => {
    // 1 µW/cm² = 0.01 W/m² → √(0.01 × 376.73) = √3.7673 = 1.94095…
    expect(conv(1, 'µW/cm²')).toBeCloseTo(1.9410, 4);
    expect(conv(1, 'uW/cm2')).toBeCloseTo(1.94095, 5);
    expect(conv(1, 'W/m²')).toBeCloseTo(19.409534, 5);
    expect(conv(1, 'W/m2')).toBeCloseTo(19.409534, 5);
    expect(conv(1, 'mW/m²')).toBeCloseTo(0.613783, 6);
    expect(conv(1, 'µW/m²')).toBeCloseTo(0.01940953, 7);
    expect(conv(0, 'W/m²')).toBe(0);
    // round trip with S = E²/Z0: 6 V/m ↔ 0.09556 W/m²
    expect(conv((6 * 6) / 376.73, 'W/m²')).toBeCloseTo(6, 12);
  });

  it('knows the spellings users write and rejects others', () => {
    for (const s of ['V/m', 'v/m', 'V.m-1', 'V m-1', 'mV/m', 'dBµV/m', 'dBuV/m', 'dBµV', 'W/m²', 'mW/m2', 'µW/cm²', 'uW/cm2']) {
      expect(parseUnit(s), s).not.toBeNull();
    }
    for (const s of ['', 'V', 'dBm', 'A/m', 'kV/m', 'mW']) expect(parseUnit(s), s).toBeNull();
    expect(knownUnits()).toContain('µW/cm²');
    expect(parseUnit('V/m')!.nonNegative).toBe(true);
    expect(parseUnit('dBµV/m')!.nonNegative).toBe(false);
  });
});

describe('numbers', () => {
  it('reads dots, decimal commas when allowed, exponents; refuses the rest', () => {
    expect(parseNumber('1.5', false)).toBe(1.5);
    expect(parseNumber(' -0.25 ', false)).toBe(-0.25);
    expect(parseNumber('1e-3', false)).toBe(0.001);
    expect(parseNumber('1,5', true)).toBe(1.5);
    expect(parseNumber('1,5', false)).toBeNaN();
    expect(parseNumber('1\u00a0234,5', true)).toBe(1234.5);
    for (const s of ['', 'abc', '1.2.3', '0x10', '1,2,3', 'Infinity']) expect(parseNumber(s, true), s).toBeNaN();
    expect(isMissing('')).toBe(true);
    expect(isMissing('NA')).toBe(true);
    expect(isMissing('n/a')).toBe(true);
    expect(isMissing('0')).toBe(false);
  });
});

describe('timestamps and time zones', () => {
  const utc = parseTimeZone(undefined);
  const paris = parseTimeZone('Europe/Paris');
  const t = (s: string, z = utc) => parseTimestamp(s, z).ms;

  it('reads ISO 8601 with and without offsets, fractions, dates alone', () => {
    expect(t('2024-03-01T10:00:00Z')).toBe(Date.UTC(2024, 2, 1, 10));
    expect(t('2024-03-01T10:00:00+01:00')).toBe(Date.UTC(2024, 2, 1, 9));
    expect(t('2024-03-01T10:00:00-0330')).toBe(Date.UTC(2024, 2, 1, 13, 30));
    expect(t('2024-03-01 10:00')).toBe(Date.UTC(2024, 2, 1, 10));
    expect(t('2024-03-01T10:00:00.250Z')).toBe(Date.UTC(2024, 2, 1, 10, 0, 0, 250));
    expect(t('2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(t('2024/03/01 10:00:05')).toBe(Date.UTC(2024, 2, 1, 10, 0, 5));
    expect(parseTimestamp('2024-03-01T10:00:00Z', utc).naive).toBe(false);
    expect(parseTimestamp('2024-03-01T10:00:00', utc).naive).toBe(true);
  });

  it('reads dd/mm/yyyy hh:mm[:ss] (also - . separators, 10h30), and epochs', () => {
    expect(t('01/03/2024 10:00')).toBe(Date.UTC(2024, 2, 1, 10));
    expect(t('1/3/2024 10:00:30')).toBe(Date.UTC(2024, 2, 1, 10, 0, 30));
    expect(t('01-03-2024 10h30')).toBe(Date.UTC(2024, 2, 1, 10, 30));
    expect(t('01.03.2024')).toBe(Date.UTC(2024, 2, 1));
    expect(t('1709287200')).toBe(1709287200000);
    expect(t('1709287200123')).toBe(1709287200123);
  });

  it('applies a time zone to local times, daylight saving included', () => {
    expect(t('01/03/2024 10:00', paris)).toBe(Date.UTC(2024, 2, 1, 9)); // CET, +01:00
    expect(t('01/07/2024 10:00', paris)).toBe(Date.UTC(2024, 6, 1, 8)); // CEST, +02:00
    // an explicit offset wins over the zone
    expect(t('2024-07-01T10:00:00Z', paris)).toBe(Date.UTC(2024, 6, 1, 10));
    // 31 March 2024 02:30 does not exist in Paris (clocks jump 02:00 → 03:00): read as 03:30 CEST
    expect(t('31/03/2024 02:30', paris)).toBe(Date.UTC(2024, 2, 31, 1, 30));
    // 27 October 2024 02:30 happens twice: the first (CEST) is taken
    expect(t('27/10/2024 02:30', paris)).toBe(Date.UTC(2024, 9, 27, 0, 30));
    expect(t('27/10/2024 03:30', paris)).toBe(Date.UTC(2024, 9, 27, 2, 30));
    expect(t('2024-07-01 12:00', parseTimeZone('America/New_York'))).toBe(Date.UTC(2024, 6, 1, 16));
    expect(t('2024-03-01 10:00', parseTimeZone('+05:30'))).toBe(Date.UTC(2024, 2, 1, 4, 30));
    expect(t('2024-03-01 10:00', parseTimeZone('-03:00'))).toBe(Date.UTC(2024, 2, 1, 13));
    expect(parseTimeZone('utc').name).toBe('UTC');
  });

  it('refuses impossible dates, US order and unknown zones with a reason', () => {
    for (const s of ['31/02/2024 10:00', '2024-13-01', '2024-02-30', '2023-02-29', '01/03/2024 25:00', 'yesterday', '']) {
      const p = parseTimestamp(s, utc);
      expect(p.ms, s).toBeNaN();
      expect(p.error, s).toBeTruthy();
    }
    expect(t('29/02/2024')).toBe(Date.UTC(2024, 1, 29)); // leap year
    expect(parseTimestamp('03/25/2024 10:00', utc).error).toMatch(/month\/day\/year/);
    expect(() => parseTimeZone('Mars/Olympus')).toThrow(UserError);
    expect(() => parseTimeZone('+15:00')).toThrow(/out of range/);
  });

  it('recognises times of day and timestamp headers', () => {
    expect(isTimeOfDay('10:30')).toBe(true);
    expect(isTimeOfDay('10h30')).toBe(true);
    expect(isTimeOfDay('2024-03-01 10:30')).toBe(false);
    expect(headerIsTimestamp('2024-03-01T10:00:00Z')).toBe(true);
    expect(headerIsTimestamp('01/03/2024 10:00')).toBe(true);
    expect(headerIsTimestamp('LIL-01')).toBe(false);
    expect(headerIsTimestamp('1234567890')).toBe(false);
  });
});

describe('coordinates', () => {
  const lat = (s: string, comma = false, h?: string) => parseCoordinate(s, 'lat', comma, h);
  const lon = (s: string, comma = false, h?: string) => parseCoordinate(s, 'lon', comma, h);

  it('reads decimal degrees, with hemisphere letters (O = Ouest)', () => {
    expect(lat('50.6329').value).toBe(50.6329);
    expect(lon('-3.05').value).toBe(-3.05);
    expect(lat('50,6329', true).value).toBe(50.6329);
    expect(lat('50.6329 N').value).toBe(50.6329);
    expect(lat('S33.8585').value).toBe(-33.8585);
    expect(lon('3.05 O').value).toBe(-3.05);
    expect(lon('74.006W').value).toBe(-74.006);
  });

  it('reads GPS ddmm.mmmm / dddmm.mmmm with a hemisphere in the cell or in its own column', () => {
    expect(lat('5038.2320N').value).toBeCloseTo(50 + 38.232 / 60, 12);
    expect(lon('00303.7980E').value).toBeCloseTo(3 + 3.798 / 60, 12);
    expect(lat('3351.5100S').value).toBeCloseTo(-(33 + 51.51 / 60), 12);
    expect(lon('15112.5300E').value).toBeCloseTo(151 + 12.53 / 60, 12);
    expect(lon('07400.3600W').value).toBeCloseTo(-(74 + 0.36 / 60), 12);
    expect(lat('5038.2320', false, 'S').value).toBeCloseTo(-(50 + 38.232 / 60), 12);
    expect(lat('0030.0000N').value).toBeCloseTo(0.5, 12);
  });

  it('reads degrees with symbols (minutes, seconds)', () => {
    expect(lat(`50°37'58.4"N`).value).toBeCloseTo(50 + 37 / 60 + 58.4 / 3600, 12);
    expect(lat(`50° 37.973' N`).value).toBeCloseTo(50 + 37.973 / 60, 12);
    expect(lon(`3°3'48"W`).value).toBeCloseTo(-(3 + 3 / 60 + 48 / 3600), 12);
  });

  it('refuses out-of-range values, minutes ≥ 60, wrong or doubled hemispheres', () => {
    expect(lat('95').error).toMatch(/out of range/);
    expect(lon('181').error).toMatch(/out of range/);
    expect(lat('7059000').error).toBeTruthy();
    expect(lat('5075.0000N').error).toMatch(/minutes/);
    expect(lon('3.05N').error).toMatch(/hemisphere/);
    expect(lat('-50.1 S').error).toMatch(/minus sign/);
    expect(lat('abc').error).toMatch(/cannot read/);
    expect(lat('').error).toBeTruthy();
  });
});

describe('sniffing', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('finds the delimiter, even with decimal commas or quoted commas', () => {
    expect(sniffDelimiter(['id,lat,lon,value', 'A,50.1,3.0,0.5'])).toBe(',');
    expect(sniffDelimiter(['id;lat;lon;value', 'A;50,1;3,0;0,5', 'B;50,2;3,1;0,7'])).toBe(';');
    expect(sniffDelimiter(['id\tlat\tlon', 'A\t50.1\t3.0'])).toBe('\t');
    expect(sniffDelimiter(['id,name,value', 'A,"Rue X, Lille",0.5'])).toBe(',');
    expect(sniffDelimiter(['id|value', 'A|1'])).toBe('|');
  });

  it('detects a decimal comma from numeric cells', () => {
    expect(sniffDecimalComma([['A', '50,1', '0,5']])).toBe(true);
    expect(sniffDecimalComma([['A', '50.1', '0,5']])).toBe(false);
    expect(sniffDecimalComma([['A', '50', '1']])).toBe(false);
  });

  it('tells text from binary, and picks the encoding', () => {
    expect(sniffText(enc('id,value\nA,1\n'))).toEqual({ encoding: 'utf-8', bom: 0, binary: null });
    expect(sniffText(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))).toMatchObject({ encoding: 'utf-8', bom: 3 });
    expect(sniffText(new Uint8Array([0xff, 0xfe, 0x61, 0x00]))).toMatchObject({ encoding: 'utf-16le', bom: 2 });
    // a PNG header, and random bytes: binary
    expect(sniffText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])).binary).toMatch(/NUL/);
    let seed = 7;
    const rnd = new Uint8Array(4096).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0), (seed >>> 16) & 0xff || 1));
    expect(sniffText(rnd).binary).toBeTruthy();
    // Windows-1252 file (every non-ASCII line invalid UTF-8)
    const cp = new Uint8Array([...enc('nom;v\n'), 0xc9, 0x67, 0x6c, 0x69, 0x73, 0x65, 0x3b, 0x31, 0x0a, 0x54, 0x68, 0xe9, 0xe2, 0x74, 0x72, 0x65, 0x3b, 0x32, 0x0a]);
    expect(sniffText(cp).encoding).toBe('windows-1252');
    // UTF-8 with accents stays UTF-8
    expect(sniffText(enc('nom;v\nÉglise;1\nThéâtre;2\n')).encoding).toBe('utf-8');
  });
});

describe('header aliases (English and French) and units in headers', () => {
  it('splits units off headers', () => {
    expect(splitHeaderUnit('E (V/m)')).toMatchObject({ base: 'E', unit: { name: 'V/m' } });
    expect(splitHeaderUnit('valeur [dBµV/m]')).toMatchObject({ base: 'valeur', unit: { name: 'dBµV/m' } });
    expect(splitHeaderUnit('champ mV/m')).toMatchObject({ base: 'champ', unit: { name: 'mV/m' } });
    expect(splitHeaderUnit('E_V_m')).toMatchObject({ base: 'E', unit: { name: 'V/m' } });
    expect(splitHeaderUnit('S (µW/cm²)')).toMatchObject({ base: 'S', unit: { name: 'µW/cm²' } });
    expect(splitHeaderUnit('V/m')).toMatchObject({ base: '', unit: { name: 'V/m' } });
    expect(splitHeaderUnit('Nom du site')).toMatchObject({ base: 'Nom du site', unit: null });
  });

  it('maps EN/FR names to roles, ignoring case, accents and punctuation', () => {
    const role = (h: string) => roleOf(splitHeaderUnit(h));
    const cases: Array<[string, string | null]> = [
      ['Capteur', 'id'],
      ['sensor_id', 'id'],
      ['Nom', 'name'],
      ['Latitude', 'lat'],
      ['LON', 'lon'],
      ['lng', 'lon'],
      ['X_L93', 'x'],
      ['Horodatage', 'time'],
      ['Date/Heure', 'time'],
      ['date', 'date'],
      ['heure', 'clock'],
      ['Valeur', 'value'],
      ['E (V/m)', 'value'],
      ['Champ électrique', 'value'],
      ['Unité', 'unit'],
      ['Bande', 'band'],
      ['Qualité', 'quality'],
      ['Hauteur', 'height'],
      ['S (µW/cm²)', 'value'],
      ['V/m', 'value'],
      ['operator', null],
    ];
    for (const [h, r] of cases) expect(role(h), h).toBe(r);
    expect(normaliseHeader(' Date / Heure (UTC) ')).toBe('date_heure_utc');
  });
});
