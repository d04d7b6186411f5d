// Isobands: filled polygons of the regions t[k] <= f < t[k+1] of a gridded field, that tile the grid
// exactly (no gap, no overlap), plus the isolines f = t[k].
//
// Why not d3-contour alone: d3-contour gives superlevel sets {f >= t} (nested polygons). Turning those into
// disjoint bands needs polygon differences, and where two levels both reach the grid edge their rings share
// edge segments, so "outer ring of level k with holes from level k+1" is not a valid polygon there. A
// marching-squares variant that produces bands directly is simpler than a general polygon-clipping library:
//
// 1. Cell centres are the nodes of a piecewise-linear surface; the grid is padded by replicating edge values
//    onto its outer boundary so the bands cover the whole grid rectangle [0, W] × [0, H], not just the
//    rectangle of cell centres.
// 2. Each square between four nodes is cut into four triangles around its centre (value = mean of the
//    corners), which removes the saddle ambiguity of marching squares: f is linear on each triangle, and
//    its part in a band is one convex polygon (clip by f >= lo, then f < hi).
// 3. The band's outline is the set of clipped-polygon edges that are contour pieces or lie on the domain
//    boundary (grid edge or next to nodata); edges shared by two triangles of the same band cancel out.
//    Crossing points on shared triangle sides are computed from the side's endpoints in a canonical order,
//    so both neighbours produce bit-identical coordinates and the edges link up exactly.
// 4. The edges (interior on their left) are chained into rings; counter-clockwise rings are outer
//    boundaries, clockwise ones holes, assigned to the smallest outer ring that contains them.
//
// The "above" rule is the same as in classOf (colour.ts) and d3-contour: f >= t belongs above t.
// d3-contour is used in the tests as an independent reference for the superlevel-set areas.

import { CancelledError, throwIfCancelled, type RunContext } from '../../domain/run.ts';
import { classOf } from './colour.ts';

/** A point in grid model space: X from 0 (west edge) to W, Y from 0 (south edge) to H, in cells. */
export type Pt = [number, number];
/** Outer ring then holes; rings are closed implicitly (first point not repeated). Outer CCW, holes CW. */
export type PolygonRings = Pt[][];

export interface Band {
  /** Band index k: lower bound thresholds[k-1] (none for k = 0), upper bound thresholds[k] (none for the last). */
  index: number;
  lower: number | null;
  upper: number | null;
  polygons: PolygonRings[];
  /** Area in cells². */
  area: number;
}

export interface IsobandResult {
  bands: Band[];
  /** Isolines per threshold: chains of points (closed ones repeat their first point at the end). */
  lines: Array<{ value: number; chains: Pt[][] }>;
  /** Chains that did not close while linking ring edges (0 unless there is a bug); reported, not hidden. */
  openChains: number;
}

type Label = number; // 0..2: triangle side; LO / HI: contour
const LO = 3;
const HI = 4;

interface V {
  x: number;
  y: number;
  f: number;
}

/** Point where f = t on segment p–q, computed from the endpoints in canonical order (bit-identical from both sides). */
function crossing(p: V, q: V, t: number): V {
  const swap = p.x > q.x || (p.x === q.x && p.y > q.y);
  const a = swap ? q : p;
  const b = swap ? p : q;
  const s = (t - a.f) / (b.f - a.f);
  return { x: a.x + s * (b.x - a.x), y: a.y + s * (b.y - a.y), f: t };
}

/**
 * Clip a convex polygon (vertices with the label of the edge leaving them) by a half-plane in value space.
 * keepAbove: keep f >= t (LO); else keep f < t (HI). `sides` are the triangle's original sides, used to
 * compute crossings canonically.
 */
function clip(poly: Array<{ v: V; l: Label }>, t: number, keepAbove: boolean, sides: Array<[V, V]>): Array<{ v: V; l: Label }> {
  const inside = (v: V) => (keepAbove ? v.f >= t : v.f < t);
  const out: Array<{ v: V; l: Label }> = [];
  const n = poly.length;
  for (let k = 0; k < n; k++) {
    const s = poly[k];
    const e = poly[(k + 1) % n];
    const si = inside(s.v);
    const ei = inside(e.v);
    if (si === ei) {
      if (si) out.push(s);
      continue;
    }
    const x = s.l < 3 ? crossing(sides[s.l][0], sides[s.l][1], t) : crossing(s.v, e.v, t);
    if (si) out.push(s, { v: x, l: keepAbove ? LO : HI });
    else out.push({ v: x, l: s.l });
  }
  return out;
}

