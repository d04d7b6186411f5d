// Error of a map against the project's reference map: map − reference at each cell centre of the map, the
// reference sampled at the nearest of its own cells (converted between CRSs when they differ).

import type { ExposureMap, ReferenceMap } from '../../../src/domain/types.ts';
import { transformer } from '../../../src/geo/crs.ts';

export interface ErrorMap {
  values: Float32Array;
  maxAbs: number;
  /** 98th percentile of |error|: a colour range that a few extreme cells do not wash out. */
  p98Abs: number;
  stats: { rmse: number; mae: number; bias: number; n: number };
}

export function errorMap(m: ExposureMap, ref: ReferenceMap): ErrorMap {
  const g = m.grid;
  const r = ref.grid;
  const same = g.crs === r.crs || (!g.crs && !r.crs);
  const conv = same ? null : transformer(g.crs || 'local', r.crs || 'local');
  const dx = (g.bounds.xmax - g.bounds.xmin) / g.width;
  const dy = (g.bounds.ymax - g.bounds.ymin) / g.height;
  const rdx = (r.bounds.xmax - r.bounds.xmin) / r.width;
  const rdy = (r.bounds.ymax - r.bounds.ymin) / r.height;
  const out = new Float32Array(g.width * g.height).fill(NaN);
  let n = 0;
  let se = 0;
  let ae = 0;
  let sum = 0;
  let maxAbs = 0;
  for (let row = 0; row < g.height; row++) {
    for (let col = 0; col < g.width; col++) {
      let x = g.bounds.xmin + (col + 0.5) * dx;
      let y = g.bounds.ymax - (row + 0.5) * dy;
      if (conv) [x, y] = conv.forward([x, y]);
      const rc = Math.floor((x - r.bounds.xmin) / rdx);
      const rr = Math.floor((r.bounds.ymax - y) / rdy);
      if (rc < 0 || rr < 0 || rc >= r.width || rr >= r.height) continue;
      const truth = ref.values[rr * r.width + rc];
      const v = m.values[row * g.width + col];
      if (!Number.isFinite(truth) || !Number.isFinite(v)) continue;
      const e = v - truth;
      out[row * g.width + col] = e;
      n++;
      se += e * e;
      ae += Math.abs(e);
      sum += e;
      if (Math.abs(e) > maxAbs) maxAbs = Math.abs(e);
    }
  }
  const abs: number[] = [];
  for (let i = 0; i < out.length; i++) if (Number.isFinite(out[i])) abs.push(Math.abs(out[i]));
  abs.sort((a, b) => a - b);
  const p98Abs = abs.length > 0 ? abs[Math.min(abs.length - 1, Math.floor(0.98 * (abs.length - 1)))] : 0;
  return {
    values: out,
    maxAbs,
    p98Abs,
    stats: n > 0 ? { rmse: Math.sqrt(se / n), mae: ae / n, bias: sum / n, n } : { rmse: NaN, mae: NaN, bias: NaN, n: 0 },
  };
}
