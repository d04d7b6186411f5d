// Colour ramps (d3-scale-chromatic), value → colour scales (continuous or classed by thresholds), the
// coloured map as an RGBA image, and the legend image. Nodata (NaN) is transparent everywhere.

import {
  interpolateBlues,
  interpolateCividis,
  interpolateGreys,
  interpolateInferno,
  interpolateMagma,
  interpolatePlasma,
  interpolateRdBu,
  interpolateRdYlGn,
  interpolateSpectral,
  interpolateTurbo,
  interpolateViridis,
  interpolateYlGnBu,
  interpolateYlOrRd,
} from 'd3-scale-chromatic';
import { UserError } from '../../domain/errors.ts';
import { drawText, GLYPH_H, textWidth, type RgbaImage } from './font.ts';
import { formatValue } from './text.ts';

/** Ramps by name; all run from low values (t = 0) to high values (t = 1). Diverging ramps are turned so that red is high. */
export const RAMPS: Record<string, (t: number) => string> = {
  viridis: interpolateViridis,
  magma: interpolateMagma,
  inferno: interpolateInferno,
  plasma: interpolatePlasma,
  cividis: interpolateCividis,
  turbo: interpolateTurbo,
  ylorrd: interpolateYlOrRd,
  ylgnbu: interpolateYlGnBu,
  rdylgn: (t) => interpolateRdYlGn(1 - t),
  spectral: (t) => interpolateSpectral(1 - t),
  rdbu: (t) => interpolateRdBu(1 - t),
  blues: interpolateBlues,
  greys: interpolateGreys,
};
export const DEFAULT_RAMP = 'viridis';
/** More classes than this make a classed map unreadable (and usually mean a typo in --thresholds). */
export const MAX_THRESHOLDS = 32;

export type Rgb = [number, number, number];

/** "#rrggbb" or "rgb(r, g, b)" (both are produced by d3-scale-chromatic) → [r, g, b]. */
export function parseColour(css: string): Rgb {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css.trim());
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const rgb = /^rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\s*\)$/.exec(css.trim());
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`cannot read colour "${css}"`);
}

export function resolveRamp(name: string | undefined): { name: string; at: (t: number) => Rgb } {
  const key = (name ?? DEFAULT_RAMP).trim().toLowerCase();
  const f = RAMPS[key];
  if (!f) throw new UserError(`unknown colour ramp "${name}": use one of ${Object.keys(RAMPS).join(', ')}`);
  return { name: key, at: (t) => parseColour(f(Math.max(0, Math.min(1, t)))) };
}

/** Check user thresholds: finite, strictly increasing, at most MAX_THRESHOLDS. */
export function checkThresholds(ts: number[]): number[] {
  if (ts.length === 0) throw new UserError('--thresholds needs at least one value, e.g. 1,3,6');
  if (ts.length > MAX_THRESHOLDS) throw new UserError(`too many thresholds (${ts.length}; at most ${MAX_THRESHOLDS})`);
  ts.forEach((t, i) => {
    if (!Number.isFinite(t)) throw new UserError(`threshold ${i + 1} is not a number`);
    if (i > 0 && t <= ts[i - 1]) throw new UserError(`thresholds must increase: ${formatValue(ts[i - 1])} is followed by ${formatValue(t)}`);
  });
  return ts;
}

/** Parse "1,3,6" (also "1;3;6" or "1 3 6") into numbers; a clear error for anything else. */
export function parseThresholds(spec: string): number[] {
  const parts = spec.split(/[,;\s]+/).filter((s) => s.length > 0);
  const ts = parts.map((p) => {
    const v = Number(p);
    if (!Number.isFinite(v)) throw new UserError(`--thresholds: "${p}" is not a number (use e.g. 1,3,6)`);
    return v;
  });
  return checkThresholds(ts);
}

export interface ColourScale {
  ramp: string;
  kind: 'continuous' | 'classed';
  /** Continuous: value range mapped onto the ramp. Classed: the range of the data (for the legend). */
  min: number;
  max: number;
  /** Classed only: class i holds thresholds[i-1] <= v < thresholds[i]. */
  thresholds: number[];
  /** Classed only: one colour a class (thresholds.length + 1). */
  classColours: Rgb[];
  /** The colour of a value; null for nodata. */
  colour(v: number): Rgb | null;
}

/** Class index of v for sorted thresholds: how many thresholds are <= v (the isobands use the same rule). */
export function classOf(v: number, thresholds: number[]): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v >= thresholds[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function finiteRange(values: ArrayLike<number>): { min: number; max: number; count: number } {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, count };
}

export function makeScale(values: ArrayLike<number>, opts: { ramp?: string; thresholds?: number[] } = {}): ColourScale {
  const ramp = resolveRamp(opts.ramp);
  const range = finiteRange(values);
  let min = range.count ? range.min : 0;
  let max = range.count ? range.max : 1;
  if (opts.thresholds && opts.thresholds.length) {
    const ts = checkThresholds([...opts.thresholds]);
    const n = ts.length;
    const classColours = ts.concat([0]).map((_, i) => ramp.at(n === 0 ? 0.5 : i / n));
    return {
      ramp: ramp.name, kind: 'classed', min, max, thresholds: ts, classColours,
      colour: (v) => (Number.isFinite(v) ? classColours[classOf(v, ts)] : null),
    };
  }
  if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
    // a flat map: centre its one value on the ramp
    min -= 0.5;
    max += 0.5;
  }
  const lut: Rgb[] = Array.from({ length: 256 }, (_, i) => ramp.at(i / 255));
  const span = max - min;
  return {
    ramp: ramp.name, kind: 'continuous', min, max, thresholds: [], classColours: [],
    colour: (v) => (Number.isFinite(v) ? lut[Math.max(0, Math.min(255, Math.round(((v - min) / span) * 255)))] : null),
  };
}

