// Randomised Hadamard sketches on batches of feature vectors (rows of an [N, d] tensor), TensorFlow.js ops.
//
//   fold_K(s ⊙ x)          CountSketch: coordinate i of x, with a random sign s_i, is added to bucket i mod K.
//                          E⟨fold(x), fold(x')⟩ = ⟨x, x'⟩ (E s_i s_j = δ_ij); exact when d ≤ K.
//   y = H_K fold_K(s ⊙ x)  every coordinate satisfies E[y_j y'_j] = ⟨x, x'⟩ (H_ij² = 1), and the coordinates
//                          are spread: each is a ±-mixture of all of x.
//   SRHT  (Srht)           x ↦ y[:, :k]/√k            E⟨·,·⟩ = ⟨x, x'⟩;  exact when d ≤ k = K.
//   TensorSRHT (Ahle et al. 2020, "Oblivious sketching of high-degree polynomial kernels"; used by
//   Zandieh et al. 2021 for the NTK)
//                          (x, y) ↦ (H fold(s₁⊙x) ⊙ H fold(s₂⊙y))[:, :k]/√k
//                          E⟨S(x,y), S(x',y')⟩ = ⟨x,x'⟩⟨y,y'⟩ (independent signs), variance O(1/k).
// Coordinates are taken as the first k outputs rather than sampled at random: with random signs, a fixed
// set of Hadamard rows is as unbiased as a random one, and a tfjs gather along the feature axis costs
// ~10× an elementwise op on wasm, which would dominate the whole feature map.
//
// When d·K is small, fold+H is one dense product x·M with M[i, j] = s_i H[i mod K, j] (one matMul beats a
// sign multiply, a fold and a transform); otherwise signs, fold (reshape + sum) and fwht (hadamard.ts).
// All `apply` methods must run inside tf.tidy (they create intermediates).

import type * as tfTypes from '@tensorflow/tfjs-core';
import { fwht, hadamardFactors, hadamardMatrix } from './hadamard.ts';
import { nextPow2, type SignSource } from './random.ts';

type Tf = typeof tfTypes;
type T2 = tfTypes.Tensor2D;

/**
 * x ↦ y ∈ R^K with E[y_j y'_j] = ⟨x, x'⟩ for every output coordinate j (unnormalised, ±1 entries):
 *   d > K:  y = H_K fold_K(s ⊙ x)                       (one sign vector, then CountSketch, then Hadamard)
 *   d ≤ K:  y = [H_d' (s⁽¹⁾ ⊙ x), ..., H_d' (s⁽ᴮ⁾ ⊙ x)]   (B = K/d' blocks, d' = 2^⌈log₂ d⌉, fresh signs each)
 * The stacked form matters when d < K: a single H_K of the zero-padded x only repeats H_d' x, so a
 * product sketch built on it could never use more than d' distinct pairs; independent blocks make the
 * variance keep falling like 1/K. Both forms have orthogonal columns up to scale (yᵀy' = K·xᵀx' exactly
 * when d ≤ K), so an SRHT with k = K outputs is exact.
 */
export class SignedHadamard {
  readonly d: number;
  readonly K: number;
  private readonly dense: T2 | null = null;
  private readonly signs: tfTypes.Tensor | null = null;
  private readonly hK: T2 | null = null;
  private readonly mode: 'dense' | 'fold' | 'blocks';
  private readonly dp: number;

  constructor(
    private readonly tf: Tf,
    d: number,
    K: number,
    src: SignSource,
    /** Multiplies every output (baked into the matrices). */
    scale = 1,
  ) {
    if (!(d >= 1) || !(K >= 1) || (K & (K - 1)) !== 0) throw new Error(`SignedHadamard: bad sizes d=${d}, K=${K}`);
    this.d = d;
    this.K = K;
    this.dp = nextPow2(d);
    if (d > K) {
      const s = src.signs(d);
      // multiply-adds per row: dense d·K; folded 2d + K·(K if dense H else Σ factors + transposes)
      const factors = hadamardFactors(K);
      const hCost = K <= 128 ? K : factors.reduce((a, b) => a + b, 0) + 4 * factors.length;
      if (d * K <= 1.5 * (2 * d + K * hCost)) {
        this.mode = 'dense';
        const H = hadamardMatrix(K);
        const M = new Float32Array(d * K);
        for (let i = 0; i < d; i++) {
          const r = (i % K) * K;
          for (let j = 0; j < K; j++) M[i * K + j] = scale * s[i] * H[r + j];
        }
        this.dense = tf.tensor2d(M, [d, K]);
      } else {
        this.mode = 'fold';
        this.signs = tf.tensor1d(s.map((v) => v * scale));
        this.hK = K <= 128 ? tf.tensor2d(hadamardMatrix(K), [K, K]) : null;
      }
      return;
    }
    const dp = this.dp;
    const B = K / dp;
    const S = src.signs(B * d);
    for (let i = 0; i < S.length; i++) S[i] *= scale;
    if (d * K <= 1 << 22) {
      // dense: M[i, t·d' + j] = s⁽ᵗ⁾_i H_d'[i, j]
      this.mode = 'dense';
      const H = hadamardMatrix(dp);
      const M = new Float32Array(d * K);
      for (let i = 0; i < d; i++) {
        for (let t = 0; t < B; t++) {
          const st = S[t * d + i];
          for (let j = 0; j < dp; j++) M[i * K + t * dp + j] = st * H[i * dp + j];
        }
      }
      this.dense = tf.tensor2d(M, [d, K]);
    } else {
      this.mode = 'blocks';
      this.signs = tf.tensor2d(S, [B, d]);
    }
  }

