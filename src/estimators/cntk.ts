// EME-CNTK: kernel regression with the exact pixel-to-pixel convolutional NTK of an infinitely wide CNN
// whose input is the Local Image Prior (LIP) built from the sensors. See /shared/design/cntk.md and
// docs/cntk.md (method, defaults and the evidence for them).
//
//   prepare: LIP → kernel rows Θ(o_i, ·), Σ(o_i, ·) for the observed cells and diag Σ (cntkRows) →
//            Householder tridiagonalisation of Θ_OO (one O(n³) step) → λ by closed-form leave-one-out
//            over a log grid (O(n²) per λ, pooled over the time steps of the group).
//   predict: y standardized (per step) → α = (Θ_OO+λI)⁻¹y (O(n²)) → f(p) = Σ_i α_i Θ(p, o_i);
//            variance from the NNGP posterior (see varianceMap), scaled by the GP ML scale of the step.
// Everything in prepare depends on the sensor SET only when the LIP is geometry-only (DEFAULT_LIP); then a
// time series of any length costs one kernel plus O(n² + nP) per step. With value channels in the LIP the
// kernel depends on the values: it is built once per group from the time-mean of the group's values.
//
// Grids whose sides are not multiples of 2^(down steps) are padded on the south/east edge (the LIP and
// the kernel are computed on the padded grid, the map is cropped); see diagnostics.paddedGrid.

