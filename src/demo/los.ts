// Line of sight between a rooftop antenna and a street-level point, decided by the buildings the ray
// crosses in plan view ("2.5-D"): the ray is the straight segment between the two points, its height
// varies linearly along it, and a building blocks it when the segment crosses the building's footprint
// while the ray is below the roof there. Near the mast the ray passes over low roofs; near the street
// any building in the way blocks it.
//
// Beyond the yes/no answer, `screens` counts the separate obstructions (building rows) the ray passes
// under: buildings whose blocked stretches along the ray lie within SCREEN_GAP metres of each other (lots
// side by side in one row, a row and its corner building) count once. The path-loss model grades the
// non-line-of-sight excess loss by this count (pathloss.ts). No diffraction is traced.
//
// A uniform bucket grid over the city frame indexes the buildings; a ray walks the buckets it crosses
// (Amanatides & Woo grid traversal) starting at the receiver, where blocking is most likely, and skips
// buckets whose tallest building is below the ray.

import type { Buildings } from './layout.ts';

/**
 * Parameter interval [tIn, tOut] ⊂ [0, 1] where the segment A + t(B - A) lies inside the rectangle
 * [u0,u1]×[v0,v1] (slab method), or null when it misses. Touching an edge counts as crossing.
 */
export function segmentRectInterval(
  ua: number, va: number, ub: number, vb: number,
  u0: number, v0: number, u1: number, v1: number,
): [number, number] | null {
  let tIn = 0;
  let tOut = 1;
  const du = ub - ua;
  const dv = vb - va;
  if (du === 0) {
    if (ua < u0 || ua > u1) return null;
  } else {
    let t0 = (u0 - ua) / du;
    let t1 = (u1 - ua) / du;
    if (t0 > t1) { const s = t0; t0 = t1; t1 = s; }
    if (t0 > tIn) tIn = t0;
    if (t1 < tOut) tOut = t1;
    if (tIn > tOut) return null;
  }
  if (dv === 0) {
    if (va < v0 || va > v1) return null;
  } else {
    let t0 = (v0 - va) / dv;
    let t1 = (v1 - va) / dv;
    if (t0 > t1) { const s = t0; t0 = t1; t1 = s; }
    if (t0 > tIn) tIn = t0;
    if (t1 < tOut) tOut = t1;
    if (tIn > tOut) return null;
  }
  return [tIn, tOut];
}

/** Blocked stretches of the ray closer than this (metres along the ray, plan view) are one screen. */
export const SCREEN_GAP = 3;

/** The parameter interval over building i where the ray from A to B runs below its roof, or null. */
function blockedInterval(b: Buildings, i: number, ua: number, va: number, ha: number, ub: number, vb: number, hb: number): [number, number] | null {
  const iv = segmentRectInterval(ua, va, ub, vb, b.u0[i], b.v0[i], b.u1[i], b.v1[i]);
  if (!iv) return null;
  // the ray height is linear in t, so its lowest point over the footprint is at one end of the interval
  const zIn = ha + (hb - ha) * iv[0];
  const zOut = ha + (hb - ha) * iv[1];
  return Math.min(zIn, zOut) < b.h[i] ? iv : null;
}

/**
 * Number of screens in a list of blocked intervals [t0, t1, t0, t1, ...] (parameter along a ray of plan
 * length `len` metres): intervals are merged when the gap between them is under SCREEN_GAP metres.
 * Sorts `iv` in place (by start) over its first `count` intervals.
 */
export function countScreens(iv: Float64Array, count: number, len: number): number {
  if (count === 0) return 0;
  // insertion sort of the pairs by start: a ray meets a handful of buildings
  for (let i = 1; i < count; i++) {
    const a = iv[2 * i];
    const b = iv[2 * i + 1];
    let j = i - 1;
    while (j >= 0 && iv[2 * j] > a) {
      iv[2 * j + 2] = iv[2 * j];
      iv[2 * j + 3] = iv[2 * j + 1];
      j--;
    }
    iv[2 * j + 2] = a;
    iv[2 * j + 3] = b;
  }
  const gap = len > 0 ? SCREEN_GAP / len : 0;
  let n = 1;
  let end = iv[1];
  for (let i = 1; i < count; i++) {
    if (iv[2 * i] > end + gap) n++;
    if (iv[2 * i + 1] > end) end = iv[2 * i + 1];
  }
  return n;
}

