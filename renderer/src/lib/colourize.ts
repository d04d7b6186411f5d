// Values -> RGBA for the map overlay, through an OverlayGeometry (output pixel -> source cell). Runs in the
// raster worker; pure so it can be unit-tested and, without workers, run on the main thread.

import { classBreaks, classPositions, rampLut, type RasterStyle } from './ramps.ts';
import type { OverlayGeometry } from './overlay-geometry.ts';

const OUTLINE_RGB = [17, 17, 17];
const NONE = 255;

/** Ramp index 0..255 per source cell (NONE-coded validity kept separately). */
function cellPositions(values: Float32Array, style: RasterStyle): { pos: Uint8Array; valid: Uint8Array } {
  const n = values.length;
  const pos = new Uint8Array(n);
  const valid = new Uint8Array(n);
  const [lo, hi] = style.domain;
  const span = hi - lo || 1;
  if (style.mode === 'classed') {
    const br = classBreaks(style);
    const cp = classPositions(style).map((t) => Math.round(t * 255));
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v !== v) continue; // NaN: no data
      let k = 0;
      while (k < br.length && v >= br[k]) k++;
      pos[i] = cp[k];
      valid[i] = 1;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v !== v) continue;
      const t = (v - lo) / span;
      pos[i] = t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
      valid[i] = 1;
    }
  }
  return { pos, valid };
}

/** Which side of the outline thresholds each cell is on (NONE for no data). */
function outlineClasses(values: Float32Array, thresholds: number[]): Uint8Array | null {
  if (thresholds.length === 0) return null;
  const t = [...thresholds].sort((a, b) => a - b);
  const cls = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) {
      cls[i] = NONE;
      continue;
    }
    let k = 0;
    while (k < t.length && v >= t[k]) k++;
    cls[i] = k;
  }
  return cls;
}

export function colourize(values: Float32Array, geom: Pick<OverlayGeometry, 'index' | 'width' | 'height'>, style: RasterStyle): Uint8ClampedArray {
  const { index, width, height } = geom;
  const out = new Uint8ClampedArray(width * height * 4);
  const lut = rampLut(style.ramp);
  const { pos, valid } = cellPositions(values, style);
  for (let p = 0; p < index.length; p++) {
    const c = index[p];
    if (c < 0 || valid[c] === 0) continue; // transparent
    const l = pos[c] * 3;
    const o = p * 4;
    out[o] = lut[l];
    out[o + 1] = lut[l + 1];
    out[o + 2] = lut[l + 2];
    out[o + 3] = 255;
  }
  const cls = outlineClasses(values, style.outline);
  if (cls) {
    // a pixel on the boundary between two threshold classes (right or lower neighbour differs) is drawn dark
    for (let j = 0; j < height; j++) {
      for (let i = 0; i < width; i++) {
        const p = j * width + i;
        const c = index[p];
        if (c < 0 || cls[c] === NONE) continue;
        const r = i + 1 < width ? index[p + 1] : -1;
        const d = j + 1 < height ? index[p + width] : -1;
        const edge = (r >= 0 && cls[r] !== NONE && cls[r] !== cls[c]) || (d >= 0 && cls[d] !== NONE && cls[d] !== cls[c]);
        if (edge) {
          const o = p * 4;
          out[o] = OUTLINE_RGB[0];
          out[o + 1] = OUTLINE_RGB[1];
          out[o + 2] = OUTLINE_RGB[2];
          out[o + 3] = 255;
        }
      }
    }
  }
  return out;
}