import { UserError } from '../domain/errors.ts';
import { subProgress, throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import type { Grid, Observations } from '../domain/types.ts';
import { DEFAULT_ARCH, archGridMultiple, archToString, parseArch, type Layer } from '../kernels/arch.ts';
import { cntkRows, cntkSession, type CntkRows, type CntkSession, type KernelImpl } from '../kernels/cntk.ts';
import { DEFAULT_LIP, buildLip, lipDependsOnSet, lipDependsOnValues, parseLipChannels, type LipChannel, type Prior } from '../kernels/lip.ts';
import { cholesky, choleskyInverseFactor, type CholeskyFactor } from '../solvers/cholesky.ts';
import { ShiftedSolver, tridiagonalize } from '../solvers/tridiag.ts';
import { TAU_GRID, chooseLambda, heldOutPredictor, mlScale, standardize, symmetrize, type LooCurvePoint } from './kernel-ridge.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import type { Estimator, ParamSpec, ParamValues, PreparedEstimator, Prediction } from './types.ts';

/** The model parameters shared by every solver of the CNTK model (direct here, EigenPro, ...). */
export const CNTK_MODEL_PARAMS: ParamSpec[] = [
  { name: 'arch', type: 'string', default: DEFAULT_ARCH, help: 'Network architecture: comma-separated conv3/conv5 (K×K conv, K odd), relu, down (2×2 average pool), up (nearest ×2). Grid sides are padded to multiples of 2^(down steps).' },
  { name: 'lip', type: 'string', default: DEFAULT_LIP.join(','), help: 'Local Image Prior channels (network input): values, mask, idw, nearest, distance, x, y, const. Value channels (values, idw, nearest) make the kernel depend on the data.' },
  { name: 'sigmaW2', type: 'number', default: 2, min: 1e-6, max: 100, help: 'Weight variance σ_w² of every conv layer (2 keeps the variance of a ReLU network stable with depth).', advanced: true },
  { name: 'sigmaB2', type: 'number', default: 0.01, min: 0, max: 100, help: 'Bias variance σ_b² of every conv layer.', advanced: true },
  { name: 'target', type: 'enum', default: 'standardize', choices: ['standardize', 'raw'], help: 'standardize: regress (v − mean)/sd and add the mean back (the network has no intercept); raw: regress the values as they are (the map tends to 0 away from sensors).', advanced: true },
];

export const CNTK_PARAMS: ParamSpec[] = [
  ...CNTK_MODEL_PARAMS,
  { name: 'lambda', type: 'number', default: 0, min: 0, max: 1e6, help: 'Ridge λ relative to the mean of diag Θ_OO; 0 = choose by closed-form leave-one-out over 1e-7 … 10.' },
  { name: 'variance', type: 'boolean', default: true, help: 'Compute the uncertainty map (NNGP posterior variance, scaled to the data).' },
  { name: 'precision', type: 'enum', default: 'float32', choices: ['float32', 'float64'], help: 'Storage precision of the kernel (float64 doubles memory; for verification).', advanced: true },
  { name: 'impl', type: 'enum', default: 'auto', choices: ['auto', 'js', 'tfjs'], help: 'Kernel implementation: js (typed arrays, fastest on CPU), tfjs (TensorFlow.js ops, for the GPU backend), auto.', advanced: true },
];

export { TAU_GRID, standardize };

/**
 * Largest number of observed cells solved directly: the tridiagonalisation is O(n³) in float64 JS (about
 * 4 s CPU at n = 1000, 30 s at 2000). Above it, use cntk-eigenpro (same model, iterative solver).
 */
export const MAX_DIRECT_OBSERVED = 3000;

export interface CntkModelOptions {
  layers: Layer[];
  arch: string;
  channels: LipChannel[];
  sigmaW2: number;
  sigmaB2: number;
  target: 'standardize' | 'raw';
}

export function cntkModelOptions(params: ParamValues): CntkModelOptions {
  const arch = String(params.arch ?? DEFAULT_ARCH);
  const layers = parseArch(arch);
  const channels = parseLipChannels(String(params.lip ?? DEFAULT_LIP.join(',')));
  const sigmaW2 = Number(params.sigmaW2 ?? 2);
  const sigmaB2 = Number(params.sigmaB2 ?? 0.01);
  if (!(sigmaW2 > 0)) throw new UserError(`cntk: sigmaW2 must be > 0 (got ${params.sigmaW2})`);
  if (!(sigmaB2 >= 0)) throw new UserError(`cntk: sigmaB2 must be ≥ 0 (got ${params.sigmaB2})`);
  const target = params.target === 'raw' ? 'raw' : 'standardize';
  return { layers, arch: archToString(layers), channels, sigmaW2, sigmaB2, target };
}

/** The grid the kernel is computed on: obs.grid grown south/east to multiples of the architecture's step. */
export interface PaddedGrid {
  grid: Grid;
  /** Padded cell index of each original cell: padded = row*W' + col. */
  toPadded(cell: number): number;
  width: number;
  height: number;
  padded: boolean;
}

export function padGrid(grid: Grid, layers: Layer[]): PaddedGrid {
  const m = archGridMultiple(layers);
  const W = grid.width;
  const H = grid.height;
  const W2 = Math.ceil(W / m) * m;
  const H2 = Math.ceil(H / m) * m;
  const dx = (grid.bounds.xmax - grid.bounds.xmin) / W;
  const dy = (grid.bounds.ymax - grid.bounds.ymin) / H;
  const g: Grid = {
    crs: grid.crs,
    width: W2,
    height: H2,
    bounds: { xmin: grid.bounds.xmin, xmax: grid.bounds.xmin + W2 * dx, ymax: grid.bounds.ymax, ymin: grid.bounds.ymax - H2 * dy },
  };
  return { grid: g, width: W2, height: H2, padded: W2 !== W || H2 !== H, toPadded: (c) => Math.floor(c / W) * W2 + (c % W) };
}

/** The observations moved onto the padded grid (same order). */
export function paddedObservations(obs: Observations, pg: PaddedGrid): Observations {
  if (!pg.padded) return obs;
  return { ...obs, grid: pg.grid, cell: Int32Array.from(obs.cell, (c) => pg.toPadded(c)) };
}

/** Element-wise mean of the value vectors (the LIP of a time-series group when it has value channels). */
export function meanValues(vs: Float64Array[]): Float64Array {
  const out = new Float64Array(vs[0].length);
  for (const v of vs) for (let i = 0; i < out.length; i++) out[i] += v[i] / vs.length;
  return out;
}

/** Standardization of one value vector: y = (v − shift)/scale. */
// With a grid-only LIP the kernel depends on the grid size, the architecture and σ's only: the network head
// is kept (one entry; the dense state at a quarter of the pixels, 134 MB at 128×128 float32) so that other
// sensor subsets of the same grid (time-series groups after an outage, refits) only compute their rows.
let sessionCache: { key: string; session: Promise<CntkSession> } | null = null;

/** Drop the cached kernel head (frees its memory). */
export function clearCntkKernelCache(): void {
  sessionCache = null;
}

/**
 * Build the LIP on the (padded) grid and compute the kernel rows of the observed cells.
 * `lipValues` are the values the value channels see (ignored by geometry-only LIPs).
 */
export async function cntkObservationKernel(
  obs: Observations,
  model: CntkModelOptions,
  lipValues: ArrayLike<number>,
  opts: { precision?: 'float32' | 'float64'; impl?: KernelImpl },
  ctx: RunContext,
): Promise<{ prior: Prior; padded: PaddedGrid; rows: CntkRows; cells: Int32Array; cached: boolean }> {
  const padded = padGrid(obs.grid, model.layers);
  const pobs = paddedObservations(obs, padded);
  const prior = buildLip(pobs, model.channels, { values: lipValues });
  const kopts = { arch: model.layers, sigmaW2: model.sigmaW2, sigmaB2: model.sigmaB2, precision: opts.precision, impl: opts.impl };
  if (lipDependsOnSet(model.channels)) {
    const rows = await cntkRows(prior, kopts, pobs.cell, ctx);
    return { prior, padded, rows, cells: pobs.cell, cached: false };
  }
  const t0 = performance.now();
  const key = JSON.stringify([padded.width, padded.height, model.arch, model.sigmaW2, model.sigmaB2, model.channels, opts.precision ?? 'float32', opts.impl ?? 'auto']);
  let cached = true;
  if (sessionCache?.key !== key) {
    cached = false;
    const entry = { key, session: cntkSession(prior, kopts, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.8) }) };
    sessionCache = entry;
    entry.session.catch(() => {
      if (sessionCache === entry) sessionCache = null; // cancelled or failed: do not keep it
    });
  }
  const s = await sessionCache!.session;
  const r = await s.rows(pobs.cell, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.8, 1) });
  const rows: CntkRows = { rows: pobs.cell, ntkRows: r.ntkRows, nngpRows: r.nngpRows, ntkDiag: s.ntkDiag, nngpDiag: s.nngpDiag, height: s.height, width: s.width, backend: s.backend, seconds: (performance.now() - t0) / 1000 };
  return { prior, padded, rows, cells: pobs.cell, cached };
}

