// Eigenpairs of symmetric matrices.
//
// - jacobiEigen: all eigenpairs of a small dense symmetric matrix (cyclic Jacobi, float64). Used for the
//   q'×q' projected matrices of subspace iteration, and as a reference.
// - topEigenpairs: the top-k eigenpairs of a large symmetric PSD matrix (the Nyström block K_ss of EigenPro),
//   by randomized subspace iteration whose heavy work (K·Q, QᵀQ, Q·R⁻¹) is tf.matMul on the active
//   TensorFlow.js backend (CUDA, wasm or cpu), with Rayleigh–Ritz on the small projected matrix in JS.

import { getTf, initBackend } from '../compute/backend.ts';
import { throwIfCancelled, yieldToLoop } from '../domain/run.ts';
import { mulberry32 } from '../util/random.ts';
import type * as tfTypes from '@tensorflow/tfjs-core';

/** Small seeded PRNG (mulberry32): reproducible subsamples, shuffles and random starts. */
export function makeRng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 0x9e3779b9);
}

/** Standard normal samples (Box–Muller) from a uniform generator. */
export function fillGaussian(out: Float32Array | Float64Array, rand: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = Math.max(rand(), 1e-300);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
}

export interface Eigen {
  /** Eigenvalues in decreasing order. */
  values: Float64Array;
  /** Eigenvectors as columns of an n×n row-major matrix: vector j is (vectors[0·n+j], vectors[1·n+j], ...). */
  vectors: Float64Array;
}

/**
 * All eigenpairs of a symmetric n×n matrix (row-major; only symmetric input is meaningful) by cyclic Jacobi
 * rotations. Accurate to a few ulps of ‖A‖ for every eigenvalue; O(n³) per sweep, ~6–10 sweeps.
 */
export function jacobiEigen(a: Float64Array | Float32Array, n: number, opts: { maxSweeps?: number } = {}): Eigen {
  if (a.length !== n * n) throw new Error(`jacobiEigen: expected ${n * n} entries, got ${a.length}`);
  const A = Float64Array.from(a);
  // Symmetrise (callers pass matrices symmetric up to rounding).
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const m = 0.5 * (A[i * n + j] + A[j * n + i]);
      A[i * n + j] = m;
      A[j * n + i] = m;
    }
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let frob = 0;
  for (let i = 0; i < n * n; i++) frob += A[i] * A[i];
  const maxSweeps = opts.maxSweeps ?? 60;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off <= 1e-30 * frob || off === 0) break;
    // Threshold Jacobi (Numerical Recipes): skip small rotations in the first sweeps; later, zero an
    // off-diagonal entry outright once it is below rounding of both diagonal entries it couples.
    const thresh = sweep < 3 ? (0.2 * Math.sqrt(off)) / (n * n) : 0;
    let rotated = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        const g = 100 * Math.abs(apq);
        if (sweep > 3 && Math.abs(app) + g === Math.abs(app) && Math.abs(aqq) + g === Math.abs(aqq)) {
          A[p * n + q] = 0;
          A[q * n + p] = 0;
          continue;
        }
        if (Math.abs(apq) < thresh) continue;
        rotated++;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J with the rotation in the (p, q) plane; rows then columns.
        for (let k = 0; k < n; k++) {
          const akp = A[p * n + k];
          const akq = A[q * n + k];
          A[p * n + k] = c * akp - s * akq;
          A[q * n + k] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
    if (rotated === 0 && thresh === 0) break;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j] - A[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = A[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = V[k * n + src];
  });
  return { values, vectors };
}

/**
 * All eigenpairs of a symmetric n×n matrix (row-major) by Householder tridiagonalisation and the implicit
 * QL algorithm (tred2/tql2 of EISPACK, as in JAMA). About 3–4× fewer operations than Jacobi and stable;
 * this is what the solvers use for the small projected matrices. Same result layout as jacobiEigen.
 */
