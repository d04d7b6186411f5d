// The finite pixel-to-pixel CNN: the same layers as the CNTK (src/kernels/arch.ts) at a finite width.
//
// Layers (cntk.md): convK = K×K stride-1 conv with zero 'same' padding and a bias; relu; down = 2×2 average
// pool; up = nearest ×2. Every conv has `width` output channels except the LAST conv of the architecture,
// which has one (the map). Input: the LIP, C channels.
//
// Parameterizations (same initial function, different training dynamics):
//   ntk       stored w, b ~ N(0, 1); the layer computes σ_w/√(C_in·K²) · (w ⋆ x) + σ_b · b  (neural-tangents'
//             parameterization='ntk'). Its empirical NTK converges to the CNTK Θ of src/kernels as width → ∞.
//   standard  stored w ~ N(0, σ_w²/(C_in·K²)), b ~ N(0, σ_b²); the layer computes w ⋆ x + b.
// Weights are drawn in JavaScript from a stream per (seed, layer) (nn/random.ts), so the initial network
// is the same on every backend.

import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from '../kernels/arch.ts';
import { convFilterGrad, convFilterGradPerSample } from './conv.ts';
import { SeededRandom } from './random.ts';

export type Parameterization = 'ntk' | 'standard';

/** Per conv: the effective filter and bias (scales applied) and the flipped filter of the backward pass. */
export type NetWeights = Array<{ w: tf.Tensor4D; b: tf.Tensor1D; flipped: tf.Tensor4D }>;

/** What backward() needs from forward(): the input of every layer (and the output), the weights used. */
export interface ForwardCache {
  /** acts[i] = input of layer i; acts[layers.length] = output. */
  acts: tf.Tensor4D[];
  eff: NetWeights;
  input: tf.Tensor4D;
}

/**
 * The filter of the input gradient of a stride-1 'same' conv: F[kh, kw, o, i] = w[K−1−kh, K−1−kw, i, o]. The
 * permutation is done in JavaScript: wasm's Reverse, Gather and even Slice kernels are very slow on large
 * filters (filters are small next to the activations, so the copy to and from the backend is cheap).
 */
export function flipFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [K, K2, ci, co] = w.shape;
  const src = w.dataSync();
  const out = new Float32Array(src.length);
  for (let kh = 0; kh < K; kh++) {
    for (let kw = 0; kw < K2; kw++) {
      const sBase = ((K - 1 - kh) * K2 + (K2 - 1 - kw)) * ci * co;
      const dBase = (kh * K2 + kw) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[dBase + o * ci + i] = src[sBase + i * co + o];
    }
  }
  return tf.tensor4d(out, [K, K2, co, ci]);
}

/**
 * Nearest-neighbour ×2 upsampling: out[i, j] = in[⌊i/2⌋, ⌊j/2⌋] (the `up` layer). ResizeNearestNeighbor without
 * corner alignment or half-pixel centres maps output i to input ⌊i·in/out⌋ = ⌊i/2⌋ (tested against the
 * explicit formula).
 */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [, H, W] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [2 * H, 2 * W], false, false);
}

export interface NetworkOptions {
  layers: Layer[];
  /** Input channels (LIP channels). */
  inChannels: number;
  /** Channels of every hidden conv layer. */
  width: number;
  /** Weight variance σ_w². */
  sigmaW2: number;
  /** Bias variance σ_b². */
  sigmaB2: number;
  parameterization: Parameterization;
  seed: number;
}

interface ConvUnit {
  size: number;
  cin: number;
  cout: number;
  w: tf.Variable<tf.Rank.R4>;
  b: tf.Variable<tf.Rank.R1>;
  /** Multiplier of w and b in the forward pass (1 in standard parameterization). */
  wScale: number;
  bScale: number;
}

export class FiniteCnn {
  readonly layers: Layer[];
  readonly options: NetworkOptions;
  private readonly units: ConvUnit[] = [];
  private disposed = false;

