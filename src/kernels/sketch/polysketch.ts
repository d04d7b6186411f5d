// Sketched ReLU layer: from the features of the layer's input (Σ side ψ, Θ side θ) to features of
//   Σ'(p,q) = ‖ψ_p‖‖ψ_q‖ κ1(c)  and  Θ'(p,q) = ⟨θ_p, θ_q⟩ κ0(c),   c = ⟨u_p, u_q⟩, u = ψ/‖ψ‖
// (cntk.md, relu; κ0, κ1 in arccos-poly.ts), following Zandieh et al. (NeurIPS 2021): κ0 and κ1 are replaced by
// polynomials with non-negative coefficients a_l, whose feature maps ⊕_l √a_l u^{⊗l} are compressed with
// TensorSRHT-type products of randomised Hadamard sketches (tensorsrht.ts).
//
// Layout (every block is unbiased given the input features):
// - One chain of tensor powers shared by κ0 and κ1: z_2 = A₂u ⊙ B₂u, z_l = A_l z_{l−1} ⊙ B_l u (A, B
//   sketches with E[(Ax)_c (Ax')_c] = ⟨x,x'⟩, independent signs at every level, A scaled by 1/√K_l), so
//   E⟨z_l(p), z_l(q)⟩ = c^l. The chain stops at the highest degree with a non-zero coefficient.
// - Σ features = ‖ψ‖·[√a₀ ε/√k₀ (constant block, spread over k₀ coordinates with fixed random signs ε),
//   √a₁ S u/√k₁ (SRHT), √a_l·CountSketch(z_l) for l ≥ 2].
// - Θ features = [√b₀ S'θ (SRHT), √b_l (A'θ ⊙ B' z_l) for l ≥ 1] (b = κ0 coefficients); zero where ψ = 0.
// - The output budget m is split over the degrees ∝ the coefficients: block l has variance ∝ a_l²/k_l and
//   Σ a_l²/k_l under Σ k_l = m is smallest for k_l ∝ a_l. Block sizes are powers of two (rounded), so no
//   tensor is ever sliced (slices cost ~15× an elementwise op per element on wasm); the Σ constant block takes
//   the remainder, and the Θ block 0 is made of power-of-two pieces. Chain dimensions follow the largest
//   block that reads them, so the high degrees (tiny a_l) are cheap.
// - Every block is spread (each coordinate a random-sign mixture): the next layer's sign convolution
//   (features.ts) needs no coordinate to carry a large share of the norm.
//
// The derivative term κ0 has a square-root kink at c = 1 (κ0(c) ≈ 1/2 − √(2(1−c))/(2π)), so its polynomial
// fits converge slowly (Θ bias of the default network on a 16×16 grid: 9 % at degree 4, 4.6 % at degree 8,
// 2.9 % at 16; docs/cntk-sketch.md), and high degrees are expensive to sketch: the relative variance of a
// degree-l chain grows like (1 + 8/K)^(l−1). `derivative: 'rf'` (the default) therefore uses the exact
// identity κ0(c) = 1/4 + (1/4)·E[sign(g·u) sign(g·v)] (g standard Gaussian; arc-cosine random features of
// order 0, Cho & Saul 2009, as in the random-features variant of Zandieh et al.): Θ' = [√(1/4)·SRHT(θ),
// TensorSRHT(θ, sign(Gψ)/(2√k))] — unbiased for the exact κ0, with bounded (±1) features. 'poly' keeps the
// polynomial for κ0 too.

import type * as tfTypes from '@tensorflow/tfjs-core';
import { fitArcCos } from './arccos-poly.ts';
import { nextPow2, type SignSource } from './random.ts';
import { fold, SketchBank } from './tensorsrht.ts';

type Tf = typeof tfTypes;
type T2 = tfTypes.Tensor2D;

