// Field-strength units accepted on import and their conversion to V/m (what the store holds).
// Far-field relations (domain.md): dBµV/m = 20·log10(E / 1 µV/m); power density S = E² / Z0 with the
// free-space impedance Z0 = 376.73 Ω, so E = √(S·Z0).

/** Free-space wave impedance, ohms (120π ≈ 376.730). */
export const Z0 = 376.73;

export type UnitKind = 'field' | 'db' | 'power';

export interface Unit {
  /** Canonical spelling, shown in reports. */
  name: string;
  kind: UnitKind;
  /** Field units: units per V/m. Power units: units per W/m². dB: unused. (Divisors keep 350 mV/m = 0.35 exact.) */
  divisor: number;
  /** Whether a negative value is impossible (linear units). */
  nonNegative: boolean;
}

const UNITS: Unit[] = [
  { name: 'V/m', kind: 'field', divisor: 1, nonNegative: true },
  { name: 'mV/m', kind: 'field', divisor: 1e3, nonNegative: true },
  { name: 'µV/m', kind: 'field', divisor: 1e6, nonNegative: true },
  { name: 'dBµV/m', kind: 'db', divisor: 1, nonNegative: false },
  { name: 'W/m²', kind: 'power', divisor: 1, nonNegative: true },
  { name: 'mW/m²', kind: 'power', divisor: 1e3, nonNegative: true },
  { name: 'µW/m²', kind: 'power', divisor: 1e6, nonNegative: true },
  { name: 'µW/cm²', kind: 'power', divisor: 1e2, nonNegative: true },
];

/** Spellings users write, normalised by normaliseUnitText. */
const ALIASES: Record<string, string> = {
  'v/m': 'V/m',
  vm: 'V/m',
  'v.m-1': 'V/m',
  'vm-1': 'V/m',
  'v/metre': 'V/m',
  'mv/m': 'mV/m',
  'mv.m-1': 'mV/m',
  'uv/m': 'µV/m',
  'uv.m-1': 'µV/m',
  'dbuv/m': 'dBµV/m',
  dbuvm: 'dBµV/m',
  'dbuv.m-1': 'dBµV/m',
  dbuv: 'dBµV/m',
  'w/m2': 'W/m²',
  'w.m-2': 'W/m²',
  'mw/m2': 'mW/m²',
  'mw.m-2': 'mW/m²',
  'uw/m2': 'µW/m²',
  'uw.m-2': 'µW/m²',
  'uw/cm2': 'µW/cm²',
  'uw.cm-2': 'µW/cm²',
};

/** Lower-case, no spaces, micro sign / Greek mu → "u", superscript ² → 2. */
export function normaliseUnitText(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/[µμ]/g, 'u')
    .replace(/²/g, '2')
    .replace(/\s+/g, '')
    .replace(/\^/g, '')
    .replace(/⁻¹/g, '-1')
    .replace(/⁻²/g, '-2');
}

/** The unit a text names, or null when it is not one we know. */
export function parseUnit(text: string): Unit | null {
  const key = normaliseUnitText(text);
  const canonical = ALIASES[key];
  return canonical ? UNITS.find((u) => u.name === canonical)! : null;
}

export function knownUnits(): string[] {
  return UNITS.map((u) => u.name);
}

/** Convert a value in `unit` to V/m. */
export function toVoltsPerMetre(value: number, unit: Unit): number {
  switch (unit.kind) {
    case 'field':
      return value / unit.divisor;
    case 'db':
      return 10 ** (value / 20) / 1e6;
    case 'power':
      return Math.sqrt((value / unit.divisor) * Z0);
  }
}