class EdgeSet {
  /** x → (y → vertex id): numeric keys, no string building in the hot loop. */
  readonly keyOf = new Map<number, Map<number, number>>();
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  /** Directed edges a→b with their contour label (LO/HI) or -1 for boundary edges. */
  readonly from: number[] = [];
  readonly to: number[] = [];
  readonly label: number[] = [];

  vertex(x: number, y: number): number {
    // +0 turns -0 into 0 so both spellings of zero are one vertex
    x += 0;
    y += 0;
    let col = this.keyOf.get(x);
    if (col === undefined) {
      col = new Map();
      this.keyOf.set(x, col);
    }
    let id = col.get(y);
    if (id === undefined) {
      id = this.xs.length;
      col.set(y, id);
      this.xs.push(x);
      this.ys.push(y);
    }
    return id;
  }

  add(a: V, b: V, label: number): void {
    if (a.x === b.x && a.y === b.y) return;
    this.from.push(this.vertex(a.x, a.y));
    this.to.push(this.vertex(b.x, b.y));
    this.label.push(label);
  }
}

/** Remove pairs of opposite edges (a→b with b→a): zero-area slivers where f equals a threshold on a side. */
function cancelOpposites(es: EdgeSet): boolean[] {
  const alive = new Array<boolean>(es.from.length).fill(true);
  const nv = es.xs.length;
  const open = new Map<number, number[]>(); // key from·nv + to (exact below 2^53 for any grid we allow)
  for (let i = 0; i < es.from.length; i++) {
    const list = open.get(es.to[i] * nv + es.from[i]);
    if (list && list.length) {
      const j = list.pop()!;
      alive[i] = false;
      alive[j] = false;
      continue;
    }
    const key = es.from[i] * nv + es.to[i];
    const l2 = open.get(key);
    if (l2) l2.push(i);
    else open.set(key, [i]);
  }
  return alive;
}

function signedArea(r: Pt[]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return a / 2;
}

function pointInRing(p: Pt, r: Pt[]): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Chain live edges into closed rings. Where a band touches itself at a vertex (several exits), the walk
 * takes the leftmost turn, then every ring is split at its repeated vertices into simple loops: which
 * pairing keeps touching parts apart depends on the shape around (two lobes meeting at a point, or a pocket
 * pinched against the outline), so splitting afterwards handles both. A split-off loop of opposite
 * orientation is a hole touching its outer ring at one point, which OGC/GEOS accept.
 */
function linkRings(es: EdgeSet, alive: boolean[]): { rings: Pt[][]; open: number } {
  const out = new Map<number, number[]>();
  for (let i = 0; i < es.from.length; i++) {
    if (!alive[i]) continue;
    const l = out.get(es.from[i]);
    if (l) l.push(i);
    else out.set(es.from[i], [i]);
  }
  const used = new Array<boolean>(es.from.length).fill(false);
  const rings: Pt[][] = [];
  const emit = (ids: number[]) => {
    if (ids.length >= 3) rings.push(ids.map((v) => [es.xs[v], es.ys[v]] as Pt));
  };
  let open = 0;
  for (let start = 0; start < es.from.length; start++) {
    if (!alive[start] || used[start]) continue;
    const ids: number[] = [];
    let e = start;
    let closed = false;
    for (;;) {
      used[e] = true;
      ids.push(es.from[e]);
      const v = es.to[e];
      if (v === es.from[start]) {
        closed = true;
        break;
      }
      const exits = out.get(v);
      let next = -1;
      let nFree = 0;
      if (exits) for (const c of exits) if (!used[c]) { nFree++; if (next < 0) next = c; }
      if (next < 0) break;
      if (nFree > 1) {
        const dx = es.xs[v] - es.xs[es.from[e]];
        const dy = es.ys[v] - es.ys[es.from[e]];
        let best = -Infinity;
        for (const c of exits!) {
          if (used[c]) continue;
          const ex = es.xs[es.to[c]] - es.xs[v];
          const ey = es.ys[es.to[c]] - es.ys[v];
          const turn = Math.atan2(dx * ey - dy * ex, dx * ex + dy * ey);
          if (turn > best) {
            best = turn;
            next = c;
          }
        }
      }
      e = next;
    }
    if (!closed) {
      open++;
      continue;
    }
    // split at repeated vertices: a vertex met again closes the loop since its first visit
    const stack: number[] = [];
    const at = new Map<number, number>();
    for (const v of ids) {
      const i = at.get(v);
      if (i !== undefined) {
        const loop = stack.splice(i);
        for (const u of loop) at.delete(u);
        emit(loop);
      }
      at.set(v, stack.length);
      stack.push(v);
    }
    emit(stack);
  }
  return { rings, open };
}

