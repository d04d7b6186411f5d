// cntk-sketch: the EME-CNTK model (same architecture, σ_w², σ_b², LIP and target handling as `cntk`) with
// the exact kernel replaced by sketched per-pixel features (src/kernels/sketch/, Zandieh et al. 2021):
// cost and memory linear in the number of cells, so 512×512 grids and beyond are possible.
//
//   prepare: LIP → features φ_ntk, φ_nngp for every pixel (sketchFeatures) → Φ_O = φ_ntk at the observed
//            cells → ridge system in one of two forms, both giving (K + λI)⁻¹ for many λ cheaply:
//              dual    K = Φ_O Φ_Oᵀ (n×n), Householder tridiagonalisation (n ≤ D, the usual sparse network)
//              primal  Φ̃ = Φ_O Rᵀ compressed by an SRHT R to r columns, eigendecomposition of Φ̃ᵀΦ̃ (r×r),
//                      (K+λI)⁻¹ = (I − U(Λ+λ)⁻¹Uᵀ)/λ with U = Φ̃V (many observations: drive tests)
//            → λ by closed-form leave-one-out over the same τ grid as `cntk`, pooled over the time steps.
//   predict: α = (K+λI)⁻¹y, w = Φ_Oᵀα, map = ⟨φ_ntk(p), w⟩ for all pixels in one batched pass (never P×P);
//            variance = scaled NNGP posterior Σ(p,p) − Σ_pO(Σ_OO+λ'I)⁻¹Σ_Op from the NNGP features (computed
//            once per prepare, in column batches).
//   predictHeldOut: the closed-form k-fold / LOO residuals of kernel ridge, exact refits for the sketched
//            kernel (same formulas as `cntk`), when the LIP does not depend on which cells are observed.

import { UserError } from '../domain/errors.ts';
import { subProgress, throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import type { Observations } from '../domain/types.ts';
import { getTf } from '../compute/backend.ts';
import { buildLip, lipDependsOnSet, lipDependsOnValues } from '../kernels/lip.ts';
import { sketchFeatures, SKETCH_LIMITS, type SketchFeatures } from '../kernels/sketch/features.ts';
import { fwhtInPlace } from '../kernels/sketch/hadamard.ts';
import { nextPow2, SignSource } from '../kernels/sketch/random.ts';
import { cholesky, choleskyForwardRows, type CholeskyFactor } from '../solvers/cholesky.ts';
import { symEigen } from '../solvers/eigen.ts';
import { ShiftedSolver, tridiagonalize } from '../solvers/tridiag.ts';
import { CNTK_MODEL_PARAMS, cntkModelOptions, resourceArch, meanDiag, meanValues, padGrid, paddedObservations, spread, standardize } from './cntk.ts';
import { chooseLambda, heldOutPredictor, mlScale, symmetrize, type LooCurvePoint, type ShiftedSolve } from './kernel-ridge.ts';
import type { ResourceEstimate, ResourceQuery } from './resources.ts';
import type { Estimator, ParamSpec, ParamValues, PreparedEstimator, Prediction } from './types.ts';
import type * as tfTypes from '@tensorflow/tfjs-core';

export const DEFAULT_SKETCH_DEGREE = 4;

/**
 * Default feature dimension for a grid of P cells (parameter features = 0): the largest power of two
 * m ≤ 4096·128²/P, clamped to 512…4096. The work (≈ P·m) then stays that of a 128×128 grid at m = 4096 up
 * to ~360×360 cells, and grows linearly with P beyond at m = 512: 128×128 → 4096 (within ±4 % of the exact
 * `cntk` RMSE on the demo and volcano for every seed tried), 256×256 → 1024, 512×512 and larger → 512
 * (~20–25 s and ~1.8 GB for 512×512 on 2 cores). Benchmarks in docs/cntk-sketch.md.
 */
export function autoFeatures(cells: number): number {
  const target = (4096 * 128 * 128) / Math.max(1, cells);
  return Math.min(4096, Math.max(512, 2 ** Math.floor(Math.log2(target))));
}

export const CNTK_SKETCH_PARAMS: ParamSpec[] = [
  ...CNTK_MODEL_PARAMS,
  { name: 'features', type: 'integer', default: 0, min: 0, max: SKETCH_LIMITS.maxFeatures, help: 'Sketch dimension m of the feature maps inside the network (≥ 16): the kernel error falls like 1/√m, time and memory grow like m. 0 = by grid size (4096 at 128×128, 1024 at 256×256, 512 from ~360×360).' },
  { name: 'degree', type: 'integer', default: DEFAULT_SKETCH_DEGREE, min: SKETCH_LIMITS.minDegree, max: SKETCH_LIMITS.maxDegree, help: 'Degree of the non-negative polynomial fit of the ReLU arc-cosine kernel κ1 (and of κ0 when derivative = poly).', advanced: true },
  { name: 'derivative', type: 'enum', default: 'rf', choices: ['rf', 'poly'], help: 'How the ReLU derivative kernel κ0 is sketched: rf (exact in expectation: constant part + sign random features) or poly (polynomial fit like κ1; biased by its slow convergence at the kink).', advanced: true },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2 ** 31 - 1, help: 'Seed of the random sketches (same seed, same map).', advanced: true },
  { name: 'lambda', type: 'number', default: 0, min: 0, max: 1e6, help: 'Ridge λ relative to the mean of diag K_OO; 0 = choose by closed-form leave-one-out over 1e-7 … 10.' },
  { name: 'variance', type: 'boolean', default: true, help: 'Compute the uncertainty map (NNGP posterior variance from the sketched NNGP features, scaled to the data).' },
  { name: 'solver', type: 'enum', default: 'auto', choices: ['auto', 'dual', 'primal'], help: 'Ridge system: dual (n×n, exact for the sketched kernel), primal (compressed features, for thousands of observed cells), auto (dual up to 2000 observed cells).', advanced: true },
];

