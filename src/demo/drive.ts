// Drive-test route of the synthetic scene: a vehicle drives every street crossing the mapped area end to
// end (alternating direction, in the right-hand lane) and logs the field at regular distances, which
// gives tens of thousands of geotagged readings along the streets.

import { toCrs, type Street } from './layout.ts';
import type { Scene } from './scene.ts';

export interface DrivePoint {
  x: number;
  y: number;
  street: string;
  /** Distance along the whole route, metres. */
  s: number;
}

/** Parameter interval of the line P(t) = p + t·d inside the square [xmin..xmax]×[ymin..ymax]. */
function clipLine(px: number, py: number, dx: number, dy: number, b: { xmin: number; ymin: number; xmax: number; ymax: number }, tMin: number, tMax: number): [number, number] | null {
  let t0 = tMin;
  let t1 = tMax;
  const edges: Array<[number, number]> = [
    [-dx, px - b.xmin],
    [dx, b.xmax - px],
    [-dy, py - b.ymin],
    [dy, b.ymax - py],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const r = q / p;
      if (p < 0) t0 = Math.max(t0, r);
      else t1 = Math.min(t1, r);
    }
  }
  return t0 < t1 ? [t0, t1] : null;
}

/**
 * Points along the route, evenly spaced so that there are about `target` of them. Streets are driven in
 * order (those along u, then those along v), each in the lane to the right of the direction of travel.
 */
export function driveRoute(scene: Scene, target: number, margin = 5): DrivePoint[] {
  const f = scene.layout.frame;
  const ext = scene.layout.extent;
  const b = scene.bounds;
  const area = { xmin: b.xmin + margin, ymin: b.ymin + margin, xmax: b.xmax - margin, ymax: b.ymax - margin };
  const legs: Array<{ street: Street; x0: number; y0: number; x1: number; y1: number; len: number }> = [];
  const streets = [...scene.layout.streets].sort((a, c) => (a.axis === c.axis ? a.at - c.at : a.axis < c.axis ? -1 : 1));
  let forward = true;
  for (const st of streets) {
    const dir = forward ? 1 : -1;
    // right-hand lane: a quarter of the street width to the right of the centreline
    const lane = Math.min(3, st.width / 4);
    // along-street unit vector in the city frame and its right-hand normal
    const au = st.axis === 'u' ? dir : 0;
    const av = st.axis === 'v' ? dir : 0;
    const nu = av;
    const nv = -au;
    const cu = (st.axis === 'v' ? st.at : 0) + nu * lane;
    const cv = (st.axis === 'u' ? st.at : 0) + nv * lane;
    const [px, py] = toCrs(f, cu, cv);
    const [qx, qy] = toCrs(f, cu + au, cv + av);
    const dx = qx - px;
    const dy = qy - py;
    const iv = clipLine(px, py, dx, dy, area, -ext, ext);
    if (!iv) continue;
    legs.push({ street: st, x0: px + dx * iv[0], y0: py + dy * iv[0], x1: px + dx * iv[1], y1: py + dy * iv[1], len: iv[1] - iv[0] });
    forward = !forward;
  }
  const total = legs.reduce((a, l) => a + l.len, 0);
  if (total === 0 || target <= 0) return [];
  const step = total / target;
  const pts: DrivePoint[] = [];
  let sBase = 0;
  for (const leg of legs) {
    for (let s = step / 2; s < leg.len; s += step) {
      const t = s / leg.len;
      pts.push({ x: leg.x0 + (leg.x1 - leg.x0) * t, y: leg.y0 + (leg.y1 - leg.y0) * t, street: leg.street.name, s: sBase + s });
    }
    sBase += leg.len;
  }
  return pts;
}
