// Procedural street layout of the synthetic district: an irregular rectangular street grid, rotated
// against north like many European districts, with perimeter blocks (buildings lining each block,
// courtyards inside, the odd square with no buildings), as in Lille's dense 19th-century quarters.
//
// Geometry lives in a "city frame" (u along one street direction, v along the other, metres, centred on
// the scene centre) so every building is an axis-aligned rectangle there: line-of-sight tests become
// cheap slab tests. The frame is rotated by `angle` from the project CRS (x east, y north).

import type { Rng } from './prng.ts';

export interface CityFrame {
  /** Rotation of the u axis from the CRS x axis, radians (counter-clockwise). */
  angle: number;
  cos: number;
  sin: number;
}

export function cityFrame(angle: number): CityFrame {
  return { angle, cos: Math.cos(angle), sin: Math.sin(angle) };
}

/** CRS (x, y) → city frame (u, v). */
export function toCity(f: CityFrame, x: number, y: number): [number, number] {
  return [f.cos * x + f.sin * y, -f.sin * x + f.cos * y];
}

/** City frame (u, v) → CRS (x, y). */
export function toCrs(f: CityFrame, u: number, v: number): [number, number] {
  return [f.cos * u - f.sin * v, f.sin * u + f.cos * v];
}

/** Buildings as axis-aligned rectangles in the city frame, struct-of-arrays for fast ray tests. */
export interface Buildings {
  count: number;
  u0: Float64Array;
  v0: Float64Array;
  u1: Float64Array;
  v1: Float64Array;
  /** Height above ground, metres. */
  h: Float64Array;
}

/** A street: its centreline is u = at (axis "v": runs along v) or v = at (axis "u": runs along u). */
export interface Street {
  name: string;
  axis: 'u' | 'v';
  at: number;
  width: number;
}

/** An axis-aligned rectangle in the city frame. */
export interface Rect {
  u0: number;
  v0: number;
  u1: number;
  v1: number;
}

export interface CityLayout {
  frame: CityFrame;
  /** Half-size of the square (city frame) that was filled with blocks, metres. */
  extent: number;
  streets: Street[];
  buildings: Buildings;
  /** Blocks left open as public squares (no buildings), between their streets' edges. */
  squares: Rect[];
}

export interface LayoutParams {
  /** Half-size of the generated square in the city frame, metres (must cover the rotated scene). */
  extent: number;
  /** Rotation of the street grid, degrees. */
  angleDeg: number;
}

export function buildingsFromRects(rects: Array<{ u0: number; v0: number; u1: number; v1: number; h: number }>): Buildings {
  const n = rects.length;
  const b: Buildings = {
    count: n,
    u0: new Float64Array(n),
    v0: new Float64Array(n),
    u1: new Float64Array(n),
    v1: new Float64Array(n),
    h: new Float64Array(n),
  };
  rects.forEach((r, i) => {
    b.u0[i] = Math.min(r.u0, r.u1);
    b.u1[i] = Math.max(r.u0, r.u1);
    b.v0[i] = Math.min(r.v0, r.v1);
    b.v1[i] = Math.max(r.v0, r.v1);
    b.h[i] = r.h;
  });
  return b;
}

/** Street centrelines along one axis: alternating street widths and block depths from -extent to extent. */
function streetLines(rng: Rng, extent: number): Array<{ at: number; width: number }> {
  const lines: Array<{ at: number; width: number }> = [];
  // start a little outside so the first block is cut by the edge, not aligned with it
  let pos = -extent - rng.uniform(0, 60);
  while (pos < extent + 80) {
    const boulevard = rng.chance(0.15);
    const width = boulevard ? rng.uniform(24, 32) : rng.pick([10, 12, 12, 14, 16, 18]);
    lines.push({ at: pos + width / 2, width });
    pos += width + rng.uniform(70, 150);
  }
  return lines;
}

/** Storey count → height: 3 m a storey plus a roof, most 3–8 storeys, a few tall ones. */
function buildingHeight(rng: Rng): number {
  const storeys = rng.chance(0.06) ? rng.int(9, 11) : rng.int(3, 8);
  return Math.round((storeys * 3 + rng.uniform(1, 3)) * 10) / 10;
}

/** Split a length into lots of 8–22 m; returns lot boundaries (cumulative), with optional passages. */
function lots(rng: Rng, length: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let a = 0;
  while (a < length - 4) {
    let w = rng.uniform(8, 22);
    if (length - (a + w) < 8) w = length - a; // no sliver at the end
    out.push([a, Math.min(length, a + w)]);
    a += w;
    if (rng.chance(0.12)) a += rng.uniform(3, 6); // a passage into the courtyard
  }
  return out;
}