/** K_OO (n×n float64) from kernel rows at the observed cells. */
function blockOO(rowsArr: ArrayLike<number>, cells: Int32Array, P: number): Float64Array {
  const n = cells.length;
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = rowsArr[i * P + cells[j]];
  return symmetrize(K, n);
}

export function meanDiag(K: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += K[i * n + i];
  return n > 0 ? s / n : 1;
}

/** Pick up to k vectors evenly spread over the list. */
export function spread<T>(list: T[], k: number): T[] {
  if (list.length <= k) return list;
  return Array.from({ length: k }, (_, i) => list[Math.round((i * (list.length - 1)) / (k - 1))]);
}

/**
 * Unscaled NNGP posterior variance Σ(p,p) − Σ_pO (Σ_OO+λ'I)⁻¹ Σ_Op at every (padded) pixel, from the
 * Cholesky factor L of Σ_OO+λ'I: the second term is ‖L⁻¹ Σ_Op‖². Large problems use tf.matMul (float32).
 * The factor's row i belongs to kernel row rowIdx[i] (default i): cntk-eigenpro conditions on a subset.
 */
export async function varianceMap(rows: CntkRows, f: CholeskyFactor, ctx: RunContext, rowIdx?: Int32Array): Promise<{ v: Float64Array; backend: string }> {
  const n = f.n;
  const P = rows.height * rows.width;
  const rowOf = (i: number) => (rowIdx ? rowIdx[i] : i) * P;
  const report = (fraction: number) => ctx.onProgress?.({ stage: 'variance', fraction, message: `posterior variance given ${n} cells` });
  const M = choleskyInverseFactor(f);
  const q = new Float64Array(P);
  let backend = 'js';
  if (n * n * P > 2e8) {
    const { getTf } = await import('../compute/backend.ts');
    const tf = await getTf();
    backend = tf.getBackend();
    const chunk = Math.max(256, Math.floor(2 ** 24 / Math.max(1, n)));
    const Mt = tf.tensor2d(Float32Array.from(M), [n, n]);
    try {
      for (let c0 = 0; c0 < P; c0 += chunk) {
        throwIfCancelled(ctx.signal);
        report(c0 / P);
        const c = Math.min(chunk, P - c0);
        const S = new Float32Array(n * c);
        for (let i = 0; i < n; i++) {
          const o = rowOf(i) + c0;
          for (let j = 0; j < c; j++) S[i * c + j] = rows.nngpRows[o + j];
        }
        const out = tf.tidy(() => tf.sum(tf.square(tf.matMul(Mt, tf.tensor2d(S, [n, c]))), 0));
        q.set(await out.data(), c0);
        out.dispose();
        await yieldToLoop();
      }
    } finally {
      Mt.dispose();
    }
  } else {
    const x = new Float64Array(P);
    for (let i = 0; i < n; i++) {
      x.fill(0);
      const oi = i * n;
      for (let k = 0; k <= i; k++) {
        const m = M[oi + k];
        if (m === 0) continue;
        const ok = rowOf(k);
        for (let p = 0; p < P; p++) x[p] += m * rows.nngpRows[ok + p];
      }
      for (let p = 0; p < P; p++) q[p] += x[p] * x[p];
      if ((i & 15) === 15) {
        throwIfCancelled(ctx.signal);
        report(i / n);
        await yieldToLoop();
      }
    }
  }
  const v = new Float64Array(P);
  for (let p = 0; p < P; p++) v[p] = Math.max(0, rows.nngpDiag[p] - q[p]);
  return { v, backend };
}

