// Sketched CNTK features (src/kernels/sketch/features.ts, feature-map.ts):
// - the exact linear layers (conv concatenation, up, concat, stored chunks) against explicit float64 code;
// - a network without relu is reproduced exactly (same Θ and Σ as the exact kernel);
// (the convergence to the exact kernel as m grows is in sketch-convergence.test.ts);
// - reproducible per seed, input errors, cancellation without leaked tensors.

import { describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { getTf } from '../../src/compute/backend.ts';
import { CancelledError } from '../../src/domain/run.ts';
import { UserError } from '../../src/domain/errors.ts';
import { DEFAULT_ARCH } from '../../src/kernels/arch.ts';
import { cntkKernel } from '../../src/kernels/cntk.ts';
import { ChunkedMap, ConcatMap, ConstMap, rowRanges, ShiftConcatMap, UpMap, type FeatureMap } from '../../src/kernels/sketch/feature-map.ts';
import { featureGram, sketchFeatures } from '../../src/kernels/sketch/features.ts';
import { gridPrior, relFrob } from '../helpers/sketch.ts';
import { lcg } from '../helpers/random.ts';


async function values(t: tfTypes.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe('feature maps (exact linear layers)', () => {
  // a random 6×5×3 map stored as chunks of 2, 1 and 3 rows
  const h = 6;
  const w = 5;
  const d = 3;
  const r = lcg(3);
  const X = Float32Array.from({ length: h * w * d }, () => r() - 0.5);
  const at = (row: number, col: number, c: number) => (row < 0 || row >= h || col < 0 || col >= w ? 0 : X[(row * w + col) * d + c]);

  async function stored(): Promise<ChunkedMap> {
    const tf = await getTf();
    const chunks = [
      [0, 2],
      [2, 3],
      [3, 6],
    ].map(([a, b]) => tf.tensor3d(X.slice(a * w * d, b * w * d), [b - a, w, d]));
    return new ChunkedMap(tf, chunks);
  }

  /** Explicit [P, dim] features of a map, from a per-pixel function. */
  function explicit(P: number, dim: number, f: (p: number, k: number) => number): Float64Array {
    const out = new Float64Array(P * dim);
    for (let p = 0; p < P; p++) for (let k = 0; k < dim; k++) out[p * dim + k] = f(p, k);
    return out;
  }

  async function checkMap(map: FeatureMap, ref: Float64Array): Promise<void> {
    const tf = await getTf();
    const P = map.height * map.width;
    const D = map.dim;
    // rows (in two ranges, one not aligned with the chunks)
    const top = await values(map.rows(0, 3));
    const bottom = await values(map.rows(3, map.height));
    const all = new Float32Array(P * D);
    all.set(top);
    all.set(bottom, top.length);
    for (let i = 0; i < all.length; i++) expect(all[i]).toBeCloseTo(ref[i], 5);
    // gather at arbitrary cells, in arbitrary order
    const cells = Int32Array.from([P - 1, 0, 7, 3, 7]);
    const g = await values(map.gather(cells));
    cells.forEach((c, i) => {
      for (let k = 0; k < D; k++) expect(g[i * D + k]).toBeCloseTo(ref[c * D + k], 5);
    });
    // apply W (two columns) and squared norms
    const Wv = Float32Array.from({ length: D * 2 }, (_, i) => Math.sin(i + 1));
    const W = tf.tensor2d(Wv, [D, 2]);
    const a = await values(map.apply(W));
    W.dispose();
    const n2 = await values(map.sqNorm());
    for (let p = 0; p < P; p++) {
      for (let b = 0; b < 2; b++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += ref[p * D + k] * Wv[k * 2 + b];
        expect(a[p * 2 + b]).toBeCloseTo(s, 4);
      }
      let q = 0;
      for (let k = 0; k < D; k++) q += ref[p * D + k] ** 2;
      expect(n2[p]).toBeCloseTo(q, 4);
    }
    // the structural Gram (window sums, index maps, sums) equals the inner products of the explicit features
    const G = await map.gram();
    for (let p = 0; p < P; p += 3) {
      for (let q = 0; q < P; q += 2) {
        let s = 0;
        for (let k = 0; k < D; k++) s += ref[p * D + k] * ref[q * D + k];
        expect(G[p * P + q]).toBeCloseTo(s, 4);
      }
    }
  }

  it('stored chunks, constants and concatenation', async () => {
    const tf = await getTf();
    const base = await stored();
    await checkMap(base, explicit(h * w, d, (p, k) => X[p * d + k]));
    const cat = new ConcatMap(tf, [base, new ConstMap(tf, h, w, 0.3)]);
    await checkMap(cat, explicit(h * w, d + 1, (p, k) => (k < d ? X[p * d + k] : 0.3)));
    base.chunks.forEach((c) => c.dispose());
  });

  it('conv K×K as scaled concatenation of the shifted window (zero off the grid), K = 3 and 5', async () => {
    const tf = await getTf();
    const base = await stored();
    for (const K of [3, 5]) {
      const k = (K - 1) / 2;
      const map = new ShiftConcatMap(tf, base, K, 0.7);
      const ref = explicit(h * w, K * K * d, (p, idx) => {
        const delta = Math.floor(idx / d);
        const c = idx % d;
        const dr = Math.floor(delta / K) - k;
        const dc = (delta % K) - k;
        return 0.7 * at(Math.floor(p / w) + dr, (p % w) + dc, c);
      });
      await checkMap(map, ref);
    }
    base.chunks.forEach((c) => c.dispose());
  });

  it('nearest ×2 up-sampling, and a conv after it (the default tail)', async () => {
    const tf = await getTf();
    const base = await stored();
    const up = new UpMap(tf, base);
    const W2 = 2 * w;
    await checkMap(up, explicit(4 * h * w, d, (p, c) => at(Math.floor(Math.floor(p / W2) / 2), Math.floor((p % W2) / 2), c)));
    const tail = new ShiftConcatMap(tf, up, 3, 0.5);
    const upAt = (row: number, col: number, c: number) => (row < 0 || row >= 2 * h || col < 0 || col >= W2 ? 0 : at(Math.floor(row / 2), Math.floor(col / 2), c));
    await checkMap(
      tail,
      explicit(4 * h * w, 9 * d, (p, idx) => {
        const delta = Math.floor(idx / d);
        return 0.5 * upAt(Math.floor(p / W2) + Math.floor(delta / 3) - 1, (p % W2) + (delta % 3) - 1, idx % d);
      }),
    );
    base.chunks.forEach((c) => c.dispose());
  });

  it('row ranges cover the grid with whole chunks, even-sized when asked', async () => {
    const base = await stored();
    const ranges = rowRanges(base, 2 * w, false);
    expect(ranges[0][0]).toBe(0);
    expect(ranges[ranges.length - 1][1]).toBe(h);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1]);
    for (const [a, b] of ranges) {
      expect(base.starts).toContain(a);
      expect(base.starts).toContain(b);
    }
    // chunk boundaries 2, 3 are not all even: uniform even ranges instead
    for (const [a, b] of rowRanges(base, 2 * w, true)) expect((b - a) % 2 === 0 || b === h).toBe(true);
    base.chunks.forEach((c) => c.dispose());
  });
});

