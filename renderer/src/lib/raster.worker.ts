// Raster worker: reprojection index (cached per grid), colouring and PNG encoding off the main thread, so the
// page stays responsive while a 512×512 (or larger) overlay is drawn.

import { identityGeometry, warpGeometry, type OverlayGeometry } from './overlay-geometry.ts';
import { colourize } from './colourize.ts';
import type { RenderRequest, RenderResponse } from './raster-protocol.ts';

const cache = new Map<string, OverlayGeometry>();

function geometryFor(req: RenderRequest): { geom: OverlayGeometry; ms: number } {
  const g = req.grid;
  const key = `${req.def ?? 'local'}|${g.bounds.xmin},${g.bounds.ymin},${g.bounds.xmax},${g.bounds.ymax}|${g.width}x${g.height}`;
  const hit = cache.get(key);
  if (hit) return { geom: hit, ms: 0 };
  const t0 = performance.now();
  const geom = req.def ? warpGeometry(g, req.def) : identityGeometry(g);
  if (cache.size >= 6) cache.delete(cache.keys().next().value as string);
  cache.set(key, geom);
  return { geom, ms: performance.now() - t0 };
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<RenderRequest>) => void) | null;
  postMessage(msg: RenderResponse, transfer?: Transferable[]): void;
};

scope.onmessage = async (e) => {
  const req = e.data;
  try {
    const { geom, ms: geometry } = geometryFor(req);
    const t1 = performance.now();
    const rgba = colourize(req.values, geom, req.style);
    const t2 = performance.now();
    const base = { id: req.id, ok: true, width: geom.width, height: geom.height, bounds: geom.bounds };
    if (typeof OffscreenCanvas !== 'undefined') {
      const canvas = new OffscreenCanvas(geom.width, geom.height);
      const ctx = canvas.getContext('2d')!;
      ctx.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, geom.width, geom.height), 0, 0);
      const blob = await canvas.convertToBlob({ type: 'image/png' });
      scope.postMessage({ ...base, blob, ms: { geometry, colour: t2 - t1, encode: performance.now() - t2 } });
    } else {
      scope.postMessage({ ...base, rgba, ms: { geometry, colour: t2 - t1, encode: 0 } }, [rgba.buffer]);
    }
  } catch (err) {
    scope.postMessage({
      id: req.id,
      ok: false,
      error: String((err as Error)?.message ?? err),
      width: 0,
      height: 0,
      bounds: [[0, 0], [0, 0]],
      ms: { geometry: 0, colour: 0, encode: 0 },
    });
  }
};
