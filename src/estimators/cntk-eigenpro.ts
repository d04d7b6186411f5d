// cntk-eigenpro: the EME-CNTK model of estimators/cntk.ts (same LIP, architecture, σ's, target) with the
// kernel system (Θ_OO + λI) α = y solved by EigenPro 2 (solvers/eigenpro.ts) instead of a direct O(n³)
// factorisation, for dense observation sets (drive tests, campaigns: thousands to ~16 000 observed cells).
//
//   prepare: LIP → kernel rows Θ(o_i, ·), Σ(o_i, ·) (cntkRows, shared with `cntk`) → λ (parameter, or
//            closed-form leave-one-out on a random subset of observed cells) → EigenPro preconditioner
//            (Nyström subsample, top-q eigenpairs with tfjs, q / batch / step).
//   predict: standardized y → α by EigenPro (all time steps of the group at once on the first call, then
//            cached; otherwise warm-started from the previous step) → f(p) = Σ_i α_i Θ(p, o_i).
//   variance (optional): the NNGP posterior variance given a random subset of the observed cells — an upper
//            bound of the full posterior variance (conditioning on fewer observations never lowers it).
// Memory: the kernel rows (2·n·P values) plus O(n·batch) for the solver; never the n×n system in float64.
//
// The engine can switch `cntk` to this estimator above EIGENPRO_THRESHOLD observed cells: see
// resolveCntkMethod below.

import { UserError } from '../domain/errors.ts';
import { subProgress, throwIfCancelled, type RunContext } from '../domain/run.ts';
import type { Observations } from '../domain/types.ts';
import type { KernelImpl } from '../kernels/cntk.ts';
import { lipDependsOnSet, lipDependsOnValues } from '../kernels/lip.ts';
import { cholesky } from '../solvers/cholesky.ts';
import { ShiftedSolver, tridiagonalize } from '../solvers/tridiag.ts';
import type { EigenProResult, EigenProSetup } from '../solvers/eigenpro.ts';
import type { KernelOperator } from '../solvers/kernel-operator.ts';
import { CNTK_MODEL_PARAMS, MAX_DIRECT_OBSERVED, cntkModelOptions, cntkObservationKernel, cntkResources, meanDiag, meanValues, standardize, varianceMap } from './cntk.ts';
import { chooseLambda, mlScale, symmetrize, type LooCurvePoint } from './kernel-ridge.ts';
import { mulberry32, randomSubset } from '../util/random.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import type { Estimator, ParamSpec, ParamValues, PreparedEstimator, Prediction } from './types.ts';

/**
 * Observed cells above which the CNTK model is solved by EigenPro rather than directly: the direct solver's
 * O(n³) float64 tridiagonalisation takes ~30 s at n = 2000 and ~100 s at 3000 on one core, and it refuses
 * more than MAX_DIRECT_OBSERVED cells; EigenPro's cost grows like n² per epoch (see bench/eigenpro.ts).
 */
export const EIGENPRO_THRESHOLD = Math.min(2000, MAX_DIRECT_OBSERVED);

/** Which estimator solves the CNTK model for this many observed cells. */
export function chooseCntkSolver(nObserved: number): 'cntk' | 'cntk-eigenpro' {
  return nObserved > EIGENPRO_THRESHOLD ? 'cntk-eigenpro' : 'cntk';
}

/**
 * The method to run when the user asked for `method` with nObserved observed cells (largest group):
 * `cntk` becomes `cntk-eigenpro` above EIGENPRO_THRESHOLD; everything else is unchanged. Parameters carry
 * over (cntk-eigenpro accepts every cntk parameter). Meant for the engine / service before loading the
 * estimator; the run records the method actually used.
 */
export function resolveCntkMethod(method: string, nObserved: number): string {
  return method === 'cntk' ? chooseCntkSolver(nObserved) : method;
}

