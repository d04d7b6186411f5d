// Per-pixel feature maps Φ: an h×w grid of vectors Φ(p) ∈ R^dim, either stored (as row chunks) or defined
// exactly from other maps by the LINEAR layers of cntk.md, without ever being stored:
//   ChunkedMap       stored: a list of [rows_i, w, dim] tensors covering the grid from the top
//   ConstMap         the same value at every pixel (a conv layer's bias, σ_b)
//   ConcatMap        [Φ₁(p), Φ₂(p), ...]
//   ShiftConcatMap   conv K×K: s·[Φ(p+δ)]_δ over the window (zero off the grid), so that
//                    ⟨Ψ(p), Ψ(q)⟩ = s²·Σ_δ ⟨Φ(p+δ), Φ(q+δ)⟩ = s²K²·A[⟨Φ,Φ⟩](p,q) exactly
//   UpMap            nearest ×2: Φ(⌊p/2⌋)
// The last layers of a network (convs and ups after the last relu/down) stay virtual: a conv multiplies the
// dimension by K², which is fine for the few observed cells (gather) and for dot products with weight
// vectors (apply: the K² shifted copies become K² columns of one matMul at the coarse level, then a shifted
// sum), but would cost K²× the memory if stored for every pixel.
//
// Storage is in row chunks because on wasm any tfjs slice copies element by element (~15× an elementwise
// op): the sketch pipeline reads and writes whole chunks (rows() of a range made of whole chunks is a
// `clone`, which shares the data), and only conv halos (K−1 rows) are sliced.
//
// Operations (all return new tensors owned by the caller):
//   rows(r0, r1)   Φ for grid rows r0..r1−1 as [r1−r0, w, dim]
//   gather(cells)  Φ at cells (row-major index) as [n, dim]
//   apply(W)       ⟨Φ(p), W[:, b]⟩ for every pixel, [h, w, B], W of shape [dim, B]
//   sqNorm()       ‖Φ(p)‖² as [h, w]
//   boundaries()   natural row boundaries [0, …, h] (stored chunks), or null

import type * as tfTypes from '@tensorflow/tfjs-core';

type Tf = typeof tfTypes;
type T2 = tfTypes.Tensor2D;
type T3 = tfTypes.Tensor3D;

export interface FeatureMap {
  readonly height: number;
  readonly width: number;
  readonly dim: number;
  rows(r0: number, r1: number): T3;
  gather(cells: Int32Array): T2;
  apply(W: T2): T3;
  sqNorm(): T2;
  boundaries(): number[] | null;
  /**
   * ⟨Φ(p), Φ(q)⟩ for all pixel pairs, P×P row-major float64 — computed structurally (the Gram of the stored
   * maps, then the exact window sums, index maps and sums of the linear layers), for tests and small grids.
   */
  gram(): Promise<Float64Array>;
  /** The stored tensors this map reads (for disposal bookkeeping). */
  tensors(): Set<tfTypes.Tensor>;
  /** Short structural description, e.g. "conv3(up(stored 512)), const". */
  describe(): string;
}

/** Refuse P×P work above this many pixels (the sketch exists to avoid it). */
const MAX_GRAM_PIXELS = 4096;

function checkGram(map: FeatureMap): number {
  const P = map.height * map.width;
  if (P > MAX_GRAM_PIXELS) throw new Error(`feature map gram: ${P} pixels is too many for a P×P matrix (max ${MAX_GRAM_PIXELS})`);
  return P;
}

function checkCells(map: FeatureMap, cells: Int32Array): void {
  const P = map.height * map.width;
  for (let i = 0; i < cells.length; i++) {
    if (!(cells[i] >= 0 && cells[i] < P)) throw new Error(`feature map: cell ${cells[i]} outside the ${map.width}×${map.height} grid`);
  }
}

/** A stored map: row chunks [rows_i, w, dim], top to bottom. Owns its chunks. */
export class ChunkedMap implements FeatureMap {
  readonly height: number;
  readonly width: number;
  readonly dim: number;
  /** starts[i] = first row of chunk i; starts[chunks.length] = height. */
  readonly starts: number[];

