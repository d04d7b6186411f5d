// The CNTK / NNGP recursion against an independent float64 reference of the cntk.md formulas
// (test/unit/cntk-reference.ts: naive loops over pixel pairs and windows), for every implementation
// (typed-array float64 and float32, TensorFlow.js), full matrices and the rows + diagonal entry point;
// symmetry and positive semi-definiteness; input checks, progress and cancellation.

import { describe, expect, it } from 'vitest';
import { cntkKernel, cntkRows, cntkSession } from '../../src/kernels/cntk.ts';
import { DEFAULT_ARCH, checkArchGrid, parseArch } from '../../src/kernels/arch.ts';
import { UserError } from '../../src/domain/errors.ts';
import { CancelledError } from '../../src/domain/run.ts';
import { symEigen } from '../../src/solvers/eigen.ts';
import { referenceKernel } from './cntk-reference.ts';
import { lcg } from '../helpers/random.ts';

function randomPrior(h: number, w: number, c: number, seed: number): Float32Array[] {
  const r = lcg(seed);
  return Array.from({ length: c }, () => Float32Array.from({ length: h * w }, () => 2 * r() - 1));
}

/** max |a − b| / max |b| */
function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

const CASES: Array<{ h: number; w: number; c: number; arch: string; sw2: number; sb2: number }> = [
  { h: 4, w: 4, c: 1, arch: 'conv3', sw2: 2, sb2: 0.1 },
  { h: 4, w: 4, c: 2, arch: 'conv3,relu,conv3', sw2: 1.5, sb2: 0 },
  { h: 6, w: 6, c: 3, arch: 'conv5,relu,conv3,relu,conv5', sw2: 2, sb2: 0.05 },
  { h: 8, w: 8, c: 2, arch: 'conv3,relu,down,conv3,relu,up,conv3', sw2: 2, sb2: 0.01 },
  { h: 8, w: 8, c: 3, arch: DEFAULT_ARCH, sw2: 2, sb2: 0.01 },
  { h: 8, w: 4, c: 2, arch: 'conv3,down,relu,conv5,relu,up,conv3', sw2: 1, sb2: 0.2 },
  { h: 4, w: 8, c: 1, arch: 'conv3,relu,relu,conv1,down,up,conv3', sw2: 2, sb2: 0.1 },
  { h: 8, w: 8, c: 2, arch: 'conv3,conv3,relu,down,conv3,conv3,up,conv3', sw2: 2, sb2: 0.1 },
  { h: 8, w: 8, c: 2, arch: 'up,conv3,relu,down,down,conv3,relu,up,conv3', sw2: 2, sb2: 0.1 },
  { h: 4, w: 4, c: 2, arch: 'conv3,down,up', sw2: 2, sb2: 0.1 },
];

