// Dense Cholesky factorization A = L·Lᵀ for symmetric positive (semi-)definite matrices, in plain
// Float64Array code (row-major, float64: kriging and GP systems are too ill-conditioned for float32).
//
// The factorization is blocked (right-looking, panels of NB columns packed into a contiguous buffer,
// 2×2 register blocking in the trailing update), so the O(n³/3) work runs from cache instead of
// streaming the whole triangle from memory for every row. Only the lower triangle of A is read.
//
// Nearly singular matrices (duplicate sites, a Gaussian covariance without nugget, a constant field)
// are handled by retrying with a diagonal jitter that grows ×10 from 1e-10·mean(diag A); the jitter
// used is reported in the factor so callers can show it in diagnostics.

export interface CholeskyFactor {
  n: number;
  /** Lower-triangular factor, row-major n×n (entries above the diagonal are zero). */
  L: Float64Array;
  /** Jitter added to the diagonal of A before factorization (0 when none was needed). */
  jitter: number;
}

export interface CholeskyOptions {
  /** Jitter to add to the diagonal from the start (default 0). */
  jitter?: number;
  /** Number of jitter increases tried before giving up (default 10, i.e. up to 1e-1·mean(diag)). */
  maxTries?: number;
}

/** Panel width of the blocked factorization (64 columns × 8 bytes: a panel row fits a few cache lines). */
const NB = 64;
/** A pivot below this fraction of the original diagonal entry counts as a breakdown (lost to round-off). */
const PIVOT_TOL = 4 * Number.EPSILON;
const EMPTY = new Float64Array(0);

/**
 * Factor a symmetric matrix (row-major n×n; only the lower triangle is used). If the matrix is not
 * numerically positive definite, retries with a growing diagonal jitter. Never returns NaN: throws an
 * Error when A contains non-finite values or stays indefinite after `maxTries` increases.
 */
export function cholesky(A: Float64Array, n: number, opts: CholeskyOptions = {}): CholeskyFactor {
  return choleskyInto(A, n, new Float64Array(n * n), opts);
}

/**
 * As `cholesky`, writing the factor into `out` (length ≥ n², row stride n) instead of allocating: for the
 * many small systems of a moving neighbourhood, where allocation would cost as much as the arithmetic.
 */
export function choleskyInto(A: Float64Array, n: number, out: Float64Array, opts: CholeskyOptions = {}): CholeskyFactor {
  if (!Number.isInteger(n) || n < 0) throw new Error(`cholesky: bad size ${n}`);
  if (out.length < n * n) throw new Error(`cholesky: output has ${out.length} entries, expected ${n * n}`);
  if (A.length < n * n) throw new Error(`cholesky: matrix has ${A.length} entries, expected ${n}×${n} = ${n * n}`);
  let sumDiag = 0;
  for (let i = 0; i < n; i++) {
    const rowOff = i * n;
    for (let j = 0; j <= i; j++) {
      if (!Number.isFinite(A[rowOff + j])) throw new Error(`cholesky: non-finite entry A[${i}][${j}] = ${A[rowOff + j]}`);
    }
    sumDiag += A[rowOff + i];
  }
  const meanDiag = n > 0 ? sumDiag / n : 1;
  const base = 1e-10 * (meanDiag > 0 ? meanDiag : 1);
  const maxTries = opts.maxTries ?? 10;
  let jitter = opts.jitter ?? 0;
  const L = out.length === n * n ? out : out.subarray(0, n * n);
  for (let attempt = 0; ; attempt++) {
    const failedAt = factorInto(A, n, jitter, L);
    if (failedAt < 0) return { n, L, jitter };
    if (attempt >= maxTries) {
      throw new Error(
        `cholesky: matrix (${n}×${n}) is not positive definite (pivot ${failedAt} failed) even with diagonal jitter ${jitter.toExponential(2)} ` +
          `(mean diagonal ${meanDiag.toExponential(3)}); check for non-symmetric input or a negative-definite covariance`,
      );
    }
    jitter = jitter > 0 ? Math.max(jitter * 10, base) : base;
  }
}