/** Chain contour edges into polylines (isolines): open chains run from domain boundary to boundary. */
function linkLines(es: EdgeSet, alive: boolean[], label: number): Pt[][] {
  const idx: number[] = [];
  for (let i = 0; i < es.from.length; i++) if (alive[i] && es.label[i] === label) idx.push(i);
  const byFrom = new Map<number, number[]>();
  const hasIn = new Set<number>();
  for (const i of idx) {
    const l = byFrom.get(es.from[i]);
    if (l) l.push(i);
    else byFrom.set(es.from[i], [i]);
    hasIn.add(es.to[i]);
  }
  const used = new Set<number>();
  const chains: Pt[][] = [];
  const follow = (first: number) => {
    const pts: Pt[] = [[es.xs[es.from[first]], es.ys[es.from[first]]]];
    let e: number | undefined = first;
    while (e !== undefined && !used.has(e)) {
      used.add(e);
      pts.push([es.xs[es.to[e]], es.ys[es.to[e]]]);
      e = (byFrom.get(es.to[e]) ?? []).find((c) => !used.has(c));
    }
    chains.push(pts);
  };
  // open chains first (start vertices with no incoming contour edge), then the closed loops
  for (const i of idx) if (!used.has(i) && !hasIn.has(es.from[i])) follow(i);
  for (const i of idx) if (!used.has(i)) follow(i);
  return chains;
}

/**
 * Bands of a row-major field (row 0 = north) at sorted thresholds. NaN cells are nodata: triangles that
 * touch them are left out, so the bands stop about half a cell from nodata. Coordinates are grid model
 * space (see Pt); convert with X → xmin + X·dx, Y → ymin + Y·dy.
 */