export interface ReluSketchOptions {
  /** Dimension of the Σ-side input features ψ. */
  inDim: number;
  /** Dimension of the Θ-side input features (0 when Θ = 0 at this layer). */
  thetaDim: number;
  /** Output dimension m of the Σ and Θ features. */
  features: number;
  /** Polynomial degree of the κ1 fit (and of κ0 with derivative 'poly'). */
  degree: number;
  /** κ0: 'rf' (exact constant + sign random features, default) or 'poly' (polynomial like κ1). */
  derivative?: 'rf' | 'poly';
}

/** Nearest power of two in log scale (0 for x < 0.5). */
function pow2Near(x: number): number {
  if (x < 0.5) return 0;
  if (x < 1) return 1;
  return 2 ** Math.round(Math.log2(x));
}

/** Power-of-two block sizes ∝ weights for indices ≥ 1, fitting in budget − 1 (index 0 gets the rest). */
export function allocateBlocks(budget: number, weights: ArrayLike<number>): number[] {
  const n = weights.length;
  let total = 0;
  for (let l = 0; l < n; l++) total += weights[l];
  const k = new Array<number>(n).fill(0);
  for (let l = 1; l < n; l++) if (weights[l] > 0) k[l] = Math.max(1, pow2Near((budget * weights[l]) / total));
  const sum = () => k.reduce((a, b, l) => a + (l >= 1 ? b : 0), 0);
  while (sum() > budget - 1) {
    let j = 1;
    for (let l = 1; l < n; l++) if (k[l] > k[j]) j = l;
    if (k[j] <= 1) break;
    k[j] /= 2;
  }
  k[0] = Math.max(0, budget - sum());
  return k;
}

