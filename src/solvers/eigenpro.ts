// EigenPro 2 (Ma & Belkin, "Kernel machines that adapt to GPUs for effective large batch training",
// SysML 2019): preconditioned mini-batch SGD for the kernel system (K + λI) α = y, reading K by blocks of
// rows only (memory O(n·bs), never n×n).
//
// Mathematics (all stated for the square loss L(f) = 1/(2n) Σ (f(x_i) − y_i)², f = Σ α_j k(x_j, ·)):
// - The Hessian of L is the covariance operator T = (1/n) Σ k(x_i,·)⊗k(x_i,·), whose eigenvalues are those of
//   K/n. Plain mini-batch SGD with batch B (size m) and step η (per batch) is, in α coordinates,
//       α_B −= (η/m)·g,  g = (K + λI)_{B,·} α − y_B.
// - Nyström: on a subsample S of s points, the eigenfunctions of T_s = (1/s) Σ_{j∈S} k(x_j,·)⊗k(x_j,·) are
//   e_i = Σ_{j∈S} c_ij k(x_j, ·) with K_ss c_i = s λ_i c_i. With v_i the unit eigenvector of K_ss/s
//   (eigenvalue λ_i), unit RKHS norm needs c_i = v_i/√(s λ_i), so e_i(x) = v_iᵀ K_{S,x} / √(s λ_i).
// - EigenPro replaces each gradient direction k(x_b,·) by P k(x_b,·) with
//   P = I − Σ_{i≤q} (1 − λ_{q+1}/λ_i) e_i⊗e_i, which maps the top-q eigenvalues of T to λ_{q+1}. Expanding
//   P k(x_b,·) = k(x_b,·) − Σ_i (1 − λ_{q+1}/λ_i) e_i(x_b) e_i gives, in α coordinates,
//       α_B −= (η/m)·g,   α_S += (η/m)·V D Vᵀ K_{S,B} g,   D_ii = (1 − λ_{q+1}/λ_i) / (s·λ_i)  (λ = 0)
//   (V = [v_1..v_q], λ_i eigenvalues of K_ss/s; the factor 1/s is the "scaled by s" of the design note:
//   with eigenvalues σ_i = sλ_i of K_ss itself, D_ii = (1 − σ_{q+1}/σ_i)/σ_i).
// - Batch and step (EigenPro 2, sec. 3–4): β = max_x k_P(x,x), the largest diagonal of the preconditioned
//   kernel k_P(x,x) = k(x,x) − Σ_{i≤q} (1 − λ_{q+1}/λ_i) e_i(x)² (plus λ for the ridge), evaluated on S and
//   on a check sample S' outside S; the top eigenvalue λ_top is the larger of λ_{q+1} and the top
//   eigenvalue of the preconditioned kernel on S' (the Nyström extension is least accurate off S); the
//   critical batch size is m* = β/λ_top; the batch is m* capped by the memory budget for a block of rows
//   and by n; the step is η = m/β for m < m* + 1 (linear scaling), otherwise
//   η = 0.99·2m/(β + (m − 1)λ_top) (saturation, as in the authors' code); a full batch (m = n) is
//   deterministic preconditioned gradient descent and takes η = 0.99·2n/max(nλ_top, β). Each point of a
//   batch moves by η/bs (bs = the batch size), also in the shorter last batch of an epoch.
// - Automatic q: the largest q ≤ maxQ whose eigenpairs are accurate enough (Ritz residuals ≤ λ_{q+1}/20):
//   per epoch, the slow directions contract by ≈ exp(−c·nμ_j/β), so a larger q (smaller β) means fewer
//   epochs; q ≤ s/5 when s < n (Nyström extension), q ≤ 600 by default (the eigenpairs cost O(s²·q)).
// - Plain mode (preconditioner 'none') is the same loop with q = 0: β = max k(x,x), λ_1 in place of λ_{q+1}.
// - The ridge λ enters the gradient exactly ((K + λI) α − y) and shifts the operator's eigenvalues to
//   μ_i = λ_i + λ/n. The preconditioner must map μ_i (not λ_i) to μ_{q+1}: in α coordinates
//   M(K + λI) v_i = (1 − D_ii·sλ_i)(nμ_i) v_i (s = n), so D_ii = (1 − μ_{q+1}/μ_i)/(s·λ_i); with
//   D_ii = (1 − λ_{q+1}/λ_i)/(sλ_i) the top directions would land on nλ_{q+1} ≪ nμ_{q+1} when λ/n is not
//   small next to λ_{q+1}, and converge slowly. β gets + λ, the step uses μ_{q+1}.
// Convergence is the fixed point (K + λI) α = y (the preconditioner is invertible: its eigenvalues are
// λ_{q+1}/λ_i and 1), so the solver reaches the direct solution; stopping is on the relative residual
// ‖(K + λI) α − y‖/‖y‖ measured exactly (n ≤ evalSize) or on a fixed random subset of evalSize rows.

