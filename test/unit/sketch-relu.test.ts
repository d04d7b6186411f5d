// The sketched ReLU layer (src/kernels/sketch/polysketch.ts): averaged over seeds, the Gram matrices of its
// Σ and Θ features equal the layer's targets (cntk.md, relu) — Σ' = ‖ψ‖‖ψ'‖·P1(c) with the fitted κ1 polynomial,
// Θ' = ⟨θ,θ'⟩·κ0(c) exactly with the random-feature derivative, ⟨θ,θ'⟩·P0(c) with the polynomial one —
// their spread shrinks as the feature dimension grows, and zero inputs give zero features.

import { describe, expect, it } from 'vitest';
import { getTf } from '../../src/compute/backend.ts';
import { evalPoly, fitArcCos, kappa0 } from '../../src/kernels/sketch/arccos-poly.ts';
import { allocateBlocks, ReluSketch } from '../../src/kernels/sketch/polysketch.ts';
import { SignSource } from '../../src/kernels/sketch/random.ts';
import { lcg } from '../helpers/random.ts';

const N = 4;
const d = 40;
const dT = 24;

/** Four Σ-side inputs with cosines spread over (0, 1), and four Θ-side inputs; row 3 of ψ scaled up. */
function inputs(): { psi: Float32Array; theta: Float32Array } {
  const r = lcg(5);
  const base = Array.from({ length: d }, () => r() - 0.5);
  const psi = new Float32Array(N * d);
  for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) psi[i * d + j] = (base[j] + i * 0.45 * (r() - 0.5)) * (i === 3 ? 3 : 1);
  const theta = Float32Array.from({ length: N * dT }, () => r() - 0.3);
  return { psi, theta };
}

function rowDot(a: Float32Array, w: number, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < w; c++) s += a[i * w + c] * a[j * w + c];
  return s;
}

interface Run {
  sigma: number[][];
  theta: number[][];
}

async function runSeeds(m: number, derivative: 'rf' | 'poly', seeds: number, psi: Float32Array, theta: Float32Array): Promise<Run> {
  const tf = await getTf();
  const out: Run = { sigma: [], theta: [] };
  const P = tf.tensor2d(psi, [N, d]);
  const T = tf.tensor2d(theta, [N, dT]);
  for (let s = 0; s < seeds; s++) {
    const relu = new ReluSketch(tf, { inDim: d, thetaDim: dT, features: m, degree: 4, derivative }, new SignSource(1000 + s));
    const [gs, gt] = tf.tidy(() => {
      const o = relu.apply(P as never, T as never);
      const S = tf.concat(o.sigma, 1);
      const Th = tf.concat(o.theta, 1);
      expect(S.shape).toEqual([N, m]);
      expect(Th.shape).toEqual([N, m]);
      return [tf.matMul(S, S, false, true), tf.matMul(Th, Th, false, true)];
    });
    out.sigma.push(Array.from(await gs.data()));
    out.theta.push(Array.from(await gt.data()));
    gs.dispose();
    gt.dispose();
    relu.dispose();
  }
  P.dispose();
  T.dispose();
  return out;
}

function targets(psi: Float32Array, theta: Float32Array, derivative: 'rf' | 'poly'): { sigma: number[]; theta: number[] } {
  const a1 = fitArcCos('k1', 4).coef;
  const a0 = fitArcCos('k0', 4).coef;
  const sigma: number[] = [];
  const th: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const ni = Math.sqrt(rowDot(psi, d, i, i));
      const nj = Math.sqrt(rowDot(psi, d, j, j));
      const c = rowDot(psi, d, i, j) / (ni * nj);
      sigma.push(ni * nj * evalPoly(a1, c));
      th.push(rowDot(theta, dT, i, j) * (derivative === 'rf' ? kappa0(c) : evalPoly(a0, c)));
    }
  }
  return { sigma, theta: th };
}

function meanAndSe(samples: number[][], k: number): { mean: number; se: number } {
  const v = samples.map((s) => s[k]);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, se: sd / Math.sqrt(v.length) };
}

describe('ReluSketch', () => {
  it('block allocation: powers of two ∝ the coefficients, the rest in block 0, total = budget', () => {
    const k = allocateBlocks(512, [0.16, 0.25, 0.08, 0, 0.015]);
    expect(k.reduce((a, b) => a + b, 0)).toBe(512);
    expect(k[3]).toBe(0);
    for (const l of [1, 2, 4]) expect(Math.log2(k[l]) % 1).toBe(0);
    expect(k[1]).toBe(256);
    expect(k[2]).toBeGreaterThan(k[4]);
  });

  for (const derivative of ['rf', 'poly'] as const) {
    it(`is unbiased for its targets (derivative ${derivative}): Σ' = ‖ψ‖‖ψ′‖P1(c), Θ' = ⟨θ,θ′⟩·${derivative === 'rf' ? 'κ0(c)' : 'P0(c)'}`, async () => {
      const { psi, theta } = inputs();
      const runs = await runSeeds(128, derivative, 160, psi, theta);
      const t = targets(psi, theta, derivative);
      for (let k = 0; k < N * N; k++) {
        const s = meanAndSe(runs.sigma, k);
        expect(Math.abs(s.mean - t.sigma[k])).toBeLessThan(4.5 * s.se + 1e-3 * Math.abs(t.sigma[k]));
        const q = meanAndSe(runs.theta, k);
        expect(Math.abs(q.mean - t.theta[k])).toBeLessThan(4.5 * q.se + 1e-3 * Math.abs(t.theta[k]));
      }
    });
  }

  it('the spread of the estimates falls as the feature dimension grows', async () => {
    const { psi, theta } = inputs();
    const t = targets(psi, theta, 'rf');
    const rms = (runs: Run, key: 'sigma' | 'theta') => {
      let ss = 0;
      let nn = 0;
      for (const g of runs[key]) g.forEach((v, k) => ((ss += (v - t[key][k]) ** 2), (nn += t[key][k] ** 2)));
      return Math.sqrt(ss / nn);
    };
    const small = await runSeeds(64, 'rf', 40, psi, theta);
    const large = await runSeeds(1024, 'rf', 40, psi, theta);
    expect(rms(large, 'sigma')).toBeLessThan(0.5 * rms(small, 'sigma'));
    expect(rms(large, 'theta')).toBeLessThan(0.5 * rms(small, 'theta'));
  });

  it('gives zero Σ and Θ features where the input is zero (cntk.md: Σ′ = Σ̇ = 0 where n = 0)', async () => {
    const tf = await getTf();
    const { psi, theta } = inputs();
    psi.fill(0, d, 2 * d); // row 1
    for (const derivative of ['rf', 'poly'] as const) {
      const relu = new ReluSketch(tf, { inDim: d, thetaDim: dT, features: 64, degree: 4, derivative }, new SignSource(3));
      const [s, t] = tf.tidy(() => {
        const o = relu.apply(tf.tensor2d(psi, [N, d]), tf.tensor2d(theta, [N, dT]));
        return [tf.concat(o.sigma, 1), tf.concat(o.theta, 1)];
      });
      const sv = (await s.data()) as Float32Array;
      const tv = (await t.data()) as Float32Array;
      expect(Math.max(...Array.from(sv.subarray(64, 128), Math.abs))).toBe(0);
      expect(Math.max(...Array.from(tv.subarray(64, 128), Math.abs))).toBe(0);
      expect(Math.max(...Array.from(sv.subarray(0, 64), Math.abs))).toBeGreaterThan(0);
      tf.dispose([s, t]);
      relu.dispose();
    }
  });
});
