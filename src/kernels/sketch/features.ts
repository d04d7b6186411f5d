// Sketched CNTK features: per-pixel vectors φ_ntk(p), φ_nngp(p) with ⟨φ_ntk(p), φ_ntk(q)⟩ ≈ Θ(p,q) and
// ⟨φ_nngp(p), φ_nngp(q)⟩ ≈ Σ(p,q) for the architecture, σ_w², σ_b² and input prior (LIP) of the exact
// kernel (cntk.md, src/kernels/cntk.ts), at a cost linear in the number of pixels. After Zandieh et al.,
// "Scaling Neural Tangent Kernels via Sketching and Random Features" (NeurIPS 2021): the NTK features follow
// φ_ntk^{(h)} = [φ_ntk^{(h−1)} ⊗ φ̇^{(h)}, φ_nngp^{(h)}], each product and polynomial sketched.
//
// Layer by layer (Σ side φ, Θ side θ; both [h, w, dim] tensors or exact virtual maps, feature-map.ts):
//   input   φ(p) = x(p)/√C (C LIP channels), θ = none (Θ_in = 0)
//   conv K  Σ' = σ_w² A[Σ] + σ_b², Θ' = σ_w² A[Θ] + Σ':
//           exact   φ' = [σ_w/K · (φ(p+δ))_δ, σ_b] while K²·dim stays small (the first layer: 9C+1 dims)
//           sketch  φ' = [σ_w/K · Σ_δ s_δ ⊙ φ(p+δ), σ_b] with independent random sign vectors s_δ per
//                   window offset (a depthwise conv with ±σ_w/K weights): E⟨φ'(p), φ'(q)⟩ = Σ'(p,q), the
//                   cross terms δ ≠ δ' cancel in expectation; features stay `dim` wide.
//           θ' = [σ_w/K · Σ_δ t_δ ⊙ θ(p+δ), φ'] (same, independent signs; Σ' features shared)
//   relu    polysketch.ts: polynomial (non-negative fit of κ0, κ1) sketched with TensorSRHT; the features are
//           normalised per pixel (u = φ/‖φ‖, the arc-cosine kernels depend on the cosine only) and the Σ side
//           is rescaled by ‖φ(p)‖, i.e. Σ(p,p) is tracked through the features.
//   down    2×2 average of the features: exact (Σ'(P,Q) = ⟨mean φ over P, mean φ over Q⟩); fused into
//           the relu before it, so the fine-resolution relu output is never stored whole.
//   up      nearest copy: exact.
// The tail after the last relu/down (convs and ups) is kept exact and virtual (feature-map.ts): the output
// features have dimension K²·(dim θ + dim φ) + 1 per final conv but are only ever gathered at observed cells
// or dotted with a weight vector, never stored per pixel.
//
// Memory: two [h, w, m] float32 maps at the resolution of each relu, plus one chunk of relu temporaries
// (chunkPixels rows×width); nothing is P×P. Tensors are tfjs, so the CUDA backend runs all of it.

import type * as tfTypes from '@tensorflow/tfjs-core';
import { getTf } from '../../compute/backend.ts';
import { throwIfCancelled, yieldToLoop, type RunContext } from '../../domain/run.ts';
import { UserError } from '../../domain/errors.ts';
import type { Layer } from '../arch.ts';
import { checkKernelInputs } from '../cntk.ts';
import type { Prior } from '../lip.ts';
import { ConcatMap, ConstMap, ShiftConcatMap, TensorMap, UpMap, type FeatureMap } from './feature-map.ts';
import { ReluSketch } from './polysketch.ts';
import { SignSource } from './random.ts';

type Tf = typeof tfTypes;
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
  /** Pixels per relu chunk (memory of the temporaries ≈ chunkPixels·m·4 bytes·~12). Default 8192. */
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
  /** One line per layer: what was done and the dimensions. */
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

