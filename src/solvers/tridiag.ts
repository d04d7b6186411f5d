// Shifted solves (A + λI)⁻¹ for MANY λ from one Householder tridiagonalisation A = Q T Qᵀ (float64).
//
// Kernel ridge regression chooses λ by closed-form leave-one-out, which needs, for each λ on a grid,
// α = (A+λI)⁻¹y and diag((A+λI)⁻¹). An eigendecomposition gives both in O(n²) per λ, but its QL
// iterations with vectors cost ~6n³ on top of the reduction. The reduction alone suffices:
// (A+λI)⁻¹ = Q (T+λI)⁻¹ Qᵀ, and solving with the tridiagonal T+λI is O(n) per right-hand side, so
//   α          = Q (T+λI)⁻¹ Qᵀ y                   O(n²)
//   diag       = rowsums of Q ∘ [(T+λI)⁻¹ Qᵀ]ᵀ      O(n²)  (n tridiagonal solves done as row sweeps)
//   block F×F  = Q_F (T+λI)⁻¹ Q_Fᵀ                   O(n·|F|)
// after ~(2 + 4/3)·n³ flops once (tridiagonalisation with full rank-2 updates, then forming Q), all with
// contiguous row-major access. For symmetric positive semi-definite A and λ > 0, T+λI is positive definite
// and the Thomas (LDLᵀ) recursion is stable without pivoting.

import { CancelledError, type RunContext } from '../domain/run.ts';

export interface Tridiagonal {
  n: number;
  /** Diagonal of T. */
  d: Float64Array;
  /** Off-diagonal of T: e[i] = T[i][i+1] (length max(0, n−1)). */
  e: Float64Array;
  /** Z = Qᵀ, n×n row-major, so that A = Zᵀ T Z. */
  Z: Float64Array;
}

async function maybeYield(ctx: RunContext | undefined, state: { last: number }): Promise<void> {
  if (ctx?.signal?.aborted) throw new CancelledError();
  const now = performance.now();
  if (now - state.last > 40) {
    state.last = now;
    await new Promise<void>((r) => setImmediate(r));
    if (ctx?.signal?.aborted) throw new CancelledError();
  }
}

/**
 * Householder reduction of a symmetric n×n matrix (row-major; symmetrised on entry) to tridiagonal form.
 * Works on the lower triangle only: symmetric matrix–vector products and rank-2 updates touch each entry
 * once per step (≈ 4/3·n³ flops), then Q is formed by backward accumulation (≈ 4/3·n³).
 */
export async function tridiagonalize(a: ArrayLike<number>, n: number, ctx?: RunContext): Promise<Tridiagonal> {
  if (a.length !== n * n) throw new Error(`tridiagonalize: expected ${n * n} entries, got ${a.length}`);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) A[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const beta = new Float64Array(n);
  // V: row k holds the Householder vector v_k on indices k+1..n−1
  const V = new Float64Array(n * n);
  const p = new Float64Array(n);
  const w = new Float64Array(n);
  const y = { last: performance.now() };
  for (let k = 0; k < n - 2; k++) {
    d[k] = A[k * n + k];
    const rk = k * n;
    // x = column k below the diagonal
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) {
      const xi = A[i * n + k];
      V[rk + i] = xi;
      norm2 += xi * xi;
    }
    const x0 = V[rk + k + 1];
    if (norm2 === 0 || norm2 === x0 * x0) {
      e[k] = x0; // already reduced: H_k = I
      beta[k] = 0;
      continue;
    }
    const norm = Math.sqrt(norm2);
    const alpha = x0 >= 0 ? -norm : norm;
    e[k] = alpha;
    V[rk + k + 1] = x0 - alpha;
    const b = 2 / (norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha));
    beta[k] = b;
    // p = B v with B = trailing block, from its lower triangle
    p.fill(0, k + 1);
    for (let i = k + 1; i < n; i++) {
      const ri = i * n;
      const vi = V[rk + i];
      let s = 0;
      for (let j = k + 1; j < i; j++) {
        const bij = A[ri + j];
        s += bij * V[rk + j];
        p[j] += bij * vi;
      }
      p[i] += s + A[ri + i] * vi;
    }
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] *= b;
      vp += V[rk + i] * p[i];
    }
    const K = 0.5 * b * vp;
    for (let i = k + 1; i < n; i++) w[i] = p[i] - K * V[rk + i];
    // B −= v wᵀ + w vᵀ (lower triangle)
    for (let i = k + 1; i < n; i++) {
      const ri = i * n;
      const vi = V[rk + i];
      const wi = w[i];
      for (let j = k + 1; j <= i; j++) A[ri + j] -= vi * w[j] + wi * V[rk + j];
    }
    await maybeYield(ctx, y);
  }
  if (n >= 2) {
    d[n - 2] = A[(n - 2) * n + n - 2];
    e[n - 2] = A[(n - 1) * n + n - 2];
  }
  if (n >= 1) d[n - 1] = A[(n - 1) * n + n - 1];
  // Q = H_0 H_1 ⋯ H_{n−3}, accumulated backwards so that each H_k touches only the trailing block
  const Q = A; // reuse the storage
  Q.fill(0);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  const u = new Float64Array(n);
  for (let k = n - 3; k >= 0; k--) {
    const b = beta[k];
    if (b === 0) continue;
    const rk = k * n;
    u.fill(0, k + 1);
    for (let i = k + 1; i < n; i++) {
      const vi = V[rk + i];
      if (vi === 0) continue;
      const ri = i * n;
      for (let j = k + 1; j < n; j++) u[j] += vi * Q[ri + j];
    }
    for (let i = k + 1; i < n; i++) {
      const f = b * V[rk + i];
      if (f === 0) continue;
      const ri = i * n;
      for (let j = k + 1; j < n; j++) Q[ri + j] -= f * u[j];
    }
    await maybeYield(ctx, y);
  }
  const Z = V; // reuse: Z = Qᵀ
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Z[j * n + i] = Q[i * n + j];
  return { n, d, e, Z };
}

