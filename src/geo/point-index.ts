// Nearest-neighbour search over a fixed point set (sensor sites), used by IDW and by kriging's local
// neighbourhoods.

/** Uniform bucket grid over a point set for nearest-neighbour queries. Points are stored in bucket order. */
export class PointIndex {
  readonly n: number;
  readonly x0: number;
  readonly y0: number;
  readonly size: number;
  readonly nbx: number;
  readonly nby: number;
  /** First sorted slot of each bucket; length nbx*nby + 1. */
  readonly start: Int32Array;
  /** Original index of each sorted slot. */
  readonly order: Int32Array;
  readonly sx: Float64Array;
  readonly sy: Float64Array;

  constructor(x: ArrayLike<number>, y: ArrayLike<number>) {
    const n = x.length;
    this.n = n;
    let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    for (let i = 0; i < n; i++) {
      if (x[i] < xmin) xmin = x[i];
      if (x[i] > xmax) xmax = x[i];
      if (y[i] < ymin) ymin = y[i];
      if (y[i] > ymax) ymax = y[i];
    }
    const w = Math.max(xmax - xmin, 1e-9);
    const h = Math.max(ymax - ymin, 1e-9);
    // about two points per bucket, at most 1024 buckets per side
    let size = Math.sqrt((w * h * 2) / Math.max(1, n));
    size = Math.max(size, w / 1024, h / 1024, 1e-9);
    this.size = size;
    this.x0 = xmin;
    this.y0 = ymin;
    this.nbx = Math.max(1, Math.min(1024, Math.floor(w / size) + 1));
    this.nby = Math.max(1, Math.min(1024, Math.floor(h / size) + 1));
    const nb = this.nbx * this.nby;
    const bucket = new Int32Array(n);
    const count = new Int32Array(nb + 1);
    for (let i = 0; i < n; i++) {
      const bx = Math.min(this.nbx - 1, Math.floor((x[i] - xmin) / size));
      const by = Math.min(this.nby - 1, Math.floor((y[i] - ymin) / size));
      bucket[i] = by * this.nbx + bx;
      count[bucket[i] + 1]++;
    }
    for (let b = 0; b < nb; b++) count[b + 1] += count[b];
    this.start = count.slice();
    const fill = count.slice(0, nb);
    this.order = new Int32Array(n);
    this.sx = new Float64Array(n);
    this.sy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = fill[bucket[i]]++;
      this.order[s] = i;
      this.sx[s] = x[i];
      this.sy[s] = y[i];
    }
  }

  /**
   * Sorted slots of the sites nearest to (tx, ty): at most k of them (k ≤ 0: no limit) within squared
   * distance r2max. Writes slots and squared distances (ascending when k > 0) and returns the count.
   */
  search(tx: number, ty: number, k: number, r2max: number, outSlot: Int32Array, outD2: Float64Array): number {
    const limited = k > 0;
    const { nbx, nby, size, sx, sy, start } = this;
    const cbx = Math.floor((tx - this.x0) / size);
    const cby = Math.floor((ty - this.y0) / size);
    const maxR = Math.max(Math.abs(cbx), Math.abs(cbx - (nbx - 1)), Math.abs(cby), Math.abs(cby - (nby - 1)));
    // rings closer than this do not touch the bucket grid (target outside the sites' extent)
    const r0 = Math.max(0, -cbx, cbx - (nbx - 1), -cby, cby - (nby - 1));
    let cnt = 0;
    for (let r = r0; r <= maxR; r++) {
      if (r >= 2) {
        // every site in ring r is at least (r-1) buckets away from the target
        const lb = (r - 1) * size;
        const lb2 = lb * lb;
        if (lb2 > r2max) break;
        if (limited && cnt >= k && lb2 > outD2[cnt - 1]) break;
      }
      const byLo = Math.max(0, cby - r);
      const byHi = Math.min(nby - 1, cby + r);
      for (let by = byLo; by <= byHi; by++) {
        const edgeRow = by === cby - r || by === cby + r;
        // on the ring's top and bottom rows every bucket; in between only the two side buckets
        const bxLo = edgeRow ? Math.max(0, cbx - r) : cbx - r;
        const bxHi = edgeRow ? Math.min(nbx - 1, cbx + r) : cbx + r;
        const step = edgeRow || r === 0 ? 1 : 2 * r;
        for (let bx = bxLo; bx <= bxHi; bx += step) {
          if (bx < 0 || bx >= nbx) continue;
          const b = by * nbx + bx;
          for (let s = start[b], e = start[b + 1]; s < e; s++) {
            const dx = sx[s] - tx;
            const dy = sy[s] - ty;
            const d2 = dx * dx + dy * dy;
            if (d2 > r2max) continue;
            if (!limited) {
              outSlot[cnt] = s;
              outD2[cnt++] = d2;
            } else if (cnt < k || d2 < outD2[cnt - 1]) {
              // insertion into the sorted list of the k best
              let j = cnt < k ? cnt++ : cnt - 1;
              while (j > 0 && outD2[j - 1] > d2) {
                outD2[j] = outD2[j - 1];
                outSlot[j] = outSlot[j - 1];
                j--;
              }
              outD2[j] = d2;
              outSlot[j] = s;
            }
          }
        }
      }
    }
    return cnt;
  }
}
