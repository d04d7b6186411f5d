// GLIP: the finite-width CNN whose infinite-width limit is EME-CNTK (/shared/design/cntk.md, "Finite CNN").
// Same architecture string, same Local Image Prior, same σ_w², σ_b², same target standardization as the
// `cntk` estimator (CNTK_MODEL_PARAMS are shared), at a finite width; trained from random initialisation with
// Adam on the squared error at the observed cells only, one network per map (deep-image-prior style).
//
//   prepare: LIP on the (padded) grid → input tensor; the alignment subsample and, when affordable, the CNTK
//            Θ on it (cntkRows, once per group).
//   predict: for each ensemble member k (seed k): hold out a random fraction of the observed cells, train
//            with early stopping on their loss (the stopping iteration T_k is chosen without looking at
//            anything but the training data), then refit from the same initialisation on all observed cells
//            for T_k iterations. Map = mean over members; variance = spread (sample variance) over members.
//            Diagnostics: loss curves, the stopping points, and kernel alignment of the first member's
//            empirical NTK with the CNTK and with the targets during training. See docs/glip.md.

import { UserError } from '../domain/errors.ts';
import { subProgress, throwIfCancelled, type RunContext } from '../domain/run.ts';
import type { Observations } from '../domain/types.ts';
import { layerShapes, type Layer } from '../kernels/arch.ts';
import { buildLip, lipDependsOnValues, type Prior } from '../kernels/lip.ts';
import { CNTK_MODEL_PARAMS, cntkModelOptions, meanValues, padGrid, paddedObservations, resourceArch, standardize, type CntkModelOptions } from './cntk.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import type { Estimator, ParamSpec, ParamValues, PreparedEstimator, Prediction } from './types.ts';

export const GLIP_PARAMS: ParamSpec[] = [
  ...CNTK_MODEL_PARAMS,
  { name: 'width', type: 'integer', default: 16, min: 1, max: 1024, help: 'Channels of every hidden conv layer (the infinite-width limit is the cntk method).' },
  { name: 'parameterization', type: 'enum', default: 'ntk', choices: ['ntk', 'standard'], help: 'ntk: weights N(0,1) scaled by σ_w/√fan-in in the forward pass (the CNTK convention); standard: weights drawn with that scale.', advanced: true },
  { name: 'iterations', type: 'integer', default: 200, min: 1, max: 100000, help: 'Largest number of training iterations per network (the held-out rule usually stops earlier; with holdout=0 the fixed budget).' },
  { name: 'lr', type: 'number', default: 0.03, min: 1e-7, max: 10, help: 'Learning rate (Adam step size; for gd the plain gradient step).' },
  { name: 'optimizer', type: 'enum', default: 'adam', choices: ['adam', 'gd'], help: 'adam, or plain full-batch gradient descent (with a small lr and a large width: the lazy-training / kernel regime).', advanced: true },
  { name: 'ensemble', type: 'integer', default: 3, min: 1, max: 64, help: 'Networks trained from different random initialisations (and held-out sets); map = their mean, uncertainty = their spread (needs ≥ 2).' },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2 ** 31 - 1, help: 'Random seed of the initialisations and held-out sets: same seed and backend, same map.' },
  { name: 'holdout', type: 'number', default: 0.2, min: 0, max: 0.5, help: 'Fraction of the observed cells each network holds out to choose its number of iterations (early stopping); 0 = train for the fixed `iterations`.' },
  { name: 'patience', type: 'integer', default: 30, min: 1, max: 100000, help: 'Early stopping: stop when the held-out loss has not improved for this many iterations.', advanced: true },
  { name: 'refit', type: 'boolean', default: true, help: 'After early stopping, retrain from the same initialisation on ALL observed cells for the chosen number of iterations (the map then uses every sensor).', advanced: true },
  { name: 'center', type: 'boolean', default: true, help: 'Subtract the network’s initial random output, so the map is the change learnt from the data (at large width and small lr exactly kernel regression with the CNTK).', advanced: true },
  { name: 'alignment', type: 'enum', default: 'auto', choices: ['auto', 'full', 'network', 'off'], help: 'Kernel-regime diagnostics: full = empirical NTK vs the CNTK Θ and vs the targets; network = without the CNTK (cheap); auto = full up to 64×64 cells, else network.', advanced: true },
  { name: 'alignmentPixels', type: 'integer', default: 32, min: 4, max: 64, help: 'Pixels of the alignment subsample (observed cells first, then random cells).', advanced: true },
];