/** LDLᵀ pivots of T + λI: denom[i] and c[i] = e[i]/denom[i]. Throws when not positive definite. */
function factorShifted(t: Tridiagonal, lambda: number): { denom: Float64Array; c: Float64Array } {
  const { n, d, e } = t;
  const denom = new Float64Array(n);
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dd = d[i] + lambda - (i > 0 ? e[i - 1] * c[i - 1] : 0);
    if (!(dd > 0)) throw new Error(`shifted tridiagonal system is not positive definite at λ=${lambda} (pivot ${i}: ${dd})`);
    denom[i] = dd;
    c[i] = i < n - 1 ? e[i] / dd : 0;
  }
  return { denom, c };
}

/** Solve (T+λI) X = B in place for B of shape n×m (row i holds component i of all m right-hand sides). */
function solveRowsInPlace(t: Tridiagonal, f: { denom: Float64Array; c: Float64Array }, B: Float64Array, m: number): void {
  const { n, e } = t;
  for (let i = 0; i < n; i++) {
    const ri = i * m;
    const inv = 1 / f.denom[i];
    if (i > 0) {
      const ep = e[i - 1];
      const rp = ri - m;
      for (let j = 0; j < m; j++) B[ri + j] = (B[ri + j] - ep * B[rp + j]) * inv;
    } else {
      for (let j = 0; j < m; j++) B[ri + j] *= inv;
    }
  }
  for (let i = n - 2; i >= 0; i--) {
    const ri = i * m;
    const ci = f.c[i];
    for (let j = 0; j < m; j++) B[ri + j] -= ci * B[ri + m + j];
  }
}

/** Shifted solves for one tridiagonalisation; every method is O(n²) or less. */
export class ShiftedSolver {
  constructor(readonly tri: Tridiagonal) {}

  get n(): number {
    return this.tri.n;
  }

  /** u = Qᵀ y = Z y: project once, then solve for any λ with solveProjected. */
  project(y: ArrayLike<number>): Float64Array {
    const { n, Z } = this.tri;
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const ri = i * n;
      for (let j = 0; j < n; j++) s += Z[ri + j] * y[j];
      u[i] = s;
    }
    return u;
  }

  /** (A+λI)⁻¹ y from u = project(y). */
  solveProjected(u: Float64Array, lambda: number): Float64Array {
    const { n, Z } = this.tri;
    const v = Float64Array.from(u);
    solveRowsInPlace(this.tri, factorShifted(this.tri, lambda), v, 1);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const vi = v[i];
      const ri = i * n;
      for (let j = 0; j < n; j++) x[j] += Z[ri + j] * vi;
    }
    return x;
  }

  solve(y: ArrayLike<number>, lambda: number): Float64Array {
    return this.solveProjected(this.project(y), lambda);
  }

  /** diag((A+λI)⁻¹). */
  inverseDiag(lambda: number): Float64Array {
    const { n, Z } = this.tri;
    const Y = Float64Array.from(Z);
    solveRowsInPlace(this.tri, factorShifted(this.tri, lambda), Y, n);
    const diag = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const rj = j * n;
      for (let i = 0; i < n; i++) diag[i] += Z[rj + i] * Y[rj + i];
    }
    return diag;
  }

  /** The |F|×|F| block of (A+λI)⁻¹ on indices F (row-major). */
  inverseBlock(lambda: number, F: ArrayLike<number>): Float64Array {
    const { n, Z } = this.tri;
    const m = F.length;
    const ZF = new Float64Array(n * m);
    for (let j = 0; j < n; j++) for (let b = 0; b < m; b++) ZF[j * m + b] = Z[j * n + F[b]];
    const Y = Float64Array.from(ZF);
    solveRowsInPlace(this.tri, factorShifted(this.tri, lambda), Y, m);
    const out = new Float64Array(m * m);
    for (let j = 0; j < n; j++) {
      const rj = j * m;
      for (let a = 0; a < m; a++) {
        const za = ZF[rj + a];
        if (za === 0) continue;
        for (let b = 0; b < m; b++) out[a * m + b] += za * Y[rj + b];
      }
    }
    return out;
  }
}