/** auto: dual up to this many observed cells. */
export const SKETCH_DUAL_MAX = 2000;

/**
 * (K + λI)⁻¹ for K = Φ̃Φ̃ᵀ given the eigendecomposition Φ̃ᵀΦ̃ = VΛVᵀ and U = Φ̃V (n×r):
 * (K + λI)⁻¹ = (I − U diag(1/(Λ+λ)) Uᵀ)/λ. O(n·r) per solve and per diagonal.
 */
export class LowRankShifted implements ShiftedSolve {
  constructor(
    readonly n: number,
    readonly r: number,
    /** n×r row-major. */
    private readonly U: Float64Array,
    private readonly lam: Float64Array,
  ) {}
  project(y: ArrayLike<number>): Float64Array {
    return Float64Array.from(y);
  }
  solveProjected(y: Float64Array, lambda: number): Float64Array {
    return this.solve(y, lambda);
  }
  solve(y: ArrayLike<number>, lambda: number): Float64Array {
    if (!(lambda > 0)) throw new Error('primal ridge needs λ > 0');
    const { n, r, U, lam } = this;
    const t = new Float64Array(r);
    for (let i = 0; i < n; i++) {
      const yi = y[i];
      const o = i * r;
      for (let k = 0; k < r; k++) t[k] += U[o + k] * yi;
    }
    for (let k = 0; k < r; k++) t[k] /= lam[k] + lambda;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * r;
      for (let k = 0; k < r; k++) s += U[o + k] * t[k];
      out[i] = (y[i] - s) / lambda;
    }
    return out;
  }
  inverseDiag(lambda: number): Float64Array {
    const { n, r, U, lam } = this;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * r;
      for (let k = 0; k < r; k++) s += (U[o + k] * U[o + k]) / (lam[k] + lambda);
      out[i] = (1 - s) / lambda;
    }
    return out;
  }
  inverseBlock(lambda: number, F: ArrayLike<number>): Float64Array {
    const { r, U, lam } = this;
    const m = F.length;
    const out = new Float64Array(m * m);
    for (let a = 0; a < m; a++) {
      for (let b = 0; b < m; b++) {
        let s = 0;
        const oa = F[a] * r;
        const ob = F[b] * r;
        for (let k = 0; k < r; k++) s += (U[oa + k] * U[ob + k]) / (lam[k] + lambda);
        out[a * m + b] = ((a === b ? 1 : 0) - s) / lambda;
      }
    }
    return out;
  }
}