/** Copy the lower triangle of A (+ jitter on the diagonal) into L and factor in place. Returns -1 or the failing pivot. */
function factorInto(A: Float64Array, n: number, jitter: number, L: Float64Array): number {
  L.fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    for (let j = 0; j <= i; j++) L[o + j] = A[o + j];
    L[o + i] += jitter;
  }
  // packed panel (only needed when there is more than one block: small systems skip the allocation)
  const panel = n > NB ? new Float64Array(n * NB) : EMPTY;
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(n, k0 + NB);
    const bs = k1 - k0;
    // 1. Diagonal block (already updated by earlier panels): unblocked Cholesky–Banachiewicz.
    for (let i = k0; i < k1; i++) {
      const oi = i * n;
      for (let j = k0; j <= i; j++) {
        const oj = j * n;
        let s = L[oi + j];
        for (let k = k0; k < j; k++) s -= L[oi + k] * L[oj + k];
        if (i === j) {
          const orig = A[oi + i] + jitter;
          if (!(s > PIVOT_TOL * Math.abs(orig)) || !(s > 0)) return i;
          L[oi + i] = Math.sqrt(s);
        } else {
          L[oi + j] = s / L[oj + j];
        }
      }
    }
    // 2. Panel below the diagonal block: triangular solve row by row, then pack into `panel`.
    for (let i = k1; i < n; i++) {
      const oi = i * n;
      const pi = (i - k1) * bs;
      for (let j = k0; j < k1; j++) {
        const oj = j * n;
        let s = L[oi + j];
        for (let k = k0; k < j; k++) s -= L[oi + k] * L[oj + k];
        const v = s / L[oj + j];
        L[oi + j] = v;
        panel[pi + (j - k0)] = v;
      }
    }
    // 3. Trailing update of the lower triangle: L[i][j] -= panel[i]·panel[j] for k1 ≤ j ≤ i,
    //    in 2×4 register blocks (8 accumulators, 6 loads per 8 multiply-adds).
    let i = k1;
    for (; i + 1 < n; i += 2) {
      const pa = (i - k1) * bs;
      const pb = pa + bs;
      const oa = i * n;
      const ob = oa + n;
      let j = k1;
      for (; j + 3 <= i; j += 4) {
        const pc = (j - k1) * bs;
        const pd = pc + bs, pe = pd + bs, pf = pe + bs;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        for (let k = 0; k < bs; k++) {
          const a = panel[pa + k], b = panel[pb + k];
          const c0 = panel[pc + k], c1 = panel[pd + k], c2 = panel[pe + k], c3 = panel[pf + k];
          a0 += a * c0; a1 += a * c1; a2 += a * c2; a3 += a * c3;
          b0 += b * c0; b1 += b * c1; b2 += b * c2; b3 += b * c3;
        }
        L[oa + j] -= a0; L[oa + j + 1] -= a1; L[oa + j + 2] -= a2; L[oa + j + 3] -= a3;
        L[ob + j] -= b0; L[ob + j + 1] -= b1; L[ob + j + 2] -= b2; L[ob + j + 3] -= b3;
      }
      // remaining columns: j..i for row i, j..i+1 for row i+1
      for (; j <= i + 1; j++) {
        const pc = (j - k1) * bs;
        let s0 = 0, s1 = 0;
        for (let k = 0; k < bs; k++) {
          const c = panel[pc + k];
          s0 += panel[pa + k] * c; s1 += panel[pb + k] * c;
        }
        if (j <= i) L[oa + j] -= s0;
        L[ob + j] -= s1;
      }
    }
    for (; i < n; i++) {
      const pa = (i - k1) * bs;
      const oa = i * n;
      for (let j = k1; j <= i; j++) {
        const pc = (j - k1) * bs;
        let s = 0;
        for (let k = 0; k < bs; k++) s += panel[pa + k] * panel[pc + k];
        L[oa + j] -= s;
      }
    }
  }
  return -1;
}

/** Solve L·Y = B in place on a copy of B (n×nrhs row-major). */
export function choleskyForward(f: CholeskyFactor, b: Float64Array, nrhs = 1): Float64Array {
  const { n, L } = f;
  if (b.length < n * nrhs) throw new Error(`cholesky solve: right-hand side has ${b.length} entries, expected ${n}×${nrhs}`);
  const y = Float64Array.from(b.subarray(0, n * nrhs));
  forwardInPlace(L, n, y, nrhs);
  return y;
}