  constructor(opts: NetworkOptions) {
    if (!(Number.isInteger(opts.width) && opts.width >= 1)) throw new Error(`network width must be a positive integer (got ${opts.width})`);
    if (!(Number.isInteger(opts.inChannels) && opts.inChannels >= 1)) throw new Error(`network needs at least one input channel (got ${opts.inChannels})`);
    this.layers = opts.layers;
    this.options = opts;
    const convIdx = opts.layers.map((l, i) => (l.kind === 'conv' ? i : -1)).filter((i) => i >= 0);
    if (convIdx.length === 0) throw new Error('the architecture has no conv layer');
    const last = convIdx[convIdx.length - 1];
    let cin = opts.inChannels;
    const sigmaW = Math.sqrt(opts.sigmaW2);
    const sigmaB = Math.sqrt(opts.sigmaB2);
    try {
      opts.layers.forEach((l, i) => {
        if (l.kind !== 'conv') return;
        const cout = i === last ? 1 : opts.width;
        const k = l.size;
        const std = sigmaW / Math.sqrt(cin * k * k);
        const ntk = opts.parameterization === 'ntk';
        const wz = SeededRandom.stream(opts.seed, `conv${i}/w`).normals(k * k * cin * cout, ntk ? 1 : std);
        const bz = SeededRandom.stream(opts.seed, `conv${i}/b`).normals(cout, ntk ? 1 : sigmaB);
        this.units.push({
          size: k,
          cin,
          cout,
          w: tf.tidy(() => tf.variable(tf.tensor4d(wz, [k, k, cin, cout]), true)),
          b: tf.tidy(() => tf.variable(tf.tensor1d(bz), true)),
          wScale: ntk ? std : 1,
          bScale: ntk ? sigmaB : 1,
        });
        cin = cout;
      });
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Trainable variables, in layer order (w, b per conv). */
  variables(): tf.Variable[] {
    return this.units.flatMap((u) => [u.w, u.b]);
  }

  get numParams(): number {
    return this.units.reduce((s, u) => s + u.size * u.size * u.cin * u.cout + u.cout, 0);
  }

  /**
   * The weights as the layers use them: scales applied, plus the flipped filters of the backward pass. Valid
   * until the variables change; create inside tf.tidy (or dispose) like any tensors.
   */
  weights(): NetWeights {
    return this.units.map((u) => {
      const w = (u.wScale === 1 ? u.w : tf.mul(u.w, u.wScale)) as tf.Tensor4D;
      return {
        w,
        b: (u.bScale === 1 ? u.b : tf.mul(u.b, u.bScale)) as tf.Tensor1D,
        // dL/dx of a stride-1 'same' conv = 'same' conv of dL/dy with the flipped filter, channels swapped
        flipped: flipFilter(w),
      };
    });
  }

  /** Output map(s) for input x [B, H, W, C]: [B, H, W, 1]. Uncentered. */
  apply(x: tf.Tensor4D, weights?: NetWeights): tf.Tensor4D {
    return tf.tidy(() => this.run(x, weights ?? this.weights(), null));
  }

  /**
   * Forward pass that keeps what the backward pass needs. The returned tensors belong to the caller: call
   * it inside tf.tidy.
   */
  forward(x: tf.Tensor4D, weights?: NetWeights): { out: tf.Tensor4D; cache: ForwardCache } {
    const eff = weights ?? this.weights();
    const acts: tf.Tensor4D[] = [];
    const out = this.run(x, eff, acts);
    return { out, cache: { acts, eff, input: x } };
  }

  private run(x: tf.Tensor4D, eff: NetWeights, acts: tf.Tensor4D[] | null): tf.Tensor4D {
    let h = x;
    let u = 0;
    for (const l of this.layers) {
      acts?.push(h);
      if (l.kind === 'conv') {
        const e = eff[u++];
        h = tf.add(tf.conv2d(h, e.w, 1, 'same'), e.b);
      } else if (l.kind === 'relu') h = tf.relu(h);
      else if (l.kind === 'down') h = tf.avgPool(h, [2, 2], [2, 2], 'valid');
      else h = upsample2(h);
    }
    acts?.push(h);
    return h;
  }

  /**
   * Gradients of a scalar loss with respect to the STORED parameters (variables(), same order), given
   * dOut = dLoss/dOutput [B, H, W, 1] and the cache of forward(). Hand-written backpropagation (see conv.ts
   * for why): conv → (filter grad, bias sum, 'same' conv with the flipped filter), relu → mask by the sign
   * of its output, down (2×2 mean) → nearest ×2 upsampling ÷ 4, up (nearest ×2) → 2×2 sum. The chain rule
   * through the NTK scales multiplies each gradient by its layer's scale.
   * perSample: one gradient per batch element (leading dimension B) instead of their sum — B different
   * one-hot dOut give B per-pixel gradients in one pass (empirical NTK).
   */
  backward(cache: ForwardCache, dOut: tf.Tensor4D, opts: { perSample?: boolean } = {}): tf.Tensor[] {
    const grads: tf.Tensor[] = new Array(2 * this.units.length);
    let d = dOut;
    let u = this.units.length;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      const input = cache.acts[i];
      const output = cache.acts[i + 1];
      if (l.kind === 'conv') {
        u--;
        const unit = this.units[u];
        const dw = opts.perSample ? convFilterGradPerSample(input, d, unit.size) : convFilterGrad(input, d, unit.size);
        const db = tf.sum(d, opts.perSample ? [1, 2] : [0, 1, 2]);
        grads[2 * u] = unit.wScale === 1 ? dw : tf.mul(dw, unit.wScale);
        grads[2 * u + 1] = unit.bScale === 1 ? db : tf.mul(db, unit.bScale);
        if (u === 0) break; // no parameters further back
        d = tf.conv2d(d, cache.eff[u].flipped, 1, 'same');
      } else if (l.kind === 'relu') d = tf.mul(d, tf.step(output, 0));
      else if (l.kind === 'down') d = tf.mul(upsample2(d), 0.25);
      else d = tf.mul(tf.avgPool(d, [2, 2], [2, 2], 'valid'), 4);
    }
    return grads;
  }

  /** Copy of the current weights (for early stopping: keep the best). */
  snapshot(): tf.Tensor[] {
    return this.variables().map((v) => tf.clone(v));
  }

  /** Restore weights from snapshot() (the snapshot stays owned by the caller). */
  restore(snap: tf.Tensor[]): void {
    const vars = this.variables();
    if (snap.length !== vars.length) throw new Error('snapshot does not match the network');
    vars.forEach((v, i) => v.assign(snap[i]));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const u of this.units) {
      u.w.dispose();
      u.b.dispose();
    }
  }
}

/** The prior channels as a [1, H, W, C] tensor (channels-last). */
export function priorTensor(prior: { height: number; width: number; channels: Float32Array[] }): tf.Tensor4D {
  const { height: H, width: W, channels } = prior;
  const C = channels.length;
  const data = new Float32Array(H * W * C);
  for (let c = 0; c < C; c++) {
    const ch = channels[c];
    for (let p = 0; p < H * W; p++) data[p * C + c] = ch[p];
  }
  return tf.tensor4d(data, [1, H, W, C]);
}
