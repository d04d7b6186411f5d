// The empirical NTK of wide finite CNNs (random init, NTK parameterization) converges to the analytic Θ of
// src/kernels/cntk.ts as the width grows. The finite network is built here with TensorFlow.js ops and
// differentiated by tf.grads (autodiff, independent of the kernel recursion):
//   conv K: z = σ_w/√(C_in·K²) · conv(W, h) + σ_b·b, W, b ~ N(0, 1), zero 'same' padding
//   relu, down = 2×2 average pool, up = nearest ×2; the last conv has one output channel.
// Θ̂(p, q) = Σ_θ ∂f(p)/∂θ · ∂f(q)/∂θ over all weights and biases, averaged over seeds.
// The conv is written as im2col + matMul so that every op has a gradient on the wasm backend.

import { describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { getTf } from '../../src/compute/backend.ts';
import { cntkKernel } from '../../src/kernels/cntk.ts';
import { parseArch, type Layer } from '../../src/kernels/arch.ts';
import { lcg } from '../helpers/random.ts';
import { relErr } from '../helpers/relerr.ts';

type Tf = typeof tfTypes;

const H = 8;
const W = 8;
const P = H * W;
const ARCH = 'conv3,relu,down,conv3,relu,up,conv3';
const SW2 = 2;
const SB2 = 0.1;
/** Pixels compared (corners, edges, interior; autodiff costs one backward pass per pixel). */
const S = [0, 3, 7, 9, 18, 27, 28, 36, 45, 54, 56, 60, 63, 22, 41, 33];

/** 'same' conv of x [h, w, cin] with filter [K·K·cin, cout] via im2col (shift order: dr outer, dc inner). */
function conv(tf: Tf, x: tfTypes.Tensor3D, filt: tfTypes.Tensor2D, K: number): tfTypes.Tensor3D {
  const [h, w, cin] = x.shape;
  const k = (K - 1) / 2;
  const padded = tf.pad(x, [[k, k], [k, k], [0, 0]]);
  const cols: tfTypes.Tensor3D[] = [];
  for (let dr = 0; dr < K; dr++) for (let dc = 0; dc < K; dc++) cols.push(tf.slice(padded, [dr, dc, 0], [h, w, cin]));
  const patches = tf.reshape(tf.concat(cols, 2), [h * w, K * K * cin]);
  return tf.reshape(tf.matMul(patches, filt), [h, w, filt.shape[1]]);
}

interface Net {
  params: tfTypes.Variable[];
  forward(x: tfTypes.Tensor3D): tfTypes.Tensor1D;
}

function buildNet(tf: Tf, layers: Layer[], cin: number, width: number, seed: number): Net {
  const params: tfTypes.Variable[] = [];
  const convs = layers.filter((l) => l.kind === 'conv').length;
  let c = cin;
  let ci = 0;
  const spec: Array<{ kind: string; K?: number; w?: tfTypes.Variable; b?: tfTypes.Variable; scale?: number }> = [];
  for (const l of layers) {
    if (l.kind === 'conv') {
      const cout = ci === convs - 1 ? 1 : width;
      const w = tf.tidy(() => tf.variable(tf.randomNormal([l.size * l.size * c, cout], 0, 1, 'float32', seed * 1000 + 2 * ci)));
      const b = tf.tidy(() => tf.variable(tf.randomNormal([cout], 0, 1, 'float32', seed * 1000 + 2 * ci + 1)));
      params.push(w, b);
      spec.push({ kind: 'conv', K: l.size, w, b, scale: Math.sqrt(SW2 / (c * l.size * l.size)) });
      c = cout;
      ci++;
    } else spec.push({ kind: l.kind });
  }
  return {
    params,
    forward(x) {
      let h: tfTypes.Tensor3D = x;
      for (const s of spec) {
        if (s.kind === 'conv') h = tf.add<tfTypes.Tensor3D>(tf.mul(conv(tf, h, s.w as unknown as tfTypes.Tensor2D, s.K!), s.scale!), tf.mul(s.b!, Math.sqrt(SB2)));
        else if (s.kind === 'relu') h = tf.relu(h);
        else if (s.kind === 'down') {
          // 2×2 average pool by reshape + mean (tf.avgPool ends in a cast whose gradient is lost on wasm)
          const [hh, ww, cc] = h.shape;
          h = tf.mean(tf.reshape(h, [hh / 2, 2, ww / 2, 2, cc]), [1, 3]) as tfTypes.Tensor3D;
        }
        else {
          // nearest ×2 by interleaving copies (stack/reshape have gradients on every backend)
          const [hh, ww, cc] = h.shape;
          const cols = tf.reshape(tf.stack([h, h], 2), [hh, 2 * ww, cc]);
          h = tf.reshape(tf.stack([cols, cols], 1), [2 * hh, 2 * ww, cc]) as tfTypes.Tensor3D;
        }
      }
      return tf.reshape(h, [-1]) as tfTypes.Tensor1D;
    },
  };
}

/** Empirical NTK between the pixels S (|S|×|S|) of one random network: Jacobian rows by autodiff, then J Jᵀ. */
function empiricalNtk(tf: Tf, layers: Layer[], x: tfTypes.Tensor3D, width: number, seed: number): Float64Array {
  const net = buildNet(tf, layers, x.shape[2], width, seed);
  const rows: tfTypes.Tensor1D[] = [];
  for (const p of S) {
    const g = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.slice(net.forward(x), [p], [1])) as tfTypes.Scalar, net.params);
      return tf.concat(net.params.map((v) => tf.reshape(grads[v.name], [-1])));
    }) as tfTypes.Tensor1D;
    rows.push(g);
  }
  const K = tf.tidy(() => {
    const J = tf.stack(rows) as tfTypes.Tensor2D;
    return tf.matMul(J, J, false, true);
  });
  const out = Float64Array.from(K.dataSync());
  K.dispose();
  rows.forEach((r) => r.dispose());
  net.params.forEach((v) => v.dispose());
  return out;
}