/** SRHT R: R^D → R^r, R x = (H_{D'} (s ⊙ x))[:r]/√r (D' = 2^⌈log₂D⌉), and its transpose, in float64 JS. */
class CompressSrht {
  readonly Dp: number;
  readonly signs: Float32Array;
  constructor(
    readonly D: number,
    readonly r: number,
    seed: number,
  ) {
    this.Dp = nextPow2(D);
    this.signs = new SignSource(seed ^ 0x2545f491).signs(D);
  }
  apply(x: ArrayLike<number>, offset: number): Float64Array {
    const v = new Float64Array(this.Dp);
    for (let i = 0; i < this.D; i++) v[i] = this.signs[i] * x[offset + i];
    fwhtInPlace(v);
    const out = new Float64Array(this.r);
    const s = 1 / Math.sqrt(this.r);
    for (let j = 0; j < this.r; j++) out[j] = v[j] * s;
    return out;
  }
  transpose(y: ArrayLike<number>): Float64Array {
    const v = new Float64Array(this.Dp);
    const s = 1 / Math.sqrt(this.r);
    for (let j = 0; j < this.r; j++) v[j] = y[j] * s;
    fwhtInPlace(v);
    const out = new Float64Array(this.D);
    for (let i = 0; i < this.D; i++) out[i] = this.signs[i] * v[i];
    return out;
  }
}

/** Gram matrix A·Aᵀ (n×n float64) of the rows of an [n, D] tensor. */
async function gram(tf: typeof tfTypes, A: tfTypes.Tensor2D): Promise<Float64Array> {
  const n = A.shape[0];
  const g = tf.tidy(() => tf.matMul(A, A, false, true));
  const data = await g.data();
  g.dispose();
  return symmetrize(Float64Array.from(data), n);
}

let lastBackend = 'js';

export interface SketchModel {
  features: SketchFeatures;
  /** Cells of the observations on the (padded) feature grid. */
  cells: Int32Array;
  paddedWidth: number;
}