/** Reference implementation of BuildingIndex.screens: every building tested. Used by tests. */
export function screensBrute(b: Buildings, ua: number, va: number, ha: number, ub: number, vb: number, hb: number): number {
  const list: number[] = [];
  for (let i = 0; i < b.count; i++) {
    const iv = blockedInterval(b, i, ua, va, ha, ub, vb, hb);
    if (iv) list.push(iv[0], iv[1]);
  }
  return countScreens(Float64Array.from(list), list.length / 2, Math.hypot(ub - ua, vb - va));
}

/** Does building i block the ray from A (height ha) to B (height hb)? */
function blocksRay(b: Buildings, i: number, ua: number, va: number, ha: number, ub: number, vb: number, hb: number): boolean {
  return blockedInterval(b, i, ua, va, ha, ub, vb, hb) !== null;
}

/** Reference implementation: test every building. Used by tests to check the index. */
export function blockedBrute(b: Buildings, ua: number, va: number, ha: number, ub: number, vb: number, hb: number): boolean {
  for (let i = 0; i < b.count; i++) if (blocksRay(b, i, ua, va, ha, ub, vb, hb)) return true;
  return false;
}

export class BuildingIndex {
  private readonly ox: number;
  private readonly oy: number;
  private readonly n: number;
  private readonly start: Int32Array;
  private readonly items: Int32Array;
  private readonly maxH: Float64Array;
  private readonly stamp: Int32Array;
  private query = 0;
  /** Scratch list of blocked intervals for screens(). */
  private ivs = new Float64Array(64);
  readonly globalMaxH: number;

