// The filter gradient of a stride-1 'same' 2-D convolution, on every tfjs backend.
//
// The network backpropagates by hand (network.ts): @tensorflow/tfjs-core alone registers no gradient
// functions (the @tensorflow/tfjs bundle does), and tfjs-backend-wasm 4.22 has Conv2D and
// Conv2DBackpropInput but no Conv2DBackpropFilter kernel. Where that kernel is missing the gradient is
// computed here from K² shifted input windows and the output gradient:
//   dW[kh, kw, c, k] = Σ_{b,i,j} xpad[b, i+kh, j+kw, c] · dy[b, i, j, k]
// (the same sum the native kernel does; wasm's matMul is single-threaded and deterministic), arranged as
// contiguous-window matrix products (convFilterGradWindows) because strided slices are slow there.

import * as tf from '@tensorflow/tfjs-core';

const nativeFilterGrad = new Map<string, boolean>();

/** Whether the active backend has a Conv2DBackpropFilter kernel. */
export function hasNativeFilterGrad(backend = tf.getBackend()): boolean {
  let v = nativeFilterGrad.get(backend);
  if (v === undefined) {
    v = tf.getKernel('Conv2DBackpropFilter', backend) !== undefined;
    nativeFilterGrad.set(backend, v);
  }
  return v;
}

/** Filter gradient from shifted windows, the literal formula (reference for tests; slow on wasm). */
export function convFilterGradShifted(x: tf.Tensor4D, dy: tf.Tensor4D, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const cout = dy.shape[3];
    const p = (size - 1) / 2;
    const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    const dy2 = tf.reshape(dy, [B * H * W, cout]);
    const parts: tf.Tensor2D[] = [];
    for (let kh = 0; kh < size; kh++) {
      for (let kw = 0; kw < size; kw++) {
        const xs = tf.reshape(tf.slice(xp, [0, kh, kw, 0], [B, H, W, C]), [B * H * W, C]);
        parts.push(tf.matMul(xs, dy2, true, false));
      }
    }
    return tf.reshape(tf.stack(parts), [size, size, C, cout]);
  });
}

/**
 * Filter gradient as K² contiguous-window matrix products (fast on wasm); with perSample, one per batch
 * element ([B, K, K, C, Cout], returned typed as 4-D for brevity: reshape before use). In the zero-padded image flattened
 * row-major with row stride W' = W + 2p, the window of offset (kh, kw) is the flat range starting at
 * off = kh·W' + kw; dy is laid out with the same stride (2p zero columns per row, trailing ones dropped:
 * M = H·W' − 2p entries), so dW[kh, kw] = Xᵀ[:, off : off+M] · dy'. The copies are made of whichever of x
 * (C channels) or dy (C_out channels) is thinner.
 */
export function convFilterGradWindows(x: tf.Tensor4D, dy: tf.Tensor4D, size: number, perSample = false): tf.Tensor4D {
  return tf.tidy((): tf.Tensor4D => {
    const [B, H, W, C] = x.shape;
    const co = dy.shape[3];
    const p = (size - 1) / 2;
    const Wp = W + 2 * p;
    const N = (H + 2 * p) * Wp;
    const M = H * Wp - 2 * p;
    const xpad = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    const dyW = p > 0 ? tf.pad(dy, [[0, 0], [0, 0], [0, 2 * p], [0, 0]]) : dy;
    const dyP = tf.slice(tf.reshape(dyW, [B, H * Wp, co]) as tf.Tensor3D, [0, 0, 0], [B, M, co]);
    if (co < C && !perSample) {
      // shift dy: Y_off = dy' placed at offset off in a length-N column; one batched product with Xᵀ
      const xT = tf.reshape(tf.transpose(xpad, [3, 0, 1, 2]), [C, B * N]);
      const ys: tf.Tensor2D[] = [];
      for (let kh = 0; kh < size; kh++) {
        for (let kw = 0; kw < size; kw++) {
          const off = kh * Wp + kw;
          ys.push(tf.reshape(tf.pad(dyP, [[0, 0], [off, N - M - off], [0, 0]]), [B * N, co]));
        }
      }
      const X = tf.expandDims(xT, 0) as tf.Tensor3D;
      const Y = tf.stack(ys) as tf.Tensor3D;
      return tf.reshape(tf.matMul(X, Y), [size, size, C, co]) as tf.Tensor4D;
    }
    // shift x: K² column windows of Xᵀ, stacked, times dy'
    const xT = tf.reshape(tf.transpose(xpad, [0, 3, 1, 2]), [B, C, N]) as tf.Tensor3D;
    const parts: tf.Tensor3D[] = [];
    for (let kh = 0; kh < size; kh++) {
      for (let kw = 0; kw < size; kw++) parts.push(tf.slice(xT, [0, 0, kh * Wp + kw], [B, C, M]));
    }
    const r = tf.matMul(tf.concat(parts, 1), dyP); // [B, K²·C, co]
    const shape = perSample ? [B, size, size, C, co] : [size, size, C, co];
    return tf.reshape<tf.Rank>(B === 1 || perSample ? r : tf.sum(r, 0), shape) as tf.Tensor4D;
  });
}

/** One filter gradient per batch element: [B, K, K, C, Cout] (for per-pixel gradients, see ntk.ts). */
export function convFilterGradPerSample(x: tf.Tensor4D, dy: tf.Tensor4D, size: number): tf.Tensor {
  return convFilterGradWindows(x, dy, size, true);
}

/** dL/dW of y = conv2d(x, W, stride 1, 'same') given dy = dL/dy; W is K×K (K odd). */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, size: number): tf.Tensor4D {
  if (!hasNativeFilterGrad()) return convFilterGradWindows(x, dy, size);
  const filterShape = [size, size, x.shape[3], dy.shape[3]];
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape } as never) as tf.Tensor4D;
}