import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import { getTf, initBackend } from '../compute/backend.ts';
import { makeRng, topEigenpairs } from './eigen.ts';
import { randomSubset } from '../util/random.ts';
import type { KernelOperator } from './kernel-operator.ts';

export type PreconditionerMode = 'eigenpro' | 'none';

export interface EigenProOptions {
  /** Ridge λ ≥ 0 of (K + λI) α = y (default 0). */
  lambda?: number;
  /** 'eigenpro' (default) or 'none' = plain mini-batch SGD with the same loop, for comparison. */
  preconditioner?: PreconditionerMode;
  /** Nyström subsample size s (default min(n, 6000)). */
  subsample?: number;
  /** Number of eigen-directions flattened (default automatic, see maxQ). */
  q?: number;
  /**
   * Upper bound for the automatic q (default 600; at most s/5 when s < n). Larger q lowers the preconditioned β and so
   * the epochs needed, until the eigenpairs' float32 accuracy (or the memory for a batch) stops it.
   */
  maxQ?: number;
  /**
   * Batch size (default: the critical batch size m* of the preconditioned kernel, capped by memory and n;
   * in plain mode, the batch EigenPro would use, so that the two differ only by the preconditioner).
   */
  batchSize?: number;
  /** Step η per batch in EigenPro units (applied as η/m per sample); default from the EigenPro 2 rule. */
  step?: number;
  /** Bytes allowed for a block of kernel rows and for cached evaluation rows (default 512 MiB). */
  memoryBytes?: number;
  /** Seed of the subsample, the random starts and the shuffles (default 1). */
  seed?: number;
  /** Subspace iterations for the eigenpairs (default 8). */
  eigenIterations?: number;
}

export interface EigenProSetup {
  n: number;
  lambda: number;
  mode: PreconditionerMode;
  /** Subsample (indices into 0..n−1, sorted) and its size. */
  sample: Int32Array;
  s: number;
  /** Directions flattened (0 in plain mode). */
  q: number;
  /** Leading eigenvalues of K_ss/s that were computed (decreasing). */
  eigenvalues: Float64Array;
  /** s×q row-major eigenvectors (unit norm) of K_ss/s. */
  V: Float32Array;
  /** q preconditioner weights D_ii = (1 − μ_{q+1}/μ_i)/(s λ_i), μ_i = λ_i + λ/n. */
  D: Float64Array;
  /** max_x k(x,x) + λ and the preconditioned counterpart used for the step. */
  betaPlain: number;
  beta: number;
  /**
   * Top eigenvalue of the preconditioned operator used for batch and step: max(μ_{q+1}, its estimate on
   * the check sample S'), μ_{q+1} = λ_{q+1} + λ/n (λ_1 + λ/n in plain mode).
   */
  topEigenvalue: number;
  /** μ_{q+1} from the subsample, and the check-sample estimate (0 when S' is empty or too small). */
  topInSample: number;
  topOutOfSample: number;
  /** Size of the check sample S' (points outside S). */
  checkSize: number;
  /** Critical batch size β/λ_{q+1}. */
  criticalBatch: number;
  batchSize: number;
  /** Step η per batch (EigenPro units); the per-sample step is η/batchSize. */
  step: number;
  memoryBytes: number;
  seed: number;
  /** How each of q, batch and step was chosen (for diagnostics). */
  choices: { q: 'auto' | 'given'; batchSize: 'auto' | 'given' | 'capped'; step: 'auto' | 'given' };
  timings: { kernelSeconds: number; eigenSeconds: number };
  backend: string;
}

export interface SolveOptions {
  /** Stop when the relative residual ‖(K+λI)α − y‖/‖y‖ (every right-hand side) is ≤ tol (default 1e-4). */
  tol?: number;
  /** Stop after this many epochs (default 200). */
  maxEpochs?: number;
  /**
   * Rows used to measure the residual: all when n ≤ evalSize (default 1000), else a fixed random subset
   * (cached when it fits in half the memory budget; its relative residual estimates the full one to a
   * few per cent).
   */
  evalSize?: number;
  /** Starting coefficients (one per right-hand side), e.g. the previous time step's solution. */
  alpha0?: Float64Array[];
  /** Progress stage name (default "eigenpro" / "sgd"). */
  stage?: string;
}

export interface EpochRecord {
  epoch: number;
  /** Relative residual (max over right-hand sides) after the epoch. */
  residual: number;
  /** Mean squared residual of the mini-batches seen during the epoch (training MSE, y units²). */
  trainMse: number;
  /** Seconds since the solve started. */
  seconds: number;
  /** Per-batch step η in effect. */
  step: number;
  /** Set when the epoch diverged and was rolled back with a halved step. */
  rolledBack?: boolean;
}