export async function isobands(
  values: ArrayLike<number>,
  width: number,
  height: number,
  thresholds: number[],
  ctx: RunContext = {},
): Promise<IsobandResult> {
  const W = width;
  const H = height;
  const nb = thresholds.length + 1;
  const edges = Array.from({ length: nb }, () => new EdgeSet());
  // padded node lattice: i = 0..W+1 (X = 0, 0.5, 1.5, ..., W-0.5, W), j = 0..H+1 from north to south
  const nodeX = (i: number) => (i === 0 ? 0 : i === W + 1 ? W : i - 0.5);
  const nodeY = (j: number) => (j === 0 ? H : j === H + 1 ? 0 : H - (j - 0.5));
  // padded node values and their band index (-1 = nodata), (W+2) × (H+2)
  const NW = W + 2;
  const nodeVal = new Float64Array(NW * (H + 2));
  const nodeBand = new Int32Array(NW * (H + 2));
  for (let j = 0; j < H + 2; j++) {
    const r = Math.min(H - 1, Math.max(0, j - 1));
    for (let i = 0; i < NW; i++) {
      const v = values[r * W + Math.min(W - 1, Math.max(0, i - 1))];
      const ok = Number.isFinite(v);
      nodeVal[j * NW + i] = ok ? v : NaN;
      nodeBand[j * NW + i] = ok ? classOf(v, thresholds) : -1;
    }
  }
  const node = (i: number, j: number): V => ({ x: nodeX(i), y: nodeY(j), f: nodeVal[j * NW + i] });
  const bandAt = (f: number) => classOf(f, thresholds);
  const lower = (k: number) => (k === 0 ? -Infinity : thresholds[k - 1]);
  const upper = (k: number) => (k === nb - 1 ? Infinity : thresholds[k]);

  for (let j = 0; j <= H; j++) {
    if (j % 16 === 0) {
      throwIfCancelled(ctx.signal);
      ctx.onProgress?.({ stage: 'isobands', fraction: j / (H + 1) });
      if (j % 128 === 0 && j > 0) await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i <= W; i++) {
      // fast path, most squares: all four corners valid and in one band, not on the frame. The centre
      // (their mean) is then in that band too, so no edge of this square can be on a band outline.
      if (i > 0 && i < W && j > 0 && j < H) {
        const ka = nodeBand[j * NW + i];
        if (ka >= 0 && ka === nodeBand[j * NW + i + 1] && ka === nodeBand[(j + 1) * NW + i] && ka === nodeBand[(j + 1) * NW + i + 1]) continue;
      }
      const A = node(i, j); // NW
      const B = node(i + 1, j); // NE
      const C = node(i + 1, j + 1); // SE
      const D = node(i, j + 1); // SW
      const corners = [A, B, C, D];
      const valid = corners.map((c) => !Number.isNaN(c.f));
      if (!valid.some(Boolean)) continue;
      let sum = 0;
      let cnt = 0;
      for (const c of corners) if (!Number.isNaN(c.f)) { sum += c.f; cnt++; }
      const M: V = { x: (A.x + B.x) / 2, y: (A.y + D.y) / 2, f: sum / cnt };
      // triangles (M, P, Q) counter-clockwise: N = (M,B,A), E = (M,C,B), S = (M,D,C), W = (M,A,D)
      // side 0 = M–P, side 1 = P–Q (square side), side 2 = Q–M
      const tri: Array<[number, number]> = [[1, 0], [2, 1], [3, 2], [0, 3]];
      const atFrame = [j === 0, i === W, j === H, i === 0]; // N, E, S, W square side on the padded frame
      for (let t = 0; t < 4; t++) {
        const [pi, qi] = tri[t];
        if (!valid[pi] || !valid[qi]) continue;
        const P = corners[pi];
        const Q = corners[qi];
        // neighbour across side 0 (M–P) is the triangle with corners (P, prev corner); across side 2 (Q–M), (next, Q)
        const across0 = valid[(pi + 1) % 4]; // the other triangle at P is (M, P+1, P) in corner order
        const across2 = valid[(qi + 3) % 4];
        const boundary = [!across0, atFrame[t], !across2];
        const sides: Array<[V, V]> = [[M, P], [P, Q], [Q, M]];
        const kmin = Math.min(bandAt(M.f), bandAt(P.f), bandAt(Q.f));
        const kmax = Math.max(bandAt(M.f), bandAt(P.f), bandAt(Q.f));
        if (kmin === kmax) {
          // whole triangle in one band: only its domain-boundary sides matter
          for (let s = 0; s < 3; s++) if (boundary[s]) edges[kmin].add(sides[s][0], sides[s][1], -1);
          continue;
        }
        for (let k = kmin; k <= kmax; k++) {
          let poly: Array<{ v: V; l: Label }> = [{ v: M, l: 0 }, { v: P, l: 1 }, { v: Q, l: 2 }];
          if (k > 0) poly = clip(poly, lower(k), true, sides);
          if (k < nb - 1 && poly.length) poly = clip(poly, upper(k), false, sides);
          for (let a = 0; a < poly.length; a++) {
            const { v, l } = poly[a];
            const w = poly[(a + 1) % poly.length].v;
            if (l === LO || l === HI) edges[k].add(v, w, l);
            else if (boundary[l]) edges[k].add(v, w, -1);
          }
        }
      }
    }
  }

  const bands: Band[] = [];
  const lines: IsobandResult['lines'] = thresholds.map((value) => ({ value, chains: [] as Pt[][] }));
  let openChains = 0;
  for (let k = 0; k < nb; k++) {
    if (ctx.signal?.aborted) throw new CancelledError();
    const es = edges[k];
    const alive = cancelOpposites(es);
    if (k > 0) lines[k - 1].chains = linkLines(es, alive, LO);
    const { rings, open } = linkRings(es, alive);
    openChains += open;
    const outers: Array<{ ring: Pt[]; area: number; box: [number, number, number, number]; holes: Pt[][] }> = [];
    const holes: Array<{ ring: Pt[]; area: number }> = [];
    for (const r of rings) {
      const a = signedArea(r);
      if (Math.abs(a) < 1e-12) continue;
      if (a > 0) {
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (const [x, y] of r) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
        outers.push({ ring: r, area: a, box: [x0, y0, x1, y1], holes: [] });
      } else holes.push({ ring: r, area: a });
    }
    outers.sort((p, q) => p.area - q.area); // smallest first: the first container found is the innermost
    for (const h of holes) {
      const p: Pt = [(h.ring[0][0] + h.ring[1][0]) / 2, (h.ring[0][1] + h.ring[1][1]) / 2];
      const owner = outers.find((o) => p[0] >= o.box[0] && p[0] <= o.box[2] && p[1] >= o.box[1] && p[1] <= o.box[3] && pointInRing(p, o.ring));
      if (owner) owner.holes.push(h.ring);
      else openChains++; // a hole outside every outer ring cannot happen for a consistent edge set
    }
    if (outers.length === 0) continue;
    let area = 0;
    for (const o of outers) area += o.area;
    for (const h of holes) area += h.area;
    bands.push({
      index: k,
      lower: k === 0 ? null : thresholds[k - 1],
      upper: k === nb - 1 ? null : thresholds[k],
      polygons: outers.map((o) => [o.ring, ...o.holes]),
      area,
    });
  }
  ctx.onProgress?.({ stage: 'isobands', fraction: 1 });
  return { bands, lines, openChains };
}
