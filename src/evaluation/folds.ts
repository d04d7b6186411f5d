// Cross-validation folds over observed cells (indices into Observations).
//
// - leave-one-out: one observed CELL per fold. Co-located sensors share a cell (they were averaged when
//   snapped), so "leave one sensor out" holds out the cell, otherwise a twin sensor in the same cell would
//   leak the answer.
// - k-fold (random): cells shuffled with a seeded generator, dealt round-robin into k folds.
// - spatially blocked k-fold: the observations' extent is cut into rectangular tiles of whole grid cells;
//   every tile goes, as a whole, to one fold (tiles shuffled with the seed, then dealt greedily to the
//   fold with the fewest cells so far). Neighbouring sensors are held out together, so the score measures
//   prediction into unsampled areas rather than interpolation between close twins.

import { UserError } from '../domain/errors.ts';
import type { Observations } from '../domain/types.ts';
import { mulberry32 } from '../util/random.ts';

export type ParsedCv = { kind: 'none' } | { kind: 'loo' } | { kind: 'kfold'; k: number } | { kind: 'blocks'; k: number };

/** Parse "none", "loo", "kfold:10", "blocks:5" (also "kfold" = 10 and "blocks" = 5). */
export function parseCvScheme(s: string | undefined): ParsedCv {
  const t = (s ?? 'loo').trim().toLowerCase();
  if (t === 'none') return { kind: 'none' };
  if (t === 'loo' || t === 'leave-one-out') return { kind: 'loo' };
  const m = /^(kfold|blocks)(?::(\d+))?$/.exec(t);
  if (m) {
    const k = m[2] === undefined ? (m[1] === 'kfold' ? 10 : 5) : Number(m[2]);
    if (!Number.isInteger(k) || k < 2) throw new UserError(`--cv ${s}: the number of folds must be an integer ≥ 2`);
    return { kind: m[1] as 'kfold' | 'blocks', k };
  }
  throw new UserError(`cannot read --cv "${s}": use loo, kfold:K, blocks:K or none`);
}

export function formatCvScheme(cv: ParsedCv): string {
  return cv.kind === 'kfold' || cv.kind === 'blocks' ? `${cv.kind}:${cv.k}` : cv.kind;
}

/** The seeded PRNG that shuffles the folds (mulberry32, src/util/random.ts). */
export const seededRandom = mulberry32;

export function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export function looFolds(n: number): Int32Array[] {
  return Array.from({ length: n }, (_, i) => Int32Array.of(i));
}

/** Random k-fold; k is capped at n (then it is leave-one-out in a random order). */
export function kfoldFolds(n: number, k: number, seed = 1): Int32Array[] {
  const kk = Math.min(k, n);
  const idx = shuffle(Array.from({ length: n }, (_, i) => i), seededRandom(seed));
  const lists: number[][] = Array.from({ length: kk }, () => []);
  idx.forEach((i, j) => lists[j % kk].push(i));
  return lists.map((l) => Int32Array.from(l.sort((a, b) => a - b)));
}

export interface BlockFolds {
  folds: Int32Array[];
  /** Tile of each observation (row-major tile index). */
  tileOf: Int32Array;
  /** Tile layout in grid cells: tile (tr, tc) covers rows [row0 + tr*tileRows, ...) and cols likewise. */
  tileRows: number;
  tileCols: number;
  row0: number;
  col0: number;
  tilesDown: number;
  tilesAcross: number;
}

/**
 * Spatially blocked k-fold. Tiles are square-ish in cells; their number is chosen so that there are
 * about 3k non-empty tiles (at least k), so folds stay balanced yet each holds out whole neighbourhoods.
 */
export function blockFolds(obs: Observations, k: number, seed = 1): BlockFolds {
  const n = obs.cell.length;
  if (n === 0) return { folds: [], tileOf: new Int32Array(0), tileRows: 1, tileCols: 1, row0: 0, col0: 0, tilesDown: 0, tilesAcross: 0 };
  const W = obs.grid.width;
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  let rmin = Infinity, rmax = -Infinity, cmin = Infinity, cmax = -Infinity;
  for (let i = 0; i < n; i++) {
    rows[i] = Math.floor(obs.cell[i] / W);
    cols[i] = obs.cell[i] % W;
    rmin = Math.min(rmin, rows[i]); rmax = Math.max(rmax, rows[i]);
    cmin = Math.min(cmin, cols[i]); cmax = Math.max(cmax, cols[i]);
  }
  const kk = Math.min(k, n);
  const spanR = rmax - rmin + 1;
  const spanC = cmax - cmin + 1;
  // start from ~3k tiles over the observations' extent and refine until at least k are non-empty
  let target = 3 * kk;
  let layout = tiling(spanR, spanC, target);
  let tileOf = assignTiles(rows, cols, rmin, cmin, layout);
  while (new Set(tileOf).size < kk && (layout.tileRows > 1 || layout.tileCols > 1)) {
    target *= 2;
    layout = tiling(spanR, spanC, target);
    tileOf = assignTiles(rows, cols, rmin, cmin, layout);
  }
  // group observations by tile
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const l = members.get(tileOf[i]);
    if (l) l.push(i);
    else members.set(tileOf[i], [i]);
  }
  const rand = seededRandom(seed);
  const tiles = shuffle([...members.keys()].sort((a, b) => a - b), rand);
  // largest tiles first (stable after the shuffle), each to the currently smallest fold
  tiles.sort((a, b) => members.get(b)!.length - members.get(a)!.length);
  const lists: number[][] = Array.from({ length: kk }, () => []);
  for (const t of tiles) {
    let best = 0;
    for (let f = 1; f < kk; f++) if (lists[f].length < lists[best].length) best = f;
    lists[best].push(...members.get(t)!);
  }
  return {
    folds: lists.filter((l) => l.length > 0).map((l) => Int32Array.from(l.sort((a, b) => a - b))),
    tileOf,
    tileRows: layout.tileRows,
    tileCols: layout.tileCols,
    row0: rmin,
    col0: cmin,
    tilesDown: layout.down,
    tilesAcross: layout.across,
  };
}

function tiling(spanR: number, spanC: number, target: number): { tileRows: number; tileCols: number; down: number; across: number } {
  // square tiles of side s cells with about `target` tiles over the span
  const s = Math.max(1, Math.floor(Math.sqrt((spanR * spanC) / target)));
  return { tileRows: s, tileCols: s, down: Math.ceil(spanR / s), across: Math.ceil(spanC / s) };
}

function assignTiles(rows: Int32Array, cols: Int32Array, r0: number, c0: number, t: { tileRows: number; tileCols: number; across: number }): Int32Array {
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    out[i] = Math.floor((rows[i] - r0) / t.tileRows) * t.across + Math.floor((cols[i] - c0) / t.tileCols);
  }
  return out;
}

/** Folds for a parsed scheme (null for "none"). */
export function makeFolds(cv: ParsedCv, obs: Observations, seed = 1): Int32Array[] | null {
  const n = obs.cell.length;
  switch (cv.kind) {
    case 'none':
      return null;
    case 'loo':
      return looFolds(n);
    case 'kfold':
      return kfoldFolds(n, cv.k, seed);
    case 'blocks':
      return blockFolds(obs, cv.k, seed).folds;
  }
}