let lastBackend = 'js';

async function prepareCntk(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator> {
  const t0 = performance.now();
  const n = obs.cell.length;
  if (n === 0) throw new UserError('cntk: no observed cells in the grid');
  if (n > MAX_DIRECT_OBSERVED) {
    throw new UserError(
      `cntk: ${n} observed cells is more than the direct solver handles (${MAX_DIRECT_OBSERVED}; O(n³) time, n² memory): ` +
        'use cntk-eigenpro (the same model with an iterative solver), a coarser grid, or fewer sensors',
    );
  }
  const model = cntkModelOptions(params);
  const precision = params.precision === 'float64' ? 'float64' : 'float32';
  const impl = (['auto', 'js', 'tfjs'].includes(String(params.impl)) ? String(params.impl) : 'auto') as KernelImpl;
  const wantVariance = params.variance !== false;
  const fixedTau = Number(params.lambda ?? 0);
  const steps = trainingValues && trainingValues.length > 0 && trainingValues.every((t) => t.length === n) ? trainingValues : [obs.values];
  const valueLip = lipDependsOnValues(model.channels);
  const lipValues = valueLip && steps.length > 1 ? meanValues(steps) : obs.values;

  // 1. kernel rows of the observed cells
  const { padded, rows, cells, cached } = await cntkObservationKernel(obs, model, lipValues, { precision, impl }, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.8) });
  lastBackend = rows.backend;
  const kernelSeconds = rows.seconds;
  const P = rows.height * rows.width;
  throwIfCancelled(ctx.signal);

  // 2. one tridiagonalisation of Θ_OO, then λ by closed-form LOO for every τ on the grid
  ctx.onProgress?.({ stage: 'solve', fraction: 0.8, message: `tridiagonalising ${n}×${n}` });
  const K = blockOO(rows.ntkRows, cells, P);
  const scaleT = meanDiag(K, n);
  if (!(scaleT > 0)) throw new UserError('cntk: the kernel is zero at the observed cells (all LIP channels are zero there?): add the const or x,y channels');
  const solver = new ShiftedSolver(await tridiagonalize(K, n, ctx));
  const looYs = spread(steps, 8).map((v) => standardize(v, model.target).y);
  let tau: number;
  let curve: LooCurvePoint[] = [];
  let atBound = false;
  if (fixedTau > 0) tau = fixedTau;
  else if (n < 3) tau = 1e-3; // nothing to cross-validate with
  else ({ tau, curve, atBound } = chooseLambda(solver, scaleT, looYs));
  const lambda = tau * scaleT;
  ctx.onProgress?.({ stage: 'solve', fraction: 0.9, message: `λ = ${lambda.toExponential(2)}` });

  // 3. the NNGP side for the variance: Σ_OO + λ'I with the same relative ridge
  const S = blockOO(rows.nngpRows, cells, P);
  const scaleS = meanDiag(S, n);
  const lambdaS = tau * scaleS;
  for (let i = 0; i < n; i++) S[i * n + i] += lambdaS;
  const cholS = cholesky(S, n);
  let varCache: Promise<{ v: Float64Array; backend: string }> | null = null;
  const effectiveDof = n - lambda * solver.inverseDiag(lambda).reduce((a, b) => a + b, 0);

  const W = obs.grid.width;
  const H = obs.grid.height;
  const Wp = padded.width;
  const diagnostics: Record<string, unknown> = {
    arch: model.arch,
    lip: model.channels.join(','),
    lipDependsOn: valueLip ? 'values' : lipDependsOnSet(model.channels) ? 'sensor set' : 'grid only',
    lipValues: valueLip ? (steps.length > 1 ? `time-mean of ${steps.length} steps` : 'this map') : 'not used',
    sigmaW2: model.sigmaW2,
    sigmaB2: model.sigmaB2,
    target: model.target,
    observed: n,
    kernelBackend: rows.backend,
    kernelSeconds,
    kernelHeadReused: cached,
    paddedGrid: padded.padded ? `${padded.width}x${padded.height}` : null,
    tau,
    lambda,
    lambdaChosenBy: fixedTau > 0 ? 'parameter' : n < 3 ? 'default (fewer than 3 observations)' : 'leave-one-out',
    lambdaAtGridBound: atBound,
    looCurve: curve,
    effectiveDof,
    prepareSeconds: (performance.now() - t0) / 1000,
  };
  ctx.onProgress?.({ stage: 'solve', fraction: 1 });

  const prepared: PreparedEstimator = {
    diagnostics,
    async predict(values: Float64Array, pctx: RunContext): Promise<Prediction> {
      if (values.length !== n) throw new UserError(`cntk: ${values.length} values for ${n} observed cells`);
      const st = standardize(values, model.target);
      const alpha = solver.solve(st.y, lambda);
      const out = kernelMap(alpha, rows.ntkRows, padded, obs.grid, st);
      const pred: Prediction = { values: out, diagnostics: { lambda, tau } };
      if (wantVariance) {
        varCache ??= varianceMap(rows, cholS, pctx);
        const { v, backend } = await varCache;
        const s2 = mlScale(cholS, st.y);
        const k = s2 * st.scale * st.scale;
        const variance = new Float32Array(W * H);
        for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) variance[r * W + c] = k * v[r * Wp + c];
        pred.variance = variance;
        pred.diagnostics = { ...pred.diagnostics, varianceScale: s2, noiseVariance: k * lambdaS, varianceBackend: backend };
      }
      return pred;
    },
  };

  // Closed-form held-out predictions are exact refits only when the kernel does not depend on which sensors
  // are observed (geometry-only LIP without mask/distance); otherwise the engine re-prepares on each fold's
  // training cells, which rebuilds the LIP without the held-out sensors.
  if (!lipDependsOnSet(model.channels)) {
    prepared.predictHeldOut = heldOutPredictor({ method: 'cntk', solver, lambda, target: model.target, nngp: wantVariance ? cholS : null });
  }

  return prepared;
}