/** The coloured map, one pixel a cell (row 0 = north), nodata transparent. */
export function renderMap(values: ArrayLike<number>, width: number, height: number, scale: ColourScale, upscale = 1): RgbaImage {
  const W = width * upscale;
  const H = height * upscale;
  const data = new Uint8Array(W * H * 4);
  for (let r = 0; r < H; r++) {
    const sr = Math.floor(r / upscale);
    for (let c = 0; c < W; c++) {
      const col = scale.colour(values[sr * width + Math.floor(c / upscale)]);
      if (!col) continue;
      const o = (r * W + c) * 4;
      data[o] = col[0];
      data[o + 1] = col[1];
      data[o + 2] = col[2];
      data[o + 3] = 255;
    }
  }
  return { width: W, height: H, data };
}

/** Round tick values covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => (max - min) / s <= count) ?? 10 * p;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

function fillRect(img: RgbaImage, x: number, y: number, w: number, h: number, rgb: Rgb): void {
  for (let r = Math.max(0, y); r < Math.min(img.height, y + h); r++) {
    for (let c = Math.max(0, x); c < Math.min(img.width, x + w); c++) {
      const o = (r * img.width + c) * 4;
      img.data[o] = rgb[0];
      img.data[o + 1] = rgb[1];
      img.data[o + 2] = rgb[2];
      img.data[o + 3] = 255;
    }
  }
}

/** Labels of the classes of a classed scale, lowest class first ("< 1", "1 – 3", "≥ 6"). */
export function classLabels(thresholds: number[]): string[] {
  const f = formatValue;
  return thresholds.concat([NaN]).map((t, i) =>
    i === 0 ? `< ${f(t)}` : i === thresholds.length ? `≥ ${f(thresholds[i - 1])}` : `${f(thresholds[i - 1])} – ${f(t)}`,
  );
}

/**
 * The legend as an image: a title ("E (V/m)"), then a vertical colour bar with ticks and labels
 * (continuous) or one swatch a class, highest at the top (classed). White background, dark text.
 */
export function renderLegend(scale: ColourScale, title = 'E (V/m)', fontScale = 2): RgbaImage {
  const pad = 10;
  const ink: Rgb = [20, 20, 20];
  const lineH = GLYPH_H * fontScale;
  const titleW = textWidth(title, fontScale);
  const barW = 24;
  let width: number;
  let height: number;
  let draw: (img: RgbaImage) => void;
  const top = pad + lineH + 10;
  if (scale.kind === 'classed') {
    const labels = classLabels(scale.thresholds);
    const boxH = Math.max(18, lineH + 4);
    const gap = 4;
    const n = labels.length;
    width = Math.max(pad + titleW + pad, pad + barW + 8 + Math.max(...labels.map((l) => textWidth(l, fontScale))) + pad);
    height = top + n * boxH + (n - 1) * gap + pad;
    draw = (img) => {
      for (let k = 0; k < n; k++) {
        const cls = n - 1 - k; // highest class on top
        const y = top + k * (boxH + gap);
        fillRect(img, pad - 1, y - 1, barW + 2, boxH + 2, [90, 90, 90]);
        fillRect(img, pad, y, barW, boxH, scale.classColours[cls]);
        drawText(img, pad + barW + 8, y + Math.floor((boxH - lineH) / 2), labels[cls], fontScale, ink);
      }
    };
  } else {
    const barH = 200;
    const ticks = niceTicks(scale.min, scale.max, 5);
    const labels = ticks.map(formatValue);
    width = Math.max(pad + titleW + pad, pad + barW + 6 + 4 + Math.max(...labels.map((l) => textWidth(l, fontScale))) + pad);
    height = top + barH + lineH / 2 + pad;
    draw = (img) => {
      fillRect(img, pad - 1, top - 1, barW + 2, barH + 2, [90, 90, 90]);
      for (let r = 0; r < barH; r++) {
        const v = scale.max - ((r + 0.5) / barH) * (scale.max - scale.min);
        fillRect(img, pad, top + r, barW, 1, scale.colour(v)!);
      }
      ticks.forEach((t, i) => {
        const y = top + Math.round(((scale.max - t) / (scale.max - scale.min)) * (barH - 1));
        fillRect(img, pad + barW, y, 6, 1, ink);
        drawText(img, pad + barW + 10, Math.round(y - lineH / 2), labels[i], fontScale, ink);
      });
    };
  }
  const img: RgbaImage = { width, height, data: new Uint8Array(width * height * 4).fill(255) };
  drawText(img, pad, pad, title, fontScale, ink);
  draw(img);
  return img;
}
