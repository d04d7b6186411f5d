// The exact pixel-to-pixel convolutional NTK (Θ) and NNGP kernel (Σ) of an architecture, between all output
// pixels of an H×W grid, from an input prior (the LIP). Convention: /shared/design/cntk.md (NTK
// parameterization, Σ_in = XXᵀ/C, Θ_in = 0). Pixel index p = row*W + col everywhere.
//
// Two implementations behind one signature:
//   'js'   typed-array code (cntk-js.ts), float32 or float64: low-rank features until the first relu, the
//          first relu pooled on the fly, dense symmetric matrices in the middle, the linear tail after the
//          last relu evaluated only for the rows asked for and the diagonal. Fastest on CPU; the float64
//          variant is the verification path (CLI cntk-kernel).
//   'tfjs' TensorFlow.js ops on dense [h,w,h,w] tensors (cntk-tf.ts), float32; the path for the CUDA backend.
// 'auto' picks 'tfjs' only on the 'tensorflow' backend (GPU) when the dense tensors fit, else 'js'.
// Results report the backend: "js" or the tfjs backend name.

import { UserError } from '../domain/errors.ts';
import { subProgress, type RunContext } from '../domain/run.ts';
import { checkArchGrid, toLayers, type Layer } from './arch.ts';
import { jsKernelSession, type Arr, type Precision } from './cntk-js.ts';
import type { Prior } from './lip.ts';

export type { Arr, Precision } from './cntk-js.ts';

export type KernelImpl = 'auto' | 'js' | 'tfjs';

export interface CntkOptions {
  /** Architecture spec ("conv3,relu,down,...") or parsed layers. */
  arch: string | Layer[];
  /** Weight variance σ_w² (> 0), e.g. 2. */
  sigmaW2: number;
  /** Bias variance σ_b² (≥ 0), e.g. 0.01. */
  sigmaB2: number;
  /** Storage precision of the results (computation accumulates in float64 either way). Default float32. */
  precision?: Precision;
  /** Implementation; default 'auto'. 'tfjs' is float32 only. */
  impl?: KernelImpl;
}

export interface CntkKernel {
  /** Θ, P×P row-major, P = height·width: ntk[p*P + q] = Θ(p, q). */
  ntk: Arr;
  /** Σ, P×P row-major. */
  nngp: Arr;
  height: number;
  width: number;
  /** "js" (typed arrays) or the tfjs backend name ("tensorflow", "wasm", "cpu"). */
  backend: string;
  seconds: number;
}

export interface CntkRows {
  /** The output pixels asked for, in the order asked. */
  rows: Int32Array;
  /** rows.length × P row-major: ntkRows[i*P + q] = Θ(rows[i], q). */
  ntkRows: Arr;
  /** rows.length × P: Σ(rows[i], q). */
  nngpRows: Arr;
  /** P: Θ(p, p). */
  ntkDiag: Arr;
  /** P: Σ(p, p). */
  nngpDiag: Arr;
  height: number;
  width: number;
  backend: string;
  seconds: number;
}

/** Validate a prior and options; returns the parsed layers. UserError on anything wrong. */
export function checkKernelInputs(prior: Prior, opts: CntkOptions): Layer[] {
  const { height: H, width: W } = prior;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1) throw new UserError(`prior: height and width must be positive integers (got ${H}×${W})`);
  if (!Array.isArray(prior.channels) || prior.channels.length === 0) throw new UserError('prior: needs at least one channel');
  prior.channels.forEach((ch, c) => {
    if (ch.length !== H * W) throw new UserError(`prior: channel ${c + 1} has ${ch.length} values, expected height·width = ${H * W}`);
    for (let p = 0; p < ch.length; p++) {
      if (!Number.isFinite(ch[p])) throw new UserError(`prior: channel ${c + 1}, pixel ${p} (row ${Math.floor(p / W)}, col ${p % W}) is not a finite number`);
    }
  });
  if (!(Number.isFinite(opts.sigmaW2) && opts.sigmaW2 > 0)) throw new UserError(`sigma_w² must be a positive number (got ${opts.sigmaW2})`);
  if (!(Number.isFinite(opts.sigmaB2) && opts.sigmaB2 >= 0)) throw new UserError(`sigma_b² must be a number ≥ 0 (got ${opts.sigmaB2})`);
  const layers = toLayers(opts.arch);
  checkArchGrid(layers, H, W);
  return layers;
}

/** Peak bytes of the dense tfjs path (about 6 P² float32 tensors at the largest resolution). */
function tfjsBytes(layers: Layer[], H: number, W: number): number {
  let P = H * W;
  let maxP = P;
  for (const l of layers) {
    if (l.kind === 'down') P /= 4;
    else if (l.kind === 'up') P *= 4;
    maxP = Math.max(maxP, P);
  }
  return 6 * 4 * maxP * maxP;
}

async function chooseImpl(opts: CntkOptions, layers: Layer[], H: number, W: number): Promise<'js' | 'tfjs'> {
  const impl = opts.impl ?? 'auto';
  if (impl === 'tfjs') {
    if (opts.precision === 'float64') throw new UserError('the tfjs kernel path is float32 only: use precision float32 or impl js');
    return 'tfjs';
  }
  if (impl === 'js' || opts.precision === 'float64') return 'js';
  // auto: the GPU backend only; on wasm/cpu the typed-array path is several times faster
  const { initBackend } = await import('../compute/backend.ts');
  const b = await initBackend();
  return b.name === 'tensorflow' && tfjsBytes(layers, H, W) < 4 * 1024 ** 3 ? 'tfjs' : 'js';
}

