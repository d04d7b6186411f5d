// CSV export: one row per cell, row-major from the north-west corner, with the cell centre in the grid
// CRS (x, y, metres) and in WGS84 (lon, lat; empty for a "local" CRS), the value and the standard
// deviation (empty without a variance), both in V/m; empty fields for nodata. Values are written with
// the fewest digits that read back to the same float32.

import type { ExposureMap } from '../../domain/types.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../../domain/run.ts';
import { LOCAL, transformer } from '../../geo/crs.ts';
import { cellHeight, cellWidth } from '../../geo/grid.ts';
import type { OutFile } from './atomic.ts';
import { formatFloat32 } from './text.ts';

export const CSV_HEADER = 'x,y,lon,lat,value,sd';

export async function csvFile(map: ExposureMap, out: string, ctx: RunContext = {}): Promise<OutFile> {
  const g = map.grid;
  const local = g.crs.trim().toLowerCase() === LOCAL;
  const t = local ? null : transformer(g.crs, 'EPSG:4326');
  const dx = cellWidth(g);
  const dy = cellHeight(g);
  // metres to the millimetre, degrees to 1e-8 (about 1 mm)
  const chunks: Buffer[] = [Buffer.from(CSV_HEADER + '\n')];
  let lines: string[] = [];
  for (let r = 0; r < g.height; r++) {
    const y = g.bounds.ymax - (r + 0.5) * dy;
    for (let c = 0; c < g.width; c++) {
      const x = g.bounds.xmin + (c + 0.5) * dx;
      const i = r * g.width + c;
      let lonlat = ',';
      if (t) {
        const [lon, lat] = t.forward([x, y]);
        lonlat = `${lon.toFixed(8)},${lat.toFixed(8)}`;
      }
      const v = map.values[i];
      const sd = map.variance && Number.isFinite(v) ? Math.fround(Math.sqrt(Math.max(0, map.variance[i]))) : NaN;
      lines.push(`${x.toFixed(3)},${y.toFixed(3)},${lonlat},${formatFloat32(v)},${formatFloat32(sd)}`);
    }
    if (lines.length >= 16384 || r === g.height - 1) {
      chunks.push(Buffer.from(lines.join('\n') + '\n'));
      lines = [];
      throwIfCancelled(ctx.signal);
      ctx.onProgress?.({ stage: 'writing CSV', fraction: (r + 1) / g.height });
      await yieldToLoop();
    }
  }
  return { path: out, data: Buffer.concat(chunks) };
}
