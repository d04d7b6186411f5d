// Sketched ReLU layer: from the features of the layer's input (Σ side ψ, Θ side θ) to features of
//   Σ'(p,q) = ‖ψ_p‖‖ψ_q‖ κ1(c)  and  Θ'(p,q) = ⟨θ_p, θ_q⟩ κ0(c),   c = ⟨u_p, u_q⟩, u = ψ/‖ψ‖
// (cntk.md, relu; κ0, κ1 in arccos-poly.ts), following Zandieh et al. (NeurIPS 2021): κ0 and κ1 are replaced by
// polynomials with non-negative coefficients a_l, whose feature maps ⊕_l √a_l u^{⊗l} are compressed with
// TensorSRHT (tensorsrht.ts).
//
// Layout of this implementation (all blocks unbiased given the input features):
// - One chain of tensor powers shared by κ0 and κ1: z_1 = u, z_l = TensorSRHT_l(z_{l−1}, u) with
//   E⟨z_l(p), z_l(q)⟩ = c^l (independent signs at every level). The chain stops at the highest degree with a
//   non-zero coefficient.
// - Σ features = ‖ψ‖ · [√a0·ε/√k0 (constant block, spread over k0 coordinates with fixed random signs ε),
//   √a1·SRHT(u), √a_l·(first k_l coordinates of z_l, rescaled), ...].
// - Θ features = [√b0·SRHT(θ), √b_l·TensorSRHT(θ, z_l), ...] (b = κ0 coefficients), zero where ‖ψ‖ = 0.
// - The output budget (mΣ, mΘ coordinates) is split over the degrees in proportion to the coefficients:
//   the variance of block l is ∝ a_l²/k_l, and Σ a_l²/k_l under Σ k_l = m is smallest for k_l ∝ a_l. Chain
//   dimensions follow the largest block that needs them, so the high degrees (tiny a_l) are cheap.
// - Every block is "spread" (each coordinate a random-sign mixture): the next layer's sign-convolution
//   (features.ts) relies on no coordinate carrying a large share of the norm.

import type * as tfTypes from '@tensorflow/tfjs-core';
import { fitArcCos } from './arccos-poly.ts';
import { nextPow2, type SignSource } from './random.ts';
import { Srht, TensorSrht } from './tensorsrht.ts';

type Tf = typeof tfTypes;
type T2 = tfTypes.Tensor2D;

export interface ReluSketchOptions {
  /** Dimension of the Σ-side input features ψ. */
  inDim: number;
  /** Dimension of the Θ-side input features (0 when Θ = 0 at this layer). */
  thetaDim: number;
  /** Output dimension of the Σ features. */
  sigmaOut: number;
  /** Output dimension of the Θ features (ignored when thetaDim = 0). */
  thetaOut: number;
  /** Polynomial degree of the κ0 / κ1 fits. */
  degree: number;
}

/**
 * Integer split of `budget` over weights (∝ weight, each ≤ its cap, ≥ 1 where weight > 0 when the budget
 * allows), by water-filling and largest remainders. Returns sizes with Σ = min(budget, Σ caps).
 */
export function allocate(budget: number, weights: number[], caps: number[]): number[] {
  const n = weights.length;
  const out = new Array<number>(n).fill(0);
  const active = weights.map((w, i) => w > 0 && caps[i] > 0);
  let left = budget;
  // minimum one coordinate per active block, most important first
  const order = weights.map((w, i) => i).filter((i) => active[i]).sort((a, b) => weights[b] - weights[a]);
  for (const i of order) {
    if (left <= 0) break;
    out[i] = 1;
    left--;
  }
  for (let guard = 0; guard < 64 && left > 0; guard++) {
    const free = order.filter((i) => out[i] < caps[i] && out[i] > 0);
    if (free.length === 0) break;
    const wsum = free.reduce((s, i) => s + weights[i], 0);
    const want = free.map((i) => (left * weights[i]) / wsum);
    let used = 0;
    free.forEach((i, j) => {
      const add = Math.min(Math.floor(want[j]), caps[i] - out[i]);
      out[i] += add;
      used += add;
    });
    left -= used;
    if (used === 0) {
      // distribute the remainder one by one by largest fractional share
      const rem = free.map((i, j) => ({ i, f: want[j] - Math.floor(want[j]) })).sort((a, b) => b.f - a.f);
      for (const { i } of rem) {
        if (left <= 0) break;
        if (out[i] < caps[i]) {
          out[i]++;
          left--;
        }
      }
      if (rem.every(({ i }) => out[i] >= caps[i])) break;
    }
  }
  return out;
}

export interface ReluSketchLayout {
  /** κ1 coefficients (Σ side) and κ0 coefficients (Θ side). */
  a1: Float64Array;
  a0: Float64Array;
  /** Σ block sizes per degree (index = degree; 0 = constant block). */
  sigmaBlocks: number[];
  /** Θ block sizes per degree. */
  thetaBlocks: number[];
  /** Dimension of z_l for l ≥ 2 (chain), 0 where unused. */
  chain: number[];
}

/** The sketch of one ReLU layer; random signs drawn at construction. Call dispose() when done. */
export class ReluSketch {
  readonly layout: ReluSketchLayout;
  readonly sigmaDim: number;
  readonly thetaDim: number;
  private readonly constBlock: T2 | null;
  private readonly sigmaLin: Srht | null;
  private readonly chain: Array<TensorSrht | null>;
  private readonly thetaLin: Srht | null;
  private readonly thetaProd: Array<TensorSrht | null>;
  private readonly opts: ReluSketchOptions;