describe('cntk kernel: agreement with the float64 reference', () => {
  for (const k of CASES) {
    const label = `${k.arch} on ${k.w}×${k.h}, C=${k.c}`;
    it(label, async () => {
      const channels = randomPrior(k.h, k.w, k.c, k.h * 31 + k.w * 7 + k.c + k.arch.length);
      const ref = referenceKernel(k.h, k.w, channels, k.arch, k.sw2, k.sb2);
      const prior = { height: k.h, width: k.w, channels };
      const opts = { arch: k.arch, sigmaW2: k.sw2, sigmaB2: k.sb2 };
      const f64 = await cntkKernel(prior, { ...opts, precision: 'float64', impl: 'js' });
      expect(f64.ntk).toBeInstanceOf(Float64Array);
      expect(f64.backend).toBe('js');
      expect(relMax(f64.ntk, ref.theta)).toBeLessThan(1e-6);
      expect(relMax(f64.nngp, ref.sigma)).toBeLessThan(1e-6);
      const f32 = await cntkKernel(prior, { ...opts, precision: 'float32', impl: 'js' });
      expect(f32.ntk).toBeInstanceOf(Float32Array);
      expect(relMax(f32.ntk, ref.theta)).toBeLessThan(1e-4);
      expect(relMax(f32.nngp, ref.sigma)).toBeLessThan(1e-4);
      const tfk = await cntkKernel(prior, { ...opts, impl: 'tfjs' });
      expect(['wasm', 'cpu', 'tensorflow']).toContain(tfk.backend);
      expect(relMax(tfk.ntk, ref.theta)).toBeLessThan(1e-4);
      expect(relMax(tfk.nngp, ref.sigma)).toBeLessThan(1e-4);
    });
  }

  it('rows and diagonals (the estimators entry point) equal the full matrices, in the order asked', async () => {
    for (const k of [CASES[3], CASES[4], CASES[8]]) {
      const channels = randomPrior(k.h, k.w, k.c, 99);
      const ref = referenceKernel(k.h, k.w, channels, k.arch, k.sw2, k.sb2);
      const P = k.h * k.w;
      const rows = Int32Array.from([P - 1, 0, 17, 5, 17]); // unsorted, with a repeat
      for (const impl of ['js', 'tfjs'] as const) {
        const r = await cntkRows({ height: k.h, width: k.w, channels }, { arch: k.arch, sigmaW2: k.sw2, sigmaB2: k.sb2, precision: impl === 'js' ? 'float64' : 'float32', impl }, rows);
        const tol = impl === 'js' ? 1e-6 : 1e-4;
        const wantT = new Float64Array(rows.length * P);
        const wantS = new Float64Array(rows.length * P);
        rows.forEach((p, i) => {
          wantT.set(ref.theta.subarray(p * P, (p + 1) * P), i * P);
          wantS.set(ref.sigma.subarray(p * P, (p + 1) * P), i * P);
        });
        expect(relMax(r.ntkRows, wantT)).toBeLessThan(tol);
        expect(relMax(r.nngpRows, wantS)).toBeLessThan(tol);
        expect(relMax(r.nngpDiag, Float64Array.from({ length: P }, (_, p) => ref.sigma[p * P + p]))).toBeLessThan(tol);
        expect(relMax(r.ntkDiag, Float64Array.from({ length: P }, (_, p) => ref.theta[p * P + p]))).toBeLessThan(tol);
      }
    }
  });

  it('a session serves rows repeatedly, sparse and dense-tail paths alike, without changing its state', async () => {
    const k = CASES[4];
    const channels = randomPrior(k.h, k.w, k.c, 5);
    const ref = referenceKernel(k.h, k.w, channels, k.arch, k.sw2, k.sb2);
    const P = k.h * k.w;
    const s = await cntkSession({ height: k.h, width: k.w, channels }, { arch: k.arch, sigmaW2: k.sw2, sigmaB2: k.sb2, precision: 'float64' });
    const many = Int32Array.from({ length: 40 }, (_, i) => (i * 37) % P); // > P/4: dense tail
    const few = Int32Array.of(3, 60, 3);
    for (const rows of [few, many, few, many]) {
      const r = await s.rows(rows);
      const want = new Float64Array(rows.length * P);
      rows.forEach((p, i) => want.set(ref.theta.subarray(p * P, (p + 1) * P), i * P));
      expect(relMax(r.ntkRows, want)).toBeLessThan(1e-6);
    }
    await expect(s.rows(Int32Array.of(P))).rejects.toBeInstanceOf(UserError);
  });
});

