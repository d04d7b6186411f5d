// The CNTK recursion of cntk.md written with TensorFlow.js ops, so that it runs on the CUDA backend
// (tfjs-node-gpu) on users' machines as well as on wasm / cpu here. Σ and Θ are dense 4-D tensors
// [h, w, h, w] (entry (r1, c1, r2, c2) = pixel pair (r1*w + c1, r2*w + c2)); float32 only.
//
// conv K: A[S](p, q) = (1/K²) Σ_δ S(p+δ, q+δ) is separable into a row and a column pass; each pass pads the
// two row (or column) axes with zeros and sums K jointly-shifted slices. Memory: about 4 + K tensors of
// P² floats at the largest resolution (64×64 → 67 MB each; 128×128 → 1 GB each: GPU only).

import type * as tfTypes from '@tensorflow/tfjs-core';
import { CancelledError, type RunContext } from '../domain/run.ts';
import type { Layer } from './arch.ts';
import type { Prior } from './lip.ts';

type Tf = typeof tfTypes;
type T4 = tfTypes.Tensor4D;

export interface TfKernelParams {
  sigmaW2: number;
  sigmaB2: number;
}

function jointShiftSum(tf: Tf, S: T4, K: number, axes: 'rows' | 'cols'): T4 {
  const k = (K - 1) >> 1;
  const [h, w] = S.shape;
  return tf.tidy(() => {
    const pad: Array<[number, number]> = axes === 'rows' ? [[k, k], [0, 0], [k, k], [0, 0]] : [[0, 0], [k, k], [0, 0], [k, k]];
    const T = tf.pad(S, pad);
    const parts: T4[] = [];
    for (let t = -k; t <= k; t++) {
      const begin = axes === 'rows' ? [k + t, 0, k + t, 0] : [0, k + t, 0, k + t];
      parts.push(tf.slice(T, begin, [h, w, h, w]) as T4);
    }
    return (parts.length === 1 ? parts[0] : tf.addN(parts)) as T4;
  });
}

function convA(tf: Tf, S: T4, K: number, scale: number): T4 {
  if (K === 1) return tf.mul(S, scale);
  const rows = jointShiftSum(tf, S, K, 'rows');
  const both = jointShiftSum(tf, rows, K, 'cols');
  rows.dispose();
  const out = tf.mul(both, scale) as T4;
  both.dispose();
  return out;
}

function diag(tf: Tf, S: T4): tfTypes.Tensor1D {
  const [h, w] = S.shape;
  const P = h * w;
  return tf.tidy(() => {
    const idx = tf.mul(tf.range(0, P, 1, 'int32'), tf.scalar(P + 1, 'int32'));
    return tf.gather(tf.reshape(S, [P * P]), idx) as tfTypes.Tensor1D;
  });
}

function relu(tf: Tf, sigma: T4, theta: T4): [T4, T4] {
  const [h, w] = sigma.shape;
  const P = h * w;
  return tf.tidy(() => {
    // n = √(Σ(p,p)Σ(q,q)) as one sqrt of the product, so that c is exactly 1 on the diagonal
    const d = tf.relu(diag(tf, sigma));
    const n = tf.sqrt(tf.reshape(tf.mul(tf.reshape(d, [P, 1]), tf.reshape(d, [1, P])), [h, w, h, w]));
    const pos = tf.greater(n, 0);
    const safeN = tf.where(pos, n, tf.onesLike(n));
    const c = tf.clipByValue(tf.div(sigma, safeN), -1, 1);
    const th = tf.acos(c);
    const piMinus = tf.sub(Math.PI, th);
    const sin = tf.sqrt(tf.relu(tf.sub(1, tf.square(c))));
    const sOut = tf.where(pos, tf.mul(tf.div(safeN, 2 * Math.PI), tf.add(sin, tf.mul(piMinus, c))), tf.zerosLike(n));
    const dotS = tf.where(pos, tf.div(piMinus, 2 * Math.PI), tf.zerosLike(n));
    return [sOut as T4, tf.mul(theta, dotS) as T4];
  });
}

function down(tf: Tf, S: T4): T4 {
  const [h, w] = S.shape;
  return tf.tidy(() => {
    const r = tf.reshape(S, [h / 2, 2, w / 2, 2, h / 2, 2, w / 2, 2]);
    return tf.mean(r, [1, 3, 5, 7]) as T4;
  });
}

function up(tf: Tf, S: T4): T4 {
  const [h, w] = S.shape;
  return tf.tidy(() => {
    const ih = tf.tensor1d(Array.from({ length: 2 * h }, (_, i) => i >> 1), 'int32');
    const iw = tf.tensor1d(Array.from({ length: 2 * w }, (_, i) => i >> 1), 'int32');
    let x = tf.gather(S, ih, 0);
    x = tf.gather(x, iw, 1);
    x = tf.gather(x, ih, 2);
    return tf.gather(x, iw, 3) as T4;
  });
}

/** Dense Σ and Θ ([h, w, h, w] tensors, caller disposes) after all layers. */
export async function tfKernel(tf: Tf, prior: Prior, layers: Layer[], prm: TfKernelParams, ctx?: RunContext): Promise<{ sigma: T4; theta: T4 }> {
  const { height: h0, width: w0, channels } = prior;
  const P0 = h0 * w0;
  const C = channels.length;
  const X = new Float32Array(P0 * C);
  for (let c = 0; c < C; c++) for (let p = 0; p < P0; p++) X[p * C + c] = channels[c][p] / Math.sqrt(C);
  let sigma = tf.tidy(() => {
    const x = tf.tensor2d(X, [P0, C]);
    return tf.reshape(tf.matMul(x, x, false, true), [h0, w0, h0, w0]) as T4;
  });
  let theta = tf.zeros([h0, w0, h0, w0]) as T4;
  try {
    for (let i = 0; i < layers.length; i++) {
      if (ctx?.signal?.aborted) throw new CancelledError();
      const l = layers[i];
      let s2: T4;
      let t2: T4;
      if (l.kind === 'conv') {
        const sc = prm.sigmaW2 / (l.size * l.size);
        const aS = convA(tf, sigma, l.size, sc);
        s2 = tf.add(aS, prm.sigmaB2) as T4;
        aS.dispose();
        const aT = convA(tf, theta, l.size, sc);
        t2 = tf.add(aT, s2) as T4;
        aT.dispose();
      } else if (l.kind === 'relu') {
        [s2, t2] = relu(tf, sigma, theta);
      } else if (l.kind === 'down') {
        s2 = down(tf, sigma);
        t2 = down(tf, theta);
      } else {
        s2 = up(tf, sigma);
        t2 = up(tf, theta);
      }
      sigma.dispose();
      theta.dispose();
      sigma = s2;
      theta = t2;
      ctx?.onProgress?.({ stage: 'kernel', fraction: (i + 1) / layers.length, message: `layer ${i + 1}/${layers.length}` });
      await new Promise<void>((r) => setImmediate(r));
    }
  } catch (e) {
    sigma.dispose();
    theta.dispose();
    throw e;
  }
  return { sigma, theta };
}