  apply(x: T2): T2 {
    const tf = this.tf;
    if (x.shape[1] !== this.d) throw new Error(`SignedHadamard: input has ${x.shape[1]} columns, expected ${this.d}`);
    if (this.mode === 'dense') return tf.matMul(x, this.dense!);
    const N = x.shape[0];
    if (this.mode === 'fold') {
      const folded = fold(tf, tf.mul(x, this.signs!) as T2, this.K);
      return this.hK ? tf.matMul(folded, this.hK) : fwht(tf, folded);
    }
    const B = this.K / this.dp;
    const rep = tf.reshape(tf.mul(tf.reshape(x, [N, 1, this.d]), tf.reshape(this.signs!, [1, B, this.d])), [N * B, this.d]) as T2;
    return tf.reshape(fwht(tf, fold(tf, rep, this.dp)), [N, this.K]) as T2;
  }

  dispose(): void {
    this.dense?.dispose();
    this.signs?.dispose();
    this.hK?.dispose();
  }
}

/**
 * fold_K: column i goes to column i mod K (zero-padded to a multiple of K, then summed). A reshape and a
 * middle-axis sum: on wasm, column slices cost ~15× an elementwise op per element, so none are used.
 */
export function fold(tf: Tf, x: T2, K: number): T2 {
  const [N, d] = x.shape;
  if (d === K) return x;
  if (d < K) return tf.pad(x, [
    [0, 0],
    [0, K - d],
  ]);
  const r = Math.ceil(d / K);
  const padded = r * K === d ? x : tf.pad(x, [
    [0, 0],
    [0, r * K - d],
  ]);
  return tf.sum(tf.reshape(padded, [N, r, K]), 1) as T2;
}

/** scale·(Sylvester–Hadamard) as a tensor [K, K] (K ≤ 128) for dense application. */
function hadamardTensor(tf: Tf, K: number, scale: number): T2 {
  const h = hadamardMatrix(K);
  if (scale !== 1) for (let i = 0; i < h.length; i++) h[i] *= scale;
  return tf.tensor2d(h, [K, K]);
}

/**
 * Several sketches y_j ∈ R^{k_j} (k_j powers of two) of the same input x ∈ R^d, computed together, with
 * E[y_j,c y'_j,c] = ⟨x, x'⟩ for every coordinate c (unnormalised ±1 combinations of all of x).
 * Members of one `group` share their random signs (their errors are correlated, each stays unbiased);
 * different groups are independent — products of sketches must take their factors from different groups.
 * Each member is computed the cheaper way:
 *   dense  one matMul x·M_j (small d, or d ≤ 2k_j: the stacked-block matrix of SignedHadamard)
 *   fold   per group: s_g ⊙ x folded once to F_g = max k_j of the group; per member: fold to k_j, then H.
 */
export class SketchBank {
  readonly d: number;
  readonly ks: number[];
  private readonly dense: Array<SignedHadamard | null>;
  private readonly groupSigns = new Map<number, tfTypes.Tensor1D>();
  private readonly groupWidth = new Map<number, number>();
  private readonly hMats = new Map<string, T2>();
  private readonly groups: number[];
  private readonly scales: number[];