async function prepareSketch(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator> {
  const t0 = performance.now();
  const n = obs.cell.length;
  if (n === 0) throw new UserError('cntk-sketch: no observed cells in the grid');
  const model = cntkModelOptions(params);
  const padded = padGrid(obs.grid, model.layers);
  const givenM = Number(params.features ?? 0);
  if (givenM !== 0 && givenM < SKETCH_LIMITS.minFeatures) throw new UserError(`cntk-sketch: features must be 0 (by grid size) or at least ${SKETCH_LIMITS.minFeatures} (got ${givenM})`);
  const m = givenM === 0 ? autoFeatures(padded.width * padded.height) : givenM;
  const derivative = params.derivative === 'poly' ? 'poly' : 'rf';
  const degree = Number(params.degree ?? DEFAULT_SKETCH_DEGREE);
  const seed = Number(params.seed ?? 1);
  const fixedTau = Number(params.lambda ?? 0);
  const wantVariance = params.variance !== false;
  const solverChoice = String(params.solver ?? 'auto');
  const steps = trainingValues && trainingValues.length > 0 && trainingValues.every((t) => t.length === n) ? trainingValues : [obs.values];
  const valueLip = lipDependsOnValues(model.channels);
  const lipValues = valueLip && steps.length > 1 ? meanValues(steps) : obs.values;

  // 1. LIP on the padded grid and the sketched features of every pixel
  const pobs = paddedObservations(obs, padded);
  const prior = buildLip(pobs, model.channels, { values: lipValues });
  const features = await sketchFeatures(
    prior,
    { arch: model.layers, sigmaW2: model.sigmaW2, sigmaB2: model.sigmaB2, features: m, degree, seed, derivative },
    { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0, 0.75, 'features') },
  );
  lastBackend = features.backend;
  const tf = await getTf();
  const cells = pobs.cell;
  let PhiO: tfTypes.Tensor2D | null = null;
  let PsiO: tfTypes.Tensor2D | null = null;
  const disposeAll = () => {
    features.dispose();
    PhiO?.dispose();
    PsiO?.dispose();
  };
  try {
    throwIfCancelled(ctx.signal);
    // 2. features at the observed cells and the ridge system
    PhiO = features.ntk.gather(cells);
    const D = PhiO.shape[1];
    const useDual = solverChoice === 'dual' || (solverChoice === 'auto' && n <= SKETCH_DUAL_MAX);
    ctx.onProgress?.({ stage: 'solve', fraction: 0.78, message: useDual ? `dual ${n}×${n}` : `primal` });
    let solver: ShiftedSolve;
    let scaleK: number;
    let compress: CompressSrht | null = null;
    let PhiTilde: Float64Array | null = null; // n×r (primal)
    if (useDual) {
      const K = await gram(tf, PhiO);
      scaleK = meanDiag(K, n);
      if (!(scaleK > 0)) throw new UserError('cntk-sketch: the kernel is zero at the observed cells (all LIP channels are zero there?): add the const or x,y channels');
      solver = new ShiftedSolver(await tridiagonalize(K, n, ctx));
    } else {
      const r = Math.min(D, Math.max(128, Math.min(m, 512)));
      compress = new CompressSrht(D, r, seed);
      const rows = (await PhiO.data()) as Float32Array;
      PhiTilde = new Float64Array(n * r);
      for (let i = 0; i < n; i++) {
        PhiTilde.set(compress.apply(rows, i * D), i * r);
        if ((i & 255) === 255) {
          throwIfCancelled(ctx.signal);
          await yieldToLoop();
        }
      }
      const G = new Float64Array(r * r);
      for (let i = 0; i < n; i++) {
        const o = i * r;
        for (let a = 0; a < r; a++) {
          const va = PhiTilde[o + a];
          if (va === 0) continue;
          const ga = a * r;
          for (let b = a; b < r; b++) G[ga + b] += va * PhiTilde[o + b];
        }
        if ((i & 63) === 63) {
          throwIfCancelled(ctx.signal);
          await yieldToLoop();
        }
      }
      for (let a = 0; a < r; a++) for (let b = 0; b < a; b++) G[a * r + b] = G[b * r + a];
      const eig = symEigen(G, r);
      const lam = Float64Array.from(eig.values, (v) => Math.max(0, v));
      const U = new Float64Array(n * r);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < r; k++) {
          let s = 0;
          for (let a = 0; a < r; a++) s += PhiTilde[i * r + a] * eig.vectors[a * r + k];
          U[i * r + k] = s;
        }
      }
      let tr = 0;
      for (let k = 0; k < r; k++) tr += lam[k];
      scaleK = tr / n;
      if (!(scaleK > 0)) throw new UserError('cntk-sketch: the kernel is zero at the observed cells (all LIP channels are zero there?): add the const or x,y channels');
      solver = new LowRankShifted(n, r, U, lam);
    }
    throwIfCancelled(ctx.signal);

    // 3. λ by closed-form leave-one-out
    const looYs = spread(steps, 8).map((v) => standardize(v, model.target).y);
    let tau: number;
    let curve: LooCurvePoint[] = [];
    let atBound = false;
    if (fixedTau > 0) tau = fixedTau;
    else if (n < 3) tau = 1e-3;
    else ({ tau, curve, atBound } = chooseLambda(solver, scaleK, looYs));
    const lambda = tau * scaleK;
    ctx.onProgress?.({ stage: 'solve', fraction: 0.9, message: `λ = ${lambda.toExponential(2)}` });

    // 4. the NNGP side (variance): Σ_OO + λ'I with the same relative ridge
    let cholS: CholeskyFactor | null = null;
    let lambdaS = 0;
    if (wantVariance) {
      PsiO = features.nngp.gather(cells);
      const S = await gram(tf, PsiO);
      const scaleS = meanDiag(S, n);
      lambdaS = tau * scaleS;
      for (let i = 0; i < n; i++) S[i * n + i] += lambdaS;
      cholS = cholesky(S, n);
    }

    const W = obs.grid.width;
    const H = obs.grid.height;
    const Wp = padded.width;
    const Pp = padded.width * padded.height;
    const diagnostics: Record<string, unknown> = {
      arch: model.arch,
      lip: model.channels.join(','),
      lipDependsOn: valueLip ? 'values' : lipDependsOnSet(model.channels) ? 'sensor set' : 'grid only',
      sigmaW2: model.sigmaW2,
      sigmaB2: model.sigmaB2,
      target: model.target,
      observed: n,
      features: m,
      featuresChosenBy: givenM === 0 ? 'grid size' : 'parameter',
      degree,
      derivative,
      seed,
      featureDim: { ntk: features.ntk.dim, nngp: features.nngp.dim },
      featureLayers: features.log,
      featureBackend: features.backend,
      featureSeconds: features.seconds,
      solver: useDual ? 'dual' : `primal (SRHT to ${compress!.r} columns)`,
      paddedGrid: padded.padded ? `${padded.width}x${padded.height}` : null,
      tau,
      lambda,
      lambdaChosenBy: fixedTau > 0 ? 'parameter' : n < 3 ? 'default (fewer than 3 observations)' : 'leave-one-out',
      lambdaAtGridBound: atBound,
      looCurve: curve,
      prepareSeconds: 0,
    };
    ctx.onProgress?.({ stage: 'solve', fraction: 1 });

    /** Map ⟨φ_ntk(p), w⟩ on the padded grid for the D-vector w = Φ_Oᵀα (or Rᵀ Φ̃ᵀα in primal form). */
    const mapFor = async (alpha: Float64Array): Promise<Float32Array> => {
      let w: tfTypes.Tensor2D;
      if (compress && PhiTilde) {
        const r = compress.r;
        const wt = new Float64Array(r);
        for (let i = 0; i < n; i++) {
          const a = alpha[i];
          for (let k = 0; k < r; k++) wt[k] += a * PhiTilde[i * r + k];
        }
        w = tf.tensor2d(Float32Array.from(compress.transpose(wt)), [D, 1]);
      } else {
        w = tf.tidy(() => tf.matMul(PhiO!, tf.tensor2d(Float32Array.from(alpha), [n, 1]), true, false));
      }
      try {
        const f = features.ntk.apply(w);
        const out = (await f.data()) as Float32Array;
        f.dispose();
        return out;
      } finally {
        w.dispose();
      }
    };

    /** Unscaled NNGP posterior variance on the padded grid, in column batches of L⁻¹Ψ_O. */
    let varCache: Promise<Float64Array> | null = null;
    const varianceMap = async (vctx: RunContext): Promise<Float64Array> => {
      // q(p) = ‖L⁻¹ Ψ_O ψ(p)‖² = Σ_j ⟨ψ(p), u_j⟩² with u_j the rows of L⁻¹Ψ_O
      const Dn = PsiO!.shape[1];
      const psi = (await PsiO!.data()) as Float32Array;
      // right-hand sides = columns of Ψ_O, stored as rows of Ψ_Oᵀ (Dn×n): Y = (L⁻¹ Ψ_O)ᵀ
      const PsiT = new Float64Array(Dn * n);
      for (let i = 0; i < n; i++) for (let d = 0; d < Dn; d++) PsiT[d * n + i] = psi[i * Dn + d];
      const Y = choleskyForwardRows(cholS!, PsiT, Dn);
      const q = new Float64Array(Pp);
      // columns per pass: the tail's shifted copies are K²·batch values per cell (≤ ~250 MB at once)
      const batch = Math.max(1, Math.min(n, Math.floor(6e7 / (9 * Pp))));
      for (let j0 = 0; j0 < n; j0 += batch) {
        throwIfCancelled(vctx.signal);
        const b = Math.min(batch, n - j0);
        const Ub = new Float32Array(Dn * b);
        for (let d = 0; d < Dn; d++) for (let c = 0; c < b; c++) Ub[d * b + c] = Y[d * n + j0 + c];
        const sq = tf.tidy(() => {
          const Ut = tf.tensor2d(Ub, [Dn, b]);
          return tf.sum(tf.square(features.nngp.apply(Ut)), 2);
        });
        const part = (await sq.data()) as Float32Array;
        sq.dispose();
        for (let p = 0; p < Pp; p++) q[p] += part[p];
        vctx.onProgress?.({ stage: 'variance', fraction: Math.min(1, (j0 + b) / n) });
        await yieldToLoop();
      }
      const dg = features.nngp.sqNorm();
      const diag = (await dg.data()) as Float32Array;
      dg.dispose();
      const v = new Float64Array(Pp);
      for (let p = 0; p < Pp; p++) v[p] = Math.max(0, diag[p] - q[p]);
      return v;
    };

    diagnostics.prepareSeconds = (performance.now() - t0) / 1000;
    let disposed = false;
    const prepared: PreparedEstimator = {
      diagnostics,
      async predict(values: Float64Array, pctx: RunContext): Promise<Prediction> {
        if (disposed) throw new Error('cntk-sketch: predict after dispose');
        if (values.length !== n) throw new UserError(`cntk-sketch: ${values.length} values for ${n} observed cells`);
        const st = standardize(values, model.target);
        const alpha = solver.solve(st.y, lambda);
        const f = await mapFor(alpha);
        const out = new Float32Array(W * H);
        for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) out[r * W + c] = st.shift + st.scale * f[r * Wp + c];
        const pred: Prediction = { values: out, diagnostics: { lambda, tau } };
        if (wantVariance && cholS) {
          varCache ??= varianceMap(pctx);
          const v = await varCache;
          const s2 = cholS ? mlScale(cholS, st.y) : 1;
          const k = s2 * st.scale * st.scale;
          const variance = new Float32Array(W * H);
          for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) variance[r * W + c] = k * v[r * Wp + c];
          pred.variance = variance;
          pred.diagnostics = { ...pred.diagnostics, varianceScale: s2, noiseVariance: k * lambdaS };
        }
        return pred;
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        disposeAll();
      },
    };

    if (!lipDependsOnSet(model.channels)) {
      prepared.predictHeldOut = heldOutPredictor({ method: 'cntk-sketch', solver, lambda, target: model.target, nngp: wantVariance ? cholS : null });
    }
    return prepared;
  } catch (e) {
    disposeAll();
    throw e;
  }
}