/**
 * Solve L·y = b for m right-hand sides stored as ROWS of B (m×n row-major, each right-hand side contiguous).
 * Dot-product form with four right-hand sides per pass, so each row of L is loaded once per four solves:
 * several times faster than the axpy form for many right-hand sides (e.g. one per grid cell).
 */
export function choleskyForwardRows(f: CholeskyFactor, B: Float64Array, m: number): Float64Array {
  const { n, L } = f;
  if (B.length < n * m) throw new Error(`cholesky solve: right-hand sides have ${B.length} entries, expected ${m}×${n}`);
  const Y = Float64Array.from(B.subarray(0, n * m));
  let r = 0;
  for (; r + 7 < m; r += 8) {
    const o0 = r * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n, o4 = o3 + n, o5 = o4 + n, o6 = o5 + n, o7 = o6 + n;
    for (let i = 0; i < n; i++) {
      const oi = i * n;
      let s0 = Y[o0 + i], s1 = Y[o1 + i], s2 = Y[o2 + i], s3 = Y[o3 + i];
      let s4 = Y[o4 + i], s5 = Y[o5 + i], s6 = Y[o6 + i], s7 = Y[o7 + i];
      for (let k = 0; k < i; k++) {
        const l = L[oi + k];
        s0 -= l * Y[o0 + k]; s1 -= l * Y[o1 + k]; s2 -= l * Y[o2 + k]; s3 -= l * Y[o3 + k];
        s4 -= l * Y[o4 + k]; s5 -= l * Y[o5 + k]; s6 -= l * Y[o6 + k]; s7 -= l * Y[o7 + k];
      }
      const inv = 1 / L[oi + i];
      Y[o0 + i] = s0 * inv; Y[o1 + i] = s1 * inv; Y[o2 + i] = s2 * inv; Y[o3 + i] = s3 * inv;
      Y[o4 + i] = s4 * inv; Y[o5 + i] = s5 * inv; Y[o6 + i] = s6 * inv; Y[o7 + i] = s7 * inv;
    }
  }
  for (; r + 3 < m; r += 4) {
    const o0 = r * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
    for (let i = 0; i < n; i++) {
      const oi = i * n;
      let s0 = Y[o0 + i], s1 = Y[o1 + i], s2 = Y[o2 + i], s3 = Y[o3 + i];
      for (let k = 0; k < i; k++) {
        const l = L[oi + k];
        s0 -= l * Y[o0 + k]; s1 -= l * Y[o1 + k]; s2 -= l * Y[o2 + k]; s3 -= l * Y[o3 + k];
      }
      const inv = 1 / L[oi + i];
      Y[o0 + i] = s0 * inv; Y[o1 + i] = s1 * inv; Y[o2 + i] = s2 * inv; Y[o3 + i] = s3 * inv;
    }
  }
  for (; r < m; r++) forwardInPlace(L, n, Y.subarray(r * n, r * n + n), 1);
  return Y;
}

