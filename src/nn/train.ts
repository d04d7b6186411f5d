// Training loop of the finite CNN on one map (deep-image-prior style): squared error at the observed cells
// only, full batch, Adam or plain gradient descent, optional early stopping on held-out cells.
//
// Loss: L(θ) = (1/n) Σ_{i ∈ train} (g(o_i; θ) − y_i)², with g = f (plain) or g = f − f(·; θ₀) (centred: the
// initial random function is subtracted, so that in the lazy-training limit the prediction is exactly
// kernel regression with the NTK; see docs/glip.md).
// Iteration t evaluates the losses at θ_t (one forward pass serves the update and the held-out loss), then
// steps to θ_{t+1}. "Stopped at T" means T updates were applied.

import * as tf from '@tensorflow/tfjs-core';
import { throwIfCancelled, yieldToLoop } from '../domain/run.ts';
import type { FiniteCnn } from './network.ts';

export type OptimizerKind = 'adam' | 'gd';

export interface LossPoint {
  iter: number;
  train: number;
  /** Held-out mean squared error (null without held-out cells). */
  heldOut: number | null;
}

export interface TrainData {
  /** The input image [1, H, W, C]. */
  input: tf.Tensor4D;
  /** Training cells (row*W + col on the network's grid) and their targets. */
  trainCells: Int32Array;
  trainY: ArrayLike<number>;
  /** Held-out cells for early stopping (optional). */
  heldCells?: Int32Array;
  heldY?: ArrayLike<number>;
}

export interface TrainOptions {
  optimizer: OptimizerKind;
  lr: number;
  /** Maximum number of updates. */
  iterations: number;
  /** Subtract the initial function (see header). */
  center: boolean;
  /** Record the loss curve (and check the held-out loss) every this many iterations. Default 5. */
  evalEvery?: number;
  /** Stop when the held-out loss has not improved for this many iterations (0 = never). */
  patience?: number;
  /** With held-out cells: end with the weights of the best held-out iteration (else the last). */
  keepBest?: boolean;
  /** Adam β₁, β₂, ε. */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Called after every iteration (progress). */
  onIteration?: (iter: number, trainLoss: number) => void;
  /** Iterations (θ_t, before update t) at which `onCheckpoint` runs, e.g. for kernel diagnostics. */
  checkpoints?: number[];
  onCheckpoint?: (iter: number) => Promise<void> | void;
  /** Also run onCheckpoint at the last iteration, wherever training stops. */
  checkpointAtEnd?: boolean;
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Updates applied. */
  iterations: number;
  /** Iteration with the lowest held-out loss (the stopping point), or the last iteration without held-out cells. */
  bestIter: number;
  bestHeldOut: number | null;
  /** Why training ended. */
  stop: 'budget' | 'early-stopping';
  curve: LossPoint[];
  /** The map g(·; θ) at the end (best weights when keepBest), row-major, network grid. */
  output: Float32Array;
  /** Training loss of the returned weights. */
  finalTrain: number;
  seconds: number;
}

function denseTarget(P: number, cells: Int32Array, y: ArrayLike<number>): { mask: Float32Array; target: Float32Array } {
  const mask = new Float32Array(P);
  const target = new Float32Array(P);
  for (let i = 0; i < cells.length; i++) {
    if (cells[i] < 0 || cells[i] >= P) throw new Error(`training cell ${cells[i]} outside the ${P}-cell grid`);
    mask[cells[i]] = 1;
    target[cells[i]] = y[i];
  }
  return { mask, target };
}

