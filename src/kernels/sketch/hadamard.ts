// Walsh–Hadamard transform of a batch of vectors with TensorFlow.js ops: y = H_n x for every row of an
// [N, n] tensor, n a power of two, H_n the unnormalised ±1 Sylvester matrix (H_n² = n·I, symmetric).
//
// There is no FWHT kernel in tfjs, so H_n = H_{f1} ⊗ ... ⊗ H_{fr} (Sylvester matrices compose by Kronecker
// product) is applied one small factor (≤ 64) at a time: a matMul on the last axis, then a transpose that
// moves that axis to the front; after r rounds the index order is the original one. Cost per vector
// n·Σ f_i multiply-adds (n = 1024: 2 rounds of 32) instead of n² for a dense product, and every op is a
// plain matMul/transpose that the wasm, cpu and CUDA backends all implement.

import type * as tfTypes from '@tensorflow/tfjs-core';

type Tf = typeof tfTypes;

/** The n×n Sylvester–Hadamard matrix (±1), row-major. */
export function hadamardMatrix(n: number): Float32Array {
  if (n < 1 || (n & (n - 1)) !== 0) throw new Error(`hadamardMatrix: ${n} is not a power of two`);
  const h = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] = popcount(i & j) % 2 === 0 ? 1 : -1;
  return h;
}

function popcount(x: number): number {
  let c = 0;
  while (x) {
    x &= x - 1;
    c++;
  }
  return c;
}

/** Factor n = 2^k into powers of two ≤ 64, as equal as possible (largest first). */
export function hadamardFactors(n: number): number[] {
  let k = Math.round(Math.log2(n));
  if (2 ** k !== n) throw new Error(`hadamard: ${n} is not a power of two`);
  const rounds = Math.max(1, Math.ceil(k / 6));
  const out: number[] = [];
  for (let r = rounds; r > 0; r--) {
    const b = Math.ceil(k / r);
    out.push(2 ** b);
    k -= b;
  }
  return out;
}

const matrixCache = new WeakMap<object, Map<number, tfTypes.Tensor2D>>();

/** Cached small Hadamard matrices as tensors (kept for the life of the tfjs engine; at most 64×64 each). */
function hTensor(tf: Tf, f: number): tfTypes.Tensor2D {
  const key = tf.engine() as unknown as object;
  let m = matrixCache.get(key);
  if (!m) {
    m = new Map();
    matrixCache.set(key, m);
  }
  let t = m.get(f);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.tensor2d(hadamardMatrix(f), [f, f]));
    m.set(f, t);
  }
  return t;
}

/** y = x·H_n for x of shape [N, n] (each row transformed). Call inside tf.tidy. */
export function fwht(tf: Tf, x: tfTypes.Tensor2D): tfTypes.Tensor2D {
  const [N, n] = x.shape;
  const factors = hadamardFactors(n);
  let y: tfTypes.Tensor = x;
  for (let r = factors.length - 1; r >= 0; r--) {
    const f = factors[r];
    const a = n / f;
    y = tf.matMul(tf.reshape(y, [N * a, f]), hTensor(tf, f));
    if (factors.length > 1) y = tf.transpose(tf.reshape(y, [N, a, f]), [0, 2, 1]);
  }
  return tf.reshape(y, [N, n]) as tfTypes.Tensor2D;
}

/** Plain float64 in-place fast Walsh–Hadamard transform of one vector (length a power of two). */
export function fwhtInPlace(v: Float64Array): void {
  const n = v.length;
  for (let h = 1; h < n; h *= 2) {
    for (let i = 0; i < n; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const a = v[j];
        const b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
}
