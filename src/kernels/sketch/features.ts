// Sketched CNTK features: per-pixel vectors φ_ntk(p), φ_nngp(p) with ⟨φ_ntk(p), φ_ntk(q)⟩ ≈ Θ(p,q) and
// ⟨φ_nngp(p), φ_nngp(q)⟩ ≈ Σ(p,q) for the architecture, σ_w², σ_b² and input prior (LIP) of the exact
// kernel (cntk.md, src/kernels/cntk.ts), at a cost linear in the number of pixels. After Zandieh et al.,
// "Scaling Neural Tangent Kernels via Sketching and Random Features" (NeurIPS 2021): the NTK features follow
// φ_ntk^{(h)} = [φ_ntk^{(h−1)} ⊗ φ̇^{(h)}, φ_nngp^{(h)}], each product and polynomial sketched.
//
// Layer by layer (Σ side φ, Θ side θ; stored row chunks or exact virtual maps, feature-map.ts):
//   input   φ(p) = x(p)/√C (C LIP channels), θ = none (Θ_in = 0)
//   conv K  Σ' = σ_w² A[Σ] + σ_b², Θ' = σ_w² A[Θ] + Σ':
//           exact   φ' = [σ_w/K · (φ(p+δ))_δ, σ_b] while K²·dim stays small (the first layer: 9C+1 dims)
//           sketch  φ' = σ_w/K · Σ_δ s_δ ⊙ φ(p+δ) + σ_b·v, independent random sign vectors s_δ per window
//                   offset (a depthwise conv with ±σ_w/K weights) and v a fixed random unit vector:
//                   E⟨φ'(p), φ'(q)⟩ = Σ'(p,q) (cross terms δ ≠ δ' and the bias cross terms have mean zero);
//                   the dimension stays m (a power of two).
//           θ' = [σ_w/K · Σ_δ t_δ ⊙ θ(p+δ), φ'] (independent signs; Σ' features shared)
//   relu    polysketch.ts: κ1 by a non-negative polynomial sketched with TensorSRHT chains, κ0 by its exact
//           constant part plus sign random features (or a polynomial); inputs normalised per pixel
//           (u = φ/‖φ‖) and the Σ side rescaled by ‖φ(p)‖, i.e. Σ(p,p) is tracked through the features.
//   down    2×2 average of the features: exact (Σ'(P,Q) = ⟨mean φ over P, mean φ over Q⟩); fused into
//           the relu before it, so the fine-resolution relu output is never stored whole.
//   up      nearest copy: exact.
// The tail after the last relu/down (convs and ups) is kept exact and virtual (feature-map.ts): the output
// features have dimension K²·(dim θ + dim φ) + 1 per final conv but are only ever gathered at observed cells
// or dotted with weight vectors, never stored per pixel.
//
// Memory: the Σ and Θ maps ([h, w, m] float32, Θ twice as wide after a conv) at the resolution of each
// relu output, plus one chunk of temporaries (chunkPixels·m·~16 floats); nothing is P×P. Work is done in
// row chunks: on wasm, tfjs slices copy element by element and the heap is capped at 4 GB, so maps are
// stored as chunks and processed chunk by chunk. All ops are tfjs, so the CUDA backend runs all of it.

import type * as tfTypes from '@tensorflow/tfjs-core';
import { getTf } from '../../compute/backend.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../../domain/run.ts';
import { UserError } from '../../domain/errors.ts';
import type { Layer } from '../arch.ts';
import { checkKernelInputs } from '../cntk.ts';
import type { Prior } from '../lip.ts';
import { ChunkedMap, ConcatMap, ConstMap, rowRanges, ShiftConcatMap, UpMap, type FeatureMap } from './feature-map.ts';
import { ReluSketch } from './polysketch.ts';
import { SignSource } from './random.ts';

type Tf = typeof tfTypes;
type T2 = tfTypes.Tensor2D;
type T3 = tfTypes.Tensor3D;

export interface SketchOptions {
  /** Architecture spec or parsed layers (same as the exact kernel). */
  arch: string | Layer[];
  sigmaW2: number;
  sigmaB2: number;
  /** Feature dimension m of the Σ and Θ maps inside the network. */
  features: number;
  /** Degree of the polynomial fits of κ0 and κ1. */
  degree: number;
  /** Seed of every random sign. */
  seed: number;
  /** How κ0 is sketched (polysketch.ts): 'rf' (default) or 'poly'. */
  derivative?: 'rf' | 'poly';
  /** Pixels per chunk of work (temporaries ≈ chunkPixels·m·4 bytes·~16). Default 8192. */
  chunkPixels?: number;
}