export const CNTK_EIGENPRO_PARAMS: ParamSpec[] = [
  ...CNTK_MODEL_PARAMS,
  { name: 'lambda', type: 'number', default: 0, min: 0, max: 1e6, help: 'Ridge λ relative to the mean of diag Θ_OO (as in cntk); 0 = choose by closed-form leave-one-out on a random subset of looCells observed cells.' },
  { name: 'variance', type: 'boolean', default: true, help: 'Compute the uncertainty map: NNGP posterior variance given varianceCells observed cells (an upper bound of the full posterior variance).' },
  { name: 'precision', type: 'enum', default: 'float32', choices: ['float32', 'float64'], help: 'Storage precision of the kernel rows.', advanced: true },
  { name: 'impl', type: 'enum', default: 'auto', choices: ['auto', 'js', 'tfjs'], help: 'Kernel implementation (see cntk).', advanced: true },
  { name: 'tol', type: 'number', default: 1e-4, min: 1e-8, max: 0.5, help: 'Stop when the relative residual ‖(Θ+λI)α − y‖/‖y‖ is below this.', advanced: true },
  { name: 'maxEpochs', type: 'integer', default: 200, min: 1, max: 100000, help: 'Stop after this many passes over the observations.', advanced: true },
  { name: 'subsample', type: 'integer', default: 6000, min: 10, max: 20000, help: 'Nyström subsample size s for the preconditioner (capped by the number of observed cells).', advanced: true },
  { name: 'maxQ', type: 'integer', default: 600, min: 0, max: 2000, help: 'Most eigen-directions the preconditioner flattens (automatic q is at most this; 0 = plain SGD).', advanced: true },
  { name: 'memoryMB', type: 'integer', default: 512, min: 16, max: 65536, help: 'Memory for a block of kernel rows (sets the largest batch).', advanced: true },
  { name: 'looCells', type: 'integer', default: 1000, min: 10, max: 5000, help: 'Observed cells used for the leave-one-out choice of λ (O(m³)).', advanced: true },
  { name: 'varianceCells', type: 'integer', default: 2000, min: 10, max: 8000, help: 'Observed cells the variance map conditions on (O(m³) + O(m²·cells)).', advanced: true },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2 ** 31 - 1, help: 'Seed of the subsamples and of the SGD shuffles.', advanced: true },
];

/** k distinct indices of 0..n−1, sorted, reproducible from the seed (all when k ≥ n). */
function subset(n: number, k: number, seed: number): Int32Array {
  return randomSubset(n, k, mulberry32(seed >>> 0 || 1));
}

/** K[idx, idx] in float64, symmetrised (kernel rows are computed independently). */
function subBlock(rows: ArrayLike<number>, P: number, cells: Int32Array, idx: Int32Array): Float64Array {
  const m = idx.length;
  const K = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) K[a * m + b] = rows[idx[a] * P + cells[idx[b]]];
  return symmetrize(K, m);
}

/** τ (λ = τ·meanDiag) minimising the pooled closed-form leave-one-out error on the subset (as cntk does). */
async function looTau(Kmm: Float64Array, m: number, scale: number, ys: Float64Array[], ctx: RunContext): Promise<{ tau: number; curve: LooCurvePoint[]; atBound: boolean }> {
  const solver = new ShiftedSolver(await tridiagonalize(Kmm, m, ctx));
  throwIfCancelled(ctx.signal);
  const best = chooseLambda(solver, scale, ys);
  if (!best.curve.some((p) => Number.isFinite(p.rmse))) {
    throw new UserError('cntk-eigenpro: leave-one-out found no usable λ (kernel not positive semi-definite?): set lambda explicitly');
  }
  return best;
}

/** Cheap content key of a value vector (to find a time step's cached solution). */
function valuesKey(v: Float64Array): string {
  let h1 = 0x811c9dc5;
  let h2 = 0;
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < v.length; i++) {
    f[0] = v[i];
    h1 = Math.imul(h1 ^ u[0], 16777619) ^ Math.imul(u[1], 2246822519);
    h2 = (h2 + u[0] * 31 + u[1]) >>> 0;
  }
  return `${v.length}:${h1 >>> 0}:${h2}`;
}

let lastBackend = 'js';