export function symEigen(a: Float64Array | Float32Array, n: number): Eigen {
  if (a.length !== n * n) throw new Error(`symEigen: expected ${n * n} entries, got ${a.length}`);
  // V holds A (symmetrised) and becomes the eigenvectors; d, e the tridiagonal then the eigenvalues.
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) V[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(V, d, e, n);
  // QL on the transpose: the rotations then combine two contiguous rows instead of two strided columns.
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Vt[j * n + i] = V[i * n + j];
  tql2(Vt, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = Vt[src * n + k];
  });
  return { values, vectors };
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(Vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('symEigen: QL iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          // Vt rows i, i+1 are columns i, i+1 of the eigenvector matrix.
          const ri = i * n;
          const ri1 = ri + n;
          for (let k = 0; k < n; k++) {
            const vk1 = Vt[ri1 + k];
            const vk = Vt[ri + k];
            Vt[ri1 + k] = s * vk + c * vk1;
            Vt[ri + k] = c * vk - s * vk1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * Cholesky factor L (lower triangular, row-major, G = L·Lᵀ) of a small SPD matrix after adding shift·I,
 * by row dot products (contiguous access). Returns null when a pivot is not positive.
 */
function choleskyLower(G: Float64Array, k: number, shift: number): Float64Array | null {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    for (let j = 0; j <= i; j++) {
      const rj = j * k;
      // v = G_ij − Σ_t L_it L_jt, four accumulators
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let t = 0;
      for (; t + 3 < j; t += 4) {
        a0 += L[ri + t] * L[rj + t];
        a1 += L[ri + t + 1] * L[rj + t + 1];
        a2 += L[ri + t + 2] * L[rj + t + 2];
        a3 += L[ri + t + 3] * L[rj + t + 3];
      }
      for (; t < j; t++) a0 += L[ri + t] * L[rj + t];
      const v = G[ri + j] + (i === j ? shift : 0) - (a0 + a1 + a2 + a3);
      if (i === j) {
        if (!(v > 0)) return null;
        L[ri + i] = Math.sqrt(v);
      } else {
        L[ri + j] = v / L[rj + j];
      }
    }
  }
  return L;
}

/** Transpose of the inverse of a lower-triangular L: (L⁻¹)ᵀ, upper triangular, row-major. */
function invertLowerTransposed(L: Float64Array, k: number): Float64Array {
  // Rows of M = L⁻¹ by forward substitution in axpy form (row i from rows k < i), contiguous.
  // Column j of M = L⁻¹ solves L·m = e_j; stored as row j of Mt = (L⁻¹)ᵀ, so both the solve and the
  // result are contiguous: Mt[j][i] = (δ_ij − Σ_{j≤t<i} L[i][t]·Mt[j][t]) / L[i][i] for i ≥ j.
  const Mt = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const oj = j * k;
    Mt[oj + j] = 1 / L[j * k + j];
    for (let i = j + 1; i < k; i++) {
      const oi = i * k;
      let a0 = 0;
      let a1 = 0;
      let t = j;
      for (; t + 1 < i; t += 2) {
        a0 += L[oi + t] * Mt[oj + t];
        a1 += L[oi + t + 1] * Mt[oj + t + 1];
      }
      if (t < i) a0 += L[oi + t] * Mt[oj + t];
      Mt[oj + i] = -(a0 + a1) / L[oi + i];
    }
  }
  return Mt;
}

/**
 * Orthonormal basis of the columns of Y (s×k) with tfjs ops: two passes of column-normalised Cholesky-QR,
 * the first with a small diagonal shift so that it cannot fail on (numerically) dependent columns
 * (shifted CholeskyQR, Fukaya et al. 2020); the second restores orthonormality to float32 precision.
 * Disposes Y.
 */
function orthonormalize(tf: typeof tfTypes, Y: tfTypes.Tensor2D, rand: () => number, passes = 2): tfTypes.Tensor2D {
  const [s, k] = Y.shape;
  let cur = Y;
  for (let pass = 0; pass < passes; pass++) {
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(cur), 0)));
    const nrm = norms.dataSync();
    norms.dispose();
    // Columns that vanished (rank-deficient K): replace by fresh random directions.
    const dead: number[] = [];
    for (let j = 0; j < k; j++) if (!(nrm[j] > 1e-30) || !Number.isFinite(nrm[j])) dead.push(j);
    if (dead.length) {
      const data = cur.dataSync().slice() as Float32Array;
      const g = new Float32Array(s);
      for (const j of dead) {
        fillGaussian(g, rand);
        let ss = 0;
        for (let i = 0; i < s; i++) ss += g[i] * g[i];
        for (let i = 0; i < s; i++) data[i * k + j] = g[i];
        nrm[j] = Math.sqrt(ss);
      }
      cur.dispose();
      cur = tf.tensor2d(data, [s, k]);
    }
    const scaled = tf.tidy(() => tf.div(cur, tf.tensor1d(nrm)) as tfTypes.Tensor2D);
    cur.dispose();
    // Explicit transpose: wasm's transposeA path is ~10× slower than a plain product.
    const Gt = tf.tidy(() => tf.matMul(tf.transpose(scaled), scaled));
    const G = Float64Array.from(Gt.dataSync());
    Gt.dispose();
    let shift = pass === 0 ? 1e-5 : 0;
    let L = choleskyLower(G, k, shift);
    while (!L) {
      shift = shift === 0 ? 1e-7 : shift * 10;
      L = choleskyLower(G, k, shift);
    }
    // Q = Y·R⁻¹ with R = Lᵀ, i.e. Y·(L⁻¹)ᵀ
    const RinvT = tf.tensor2d(Float32Array.from(invertLowerTransposed(L, k)), [k, k]);
    cur = tf.matMul(scaled, RinvT);
    scaled.dispose();
    RinvT.dispose();
  }
  return cur;
}

