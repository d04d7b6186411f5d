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
          for (let j = 0; j < K; j++) M[i * K + j] = s[i] * H[r + j];
        }
        this.dense = tf.tensor2d(M, [d, K]);
      } else {
        this.mode = 'fold';
        this.signs = tf.tensor1d(s);
        this.hK = K <= 128 ? tf.tensor2d(hadamardMatrix(K), [K, K]) : null;
      }
      return;
    }
    const dp = this.dp;
    const B = K / dp;
    const S = src.signs(B * d);
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

/** fold_K: column i goes to column i mod K (zero-padded to a multiple of K, then summed). */
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
  // sum of r column blocks; slices + adds are cheaper than a middle-axis reduction on wasm for small r
  if (r <= 4) {
    let acc = tf.slice(padded, [0, 0], [N, K]);
    for (let b = 1; b < r; b++) acc = tf.add(acc, tf.slice(padded, [0, b * K], [N, K]));
    return acc as T2;
  }
  return tf.sum(tf.reshape(padded, [N, r, K]), 1) as T2;
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
