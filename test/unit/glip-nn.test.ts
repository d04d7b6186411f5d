// The finite CNN of GLIP (src/nn): the hand-written backward pass, the conv filter gradient used where the
// backend has none, the ×2 upsampling, the receptive-field crops of the empirical NTK, and the NTK itself
// against the analytic CNTK Θ (src/kernels) as width grows. References are independent: float64 loops of the
// textbook formulas, central finite differences of the loss, the cntk engineer's kernel recursion.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { getTf, selectBackend } from '../../src/compute/backend.ts';
import { parseArch } from '../../src/kernels/arch.ts';
import { cntkKernel } from '../../src/kernels/cntk.ts';
import { FiniteCnn, upsample2 } from '../../src/nn/network.ts';
import { convFilterGrad, convFilterGradWindows, convFilterGradPerSample, hasNativeFilterGrad } from '../../src/nn/conv.ts';
import { trainNetwork } from '../../src/nn/train.ts';
import { cropSize, cropStart, empiricalNtk, kernelAlignment, receptiveRadius, targetAlignment } from '../../src/nn/ntk.ts';
import { SeededRandom } from '../../src/nn/random.ts';

let tf: typeof tfTypes;
let before = 0;

beforeAll(async () => {
  tf = await getTf();
  before = tf.memory().numTensors;
});

afterAll(() => {
  // every test releases what it creates
  expect(tf.memory().numTensors).toBe(before);
});

function randn(n: number, seed: number): Float32Array {
  return new SeededRandom(seed).normals(n);
}

/** dW[kh,kw,c,k] = Σ_{b,i,j} xpad[b,i+kh,j+kw,c] dy[b,i,j,k], float64 loops. */
function refFilterGrad(x: Float32Array, dy: Float32Array, B: number, H: number, W: number, C: number, Co: number, K: number): Float64Array {
  const p = (K - 1) / 2;
  const out = new Float64Array(K * K * C * Co);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let kh = 0; kh < K; kh++)
          for (let kw = 0; kw < K; kw++) {
            const ii = i + kh - p;
            const jj = j + kw - p;
            if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
            for (let c = 0; c < C; c++) {
              const xv = x[((b * H + ii) * W + jj) * C + c];
              for (let k = 0; k < Co; k++) out[((kh * K + kw) * C + c) * Co + k] += xv * dy[((b * H + i) * W + j) * Co + k];
            }
          }
  return out;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

describe('conv filter gradient without the backend kernel', () => {
  for (const [B, H, W, C, Co, K] of [
    [1, 9, 7, 3, 5, 3], // C < Co: shifted input windows
    [2, 6, 8, 5, 2, 3], // Co < C: shifted output gradients, batch summed
    [1, 10, 10, 4, 4, 5],
    [1, 5, 6, 2, 3, 1],
  ]) {
    it(`matches the float64 formula (B=${B}, ${H}×${W}, ${C}→${Co}, K=${K})`, () => {
      const x = randn(B * H * W * C, 1);
      const dy = randn(B * H * W * Co, 2);
      const ref = refFilterGrad(x, dy, B, H, W, C, Co, K);
      const got = tf.tidy(() => convFilterGradWindows(tf.tensor4d(x, [B, H, W, C]), tf.tensor4d(dy, [B, H, W, Co]), K).dataSync());
      expect(got.length).toBe(ref.length);
      expect(maxRelDiff(got, ref)).toBeLessThan(1e-5);
    });
  }

  it('per-sample gradients are the gradients of each batch element alone', () => {
    const [B, H, W, C, Co, K] = [3, 6, 6, 4, 2, 3];
    const x = randn(B * H * W * C, 3);
    const dy = randn(B * H * W * Co, 4);
    const got = tf.tidy(() => convFilterGradPerSample(tf.tensor4d(x, [B, H, W, C]), tf.tensor4d(dy, [B, H, W, Co]), K).dataSync());
    const per = K * K * C * Co;
    for (let b = 0; b < B; b++) {
      const ref = refFilterGrad(x.subarray(b * H * W * C, (b + 1) * H * W * C), dy.subarray(b * H * W * Co, (b + 1) * H * W * Co), 1, H, W, C, Co, K);
      expect(maxRelDiff(got.subarray(b * per, (b + 1) * per), ref)).toBeLessThan(1e-5);
    }
  });
});