  constructor(
    private readonly tf: Tf,
    opts: ReluSketchOptions,
    src: SignSource,
  ) {
    this.opts = opts;
    const q = opts.degree;
    const a1 = fitArcCos('k1', q).coef;
    const a0 = fitArcCos('k0', q).coef;
    const d = opts.inDim;
    const dT = opts.thetaDim;
    // No caps at the exact dimension of a tensor power: even an exactly representable block (u of a
    // 28-dimensional first layer) must be spread over a share of the m coordinates proportional to its
    // weight, or the next layer's sign convolution sees a few heavy coordinates whose cross terms do not
    // average out (a variance floor independent of m). The stacked SRHT stays exact when d ≤ k.
    const none = () => Number.MAX_SAFE_INTEGER;
    const sigmaBlocks = allocate(opts.sigmaOut, Array.from(a1), Array.from(a1, none));
    const thetaBlocks = dT > 0 ? allocate(opts.thetaOut, Array.from(a0), Array.from(a0, none)) : Array.from(a0, () => 0);
    // chain dims: z_l must be at least as wide as the blocks that read it and as the next level
    const L = Math.max(...sigmaBlocks.map((k, l) => (k > 0 ? l : 0)), ...thetaBlocks.map((k, l) => (k > 0 ? l : 0)));
    const chain = new Array<number>(q + 1).fill(0);
    for (let l = L; l >= 2; l--) chain[l] = Math.max(8, nextPow2(Math.max(sigmaBlocks[l], thetaBlocks[l], l < L ? chain[l + 1] : 0)));
    this.layout = { a1, a0, sigmaBlocks, thetaBlocks, chain };
    this.sigmaDim = sigmaBlocks.reduce((a, b) => a + b, 0);
    this.thetaDim = thetaBlocks.reduce((a, b) => a + b, 0);

    const tfx = tf;
    // constant block √a0·ε/√k0 (one row, multiplied by the norm per pixel)
    const k0 = sigmaBlocks[0];
    if (k0 > 0) {
      const eps = src.signs(k0);
      const v = Math.sqrt(a1[0] / k0);
      this.constBlock = tfx.tensor2d(eps.map((e) => e * v), [1, k0]);
    } else this.constBlock = null;
    this.sigmaLin = sigmaBlocks[1] > 0 ? new Srht(tf, d, sigmaBlocks[1], src) : null;
    this.chain = chain.map((m, l) => (l >= 2 && m > 0 ? new TensorSrht(tf, l === 2 ? d : chain[l - 1], d, m, src) : null));
    this.thetaLin = dT > 0 && thetaBlocks[0] > 0 ? new Srht(tf, dT, thetaBlocks[0], src) : null;
    this.thetaProd = thetaBlocks.map((k, l) => (dT > 0 && l >= 1 && k > 0 ? new TensorSrht(tf, dT, l === 1 ? d : chain[l], k, src) : null));
  }

  /**
   * psi: [N, inDim] Σ-side input, theta: [N, thetaDim] Θ-side input (null when Θ = 0).
   * Returns Σ' features [N, sigmaDim] and Θ' features [N, thetaDim] (null when theta is null).
   * Call inside tf.tidy.
   */
  apply(psi: T2, theta: T2 | null): { sigma: T2; theta: T2 | null } {
    const tf = this.tf;
    const N = psi.shape[0];
    const { a1, a0, sigmaBlocks, thetaBlocks, chain } = this.layout;
    const sq = tf.sum(tf.square(psi), 1, true);
    const norm = tf.sqrt(sq);
    const positive = tf.greater(norm, 0);
    // u = ψ/‖ψ‖, and 0 where ψ = 0 (cntk.md: Σ' = 0 and Σ̇ = 0 where n = 0)
    const inv = tf.where(positive, tf.div(1, tf.maximum(norm, 1e-30)), tf.zerosLike(norm));
    const u = tf.mul(psi, inv) as T2;

    const z: Array<T2 | null> = new Array(chain.length).fill(null);
    z[1] = u;
    for (let l = 2; l < chain.length; l++) {
      const T = this.chain[l];
      if (!T) break;
      z[l] = T.apply(z[l - 1]!, u);
    }

    const sig: T2[] = [];
    if (this.constBlock) sig.push(tf.tile(this.constBlock, [N, 1]) as T2);
    if (this.sigmaLin) sig.push(tf.mul(this.sigmaLin.apply(u), Math.sqrt(a1[1])) as T2);
    for (let l = 2; l < sigmaBlocks.length; l++) {
      const k = sigmaBlocks[l];
      if (k === 0) continue;
      const zl = z[l]!;
      const head = k === zl.shape[1] ? zl : tf.slice(zl, [0, 0], [N, k]);
      sig.push(tf.mul(head, Math.sqrt((a1[l] * zl.shape[1]) / k)) as T2);
    }
    const sigma = tf.mul(sig.length === 1 ? sig[0] : tf.concat(sig, 1), norm) as T2;

    if (!theta) return { sigma, theta: null };
    const th: T2[] = [];
    if (this.thetaLin) th.push(tf.mul(this.thetaLin.apply(theta), Math.sqrt(a0[0])) as T2);
    for (let l = 1; l < thetaBlocks.length; l++) {
      const T = this.thetaProd[l];
      if (!T) continue;
      th.push(tf.mul(T.apply(theta, z[l]!), Math.sqrt(a0[l])) as T2);
    }
    const thetaOut = tf.mul(th.length === 1 ? th[0] : tf.concat(th, 1), tf.cast(positive, 'float32')) as T2;
    return { sigma, theta: thetaOut };
  }

  dispose(): void {
    this.constBlock?.dispose();
    this.sigmaLin?.dispose();
    this.thetaLin?.dispose();
    for (const t of this.chain) t?.dispose();
    for (const t of this.thetaProd) t?.dispose();
  }
}