  constructor(
    private readonly tf: Tf,
    readonly chunks: T3[],
  ) {
    if (chunks.length === 0) throw new Error('ChunkedMap: no chunks');
    this.width = chunks[0].shape[1];
    this.dim = chunks[0].shape[2];
    this.starts = [0];
    for (const c of chunks) {
      if (c.shape[1] !== this.width || c.shape[2] !== this.dim) throw new Error('ChunkedMap: chunks differ in width or dimension');
      this.starts.push(this.starts[this.starts.length - 1] + c.shape[0]);
    }
    this.height = this.starts[this.starts.length - 1];
  }

  rows(r0: number, r1: number): T3 {
    const tf = this.tf;
    if (r0 < 0 || r1 > this.height || r1 <= r0) throw new Error(`ChunkedMap.rows: bad range ${r0}..${r1} of ${this.height}`);
    const parts: T3[] = [];
    for (let i = 0; i < this.chunks.length; i++) {
      const a = this.starts[i];
      const b = this.starts[i + 1];
      if (b <= r0 || a >= r1) continue;
      const c = this.chunks[i];
      if (a >= r0 && b <= r1) parts.push(tf.clone(c));
      else {
        const lo = Math.max(a, r0);
        const hi = Math.min(b, r1);
        parts.push(tf.slice(c, [lo - a, 0, 0], [hi - lo, this.width, this.dim]));
      }
    }
    if (parts.length === 1) return parts[0];
    const out = tf.concat(parts, 0) as T3;
    parts.forEach((p) => p.dispose());
    return out;
  }

  gather(cells: Int32Array): T2 {
    checkCells(this, cells);
    const tf = this.tf;
    const w = this.width;
    return tf.tidy(() => {
      const parts: T2[] = [];
      const order: number[] = [];
      for (let i = 0; i < this.chunks.length; i++) {
        const local: number[] = [];
        for (let j = 0; j < cells.length; j++) {
          const r = Math.floor(cells[j] / w);
          if (r >= this.starts[i] && r < this.starts[i + 1]) {
            local.push(cells[j] - this.starts[i] * w);
            order.push(j);
          }
        }
        if (local.length === 0) continue;
        const c = this.chunks[i];
        parts.push(tf.gather(tf.reshape(c, [c.shape[0] * w, this.dim]), tf.tensor1d(local, 'int32')) as T2);
      }
      const all = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as T2);
      // back to the order asked for
      const inv = new Int32Array(cells.length);
      order.forEach((j, pos) => (inv[j] = pos));
      return tf.gather(all, tf.tensor1d(inv, 'int32')) as T2;
    });
  }

  apply(W: T2): T3 {
    const tf = this.tf;
    return tf.tidy(() => {
      const parts = this.chunks.map((c) => tf.reshape(tf.matMul(tf.reshape(c, [c.shape[0] * this.width, this.dim]) as T2, W), [c.shape[0], this.width, W.shape[1]]) as T3);
      return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as T3;
    });
  }

  sqNorm(): T2 {
    const tf = this.tf;
    return tf.tidy(() => {
      const parts = this.chunks.map((c) => tf.sum(tf.square(c), 2) as T2);
      return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as T2;
    });
  }

  boundaries(): number[] {
    return [...this.starts];
  }

  async gram(): Promise<Float64Array> {
    const P = checkGram(this);
    const tf = this.tf;
    const g = tf.tidy(() => {
      const F = tf.reshape(this.chunks.length === 1 ? this.chunks[0] : tf.concat(this.chunks, 0), [P, this.dim]) as T2;
      return tf.matMul(F, F, false, true);
    });
    const out = Float64Array.from((await g.data()) as Float32Array);
    g.dispose();
    return out;
  }

  tensors(): Set<tfTypes.Tensor> {
    return new Set(this.chunks);
  }

  describe(): string {
    return `stored ${this.dim}`;
  }
}