export interface EigenProResult {
  /** Solution, one Float64Array per right-hand side. */
  alpha: Float64Array[];
  epochs: number;
  /** Final relative residual (max over right-hand sides), measured as in SolveOptions.evalSize. */
  residual: number;
  /** Whether the residual was measured on all n rows. */
  residualExact: boolean;
  converged: boolean;
  stopReason: 'tolerance' | 'maxEpochs';
  history: EpochRecord[];
  seconds: number;
  /** Final per-batch step (smaller than setup.step if divergence forced a halving). */
  step: number;
}

const DEFAULT_MEMORY = 512 * 1024 * 1024;
const DEFAULT_MAX_Q = 600;
const DEFAULT_SUBSAMPLE = 6000;

/** Σ_j row[j]·x[j] over n entries; four accumulators let V8 overlap the multiply-adds (~2× a plain loop). */
function dot(row: Float32Array, x: Float64Array, n: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    a0 += row[j] * x[j];
    a1 += row[j + 1] * x[j + 1];
    a2 += row[j + 2] * x[j + 2];
    a3 += row[j + 3] * x[j + 3];
  }
  for (; j < n; j++) a0 += row[j] * x[j];
  return a0 + a1 + a2 + a3;
}

function rangeIdx(start: number, end: number): Int32Array {
  const idx = new Int32Array(end - start);
  for (let i = 0; i < idx.length; i++) idx[i] = start + i;
  return idx;
}

