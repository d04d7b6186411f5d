// Polynomial approximations of the ReLU arc-cosine kernels (src/kernels/sketch/arccos-poly.ts):
// the closed forms against an independent Gaussian quadrature of E[relu(x)relu(y)] and P(x>0, y>0),
// non-negative coefficients, exact value at c = 1, the error falling with the degree, and NNLS itself.

import { describe, expect, it } from 'vitest';
import { evalPoly, fitArcCos, kappa0, kappa1, maxPolyError, nnls, taylorCoefficients } from '../../src/kernels/sketch/arccos-poly.ts';

/**
 * E[f(x) g(y)] for (x, y) standard bivariate normal with correlation c, by Gauss–Hermite-free brute
 * quadrature: y = c·x + √(1−c²)·z, x, z independent N(0,1), midpoint rule on [−8, 8]².
 */
function gaussExpect(c: number, f: (x: number, y: number) => number): number {
  const n = 1600;
  const h = 16 / n;
  const s = Math.sqrt(Math.max(0, 1 - c * c));
  const phi = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const x = -8 + (i + 0.5) * h;
    const wx = phi(x) * h;
    for (let j = 0; j < n; j++) {
      const z = -8 + (j + 0.5) * h;
      acc += wx * phi(z) * h * f(x, c * x + s * z);
    }
  }
  return acc;
}

describe('arc-cosine kernels', () => {
  it('κ1 and κ0 match Gaussian expectations of relu(x)relu(y) and step(x)step(y) (cntk.md relu formulas)', () => {
    for (const c of [-0.9, -0.3, 0, 0.4, 0.8, 0.97]) {
      const e1 = gaussExpect(c, (x, y) => Math.max(0, x) * Math.max(0, y));
      const e0 = gaussExpect(c, (x, y) => (x > 0 && y > 0 ? 1 : 0));
      expect(kappa1(c)).toBeCloseTo(e1, 4);
      expect(kappa0(c)).toBeCloseTo(e0, 3);
    }
    expect(kappa1(1)).toBeCloseTo(0.5, 12);
    expect(kappa0(1)).toBeCloseTo(0.5, 12);
    expect(kappa0(-1)).toBeCloseTo(0, 12);
  });

  it('κ0 is the derivative of κ1', () => {
    for (const c of [-0.8, -0.2, 0.3, 0.9]) {
      const h = 1e-5;
      expect((kappa1(c + h) - kappa1(c - h)) / (2 * h)).toBeCloseTo(kappa0(c), 6);
    }
  });

  it('Taylor coefficients are non-negative and converge to the kernels inside (−1, 1)', () => {
    for (const kind of ['k0', 'k1'] as const) {
      const a = taylorCoefficients(kind, 60);
      expect(Array.from(a).every((v) => v >= 0)).toBe(true);
      for (const c of [-0.5, 0.2, 0.6]) expect(evalPoly(a, c)).toBeCloseTo(kind === 'k0' ? kappa0(c) : kappa1(c), 6);
    }
    // κ0 = 1/4 + arcsin(c)/(2π): the linear coefficient is 1/(2π)
    expect(taylorCoefficients('k0', 3)[1]).toBeCloseTo(1 / (2 * Math.PI), 14);
  });
});

describe('non-negative polynomial fits', () => {
  it('have non-negative coefficients and reproduce κ(1) exactly (the kernel diagonal)', () => {
    for (const kind of ['k0', 'k1'] as const) {
      for (const q of [2, 4, 8, 16]) {
        const f = fitArcCos(kind, q);
        expect(f.coef.length).toBe(q + 1);
        expect(Array.from(f.coef).every((v) => v >= 0)).toBe(true);
        expect(evalPoly(f.coef, 1)).toBeCloseTo(0.5, 12);
      }
    }
  });

  it('max error over [−1, 1] falls with the degree, and beats the Taylor truncation of the same degree', () => {
    const err = (kind: 'k0' | 'k1', q: number) => fitArcCos(kind, q).maxError;
    // κ1 is smooth: fast decay
    const e1 = [2, 4, 8, 16].map((q) => err('k1', q));
    for (let i = 1; i < e1.length; i++) expect(e1[i]).toBeLessThan(e1[i - 1]);
    expect(e1[3]).toBeLessThan(2e-4);
    // κ0 has a square-root kink at c = 1: slow decay (odd degrees carry the information)
    const e0 = [1, 3, 5, 9, 17].map((q) => err('k0', q));
    for (let i = 1; i < e0.length; i++) expect(e0[i]).toBeLessThan(e0[i - 1]);
    expect(e0[4]).toBeLessThan(0.02);
    expect(e0[0]).toBeGreaterThan(0.05);
    for (const q of [4, 8]) {
      expect(err('k1', q)).toBeLessThan(maxPolyError('k1', taylorCoefficients('k1', q)));
      expect(err('k0', q)).toBeLessThan(maxPolyError('k0', taylorCoefficients('k0', q)));
    }
  });

  it('maxPolyError measures against an independent dense evaluation', () => {
    const f = fitArcCos('k0', 5);
    let e = 0;
    for (let i = 0; i <= 20000; i++) {
      const c = -1 + i / 10000;
      e = Math.max(e, Math.abs(evalPoly(f.coef, c) - kappa0(c)));
    }
    expect(f.maxError).toBeGreaterThanOrEqual(e * 0.999);
    expect(f.maxError).toBeLessThan(e * 1.05);
  });
});

describe('nnls', () => {
  it('recovers non-negative coefficients of an exactly representable target', () => {
    const m = 50;
    const n = 4;
    const A = new Float64Array(m * n);
    const b = new Float64Array(m);
    const truth = [0.5, 0, 2, 1.25];
    for (let i = 0; i < m; i++) {
      const x = -1 + (2 * i) / (m - 1);
      for (let j = 0; j < n; j++) A[i * n + j] = x ** j;
      b[i] = truth.reduce((s, t, j) => s + t * x ** j, 0);
    }
    const x = nnls(A, b, m, n);
    truth.forEach((t, j) => expect(x[j]).toBeCloseTo(t, 8));
  });

  it('satisfies the KKT conditions when the unconstrained solution is negative', () => {
    // b = 1 − 2x: the unconstrained fit on [1, x] has a negative slope; NNLS must clamp it to 0
    const m = 21;
    const A = new Float64Array(m * 2);
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const x = i / (m - 1);
      A[i * 2] = 1;
      A[i * 2 + 1] = x;
      b[i] = 1 - 2 * x;
    }
    const x = nnls(A, b, m, 2);
    expect(x[1]).toBe(0);
    // with the slope at 0 the best constant is the mean of b
    expect(x[0]).toBeCloseTo(b.reduce((s, v) => s + v, 0) / m, 10);
    // gradient Aᵀ(b − Ax) ≤ 0 on the clamped coordinate
    let g = 0;
    for (let i = 0; i < m; i++) g += A[i * 2 + 1] * (b[i] - x[0]);
    expect(g).toBeLessThanOrEqual(1e-9);
  });
});
