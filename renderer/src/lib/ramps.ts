// Colour ramps (d3-scale-chromatic) as 256-entry lookup tables, classed bands, and the legend's stops.

import {
  interpolateCividis,
  interpolateGreys,
  interpolateInferno,
  interpolateMagma,
  interpolatePlasma,
  interpolateRdBu,
  interpolateTurbo,
  interpolateViridis,
  interpolateYlOrRd,
} from 'd3-scale-chromatic';

export const RAMPS = {
  viridis: { label: 'Viridis', fn: interpolateViridis, diverging: false },
  magma: { label: 'Magma', fn: interpolateMagma, diverging: false },
  inferno: { label: 'Inferno', fn: interpolateInferno, diverging: false },
  plasma: { label: 'Plasma', fn: interpolatePlasma, diverging: false },
  cividis: { label: 'Cividis', fn: interpolateCividis, diverging: false },
  turbo: { label: 'Turbo', fn: interpolateTurbo, diverging: false },
  ylorrd: { label: 'Yellow-orange-red', fn: interpolateYlOrRd, diverging: false },
  greys: { label: 'Greys', fn: interpolateGreys, diverging: false },
  // residuals and errors: blue = under-estimate, red = over-estimate (reversed RdBu)
  rdbu: { label: 'Blue-white-red (diverging)', fn: (t: number) => interpolateRdBu(1 - t), diverging: true },
} as const;

export type RampName = keyof typeof RAMPS;

export function isRampName(s: string): s is RampName {
  return Object.prototype.hasOwnProperty.call(RAMPS, s);
}

export type ColourMode = 'continuous' | 'classed';

export interface RasterStyle {
  ramp: RampName;
  /** Values mapped to the ramp's ends (clamped outside). */
  domain: [number, number];
  mode: ColourMode;
  /** Classed mode: band boundaries (sorted); empty = five equal bands over the domain. */
  breaks: number[];
  /** Thresholds drawn as dark lines on the map (e.g. 6 V/m). */
  outline: number[];
}

/** "rgb(r, g, b)" or "#rrggbb" -> [r, g, b]. */
export function parseColour(c: string): [number, number, number] {
  if (c.startsWith('#')) {
    const n = parseInt(c.slice(1, 7), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const m = /(\d+(?:\.\d+)?)\D+(\d+(?:\.\d+)?)\D+(\d+(?:\.\d+)?)/.exec(c);
  if (!m) return [0, 0, 0];
  return [Math.round(+m[1]), Math.round(+m[2]), Math.round(+m[3])];
}

const lutCache = new Map<RampName, Uint8Array>();

/** 256 RGB triplets sampling the ramp from 0 to 1. */
export function rampLut(name: RampName): Uint8Array {
  let lut = lutCache.get(name);
  if (!lut) {
    lut = new Uint8Array(256 * 3);
    const fn = RAMPS[name].fn;
    for (let i = 0; i < 256; i++) lut.set(parseColour(fn(i / 255)), i * 3);
    lutCache.set(name, lut);
  }
  return lut;
}

export function rampCss(name: RampName, t: number): string {
  const lut = rampLut(name);
  const i = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
  return `rgb(${lut[i]}, ${lut[i + 1]}, ${lut[i + 2]})`;
}

/** Band boundaries used in classed mode. */
export function classBreaks(style: Pick<RasterStyle, 'domain' | 'breaks'>): number[] {
  const [lo, hi] = style.domain;
  const inside = style.breaks.filter((b) => b > lo && b < hi).sort((a, b) => a - b);
  if (inside.length > 0) return inside;
  const n = 5;
  return Array.from({ length: n - 1 }, (_, i) => lo + ((i + 1) * (hi - lo)) / n);
}

/** Ramp position (0..1) of each class: the middle of its band. */
export function classPositions(style: Pick<RasterStyle, 'domain' | 'breaks'>): number[] {
  const [lo, hi] = style.domain;
  const edges = [lo, ...classBreaks(style), hi];
  const span = hi - lo || 1;
  return edges.slice(0, -1).map((e, i) => ((e + edges[i + 1]) / 2 - lo) / span);
}

/** Position of a value on the ramp (0..1) under a style, classed or continuous. */
export function rampPosition(v: number, style: RasterStyle): number {
  const [lo, hi] = style.domain;
  if (style.mode === 'classed') {
    const br = classBreaks(style);
    let k = 0;
    while (k < br.length && v >= br[k]) k++;
    return classPositions(style)[k];
  }
  const t = (v - lo) / (hi - lo || 1);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

export function colourFor(v: number | null | undefined, style: RasterStyle): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '#9a9a9a';
  return rampCss(style.ramp, rampPosition(v, style));
}

/** Finite min / max of a raster (NaN = no data). */
export function finiteRange(values: ArrayLike<number>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/** Parse "1, 3, 6" into sorted finite numbers (ignoring blanks); null when something is not a number. */
export function parseThresholds(s: string): number[] | null {
  const parts = s.split(/[,;\s]+/).filter((p) => p.trim() !== '');
  const out = parts.map((p) => Number(p.replace(',', '.')));
  if (out.some((v) => !Number.isFinite(v))) return null;
  return out.sort((a, b) => a - b);
}
