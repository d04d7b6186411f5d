// A kernel matrix seen only through blocks of rows, so that iterative solvers (EigenPro) never need the
// whole n×n matrix in memory and do not care where the kernel comes from: a precomputed matrix (the exact
// CNTK between observed cells), or a kernel function evaluated on demand on points (tests, benchmarks).

/** A symmetric positive semi-definite n×n kernel matrix K, read by rows. */
export interface KernelOperator {
  n: number;
  /** Rows idx × all n columns, row-major Float32Array of length idx.length·n. */
  rows(idx: Int32Array): Float32Array | Promise<Float32Array>;
  /** The n diagonal entries K_ii. */
  diag(): Float32Array;
}

export interface DenseOperatorOptions {
  /** Number of rows/columns of the operator. */
  n: number;
  /** Distance between consecutive rows of `data` (default: n, or the source width when colIndex is given). */
  stride?: number;
  /** Source row of operator row i (default: i). */
  rowIndex?: Int32Array;
  /** Source column of operator column j (default: j, i.e. the first n columns of each row). */
  colIndex?: Int32Array;
}

/**
 * Operator over a dense precomputed matrix, or a slice of one: K_ij = data[rowIndex[i]·stride + colIndex[j]].
 * Examples: a full P×P kernel restricted to observed cells O (rowIndex = colIndex = O, stride = P);
 * rows of observed cells against all pixels (n×P, colIndex = O, stride = P).
 */
export function denseKernelOperator(data: Float32Array | Float64Array, opts: DenseOperatorOptions): KernelOperator {
  const { n, rowIndex, colIndex } = opts;
  const stride = opts.stride ?? n;
  if (!Number.isInteger(n) || n < 1) throw new Error(`denseKernelOperator: n must be a positive integer, got ${n}`);
  if (rowIndex && rowIndex.length !== n) throw new Error(`denseKernelOperator: rowIndex has ${rowIndex.length} entries, expected ${n}`);
  if (colIndex && colIndex.length !== n) throw new Error(`denseKernelOperator: colIndex has ${colIndex.length} entries, expected ${n}`);
  if (!colIndex && stride < n) throw new Error(`denseKernelOperator: stride ${stride} < n ${n}`);
  const maxRow = rowIndex ? Math.max(...rowIndex) : n - 1;
  if ((maxRow + 1) * stride > data.length) throw new Error(`denseKernelOperator: data too short (${data.length}) for row ${maxRow} with stride ${stride}`);
  if (colIndex) for (const c of colIndex) if (c < 0 || c >= stride) throw new Error(`denseKernelOperator: column ${c} outside [0, ${stride})`);
  const src = (i: number) => (rowIndex ? rowIndex[i] : i);
  return {
    n,
    rows(idx: Int32Array): Float32Array {
      const out = new Float32Array(idx.length * n);
      for (let r = 0; r < idx.length; r++) {
        const i = idx[r];
        if (i < 0 || i >= n) throw new Error(`kernel row ${i} outside [0, ${n})`);
        const base = src(i) * stride;
        const o = r * n;
        if (colIndex) {
          for (let j = 0; j < n; j++) out[o + j] = data[base + colIndex[j]];
        } else {
          out.set(data.subarray(base, base + n), o);
        }
      }
      return out;
    },
    diag(): Float32Array {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = data[src(i) * stride + (colIndex ? colIndex[i] : i)];
      return d;
    },
  };
}

export type PointKernelKind = 'rbf' | 'laplacian';

export interface PointKernel {
  kind: PointKernelKind;
  /** Length scale ℓ, in the units of the points. */
  lengthScale: number;
  /** Kernel value at zero distance (default 1). */
  variance?: number;
}

const FLUSH = 1e-30;