describe('sketched CNTK features against the exact kernel', () => {
  it('a network without relu is reproduced exactly (exact convs, down, up)', async () => {
    const prior = gridPrior(8);
    for (const arch of ['conv3', 'conv3,down,conv3,up,conv3']) {
      const ex = await cntkKernel(prior, { arch, sigmaW2: 2, sigmaB2: 0.01, precision: 'float64' });
      const f = await sketchFeatures(prior, { arch, sigmaW2: 2, sigmaB2: 0.01, features: 256, degree: 4, seed: 1 });
      expect(relFrob(await featureGram(f.ntk), ex.ntk)).toBeLessThan(1e-5);
      expect(relFrob(await featureGram(f.nngp), ex.nngp)).toBeLessThan(1e-5);
      f.dispose();
    }
  });

  it('is reproducible for a seed and changes with it', async () => {
    const prior = gridPrior(8);
    const grams: Float64Array[] = [];
    for (const seed of [7, 7, 8]) {
      const f = await sketchFeatures(prior, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, features: 128, degree: 4, seed });
      grams.push(await featureGram(f.ntk));
      f.dispose();
    }
    expect(Array.from(grams[1])).toEqual(Array.from(grams[0]));
    expect(relFrob(grams[2], grams[0])).toBeGreaterThan(1e-3);
  });

  it('rejects bad dimensions, degrees and grids with clear errors', async () => {
    const prior = gridPrior(8);
    const base = { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, features: 128, degree: 4, seed: 1 };
    await expect(sketchFeatures(prior, { ...base, features: 8 })).rejects.toThrow(UserError);
    await expect(sketchFeatures(prior, { ...base, degree: 0 })).rejects.toThrow(/degree/);
    await expect(sketchFeatures(gridPrior(6), base)).rejects.toThrow(/multiples of 4/);
  });

  it('stops on cancel and frees every tensor it made', async () => {
    const tf = await getTf();
    const prior = gridPrior(32);
    const before = tf.memory().numTensors;
    const ctrl = new AbortController();
    let seen = 0;
    const run = sketchFeatures(prior, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, features: 256, degree: 4, seed: 1, chunkPixels: 256 }, {
      signal: ctrl.signal,
      onProgress: (p) => {
        seen++;
        if ((p.fraction ?? 0) > 0.2) ctrl.abort();
      },
    });
    await expect(run).rejects.toThrow(CancelledError);
    expect(seen).toBeGreaterThan(0);
    // cached Hadamard factors may stay; nothing else
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(4);
    const f = await sketchFeatures(prior, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, features: 256, degree: 4, seed: 1 });
    f.dispose();
    f.dispose();
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(4);
  });
});