  constructor(
    private readonly tf: Tf,
    d: number,
    members: Array<{ k: number; group: number; scale?: number }>,
    src: SignSource,
  ) {
    this.d = d;
    this.ks = members.map((m) => m.k);
    this.scales = members.map((m) => m.scale ?? 1);
    this.groups = members.map((m) => m.group);
    const groupSize = new Map<number, number>();
    for (const m of members) groupSize.set(m.group, (groupSize.get(m.group) ?? 0) + 1);
    this.dense = members.map((mem) => {
      const K = mem.k;
      if ((K & (K - 1)) !== 0) throw new Error(`SketchBank: member size ${K} is not a power of two`);
      // cost in multiply-adds; an elementwise pass over a row counts as ~30 (wasm, measured)
      const denseCost = d * K;
      const hCost = K <= 128 ? K : hadamardFactors(K).reduce((a, b) => a + b, 0) + 60;
      const foldCost = (60 * d) / (groupSize.get(mem.group) ?? 1) + 30 * K + K * hCost;
      return d <= K || denseCost <= foldCost ? new SignedHadamard(tf, d, K, src, mem.scale ?? 1) : null;
    });
    members.forEach((mem, j) => {
      if (this.dense[j]) return;
      this.groupWidth.set(mem.group, Math.max(this.groupWidth.get(mem.group) ?? 0, mem.k));
      const key = `${mem.k}:${mem.scale ?? 1}`;
      if (mem.k <= 128 && !this.hMats.has(key)) this.hMats.set(key, hadamardTensor(tf, mem.k, mem.scale ?? 1));
    });
    for (const g of this.groupWidth.keys()) this.groupSigns.set(g, tf.tensor1d(src.signs(d)));
  }

  /** The sketches of x [N, d], one tensor [N, k_j] per member. Call inside tf.tidy. */
  apply(x: T2): T2[] {
    const tf = this.tf;
    const folded = new Map<number, T2>();
    for (const [g, F] of this.groupWidth) folded.set(g, fold(tf, tf.mul(x, this.groupSigns.get(g)!) as T2, F));
    return this.ks.map((K, j) => {
      const dn = this.dense[j];
      if (dn) return dn.apply(x);
      const f = fold(tf, folded.get(this.groups[j])!, K);
      const h = this.hMats.get(`${K}:${this.scales[j]}`);
      if (h) return tf.matMul(f, h);
      const y = fwht(tf, f);
      return this.scales[j] === 1 ? y : (tf.mul(y, this.scales[j]) as T2);
    });
  }

  dispose(): void {
    this.dense.forEach((d) => d?.dispose());
    for (const t of this.groupSigns.values()) t.dispose();
    for (const t of this.hMats.values()) t.dispose();
  }
}

/** Subsampled randomised Hadamard transform R^d → R^k with E⟨S x, S x'⟩ = ⟨x, x'⟩ (exact when d ≤ k = 2^j). */
export class Srht {
  readonly d: number;
  readonly k: number;
  private readonly h: SignedHadamard;

  constructor(
    private readonly tf: Tf,
    d: number,
    k: number,
    src: SignSource,
  ) {
    this.d = d;
    this.k = k;
    this.h = new SignedHadamard(tf, d, nextPow2(k), src);
  }

  apply(x: T2): T2 {
    const tf = this.tf;
    const y = this.h.apply(x);
    const head = this.k === this.h.K ? y : tf.slice(y, [0, 0], [y.shape[0], this.k]);
    return tf.mul(head, 1 / Math.sqrt(this.k)) as T2;
  }

  dispose(): void {
    this.h.dispose();
  }
}

/** Degree-2 tensor sketch R^{d1} ⊗ R^{d2} → R^k: E⟨T(x,y), T(x',y')⟩ = ⟨x,x'⟩·⟨y,y'⟩. */
export class TensorSrht {
  readonly d1: number;
  readonly d2: number;
  readonly k: number;
  private readonly a: SignedHadamard;
  private readonly b: SignedHadamard;

  constructor(
    private readonly tf: Tf,
    d1: number,
    d2: number,
    k: number,
    src: SignSource,
  ) {
    this.d1 = d1;
    this.d2 = d2;
    this.k = k;
    const K = nextPow2(k);
    this.a = new SignedHadamard(tf, d1, K, src);
    this.b = new SignedHadamard(tf, d2, K, src);
  }

  apply(x: T2, y: T2): T2 {
    const tf = this.tf;
    const prod = tf.mul(this.a.apply(x), this.b.apply(y)) as T2;
    const head = this.k === this.a.K ? prod : tf.slice(prod, [0, 0], [prod.shape[0], this.k]);
    return tf.mul(head, 1 / Math.sqrt(this.k)) as T2;
  }

  dispose(): void {
    this.a.dispose();
    this.b.dispose();
  }
}