function shuffle(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Gather K[idx, cols] from the operator, reading at most `chunk` rows at a time. */
async function gatherBlock(op: KernelOperator, idx: Int32Array, cols: Int32Array, chunk: number, signal?: AbortSignal): Promise<Float32Array> {
  const n = op.n;
  const out = new Float32Array(idx.length * cols.length);
  for (let start = 0; start < idx.length; start += chunk) {
    throwIfCancelled(signal);
    const part = idx.subarray(start, Math.min(idx.length, start + chunk));
    const rows = await op.rows(part);
    for (let r = 0; r < part.length; r++) {
      const o = (start + r) * cols.length;
      const src = r * n;
      for (let c = 0; c < cols.length; c++) out[o + c] = rows[src + cols[c]];
    }
    await yieldToLoop();
  }
  return out;
}

/**
 * Build the preconditioner and choose q, batch size and step. Work: s kernel rows, O(s²·q) tf.matMul for
 * the eigenpairs. The result is reusable for any number of right-hand sides (time steps).
 */
export async function setupEigenPro(op: KernelOperator, opts: EigenProOptions = {}, ctx: RunContext = {}): Promise<EigenProSetup> {
  const n = op.n;
  const lambda = opts.lambda ?? 0;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`EigenPro: lambda must be ≥ 0, got ${lambda}`);
  const mode: PreconditionerMode = opts.preconditioner ?? 'eigenpro';
  const seed = opts.seed ?? 1;
  const memoryBytes = opts.memoryBytes ?? DEFAULT_MEMORY;
  const rand = makeRng(seed);
  const t0 = performance.now();
  ctx.onProgress?.({ stage: 'preconditioner', fraction: 0, message: 'Nyström subsample' });

  const diag = op.diag();
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    if (!(diag[i] >= 0)) throw new Error(`EigenPro: kernel diagonal entry ${i} is ${diag[i]} (must be ≥ 0)`);
    if (diag[i] > maxDiag) maxDiag = diag[i];
  }
  if (!(maxDiag > 0)) throw new Error('EigenPro: the kernel is zero on its diagonal');
  const betaPlain = maxDiag + lambda;

  const s = Math.max(1, Math.min(n, Math.floor(opts.subsample ?? DEFAULT_SUBSAMPLE)));
  const sample = randomSubset(n, s, rand);
  const rowChunk = Math.max(1, Math.min(s, Math.floor(64e6 / (4 * n))));
  const Kss = await gatherBlock(op, sample, sample, rowChunk, ctx.signal);
  const kernelSeconds = (performance.now() - t0) / 1000;

  // Eigenpairs: k = q+1 (given q), maxQ+1 (automatic), or 1 (plain mode: only λ_1 is needed, but the
  // spectrum up to maxQ+1 is computed when the batch must match EigenPro's automatic choice).
  // With s < n the Nyström extension of the q-th eigenfunction degrades as q approaches s (EigenPro uses
  // q ≲ s/10; the check sample below measures what the extension really achieves, so we allow s/5); with
  // s = n the eigenpairs are those of K itself and only their accuracy limits q.
  const maxQ = Math.max(0, Math.min(opts.maxQ ?? DEFAULT_MAX_Q, s - 1, s < n ? Math.floor(s / 5) : s));
  const wantQ = opts.q !== undefined ? Math.max(0, Math.min(Math.floor(opts.q), s - 1)) : undefined;
  const needSpectrumForBatch = mode === 'none' && opts.batchSize === undefined;
  const kEig = mode === 'eigenpro' || needSpectrumForBatch ? (wantQ !== undefined ? wantQ + 1 : maxQ + 1) : 1;
  ctx.onProgress?.({ stage: 'preconditioner', fraction: 0.3, message: `top ${kEig} eigenpairs of the ${s}×${s} subsample kernel` });
  const t1 = performance.now();
  const eig = await topEigenpairs(Kss, s, Math.min(kEig, s), { seed: seed + 17, iterations: opts.eigenIterations, signal: ctx.signal });
  const eigenSeconds = (performance.now() - t1) / 1000;
  const lam = eig.values.map((v) => Math.max(v / s, 0)); // eigenvalues of K_ss/s
  const k = lam.length;
  // The ridge in the operator's units: (K + λI)/n has eigenvalues μ_i = λ_i + λ/n.
  const ridge = lambda / n;

  // A check sample S' of points outside S (disjoint, up to 1000): the Nyström extension is least accurate
  // there, so the preconditioned kernel on S' tells the truth about β and about the top eigenvalue the
  // preconditioned operator really has on all n points (both can exceed their in-sample values).
  const qCap = k - 1;
  const s2 = mode === 'eigenpro' || needSpectrumForBatch ? Math.min(n - s, 1000) : Math.min(n - s, 500);
  let check: Int32Array = new Int32Array(0);
  let K2 = new Float32Array(0); // s2×s2 kernel on S'
  let E2 = new Float64Array(0); // s2×qCap: e_i(x) = v_iᵀ K_{S,x}/√(sλ_i)
  if (s2 > 0) {
    const inS = new Uint8Array(n);
    for (const j of sample) inS[j] = 1;
    const pool = new Int32Array(n - s);
    for (let i = 0, p = 0; i < n; i++) if (!inS[i]) pool[p++] = i;
    check = Int32Array.from(randomSubset(pool.length, s2, rand), (p) => pool[p]);
    const both = Int32Array.from([...sample, ...check]);
    const block = await gatherBlock(op, check, both, rowChunk, ctx.signal); // s2 × (s + s2)
    K2 = new Float32Array(s2 * s2);
    const Kxs = new Float32Array(s2 * s);
    for (let r = 0; r < s2; r++) {
      Kxs.set(block.subarray(r * (s + s2), r * (s + s2) + s), r * s);
      K2.set(block.subarray(r * (s + s2) + s, (r + 1) * (s + s2)), r * s2);
    }
    if (qCap > 0) {
      const tf = await getTf();
      const Vk = new Float32Array(s * qCap);
      for (let j = 0; j < s; j++) for (let i = 0; i < qCap; i++) Vk[j * qCap + i] = eig.vectors[j * k + i];
      const Pt = tf.tidy(() => tf.matMul(tf.tensor2d(Kxs, [s2, s]), tf.tensor2d(Vk, [s, qCap])));
      const proj = Pt.dataSync() as Float32Array;
      Pt.dispose();
      E2 = new Float64Array(s2 * qCap);
      for (let r = 0; r < s2; r++)
        for (let i = 0; i < qCap; i++) E2[r * qCap + i] = lam[i] > 0 ? proj[r * qCap + i] / Math.sqrt(s * lam[i]) : 0;
    }
  }

  /** Weights w_i = 1 − μ_{q+1}/μ_i of P = I − Σ_{i≤q} w_i e_i⊗e_i. */
  const weights = (q: number): Float64Array => {
    const mq1 = lam[q] + ridge;
    return Float64Array.from({ length: q }, (_, i) => 1 - mq1 / (lam[i] + ridge));
  };

  /** β for a given q: max over S ∪ S' of the preconditioned diagonal k_P(x,x), plus λ. */
  const betaFor = (q: number): number => {
    let best = 0;
    for (let j = 0; j < s; j++) best = Math.max(best, diag[sample[j]]);
    for (let r = 0; r < s2; r++) best = Math.max(best, diag[check[r]]);
    if (q === 0) return best + lambda;
    const w = weights(q);
    best = 0;
    // On S, e_i(x_j) = √(sλ_i)·v_i[j].
    for (let j = 0; j < s; j++) {
      let kp = diag[sample[j]];
      for (let i = 0; i < q; i++) {
        const v = eig.vectors[j * k + i];
        kp -= w[i] * s * lam[i] * v * v;
      }
      if (kp > best) best = kp;
    }
    for (let r = 0; r < s2; r++) {
      let kp = diag[check[r]];
      for (let i = 0; i < q; i++) kp -= w[i] * E2[r * qCap + i] ** 2;
      if (kp > best) best = kp;
    }
    // Floor: float32 noise can make the difference tiny or negative.
    return Math.max(best, 1e-6 * maxDiag) + lambda;
  };

  /**
   * Top eigenvalue of the preconditioned operator estimated on S' (power iteration on
   * K_P(S',S')/s2 = (K_{S'S'} − Σ w_i e_i e_iᵀ)/s2), plus the ridge; 0 when S' is too small to tell.
   */
  const checkTop = (q: number): number => {
    if (s2 < 50) return 0;
    const w = weights(q);
    const rnd = makeRng(seed + 31);
    let x = new Float64Array(s2).map(() => rnd() - 0.5);
    let est = 0;
    const t = new Float64Array(q);
    for (let it = 0; it < 40; it++) {
      let nx = 0;
      for (let r = 0; r < s2; r++) nx += x[r] * x[r];
      nx = Math.sqrt(nx);
      for (let r = 0; r < s2; r++) x[r] /= nx;
      // y = K2 x − E (w ∘ Eᵀ x)
      t.fill(0);
      for (let r = 0; r < s2; r++) for (let i = 0; i < q; i++) t[i] += E2[r * qCap + i] * x[r];
      for (let i = 0; i < q; i++) t[i] *= w[i];
      const y = new Float64Array(s2);
      for (let r = 0; r < s2; r++) {
        let acc = 0;
        const o = r * s2;
        for (let c = 0; c < s2; c++) acc += K2[o + c] * x[c];
        for (let i = 0; i < q; i++) acc -= E2[r * qCap + i] * t[i];
        y[r] = acc;
      }
      est = 0;
      for (let r = 0; r < s2; r++) est += x[r] * y[r]; // Rayleigh quotient
      x = y;
    }
    return Math.max(0, est) / s2 + ridge;
  };

  const bsMax = Math.max(1, Math.min(n, Math.floor(memoryBytes / 2 / (4 * n))));
  // A direction can be flattened only if its eigenpair is accurate to well below λ_{q+1}: an error ρ_i in
  // pair i leaves ~ρ_i of the top of the spectrum behind, and the step 2/λ_{q+1} would then diverge.
  // ρ_i = Ritz residual ‖K_ss v_i − sλ_i v_i‖/s (float32 K and products: ~1e-7..1e-6 of λ_1).
  const rho = new Float64Array(k);
  for (let i = 0, worst = 0; i < k; i++) {
    worst = Math.max(worst, eig.residuals[i] / s);
    rho[i] = worst; // max over the first i+1 pairs
  }
  const usable = (q: number) => q < k && lam[q] > 20 * rho[q - 1] && lam[q] > 1e-7 * lam[0];

  let q = 0;
  let qChoice: 'auto' | 'given' = 'auto';
  const eigenproQ = (): number => {
    if (wantQ !== undefined) {
      let qq = wantQ;
      while (qq > 0 && !usable(qq)) qq--;
      return qq;
    }
    // Largest usable q. Per epoch, SGD with batch m ≤ m* contracts direction j by ≈ exp(−c·nμ_j/β) with
    // c ∈ [1, 2] whatever m is, so what q buys is a smaller β (the preconditioned diagonal decreases with q);
    // the batch then follows m* = β/μ_{q+1}, capped by memory (and n).
    for (let qq = Math.min(maxQ, k - 1); qq > 0; qq--) if (usable(qq)) return qq;
    return 0;
  };
  if (mode === 'eigenpro') {
    q = eigenproQ();
    if (wantQ !== undefined) qChoice = 'given';
  }

  /** β, the top eigenvalue used for batch and step (the larger of μ_{q+1} and the check-sample estimate). */
  const statsFor = (qq: number) => {
    const b = betaFor(qq);
    const inSample = lam[qq] + ridge;
    const outOfSample = checkTop(qq);
    return { beta: b, inSample, outOfSample, top: Math.max(inSample, outOfSample) };
  };
  const stats = statsFor(q);
  const beta = stats.beta;
  const topEigenvalue = stats.top;
  const criticalBatch = beta / topEigenvalue;
  let batchSize: number;
  let bsChoice: 'auto' | 'given' | 'capped' = 'auto';
  if (opts.batchSize !== undefined) {
    batchSize = Math.max(1, Math.min(n, Math.floor(opts.batchSize)));
    bsChoice = batchSize === Math.floor(opts.batchSize) ? 'given' : 'capped';
  } else if (mode === 'none') {
    const se = statsFor(eigenproQ());
    batchSize = Math.max(1, Math.min(bsMax, Math.ceil(se.beta / se.top)));
  } else {
    batchSize = Math.max(1, Math.min(bsMax, Math.ceil(criticalBatch)));
    if (batchSize < Math.ceil(criticalBatch)) bsChoice = 'capped';
  }
  let step: number;
  let stepChoice: 'auto' | 'given' = 'auto';
  if (opts.step !== undefined) {
    if (!(opts.step > 0)) throw new Error(`EigenPro: step must be > 0, got ${opts.step}`);
    step = opts.step;
    stepChoice = 'given';
  } else if (batchSize === n) {
    // Full batch: the iteration is deterministic (preconditioned gradient descent), stable for a
    // per-sample step below 2/λ_max of the preconditioned n×n matrix; λ_max ≥ n·μ_{q+1} and ≥ β (the
    // largest diagonal entry), so 0.99·2/max(n·μ_{q+1}, β): up to 2× the mini-batch rule below, which
    // budgets for sampling noise that a full batch does not have.
    step = (0.99 * 2 * n) / Math.max(n * topEigenvalue, beta);
  } else if (batchSize < criticalBatch + 1) {
    step = batchSize / beta;
  } else {
    step = (0.99 * 2 * batchSize) / (beta + (batchSize - 1) * topEigenvalue);
  }

  const V = new Float32Array(s * q);
  const D = new Float64Array(q);
  const w = weights(q);
  for (let i = 0; i < q; i++) D[i] = w[i] / (s * lam[i]);
  for (let j = 0; j < s; j++) for (let i = 0; i < q; i++) V[j * q + i] = eig.vectors[j * k + i];

  ctx.onProgress?.({ stage: 'preconditioner', fraction: 1, message: `q=${q}, batch ${batchSize}, step ${step.toPrecision(3)}` });
  return {
    n,
    lambda,
    mode,
    sample,
    s,
    q,
    eigenvalues: lam,
    V,
    D,
    betaPlain,
    beta,
    topEigenvalue,
    topInSample: stats.inSample,
    topOutOfSample: stats.outOfSample,
    checkSize: s2,
    criticalBatch,
    batchSize,
    step,
    memoryBytes,
    seed,
    choices: { q: qChoice, batchSize: bsChoice, step: stepChoice },
    timings: { kernelSeconds, eigenSeconds },
    backend: eig.backend || (await initBackend()).name,
  };
}