/** Largest grid (cells) at which alignment=auto also computes the CNTK Θ on the subsample (cost ∝ cells²). */
export const AUTO_CNTK_ALIGNMENT_CELLS = 64 * 64;

export interface GlipOptions {
  model: CntkModelOptions;
  width: number;
  parameterization: 'ntk' | 'standard';
  iterations: number;
  lr: number;
  optimizer: 'adam' | 'gd';
  ensemble: number;
  seed: number;
  holdout: number;
  patience: number;
  refit: boolean;
  center: boolean;
  alignment: 'auto' | 'full' | 'network' | 'off';
  alignmentPixels: number;
}

export function glipOptions(params: ParamValues): GlipOptions {
  const num = (k: string, d: number) => (params[k] === undefined ? d : Number(params[k]));
  const o: GlipOptions = {
    model: cntkModelOptions(params),
    width: num('width', 16),
    parameterization: params.parameterization === 'standard' ? 'standard' : 'ntk',
    iterations: num('iterations', 200),
    lr: num('lr', 0.03),
    optimizer: params.optimizer === 'gd' ? 'gd' : 'adam',
    ensemble: num('ensemble', 3),
    seed: num('seed', 1),
    holdout: num('holdout', 0.2),
    patience: num('patience', 30),
    refit: params.refit !== false,
    center: params.center !== false,
    alignment: (['auto', 'full', 'network', 'off'].includes(String(params.alignment)) ? String(params.alignment) : 'auto') as GlipOptions['alignment'],
    alignmentPixels: num('alignmentPixels', 32),
  };
  const int = (k: keyof GlipOptions, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new UserError(`glip: ${k} must be an integer ≥ ${min} (got ${v})`);
  };
  int('width', o.width, 1);
  int('iterations', o.iterations, 1);
  int('ensemble', o.ensemble, 1);
  int('patience', o.patience, 1);
  int('alignmentPixels', o.alignmentPixels, 1);
  if (!(o.lr > 0)) throw new UserError(`glip: lr must be > 0 (got ${o.lr})`);
  if (!(o.holdout >= 0 && o.holdout <= 0.5)) throw new UserError(`glip: holdout must be between 0 and 0.5 (got ${o.holdout})`);
  return o;
}

export interface AlignmentPoint {
  iter: number;
  /** A(Θ̂_t, Θ): alignment with the CNTK on the subsample (null when the CNTK side was not computed). */
  cntk: number | null;
  /** Kernel-target alignment yᵀΘ̂y / (‖Θ̂‖_F‖y‖²) on the observed cells of the subsample. */
  target: number;
  /** A(Θ̂_t, Θ̂_0): how far the network's tangent kernel has moved from its initial value. */
  init: number;
}

interface MemberReport {
  member: number;
  seed: number;
  /** 'holdout' (early stopping, then refit or best weights) or 'fixed'. */
  rule: 'holdout' | 'fixed';
  heldOutCells: number;
  /** Iteration with the lowest held-out loss (the chosen budget), or the fixed budget. */
  chosenIterations: number;
  searchIterations: number | null;
  bestHeldOut: number | null;
  stop: string;
  finalTrainLoss: number;
  seconds: number;
}

let lastBackend = 'wasm';