export class ConstMap implements FeatureMap {
  readonly dim = 1;
  constructor(
    private readonly tf: Tf,
    readonly height: number,
    readonly width: number,
    readonly value: number,
  ) {}
  rows(r0: number, r1: number): T3 {
    return this.tf.fill([r1 - r0, this.width, 1], this.value) as T3;
  }
  gather(cells: Int32Array): T2 {
    checkCells(this, cells);
    return this.tf.fill([cells.length, 1], this.value) as T2;
  }
  apply(W: T2): T3 {
    const tf = this.tf;
    return tf.tidy(() => tf.mul(tf.ones([this.height, this.width, 1]), tf.reshape(tf.mul(W, this.value), [1, 1, W.shape[1]])) as T3);
  }
  sqNorm(): T2 {
    return this.tf.fill([this.height, this.width], this.value * this.value) as T2;
  }
  boundaries(): null {
    return null;
  }
  async gram(): Promise<Float64Array> {
    const P = checkGram(this);
    return new Float64Array(P * P).fill(this.value * this.value);
  }
  tensors(): Set<tfTypes.Tensor> {
    return new Set();
  }
  describe(): string {
    return `const ${this.value}`;
  }
}

export class ConcatMap implements FeatureMap {
  readonly height: number;
  readonly width: number;
  readonly dim: number;
  constructor(
    private readonly tf: Tf,
    readonly parts: FeatureMap[],
  ) {
    if (parts.length === 0) throw new Error('ConcatMap: no parts');
    this.height = parts[0].height;
    this.width = parts[0].width;
    for (const p of parts) {
      if (p.height !== this.height || p.width !== this.width) throw new Error('ConcatMap: parts differ in size');
    }
    this.dim = parts.reduce((s, p) => s + p.dim, 0);
  }
  rows(r0: number, r1: number): T3 {
    const tf = this.tf;
    return tf.tidy(() => tf.concat(this.parts.map((p) => p.rows(r0, r1)), 2) as T3);
  }
  gather(cells: Int32Array): T2 {
    const tf = this.tf;
    return tf.tidy(() => tf.concat(this.parts.map((p) => p.gather(cells)), 1) as T2);
  }
  apply(W: T2): T3 {
    const tf = this.tf;
    return tf.tidy(() => {
      let acc: T3 | null = null;
      let off = 0;
      for (const p of this.parts) {
        // rows of W: a slice along the outer axis of a small matrix
        const part = p.apply(tf.slice(W, [off, 0], [p.dim, W.shape[1]]) as T2);
        acc = acc ? (tf.add(acc, part) as T3) : part;
        off += p.dim;
      }
      return acc!;
    });
  }
  sqNorm(): T2 {
    const tf = this.tf;
    return tf.tidy(() => tf.addN(this.parts.map((p) => p.sqNorm())) as T2);
  }
  boundaries(): number[] | null {
    for (const p of this.parts) {
      const b = p.boundaries();
      if (b) return b;
    }
    return null;
  }
  async gram(): Promise<Float64Array> {
    checkGram(this);
    let acc: Float64Array | null = null;
    for (const p of this.parts) {
      const g = await p.gram();
      if (!acc) acc = g;
      else for (let i = 0; i < g.length; i++) acc[i] += g[i];
    }
    return acc!;
  }
  tensors(): Set<tfTypes.Tensor> {
    const s = new Set<tfTypes.Tensor>();
    for (const p of this.parts) for (const t of p.tensors()) s.add(t);
    return s;
  }
  describe(): string {
    return this.parts.map((p) => p.describe()).join(', ');
  }
}

/**
 * Shifted sum over the K×K window: out(p, b) = Σ_δ G(p+δ, δ, b) (zero off the grid), for G = [h, w, K²·B]
 * with channel index δ·B + b (δ row-major over the window). A depthwise conv with one-hot filters, then a
 * sum over δ: no slices.
 */
export function shiftSum(tf: Tf, G: T3, K: number, B: number): T3 {
  const [h, w, C] = G.shape;
  if (C !== K * K * B) throw new Error(`shiftSum: ${C} channels, expected ${K * K}·${B}`);
  const f = new Float32Array(K * K * C);
  // depthwise filter [K, K, C, 1]: channel δ·B + b has weight 1 at tap δ
  for (let t = 0; t < K * K; t++) for (let b = 0; b < B; b++) f[t * C + t * B + b] = 1;
  const filter = tf.tensor4d(f, [K, K, C, 1]);
  const shifted = tf.depthwiseConv2d(tf.reshape(G, [1, h, w, C]) as tfTypes.Tensor4D, filter, 1, 'same');
  return tf.sum(tf.reshape(shifted, [h, w, K * K, B]), 2) as T3;
}