/** Materialise a map as one [h, w, dim] tensor (in row chunks, so virtual maps never build big temporaries). */
function materialize(tf: Tf, map: FeatureMap, chunkPixels: number): TensorMap {
  if (map instanceof TensorMap) return map;
  const R = Math.max(1, Math.floor(chunkPixels / map.width));
  const parts: T3[] = [];
  for (let r0 = 0; r0 < map.height; r0 += R) parts.push(map.rows(r0, Math.min(map.height, r0 + R)));
  const t = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as T3);
  if (parts.length > 1) parts.forEach((p) => p.dispose());
  return new TensorMap(tf, t);
}

/** Depthwise conv with random ±scale weights per (offset, channel): an unbiased sketch of the window sum. */
function signConv(tf: Tf, map: TensorMap, K: number, scale: number, src: SignSource): TensorMap {
  const d = map.dim;
  const s = src.signs(K * K * d);
  for (let i = 0; i < s.length; i++) s[i] *= scale;
  const out = tf.tidy(() => {
    const filter = tf.tensor4d(s, [K, K, d, 1]);
    const x = tf.reshape(map.tensor, [1, map.height, map.width, d]) as tfTypes.Tensor4D;
    return tf.reshape(tf.depthwiseConv2d(x, filter, 1, 'same'), [map.height, map.width, d]) as T3;
  });
  return new TensorMap(tf, out);
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
  const chunkPixels = Math.max(256, Math.floor(opts.chunkPixels ?? 8192));
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
  let state: State = { sigma: new TensorMap(tf, tf.tensor3d(input, [H, W, C])), theta: null };
  log.push(`input ${W}×${H}×${C}`);

  const replace = (next: State) => {
    const keep = stateTensors(next);
    for (const t of stateTensors(state)) if (!keep.has(t)) t.dispose();
    state = next;
  };
  const disposeAll = () => {
    for (const t of stateTensors(state)) t.dispose();
  };

  try {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const tl = performance.now();
      const logged = log.length;
      const inTail = i >= split;
      const { sigma, theta } = state;
      if (layer.kind === 'conv') {
        const K = layer.size;
        const exact = inTail || sigma.dim * K * K <= exactConvLimit(m) && (!theta || theta.dim * K * K <= exactConvLimit(m));
        let convS: FeatureMap;
        let convT: FeatureMap | null;
        if (exact) {
          convS = new ShiftConcatMap(tf, sigma, K, sw / K);
          convT = theta ? new ShiftConcatMap(tf, theta, K, sw / K) : null;
        } else {
          const ms = materialize(tf, sigma, chunkPixels);
          convS = signConv(tf, ms, K, sw / K, src);
          if (ms !== sigma) ms.tensor.dispose();
          if (theta) {
            const mt = materialize(tf, theta, chunkPixels);
            convT = signConv(tf, mt, K, sw / K, src);
            if (mt !== theta) mt.tensor.dispose();
          } else convT = null;
        }
        const sigmaNext: FeatureMap = sb > 0 ? new ConcatMap(tf, [convS, new ConstMap(tf, convS.height, convS.width, sb)]) : convS;
        const thetaNext: FeatureMap = convT ? new ConcatMap(tf, [convT, sigmaNext]) : sigmaNext;
        replace({ sigma: sigmaNext, theta: thetaNext });
        log.push(`conv${K} ${exact ? (inTail ? 'exact (tail, virtual)' : 'exact') : 'sketched (random-sign depthwise)'}: Σ ${sigmaNext.dim}, Θ ${thetaNext.dim} at ${sigmaNext.width}×${sigmaNext.height}`);
      } else if (layer.kind === 'relu') {
        const fuseDown = layers[i + 1]?.kind === 'down';
        const relu = new ReluSketch(tf, { inDim: sigma.dim, thetaDim: theta?.dim ?? 0, sigmaOut: m, thetaOut: m, degree: opts.degree }, src);
        try {
          const h = sigma.height;
          const w = sigma.width;
          let R = Math.max(1, Math.min(h, Math.floor(chunkPixels / w)));
          if (fuseDown) R = Math.max(2, R - (R % 2));
          const sParts: T3[] = [];
          const tParts: T3[] = [];
          try {
            for (let r0 = 0; r0 < h; r0 += R) {
              const r1 = Math.min(h, r0 + R);
              const rows = r1 - r0;
              const out = tf.tidy((): T3[] => {
                const psi = tf.reshape(sigma.rows(r0, r1), [rows * w, sigma.dim]) as tfTypes.Tensor2D;
                const th = theta ? (tf.reshape(theta.rows(r0, r1), [rows * w, theta.dim]) as tfTypes.Tensor2D) : null;
                const r = relu.apply(psi, th);
                const shape = (t: tfTypes.Tensor2D) => {
                  const x = tf.reshape(t, [rows, w, t.shape[1]]) as T3;
                  return fuseDown ? (tf.avgPool(x, 2, 2, 'valid') as T3) : x;
                };
                return r.theta ? [shape(r.sigma), shape(r.theta)] : [shape(r.sigma)];
              });
              sParts.push(out[0]);
              if (out[1]) tParts.push(out[1]);
              doneWork += rows * w;
              await tick(`relu ${log.length}`);
            }
          } catch (e) {
            sParts.forEach((t) => t.dispose());
            tParts.forEach((t) => t.dispose());
            throw e;
          }
          const join = (parts: T3[]): T3 => {
            if (parts.length === 1) return parts[0];
            const j = tf.concat(parts, 0) as T3;
            parts.forEach((t) => t.dispose());
            return j;
          };
          const sNew = new TensorMap(tf, join(sParts));
          const tNew = tParts.length > 0 ? new TensorMap(tf, join(tParts)) : null;
          replace({ sigma: sNew, theta: tNew });
          const L = relu.layout;
          log.push(
            `relu${fuseDown ? '+down' : ''} sketched (degree ${opts.degree}; Σ blocks ${L.sigmaBlocks.join('/')}, Θ blocks ${L.thetaBlocks.join('/')}, chain ${L.chain.filter((c) => c > 0).join('/') || '-'}): Σ ${sNew.dim}, Θ ${tNew?.dim ?? 0} at ${sNew.width}×${sNew.height}`,
          );
          if (fuseDown) i++;
        } finally {
          relu.dispose();
        }
      } else if (layer.kind === 'down') {
        const pool = (map: FeatureMap): TensorMap => {
          const t = materialize(tf, map, chunkPixels);
          const pooled = tf.tidy(() => tf.avgPool(t.tensor, 2, 2, 'valid') as T3);
          if (t !== map) t.tensor.dispose();
          return new TensorMap(tf, pooled);
        };
        const sNew = pool(sigma);
        replace({ sigma: sNew, theta: theta ? pool(theta) : null });
        log.push(`down exact: Σ ${sNew.dim}, Θ ${state.theta?.dim ?? 0} at ${sNew.width}×${sNew.height}`);
      } else {
        replace({ sigma: new UpMap(tf, sigma), theta: theta ? new UpMap(tf, theta) : null });
        log.push(`up exact${inTail ? ' (tail, virtual)' : ''} at ${state.sigma.width}×${state.sigma.height}`);
      }
      if (log.length > logged) log[log.length - 1] += ` (${((performance.now() - tl) / 1000).toFixed(2)} s)`;
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
 * The full sketched kernel ⟨φ(p), φ(q)⟩ as a P×P Float32Array (row-major). For tests and small grids only:
 * it is exactly the P×P object the sketch exists to avoid.
 */
export async function featureGram(map: FeatureMap): Promise<Float32Array> {
  const tf = await getTf();
  const P = map.height * map.width;
  const g = tf.tidy(() => {
    const F = tf.reshape(map.rows(0, map.height), [P, map.dim]) as tfTypes.Tensor2D;
    return tf.matMul(F, F, false, true);
  });
  const out = (await g.data()) as Float32Array;
  g.dispose();
  return out;
}