  /** Index the buildings over the square [-extent, extent]² (city frame) with buckets of `cell` metres. */
  constructor(readonly b: Buildings, readonly extent: number, readonly cell = 16) {
    this.ox = -extent;
    this.oy = -extent;
    this.n = Math.max(1, Math.ceil((2 * extent) / cell));
    const n = this.n;
    const counts = new Int32Array(n * n + 1);
    const range = (i: number) => {
      const c0 = Math.max(0, Math.floor((b.u0[i] - this.ox) / cell));
      const c1 = Math.min(n - 1, Math.floor((b.u1[i] - this.ox) / cell));
      const r0 = Math.max(0, Math.floor((b.v0[i] - this.oy) / cell));
      const r1 = Math.min(n - 1, Math.floor((b.v1[i] - this.oy) / cell));
      return [c0, c1, r0, r1];
    };
    for (let i = 0; i < b.count; i++) {
      const [c0, c1, r0, r1] = range(i);
      for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) counts[r * n + c + 1]++;
    }
    for (let k = 1; k <= n * n; k++) counts[k] += counts[k - 1];
    this.start = counts;
    this.items = new Int32Array(counts[n * n]);
    this.maxH = new Float64Array(n * n);
    const fill = counts.slice(0, n * n);
    let gmax = 0;
    for (let i = 0; i < b.count; i++) {
      const [c0, c1, r0, r1] = range(i);
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const k = r * n + c;
          this.items[fill[k]++] = i;
          if (b.h[i] > this.maxH[k]) this.maxH[k] = b.h[i];
        }
      }
      if (b.h[i] > gmax) gmax = b.h[i];
    }
    this.globalMaxH = gmax;
    this.stamp = new Int32Array(b.count);
  }

  /** Index of a building whose footprint contains (u, v), or -1. */
  buildingAt(u: number, v: number): number {
    const c = Math.floor((u - this.ox) / this.cell);
    const r = Math.floor((v - this.oy) / this.cell);
    if (c < 0 || r < 0 || c >= this.n || r >= this.n) {
      for (let i = 0; i < this.b.count; i++) if (u >= this.b.u0[i] && u <= this.b.u1[i] && v >= this.b.v0[i] && v <= this.b.v1[i]) return i;
      return -1;
    }
    const k = r * this.n + c;
    for (let j = this.start[k]; j < this.start[k + 1]; j++) {
      const i = this.items[j];
      if (u >= this.b.u0[i] && u <= this.b.u1[i] && v >= this.b.v0[i] && v <= this.b.v1[i]) return i;
    }
    return -1;
  }

  /** Smallest distance from (u, v) to any building footprint, searched up to `radius` metres (else radius). */
  distanceToBuildings(u: number, v: number, radius: number): number {
    const c0 = Math.max(0, Math.floor((u - radius - this.ox) / this.cell));
    const c1 = Math.min(this.n - 1, Math.floor((u + radius - this.ox) / this.cell));
    const r0 = Math.max(0, Math.floor((v - radius - this.oy) / this.cell));
    const r1 = Math.min(this.n - 1, Math.floor((v + radius - this.oy) / this.cell));
    let best = radius;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const k = r * this.n + c;
        for (let j = this.start[k]; j < this.start[k + 1]; j++) {
          const i = this.items[j];
          const du = Math.max(this.b.u0[i] - u, 0, u - this.b.u1[i]);
          const dv = Math.max(this.b.v0[i] - v, 0, v - this.b.v1[i]);
          const d = Math.hypot(du, dv);
          if (d < best) best = d;
        }
      }
    }
    return best;
  }

  /** True when a building blocks the ray from the receiver A (ua, va, height ha) to the transmitter B. */
  blocked(ua: number, va: number, ha: number, ub: number, vb: number, hb: number): boolean {
    return this.screens(ua, va, ha, ub, vb, hb) > 0;
  }

  /**
   * Number of screens (separate building obstructions, see SCREEN_GAP) between the receiver A and the
   * transmitter B: 0 means line of sight. Walks the buckets from A to the end of the ray (or until it
   * rises above every roof), testing each building once.
   */
  screens(ua: number, va: number, ha: number, ub: number, vb: number, hb: number): number {
    const b = this.b;
    const cell = this.cell;
    const n = this.n;
    const du = ub - ua;
    const dv = vb - va;
    const iv = segmentRectInterval(ua, va, ub, vb, this.ox, this.oy, this.ox + n * cell, this.oy + n * cell);
    if (!iv) return 0;
    let t = iv[0];
    const tEnd = iv[1];
    const eps = 1e-9;
    let cx = Math.min(n - 1, Math.max(0, Math.floor((ua + du * (t + eps) - this.ox) / cell)));
    let cy = Math.min(n - 1, Math.max(0, Math.floor((va + dv * (t + eps) - this.oy) / cell)));
    const stepX = du > 0 ? 1 : du < 0 ? -1 : 0;
    const stepY = dv > 0 ? 1 : dv < 0 ? -1 : 0;
    const tDeltaX = stepX !== 0 ? cell / Math.abs(du) : Infinity;
    const tDeltaY = stepY !== 0 ? cell / Math.abs(dv) : Infinity;
    let tMaxX = stepX !== 0 ? (this.ox + (cx + (stepX > 0 ? 1 : 0)) * cell - ua) / du : Infinity;
    let tMaxY = stepY !== 0 ? (this.oy + (cy + (stepY > 0 ? 1 : 0)) * cell - va) / dv : Infinity;
    const rising = hb >= ha;
    const q = ++this.query;
    if (q === 0x7fffffff) { this.stamp.fill(0); this.query = 1; }
    const qs = this.query;
    let count = 0;
    for (;;) {
      const tNext = Math.min(tMaxX, tMaxY, tEnd);
      const zA = ha + (hb - ha) * t;
      const zB = ha + (hb - ha) * tNext;
      const zLow = zA < zB ? zA : zB;
      if (rising && zLow >= this.globalMaxH) break;
      const k = cy * n + cx;
      if (zLow < this.maxH[k]) {
        for (let j = this.start[k]; j < this.start[k + 1]; j++) {
          const i = this.items[j];
          if (this.stamp[i] === qs) continue;
          this.stamp[i] = qs;
          const bi = blockedInterval(b, i, ua, va, ha, ub, vb, hb);
          if (!bi) continue;
          if (2 * count + 2 > this.ivs.length) {
            const grown = new Float64Array(this.ivs.length * 2);
            grown.set(this.ivs);
            this.ivs = grown;
          }
          this.ivs[2 * count] = bi[0];
          this.ivs[2 * count + 1] = bi[1];
          count++;
        }
      }
      if (tNext >= tEnd) break;
      if (tMaxX < tMaxY) {
        t = tMaxX;
        tMaxX += tDeltaX;
        cx += stepX;
      } else {
        t = tMaxY;
        tMaxY += tDeltaY;
        cy += stepY;
      }
      if (cx < 0 || cy < 0 || cx >= n || cy >= n) break;
    }
    return countScreens(this.ivs, count, Math.hypot(du, dv));
  }
}