export class ShiftConcatMap implements FeatureMap {
  readonly height: number;
  readonly width: number;
  readonly dim: number;
  private readonly k: number;
  constructor(
    private readonly tf: Tf,
    readonly child: FeatureMap,
    readonly K: number,
    readonly scale: number,
  ) {
    this.height = child.height;
    this.width = child.width;
    this.dim = K * K * child.dim;
    this.k = (K - 1) / 2;
  }
  rows(r0: number, r1: number): T3 {
    const tf = this.tf;
    const { k, K, width: w } = this;
    return tf.tidy(() => {
      const a = Math.max(0, r0 - k);
      const b = Math.min(this.height, r1 + k);
      const core = this.child.rows(a, b);
      const halo = tf.pad(core, [
        [a - (r0 - k), r1 + k - b],
        [k, k],
        [0, 0],
      ]);
      const parts: T3[] = [];
      for (let dr = 0; dr < K; dr++) for (let dc = 0; dc < K; dc++) parts.push(tf.slice(halo, [dr, dc, 0], [r1 - r0, w, this.child.dim]));
      return tf.mul(tf.concat(parts, 2), this.scale) as T3;
    });
  }
  gather(cells: Int32Array): T2 {
    checkCells(this, cells);
    const tf = this.tf;
    const { k, width: w, height: h } = this;
    const n = cells.length;
    return tf.tidy(() => {
      const parts: T2[] = [];
      for (let dr = -k; dr <= k; dr++) {
        for (let dc = -k; dc <= k; dc++) {
          const shifted = new Int32Array(n);
          const mask = new Float32Array(n);
          for (let i = 0; i < n; i++) {
            const r = Math.floor(cells[i] / w) + dr;
            const c = (cells[i] % w) + dc;
            const inside = r >= 0 && r < h && c >= 0 && c < w;
            shifted[i] = inside ? r * w + c : cells[i];
            mask[i] = inside ? this.scale : 0;
          }
          parts.push(tf.mul(this.child.gather(shifted), tf.tensor2d(mask, [n, 1])) as T2);
        }
      }
      return tf.concat(parts, 1) as T2;
    });
  }
  apply(W: T2): T3 {
    const tf = this.tf;
    const { K } = this;
    const d = this.child.dim;
    const B = W.shape[1];
    return tf.tidy(() => {
      // rows of W are δ-major (block δ = rows δ·d … (δ+1)·d−1); regroup as [d, K²·B] for one child apply
      const Wc = tf.reshape(tf.transpose(tf.reshape(W, [K * K, d, B]), [1, 0, 2]), [d, K * K * B]) as T2;
      return tf.mul(shiftSum(tf, this.child.apply(Wc), K, B), this.scale) as T3;
    });
  }
  sqNorm(): T2 {
    const tf = this.tf;
    const { K } = this;
    return tf.tidy(() => {
      const n = this.child.sqNorm();
      const G = tf.mul(tf.reshape(n, [this.height, this.width, 1]), tf.ones([1, 1, K * K])) as T3;
      return tf.reshape(tf.mul(shiftSum(tf, G, K, 1), this.scale * this.scale), [this.height, this.width]) as T2;
    });
  }
  boundaries(): number[] | null {
    return this.child.boundaries();
  }
  async gram(): Promise<Float64Array> {
    const P = checkGram(this);
    const G = await this.child.gram();
    const { height: h, width: w, k } = this;
    const s2 = this.scale * this.scale;
    const out = new Float64Array(P * P);
    for (let p = 0; p < P; p++) {
      const pr = Math.floor(p / w);
      const pc = p % w;
      for (let q = 0; q < P; q++) {
        const qr = Math.floor(q / w);
        const qc = q % w;
        let acc = 0;
        for (let dr = -k; dr <= k; dr++) {
          const a = pr + dr;
          const b = qr + dr;
          if (a < 0 || a >= h || b < 0 || b >= h) continue;
          for (let dc = -k; dc <= k; dc++) {
            const c1 = pc + dc;
            const c2 = qc + dc;
            if (c1 < 0 || c1 >= w || c2 < 0 || c2 >= w) continue;
            acc += G[(a * w + c1) * P + b * w + c2];
          }
        }
        out[p * P + q] = s2 * acc;
      }
    }
    return out;
  }
  tensors(): Set<tfTypes.Tensor> {
    return this.child.tensors();
  }
  describe(): string {
    return `conv${this.K}(${this.child.describe()})`;
  }
}

