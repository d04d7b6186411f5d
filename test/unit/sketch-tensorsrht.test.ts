// Randomised Hadamard sketches (src/kernels/sketch/hadamard.ts, tensorsrht.ts): the transform against an
// independently built Sylvester matrix, exactness of the SRHT when d ≤ k, and the statistics of the
// TensorSRHT: over many seeds the mean of ⟨S(x⊗x'), S(y⊗y')⟩ is ⟨x,y⟩⟨x',y'⟩ and its variance falls ~1/k.

import { describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { getTf } from '../../src/compute/backend.ts';
import { fwht, fwhtInPlace } from '../../src/kernels/sketch/hadamard.ts';
import { SignSource } from '../../src/kernels/sketch/random.ts';
import { fold, SketchBank, Srht, TensorSrht } from '../../src/kernels/sketch/tensorsrht.ts';
import { lcg } from '../helpers/random.ts';

/** Sylvester–Hadamard by the recursion H_2n = [[H, H], [H, −H]] (independent of the code under test). */
function sylvester(n: number): number[][] {
  let H = [[1]];
  while (H.length < n) H = [...H.map((r) => [...r, ...r]), ...H.map((r) => [...r, ...r.map((v) => -v)])];
  return H;
}

function randVec(d: number, seed: number): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: d }, () => r() - 0.5);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

function stats(v: number[]): { mean: number; variance: number; se: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
  return { mean, variance, se: Math.sqrt(variance / v.length) };
}

describe('Walsh–Hadamard transform', () => {
  it('fwht (tfjs, Kronecker factors) and fwhtInPlace (float64) equal the product with the Sylvester matrix', async () => {
    const tf = await getTf();
    for (const n of [8, 64, 256, 2048]) {
      const H = sylvester(n);
      const x = randVec(n, n);
      const y = tf.tidy(() => fwht(tf, tf.tensor2d(x, [1, n])));
      const got = (await y.data()) as Float32Array;
      y.dispose();
      const ref = Float64Array.from(x);
      fwhtInPlace(ref);
      for (let j = 0; j < n; j += Math.max(1, n / 64)) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i] * H[i][j];
        expect(got[j]).toBeCloseTo(s, 3);
        expect(ref[j]).toBeCloseTo(s, 9);
      }
    }
  });

  it('fold sends column i to column i mod K', async () => {
    const tf = await getTf();
    const x = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    const y = tf.tidy(() => fold(tf, tf.tensor2d(x, [1, 10]), 4));
    expect(Array.from(await y.data())).toEqual([1 + 5 + 9, 2 + 6 + 10, 3 + 7, 4 + 8]);
    y.dispose();
  });
});

describe('SRHT and TensorSRHT', () => {
  it('SRHT preserves inner products exactly when d ≤ k (k a power of two), also with stacked blocks', async () => {
    const tf = await getTf();
    const x = randVec(20, 1);
    const y = randVec(20, 2);
    for (const k of [32, 128]) {
      const S = new Srht(tf, 20, k, new SignSource(k));
      const g = tf.tidy(() => {
        const a = S.apply(tf.tensor2d(x, [1, 20]));
        const b = S.apply(tf.tensor2d(y, [1, 20]));
        return tf.sum(tf.mul(a, b));
      });
      expect((await g.data())[0]).toBeCloseTo(dot(x, y), 4);
      g.dispose();
      S.dispose();
    }
  });

  it('TensorSRHT is unbiased for ⟨x,y⟩⟨x′,y′⟩ and its variance falls about like 1/k', async () => {
    const tf = await getTf();
    const d = 64;
    const x = randVec(d, 11);
    const xp = randVec(d, 12);
    const y = randVec(d, 13);
    const yp = randVec(d, 14);
    const truth = dot(x, y) * dot(xp, yp);
    const X = tf.tensor2d([...x, ...y], [2, d]);
    const Xp = tf.tensor2d([...xp, ...yp], [2, d]);
    const variances: number[] = [];
    for (const k of [16, 64, 256]) {
      const vals: number[] = [];
      for (let seed = 0; seed < 300; seed++) {
        const T = new TensorSrht(tf, d, d, k, new SignSource(10_000 * k + seed));
        const z = tf.tidy(() => T.apply(X as tfTypes.Tensor2D, Xp as tfTypes.Tensor2D));
        const zz = (await z.data()) as Float32Array;
        z.dispose();
        T.dispose();
        vals.push(dot(zz.subarray(0, k), zz.subarray(k, 2 * k)));
      }
      const s = stats(vals);
      expect(Math.abs(s.mean - truth)).toBeLessThan(4 * s.se);
      variances.push(s.variance);
    }
    X.dispose();
    Xp.dispose();
    // 4× the sketch size: variance divided by ~4 (between 2.5 and 7 with 300 seeds)
    for (let i = 1; i < variances.length; i++) {
      const ratio = variances[i - 1] / variances[i];
      expect(ratio).toBeGreaterThan(2.5);
      expect(ratio).toBeLessThan(7);
    }
  });

  it('SketchBank members (dense and fold-based) are unbiased coordinate by coordinate', async () => {
    const tf = await getTf();
    const d = 1024;
    const x = randVec(d, 21);
    const xp = randVec(d, 22);
    const truth = dot(x, xp);
    const X = tf.tensor2d([...x, ...xp], [2, d]);
    // k = 16 with d = 1024 takes the fold path, k = 1024 the dense stacked path
    for (const k of [16, 1024]) {
      const vals: number[] = [];
      for (let seed = 0; seed < 200; seed++) {
        const bank = new SketchBank(tf, d, [{ k, group: 0 }], new SignSource(seed + 7 * k));
        const y = tf.tidy(() => bank.apply(X as tfTypes.Tensor2D)[0]);
        const v = (await y.data()) as Float32Array;
        y.dispose();
        bank.dispose();
        // every coordinate estimates ⟨x, x'⟩; average them
        vals.push(dot(v.subarray(0, k), v.subarray(k, 2 * k)) / k);
      }
      const s = stats(vals);
      expect(Math.abs(s.mean - truth)).toBeLessThan(4 * s.se + 1e-4);
    }
    X.dispose();
  });
});