describe('empirical NTK of wide CNNs → analytic CNTK', () => {
  it('relative error falls with width (≈ 1/√width) and is small at width 256', async () => {
    const tf = await getTf();
    const layers = parseArch(ARCH);
    const r = lcg(5);
    const C = 2;
    const channels = Array.from({ length: C }, () => Float32Array.from({ length: P }, () => 2 * r() - 1));
    const full = (await cntkKernel({ height: H, width: W, channels }, { arch: ARCH, sigmaW2: SW2, sigmaB2: SB2, precision: 'float64', impl: 'js' })).ntk;
    const theta = Float64Array.from({ length: S.length * S.length }, (_, i) => full[S[Math.floor(i / S.length)] * P + S[i % S.length]]);
    const xData = new Float32Array(P * C);
    for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) xData[p * C + c] = channels[c][p];
    const x = tf.tensor3d(xData, [H, W, C]);
    const before = tf.memory().numTensors;
    const widths = [16, 64, 256];
    const seeds = 3;
    const errs: number[] = [];
    for (const width of widths) {
      const mean = new Float64Array(S.length * S.length);
      for (let s = 0; s < seeds; s++) {
        const k = empiricalNtk(tf, layers, x, width, 17 + s + 100 * width);
        for (let i = 0; i < mean.length; i++) mean[i] += k[i] / seeds;
      }
      errs.push(relErr(mean, theta));
    }
    x.dispose();
    // eslint-disable-next-line no-console
    console.log(`empirical NTK relative error (mean of ${seeds} seeds): ${widths.map((w, i) => `width ${w}: ${errs[i].toFixed(4)}`).join(', ')}`);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    expect(errs[1]).toBeLessThan(errs[0]);
    expect(errs[2]).toBeLessThan(errs[1]);
    // 16× wider should cut the error by about 4; ask for at least 2.2 (seed noise)
    expect(errs[0] / errs[2]).toBeGreaterThan(2.2);
    expect(errs[2]).toBeLessThan(0.06);
  });
});
