// Messages between the page and the raster worker.

import type { Grid } from '../../../src/domain/types.ts';
import type { RasterStyle } from './ramps.ts';

export interface RenderRequest {
  id: number;
  grid: Grid;
  /** proj4 definition of the grid's CRS, or null for a local CRS (no reprojection). */
  def: string | null;
  values: Float32Array;
  style: RasterStyle;
}

export interface RenderResponse {
  id: number;
  ok: boolean;
  error?: string;
  /** PNG of the overlay (OffscreenCanvas), or raw RGBA when the worker has no OffscreenCanvas. */
  blob?: Blob;
  rgba?: Uint8ClampedArray;
  width: number;
  height: number;
  bounds: [[number, number], [number, number]];
  /** Worker-side milliseconds: geometry (0 when cached), colouring, PNG encoding. */
  ms: { geometry: number; colour: number; encode: number };
}