function forwardInPlace(L: Float64Array, n: number, y: Float64Array, nrhs: number): void {
  if (nrhs === 1) {
    for (let i = 0; i < n; i++) {
      const oi = i * n;
      let s = y[i];
      for (let k = 0; k < i; k++) s -= L[oi + k] * y[k];
      y[i] = s / L[oi + i];
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const oi = i * n;
    const yi = i * nrhs;
    for (let k = 0; k < i; k++) {
      const l = L[oi + k];
      if (l === 0) continue;
      const yk = k * nrhs;
      for (let r = 0; r < nrhs; r++) y[yi + r] -= l * y[yk + r];
    }
    const inv = 1 / L[oi + i];
    for (let r = 0; r < nrhs; r++) y[yi + r] *= inv;
  }
}

/** Solve Lᵀ·X = Y in place (column-oriented so that L is read along its rows). */
function backwardInPlace(L: Float64Array, n: number, x: Float64Array, nrhs: number): void {
  if (nrhs === 1) {
    for (let i = n - 1; i >= 0; i--) {
      const oi = i * n;
      const xi = x[i] / L[oi + i];
      x[i] = xi;
      for (let k = 0; k < i; k++) x[k] -= L[oi + k] * xi;
    }
    return;
  }
  for (let i = n - 1; i >= 0; i--) {
    const oi = i * n;
    const xi = i * nrhs;
    const inv = 1 / L[oi + i];
    for (let r = 0; r < nrhs; r++) x[xi + r] *= inv;
    for (let k = 0; k < i; k++) {
      const l = L[oi + k];
      if (l === 0) continue;
      const xk = k * nrhs;
      for (let r = 0; r < nrhs; r++) x[xk + r] -= l * x[xi + r];
    }
  }
}

/** In place: x ← (A + jitter·I)⁻¹x for one right-hand side (no allocation). */
export function choleskySolveInPlace(f: CholeskyFactor, x: Float64Array): void {
  forwardInPlace(f.L, f.n, x, 1);
  backwardInPlace(f.L, f.n, x, 1);
}

/** In place: x ← L⁻ᵀx for one right-hand side (no allocation). */
export function choleskyBackwardInPlace(f: CholeskyFactor, x: Float64Array): void {
  backwardInPlace(f.L, f.n, x, 1);
}

/** In place: x ← L⁻¹x for one right-hand side (no allocation). */
export function choleskyForwardInPlace(f: CholeskyFactor, x: Float64Array): void {
  forwardInPlace(f.L, f.n, x, 1);
}

/** Solve (A + jitter·I)·X = B for B of shape n×nrhs (row-major). Returns a new array. */
export function choleskySolve(f: CholeskyFactor, b: Float64Array, nrhs = 1): Float64Array {
  const { n, L } = f;
  if (b.length < n * nrhs) throw new Error(`cholesky solve: right-hand side has ${b.length} entries, expected ${n}×${nrhs}`);
  const x = Float64Array.from(b.subarray(0, n * nrhs));
  forwardInPlace(L, n, x, nrhs);
  backwardInPlace(L, n, x, nrhs);
  return x;
}

/** Lower-triangular inverse L⁻¹ (row-major), by forward substitution column block by column block. */
export function choleskyInverseFactor(f: CholeskyFactor): Float64Array {
  const { n, L } = f;
  const M = new Float64Array(n * n);
  // Row i of L⁻¹: M[i][j] = (δ_ij − Σ_{j≤k<i} L[i][k]·M[k][j]) / L[i][i]; rows are built from earlier rows (axpy form).
  for (let i = 0; i < n; i++) {
    const oi = i * n;
    for (let k = 0; k < i; k++) {
      const l = L[oi + k];
      if (l === 0) continue;
      const ok = k * n;
      for (let j = 0; j <= k; j++) M[oi + j] -= l * M[ok + j];
    }
    M[oi + i] += 1;
    const inv = 1 / L[oi + i];
    for (let j = 0; j <= i; j++) M[oi + j] *= inv;
  }
  return M;
}

/** Diagonal of (A + jitter·I)⁻¹: [A⁻¹]_ii = Σ_k (L⁻¹)_ki² (column norms of L⁻¹). */
export function choleskyInverseDiag(f: CholeskyFactor): Float64Array {
  const { n } = f;
  const M = choleskyInverseFactor(f);
  const d = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const ok = k * n;
    for (let i = 0; i <= k; i++) {
      const v = M[ok + i];
      d[i] += v * v;
    }
  }
  return d;
}

/** Full inverse (A + jitter·I)⁻¹ = L⁻ᵀ·L⁻¹ (row-major, symmetric). O(n³); use only when the blocks are needed. */
export function choleskyInverse(f: CholeskyFactor): Float64Array {
  const { n } = f;
  const M = choleskyInverseFactor(f);
  const X = new Float64Array(n * n);
  // X[i][j] = Σ_{k ≥ max(i,j)} M[k][i]·M[k][j]: accumulate row k's outer product into the lower triangle.
  for (let k = 0; k < n; k++) {
    const ok = k * n;
    for (let i = 0; i <= k; i++) {
      const mi = M[ok + i];
      if (mi === 0) continue;
      const oi = i * n;
      for (let j = 0; j <= i; j++) X[oi + j] += mi * M[ok + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) X[j * n + i] = X[i * n + j];
  return X;
}

/** log det(A + jitter·I) = 2 Σ log L_ii. */
export function choleskyLogDet(f: CholeskyFactor): number {
  const { n, L } = f;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(L[i * n + i]);
  return 2 * s;
}