describe('backends agree', () => {
  it('the native filter gradient (cpu) matches the formula, and a short training run on cpu matches wasm', async () => {
    const active = tf.getBackend();
    const [B, H, W, C, Co, K] = [1, 7, 6, 3, 4, 3];
    const x = randn(B * H * W * C, 31);
    const dy = randn(B * H * W * Co, 32);
    const layers = parseArch('conv3,relu,down,conv3,relu,up,conv3');
    const train = async () => {
      const net = new FiniteCnn({ layers, inChannels: 2, width: 6, sigmaW2: 2, sigmaB2: 0.01, parameterization: 'ntk', seed: 4 });
      const input = tf.tensor4d(randn(8 * 8 * 2, 33), [1, 8, 8, 2]);
      const r = await trainNetwork(net, { input, trainCells: Int32Array.from([3, 17, 30, 44, 61]), trainY: [1, -1, 0.5, 2, -0.3] }, { optimizer: 'adam', lr: 0.02, iterations: 25, center: true });
      input.dispose();
      net.dispose();
      return r.output;
    };
    const onActive = await train();
    await selectBackend({ preferred: 'cpu', env: {} });
    try {
      expect(hasNativeFilterGrad()).toBe(true);
      const got = tf.tidy(() => convFilterGrad(tf.tensor4d(x, [B, H, W, C]), tf.tensor4d(dy, [B, H, W, Co]), K).dataSync());
      expect(maxRelDiff(got, refFilterGrad(x, dy, B, H, W, C, Co, K))).toBeLessThan(1e-5);
      const onCpu = await train();
      expect(maxRelDiff(onCpu, onActive)).toBeLessThan(1e-3);
    } finally {
      await tf.setBackend(active);
    }
  });
});

