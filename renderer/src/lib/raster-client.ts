// The page's side of the raster worker: render(grid, values, style) -> an image URL and its Leaflet bounds.
// Falls back to colouring on the main thread (in one go) when workers are unavailable.

import type { Grid } from '../../../src/domain/types.ts';
import { proj4Def } from '../../../src/geo/crs.ts';
import type { RasterStyle } from './ramps.ts';
import type { RenderRequest, RenderResponse } from './raster-protocol.ts';

export interface OverlayImage {
  url: string;
  bounds: [[number, number], [number, number]];
  width: number;
  height: number;
  /** Page-side milliseconds from the request to a ready image URL. */
  ms: number;
  worker: RenderResponse['ms'];
}

let worker: Worker | null = null;
let workerFailed = false;
let nextId = 1;
const waiting = new Map<number, (r: RenderResponse) => void>();

function getWorker(): Worker | null {
  if (worker || workerFailed) return worker;
  try {
    worker = new Worker(new URL('./raster.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<RenderResponse>) => {
      const cb = waiting.get(e.data.id);
      waiting.delete(e.data.id);
      cb?.(e.data);
    };
    worker.onerror = () => {
      workerFailed = true;
      worker = null;
      for (const [id, cb] of waiting) cb({ id, ok: false, error: 'the raster worker failed', width: 0, height: 0, bounds: [[0, 0], [0, 0]], ms: { geometry: 0, colour: 0, encode: 0 } });
      waiting.clear();
    };
  } catch {
    workerFailed = true;
    worker = null;
  }
  return worker;
}

/** proj4 definition for a grid CRS; null for "local" (or an empty CRS: plain metres). */
export function gridDef(crs: string): string | null {
  if (!crs || crs.trim() === '') return null;
  return proj4Def(crs);
}

async function renderOnMainThread(req: RenderRequest): Promise<RenderResponse> {
  const [{ identityGeometry, warpGeometry }, { colourize }] = await Promise.all([import('./overlay-geometry.ts'), import('./colourize.ts')]);
  const geom = req.def ? warpGeometry(req.grid, req.def) : identityGeometry(req.grid);
  const rgba = colourize(req.values, geom, req.style);
  return { id: req.id, ok: true, rgba, width: geom.width, height: geom.height, bounds: geom.bounds, ms: { geometry: 0, colour: 0, encode: 0 } };
}

export async function renderOverlay(grid: Grid, values: Float32Array, style: RasterStyle, useLocal: boolean): Promise<OverlayImage> {
  const t0 = performance.now();
  const req: RenderRequest = {
    id: nextId++,
    grid: { crs: grid.crs, bounds: { ...grid.bounds }, width: grid.width, height: grid.height },
    def: useLocal ? null : gridDef(grid.crs),
    values,
    style: { ...style, domain: [style.domain[0], style.domain[1]], breaks: [...style.breaks], outline: [...style.outline] },
  };
  const w = getWorker();
  const res = w
    ? await new Promise<RenderResponse>((resolve) => {
        waiting.set(req.id, resolve);
        w.postMessage(req);
      })
    : await renderOnMainThread(req);
  if (!res.ok) throw new Error(res.error ?? 'overlay rendering failed');
  let blob = res.blob;
  if (!blob && res.rgba) {
    const canvas = document.createElement('canvas');
    canvas.width = res.width;
    canvas.height = res.height;
    canvas.getContext('2d')!.putImageData(new ImageData(res.rgba as Uint8ClampedArray<ArrayBuffer>, res.width, res.height), 0, 0);
    blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
  }
  const url = URL.createObjectURL(blob!);
  // decode off the main thread before the map shows it (otherwise the first paint decodes synchronously)
  const probe = new Image();
  probe.src = url;
  await probe.decode().catch(() => {});
  return { url, bounds: res.bounds, width: res.width, height: res.height, ms: performance.now() - t0, worker: res.ms };
}