/**
 * A kernel whose expensive part (the network up to its last relu) is computed once; rows of Θ and Σ for
 * any output pixels can then be asked for repeatedly, e.g. in chunks (EigenPro, n ≫ 1000) or for several
 * sensor subsets of one grid. Shapes: rows(pixels) gives pixels.length × P row-major arrays
 * (entry [i*P + q] = K(pixels[i], q)); ntkDiag / nngpDiag have length P.
 */
export interface CntkSession {
  height: number;
  width: number;
  backend: string;
  /** Seconds spent computing the head and the diagonals. */
  seconds: number;
  ntkDiag: Arr;
  nngpDiag: Arr;
  rows(pixels: Int32Array, ctx?: RunContext): Promise<{ ntkRows: Arr; nngpRows: Arr }>;
}

async function session(prior: Prior, opts: CntkOptions, layers: Layer[], ctx?: RunContext): Promise<CntkSession & { full(ctx?: RunContext): Promise<{ ntk: Arr; nngp: Arr }> }> {
  const t0 = performance.now();
  const P = prior.height * prior.width;
  const impl = await chooseImpl(opts, layers, prior.height, prior.width);
  if (impl === 'tfjs') {
    const { getTf } = await import('../compute/backend.ts');
    const { tfKernel } = await import('./cntk-tf.ts');
    const tf = await getTf();
    const { sigma, theta } = await tfKernel(tf, prior, layers, opts, ctx);
    let nngp: Float32Array;
    let ntk: Float32Array;
    try {
      nngp = (await sigma.data()) as Float32Array;
      ntk = (await theta.data()) as Float32Array;
    } finally {
      sigma.dispose();
      theta.dispose();
    }
    const diag = (m: Float32Array) => Float32Array.from({ length: P }, (_, p) => m[p * P + p]);
    const rowsOf = (m: Float32Array, pixels: Int32Array) => {
      const out = new Float32Array(pixels.length * P);
      pixels.forEach((p, i) => out.set(m.subarray(p * P, (p + 1) * P), i * P));
      return out;
    };
    return {
      height: prior.height,
      width: prior.width,
      backend: tf.getBackend(),
      seconds: (performance.now() - t0) / 1000,
      ntkDiag: diag(ntk),
      nngpDiag: diag(nngp),
      rows: async (pixels) => ({ ntkRows: rowsOf(ntk, pixels), nngpRows: rowsOf(nngp, pixels) }),
      full: async () => ({ ntk, nngp }),
    };
  }
  const s = await jsKernelSession(prior, layers, { sigmaW2: opts.sigmaW2, sigmaB2: opts.sigmaB2, precision: opts.precision ?? 'float32' }, ctx);
  return { height: s.height, width: s.width, backend: 'js', seconds: (performance.now() - t0) / 1000, ntkDiag: s.ntkDiag, nngpDiag: s.nngpDiag, rows: s.rows, full: s.full };
}

function checkPixels(pixels: Int32Array, prior: Prior): void {
  const P = prior.height * prior.width;
  for (let i = 0; i < pixels.length; i++) {
    if (!Number.isInteger(pixels[i]) || pixels[i] < 0 || pixels[i] >= P) throw new UserError(`kernel rows: pixel ${pixels[i]} is outside the ${prior.width}×${prior.height} grid`);
  }
}

/** Start a kernel session (see CntkSession). */
export async function cntkSession(prior: Prior, opts: CntkOptions, ctx?: RunContext): Promise<CntkSession> {
  const layers = checkKernelInputs(prior, opts);
  const s = await session(prior, opts, layers, ctx);
  return {
    height: s.height,
    width: s.width,
    backend: s.backend,
    seconds: s.seconds,
    ntkDiag: s.ntkDiag,
    nngpDiag: s.nngpDiag,
    rows: async (pixels, rctx) => {
      checkPixels(pixels, prior);
      return s.rows(pixels, rctx);
    },
  };
}

/** Full Θ and Σ (P×P each). Memory: 2·P² values of the chosen precision (128×128 float32: 2.1 GB). */
export async function cntkKernel(prior: Prior, opts: CntkOptions, ctx?: RunContext): Promise<CntkKernel> {
  const layers = checkKernelInputs(prior, opts);
  const t0 = performance.now();
  const s = await session(prior, opts, layers, ctx);
  const { ntk, nngp } = await s.full(ctx);
  return { ntk, nngp, height: s.height, width: s.width, backend: s.backend, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Θ and Σ rows for the output pixels `rows` against all pixels, plus both diagonals: what kernel
 * regression on observed cells needs (rows = observed cells). Much cheaper than the full kernel when the
 * architecture ends with linear layers (the default does: up, conv3).
 */
export async function cntkRows(prior: Prior, opts: CntkOptions, rows: Int32Array, ctx?: RunContext): Promise<CntkRows> {
  const layers = checkKernelInputs(prior, opts);
  checkPixels(rows, prior);
  const t0 = performance.now();
  // progress: the head is most of the work; the rows follow
  const s = await session(prior, opts, layers, { signal: ctx?.signal, onProgress: subProgress(ctx?.onProgress, 0, 0.8) });
  const r = await s.rows(rows, { signal: ctx?.signal, onProgress: subProgress(ctx?.onProgress, 0.8, 1) });
  return { rows, ntkRows: r.ntkRows, nngpRows: r.nngpRows, ntkDiag: s.ntkDiag, nngpDiag: s.nngpDiag, height: s.height, width: s.width, backend: s.backend, seconds: (performance.now() - t0) / 1000 };
}