export interface SketchFeatures {
  /** Θ features of every output pixel (virtual after the last relu). */
  ntk: FeatureMap;
  /** Σ features. */
  nngp: FeatureMap;
  height: number;
  width: number;
  /** tfjs backend that computed them. */
  backend: string;
  seconds: number;
  /** One line per layer: what was done, the dimensions and the time. */
  log: string[];
  dispose(): void;
}

export const SKETCH_LIMITS = { minFeatures: 16, maxFeatures: 16384, minDegree: 1, maxDegree: 32 };

/** Largest K²·dim kept exact (no sketch) at an interior conv. */
function exactConvLimit(m: number): number {
  return Math.min(256, m);
}

/** Index of the first layer of the linear tail (the maximal suffix made of conv and up layers). */
export function tailStart(layers: Layer[]): number {
  let i = layers.length;
  while (i > 0 && (layers[i - 1].kind === 'conv' || layers[i - 1].kind === 'up')) i--;
  return i;
}

interface State {
  sigma: FeatureMap;
  theta: FeatureMap | null;
}

function stateTensors(s: State): Set<tfTypes.Tensor> {
  const out = new Set(s.sigma.tensors());
  if (s.theta) for (const t of s.theta.tensors()) out.add(t);
  return out;
}

/**
 * Sign convolution of a map, chunk by chunk with a (K−1)/2-row halo: ψ(p) = scale·Σ_δ s_δ ⊙ φ(p+δ) (+ bias),
 * random ±1 per (offset, channel), zero padding: E⟨ψ(p), ψ(q)⟩ = scale²·Σ_δ ⟨φ(p+δ), φ(q+δ)⟩ (+ σ_b²).
 * The bias σ_b is added as σ_b·v with v a fixed random unit vector spread over all channels (unbiased: the
 * sign conv has mean zero), which keeps the dimension a power of two instead of adding one channel.
 */
function signConv(tf: Tf, map: FeatureMap, K: number, scale: number, bias: number, src: SignSource, targetPixels: number): ChunkedMap {
  const d = map.dim;
  const k = (K - 1) / 2;
  const s = src.signs(K * K * d);
  for (let i = 0; i < s.length; i++) s[i] *= scale;
  const v = src.signs(d).map((x) => (x * bias) / Math.sqrt(d));
  const filter = tf.tensor4d(s, [K, K, d, 1]);
  const biasRow = bias > 0 ? tf.tensor3d(v, [1, 1, d]) : null;
  const chunks: T3[] = [];
  try {
    for (const [r0, r1] of rowRanges(map, targetPixels, false)) {
      chunks.push(
        tf.tidy(() => {
          const a = Math.max(0, r0 - k);
          const b = Math.min(map.height, r1 + k);
          const parts: T3[] = [];
          if (a < r0) parts.push(map.rows(a, r0));
          parts.push(map.rows(r0, r1));
          if (r1 < b) parts.push(map.rows(r1, b));
          const x = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as T3);
          const pad: [[number, number], [number, number], [number, number], [number, number]] = [
            [0, 0],
            [k - (r0 - a), k - (b - r1)],
            [k, k],
            [0, 0],
          ];
          const y = tf.reshape(tf.depthwiseConv2d(tf.reshape(x, [1, b - a, map.width, d]) as tfTypes.Tensor4D, filter, 1, pad), [r1 - r0, map.width, d]) as T3;
          return biasRow ? (tf.add(y, biasRow) as T3) : y;
        }),
      );
    }
  } catch (e) {
    chunks.forEach((c) => c.dispose());
    throw e;
  } finally {
    filter.dispose();
    biasRow?.dispose();
  }
  return new ChunkedMap(tf, chunks);
}

/** Store a map as chunks (a virtual map is evaluated range by range). */
function store(tf: Tf, map: FeatureMap, targetPixels: number, even: boolean): ChunkedMap {
  const chunks: T3[] = [];
  try {
    for (const [r0, r1] of rowRanges(map, targetPixels, even)) chunks.push(map.rows(r0, r1));
  } catch (e) {
    chunks.forEach((c) => c.dispose());
    throw e;
  }
  return new ChunkedMap(tf, chunks);
}

/**
 * Sketched NTK/NNGP features of every output pixel. UserError on bad inputs (same checks as the exact kernel).
 * The caller owns the result: call dispose().
 */