/** Member k's seed: a hash of (seed, k), so that members and seeds do not overlap. */
function memberSeed(seed: number, k: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

async function prepareGlip(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator> {
  const t0 = performance.now();
  const n = obs.cell.length;
  if (n === 0) throw new UserError('glip: no observed cells in the grid');
  const opts = glipOptions(params);
  const { initBackend } = await import('../compute/backend.ts');
  const choice = await initBackend();
  lastBackend = choice.name;
  const nn = await import('../nn/index.ts');

  const model = opts.model;
  const padded = padGrid(obs.grid, model.layers);
  const pobs = paddedObservations(obs, padded);
  const steps = trainingValues && trainingValues.length > 0 && trainingValues.every((t) => t.length === n) ? trainingValues : [obs.values];
  const valueLip = lipDependsOnValues(model.channels);
  const lipValues = valueLip && steps.length > 1 ? meanValues(steps) : obs.values;
  const prior: Prior = buildLip(pobs, model.channels, { values: lipValues });
  const Hp = padded.height;
  const Wp = padded.width;
  const P = Hp * Wp;
  const input = nn.priorTensor(prior);

  // alignment subsample: observed cells first (in a seeded order), then random other cells
  const alignMode = opts.alignment === 'auto' ? (P <= AUTO_CNTK_ALIGNMENT_CELLS ? 'full' : 'network') : opts.alignment;
  let alignPixels = new Int32Array(0);
  let alignObserved: number[] = []; // positions in alignPixels that are observed cells, and their obs index
  let alignObsIndex: number[] = [];
  let thetaS: Float64Array | null = null;
  let cntkSeconds = 0;
  let cntkNote: string | null = null;
  try {
    if (alignMode !== 'off') {
      const rng = nn.SeededRandom.stream(opts.seed, 'alignment');
      const m = Math.min(opts.alignmentPixels, P);
      const obsOrder = rng.permutation(n);
      const nObs = Math.min(n, Math.max(1, Math.ceil((3 * m) / 4)), m);
      const chosen = new Set<number>();
      const list: number[] = [];
      for (let i = 0; i < nObs; i++) {
        const c = pobs.cell[obsOrder[i]];
        chosen.add(c);
        alignObserved.push(list.length);
        alignObsIndex.push(obsOrder[i]);
        list.push(c);
      }
      // random unobserved cells of the original (unpadded) grid
      const isObs = new Set<number>(pobs.cell);
      let guard = 0;
      while (list.length < m && guard++ < 100 * m) {
        const r = Math.floor(rng.next() * obs.grid.height);
        const c = Math.floor(rng.next() * obs.grid.width);
        const p = r * Wp + c;
        if (chosen.has(p) || isObs.has(p)) continue;
        chosen.add(p);
        list.push(p);
      }
      alignPixels = Int32Array.from(list);
      if (alignMode === 'full') {
        throwIfCancelled(ctx.signal);
        ctx.onProgress?.({ stage: 'alignment kernel', fraction: 0, message: `CNTK Θ on ${alignPixels.length} pixels` });
        const { cntkRows } = await import('../kernels/cntk.ts');
        const rows = await cntkRows(prior, { arch: model.layers, sigmaW2: model.sigmaW2, sigmaB2: model.sigmaB2 }, alignPixels, {
          signal: ctx.signal,
          onProgress: subProgress(ctx.onProgress, 0, 1, 'alignment kernel'),
        });
        const ms = alignPixels.length;
        thetaS = new Float64Array(ms * ms);
        for (let i = 0; i < ms; i++) for (let j = 0; j < ms; j++) thetaS[i * ms + j] = 0.5 * (rows.ntkRows[i * P + alignPixels[j]] + rows.ntkRows[j * P + alignPixels[i]]);
        cntkSeconds = rows.seconds;
      } else if (opts.alignment === 'auto') {
        cntkNote = `CNTK side skipped: ${Wp}×${Hp} cells > ${AUTO_CNTK_ALIGNMENT_CELLS} (alignment=full computes it; cost grows with cells²)`;
      }
    }
  } catch (e) {
    input.dispose();
    throw e;
  }

  const W = obs.grid.width;
  const H = obs.grid.height;
  const tmpNet = new nn.FiniteCnn({ layers: model.layers, inChannels: prior.channels.length, width: opts.width, sigmaW2: model.sigmaW2, sigmaB2: model.sigmaB2, parameterization: opts.parameterization, seed: 0 });
  const numParams = tmpNet.numParams;
  tmpNet.dispose();
  const diagnostics: Record<string, unknown> = {
    arch: model.arch,
    lip: model.channels.join(','),
    lipValues: valueLip ? (steps.length > 1 ? `time-mean of ${steps.length} steps` : 'this map') : 'not used',
    sigmaW2: model.sigmaW2,
    sigmaB2: model.sigmaB2,
    target: model.target,
    width: opts.width,
    parameterization: opts.parameterization,
    parameters: numParams,
    optimizer: opts.optimizer,
    lr: opts.lr,
    ensemble: opts.ensemble,
    centered: opts.center,
    backend: choice.name,
    backendReason: choice.reason,
    observed: n,
    paddedGrid: padded.padded ? `${Wp}x${Hp}` : null,
    alignmentMode: alignMode,
    alignmentPixels: alignPixels.length,
    alignmentObserved: alignObserved.length,
    ...(cntkNote ? { alignmentNote: cntkNote } : {}),
    ...(thetaS ? { alignmentCntkSeconds: cntkSeconds } : {}),
    prepareSeconds: (performance.now() - t0) / 1000,
  };
  let disposed = false;

  async function predict(values: Float64Array, pctx: RunContext): Promise<Prediction> {
    if (disposed) throw new Error('glip: predict after dispose');
    if (values.length !== n) throw new UserError(`glip: ${values.length} values for ${n} observed cells`);
    const tp = performance.now();
    const st = standardize(values, model.target);
    const y = Float32Array.from(st.y);
    const E = opts.ensemble;
    const canHold = opts.holdout > 0 && n >= 4;
    const nHeld = canHold ? Math.min(n - 2, Math.max(1, Math.round(opts.holdout * n))) : 0;

    // progress bookkeeping: planned iterations, updated as members finish
    const perMemberPlan = (canHold ? opts.iterations + (opts.refit ? Math.ceil(opts.iterations / 2) : 0) : opts.iterations) + 1;
    let planned = E * perMemberPlan;
    let done = 0;
    const tStart = performance.now();
    const report = (member: number, phase: string, iter: number, loss: number) => {
      done++;
      if (!pctx.onProgress) return;
      const elapsed = (performance.now() - tStart) / 1000;
      const fraction = Math.min(0.999, done / planned);
      pctx.onProgress({
        stage: 'train',
        fraction,
        eta: done > 3 ? (elapsed / done) * Math.max(0, planned - done) : undefined,
        message: `network ${member + 1}/${E} ${phase} iteration ${iter} loss ${loss.toPrecision(3)}`,
        detail: { member: member + 1, iter, loss },
      });
    };

    /** A network's output (standardized units of `s`) in V/m, float64, on the padded grid. */
    const toVm = (g: Float32Array, s: { shift: number; scale: number }) => Float64Array.from(g, (v) => s.shift + s.scale * v);
    const maps: Float64Array[] = [];
    const members: MemberReport[] = [];
    const lossCurves: Array<{ member: number; phase: string; curve: Array<{ iter: number; train: number; heldOut: number | null }> }> = [];
    let alignment: AlignmentPoint[] = [];
    let alignSeconds = 0;
    const yAlign = Float64Array.from(alignObsIndex, (i) => st.y[i]);

    const makeNet = (seed: number) =>
      new nn.FiniteCnn({ layers: model.layers, inChannels: prior.channels.length, width: opts.width, sigmaW2: model.sigmaW2, sigmaB2: model.sigmaB2, parameterization: opts.parameterization, seed });

    /** Checkpoint hook computing the alignment diagnostics of `net` (member 0's final run). */
    const alignmentHook = (net: InstanceType<typeof nn.FiniteCnn>) => {
      let theta0: Float64Array | null = null;
      return async (iter: number) => {
        const ta = performance.now();
        const k = await nn.empiricalNtk(net, input, alignPixels);
        const ms = k.pixels.length;
        theta0 ??= k.kernel;
        const obsPos = alignObserved.filter((p) => p < ms);
        const yk = Float64Array.from(obsPos, (_, i) => yAlign[i]);
        alignment.push({
          iter,
          cntk: thetaS && ms === alignPixels.length ? nn.kernelAlignment(k.kernel, thetaS) : null,
          target: nn.targetAlignment(nn.subKernel(k.kernel, ms, obsPos), yk),
          init: nn.kernelAlignment(k.kernel, theta0),
        });
        alignSeconds += (performance.now() - ta) / 1000;
      };
    };
    const checkpointsFor = (T: number) => [...new Set([0, Math.round(T / 2), T])];

    for (let k = 0; k < E; k++) {
      throwIfCancelled(pctx.signal);
      const tm = performance.now();
      const seed = memberSeed(opts.seed, k);
      const wantAlign = k === 0 && alignMode !== 'off' && alignPixels.length > 0;
      if (canHold) {
        // held-out split of this member
        const perm = nn.SeededRandom.stream(seed, 'holdout').permutation(n);
        const held = perm.subarray(0, nHeld);
        const train = perm.subarray(nHeld);
        // standardize with the training cells only, so that the held-out loss is an honest estimate
        const stTrain = standardize(Float64Array.from(train, (i) => values[i]), model.target);
        const scaled = (i: number) => (values[i] - stTrain.shift) / stTrain.scale;
        const net = makeNet(seed);
        let search;
        try {
          search = await nn.trainNetwork(
            net,
            {
              input,
              trainCells: Int32Array.from(train, (i) => pobs.cell[i]),
              trainY: Float32Array.from(train, scaled),
              heldCells: Int32Array.from(held, (i) => pobs.cell[i]),
              heldY: Float32Array.from(held, scaled),
            },
            {
              optimizer: opts.optimizer,
              lr: opts.lr,
              iterations: opts.iterations,
              center: opts.center,
              patience: opts.patience,
              keepBest: !opts.refit,
              signal: pctx.signal,
              onIteration: (it, loss) => report(k, 'search', it, loss),
              ...(wantAlign && !opts.refit ? { checkpoints: checkpointsFor(opts.iterations), checkpointAtEnd: true, onCheckpoint: alignmentHook(net) } : {}),
            },
          );
        } finally {
          net.dispose();
        }
        lossCurves.push({ member: k, phase: 'search', curve: search.curve });
        const T = search.bestIter;
        // re-plan: this member's refit is now known; later members are assumed alike
        const used = search.iterations + 1 + (opts.refit ? T + 1 : 0);
        planned = planned - perMemberPlan + used;
        if (k === 0) planned = used * E;
        let output = toVm(search.output, stTrain);
        let finalTrain = search.finalTrain;
        if (opts.refit) {
          const net2 = makeNet(seed);
          try {
            const refit = await nn.trainNetwork(
              net2,
              { input, trainCells: pobs.cell, trainY: y },
              {
                optimizer: opts.optimizer,
                lr: opts.lr,
                iterations: T,
                center: opts.center,
                signal: pctx.signal,
                onIteration: (it, loss) => report(k, 'refit', it, loss),
                ...(wantAlign ? { checkpoints: checkpointsFor(T), onCheckpoint: alignmentHook(net2) } : {}),
              },
            );
            output = toVm(refit.output, st);
            finalTrain = refit.finalTrain;
            lossCurves.push({ member: k, phase: 'refit', curve: refit.curve });
          } finally {
            net2.dispose();
          }
        }
        maps.push(output);
        members.push({
          member: k,
          seed,
          rule: 'holdout',
          heldOutCells: nHeld,
          chosenIterations: T,
          searchIterations: search.iterations,
          bestHeldOut: search.bestHeldOut,
          stop: search.stop,
          finalTrainLoss: finalTrain,
          seconds: (performance.now() - tm) / 1000,
        });
      } else {
        const net = makeNet(seed);
        try {
          const run = await nn.trainNetwork(
            net,
            { input, trainCells: pobs.cell, trainY: y },
            {
              optimizer: opts.optimizer,
              lr: opts.lr,
              iterations: opts.iterations,
              center: opts.center,
              signal: pctx.signal,
              onIteration: (it, loss) => report(k, 'train', it, loss),
              ...(wantAlign ? { checkpoints: checkpointsFor(opts.iterations), onCheckpoint: alignmentHook(net) } : {}),
            },
          );
          maps.push(toVm(run.output, st));
          lossCurves.push({ member: k, phase: 'fixed', curve: run.curve });
          members.push({
            member: k,
            seed,
            rule: 'fixed',
            heldOutCells: 0,
            chosenIterations: opts.iterations,
            searchIterations: null,
            bestHeldOut: null,
            stop: 'budget',
            finalTrainLoss: run.finalTrain,
            seconds: (performance.now() - tm) / 1000,
          });
        } finally {
          net.dispose();
        }
      }
    }

    // ensemble mean and spread (V/m), cropped to the grid
    const out = new Float32Array(W * H);
    const variance = E >= 2 ? new Float32Array(W * H) : undefined;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const p = r * Wp + c;
        let s = 0;
        for (const mp of maps) s += mp[p];
        const mean = s / E;
        out[r * W + c] = mean;
        if (variance) {
          let ss = 0;
          for (const mp of maps) ss += (mp[p] - mean) ** 2;
          variance[r * W + c] = ss / (E - 1);
        }
      }
    }
    let sse = 0;
    for (let i = 0; i < n; i++) {
      const c = obs.cell[i];
      sse += (out[c] - values[i]) ** 2;
    }
    if (alignment.length > 1) alignment = alignment.sort((a, b) => a.iter - b.iter);
    pctx.onProgress?.({ stage: 'train', fraction: 1, eta: 0 });
    const pred: Prediction = {
      values: out,
      diagnostics: {
        stoppingRule: canHold
          ? `held-out early stopping: each network holds out ${nHeld} of ${n} observed cells, stops after ${opts.patience} iterations without improvement${opts.refit ? ', then is refitted on all cells for the best iteration count' : ' and keeps its best weights'}`
          : `fixed budget of ${opts.iterations} iterations${opts.holdout > 0 ? ' (fewer than 4 observed cells: no held-out set)' : ''}`,
        lossCurve: lossCurves[0]?.curve ?? [],
        lossCurves,
        members,
        chosenIterations: members.map((m) => m.chosenIterations),
        alignment,
        alignmentSeconds: alignSeconds,
        ...(thetaS && alignObserved.length > 0 ? { alignmentCntkTarget: nn.targetAlignment(nn.subKernel(thetaS, alignPixels.length, alignObserved), yAlign) } : {}),
        trainRmse: Math.sqrt(sse / n),
        trainSeconds: (performance.now() - tp) / 1000,
      },
    };
    if (variance) pred.variance = variance;
    return pred;
  }

  return {
    diagnostics,
    predict,
    dispose() {
      if (disposed) return;
      disposed = true;
      input.dispose();
    },
  };
}