/** Nearest-neighbour ×2 of an [h, w, B] tensor. */
export function up2(tf: Tf, x: T3): T3 {
  const [h, w] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]) as T3;
}

export class UpMap implements FeatureMap {
  readonly height: number;
  readonly width: number;
  readonly dim: number;
  constructor(
    private readonly tf: Tf,
    readonly child: FeatureMap,
  ) {
    this.height = 2 * child.height;
    this.width = 2 * child.width;
    this.dim = child.dim;
  }
  rows(r0: number, r1: number): T3 {
    const tf = this.tf;
    return tf.tidy(() => {
      const a = Math.floor(r0 / 2);
      const b = Math.ceil(r1 / 2);
      const u = up2(tf, this.child.rows(a, b));
      if (r0 === 2 * a && r1 === 2 * b) return u;
      return tf.slice(u, [r0 - 2 * a, 0, 0], [r1 - r0, this.width, this.dim]) as T3;
    });
  }
  gather(cells: Int32Array): T2 {
    checkCells(this, cells);
    const w = this.width;
    const cw = this.child.width;
    return this.child.gather(Int32Array.from(cells, (c) => Math.floor(Math.floor(c / w) / 2) * cw + Math.floor((c % w) / 2)));
  }
  apply(W: T2): T3 {
    const tf = this.tf;
    return tf.tidy(() => up2(tf, this.child.apply(W)));
  }
  sqNorm(): T2 {
    const tf = this.tf;
    return tf.tidy(() => tf.reshape(up2(tf, tf.expandDims(this.child.sqNorm(), 2) as T3), [this.height, this.width]) as T2);
  }
  boundaries(): number[] | null {
    const b = this.child.boundaries();
    return b ? b.map((r) => 2 * r) : null;
  }
  async gram(): Promise<Float64Array> {
    const P = checkGram(this);
    const G = await this.child.gram();
    const w = this.width;
    const cw = this.child.width;
    const Pc = this.child.height * cw;
    const parent = Int32Array.from({ length: P }, (_, p) => Math.floor(Math.floor(p / w) / 2) * cw + Math.floor((p % w) / 2));
    const out = new Float64Array(P * P);
    for (let p = 0; p < P; p++) for (let q = 0; q < P; q++) out[p * P + q] = G[parent[p] * Pc + parent[q]];
    return out;
  }
  tensors(): Set<tfTypes.Tensor> {
    return this.child.tensors();
  }
  describe(): string {
    return `up(${this.child.describe()})`;
  }
}

/**
 * Row ranges [r0, r1) covering the map, each made of whole stored chunks (so rows() needs no slicing) and
 * of at least `targetPixels` pixels where possible; `even` forces even row counts (for a 2×2 pool).
 */
export function rowRanges(map: FeatureMap, targetPixels: number, even: boolean): Array<[number, number]> {
  const h = map.height;
  const w = map.width;
  let R = Math.max(1, Math.min(h, Math.floor(targetPixels / w)));
  if (even) R = Math.max(2, R - (R % 2));
  const uniform = (a: number, b: number, out: Array<[number, number]>) => {
    for (let r0 = a; r0 < b; r0 += R) out.push([r0, Math.min(b, r0 + R)]);
  };
  const b = map.boundaries();
  const out: Array<[number, number]> = [];
  if (!b || b.some((r) => even && r % 2 === 1)) {
    uniform(0, h, out);
    return out;
  }
  let start = 0;
  for (let i = 1; i < b.length; i++) {
    if ((b[i] - b[i - 1]) * w > 2 * targetPixels) {
      // a chunk much larger than the target (e.g. the input image): split it (sliced reads, but bounded memory)
      if (start < b[i - 1]) out.push([start, b[i - 1]]);
      uniform(b[i - 1], b[i], out);
      start = b[i];
    } else if ((b[i] - start) * w >= targetPixels || i === b.length - 1) {
      out.push([start, b[i]]);
      start = b[i];
    }
  }
  return out;
}