/** Memory and time guess for the resource check (linear in the number of cells). */
export function cntkSketchResources(q: ResourceQuery): ResourceEstimate {
  const { layers, P } = resourceArch(q);
  const m = Number(q.params.features ?? 0) || autoFeatures(P);
  // the largest relu OUTPUT that is stored (a relu followed by down is stored at a quarter of its pixels)
  let level = 0;
  let maxStored = 0;
  let reluPixels = 0;
  layers.forEach((l, i) => {
    if (l.kind === 'down') level++;
    else if (l.kind === 'up') level--;
    else if (l.kind === 'relu') {
      const px = P / 4 ** level;
      reluPixels += px;
      maxStored = Math.max(maxStored, layers[i + 1]?.kind === 'down' ? px / 4 : px);
    }
  });
  const n = q.observed;
  const wantVar = q.params.variance !== false;
  // measured (bench/sketch.ts, m = 512): 1.26 / 1.81 / 2.66 GB peak RSS at 256² / 512² / 1024²; 3.4e-5 s per relu
  // pixel at m = 512 (13.8 s of features at 512²); the variance map ~2.5e-10 s per multiply-add of its batches.
  // Stored Σ and Θ maps (Θ twice as wide after a conv), relu chunk temporaries, variance batches, runtime.
  const bytes = 3e8 + 12 * m * maxStored + 4 * 8192 * m * 24 + (wantVar ? 2.4e8 : 0) + 8 * n * n * 3 + 16 * P;
  return {
    bytes,
    prepareSeconds: 6.6e-8 * reluPixels * m + 3e-9 * n ** 3,
    predictSeconds: 2.5e-10 * (P / 4) * m * 9 * (1 + (wantVar ? n : 0)) + 1e-3,
    note: 'sketched CNTK features: linear in the number of cells',
  };
}

export const cntkSketch: Estimator & { estimateResources(q: ResourceQuery): ResourceEstimate } = {
  id: 'cntk-sketch',
  label: 'EME-CNTK, sketched (large grids)',
  description:
    'The EME-CNTK model with the exact kernel replaced by sketched random features (Zandieh et al. 2021: polynomial approximations of the ReLU arc-cosine kernels combined by TensorSRHT, layer by layer through the network): ' +
    'time and memory linear in the number of cells, so 512×512 grids and more. Ridge λ by closed-form leave-one-out; uncertainty from the sketched NNGP posterior. Accuracy approaches `cntk` as the feature dimension grows.',
  params: CNTK_SKETCH_PARAMS,
  providesVariance: true,
  backend: () => lastBackend,
  estimateResources: cntkSketchResources,
  prepare: prepareSketch,
};