async function prepareCntkEigenpro(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator> {
  const t0 = performance.now();
  const n = obs.cell.length;
  if (n === 0) throw new UserError('cntk-eigenpro: no observed cells in the grid');
  const model = cntkModelOptions(params);
  const precision = params.precision === 'float64' ? 'float64' : 'float32';
  const impl = (['auto', 'js', 'tfjs'].includes(String(params.impl)) ? String(params.impl) : 'auto') as KernelImpl;
  const wantVariance = params.variance !== false;
  const fixedTau = Number(params.lambda ?? 0);
  const tol = Number(params.tol ?? 1e-4);
  const maxEpochs = Number(params.maxEpochs ?? 200);
  const seed = Number(params.seed ?? 1);
  const steps = trainingValues && trainingValues.length > 0 && trainingValues.every((t) => t.length === n) ? trainingValues : [obs.values];
  const valueLip = lipDependsOnValues(model.channels);
  const lipValues = valueLip && steps.length > 1 ? meanValues(steps) : obs.values;

  // 1. kernel rows of the observed cells (the same call as cntk)
  const { padded, rows, cells } = await cntkObservationKernel(obs, model, lipValues, { precision, impl }, { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.55, 'kernel') });
  const P = rows.height * rows.width;
  throwIfCancelled(ctx.signal);
  let meanDiagT = 0;
  for (let i = 0; i < n; i++) meanDiagT += rows.ntkRows[i * P + cells[i]] / n;
  if (!(meanDiagT > 0)) throw new UserError('cntk-eigenpro: the kernel is zero at the observed cells (all LIP channels are zero there?): add the const or x,y channels');

  // 2. λ: given (relative to mean diag Θ_OO, as in cntk) or by leave-one-out on a random subset. The LOO
  //    optimum estimates the noise-to-signal ratio, which does not depend on how many cells are observed.
  const looIdx = subset(n, Math.max(3, Number(params.looCells ?? 1000)), seed + 101);
  let tau: number;
  let looCurve: { tau: number; rmse: number }[] = [];
  let atBound = false;
  let lambdaChosenBy: string;
  if (fixedTau > 0) {
    tau = fixedTau;
    lambdaChosenBy = 'parameter';
  } else if (n < 3) {
    tau = 1e-3;
    lambdaChosenBy = 'default (fewer than 3 observations)';
  } else {
    ctx.onProgress?.({ stage: 'lambda', fraction: 0.55, message: `leave-one-out on ${looIdx.length} of ${n} cells` });
    const m = looIdx.length;
    const Kmm = subBlock(rows.ntkRows, P, cells, looIdx);
    let scale = 0;
    for (let i = 0; i < m; i++) scale += Kmm[i * m + i] / m;
    const looYs = steps.filter((_, i) => i % Math.max(1, Math.ceil(steps.length / 8)) === 0).map((v) => standardize(Float64Array.from(looIdx, (i) => v[i]), model.target).y);
    ({ tau, curve: looCurve, atBound } = await looTau(Kmm, m, scale, looYs, { signal: ctx.signal }));
    lambdaChosenBy = m === n ? 'leave-one-out' : `leave-one-out on ${m} of ${n} observed cells`;
  }
  const lambda = tau * meanDiagT;

  // 3. the EigenPro preconditioner on the kernel operator over the rows (columns = observed cells)
  const { setupEigenPro, eigenproSolve } = await import('../solvers/eigenpro.ts');
  const { denseKernelOperator } = await import('../solvers/kernel-operator.ts');
  const op: KernelOperator = denseKernelOperator(rows.ntkRows, { n, stride: P, colIndex: cells });
  const setup: EigenProSetup = await setupEigenPro(
    op,
    {
      lambda,
      subsample: Number(params.subsample ?? 6000),
      maxQ: Number(params.maxQ ?? 600),
      memoryBytes: Number(params.memoryMB ?? 512) * 1024 * 1024,
      seed,
    },
    { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.6, 0.75, 'preconditioner') },
  );
  lastBackend = rows.backend === 'js' ? `js+${setup.backend}` : rows.backend;

  // 4. variance: NNGP posterior given a subset of the observed cells (upper bound of the full posterior).
  let varCache: Promise<{ v: Float64Array; chol: ReturnType<typeof cholesky>; idx: Int32Array; backend: string }> | null = null;
  const varIdx = subset(n, Number(params.varianceCells ?? 2000), seed + 202);
  const varianceParts = async (vctx: RunContext) => {
    const m = varIdx.length;
    const S = subBlock(rows.nngpRows, P, cells, varIdx);
    const scaleS = meanDiag(S, m);
    for (let i = 0; i < m; i++) S[i * m + i] += tau * scaleS;
    const chol = cholesky(S, m);
    const { v, backend } = await varianceMap(rows, chol, vctx, varIdx);
    return { v, chol, idx: varIdx, backend };
  };

  const W = obs.grid.width;
  const H = obs.grid.height;
  const Wp = padded.width;
  const diagnostics: Record<string, unknown> = {
    arch: model.arch,
    lip: model.channels.join(','),
    lipDependsOn: valueLip ? 'values' : lipDependsOnSet(model.channels) ? 'sensor set' : 'grid only',
    sigmaW2: model.sigmaW2,
    sigmaB2: model.sigmaB2,
    target: model.target,
    observed: n,
    kernelBackend: rows.backend,
    kernelSeconds: rows.seconds,
    paddedGrid: padded.padded ? `${padded.width}x${padded.height}` : null,
    tau,
    lambda,
    lambdaChosenBy,
    lambdaAtGridBound: atBound,
    looCurve,
    solver: 'eigenpro2',
    eigenpro: {
      subsample: setup.s,
      checkSample: setup.checkSize,
      q: setup.q,
      batchSize: setup.batchSize,
      step: setup.step,
      beta: setup.beta,
      betaPlain: setup.betaPlain,
      topEigenvalue: setup.topEigenvalue,
      lambda1: setup.eigenvalues[0],
      eigenBackend: setup.backend,
      eigenSeconds: setup.timings.eigenSeconds,
      tol,
      maxEpochs,
    },
    varianceConditionsOn: wantVariance ? varIdx.length : null,
    prepareSeconds: (performance.now() - t0) / 1000,
  };
  ctx.onProgress?.({ stage: 'preconditioner', fraction: 1 });

  // Solutions: all steps of the group in one multi-right-hand-side solve on the first predict, then cached.
  const solved = new Map<string, { alpha: Float64Array; res: EigenProResult }>();
  let lastAlpha: Float64Array | null = null;
  let groupDone = steps.length <= 1;

  const solveFor = async (ys: Float64Array[], sctx: RunContext, alpha0?: Float64Array[]) => {
    const res = await eigenproSolve(op, setup, ys, { tol, maxEpochs, alpha0 }, sctx);
    return res;
  };

  const summary = (res: EigenProResult) => ({
    epochs: res.epochs,
    residual: res.residual,
    residualExact: res.residualExact,
    converged: res.converged,
    solveSeconds: res.seconds,
    step: res.step,
    // a thinned convergence history for charts
    history: res.history.filter((_, i, a) => a.length <= 60 || i % Math.ceil(a.length / 60) === 0 || i === a.length - 1).map((h) => ({ epoch: h.epoch, residual: h.residual, seconds: h.seconds })),
  });

  return {
    diagnostics,
    dispose() {
      solved.clear();
      varCache = null;
      lastAlpha = null;
    },
    async predict(values: Float64Array, pctx: RunContext): Promise<Prediction> {
      if (values.length !== n) throw new UserError(`cntk-eigenpro: ${values.length} values for ${n} observed cells`);
      const st = standardize(values, model.target);
      const key = valuesKey(values);
      if (!groupDone && !solved.has(key)) {
        groupDone = true;
        const stds = steps.map((v) => standardize(v, model.target).y);
        const res = await solveFor(stds, { signal: pctx.signal, onProgress: subProgress(pctx.onProgress, 0, 0.9, `solve ${steps.length} steps`) });
        steps.forEach((v, i) => solved.set(valuesKey(v), { alpha: res.alpha[i], res }));
      }
      let entry = solved.get(key);
      if (!entry) {
        const res = await solveFor([st.y], { signal: pctx.signal, onProgress: subProgress(pctx.onProgress, 0, 0.9, 'solve') }, lastAlpha ? [lastAlpha] : undefined);
        entry = { alpha: res.alpha[0], res };
      }
      const alpha = entry.alpha;
      lastAlpha = alpha;
      throwIfCancelled(pctx.signal);
      const f = new Float64Array(P);
      for (let i = 0; i < n; i++) {
        const a = alpha[i];
        const o = i * P;
        for (let p = 0; p < P; p++) f[p] += a * rows.ntkRows[o + p];
      }
      const out = new Float32Array(W * H);
      for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) out[r * W + c] = st.shift + st.scale * f[r * Wp + c];
      const solve = summary(entry.res);
      const pred: Prediction = { values: out, diagnostics: { lambda, tau, ...solve } };
      if (!entry.res.converged) {
        pred.diagnostics!.warning = `EigenPro stopped after ${entry.res.epochs} epochs at relative residual ${entry.res.residual.toExponential(2)} (tolerance ${tol}): raise maxEpochs or lambda`;
      }
      if (wantVariance) {
        if (!varCache) {
          const pending = varianceParts({ signal: pctx.signal, onProgress: subProgress(pctx.onProgress, 0.9, 1) });
          varCache = pending;
          pending.catch(() => {
            if (varCache === pending) varCache = null; // a cancelled variance is recomputed next time
          });
        }
        const { v, chol, idx, backend } = await varCache;
        // GP maximum-likelihood scale of the standardized values on the variance subset
        const s2 = mlScale(chol, Float64Array.from(idx, (i) => st.y[i]));
        const k = s2 * st.scale * st.scale;
        const variance = new Float32Array(W * H);
        for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) variance[r * W + c] = k * v[r * Wp + c];
        pred.variance = variance;
        pred.diagnostics = { ...pred.diagnostics, varianceScale: s2, varianceBackend: backend, varianceConditionsOn: idx.length };
      }
      return pred;
    },
  };
}