/** Perimeter-block buildings of one block [u0,u1]×[v0,v1] (street edges), appended to rects. */
function fillBlock(rng: Rng, u0: number, v0: number, u1: number, v1: number, rects: Array<{ u0: number; v0: number; u1: number; v1: number; h: number }>): void {
  const wu = u1 - u0;
  const wv = v1 - v0;
  if (wu < 20 || wv < 20) return;
  const depth = Math.min(rng.uniform(10, 16), wu / 2 - 2, wv / 2 - 2);
  // south and north rows span the full block width
  for (const [a, b] of lots(rng, wu)) {
    rects.push({ u0: u0 + a, v0, u1: u0 + b, v1: v0 + depth, h: buildingHeight(rng) });
  }
  for (const [a, b] of lots(rng, wu)) {
    rects.push({ u0: u0 + a, v0: v1 - depth, u1: u0 + b, v1, h: buildingHeight(rng) });
  }
  // west and east rows between them
  const inner = wv - 2 * depth;
  if (inner > 8) {
    for (const [a, b] of lots(rng, inner)) {
      rects.push({ u0, v0: v0 + depth + a, u1: u0 + depth, v1: v0 + depth + b, h: buildingHeight(rng) });
    }
    for (const [a, b] of lots(rng, inner)) {
      rects.push({ u0: u1 - depth, v0: v0 + depth + a, u1, v1: v0 + depth + b, h: buildingHeight(rng) });
    }
  }
  // a low workshop or extension in some courtyards
  const cu = wu - 2 * depth;
  const cv = wv - 2 * depth;
  if (cu > 30 && cv > 30 && rng.chance(0.35)) {
    const w = rng.uniform(10, cu - 16);
    const h = rng.uniform(10, cv - 16);
    const a = u0 + depth + rng.uniform(6, cu - w - 6);
    const b = v0 + depth + rng.uniform(6, cv - h - 6);
    rects.push({ u0: a, v0: b, u1: a + w, v1: b + h, h: Math.round(rng.uniform(5, 10) * 10) / 10 });
  }
}

export function generateLayout(rng: Rng, p: LayoutParams): CityLayout {
  const frame = cityFrame((p.angleDeg * Math.PI) / 180);
  const uLines = streetLines(rng.fork('streets-u'), p.extent); // streets at u = const (running along v)
  const vLines = streetLines(rng.fork('streets-v'), p.extent); // streets at v = const (running along u)
  const streets: Street[] = [
    ...uLines.map((l, i) => ({ name: `Rue ${String.fromCharCode(65 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}`, axis: 'v' as const, at: l.at, width: l.width })),
    ...vLines.map((l, i) => ({ name: `Rue ${i + 1}`, axis: 'u' as const, at: l.at, width: l.width })),
  ];
  const rects: Array<{ u0: number; v0: number; u1: number; v1: number; h: number }> = [];
  const squares: Rect[] = [];
  const brng = rng.fork('blocks');
  for (let i = 0; i + 1 < uLines.length; i++) {
    const bu0 = uLines[i].at + uLines[i].width / 2;
    const bu1 = uLines[i + 1].at - uLines[i + 1].width / 2;
    for (let j = 0; j + 1 < vLines.length; j++) {
      const bv0 = vLines[j].at + vLines[j].width / 2;
      const bv1 = vLines[j + 1].at - vLines[j + 1].width / 2;
      // draw for the square even when the block is outside, so that the stream stays aligned
      const square = brng.chance(0.07);
      const blockRng = brng.fork(`block-${i}-${j}`);
      if (bu1 < -p.extent || bu0 > p.extent || bv1 < -p.extent || bv0 > p.extent) continue;
      if (square) {
        squares.push({ u0: bu0, v0: bv0, u1: bu1, v1: bv1 });
        continue;
      }
      fillBlock(blockRng, bu0, bv0, bu1, bv1, rects);
    }
  }
  return { frame, extent: p.extent, streets, buildings: buildingsFromRects(rects), squares };
}

/** The four corners of building i in CRS coordinates (for drawing, GeoJSON). */
export function buildingPolygon(layout: CityLayout, i: number): Array<[number, number]> {
  const b = layout.buildings;
  const f = layout.frame;
  return [
    toCrs(f, b.u0[i], b.v0[i]),
    toCrs(f, b.u1[i], b.v0[i]),
    toCrs(f, b.u1[i], b.v1[i]),
    toCrs(f, b.u0[i], b.v1[i]),
  ];
}

/**
 * Public open space at (u, v) (city frame): on a street (between its building lines) or on a square, and
 * not inside a building footprint. Courtyards inside the blocks are private and do not count.
 */
export function isPublicSpace(layout: CityLayout, u: number, v: number, insideBuilding: boolean): boolean {
  if (insideBuilding) return false;
  for (const st of layout.streets) if (Math.abs((st.axis === 'v' ? u : v) - st.at) <= st.width / 2) return true;
  for (const q of layout.squares) if (u >= q.u0 && u <= q.u1 && v >= q.v0 && v <= q.v1) return true;
  return false;
}