/** Train `net` in place. All tensors created here are released before returning (also on error / cancel). */
export async function trainNetwork(net: FiniteCnn, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const [, H, W] = data.input.shape;
  const P = H * W;
  const n = data.trainCells.length;
  if (n === 0) throw new Error('no training cells');
  if (data.trainY.length !== n) throw new Error(`${data.trainY.length} targets for ${n} training cells`);
  const nh = data.heldCells?.length ?? 0;
  const evalEvery = Math.max(1, Math.floor(opts.evalEvery ?? 5));
  const patience = Math.max(0, Math.floor(opts.patience ?? 0));
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  const eps = opts.epsilon ?? 1e-8;
  const checkpoints = new Set(opts.checkpoints ?? []);
  const vars = net.variables();

  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  let best: tf.Tensor[] | null = null;
  let candidate: tf.Tensor[] | null = null;
  const releaseBest = () => {
    best?.forEach((t) => t.dispose());
    best = null;
  };
  try {
    const tr = denseTarget(P, data.trainCells, data.trainY);
    const trainMask = keep(tf.tensor4d(tr.mask, [1, H, W, 1]));
    const trainTarget = keep(tf.tensor4d(tr.target, [1, H, W, 1]));
    let heldMask: tf.Tensor4D | null = null;
    let heldTarget: tf.Tensor4D | null = null;
    if (nh > 0) {
      const hd = denseTarget(P, data.heldCells!, data.heldY!);
      heldMask = keep(tf.tensor4d(hd.mask, [1, H, W, 1]));
      heldTarget = keep(tf.tensor4d(hd.target, [1, H, W, 1]));
    }
    const f0 = opts.center ? keep(net.apply(data.input)) : null;
    const zeroVar = (v: tf.Variable) => keep(tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    const m = opts.optimizer === 'adam' ? vars.map(zeroVar) : [];
    const v2 = opts.optimizer === 'adam' ? vars.map(zeroVar) : [];

    const curve: LossPoint[] = [];
    let bestIter = 0;
    let bestHeld = Infinity;
    let stop: TrainResult['stop'] = 'budget';
    let lastYield = performance.now();
    let t = 0;
    let finalTrain = NaN;
    let output: Float32Array | null = null;

    for (; ; t++) {
      throwIfCancelled(opts.signal);
      const last = t >= opts.iterations;
      if (opts.onCheckpoint && (checkpoints.has(t) || (last && opts.checkpointAtEnd))) await opts.onCheckpoint(t);
      const evalNow = last || t % evalEvery === 0;
      const doUpdate = !last;
      // θ_t is replaced by θ_{t+1} within the step: keep a copy in case its held-out loss is the best
      candidate = opts.keepBest && evalNow && nh > 0 ? net.snapshot() : null;
      // one forward pass: losses at θ_t, and the update to θ_{t+1}
      const res = tf.tidy(() => {
        const { out, cache } = net.forward(data.input);
        const g = f0 ? tf.sub(out, f0) : out;
        const rTrain = tf.mul(tf.sub(g, trainTarget), trainMask);
        const trainLoss = tf.div(tf.sum(tf.square(rTrain)), n);
        const heldLoss = evalNow && heldMask && heldTarget ? tf.div(tf.sum(tf.square(tf.mul(tf.sub(g, heldTarget), heldMask))), nh) : null;
        const outData = last ? tf.reshape(g, [P]) : null;
        if (doUpdate) {
          const grads = net.backward(cache, tf.mul(rTrain, 2 / n) as tf.Tensor4D);
          if (opts.optimizer === 'adam') {
            const step = t + 1;
            const lrT = (opts.lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
            vars.forEach((v, i) => {
              const gi = grads[i];
              const mi = tf.add(tf.mul(m[i], beta1), tf.mul(gi, 1 - beta1));
              const vi = tf.add(tf.mul(v2[i], beta2), tf.mul(tf.square(gi), 1 - beta2));
              (m[i] as tf.Variable).assign(mi);
              (v2[i] as tf.Variable).assign(vi);
              v.assign(tf.sub(v, tf.mul(tf.div(mi, tf.add(tf.sqrt(vi), eps)), lrT)));
            });
          } else {
            vars.forEach((v, i) => v.assign(tf.sub(v, tf.mul(grads[i], opts.lr))));
          }
        }
        return { trainLoss, heldLoss: heldLoss ?? undefined, outData: outData ?? undefined };
      });
      const trainLoss = (await res.trainLoss.data())[0];
      res.trainLoss.dispose();
      let heldLoss: number | null = null;
      if (res.heldLoss) {
        heldLoss = (await res.heldLoss.data())[0];
        res.heldLoss.dispose();
      }
      if (res.outData) {
        output = (await res.outData.data()) as Float32Array;
        res.outData.dispose();
        finalTrain = trainLoss;
      }
      if (!Number.isFinite(trainLoss)) throw new Error(`training diverged at iteration ${t} (loss ${trainLoss}): lower the learning rate`);
      if (evalNow) curve.push({ iter: t, train: trainLoss, heldOut: heldLoss });
      if (heldLoss !== null && heldLoss < bestHeld) {
        bestHeld = heldLoss;
        bestIter = t;
        if (candidate) {
          releaseBest();
          best = candidate;
          candidate = null;
        }
      }
      candidate?.forEach((x) => x.dispose());
      candidate = null;
      opts.onIteration?.(t, trainLoss);
      if (last) break;
      if (nh > 0 && patience > 0 && t - bestIter >= patience) {
        stop = 'early-stopping';
        // evaluate θ_{t+1} once more so the curve and the output are consistent, then stop
        opts = { ...opts, iterations: t + 1 };
      }
      if (performance.now() - lastYield > 100) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
    if (nh === 0) bestIter = t;
    if (opts.keepBest && best && bestIter !== t) {
      net.restore(best);
      const g = tf.tidy(() => {
        const out = net.apply(data.input);
        return tf.reshape(f0 ? tf.sub(out, f0) : out, [P]);
      });
      output = (await g.data()) as Float32Array;
      const pred = output;
      finalTrain = 0;
      for (let i = 0; i < n; i++) finalTrain += (pred[data.trainCells[i]] - data.trainY[i]) ** 2;
      finalTrain /= n;
      g.dispose();
    }
    return {
      iterations: t,
      bestIter,
      bestHeldOut: nh > 0 ? bestHeld : null,
      stop,
      curve,
      output: output!,
      finalTrain,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    releaseBest();
    candidate?.forEach((x) => x.dispose());
    owned.forEach((x) => x.dispose());
  }
}