/** Memory / time guess for the resource check: the kernel as in cntk, then EigenPro instead of O(n³). */
export function cntkEigenproResources(q: ResourceQuery): ResourceEstimate {
  const kernelOnly = cntkResources({ ...q, observed: 0 });
  const n = q.observed;
  const bytesPer = q.params.precision === 'float64' ? 8 : 4;
  const P = Math.max(1, q.width * q.height);
  const s = Math.min(n, Number(q.params.subsample ?? 6000));
  const mem = Number(q.params.memoryMB ?? 512) * 1024 * 1024;
  const m = Math.min(n, Number(q.params.varianceCells ?? 2000));
  const bytes = kernelOnly.bytes + 2 * bytesPer * n * P + mem + 8 * s * s + 16 * m * m + 8 * P;
  const epochs = 50;
  return {
    bytes,
    prepareSeconds: kernelOnly.prepareSeconds + 2e-9 * s * s * Math.min(s, 1000) + 3e-9 * Math.min(n, 1000) ** 3,
    predictSeconds: epochs * 3e-9 * n * n + 2e-9 * n * P + (q.params.variance === false ? 0 : 3e-9 * m ** 3 + 2e-10 * m * m * P),
    note: 'exact CNTK kernel rows, then EigenPro 2 (memory O(n·P + n·batch), time ~ epochs·n²)',
  };
}

export const cntkEigenpro: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'cntk-eigenpro',
  label: 'EME-CNTK, EigenPro solver (large observation sets)',
  description:
    'The EME-CNTK model (same kernel, LIP and parameters as cntk) with kernel regression solved iteratively by EigenPro 2: ' +
    'preconditioned mini-batch SGD with a Nyström preconditioner, for thousands of observed cells (drive tests, dense campaigns). ' +
    'Reaches the direct solution to the chosen tolerance; λ by leave-one-out on a subset; variance given a subset of the observations (an upper bound).',
  params: CNTK_EIGENPRO_PARAMS,
  providesVariance: true,
  backend: () => lastBackend,
  estimateResources: cntkEigenproResources,
  prepare: prepareCntkEigenpro,
};
