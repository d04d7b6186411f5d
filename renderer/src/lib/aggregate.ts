// Per-sensor reduction of readings in a window, as the run's selection does it (mean, median, max, p95, last),
// to colour sensor markers by the value the map was built from.

import type { Aggregation, Reading } from '../../../src/domain/types.ts';

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function aggregateBySensor(readings: Reading[], agg: Aggregation): Map<string, number> {
  const groups = new Map<string, Reading[]>();
  for (const r of readings) {
    if (!Number.isFinite(r.value)) continue;
    let g = groups.get(r.sensorId);
    if (!g) groups.set(r.sensorId, (g = []));
    g.push(r);
  }
  const out = new Map<string, number>();
  for (const [id, g] of groups) {
    const vals = g.map((r) => r.value);
    let v: number;
    switch (agg) {
      case 'mean':
        v = vals.reduce((a, b) => a + b, 0) / vals.length;
        break;
      case 'max':
        v = Math.max(...vals);
        break;
      case 'median':
        v = quantile([...vals].sort((a, b) => a - b), 0.5);
        break;
      case 'p95':
        v = quantile([...vals].sort((a, b) => a - b), 0.95);
        break;
      case 'last': {
        let best = g[0];
        for (const r of g) if ((r.time ?? -Infinity) >= (best.time ?? -Infinity)) best = r;
        v = best.value;
        break;
      }
    }
    out.set(id, v);
  }
  return out;
}
