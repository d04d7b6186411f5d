// Per-pixel feature maps Φ: an h×w grid of vectors Φ(p) ∈ R^dim, either stored as a tensor or defined
// exactly from other maps by the LINEAR layers of cntk.md, without ever being stored:
//   TensorMap        a [h, w, dim] tensor
//   ConstMap         the same value at every pixel (a conv layer's bias, σ_b)
//   ConcatMap        [Φ₁(p), Φ₂(p), ...]
//   ShiftConcatMap   conv K×K: s·[Φ(p+δ)]_δ over the window (zero off the grid), so that
//                    ⟨Ψ(p), Ψ(q)⟩ = s²·Σ_δ ⟨Φ(p+δ), Φ(q+δ)⟩ = s²K²·A[⟨Φ,Φ⟩](p,q) exactly
//   UpMap            nearest ×2: Φ(⌊p/2⌋)
// The last layers of a network (everything after the last relu/down: convs and ups) are kept virtual:
// a conv K×K multiplies the dimension by K², which is fine for the few observed cells (gather) and for
// dot products with a weight vector (apply: the K² shifted copies become K² extra columns of one matMul
// at the coarse level, then shifted scalar maps), but would cost K²× memory if stored for every pixel.
//
// Operations (all return new tensors the caller owns; none keeps references to them):
//   rows(r0, r1)   Φ for grid rows r0..r1−1 as [r1−r0, w, dim]   (chunked materialisation)
//   gather(cells)  Φ at cells (row-major index) as [n, dim]
//   apply(W)       ⟨Φ(p), W[:, b]⟩ for every pixel, [h, w, B], W of shape [dim, B]
//   sqNorm()       ‖Φ(p)‖² as [h, w]
// Disposal: tensors are owned by the TensorMaps; `tensors()` lists them so a pipeline can free the ones a
// new state no longer reaches.

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
  /** The stored tensors this map reads (for disposal bookkeeping). */
  tensors(): Set<tfTypes.Tensor>;
  /** Short structural description, e.g. "concat(shift3(up(tensor 512)), const)". */
  describe(): string;
}

function checkCells(map: FeatureMap, cells: Int32Array): void {
  const P = map.height * map.width;
  for (let i = 0; i < cells.length; i++) {
    if (!(cells[i] >= 0 && cells[i] < P)) throw new Error(`feature map: cell ${cells[i]} outside the ${map.width}×${map.height} grid`);
  }
}

export class TensorMap implements FeatureMap {
  readonly height: number;
  readonly width: number;
  readonly dim: number;
  constructor(
    private readonly tf: Tf,
    readonly tensor: T3,
  ) {
    [this.height, this.width, this.dim] = tensor.shape;
  }
  rows(r0: number, r1: number): T3 {
    return this.tf.slice(this.tensor, [r0, 0, 0], [r1 - r0, this.width, this.dim]);
  }
  gather(cells: Int32Array): T2 {
    checkCells(this, cells);
    const tf = this.tf;
    return tf.tidy(() => tf.gather(tf.reshape(this.tensor, [this.height * this.width, this.dim]), tf.tensor1d(cells, 'int32')) as T2);
  }
  apply(W: T2): T3 {
    const tf = this.tf;
    return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(this.tensor, [this.height * this.width, this.dim]) as T2, W), [this.height, this.width, W.shape[1]]) as T3);
  }
  sqNorm(): T2 {
    const tf = this.tf;
    return tf.tidy(() => tf.sum(tf.square(this.tensor), 2) as T2);
  }
  tensors(): Set<tfTypes.Tensor> {
    return new Set([this.tensor]);
  }
  describe(): string {
    return `tensor ${this.dim}`;
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
    return tf.tidy(() => tf.tile(tf.reshape(tf.mul(W, this.value), [1, 1, W.shape[1]]), [this.height, this.width, 1]) as T3);
  }
  sqNorm(): T2 {
    return this.tf.fill([this.height, this.width], this.value * this.value) as T2;
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
  tensors(): Set<tfTypes.Tensor> {
    const s = new Set<tfTypes.Tensor>();
    for (const p of this.parts) for (const t of p.tensors()) s.add(t);
    return s;
  }
  describe(): string {
    return `concat(${this.parts.map((p) => p.describe()).join(', ')})`;
  }
}

/** Sum over the K×K window of shifted [h, w, B] maps: out(p) = Σ_δ G_δ(p+δ), G given as [h, w, K², B]. */
function shiftSum(tf: Tf, G: tfTypes.Tensor4D, K: number): T3 {
  const [h, w, , B] = G.shape;
  const k = (K - 1) / 2;
  const padded = tf.pad(G, [
    [k, k],
    [k, k],
    [0, 0],
    [0, 0],
  ]);
  let acc: tfTypes.Tensor | null = null;
  let idx = 0;
  for (let dr = -k; dr <= k; dr++) {
    for (let dc = -k; dc <= k; dc++) {
      const s = tf.reshape(tf.slice(padded, [k + dr, k + dc, idx, 0], [h, w, 1, B]), [h, w, B]);
      acc = acc ? tf.add(acc, s) : s;
      idx++;
    }
  }
  return acc as T3;
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
      // rows of W are δ-major: block δ = rows δ·d … (δ+1)·d−1; regroup as [d, K²·B] for one child apply
      const Wc = tf.reshape(tf.transpose(tf.reshape(W, [K * K, d, B]), [1, 0, 2]), [d, K * K * B]) as T2;
      const G = tf.reshape(this.child.apply(Wc), [this.height, this.width, K * K, B]) as tfTypes.Tensor4D;
      return tf.mul(shiftSum(tf, G, K), this.scale) as T3;
    });
  }
  sqNorm(): T2 {
    const tf = this.tf;
    const { K } = this;
    return tf.tidy(() => {
      const n = this.child.sqNorm();
      const G = tf.tile(tf.reshape(n, [this.height, this.width, 1, 1]), [1, 1, K * K, 1]) as tfTypes.Tensor4D;
      return tf.reshape(tf.mul(shiftSum(tf, G, K), this.scale * this.scale), [this.height, this.width]) as T2;
    });
  }
  tensors(): Set<tfTypes.Tensor> {
    return this.child.tensors();
  }
  describe(): string {
    return `conv${this.K}(${this.child.describe()})`;
  }
}

/** Nearest-neighbour ×2 of an [h, w, B] tensor. */
function up2(tf: Tf, x: T3): T3 {
  const [h, w, B] = x.shape;
  return tf.reshape(tf.tile(tf.reshape(x, [h, 1, w, 1, B]), [1, 2, 1, 2, 1]), [2 * h, 2 * w, B]) as T3;
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
  tensors(): Set<tfTypes.Tensor> {
    return this.child.tensors();
  }
  describe(): string {
    return `up(${this.child.describe()})`;
  }
}
