// Polynomial approximations of the ReLU arc-cosine kernels, with NON-NEGATIVE coefficients.
//
// For unit vectors with cosine c = ⟨u, v⟩ (cntk.md, relu layer; n = √(Σ(p,p)Σ(q,q))):
//   Σ'  = n · κ1(c),  κ1(c) = (sin θ + (π − θ)·c) / (2π),  θ = arccos c     (κ1(1) = 1/2)
//   Σ̇  =     κ0(c),  κ0(c) = (π − θ) / (2π)                                (κ0(1) = 1/2, κ0 = κ1')
// A polynomial P(c) = Σ_l a_l c^l with every a_l ≥ 0 is a dot-product kernel with explicit features
// u ↦ [√a_0, √a_1 u, √a_2 u⊗u, ...], which the tensor sketches (tensorsrht.ts, polysketch.ts) compress.
// Negative coefficients would make the feature map complex (an indefinite kernel), hence the constraint.
//
// The fit is a non-negative least-squares fit (Lawson–Hanson, Householder QR on the passive columns) at
// Chebyshev nodes of [−1, 1] (equal weights there ≈ the Chebyshev-weighted L² norm, close to minimax and
// heavy near ±1, where κ0 has its square-root kink), then scaled so that P(1) = κ(1) exactly: the diagonal
// of the kernel (every pixel's own variance) is then reproduced exactly, and since a_l ≥ 0, |P(c)| ≤ P(1).
// Truncated Taylor series (also non-negative) are available as an independent comparison.

export type ArcCosKind = 'k0' | 'k1';

/** κ0(c) = (π − arccos c)/(2π): the derivative term Σ̇ of the ReLU layer. c is clipped to [−1, 1]. */
export function kappa0(c: number): number {
  const x = Math.min(1, Math.max(-1, c));
  return (Math.PI - Math.acos(x)) / (2 * Math.PI);
}

/** κ1(c) = (√(1−c²) + (π − arccos c)·c)/(2π): the ReLU NNGP map Σ' / n. */
export function kappa1(c: number): number {
  const x = Math.min(1, Math.max(-1, c));
  const th = Math.acos(x);
  return (Math.sin(th) + (Math.PI - th) * x) / (2 * Math.PI);
}

export function kappa(kind: ArcCosKind, c: number): number {
  return kind === 'k0' ? kappa0(c) : kappa1(c);
}

/** Evaluate Σ_l a_l c^l (Horner). */
export function evalPoly(coef: ArrayLike<number>, c: number): number {
  let s = 0;
  for (let l = coef.length - 1; l >= 0; l--) s = s * c + coef[l];
  return s;
}

/**
 * Taylor coefficients (degree ≤ q) of κ0 and κ1 at 0. Both series have non-negative coefficients:
 *   κ0(c) = 1/4 + arcsin(c)/(2π),  arcsin c = Σ_j (2j)!/(4^j (j!)² (2j+1)) c^{2j+1}
 *   κ1(c) = 1/(2π) + c/4 + (1/(2π)) Σ_{j≥1} (2j−2)!/(4^j j!(j−1)!(2j−1)) · 2 c^{2j}   (from ∫κ0)
 */
export function taylorCoefficients(kind: ArcCosKind, degree: number): Float64Array {
  const a = new Float64Array(degree + 1);
  // arcsin coefficients b_{2j+1}
  const asinCoef = (j: number): number => {
    let r = 1; // (2j)!/(4^j (j!)²) = Π_{i=1..j} (2i−1)/(2i)
    for (let i = 1; i <= j; i++) r *= (2 * i - 1) / (2 * i);
    return r / (2 * j + 1);
  };
  if (kind === 'k0') {
    a[0] = 0.25;
    for (let l = 1; l <= degree; l += 2) a[l] = asinCoef((l - 1) / 2) / (2 * Math.PI);
  } else {
    // κ1' = κ0 and κ1(0) = 1/(2π): integrate the κ0 series term by term
    a[0] = 1 / (2 * Math.PI);
    if (degree >= 1) a[1] = 0.25;
    for (let l = 2; l <= degree; l += 2) a[l] = asinCoef((l - 2) / 2) / (2 * Math.PI) / l;
  }
  return a;
}

export interface PolyFit {
  kind: ArcCosKind;
  degree: number;
  /** a_0..a_degree, all ≥ 0. */
  coef: Float64Array;
  /** max |P(c) − κ(c)| over a fine grid of [−1, 1]. */
  maxError: number;
}

const fitCache = new Map<string, PolyFit>();