describe('cntk kernel: structure', () => {
  it('Θ and Σ are symmetric and positive semi-definite (default arch, 16×16, float64)', async () => {
    const h = 16;
    const channels = randomPrior(h, h, 3, 7);
    const k = await cntkKernel({ height: h, width: h, channels }, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, precision: 'float64' });
    const P = h * h;
    for (const M of [k.ntk, k.nngp]) {
      let asym = 0;
      let scale = 0;
      for (let p = 0; p < P; p++) {
        scale = Math.max(scale, Math.abs(M[p * P + p]));
        for (let q = 0; q < p; q++) asym = Math.max(asym, Math.abs(M[p * P + q] - M[q * P + p]));
      }
      expect(asym).toBeLessThanOrEqual(1e-12 * scale);
      const eig = symEigen(Float64Array.from(M), P);
      const min = Math.min(...eig.values);
      const max = Math.max(...eig.values);
      expect(max).toBeGreaterThan(0);
      expect(min).toBeGreaterThan(-1e-10 * max);
    }
  });

  it('Θ ≥ Σ on the diagonal and Θ − Σ is PSD (the NTK adds the gradient terms of every layer)', async () => {
    const h = 8;
    const channels = randomPrior(h, h, 2, 8);
    const k = await cntkKernel({ height: h, width: h, channels }, { arch: 'conv3,relu,down,conv3,relu,up,conv3', sigmaW2: 2, sigmaB2: 0.01, precision: 'float64' });
    const P = h * h;
    const D = Float64Array.from(k.ntk, (t, i) => t - k.nngp[i]);
    const eig = symEigen(D, P);
    expect(Math.min(...eig.values)).toBeGreaterThan(-1e-10 * Math.max(...eig.values));
  });

  it('reports progress up to 1 and stops with CancelledError when the signal fires', async () => {
    const channels = randomPrior(32, 32, 3, 9);
    const fractions: number[] = [];
    await cntkKernel({ height: 32, width: 32, channels }, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01 }, { onProgress: (p) => p.fraction !== undefined && fractions.push(p.fraction) });
    expect(fractions.length).toBeGreaterThan(3);
    expect(Math.max(...fractions)).toBe(1);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1] - 1e-12);
    const ac = new AbortController();
    const p = cntkKernel({ height: 32, width: 32, channels }, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01 }, { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });

  it('tfjs path leaves no tensors behind', async () => {
    const { getTf } = await import('../../src/compute/backend.ts');
    const tf = await getTf();
    const before = tf.memory().numTensors;
    const channels = randomPrior(8, 8, 2, 3);
    await cntkKernel({ height: 8, width: 8, channels }, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, impl: 'tfjs' });
    await cntkRows({ height: 8, width: 8, channels }, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, impl: 'tfjs' }, Int32Array.of(1, 2));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('architecture and input checks', () => {
  it('parses specs and rejects bad tokens with the position', () => {
    expect(parseArch(' Conv3 , relu,down ,conv5,up,conv1').map((l) => (l.kind === 'conv' ? `c${l.size}` : l.kind))).toEqual(['c3', 'relu', 'down', 'c5', 'up', 'c1']);
    expect(() => parseArch('conv3,pool')).toThrow(/layer 2: unknown layer "pool"/);
    expect(() => parseArch('conv4')).toThrow(UserError);
    expect(() => parseArch('relu,down,up')).toThrow(/no conv layer/);
    expect(() => parseArch('')).toThrow(UserError);
  });

  it('checks the grid against the down/up steps', () => {
    const layers = parseArch(DEFAULT_ARCH);
    expect(() => checkArchGrid(layers, 64, 48)).not.toThrow();
    expect(() => checkArchGrid(layers, 64, 46)).toThrow(/multiples of 4/);
    expect(() => checkArchGrid(parseArch('conv3,down,conv3'), 8, 8)).toThrow(/balance/);
  });

  it('rejects bad priors and hyper-parameters with UserError', async () => {
    const ch = randomPrior(4, 4, 1, 1);
    await expect(cntkKernel({ height: 4, width: 4, channels: [new Float32Array(15)] }, { arch: 'conv3', sigmaW2: 2, sigmaB2: 0 })).rejects.toThrow(/15 values/);
    await expect(cntkKernel({ height: 4, width: 4, channels: [Float32Array.from(ch[0], (v, i) => (i === 5 ? NaN : v))] }, { arch: 'conv3', sigmaW2: 2, sigmaB2: 0 })).rejects.toThrow(/row 1, col 1/);
    await expect(cntkKernel({ height: 4, width: 4, channels: ch }, { arch: 'conv3', sigmaW2: 0, sigmaB2: 0 })).rejects.toBeInstanceOf(UserError);
    await expect(cntkKernel({ height: 4, width: 4, channels: ch }, { arch: 'conv3', sigmaW2: 2, sigmaB2: -1 })).rejects.toBeInstanceOf(UserError);
    await expect(cntkRows({ height: 4, width: 4, channels: ch }, { arch: 'conv3', sigmaW2: 2, sigmaB2: 0 }, Int32Array.of(16))).rejects.toThrow(/outside/);
  });
});
