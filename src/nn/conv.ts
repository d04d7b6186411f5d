// The filter gradient of a stride-1 'same' 2-D convolution, on every tfjs backend.
//
// The network backpropagates by hand (network.ts): @tensorflow/tfjs-core alone registers no gradient
// functions (the @tensorflow/tfjs bundle does), and tfjs-backend-wasm 4.22 has Conv2D and
// Conv2DBackpropInput but no Conv2DBackpropFilter kernel. Where that kernel is missing the gradient is
// computed here as K² matrix products of shifted input windows with the output gradient:
//   dW[kh, kw, c, k] = Σ_{b,i,j} xpad[b, i+kh, j+kw, c] · dy[b, i, j, k]
// (the same sum the native kernel does; wasm's matMul is single-threaded and deterministic).

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

/** Filter gradient from shifted windows (any backend). x [B,H,W,C], dy [B,H,W,Cout] → [K,K,C,Cout]. */
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

/** dL/dW of y = conv2d(x, W, stride 1, 'same') given dy = dL/dy; W is K×K (K odd). */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, size: number): tf.Tensor4D {
  if (!hasNativeFilterGrad()) return convFilterGradShifted(x, dy, size);
  const filterShape = [size, size, x.shape[3], dy.shape[3]];
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape } as never) as tf.Tensor4D;
}

/** dL/dx of y = conv2d(x, W, stride 1, 'same') given dy. */
export function convInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: [number, number, number, number]): tf.Tensor4D {
  return tf.conv2dTranspose(dy, w, xShape, 1, 'same');
}