/** Multiply–accumulates of one forward pass at `width` on an H×W grid (conv layers only). */
export function forwardMacs(layers: Layer[], height: number, width: number, channels: number, netWidth: number): number {
  const convIdx = layers.map((l, i) => (l.kind === 'conv' ? i : -1)).filter((i) => i >= 0);
  const last = convIdx[convIdx.length - 1];
  let h = height;
  let w = width;
  let cin = channels;
  let macs = 0;
  layers.forEach((l, i) => {
    if (l.kind === 'conv') {
      const cout = i === last ? 1 : netWidth;
      macs += h * w * l.size * l.size * cin * cout;
      cin = cout;
    } else if (l.kind === 'down') {
      h /= 2;
      w /= 2;
    } else if (l.kind === 'up') {
      h *= 2;
      w *= 2;
    }
  });
  return macs;
}

/** Rough memory and time (wasm-class speed) for the resource check. */
export function glipResources(q: ResourceQuery): ResourceEstimate {
  const { layers, height: H, width: W } = resourceArch(q);
  const width = Number(q.params.width ?? 16);
  const channels = String(q.params.lip ?? '').split(',').filter(Boolean).length || 4;
  const iterations = Number(q.params.iterations ?? 200);
  const ensemble = Number(q.params.ensemble ?? 3);
  const holdout = Number(q.params.holdout ?? 0.2) > 0;
  const refit = q.params.refit !== false;
  // activations kept for the backward pass: every layer's input, at its resolution
  let floats = 0;
  for (const s of layerShapes(layers, H, W).slice(0, -1)) floats += s.height * s.width * Math.max(width, channels);
  const macs = forwardMacs(layers, H, W, channels, width);
  // forward + two backward products per conv, ~4 GFLOP/s effective on wasm, plus ~15 ms of per-op overhead
  const iterSeconds = (3 * 2 * macs) / 4e9 + 0.015;
  const itersPerMap = ensemble * (holdout ? 0.6 * iterations + (refit ? 0.4 * iterations : 0) : iterations);
  return {
    bytes: 4 * (6 * floats + 4 * H * W) + 64 * 1024 * 1024,
    prepareSeconds: 0.1 + (q.params.alignment === 'full' || (q.params.alignment !== 'off' && H * W <= AUTO_CNTK_ALIGNMENT_CELLS) ? 1e-7 * (H * W) ** 2 : 0),
    predictSeconds: itersPerMap * iterSeconds,
    note: `finite CNN: ${ensemble} network(s) × up to ${iterations} iterations per map`,
  };
}

export const glip: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'glip',
  label: 'GLIP (finite CNN, deep image prior)',
  description:
    'The finite-width version of EME-CNTK: an encoder–decoder CNN (same architecture, LIP input, σ_w², σ_b² as cntk) trained from random initialisation with Adam on the observed cells only, one network per map. ' +
    'The number of iterations is chosen by early stopping on held-out sensors; an ensemble of seeds gives the map (mean) and an uncertainty (spread). Records loss curves and the alignment of the network’s tangent kernel with the CNTK.',
  params: GLIP_PARAMS,
  providesVariance: true,
  backend: () => lastBackend,
  estimateResources: glipResources,
  prepare: prepareGlip,
};