/** k(a, b) for two points given by squared distance: rbf = v·exp(−d²/(2ℓ²)), laplacian = v·exp(−d/ℓ). */
function kernelFromSq(kernel: PointKernel): (d2: number) => number {
  const v = kernel.variance ?? 1;
  const l = kernel.lengthScale;
  if (!(l > 0)) throw new Error(`kernel length scale must be > 0, got ${l}`);
  if (!(v > 0)) throw new Error(`kernel variance must be > 0, got ${v}`);
  // Values below FLUSH·v become exact zeros: float32 denormals make wasm/SIMD matrix products ~10× slower.
  const tiny = FLUSH * v;
  if (kernel.kind === 'rbf') {
    const c = -1 / (2 * l * l);
    return (d2) => {
      const k = v * Math.exp(c * d2);
      return k < tiny ? 0 : k;
    };
  }
  const c = -1 / l;
  return (d2) => {
    const k = v * Math.exp(c * Math.sqrt(d2));
    return k < tiny ? 0 : k;
  };
}

/**
 * Cross kernel rows: K(queries, points), queries.length/dim × points.length/dim, row-major Float32Array.
 * Points are row-major (x0, y0, x1, y1, ... for dim = 2).
 */
export function crossKernel(points: Float64Array, queries: Float64Array, dim: number, kernel: PointKernel): Float32Array {
  const n = points.length / dim;
  const m = queries.length / dim;
  const k = kernelFromSq(kernel);
  const out = new Float32Array(m * n);
  for (let r = 0; r < m; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) {
      let d2 = 0;
      for (let t = 0; t < dim; t++) {
        const d = queries[r * dim + t] - points[j * dim + t];
        d2 += d * d;
      }
      out[o + j] = k(d2);
    }
  }
  return out;
}

/** Operator for an explicit RBF / Laplacian kernel on points (row-major, `dim` coordinates each). */
export function pointKernelOperator(points: Float64Array, dim: number, kernel: PointKernel): KernelOperator {
  if (!Number.isInteger(dim) || dim < 1 || points.length % dim !== 0) throw new Error(`pointKernelOperator: ${points.length} coordinates is not a multiple of dim ${dim}`);
  const n = points.length / dim;
  const k = kernelFromSq(kernel);
  const v = kernel.variance ?? 1;
  return {
    n,
    rows(idx: Int32Array): Float32Array {
      const out = new Float32Array(idx.length * n);
      if (dim === 2) {
        // The common case (2-D sites): unrolled, no inner loop over coordinates.
        for (let r = 0; r < idx.length; r++) {
          const i = idx[r];
          const xi = points[2 * i];
          const yi = points[2 * i + 1];
          const o = r * n;
          for (let j = 0; j < n; j++) {
            const dx = xi - points[2 * j];
            const dy = yi - points[2 * j + 1];
            out[o + j] = k(dx * dx + dy * dy);
          }
        }
        return out;
      }
      for (let r = 0; r < idx.length; r++) {
        const i = idx[r];
        const o = r * n;
        for (let j = 0; j < n; j++) {
          let d2 = 0;
          for (let t = 0; t < dim; t++) {
            const d = points[i * dim + t] - points[j * dim + t];
            d2 += d * d;
          }
          out[o + j] = k(d2);
        }
      }
      return out;
    },
    diag(): Float32Array {
      return new Float32Array(n).fill(v);
    },
  };
}

/** Apply the operator to a vector block: out = K x, reading `chunk` rows at a time (memory O(chunk·n)). */
export async function applyOperator(op: KernelOperator, x: Float64Array, chunk = 256): Promise<Float64Array> {
  const n = op.n;
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const idx = new Int32Array(end - start);
    for (let i = 0; i < idx.length; i++) idx[i] = start + i;
    const block = await op.rows(idx);
    for (let r = 0; r < idx.length; r++) {
      let acc = 0;
      const o = r * n;
      for (let j = 0; j < n; j++) acc += block[o + j] * x[j];
      out[start + r] = acc;
    }
  }
  return out;
}