/**
 * A copy of a with float32-subnormal magnitudes (< 1.2e-38) set to 0, or a itself when there are none:
 * subnormal operands slow SIMD matrix products down by an order of magnitude.
 */
export function flushDenormals(a: Float32Array): Float32Array {
  const min = 1.1754943508222875e-38;
  let i = 0;
  for (; i < a.length; i++) if (a[i] !== 0 && Math.abs(a[i]) < min) break;
  if (i === a.length) return a;
  const out = a.slice();
  for (; i < out.length; i++) if (out[i] !== 0 && Math.abs(out[i]) < min) out[i] = 0;
  return out;
}

export interface TopEigenOptions {
  /** Extra subspace columns beyond k (default k/4 clamped to [10, 64]): accuracy of the k-th pair. */
  oversample?: number;
  /** Power (subspace) iterations (default 8). */
  iterations?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface TopEigen {
  /** Top k eigenvalues, decreasing. */
  values: Float64Array;
  /** Eigenvectors, s×k row-major (column j = vector j), unit norm. */
  vectors: Float32Array;
  /** Ritz residual norms ‖K v_i − λ_i v_i‖ (same units as the eigenvalues). */
  residuals: Float64Array;
  /** tfjs backend that did the matrix products. */
  backend: string;
}

/**
 * Top-k eigenpairs of a symmetric PSD s×s matrix K (row-major float32), by randomized subspace iteration
 * with Rayleigh–Ritz. Cost O(s²·k·iterations) in tf.matMul plus O(k³) in JS.
 */
export async function topEigenpairs(K: Float32Array, s: number, k: number, opts: TopEigenOptions = {}): Promise<TopEigen> {
  if (K.length !== s * s) throw new Error(`topEigenpairs: expected ${s * s} entries, got ${K.length}`);
  if (!(k >= 1 && k <= s)) throw new Error(`topEigenpairs: k must be in [1, ${s}], got ${k}`);
  const tf = await getTf();
  const backend = (await initBackend()).name;
  const kk = Math.min(s, k + (opts.oversample ?? Math.min(64, Math.max(10, Math.ceil(k / 4)))));
  const iterations = opts.iterations ?? 8;
  const rand = makeRng(opts.seed ?? 1);
  const Kt = tf.tensor2d(flushDenormals(K), [s, s]);
  const omega = new Float32Array(s * kk);
  fillGaussian(omega, rand);
  let Q = orthonormalize(tf, tf.tensor2d(omega, [s, kk]), rand);
  try {
    for (let it = 0; it < iterations; it++) {
      throwIfCancelled(opts.signal);
      const Z = tf.matMul(Kt, Q) as tfTypes.Tensor2D;
      Q.dispose();
      // Two passes every iteration: with a single (shifted) pass the small directions of the basis carry
      // the shift's error into the next product, and the Ritz residuals of the tail grow (fewer usable q).
      Q = orthonormalize(tf, Z, rand);
      await yieldToLoop();
    }
    // Rayleigh–Ritz: B = Qᵀ K Q (kk×kk), B = W Θ Wᵀ, eigenvectors Q W.
    const Bt = tf.tidy(() => tf.matMul(tf.transpose(Q), tf.matMul(Kt, Q)));
    const B = Bt.dataSync() as Float32Array;
    Bt.dispose();
    const { values, vectors: W } = symEigen(B, kk);
    const Wk = new Float32Array(kk * k);
    for (let i = 0; i < kk; i++) for (let j = 0; j < k; j++) Wk[i * k + j] = W[i * kk + j];
    const Vt = tf.tidy(() => tf.matMul(Q, tf.tensor2d(Wk, [kk, k])));
    const vectors = Float32Array.from(Vt.dataSync() as Float32Array);
    // Ritz residuals ‖K v_i − θ_i v_i‖: how far each pair is from exact (float32 K and products).
    const theta = Float32Array.from(values.slice(0, k));
    const Rt = tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.sub(tf.matMul(Kt, Vt), tf.mul(Vt, tf.tensor1d(theta)))), 0)));
    const residuals = Float64Array.from(Rt.dataSync() as Float32Array);
    Rt.dispose();
    Vt.dispose();
    return { values: values.slice(0, k), vectors, residuals, backend };
  } finally {
    Q.dispose();
    Kt.dispose();
  }
}