describe('layers', () => {
  it('up = nearest ×2: out[i, j] = in[⌊i/2⌋, ⌊j/2⌋]', () => {
    const [H, W, C] = [3, 5, 2];
    const x = randn(H * W * C, 5);
    const got = tf.tidy(() => upsample2(tf.tensor4d(x, [1, H, W, C])).dataSync());
    for (let i = 0; i < 2 * H; i++)
      for (let j = 0; j < 2 * W; j++)
        for (let c = 0; c < C; c++) expect(got[(i * 2 * W + j) * C + c]).toBe(x[(Math.floor(i / 2) * W + Math.floor(j / 2)) * C + c]);
  });

  it('same seed → same weights; different seed → different weights (drawn in JS, backend-independent)', () => {
    const layers = parseArch('conv3,relu,conv3');
    const mk = (seed: number) => new FiniteCnn({ layers, inChannels: 2, width: 4, sigmaW2: 2, sigmaB2: 0.1, parameterization: 'ntk', seed });
    const [a, b, c] = [mk(7), mk(7), mk(8)];
    const va = a.variables().map((v) => Array.from(v.dataSync()));
    expect(b.variables().map((v) => Array.from(v.dataSync()))).toEqual(va);
    expect(c.variables().map((v) => Array.from(v.dataSync()))).not.toEqual(va);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('standard and NTK parameterization compute the same initial function', () => {
    const layers = parseArch('conv3,relu,down,conv3,relu,up,conv5');
    const x = randn(8 * 8 * 3, 6);
    const outs = (['ntk', 'standard'] as const).map((parameterization) => {
      const net = new FiniteCnn({ layers, inChannels: 3, width: 6, sigmaW2: 2, sigmaB2: 0.05, parameterization, seed: 3 });
      const o = tf.tidy(() => net.apply(tf.tensor4d(x, [1, 8, 8, 3])).dataSync());
      net.dispose();
      return o;
    });
    expect(maxRelDiff(outs[1], outs[0])).toBeLessThan(1e-5);
  });
});

describe('hand-written backward pass', () => {
  // L(θ) = Σ_p c_p f(p; θ) for fixed random c. For each parameter tensor separately (so that few relu kinks are
  // crossed): dL/dθ·v against the central difference (L(θ+εv) − L(θ−εv)) / 2ε along a random v.
  for (const parameterization of ['ntk', 'standard'] as const) {
    it(`directional derivatives match central finite differences (${parameterization})`, () => {
      const layers = parseArch('conv3,relu,down,conv3,relu,up,conv3,relu,conv1');
      const [H, W, C] = [8, 8, 3];
      const net = new FiniteCnn({ layers, inChannels: C, width: 5, sigmaW2: 2, sigmaB2: 0.2, parameterization, seed: 11 });
      const x = tf.tensor4d(randn(H * W * C, 12), [1, H, W, C]);
      const cw = tf.tensor4d(randn(H * W, 13), [1, H, W, 1]);
      const vars = net.variables();
      expect(vars.length).toBe(8);
      const grads = tf.tidy(() => {
        const { cache } = net.forward(x);
        return net.backward(cache, cw);
      });
      const loss = () => tf.tidy(() => tf.sum(tf.mul(net.apply(x), cw)).dataSync()[0]);
      vars.forEach((v, i) => {
        // step relative to the parameter's own scale (standard parameterization has small weights)
        const vals = Array.from(v.dataSync() as Float32Array);
        const scale = Math.sqrt(vals.reduce((s, a) => s + a * a, 0) / vals.length) || 1;
        const dir = tf.tensor(randn(v.size, 100 + i), v.shape);
        const analytic = tf.tidy(() => tf.sum(tf.mul(grads[i], dir)).dataSync()[0]);
        const eps = 1e-2 * scale;
        const orig = tf.clone(v);
        const setTo = (t: tfTypes.Tensor) => {
          v.assign(t);
          t.dispose(); // the variable holds its own reference
        };
        setTo(tf.tidy(() => tf.add(orig, tf.mul(dir, eps))));
        const lp = loss();
        setTo(tf.tidy(() => tf.sub(orig, tf.mul(dir, eps))));
        const lm = loss();
        v.assign(orig);
        const numeric = (lp - lm) / (2 * eps);
        expect(Math.abs(analytic - numeric)).toBeLessThan(5e-3 * Math.max(Math.abs(numeric), 1 / scale));
        tf.dispose([dir, orig]);
      });
      tf.dispose([...grads, x, cw]);
      net.dispose();
    });
  }
});

describe('empirical NTK', () => {
  it('receptive-field crops give exactly the whole-grid kernel', async () => {
    const layers = parseArch('conv3,relu,down,conv3,relu,down,conv3,relu,up,conv3,relu,up,conv3');
    const R = receptiveRadius(layers);
    expect(R).toBe(14);
    const [H, W, C] = [48, 40, 4];
    // crops smaller than the grid, so that the test exercises interior and edge crops
    expect(cropSize(H, R, 4)).toBeLessThan(H);
    const net = new FiniteCnn({ layers, inChannels: C, width: 6, sigmaW2: 2, sigmaB2: 0.01, parameterization: 'ntk', seed: 2 });
    const x = tf.tensor4d(randn(H * W * C, 21), [1, H, W, C]);
    const pixels = Int32Array.from([0, W - 1, (H - 1) * W, H * W - 1, 20 * W + 17, 3 * W + 30, 45 * W + 2, 24 * W + 24, 9 * W + 9]);
    const cropped = await empiricalNtk(net, x, pixels);
    const whole = await empiricalNtk(net, x, pixels, { crop: false });
    expect(maxRelDiff(cropped.kernel, whole.kernel)).toBeLessThan(1e-5);
    x.dispose();
    net.dispose();
  });

  it('crop windows are aligned, inside the grid and hold [v − R, v + R]', () => {
    for (const [n, R, m] of [[128, 14, 4], [40, 14, 4], [16, 14, 4], [64, 5, 2]]) {
      const size = cropSize(n, R, m);
      for (let v = 0; v < n; v++) {
        const s = cropStart(v, n, size, R, m);
        expect(s % m).toBe(0);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s + size).toBeLessThanOrEqual(n);
        expect(s).toBeLessThanOrEqual(Math.max(0, v - R));
        expect(s + size).toBeGreaterThanOrEqual(Math.min(n, v + R + 1));
      }
    }
  });

  it('converges to the analytic CNTK Θ as width grows (mean over seeds, error ≈ 1/√width)', async () => {
    const arch = 'conv3,relu,down,conv3,relu,up,conv3';
    const layers = parseArch(arch);
    const [H, W, C] = [8, 8, 3];
    const chans = Array.from({ length: C }, (_, c) => Float32Array.from(randn(H * W, 40 + c)));
    const theta = (await cntkKernel({ height: H, width: W, channels: chans }, { arch, sigmaW2: 2, sigmaB2: 0.1, precision: 'float64', impl: 'js' })).ntk;
    const xd = new Float32Array(H * W * C);
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) xd[p * C + c] = chans[c][p];
    const x = tf.tensor4d(xd, [1, H, W, C]);
    const pixels = Int32Array.from({ length: 16 }, (_, i) => (i * 37 + 5) % (H * W));
    const m = pixels.length;
    const ref = Float64Array.from({ length: m * m }, (_, i) => theta[pixels[Math.floor(i / m)] * H * W + pixels[i % m]]);
    const err = async (width: number, seeds: number) => {
      const mean = new Float64Array(m * m);
      for (let s = 0; s < seeds; s++) {
        const net = new FiniteCnn({ layers, inChannels: C, width, sigmaW2: 2, sigmaB2: 0.1, parameterization: 'ntk', seed: 1000 * width + s });
        const k = await empiricalNtk(net, x, pixels);
        net.dispose();
        for (let i = 0; i < mean.length; i++) mean[i] += k.kernel[i] / seeds;
      }
      let num = 0;
      let den = 0;
      for (let i = 0; i < mean.length; i++) {
        num += (mean[i] - ref[i]) ** 2;
        den += ref[i] ** 2;
      }
      return { rel: Math.sqrt(num / den), align: kernelAlignment(mean, ref) };
    };
    const narrow = await err(16, 3);
    const wide = await err(256, 3);
    x.dispose();
    // eslint-disable-next-line no-console
    console.log(`GLIP empirical NTK vs CNTK: width 16 rel. error ${narrow.rel.toFixed(4)}, width 256 ${wide.rel.toFixed(4)} (alignment ${wide.align.toFixed(5)})`);
    expect(wide.rel).toBeLessThan(narrow.rel / 2);
    expect(wide.rel).toBeLessThan(0.08);
    expect(wide.align).toBeGreaterThan(0.995);
  });

  it('alignment measures: known values', () => {
    const a = [2, 1, 1, 2];
    expect(kernelAlignment(a, a)).toBeCloseTo(1, 12);
    expect(kernelAlignment(a, a.map((v) => 3 * v))).toBeCloseTo(1, 12);
    expect(kernelAlignment([1, 0, 0, 1], [0, 1, 1, 0])).toBeCloseTo(0, 12);
    // K = yyᵀ gives alignment 1 with y; y orthogonal to K's range gives 0
    const y = [1, -2];
    expect(targetAlignment([1, -2, -2, 4], y)).toBeCloseTo(1, 12);
    expect(targetAlignment([4, 2, 2, 1], y)).toBeCloseTo(0, 12);
    // yᵀKy/(‖K‖‖y‖²) with K = I₂: ‖y‖²/(√2‖y‖²)
    expect(targetAlignment([1, 0, 0, 1], y)).toBeCloseTo(1 / Math.SQRT2, 12);
  });
});