/**
 * The map of a kernel machine: f = Σᵢ αᵢ·rowᵢ over the padded grid (`rows` holds one row of P pixels per
 * observation), cropped to the original grid and taken back from the standardized scale (shift + scale·f).
 */
export function kernelMap(alpha: ArrayLike<number>, rows: ArrayLike<number>, padded: { width: number; height: number }, grid: { width: number; height: number }, st: { shift: number; scale: number }): Float32Array {
  const P = padded.width * padded.height;
  const Wp = padded.width;
  const f = new Float64Array(P);
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i];
    const o = i * P;
    for (let p = 0; p < P; p++) f[p] += a * rows[o + p];
  }
  const { width: W, height: H } = grid;
  const out = new Float32Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) out[r * W + c] = st.shift + st.scale * f[r * Wp + c];
  return out;
}


/**
 * The architecture of a resource query (the default one if it does not parse: the estimator reports the
 * error itself) and the number of cells of the grid padded to a multiple of its down/up factor.
 */
export function resourceArch(q: ResourceQuery): { layers: Layer[]; height: number; width: number; P: number } {
  let layers: Layer[];
  try {
    layers = parseArch(String(q.params.arch ?? DEFAULT_ARCH));
  } catch {
    layers = parseArch(DEFAULT_ARCH);
  }
  const m = archGridMultiple(layers);
  const height = Math.ceil(q.height / m) * m;
  const width = Math.ceil(q.width / m) * m;
  return { layers, height, width, P: height * width };
}