/**
 * Solve (K + λI) α = y for one or several right-hand sides with the prepared preconditioner.
 * Reports progress once per epoch (and during long epochs), honours ctx.signal between batches.
 * Rolls back an epoch that diverged and halves the step (the Nyström estimate of λ_{q+1} can be low).
 */
export async function eigenproSolve(
  op: KernelOperator,
  setup: EigenProSetup,
  y: Float64Array | Float64Array[],
  opts: SolveOptions = {},
  ctx: RunContext = {},
): Promise<EigenProResult> {
  const n = op.n;
  if (n !== setup.n) throw new Error(`EigenPro: operator has ${n} rows but the setup was built for ${setup.n}`);
  const ys = Array.isArray(y) ? y : [y];
  const t = ys.length;
  if (t === 0) throw new Error('EigenPro: no right-hand side');
  for (const col of ys) {
    if (col.length !== n) throw new Error(`EigenPro: right-hand side has ${col.length} values, expected ${n}`);
    for (let i = 0; i < n; i++) if (!Number.isFinite(col[i])) throw new Error(`EigenPro: right-hand side value ${i} is not finite (${col[i]})`);
  }
  const tol = opts.tol ?? 1e-4;
  const maxEpochs = opts.maxEpochs ?? 200;
  const stage = opts.stage ?? (setup.mode === 'eigenpro' ? 'eigenpro' : 'sgd');
  const { lambda, q, s, sample, V, D, batchSize: bs } = setup;
  let step = setup.step;
  const rand = makeRng(setup.seed + 1001);
  const start = performance.now();

  // Interleaved n×t storage: row i holds the t right-hand sides of point i.
  const Y = new Float64Array(n * t);
  const A = new Float64Array(n * t);
  for (let c = 0; c < t; c++) {
    for (let i = 0; i < n; i++) Y[i * t + c] = ys[c][i];
    const a0 = opts.alpha0?.[c];
    if (a0) {
      if (a0.length !== n) throw new Error(`EigenPro: alpha0 has ${a0.length} values, expected ${n}`);
      for (let i = 0; i < n; i++) A[i * t + c] = a0[i];
    }
  }

  // Residual rows: all, or a fixed random subset; cached when they fit in half the memory budget.
  const evalSize = Math.max(1, opts.evalSize ?? 1000);
  const evalIdx = n <= evalSize ? rangeIdx(0, n) : randomSubset(n, evalSize, makeRng(setup.seed + 7));
  const residualExact = evalIdx.length === n;
  const ne = evalIdx.length;
  const cacheEval = ne * n * 4 <= setup.memoryBytes / 2;
  const evalChunk = Math.max(1, Math.min(ne, Math.floor(setup.memoryBytes / 2 / (4 * n))));
  let evalRows: Float32Array | null = null;
  const yNorm = new Float64Array(t);
  for (let r = 0; r < ne; r++) for (let c = 0; c < t; c++) yNorm[c] += Y[evalIdx[r] * t + c] ** 2;

  const relResidual = async (): Promise<number> => {
    const rr = new Float64Array(t);
    const accumulate = (rows: Float32Array, part: Int32Array) => {
      for (let r = 0; r < part.length; r++) {
        const i = part[r];
        const o = r * n;
        for (let c = 0; c < t; c++) {
          let acc = 0;
          if (t === 1) acc = dot(rows.subarray(o, o + n), A, n);
          else for (let j = 0; j < n; j++) acc += rows[o + j] * A[j * t + c];
          const g = acc + lambda * A[i * t + c] - Y[i * t + c];
          rr[c] += g * g;
        }
      }
    };
    if (cacheEval) {
      if (!evalRows) evalRows = (await op.rows(evalIdx)) as Float32Array;
      accumulate(evalRows, evalIdx);
    } else {
      for (let st = 0; st < ne; st += evalChunk) {
        throwIfCancelled(ctx.signal);
        const part = evalIdx.subarray(st, Math.min(ne, st + evalChunk));
        accumulate(await op.rows(part), part);
        await yieldToLoop();
      }
    }
    let worst = 0;
    for (let c = 0; c < t; c++) {
      const rel = yNorm[c] > 0 ? Math.sqrt(rr[c] / yNorm[c]) : Math.sqrt(rr[c] / ne);
      if (!Number.isFinite(rel)) return Infinity;
      worst = Math.max(worst, rel);
    }
    return worst;
  };

  // Position of each subsample point in S, for the correction's gather K_{S,B} = (K_{B,S})ᵀ.
  const g = new Float64Array(bs * t);
  const h = new Float64Array(s * t);
  const coef = new Float64Array(q * t);
  const perm = rangeIdx(0, n);

  let residual = await relResidual();
  const history: EpochRecord[] = [{ epoch: 0, residual, trainMse: NaN, seconds: (performance.now() - start) / 1000, step }];
  let best = { residual, alpha: A.slice() };
  let epochs = 0;
  let halvings = 0;
  let rising = 0;
  let lastReport = performance.now();
  const stepsPerEpoch = Math.ceil(n / bs);

  const report = (epoch: number, within: number) => {
    const elapsed = (performance.now() - start) / 1000;
    const done = epoch + within;
    // Expected epochs: from the recent log-residual decrease, capped by maxEpochs.
    let remaining = maxEpochs - done;
    const h3 = history.slice(-4).filter((r) => Number.isFinite(r.residual) && r.residual > 0);
    if (h3.length >= 2 && residual > tol) {
      const rate = Math.log(h3[0].residual / h3[h3.length - 1].residual) / (h3[h3.length - 1].epoch - h3[0].epoch);
      if (rate > 0) remaining = Math.min(remaining, Math.log(residual / tol) / rate - within);
    } else if (residual <= tol) remaining = 0;
    remaining = Math.max(0, remaining);
    const perEpoch = done > 0 ? elapsed / done : NaN;
    const r0 = history[0].residual;
    const logFrac = r0 > tol && residual < r0 ? Math.log(r0 / residual) / Math.log(r0 / tol) : 0;
    ctx.onProgress?.({
      stage,
      fraction: Math.min(1, Math.max(done / maxEpochs, logFrac)),
      eta: Number.isFinite(perEpoch) ? remaining * perEpoch : undefined,
      message: `epoch ${epoch}${within > 0 ? '+' : ''}/${maxEpochs}, relative residual ${residual.toExponential(2)}`,
      detail: { epoch, residual, trainMse: history[history.length - 1].trainMse, step },
    });
  };

  while (epochs < maxEpochs && residual > tol) {
    throwIfCancelled(ctx.signal);
    shuffle(perm, rand);
    let sq = 0;
    let seen = 0;
    let blewUp = false;
    let firstBatchRms = NaN;
    for (let st = 0, b = 0; st < n; st += bs, b++) {
      const B = perm.subarray(st, Math.min(n, st + bs));
      const m = B.length;
      const Kb = await op.rows(B);
      // g = (K + λI)_{B,·} α − y_B
      let batchSq = 0;
      for (let r = 0; r < m; r++) {
        const i = B[r];
        const o = r * n;
        if (t === 1) {
          const gi = dot(Kb.subarray(o, o + n), A, n) + lambda * A[i] - Y[i];
          g[r] = gi;
          batchSq += gi * gi;
        } else {
          for (let c = 0; c < t; c++) g[r * t + c] = 0;
          for (let j = 0; j < n; j++) {
            const kv = Kb[o + j];
            if (kv === 0) continue;
            for (let c = 0; c < t; c++) g[r * t + c] += kv * A[j * t + c];
          }
          for (let c = 0; c < t; c++) {
            const gi = g[r * t + c] + lambda * A[i * t + c] - Y[i * t + c];
            g[r * t + c] = gi;
            batchSq += gi * gi;
          }
        }
      }
      const rms = Math.sqrt(batchSq / (m * t));
      if (b === 0) firstBatchRms = rms;
      if (!Number.isFinite(rms) || rms > 1e3 * Math.max(firstBatchRms, 1e-300)) {
        blewUp = true;
        break;
      }
      sq += batchSq;
      seen += m * t;
      // Per-sample step η/bs, also for the shorter last batch of an epoch (η/m there would overshoot).
      const eta = step / bs;
      if (q > 0) {
        // h = K_{S,B} g, coef = D ∘ (Vᵀ h), α_S += η/m · V coef
        h.fill(0);
        for (let r = 0; r < m; r++) {
          const o = r * n;
          if (t === 1) {
            const gr = g[r];
            for (let jj = 0; jj < s; jj++) h[jj] += Kb[o + sample[jj]] * gr;
          } else {
            for (let jj = 0; jj < s; jj++) {
              const kv = Kb[o + sample[jj]];
              for (let c = 0; c < t; c++) h[jj * t + c] += kv * g[r * t + c];
            }
          }
        }
        coef.fill(0);
        if (t === 1) {
          // one right-hand side: contiguous rows of V, no inner loop over right-hand sides
          for (let jj = 0; jj < s; jj++) {
            const hv = h[jj];
            if (hv === 0) continue;
            const base = jj * q;
            for (let i = 0; i < q; i++) coef[i] += V[base + i] * hv;
          }
          for (let i = 0; i < q; i++) coef[i] *= D[i] * eta;
          for (let jj = 0; jj < s; jj++) {
            const base = jj * q;
            let a0 = 0;
            let a1 = 0;
            let i = 0;
            for (; i + 1 < q; i += 2) {
              a0 += V[base + i] * coef[i];
              a1 += V[base + i + 1] * coef[i + 1];
            }
            if (i < q) a0 += V[base + i] * coef[i];
            A[sample[jj]] += a0 + a1;
          }
        } else {
          for (let jj = 0; jj < s; jj++)
            for (let i = 0; i < q; i++) {
              const v = V[jj * q + i];
              for (let c = 0; c < t; c++) coef[i * t + c] += v * h[jj * t + c];
            }
          for (let i = 0; i < q; i++) for (let c = 0; c < t; c++) coef[i * t + c] *= D[i];
          for (let jj = 0; jj < s; jj++) {
            const row = sample[jj] * t;
            for (let c = 0; c < t; c++) {
              let acc = 0;
              for (let i = 0; i < q; i++) acc += V[jj * q + i] * coef[i * t + c];
              A[row + c] += eta * acc;
            }
          }
        }
      }
      for (let r = 0; r < m; r++) {
        const row = B[r] * t;
        for (let c = 0; c < t; c++) A[row + c] -= eta * g[r * t + c];
      }
      if (performance.now() - lastReport > 250) {
        throwIfCancelled(ctx.signal);
        report(epochs, (b + 1) / stepsPerEpoch);
        lastReport = performance.now();
        await yieldToLoop();
      } else if ((b & 7) === 7) {
        throwIfCancelled(ctx.signal);
      }
    }
    epochs++;
    const r = blewUp ? Infinity : await relResidual();
    // Diverging: non-finite, 10× the best so far, or rising for two epochs in a row to 1.5× the best
    // (a slow divergence: the step is just above the stability limit). SGD noise alone rarely does that.
    rising = r > residual ? rising + 1 : 0;
    const diverged = !Number.isFinite(r) || r > 10 * best.residual || (rising >= 2 && r > 1.5 * best.residual);
    if (diverged) {
      // Roll back to the best iterate and halve the step.
      A.set(best.alpha);
      step *= 0.5;
      halvings++;
      if (halvings > 20) throw new Error('EigenPro: the iteration keeps diverging even with a 10⁶× smaller step (kernel not positive semi-definite?)');
      residual = best.residual;
      rising = 0;
      history.push({ epoch: epochs, residual, trainMse: seen ? sq / seen : NaN, seconds: (performance.now() - start) / 1000, step, rolledBack: true });
    } else {
      residual = r;
      if (r < best.residual) best = { residual: r, alpha: A.slice() };
      history.push({ epoch: epochs, residual, trainMse: seen ? sq / seen : NaN, seconds: (performance.now() - start) / 1000, step });
    }
    report(epochs, 0);
    lastReport = performance.now();
    await yieldToLoop();
  }
  // Return the best iterate (the last one unless the final epochs were noisy).
  if (best.residual < residual) {
    A.set(best.alpha);
    residual = best.residual;
  }
  const alpha = ys.map((_, c) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = A[i * t + c];
    return out;
  });
  return {
    alpha,
    epochs,
    residual,
    residualExact,
    converged: residual <= tol,
    stopReason: residual <= tol ? 'tolerance' : 'maxEpochs',
    history,
    seconds: (performance.now() - start) / 1000,
    step,
  };
}

/** Setup and solve in one call. */
export async function eigenpro(
  op: KernelOperator,
  y: Float64Array | Float64Array[],
  opts: EigenProOptions & SolveOptions = {},
  ctx: RunContext = {},
): Promise<EigenProResult & { setup: EigenProSetup }> {
  const setup = await setupEigenPro(op, opts, ctx);
  const res = await eigenproSolve(op, setup, y, opts, ctx);
  return { ...res, setup };
}