/** Binary decomposition of n into powers of two, largest first. */
function pow2Pieces(n: number): number[] {
  const out: number[] = [];
  for (let b = 2 ** Math.floor(Math.log2(Math.max(1, n))); b >= 1; b /= 2) if (n >= b) {
    out.push(b);
    n -= b;
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
  /** Dimension K_l of z_l (chain, l ≥ 2), 0 where unused. */
  chain: number[];
  /** 'rf': Θ blocks are [constant, sign random features] instead of per degree. */
  derivative: 'rf' | 'poly';
}

/** The sketch of one ReLU layer; random signs drawn at construction. Call dispose() when done. */
export class ReluSketch {
  readonly layout: ReluSketchLayout;
  readonly sigmaDim: number;
  readonly thetaDim: number;
  private readonly constRow: T2 | null;
  /** Sketches of u: Σ block 1, Θ block 1 (u side), z_2 (A side), z_l (B side) for l = 2..L. */
  private readonly uBank: SketchBank;
  private readonly uIdx: { sig1: number; th1: number; z2a: number; zb: number[] };
  /** Sketches of z_l (l = 2..L−1 for the next level, and the z side of Θ block l). */
  private readonly zBanks: Array<{ bank: SketchBank; next: number; th: number } | null>;
  /** CountSketch signs of z_l for the Σ blocks l ≥ 2 (null when the block takes z_l whole). */
  private readonly zSigns: Array<tfTypes.Tensor1D | null>;
  private readonly thetaBank: SketchBank | null;
  private readonly thIdx: { pieces: number[]; blocks: number[]; rf: number };
  private readonly L: number;
  /** 'rf': Gaussian projection [d, kRf] of the sign features. */
  private readonly gauss: T2 | null = null;

  constructor(
    private readonly tf: Tf,
    opts: ReluSketchOptions,
    src: SignSource,
  ) {
    const q = opts.degree;
    const m = opts.features;
    const a1 = fitArcCos('k1', q).coef;
    const a0 = fitArcCos('k0', q).coef;
    const d = opts.inDim;
    const dT = opts.thetaDim;
    const derivative = opts.derivative ?? 'rf';
    const sigmaBlocks = allocateBlocks(m, a1);
    // rf: Θ = [constant block (weight 1/4), sign-feature product block (weight 1/4)]
    const thetaBlocks = dT <= 0 ? Array.from(a0, () => 0) : derivative === 'rf' ? [m / 2, m / 2] : allocateBlocks(m, a0);
    const polyTheta = derivative === 'poly' ? thetaBlocks : [];
    const L = Math.max(1, ...sigmaBlocks.map((k, l) => (k > 0 ? l : 0)), ...polyTheta.map((k, l) => (k > 0 ? l : 0)));
    // chain width: at least m/4 — each level multiplies the relative variance of ⟨z_l, z_l'⟩ by ~(1 + 8/K)
    const chain = new Array<number>(q + 1).fill(0);
    const floor = Math.max(8, nextPow2(Math.ceil(m / 4)));
    for (let l = L; l >= 2; l--) chain[l] = Math.max(floor, nextPow2(Math.max(sigmaBlocks[l], polyTheta[l] ?? 0, l < L ? chain[l + 1] : 0)));
    this.layout = { a1, a0, sigmaBlocks, thetaBlocks, chain, derivative };
    this.L = L;
    this.sigmaDim = sigmaBlocks.reduce((a, b) => a + b, 0);
    this.thetaDim = thetaBlocks.reduce((a, b) => a + b, 0);

    const k0 = sigmaBlocks[0];
    this.constRow = k0 > 0 ? tf.tensor2d(src.signs(k0).map((e) => e * Math.sqrt(a1[0] / k0)), [1, k0]) : null;

    const members: Array<{ k: number; group: number; scale?: number }> = [];
    // every u-side sketch independent: blocks sharing signs have correlated errors that add up in the sum
    const add = (k: number, scale = 1) => (k > 0 ? members.push({ k, group: members.length, scale }) - 1 : -1);
    const sig1 = add(sigmaBlocks[1], Math.sqrt(a1[1] / Math.max(1, sigmaBlocks[1])));
    const th1 = derivative === 'poly' ? add(thetaBlocks[1]) : -1;
    const z2a = L >= 2 ? add(chain[2], 1 / Math.sqrt(chain[2])) : -1;
    const zb: number[] = [];
    for (let l = 2; l <= L; l++) zb[l] = add(chain[l]);
    this.uBank = new SketchBank(tf, d, members, src);
    this.uIdx = { sig1, th1, z2a, zb };

    this.zBanks = chain.map((K, l) => {
      if (l < 2 || K === 0) return null;
      const zm: Array<{ k: number; group: number; scale?: number }> = [];
      const next = l < L ? zm.push({ k: chain[l + 1], group: 0, scale: 1 / Math.sqrt(chain[l + 1]) }) - 1 : -1;
      const th = (polyTheta[l] ?? 0) > 0 ? zm.push({ k: polyTheta[l], group: 0 }) - 1 : -1;
      return zm.length > 0 ? { bank: new SketchBank(tf, K, zm, src), next, th } : null;
    });
    this.zSigns = chain.map((K, l) => (l >= 2 && sigmaBlocks[l] > 0 && sigmaBlocks[l] < K ? tf.tensor1d(src.signs(K)) : null));

    if (dT > 0) {
      const tm: Array<{ k: number; group: number; scale?: number }> = [];
      const c0 = derivative === 'rf' ? 0.25 : a0[0];
      const pieces = thetaBlocks[0] > 0 ? pow2Pieces(thetaBlocks[0]).map((k) => tm.push({ k, group: 0, scale: Math.sqrt(c0 / thetaBlocks[0]) }) - 1) : [];
      const blocks: number[] = [];
      let rf = -1;
      if (derivative === 'poly') {
        for (let l = 1; l < thetaBlocks.length; l++) blocks[l] = thetaBlocks[l] > 0 ? tm.push({ k: thetaBlocks[l], group: 0, scale: Math.sqrt(a0[l] / thetaBlocks[l]) }) - 1 : -1;
      } else {
        // E[sign(g·u) sign(g·v)] = (2/π) arcsin c for a Gaussian row g, so each coordinate c of
        // (Aθ)_c·sign(g_c·ψ)/(2√k) contributes (1/4k)·⟨θ,θ'⟩·(2/π) arcsin c in expectation: the block is unbiased for
        // Θ·(κ0 − 1/4) with independent rows g_c, and needs no mixing of the ±1 features.
        const kRf = thetaBlocks[1];
        rf = tm.push({ k: kRf, group: 1, scale: 1 / (2 * Math.sqrt(kRf)) }) - 1; // own signs: independent of block 0
        const G = new Float32Array(d * kRf);
        gaussianFill(G, src);
        this.gauss = tf.tensor2d(G, [d, kRf]);
      }
      this.thetaBank = new SketchBank(tf, dT, tm, src);
      this.thIdx = { pieces, blocks, rf };
    } else {
      this.thetaBank = null;
      this.thIdx = { pieces: [], blocks: [], rf: -1 };
    }
  }

  /**
   * psi: [N, inDim] Σ-side input, theta: [N, thetaDim] Θ-side input (null when Θ = 0).
   * Returns the blocks of the Σ' features (concatenated: [N, sigmaDim]) and of the Θ' features ([N, thetaDim];
   * empty when theta is null). Kept apart so that a caller can pool before concatenating. Call inside tf.tidy.
   */
  apply(psi: T2, theta: T2 | null): { sigma: T2[]; theta: T2[] } {
    const tf = this.tf;
    const { a1, sigmaBlocks } = this.layout;
    const norm = tf.sqrt(tf.sum(tf.square(psi), 1, true)) as T2;
    // u = ψ/‖ψ‖ (0 where ψ = 0: cntk.md sets Σ' = Σ̇ = 0 there)
    const u = tf.mul(psi, tf.div(1, tf.maximum(norm, 1e-30))) as T2;
    const U = this.uBank.apply(u);
    const { sig1, th1, z2a, zb } = this.uIdx;

    const z: T2[] = [];
    const zs: Array<T2[]> = [];
    for (let l = 2; l <= this.L; l++) {
      const a = l === 2 ? U[z2a] : zs[l - 1][this.zBanks[l - 1]!.next];
      z[l] = tf.mul(a, U[zb[l]]) as T2;
      const zb2 = this.zBanks[l];
      zs[l] = zb2 ? zb2.bank.apply(z[l]) : [];
    }

    const sigma: T2[] = [];
    if (this.constRow) sigma.push(tf.mul(norm, this.constRow) as T2);
    if (sig1 >= 0) sigma.push(tf.mul(U[sig1], norm) as T2);
    for (let l = 2; l < sigmaBlocks.length; l++) {
      const k = sigmaBlocks[l];
      if (k === 0) continue;
      const s = this.zSigns[l];
      const block = s ? fold(tf, tf.mul(z[l], s) as T2, k) : z[l];
      sigma.push(tf.mul(block, tf.mul(norm, Math.sqrt(a1[l]))) as T2);
    }
    if (!theta || !this.thetaBank) return { sigma, theta: [] };

    const T = this.thetaBank.apply(theta);
    const out: T2[] = [];
    const mask = tf.cast(tf.greater(norm, 0), 'float32');
    for (const j of this.thIdx.pieces) out.push(tf.mul(T[j], mask) as T2);
    for (let l = 1; l < this.thIdx.blocks.length; l++) {
      const j = this.thIdx.blocks[l];
      if (j === undefined || j < 0) continue;
      const zside = l === 1 ? U[th1] : zs[l][this.zBanks[l]!.th];
      out.push(tf.mul(T[j], zside) as T2);
    }
    if (this.thIdx.rf >= 0 && this.gauss) {
      // sign(0) = 0: the block vanishes where ψ = 0, as Σ̇ must
      out.push(tf.mul(T[this.thIdx.rf], tf.sign(tf.matMul(psi, this.gauss))) as T2);
    }
    return { sigma, theta: out };
  }

  dispose(): void {
    this.constRow?.dispose();
    this.uBank.dispose();
    for (const z of this.zBanks) z?.bank.dispose();
    for (const s of this.zSigns) s?.dispose();
    this.thetaBank?.dispose();
    this.gauss?.dispose();
  }
}

/** Standard normal samples (Box–Muller) from the sign source's uniform stream. */
function gaussianFill(out: Float32Array, src: SignSource): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = Math.max(src.uniform(), 1e-300);
    const v = src.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
}