export async function sketchFeatures(prior: Prior, opts: SketchOptions, ctx: RunContext = {}): Promise<SketchFeatures> {
  const layers = checkKernelInputs(prior, { arch: opts.arch, sigmaW2: opts.sigmaW2, sigmaB2: opts.sigmaB2 });
  const m = opts.features;
  if (!Number.isInteger(m) || m < SKETCH_LIMITS.minFeatures || m > SKETCH_LIMITS.maxFeatures) {
    throw new UserError(`sketch: feature dimension must be an integer from ${SKETCH_LIMITS.minFeatures} to ${SKETCH_LIMITS.maxFeatures} (got ${m})`);
  }
  if (!Number.isInteger(opts.degree) || opts.degree < SKETCH_LIMITS.minDegree || opts.degree > SKETCH_LIMITS.maxDegree) {
    throw new UserError(`sketch: polynomial degree must be an integer from ${SKETCH_LIMITS.minDegree} to ${SKETCH_LIMITS.maxDegree} (got ${opts.degree})`);
  }
  const tf = await getTf();
  const t0 = performance.now();
  const target = Math.max(256, Math.floor(opts.chunkPixels ?? 8192));
  const sw = Math.sqrt(opts.sigmaW2);
  const sb = Math.sqrt(opts.sigmaB2);
  const src = new SignSource(opts.seed);
  const H = prior.height;
  const W = prior.width;
  const C = prior.channels.length;
  const log: string[] = [];
  const split = tailStart(layers);

  // progress: relu pixels dominate the work
  let level = 0;
  let totalWork = 0;
  for (const l of layers) {
    if (l.kind === 'down') level++;
    else if (l.kind === 'up') level--;
    else if (l.kind === 'relu') totalWork += (H * W) / 4 ** level;
  }
  let doneWork = 0;
  let lastYield = performance.now();
  const tick = async (stage: string) => {
    throwIfCancelled(ctx.signal);
    if (performance.now() - lastYield > 50) {
      ctx.onProgress?.({ stage, fraction: totalWork > 0 ? Math.min(1, doneWork / totalWork) : undefined });
      await yieldToLoop();
      lastYield = performance.now();
      throwIfCancelled(ctx.signal);
    }
  };

  // input features x(p)/√C as [H, W, C]
  const input = new Float32Array(H * W * C);
  const inv = 1 / Math.sqrt(C);
  for (let c = 0; c < C; c++) {
    const ch = prior.channels[c];
    for (let p = 0; p < H * W; p++) input[p * C + c] = ch[p] * inv;
  }
  let state: State = { sigma: new ChunkedMap(tf, [tf.tensor3d(input, [H, W, C])]), theta: null };
  log.push(`input ${W}×${H}×${C}`);

  const replace = (next: State) => {
    const keep = stateTensors(next);
    for (const t of stateTensors(state)) if (!keep.has(t)) t.dispose();
    state = next;
  };
  const disposeAll = () => {
    // never let a failing cleanup (e.g. after a wasm out-of-memory abort) hide the error that caused it
    for (const t of stateTensors(state)) {
      try {
        t.dispose();
      } catch {
        /* the backend is already broken; the original error is rethrown */
      }
    }
  };

  try {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const inTail = i >= split;
      const { sigma, theta } = state;
      const tl = performance.now();
      if (layer.kind === 'conv') {
        const K = layer.size;
        const exact = inTail || (sigma.dim * K * K <= exactConvLimit(m) && (!theta || theta.dim * K * K <= exactConvLimit(m)));
        let sigmaNext: FeatureMap;
        let thetaNext: FeatureMap;
        if (exact) {
          // exact concatenation over the window (virtual), bias as one constant channel
          const convS = new ShiftConcatMap(tf, sigma, K, sw / K);
          sigmaNext = sb > 0 ? new ConcatMap(tf, [convS, new ConstMap(tf, convS.height, convS.width, sb)]) : convS;
          thetaNext = theta ? new ConcatMap(tf, [new ShiftConcatMap(tf, theta, K, sw / K), sigmaNext]) : sigmaNext;
        } else {
          sigmaNext = signConv(tf, sigma, K, sw / K, sb, src, target);
          thetaNext = theta ? new ConcatMap(tf, [signConv(tf, theta, K, sw / K, 0, src, target), sigmaNext]) : sigmaNext;
        }
        replace({ sigma: sigmaNext, theta: thetaNext });
        log.push(`conv${K} ${exact ? (inTail ? 'exact (tail, virtual)' : 'exact') : 'sketched (random-sign depthwise)'}: Σ ${sigmaNext.dim}, Θ ${thetaNext.dim} at ${sigmaNext.width}×${sigmaNext.height}`);
      } else if (layer.kind === 'relu') {
        const fuseDown = layers[i + 1]?.kind === 'down';
        const relu = new ReluSketch(tf, { inDim: sigma.dim, thetaDim: theta?.dim ?? 0, features: m, degree: opts.degree, derivative: opts.derivative }, src);
        const sChunks: T3[] = [];
        const tChunks: T3[] = [];
        try {
          const w = sigma.width;
          for (const [r0, r1] of rowRanges(sigma, target, fuseDown)) {
            const rows = r1 - r0;
            const out = tf.tidy((): T3[] => {
              const psi = tf.reshape(sigma.rows(r0, r1), [rows * w, sigma.dim]) as T2;
              const th = theta ? (tf.reshape(theta.rows(r0, r1), [rows * w, theta.dim]) as T2) : null;
              const r = relu.apply(psi, th);
              // pool each block before concatenating (a quarter of the data to copy)
              const shape = (blocks: T2[]) => {
                const b3 = blocks.map((t) => {
                  const x = tf.reshape(t, [rows, w, t.shape[1]]) as T3;
                  return fuseDown ? (tf.avgPool(x, 2, 2, 'valid') as T3) : x;
                });
                return b3.length === 1 ? b3[0] : (tf.concat(b3, 2) as T3);
              };
              return r.theta.length > 0 ? [shape(r.sigma), shape(r.theta)] : [shape(r.sigma)];
            });
            sChunks.push(out[0]);
            if (out[1]) tChunks.push(out[1]);
            doneWork += rows * w;
            await tick('relu');
          }
        } catch (e) {
          sChunks.forEach((t) => t.dispose());
          tChunks.forEach((t) => t.dispose());
          throw e;
        } finally {
          try {
            relu.dispose();
          } catch {
            /* see disposeAll */
          }
        }
        const sNew = new ChunkedMap(tf, sChunks);
        const tNew = tChunks.length > 0 ? new ChunkedMap(tf, tChunks) : null;
        replace({ sigma: sNew, theta: tNew });
        const L = relu.layout;
        log.push(
          `relu${fuseDown ? '+down' : ''} sketched (κ1 degree ${opts.degree}, κ0 ${L.derivative}; Σ blocks ${L.sigmaBlocks.join('/')}, Θ blocks ${L.thetaBlocks.join('/')}, chain ${L.chain.filter((c) => c > 0).join('/') || '-'}): Σ ${sNew.dim}, Θ ${tNew?.dim ?? 0} at ${sNew.width}×${sNew.height}`,
        );
        if (fuseDown) i++;
      } else if (layer.kind === 'down') {
        const pool = (map: FeatureMap): ChunkedMap => {
          const st = store(tf, map, target, true);
          const pooled = st.chunks.map((c) => tf.tidy(() => tf.avgPool(c, 2, 2, 'valid') as T3));
          st.chunks.forEach((c) => c.dispose()); // clones or evaluated ranges: the pooled copies are kept
          return new ChunkedMap(tf, pooled);
        };
        const sNew = pool(sigma);
        replace({ sigma: sNew, theta: theta ? (theta === sigma ? sNew : pool(theta)) : null });
        log.push(`down exact: Σ ${sNew.dim}, Θ ${state.theta?.dim ?? 0} at ${sNew.width}×${sNew.height}`);
      } else {
        // up: virtual; an interior conv after it reads it chunk by chunk (nearest resize per chunk)
        const sUp = new UpMap(tf, sigma);
        replace({ sigma: sUp, theta: theta ? (theta === sigma ? sUp : new UpMap(tf, theta)) : null });
        log.push(`up exact${inTail ? ' (tail, virtual)' : ''} at ${state.sigma.width}×${state.sigma.height}`);
      }
      log[log.length - 1] += ` (${((performance.now() - tl) / 1000).toFixed(2)} s)`;
      await tick('features');
    }
  } catch (e) {
    disposeAll();
    throw e;
  }
  const final = state;
  if (!final.theta) {
    disposeAll();
    throw new UserError('sketch: the architecture has no conv layer');
  }
  ctx.onProgress?.({ stage: 'features', fraction: 1 });
  let disposed = false;
  return {
    ntk: final.theta,
    nngp: final.sigma,
    height: final.sigma.height,
    width: final.sigma.width,
    backend: tf.getBackend(),
    seconds: (performance.now() - t0) / 1000,
    log,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of stateTensors(final)) t.dispose();
    },
  };
}

/**
 * The full sketched kernel ⟨φ(p), φ(q)⟩ as a P×P float64 matrix (row-major). For tests and small grids only
 * (at most 4096 pixels): it is exactly the P×P object the sketch exists to avoid. Computed structurally
 * (FeatureMap.gram), which equals the explicit inner products of the features.
 */
export async function featureGram(map: FeatureMap): Promise<Float64Array> {
  return map.gram();
}