/** Non-negative polynomial fit of κ0 or κ1 of the given degree (cached). */
export function fitArcCos(kind: ArcCosKind, degree: number): PolyFit {
  if (!Number.isInteger(degree) || degree < 1 || degree > 40) throw new Error(`arc-cosine fit: degree must be an integer in 1..40 (got ${degree})`);
  const key = `${kind}:${degree}`;
  const hit = fitCache.get(key);
  if (hit) return hit;
  const N = 600;
  const cols = degree + 1;
  const A = new Float64Array(N * cols);
  const b = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const x = Math.cos((Math.PI * (i + 0.5)) / N);
    let p = 1;
    for (let l = 0; l < cols; l++) {
      A[i * cols + l] = p;
      p *= x;
    }
    b[i] = kappa(kind, x);
  }
  const coef = nnls(A, b, N, cols);
  const target = kappa(kind, 1);
  const at1 = coef.reduce((s, v) => s + v, 0);
  if (at1 > 0) for (let l = 0; l < cols; l++) coef[l] *= target / at1;
  const fit: PolyFit = { kind, degree, coef, maxError: maxPolyError(kind, coef) };
  fitCache.set(key, fit);
  return fit;
}

/** max |P(c) − κ(c)| on 4001 points of [−1, 1] plus a refinement near 1 (where the error peaks). */
export function maxPolyError(kind: ArcCosKind, coef: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i <= 4000; i++) {
    const c = -1 + i / 2000;
    e = Math.max(e, Math.abs(evalPoly(coef, c) - kappa(kind, c)));
  }
  for (let i = 1; i <= 400; i++) {
    const c = 1 - (i / 400) ** 3 * 0.01;
    e = Math.max(e, Math.abs(evalPoly(coef, c) - kappa(kind, c)));
  }
  return e;
}

/**
 * Non-negative least squares min ‖Ax − b‖ s.t. x ≥ 0 (Lawson & Hanson 1974), A row-major m×n.
 * The unconstrained sub-problems on the passive set are solved by Householder QR (not normal equations:
 * monomials on [−1, 1] are ill-conditioned at degree ~20).
 */
export function nnls(A: Float64Array, b: Float64Array, m: number, n: number, maxIter = 30 * n): Float64Array {
  const x = new Float64Array(n);
  const passive = new Array<boolean>(n).fill(false);
  const r = new Float64Array(m);
  const w = new Float64Array(n);
  const residual = () => {
    for (let i = 0; i < m; i++) {
      let s = b[i];
      for (let j = 0; j < n; j++) s -= A[i * n + j] * x[j];
      r[i] = s;
    }
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += A[i * n + j] * r[i];
      w[j] = s;
    }
  };
  const tol = 1e-12;
  let iter = 0;
  residual();
  for (;;) {
    let jmax = -1;
    let wmax = tol;
    for (let j = 0; j < n; j++) {
      if (!passive[j] && w[j] > wmax) {
        wmax = w[j];
        jmax = j;
      }
    }
    if (jmax < 0 || iter++ > maxIter) break;
    passive[jmax] = true;
    for (;;) {
      const idx = passive.map((p, j) => (p ? j : -1)).filter((j) => j >= 0);
      const z = lstsqColumns(A, b, m, n, idx);
      const zFull = new Float64Array(n);
      idx.forEach((j, k) => (zFull[j] = z[k]));
      if (idx.every((j) => zFull[j] > 0)) {
        x.set(zFull);
        break;
      }
      // step back towards x until a passive coefficient hits zero
      let alpha = Infinity;
      for (const j of idx) {
        if (zFull[j] <= 0) alpha = Math.min(alpha, x[j] / (x[j] - zFull[j]));
      }
      for (let j = 0; j < n; j++) x[j] += alpha * (zFull[j] - x[j]);
      for (const j of idx) {
        if (x[j] <= tol) {
          x[j] = 0;
          passive[j] = false;
        }
      }
      if (iter++ > maxIter) break;
    }
    residual();
  }
  return x;
}

/** Least squares on a subset of columns by Householder QR (float64). */
function lstsqColumns(A: Float64Array, b: Float64Array, m: number, n: number, cols: number[]): Float64Array {
  const k = cols.length;
  const Q = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) Q[i * k + c] = A[i * n + cols[c]];
  const y = Float64Array.from(b);
  const diag = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let norm = 0;
    for (let i = c; i < m; i++) norm += Q[i * k + c] ** 2;
    norm = Math.sqrt(norm);
    const alpha = Q[c * k + c] > 0 ? -norm : norm;
    const v = new Float64Array(m);
    v[c] = Q[c * k + c] - alpha;
    for (let i = c + 1; i < m; i++) v[i] = Q[i * k + c];
    let vv = 0;
    for (let i = c; i < m; i++) vv += v[i] * v[i];
    diag[c] = alpha;
    if (vv === 0) continue;
    for (let cc = c; cc < k; cc++) {
      let s = 0;
      for (let i = c; i < m; i++) s += v[i] * Q[i * k + cc];
      const f = (2 * s) / vv;
      for (let i = c; i < m; i++) Q[i * k + cc] -= f * v[i];
    }
    let s = 0;
    for (let i = c; i < m; i++) s += v[i] * y[i];
    const f = (2 * s) / vv;
    for (let i = c; i < m; i++) y[i] -= f * v[i];
  }
  const z = new Float64Array(k);
  for (let c = k - 1; c >= 0; c--) {
    let s = y[c];
    for (let cc = c + 1; cc < k; cc++) s -= Q[c * k + cc] * z[cc];
    const d = Q[c * k + c];
    z[c] = Math.abs(d) > 1e-300 ? s / d : 0;
  }
  return z;
}