/** Rough memory / time for the resource check (default arch: dense state at a quarter of the pixels). */
export function cntkResources(q: ResourceQuery): ResourceEstimate {
  const { layers, P } = resourceArch(q);
  // largest resolution at which a dense P×P state is kept (after the first relu, before the last one)
  let res = P;
  let maxDense = 0;
  let seenRelu = false;
  const last = layers.map((l) => l.kind).lastIndexOf('relu');
  layers.forEach((l, i) => {
    if (l.kind === 'relu' && !seenRelu) {
      seenRelu = true;
      if (layers[i + 1]?.kind === 'down') return;
    }
    if (l.kind === 'down') res /= 4;
    else if (l.kind === 'up') res *= 4;
    if (seenRelu && i <= last) maxDense = Math.max(maxDense, res);
  });
  const bytesPer = q.params.precision === 'float64' ? 8 : 4;
  const n = q.observed;
  const bytes = 2 * bytesPer * maxDense * maxDense + 2 * bytesPer * n * P + 4 * 8 * n * n + 16 * P;
  return {
    bytes,
    prepareSeconds: 6e-8 * (P * P) / 2 + 3e-8 * maxDense * maxDense + 3e-9 * n ** 3 + 1e-8 * n * n * P * (q.params.variance === false ? 0 : 0.05),
    predictSeconds: 2e-9 * (n * P + 2 * n * n) + 1e-3,
    note: 'exact CNTK: P² pairs at the finest relu, dense state at the coarser levels',
  };
}

export const cntk: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'cntk',
  label: 'EME-CNTK (infinite-width CNN)',
  description:
    'Kernel regression with the exact convolutional neural tangent kernel of an infinitely wide encoder–decoder CNN whose input is a Local Image Prior built from the sensors. ' +
    'Ridge λ by closed-form leave-one-out; uncertainty from the NNGP posterior. Default LIP is geometry-only, so the kernel is reused over all time steps with the same sensors. O(P²) kernel: up to ~128×128 cells.',
  params: CNTK_PARAMS,
  providesVariance: true,
  backend: () => lastBackend,
  estimateResources: cntkResources,
  prepare: prepareCntk,
};
