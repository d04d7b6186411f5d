// The empirical neural tangent kernel of the finite CNN on a subsample of output pixels, and kernel
// alignment measures (training diagnostics: when does the finite network leave the kernel regime?).
//
//   Θ̂(p, q) = Σ_θ ∂f(p)/∂θ · ∂f(q)/∂θ     (θ = the stored parameters of the chosen parameterization)
//
// One backward pass per pixel, batched. Each runs on a crop of the input that holds the pixel's whole
// receptive field: the network is local (conv, relu, 2×2 pool, ×2 upsampling), so the output at p depends on
// the input only within a radius R (receptiveRadius), and a crop aligned to the architecture's pooling grid
// that contains [p − R, p + R] (or reaches the grid's edge, where zero padding is the same) gives f(p) and
// its gradient exactly. On a 128×128 grid with the default architecture the crop is 36×36: ~12× cheaper.
//
// Alignment (Cristianini et al. 2002): A(K₁, K₂) = ⟨K₁, K₂⟩_F / (‖K₁‖_F ‖K₂‖_F) ∈ [−1, 1];
// kernel-target alignment: A(K, yyᵀ) = yᵀKy / (‖K‖_F ‖y‖²).

import * as tf from '@tensorflow/tfjs-core';
import { archGridMultiple, type Layer } from '../kernels/arch.ts';
import type { FiniteCnn } from './network.ts';

/**
 * A radius R (input pixels) such that output pixel p depends only on input pixels within [p − R, p + R] along
 * each axis, for crops aligned to the pooling grid. Walks the layers backwards: convK adds (K−1)/2, a `down`
 * maps a coarse radius r to 2r + 1 fine pixels, an `up` maps a fine radius r to ⌈r/2⌉ coarse pixels.
 */
export function receptiveRadius(layers: Layer[]): number {
  let r = 0;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.kind === 'conv') r += (l.size - 1) / 2;
    else if (l.kind === 'down') r = 2 * r + 1;
    else if (l.kind === 'up') r = Math.ceil(r / 2);
  }
  return r;
}

/**
 * Side of the crop (rows or columns) that holds the receptive field of any pixel along an axis of length n:
 * the widest window aligned to `multiple` around [v − R, v + R] over the positions v mod multiple (n if larger).
 */
export function cropSize(n: number, radius: number, multiple: number): number {
  let size = 0;
  for (let v = 0; v < multiple; v++) {
    const lo = Math.floor((v - radius) / multiple) * multiple;
    const hi = Math.ceil((v + radius + 1) / multiple) * multiple;
    size = Math.max(size, hi - lo);
  }
  return Math.min(n, size);
}

/**
 * Start of the crop of side `size` for position v: aligned to `multiple`, holding [v − R, v + R] ∩ [0, n), and
 * shifted inside the grid at its edges (an edge of the crop is then the grid's edge, where the zero padding
 * is the same as on the full grid; the other edge only moves away from v).
 */
export function cropStart(v: number, n: number, size: number, radius: number, multiple: number): number {
  if (size >= n) return 0;
  const lo = Math.floor((v - radius) / multiple) * multiple;
  return Math.min(Math.max(lo, 0), n - size);
}

export interface EmpiricalNtkOptions {
  /** Use receptive-field crops (default true; false = whole grid, for tests). */
  crop?: boolean;
  /** Largest number of gradient floats kept (m × parameters); pixels beyond it are dropped. Default 5e7. */
  maxFloats?: number;
  /** Largest activation batch, floats (batch × crop² × width). Default 2²².  */
  maxBatchFloats?: number;
}

export interface EmpiricalNtk {
  /** The pixels used (a prefix of those asked for when memory capped them). */
  pixels: Int32Array;
  /** m × m row-major, float64. */
  kernel: Float64Array;
  seconds: number;
}

/**
 * Per-pixel parameter gradients of the network's output, one row per pixel ([m, parameters]). All crops have
 * the same size, so pixels are processed in batches: one forward pass over a batch of crops, one backward
 * pass with a one-hot output gradient per crop, per-sample filter gradients (network.backward perSample).
 */
export async function pixelGradients(net: FiniteCnn, input: tf.Tensor4D, pixels: Int32Array, opts: EmpiricalNtkOptions = {}): Promise<{ grads: tf.Tensor2D; pixels: Int32Array }> {
  const [, H, W, C] = input.shape;
  const maxRows = Math.max(1, Math.floor((opts.maxFloats ?? 5e7) / net.numParams));
  const use = pixels.length > maxRows ? pixels.slice(0, maxRows) : pixels;
  const radius = receptiveRadius(net.layers);
  const multiple = archGridMultiple(net.layers);
  const ch = opts.crop === false ? H : cropSize(H, radius, multiple);
  const cw = opts.crop === false ? W : cropSize(W, radius, multiple);
  const batch = Math.max(1, Math.floor((opts.maxBatchFloats ?? 2 ** 22) / (ch * cw * Math.max(net.options.width, C))));
  const weights = tf.tidy(() => net.weights());
  const parts: tf.Tensor2D[] = [];
  try {
    for (let s = 0; s < use.length; s += batch) {
      const chunk = use.subarray(s, Math.min(use.length, s + batch));
      const B = chunk.length;
      parts.push(
        tf.tidy(() => {
          const onehot = new Float32Array(B * ch * cw);
          const crops: tf.Tensor4D[] = [];
          for (let b = 0; b < B; b++) {
            const row = Math.floor(chunk[b] / W);
            const col = chunk[b] % W;
            const r0 = cropStart(row, H, ch, radius, multiple);
            const c0 = cropStart(col, W, cw, radius, multiple);
            crops.push(ch === H && cw === W ? input : tf.slice(input, [0, r0, c0, 0], [1, ch, cw, C]));
            onehot[b * ch * cw + (row - r0) * cw + (col - c0)] = 1;
          }
          const x = B === 1 ? crops[0] : (tf.concat(crops, 0) as tf.Tensor4D);
          const { cache } = net.forward(x, weights);
          const grads = net.backward(cache, tf.tensor4d(onehot, [B, ch, cw, 1]), { perSample: true });
          return tf.concat(grads.map((g) => tf.reshape(g, [B, -1])), 1) as tf.Tensor2D;
        }),
      );
      await new Promise((r) => setImmediate(r));
    }
    const grads = parts.length === 1 ? tf.clone(parts[0]) : (tf.concat(parts, 0) as tf.Tensor2D);
    return { grads, pixels: use };
  } finally {
    parts.forEach((r) => r.dispose());
    tf.dispose(weights as unknown as tf.Tensor[]);
  }
}

/** Θ̂ on the given output pixels (m × m, float64). */
export async function empiricalNtk(net: FiniteCnn, input: tf.Tensor4D, pixels: Int32Array, opts: EmpiricalNtkOptions = {}): Promise<EmpiricalNtk> {
  const t0 = performance.now();
  const { grads, pixels: used } = await pixelGradients(net, input, pixels, opts);
  try {
    const gram = tf.tidy(() => tf.matMul(grads, grads, false, true));
    const data = await gram.data();
    gram.dispose();
    const m = used.length;
    const kernel = new Float64Array(m * m);
    // symmetrise (float32 products of the same rows in two orders can differ in the last bit)
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) kernel[i * m + j] = 0.5 * (data[i * m + j] + data[j * m + i]);
    return { pixels: used, kernel, seconds: (performance.now() - t0) / 1000 };
  } finally {
    grads.dispose();
  }
}

/** ⟨A, B⟩_F / (‖A‖_F ‖B‖_F) for two m × m matrices (NaN when either is zero). */
export function kernelAlignment(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`kernel alignment: sizes differ (${a.length} vs ${b.length})`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

/** Kernel-target alignment yᵀKy / (‖K‖_F ‖y‖²) of an m × m kernel and targets y (length m). */
export function targetAlignment(k: ArrayLike<number>, y: ArrayLike<number>): number {
  const m = y.length;
  if (k.length !== m * m) throw new Error(`target alignment: kernel has ${k.length} entries for ${m} targets`);
  let yky = 0;
  let kk = 0;
  let yy = 0;
  for (let i = 0; i < m; i++) {
    yy += y[i] * y[i];
    let s = 0;
    for (let j = 0; j < m; j++) {
      s += k[i * m + j] * y[j];
      kk += k[i * m + j] ** 2;
    }
    yky += y[i] * s;
  }
  return kk > 0 && yy > 0 ? yky / (Math.sqrt(kk) * yy) : NaN;
}

/** The sub-matrix K[idx, idx] of an m × m matrix. */
export function subKernel(k: ArrayLike<number>, m: number, idx: ArrayLike<number>): Float64Array {
  const s = idx.length;
  const out = new Float64Array(s * s);
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) out[i * s + j] = k[idx[i] * m + idx[j]];
  return out;
}
