// Hand-written typed-array implementation of the pixel-to-pixel CNTK recursion (cntk.md), float32 or float64.
// It computes exactly the formulas of cntk.md; the savings come from three observations:
//
// 1. Until the first relu the recursion is LINEAR in the input covariance Σ_in = X Xᵀ / C, so Σ and Θ stay
//    low-rank: Σ = Φ Φᵀ, Θ = Ψ Ψᵀ with per-pixel feature vectors. conv K maps φ(p) to
//    [σ_w/K · φ(p+δ) for δ in the window; σ_b] (zero off the grid), down averages features over 2×2 blocks,
//    up replicates them. So the first conv costs nothing at P² scale.
// 2. The first relu is evaluated from features pair by pair and, when a `down` follows, pooled on the fly:
//    the full-resolution P×P matrices are never stored (default arch at 128²: the dense state is 64²).
// 3. After the last relu only linear layers (conv, up, down) remain. For the estimators only the rows of
//    observed cells and the diagonal are needed; rows are pushed through those layers lazily (a conv row
//    needs the K² neighbouring rows), the diagonal through the band of offsets it depends on.
// In between, dense layers work on symmetric P×P matrices (row-major, index p*P + q) in place; a conv is a
// box filter along the joint diagonal (p+δ, q+δ), done separably: rows then columns.

import { CancelledError, type RunContext } from '../domain/run.ts';
import type { Layer } from './arch.ts';
import type { Prior } from './lip.ts';

export type Arr = Float32Array | Float64Array;
export type Precision = 'float32' | 'float64';

export interface JsKernelParams {
  sigmaW2: number;
  sigmaB2: number;
  precision: Precision;
}

interface LowRank {
  kind: 'lowrank';
  h: number;
  w: number;
  /** Σ = Φ Φᵀ: phi is P × ms row-major. */
  ms: number;
  phi: Float64Array;
  /** Θ = Ψ Ψᵀ: psi is P × mt; mt = 0 means Θ = 0. psi may be the same array as phi (then Θ = Σ). */
  mt: number;
  psi: Float64Array;
}

interface Dense {
  kind: 'dense';
  h: number;
  w: number;
  /** P × P, symmetric, row-major. */
  sigma: Arr;
  theta: Arr;
}

type State = LowRank | Dense;

/** Lazy evaluation stops keeping features once they would exceed this many per pixel (then densify). */
const FEATURE_LIMIT = 1024;

const TWO_PI = 2 * Math.PI;

function alloc(precision: Precision, n: number): Arr {
  return precision === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Cooperative scheduling: cancellation checks and event-loop yields at most every ~40 ms. */
class Ticker {
  private last = performance.now();
  constructor(private ctx: RunContext | undefined) {}
  async tick(): Promise<void> {
    if (this.ctx?.signal?.aborted) throw new CancelledError();
    const now = performance.now();
    if (now - this.last > 40) {
      this.last = now;
      await new Promise<void>((r) => setImmediate(r));
      if (this.ctx?.signal?.aborted) throw new CancelledError();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// relu dual (arc-cosine kernel of degree 1 and 0), cntk.md "relu"

/**
 * Σ' for Σ(p,q) = s and n2 = Σ(p,p)Σ(q,q); returns Σ' and writes Σ̇ to dotOut[0]. n is taken as √(n2)
 * (not √Σ(p,p)·√Σ(q,q)) so that c is exactly 1 on the diagonal: acos is ill-conditioned at 1.
 */
function reluPair(s: number, n2: number, dotOut: Float64Array): number {
  const n = Math.sqrt(n2);
  if (!(n > 0)) {
    dotOut[0] = 0;
    return 0;
  }
  let c = s / n;
  if (c > 1) c = 1;
  else if (c < -1) c = -1;
  const th = Math.acos(c);
  dotOut[0] = (Math.PI - th) / TWO_PI;
  return (n / TWO_PI) * (Math.sqrt(1 - c * c) + (Math.PI - th) * c);
}

/**
 * π − acos(c) to |error| ≤ 2·10⁻⁸ (Abramowitz & Stegun 4.4.46), for the float32 path: well inside float32
 * storage precision and about twice as fast as Math.acos.
 */
function piMinusAcosFast(c: number): number {
  const x = c < 0 ? -c : c;
  const poly = 1.570796305 + x * (-0.2145988016 + x * (0.0889789874 + x * (-0.0501743046 + x * (0.030891881 + x * (-0.0170881256 + x * (0.0066700901 + x * -0.0012624911))))));
  const a = Math.sqrt(1 - x) * poly; // acos(x) for x ≥ 0
  return c < 0 ? a : Math.PI - a;
}

// ---------------------------------------------------------------------------------------------------------
// low-rank layers

function inputState(prior: Prior): LowRank {
  const { height: h, width: w, channels } = prior;
  const P = h * w;
  const C = channels.length;
  const phi = new Float64Array(P * C);
  const s = 1 / Math.sqrt(C);
  for (let c = 0; c < C; c++) {
    const ch = channels[c];
    for (let p = 0; p < P; p++) phi[p * C + c] = ch[p] * s;
  }
  return { kind: 'lowrank', h, w, ms: C, phi, mt: 0, psi: new Float64Array(0) };
}

/** Features of A[F Fᵀ] scaled by `scale` (= σ_w/K): per pixel the K² shifted feature vectors, zero off-grid. */
function shiftFeatures(f: Float64Array, m: number, h: number, w: number, K: number, scale: number, extra: number): Float64Array {
  const k = (K - 1) >> 1;
  const m2 = m * K * K + extra;
  const out = new Float64Array(h * w * m2);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const base = (r * w + c) * m2;
      let j = 0;
      for (let dr = -k; dr <= k; dr++) {
        for (let dc = -k; dc <= k; dc++, j++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
          const src = (rr * w + cc) * m;
          const dst = base + j * m;
          for (let t = 0; t < m; t++) out[dst + t] = f[src + t] * scale;
        }
      }
    }
  }
  return out;
}

function lowrankConv(s: LowRank, K: number, prm: JsKernelParams): LowRank {
  const { h, w } = s;
  const P = h * w;
  const scale = Math.sqrt(prm.sigmaW2) / K;
  const sb = Math.sqrt(prm.sigmaB2);
  const ms2 = s.ms * K * K + 1;
  const phi = shiftFeatures(s.phi, s.ms, h, w, K, scale, 1);
  for (let p = 0; p < P; p++) phi[p * ms2 + ms2 - 1] = sb;
  if (s.mt === 0) return { kind: 'lowrank', h, w, ms: ms2, phi, mt: ms2, psi: phi };
  // Θ' = σ_w² A[Θ] + Σ': features [σ_w/K · shifted ψ ; φ']
  const mtA = s.mt * K * K;
  const mt2 = mtA + ms2;
  const shifted = shiftFeatures(s.psi, s.mt, h, w, K, scale, 0);
  const psi = new Float64Array(P * mt2);
  for (let p = 0; p < P; p++) {
    psi.set(shifted.subarray(p * mtA, (p + 1) * mtA), p * mt2);
    psi.set(phi.subarray(p * ms2, (p + 1) * ms2), p * mt2 + mtA);
  }
  return { kind: 'lowrank', h, w, ms: ms2, phi, mt: mt2, psi };
}

function poolFeatures(f: Float64Array, m: number, h: number, w: number): Float64Array {
  const h2 = h >> 1;
  const w2 = w >> 1;
  const out = new Float64Array(h2 * w2 * m);
  for (let R = 0; R < h2; R++) {
    for (let C = 0; C < w2; C++) {
      const dst = (R * w2 + C) * m;
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          const src = ((2 * R + a) * w + 2 * C + b) * m;
          for (let t = 0; t < m; t++) out[dst + t] += 0.25 * f[src + t];
        }
      }
    }
  }
  return out;
}

function upFeatures(f: Float64Array, m: number, h: number, w: number): Float64Array {
  const w2 = 2 * w;
  const out = new Float64Array(4 * h * w * m);
  for (let r = 0; r < 2 * h; r++) {
    for (let c = 0; c < w2; c++) {
      out.set(f.subarray(((r >> 1) * w + (c >> 1)) * m, ((r >> 1) * w + (c >> 1) + 1) * m), (r * w2 + c) * m);
    }
  }
  return out;
}

function lowrankDown(s: LowRank): LowRank {
  const phi = poolFeatures(s.phi, s.ms, s.h, s.w);
  const psi = s.mt === 0 ? s.psi : s.psi === s.phi ? phi : poolFeatures(s.psi, s.mt, s.h, s.w);
  return { ...s, h: s.h >> 1, w: s.w >> 1, phi, psi };
}

function lowrankUp(s: LowRank): LowRank {
  const phi = upFeatures(s.phi, s.ms, s.h, s.w);
  const psi = s.mt === 0 ? s.psi : s.psi === s.phi ? phi : upFeatures(s.psi, s.mt, s.h, s.w);
  return { ...s, h: s.h * 2, w: s.w * 2, phi, psi };
}

function dot(f: Float64Array, m: number, p: number, q: number): number {
  let a = 0;
  const bp = p * m;
  const bq = q * m;
  for (let t = 0; t < m; t++) a += f[bp + t] * f[bq + t];
  return a;
}

/** Densify a low-rank state: Σ = ΦΦᵀ, Θ = ΨΨᵀ. */
async function densify(s: LowRank, prm: JsKernelParams, tick: Ticker): Promise<Dense> {
  const P = s.h * s.w;
  const sigma = alloc(prm.precision, P * P);
  const theta = alloc(prm.precision, P * P);
  for (let p = 0; p < P; p++) {
    for (let q = p; q < P; q++) {
      const v = dot(s.phi, s.ms, p, q);
      const t = s.mt === 0 ? 0 : s.psi === s.phi ? v : dot(s.psi, s.mt, p, q);
      sigma[p * P + q] = v;
      sigma[q * P + p] = v;
      theta[p * P + q] = t;
      theta[q * P + p] = t;
    }
    await tick.tick();
  }
  return { kind: 'dense', h: s.h, w: s.w, sigma, theta };
}

/**
 * relu of a low-rank state, optionally followed by a 2×2 average pool (`pool`), without storing the
 * fine-resolution matrices. Works on blocks of 4 rows at once so that each feature vector φ(q) loaded
 * from memory serves four dot products.
 */
async function lowrankRelu(
  s: LowRank,
  pool: boolean,
  prm: JsKernelParams,
  tick: Ticker,
  progress: (f: number) => void,
): Promise<Dense> {
  const { h, w, ms, phi, mt, psi } = s;
  const P = h * w;
  const same = psi === phi;
  const zeroTheta = mt === 0;
  const diag = new Float64Array(P);
  for (let p = 0; p < P; p++) diag[p] = dot(phi, ms, p, p);
  const f = pool ? 2 : 1;
  const ho = h / f;
  const wo = w / f;
  const Po = ho * wo;
  const sigma = alloc(prm.precision, Po * Po);
  const theta = alloc(prm.precision, Po * Po);
  const norm = 1 / (f * f * f * f * TWO_PI);
  const sh = pool ? 1 : 0;
  const fast = prm.precision === 'float32';
  // one output row-band at a time: output row R covers fine rows f*R .. f*R+f-1
  const accS = new Float64Array(wo * Po);
  const accT = new Float64Array(wo * Po);
  const sBuf = new Float64Array(4 * P);
  const tBuf = new Float64Array(4 * P);
  const total = ho * (ho + 1);
  let done = 0;
  for (let R = 0; R < ho; R++) {
    accS.fill(0);
    accT.fill(0);
    const qStart = R * f * w; // symmetry: only columns in output rows ≥ R
    const rows: number[] = [];
    for (let a = 0; a < f; a++) for (let c = 0; c < w; c++) rows.push((R * f + a) * w + c);
    for (let i0 = 0; i0 < rows.length; i0 += 4) {
      const nb = Math.min(4, rows.length - i0);
      // Σ (and Θ) entries of up to 4 fine pixels against all fine pixels q ≥ qStart
      gram4(phi, ms, rows, i0, nb, qStart, P, sBuf);
      if (!zeroTheta && !same) gram4(psi, mt, rows, i0, nb, qStart, P, tBuf);
      for (let b = 0; b < nb; b++) {
        const p = rows[i0 + b];
        const accOff = ((p % w) >> sh) * Po; // output pixel within the band row
        const dp = diag[p];
        const off = b * P;
        // relu of every pair (inlined reluPair; 1/(2π) applied when the band is written)
        for (let qr = R * f; qr < h; qr++) {
          const Qrow = accOff + (qr >> sh) * wo;
          const qb = qr * w;
          for (let qc = 0; qc < w; qc++) {
            const q = qb + qc;
            const sv = sBuf[off + q];
            const n = Math.sqrt(dp * diag[q]);
            if (!(n > 0)) continue;
            let c = sv / n;
            if (c > 1) c = 1;
            else if (c < -1) c = -1;
            const pm = fast ? piMinusAcosFast(c) : Math.PI - Math.acos(c);
            const Q = Qrow + (qc >> sh);
            accS[Q] += n * (Math.sqrt(1 - c * c) + pm * c);
            if (!zeroTheta) accT[Q] += (same ? sv : tBuf[off + q]) * pm;
          }
        }
      }
      await tick.tick();
    }
    // write the band (rows R*wo .. R*wo+wo-1, columns ≥ R*wo) and its mirror
    for (let c = 0; c < wo; c++) {
      const Pp = R * wo + c;
      for (let Q = R * wo; Q < Po; Q++) {
        const vs = accS[c * Po + Q] * norm;
        const vt = accT[c * Po + Q] * norm;
        sigma[Pp * Po + Q] = vs;
        sigma[Q * Po + Pp] = vs;
        theta[Pp * Po + Q] = vt;
        theta[Q * Po + Pp] = vt;
      }
    }
    done += 2 * (ho - R);
    progress(done / total);
  }
  return { kind: 'dense', h: ho, w: wo, sigma, theta };
}

/** out[b*P + q] = f(rows[i0+b]) · f(q) for b < nb, q ≥ qStart. */
function gram4(f: Float64Array, m: number, rows: number[], i0: number, nb: number, qStart: number, P: number, out: Float64Array): void {
  if (nb === 4) {
    const b0 = rows[i0] * m;
    const b1 = rows[i0 + 1] * m;
    const b2 = rows[i0 + 2] * m;
    const b3 = rows[i0 + 3] * m;
    // 4 rows × 2 columns per step: each loaded value serves 2 or 4 products
    let q = qStart;
    for (; q + 1 < P; q += 2) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      const bq = q * m;
      const bq2 = bq + m;
      for (let t = 0; t < m; t++) {
        const v = f[bq + t];
        const u = f[bq2 + t];
        const x0 = f[b0 + t];
        const x1 = f[b1 + t];
        const x2 = f[b2 + t];
        const x3 = f[b3 + t];
        a0 += x0 * v;
        a1 += x1 * v;
        a2 += x2 * v;
        a3 += x3 * v;
        c0 += x0 * u;
        c1 += x1 * u;
        c2 += x2 * u;
        c3 += x3 * u;
      }
      out[q] = a0;
      out[P + q] = a1;
      out[2 * P + q] = a2;
      out[3 * P + q] = a3;
      out[q + 1] = c0;
      out[P + q + 1] = c1;
      out[2 * P + q + 1] = c2;
      out[3 * P + q + 1] = c3;
    }
    for (; q < P; q++) {
      out[q] = dot(f, m, rows[i0], q);
      out[P + q] = dot(f, m, rows[i0 + 1], q);
      out[2 * P + q] = dot(f, m, rows[i0 + 2], q);
      out[3 * P + q] = dot(f, m, rows[i0 + 3], q);
    }
    return;
  }
  for (let b = 0; b < nb; b++) {
    const p = rows[i0 + b];
    for (let q = qStart; q < P; q++) out[b * P + q] = dot(f, m, p, q);
  }
}

// ---------------------------------------------------------------------------------------------------------
// dense layers (in place where possible)

/**
 * In-place A[S]·scale for convK: separable box filter along the joint diagonal (p+δ, q+δ), rows then
 * columns. In matrix terms, row p = (r1, c1) of the row pass is Σ_t row (r1+t, c1) shifted by t image rows
 * (t·w entries), and of the column pass Σ_s row (r1, c1+s) shifted by s entries inside each image row;
 * so both passes stream over contiguous rows, keeping the k rows (or bands) already overwritten in a
 * small ring buffer.
 */
async function denseConvInPlace(S: Arr, h: number, w: number, K: number, scale: number, tick: Ticker): Promise<void> {
  const k = (K - 1) >> 1;
  if (k === 0) {
    if (scale !== 1) for (let i = 0; i < S.length; i++) S[i] *= scale;
    return;
  }
  if (k === 1 && h >= 2 && w >= 2) return denseConv3InPlace(S, h, w, scale, tick);
  const P = h * w;
  const band = w * P; // one image row of pixels p: w matrix rows
  const ring = new Float64Array((k + 1) * band);
  const out = new Float64Array(P);
  // row pass
  for (let r1 = 0; r1 < h; r1++) {
    const slot = (r1 % (k + 1)) * band;
    for (let j = 0; j < band; j++) ring[slot + j] = S[r1 * band + j];
    for (let c1 = 0; c1 < w; c1++) {
      out.fill(0);
      for (let t = -k; t <= k; t++) {
        const rr = r1 + t;
        if (rr < 0 || rr >= h) continue;
        // original row (rr, c1): from the ring when already overwritten (t ≤ 0), else from S
        const fromRing = t <= 0;
        const base = fromRing ? ((rr % (k + 1)) * band + c1 * P) : (rr * w + c1) * P;
        const lo = Math.max(0, -t) * w;
        const hi = Math.min(h, h - t) * w;
        const sh = t * w;
        if (fromRing) for (let q = lo; q < hi; q++) out[q] += ring[base + q + sh];
        else for (let q = lo; q < hi; q++) out[q] += S[base + q + sh];
      }
      const dst = (r1 * w + c1) * P;
      for (let q = 0; q < P; q++) S[dst + q] = out[q];
    }
    await tick.tick();
  }
  // column pass
  const rows = new Float64Array((k + 1) * P);
  for (let r1 = 0; r1 < h; r1++) {
    for (let c1 = 0; c1 < w; c1++) {
      const p = r1 * w + c1;
      const slot = (c1 % (k + 1)) * P;
      for (let q = 0; q < P; q++) rows[slot + q] = S[p * P + q];
      out.fill(0);
      for (let s2 = -k; s2 <= k; s2++) {
        const cc = c1 + s2;
        if (cc < 0 || cc >= w) continue;
        const fromRing = s2 <= 0;
        const base = fromRing ? (cc % (k + 1)) * P : (r1 * w + cc) * P;
        const lo = Math.max(0, -s2);
        const hi = Math.min(w, w - s2);
        for (let r2 = 0; r2 < h; r2++) {
          const o = r2 * w;
          if (fromRing) for (let c2 = lo; c2 < hi; c2++) out[o + c2] += rows[base + o + c2 + s2];
          else for (let c2 = lo; c2 < hi; c2++) out[o + c2] += S[base + o + c2 + s2];
        }
      }
      const dst = p * P;
      for (let q = 0; q < P; q++) S[dst + q] = out[q] * scale;
    }
    await tick.tick();
  }
}

/**
 * conv3 special case of denseConvInPlace (the default architecture's only filter size): each output
 * row is written in one fused pass over its three source rows, edges split off so the inner loops have
 * no branches. Same sums in the same order as the general version (t = −1, 0, +1), so results match.
 */
async function denseConv3InPlace(S: Arr, h: number, w: number, scale: number, tick: Ticker): Promise<void> {
  const P = h * w;
  const band = w * P;
  // row pass: out(r1,c1)[q] = S(r1−1,c1)[q−w] + S(r1,c1)[q] + S(r1+1,c1)[q+w] (terms outside the grid dropped)
  const ring = S instanceof Float32Array ? new Float32Array(2 * band) : new Float64Array(2 * band);
  for (let r1 = 0; r1 < h; r1++) {
    const cur = (r1 & 1) * band; // ring slot holding the original row r1
    const prev = ((r1 + 1) & 1) * band; // ring slot holding the original row r1 − 1
    ring.set(S.subarray(r1 * band, (r1 + 1) * band), cur);
    for (let c1 = 0; c1 < w; c1++) {
      const d = (r1 * w + c1) * P;
      const a = prev + c1 * P - w; // a + q: original (r1−1, c1) at q − w
      const b = cur + c1 * P; // original (r1, c1) at q
      const c = ((r1 + 1) * w + c1) * P + w; // c + q: original (r1+1, c1) at q + w, not yet overwritten
      const up = r1 > 0;
      const dn = r1 + 1 < h;
      // q < w: no (r1−1) term
      if (dn) for (let q = 0; q < w; q++) S[d + q] = ring[b + q] + S[c + q];
      else for (let q = 0; q < w; q++) S[d + q] = ring[b + q];
      // w ≤ q < P − w: all three
      if (up && dn) for (let q = w; q < P - w; q++) S[d + q] = ring[a + q] + ring[b + q] + S[c + q];
      else if (up) for (let q = w; q < P - w; q++) S[d + q] = ring[a + q] + ring[b + q];
      else if (dn) for (let q = w; q < P - w; q++) S[d + q] = ring[b + q] + S[c + q];
      else for (let q = w; q < P - w; q++) S[d + q] = ring[b + q];
      // q ≥ P − w: no (r1+1) term
      if (up) for (let q = P - w; q < P; q++) S[d + q] = ring[a + q] + ring[b + q];
      else for (let q = P - w; q < P; q++) S[d + q] = ring[b + q];
    }
    await tick.tick();
  }
  // column pass: out(r1,c1)[r2,c2] = X(r1,c1−1)[r2,c2−1] + X(r1,c1)[r2,c2] + X(r1,c1+1)[r2,c2+1], times scale
  const rows = S instanceof Float32Array ? new Float32Array(2 * P) : new Float64Array(2 * P);
  for (let r1 = 0; r1 < h; r1++) {
    for (let c1 = 0; c1 < w; c1++) {
      const p = r1 * w + c1;
      const cur = (c1 & 1) * P;
      const prev = ((c1 + 1) & 1) * P;
      rows.set(S.subarray(p * P, (p + 1) * P), cur);
      const left = c1 > 0;
      const right = c1 + 1 < w;
      const d = p * P;
      const nx = (p + 1) * P; // original (r1, c1+1), not yet overwritten
      for (let r2 = 0; r2 < h; r2++) {
        const o = r2 * w;
        const a = prev + o - 1;
        const b = cur + o;
        const c = nx + o + 1;
        const e = d + o;
        // c2 = 0
        S[e] = (rows[b] + (right ? S[c] : 0)) * scale;
        if (left && right) for (let c2 = 1; c2 < w - 1; c2++) S[e + c2] = (rows[a + c2] + rows[b + c2] + S[c + c2]) * scale;
        else if (left) for (let c2 = 1; c2 < w - 1; c2++) S[e + c2] = (rows[a + c2] + rows[b + c2]) * scale;
        else if (right) for (let c2 = 1; c2 < w - 1; c2++) S[e + c2] = (rows[b + c2] + S[c + c2]) * scale;
        else for (let c2 = 1; c2 < w - 1; c2++) S[e + c2] = rows[b + c2] * scale;
        // c2 = w − 1
        const l = w - 1;
        S[e + l] = ((left ? rows[a + l] : 0) + rows[b + l]) * scale;
      }
    }
    await tick.tick();
  }
}

async function denseConv(st: Dense, K: number, prm: JsKernelParams, tick: Ticker): Promise<Dense> {
  const sc = prm.sigmaW2 / (K * K);
  await denseConvInPlace(st.sigma, st.h, st.w, K, sc, tick);
  await denseConvInPlace(st.theta, st.h, st.w, K, sc, tick);
  const { sigma, theta } = st;
  const b = prm.sigmaB2;
  for (let i = 0; i < sigma.length; i++) {
    const v = sigma[i] + b;
    sigma[i] = v;
    theta[i] += v;
  }
  return st;
}

async function denseRelu(st: Dense, tick: Ticker): Promise<Dense> {
  const { sigma, theta } = st;
  const P = st.h * st.w;
  const d = new Float64Array(P);
  for (let p = 0; p < P; p++) d[p] = Math.max(0, sigma[p * P + p]);
  const dotOut = new Float64Array(1);
  for (let p = 0; p < P; p++) {
    const dp = d[p];
    for (let q = p; q < P; q++) {
      const i = p * P + q;
      const sv = reluPair(sigma[i], dp * d[q], dotOut);
      const tv = theta[i] * dotOut[0];
      sigma[i] = sv;
      theta[i] = tv;
      const j = q * P + p;
      sigma[j] = sv;
      theta[j] = tv;
    }
    if ((p & 15) === 0) await tick.tick();
  }
  return st;
}

function poolDense(S: Arr, h: number, w: number, precision: Precision): Arr {
  const P = h * w;
  const ho = h >> 1;
  const wo = w >> 1;
  const Po = ho * wo;
  const out = alloc(precision, Po * Po);
  const row = new Float64Array(Po);
  for (let R = 0; R < ho; R++) {
    for (let C = 0; C < wo; C++) {
      row.fill(0);
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          const src = ((2 * R + a) * w + 2 * C + b) * P;
          for (let qr = 0; qr < h; qr++) {
            const dstRow = (qr >> 1) * wo;
            const s = src + qr * w;
            for (let qc = 0; qc < w; qc++) row[dstRow + (qc >> 1)] += S[s + qc];
          }
        }
      }
      const dst = (R * wo + C) * Po;
      for (let Q = 0; Q < Po; Q++) out[dst + Q] = row[Q] / 16;
    }
  }
  return out;
}

function upDense(S: Arr, h: number, w: number, precision: Precision): Arr {
  const P = h * w;
  const h2 = 2 * h;
  const w2 = 2 * w;
  const P2 = h2 * w2;
  const out = alloc(precision, P2 * P2);
  const row = alloc(precision, P2);
  for (let p = 0; p < P; p++) {
    const src = p * P;
    for (let qr = 0; qr < h2; qr++) {
      const s = src + (qr >> 1) * w;
      const d = qr * w2;
      for (let qc = 0; qc < w2; qc++) row[d + qc] = S[s + (qc >> 1)];
    }
    const pr = (p / w) | 0;
    const pc = p - pr * w;
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) out.set(row, ((2 * pr + a) * w2 + 2 * pc + b) * P2);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// the driver


/** Index of the last relu, or −1. */
function lastRelu(layers: Layer[]): number {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].kind === 'relu') return i;
  return -1;
}

/** Relative cost of each eager layer (for progress fractions). */
function eagerCosts(layers: Layer[], h: number, w: number, upto: number): number[] {
  const costs: number[] = [];
  let P = h * w;
  let lowrank = true;
  for (let i = 0; i < upto; i++) {
    const l = layers[i];
    if (l.kind === 'relu') {
      costs.push(lowrank ? 20 * P * P : 5 * P * P);
      lowrank = false;
    } else if (l.kind === 'conv') costs.push(lowrank ? P : 4 * l.size * P * P);
    else costs.push(lowrank ? P : P * P);
    if (l.kind === 'down') P /= 4;
    else if (l.kind === 'up') P *= 4;
  }
  return costs;
}

/**
 * Run the eager part of the network: every layer up to the last relu (fusing the first relu with a
 * following down), or all layers when there is no relu. Returns the state and the index of the first
 * layer not yet applied.
 */
async function runEager(prior: Prior, layers: Layer[], prm: JsKernelParams, ctx: RunContext | undefined, tick: Ticker): Promise<{ state: State; next: number }> {
  const last = lastRelu(layers);
  const upto = last < 0 ? layers.length : last + 1;
  const costs = eagerCosts(layers, prior.height, prior.width, upto);
  const total = costs.reduce((a, b) => a + b, 0) || 1;
  let doneCost = 0;
  let state: State = inputState(prior);
  const report = (i: number, frac: number) =>
    ctx?.onProgress?.({ stage: 'kernel', fraction: Math.min(1, (doneCost + frac * costs[i]) / total), message: `layer ${i + 1}/${layers.length} (${layerName(layers[i])})` });
  let i = 0;
  while (i < upto) {
    const l = layers[i];
    let consumed = 1;
    if (state.kind === 'lowrank') {
      if (l.kind === 'conv') {
        const grow = state.ms * l.size * l.size + 1 + state.mt * l.size * l.size;
        if (grow > FEATURE_LIMIT || grow > state.h * state.w) state = await denseConv(await densify(state, prm, tick), l.size, prm, tick);
        else state = lowrankConv(state, l.size, prm);
      } else if (l.kind === 'down') state = lowrankDown(state);
      else if (l.kind === 'up') state = lowrankUp(state);
      else {
        const pool = layers[i + 1]?.kind === 'down';
        const idx = i;
        state = await lowrankRelu(state, pool, prm, tick, (f) => report(idx, f));
        if (pool) consumed = 2;
      }
    } else {
      state = await applyDense(state, l, prm, tick);
    }
    for (let j = 0; j < consumed; j++) doneCost += costs[i + j] ?? 0;
    report(i, 0);
    i += consumed;
    await tick.tick();
  }
  return { state, next: upto };
}

async function applyDense(st: Dense, l: Layer, prm: JsKernelParams, tick: Ticker): Promise<Dense> {
  switch (l.kind) {
    case 'conv':
      return denseConv(st, l.size, prm, tick);
    case 'relu':
      return denseRelu(st, tick);
    case 'down':
      return { kind: 'dense', h: st.h >> 1, w: st.w >> 1, sigma: poolDense(st.sigma, st.h, st.w, prm.precision), theta: poolDense(st.theta, st.h, st.w, prm.precision) };
    case 'up':
      return { kind: 'dense', h: st.h * 2, w: st.w * 2, sigma: upDense(st.sigma, st.h, st.w, prm.precision), theta: upDense(st.theta, st.h, st.w, prm.precision) };
  }
}

function layerName(l: Layer): string {
  return l.kind === 'conv' ? `conv${l.size}` : l.kind;
}

// ---------------------------------------------------------------------------------------------------------
// the lazy tail: linear layers after the last relu, evaluated for chosen rows and for the diagonal

interface Shape {
  h: number;
  w: number;
}

function tailShapes(tail: Layer[], h: number, w: number): Shape[] {
  const out: Shape[] = [{ h, w }];
  for (const l of tail) {
    if (l.kind === 'down') {
      h >>= 1;
      w >>= 1;
    } else if (l.kind === 'up') {
      h *= 2;
      w *= 2;
    }
    out.push({ h, w });
  }
  return out;
}

/** Pixels of the layer input whose rows a layer needs to produce the rows `pix` of its output. */
function rowsNeeded(l: Layer, pix: Int32Array, inS: Shape, outS: Shape): Int32Array {
  const mark = new Uint8Array(inS.h * inS.w);
  for (const p of pix) {
    const r = (p / outS.w) | 0;
    const c = p - r * outS.w;
    if (l.kind === 'conv') {
      const k = (l.size - 1) >> 1;
      for (let dr = -k; dr <= k; dr++) {
        for (let dc = -k; dc <= k; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr >= 0 && rr < inS.h && cc >= 0 && cc < inS.w) mark[rr * inS.w + cc] = 1;
        }
      }
    } else if (l.kind === 'up') mark[(r >> 1) * inS.w + (c >> 1)] = 1;
    else if (l.kind === 'down') {
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) mark[(2 * r + a) * inS.w + 2 * c + b] = 1;
    } else mark[p] = 1;
  }
  let n = 0;
  for (let i = 0; i < mark.length; i++) n += mark[i];
  const out = new Int32Array(n);
  for (let i = 0, j = 0; i < mark.length; i++) if (mark[i]) out[j++] = i;
  return out;
}

interface RowBlock {
  shape: Shape;
  pix: Int32Array;
  /** pixel → position in pix, or −1 */
  pos: Int32Array;
  /** pix.length × P rows of Σ and Θ */
  s: Float64Array;
  t: Float64Array;
}

function positions(pix: Int32Array, P: number): Int32Array {
  const pos = new Int32Array(P).fill(-1);
  for (let i = 0; i < pix.length; i++) pos[pix[i]] = i;
  return pos;
}

/** out += v shifted by (dr, dc): out(q) += v(q + d) where q + d is on the h×w grid. */
function addShifted(out: Float64Array, o: number, v: Float64Array, vo: number, h: number, w: number, dr: number, dc: number): void {
  const r0 = Math.max(0, -dr);
  const r1 = Math.min(h, h - dr);
  const c0 = Math.max(0, -dc);
  const c1 = Math.min(w, w - dc);
  for (let r = r0; r < r1; r++) {
    const d = o + r * w;
    const s = vo + (r + dr) * w + dc;
    for (let c = c0; c < c1; c++) out[d + c] += v[s + c];
  }
}

function applyTailRows(l: Layer, inp: RowBlock, pix: Int32Array, outS: Shape, prm: JsKernelParams): RowBlock {
  const inS = inp.shape;
  const Pi = inS.h * inS.w;
  const Po = outS.h * outS.w;
  const n = pix.length;
  const s = new Float64Array(n * Po);
  const t = new Float64Array(n * Po);
  for (let i = 0; i < n; i++) {
    const p = pix[i];
    const r = (p / outS.w) | 0;
    const c = p - r * outS.w;
    const o = i * Po;
    if (l.kind === 'conv') {
      const k = (l.size - 1) >> 1;
      for (let dr = -k; dr <= k; dr++) {
        for (let dc = -k; dc <= k; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || rr >= inS.h || cc < 0 || cc >= inS.w) continue;
          const j = inp.pos[rr * inS.w + cc];
          addShifted(s, o, inp.s, j * Pi, inS.h, inS.w, dr, dc);
          addShifted(t, o, inp.t, j * Pi, inS.h, inS.w, dr, dc);
        }
      }
      const sc = prm.sigmaW2 / (l.size * l.size);
      const b = prm.sigmaB2;
      for (let q = o; q < o + Po; q++) {
        const v = s[q] * sc + b;
        s[q] = v;
        t[q] = t[q] * sc + v;
      }
    } else if (l.kind === 'up') {
      const j = inp.pos[(r >> 1) * inS.w + (c >> 1)] * Pi;
      for (let qr = 0; qr < outS.h; qr++) {
        const src = j + (qr >> 1) * inS.w;
        const dst = o + qr * outS.w;
        for (let qc = 0; qc < outS.w; qc++) {
          s[dst + qc] = inp.s[src + (qc >> 1)];
          t[dst + qc] = inp.t[src + (qc >> 1)];
        }
      }
    } else if (l.kind === 'down') {
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          const j = inp.pos[(2 * r + a) * inS.w + 2 * c + b] * Pi;
          for (let qr = 0; qr < inS.h; qr++) {
            const src = j + qr * inS.w;
            const dst = o + (qr >> 1) * outS.w;
            for (let qc = 0; qc < inS.w; qc++) {
              s[dst + (qc >> 1)] += inp.s[src + qc] / 16;
              t[dst + (qc >> 1)] += inp.t[src + qc] / 16;
            }
          }
        }
      }
    } else {
      throw new Error('relu in the linear tail');
    }
  }
  return { shape: outS, pix, pos: positions(pix, Po), s, t };
}

/** Rows of the dense state for pixels pix. */
function gatherRows(st: Dense, pix: Int32Array): RowBlock {
  const P = st.h * st.w;
  const n = pix.length;
  const s = new Float64Array(n * P);
  const t = new Float64Array(n * P);
  for (let i = 0; i < n; i++) {
    s.set(st.sigma.subarray(pix[i] * P, (pix[i] + 1) * P), i * P);
    t.set(st.theta.subarray(pix[i] * P, (pix[i] + 1) * P), i * P);
  }
  return { shape: { h: st.h, w: st.w }, pix, pos: positions(pix, P), s, t };
}

// Offsets are encoded as (dr, dc) pairs in a Map keyed by `${dr},${dc}`.
type Offsets = Map<string, [number, number]>;

function offsetsNeeded(l: Layer, out: Offsets): Offsets {
  const res: Offsets = new Map();
  const add = (dr: number, dc: number) => res.set(`${dr},${dc}`, [dr, dc]);
  const half = (d: number) => (d % 2 === 0 ? [d / 2] : [Math.floor(d / 2), Math.floor(d / 2) + 1]);
  for (const [dr, dc] of out.values()) {
    if (l.kind === 'up') {
      for (const a of half(dr)) for (const b of half(dc)) add(a, b);
    } else if (l.kind === 'down') {
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) add(2 * dr + a, 2 * dc + b);
    } else add(dr, dc);
  }
  return res;
}

interface Band {
  shape: Shape;
  /** key → [Σ(p, p+d), Θ(p, p+d)] for every p (0 where p + d is off the grid) */
  bands: Map<string, [Float64Array, Float64Array]>;
}

function bandFromDense(st: Dense, offs: Offsets): Band {
  const { h, w } = st;
  const P = h * w;
  const bands = new Map<string, [Float64Array, Float64Array]>();
  for (const [key, [dr, dc]] of offs) {
    const s = new Float64Array(P);
    const t = new Float64Array(P);
    for (let r = Math.max(0, -dr); r < Math.min(h, h - dr); r++) {
      for (let c = Math.max(0, -dc); c < Math.min(w, w - dc); c++) {
        const p = r * w + c;
        const q = (r + dr) * w + c + dc;
        s[p] = st.sigma[p * P + q];
        t[p] = st.theta[p * P + q];
      }
    }
    bands.set(key, [s, t]);
  }
  return { shape: { h, w }, bands };
}

function applyTailBand(l: Layer, inp: Band, offs: Offsets, outS: Shape, prm: JsKernelParams): Band {
  const inS = inp.shape;
  const Po = outS.h * outS.w;
  const bands = new Map<string, [Float64Array, Float64Array]>();
  for (const [key, [dr, dc]] of offs) {
    const s = new Float64Array(Po);
    const t = new Float64Array(Po);
    for (let r = 0; r < outS.h; r++) {
      for (let c = 0; c < outS.w; c++) {
        const r2 = r + dr;
        const c2 = c + dc;
        if (r2 < 0 || r2 >= outS.h || c2 < 0 || c2 >= outS.w) continue;
        const p = r * outS.w + c;
        if (l.kind === 'conv') {
          const [bs, bt] = inp.bands.get(key)!;
          const k = (l.size - 1) >> 1;
          let as = 0;
          let at = 0;
          for (let a = -k; a <= k; a++) {
            for (let b = -k; b <= k; b++) {
              const rr = r + a;
              const cc = c + b;
              if (rr < 0 || rr >= inS.h || cc < 0 || cc >= inS.w) continue;
              as += bs[rr * inS.w + cc];
              at += bt[rr * inS.w + cc];
            }
          }
          const sc = prm.sigmaW2 / (l.size * l.size);
          s[p] = as * sc + prm.sigmaB2;
          t[p] = at * sc + s[p];
        } else if (l.kind === 'up') {
          const key2 = `${(r2 >> 1) - (r >> 1)},${(c2 >> 1) - (c >> 1)}`;
          const [bs, bt] = inp.bands.get(key2)!;
          const pi = (r >> 1) * inS.w + (c >> 1);
          s[p] = bs[pi];
          t[p] = bt[pi];
        } else if (l.kind === 'down') {
          let as = 0;
          let at = 0;
          for (let a = 0; a < 2; a++) {
            for (let b = 0; b < 2; b++) {
              for (let a2 = 0; a2 < 2; a2++) {
                for (let b2 = 0; b2 < 2; b2++) {
                  const [bs, bt] = inp.bands.get(`${2 * dr + a2 - a},${2 * dc + b2 - b}`)!;
                  const pi = (2 * r + a) * inS.w + 2 * c + b;
                  as += bs[pi];
                  at += bt[pi];
                }
              }
            }
          }
          s[p] = as / 16;
          t[p] = at / 16;
        }
      }
    }
    bands.set(key, [s, t]);
  }
  return { shape: outS, bands };
}

/**
 * A computed network head: everything up to the last relu, kept so that rows of the final layer can be
 * asked for repeatedly (chunks of observed cells, several sensor subsets on the same grid) without
 * recomputing it. Memory: the dense state (2·P_d² values at the head's resolution P_d).
 */
export interface JsKernelSession {
  height: number;
  width: number;
  /** P: Σ(p,p), Θ(p,p) of the final layer. */
  nngpDiag: Arr;
  ntkDiag: Arr;
  /** Θ and Σ rows (rows.length × P) for the given output pixels, in the order given. */
  rows(rows: Int32Array, ctx?: RunContext): Promise<{ ntkRows: Arr; nngpRows: Arr }>;
  /** Full P×P Θ and Σ (may hand over internal buffers: call once, last). */
  full(ctx?: RunContext): Promise<{ ntk: Arr; nngp: Arr }>;
}

/** Run the head (layers must already be checked against the grid) and return a session. */
export async function jsKernelSession(prior: Prior, layers: Layer[], prm: JsKernelParams, ctx?: RunContext): Promise<JsKernelSession> {
  const H = prior.height;
  const W = prior.width;
  const P = H * W;
  const { state, next } = await runEager(prior, layers, prm, ctx, new Ticker(ctx));
  const nngpDiag = alloc(prm.precision, P);
  const ntkDiag = alloc(prm.precision, P);

  if (state.kind === 'lowrank') {
    // no relu at all: everything from the features
    const same = state.psi === state.phi;
    for (let p = 0; p < P; p++) {
      nngpDiag[p] = dot(state.phi, state.ms, p, p);
      ntkDiag[p] = state.mt === 0 ? 0 : same ? nngpDiag[p] : dot(state.psi, state.mt, p, p);
    }
    const rowsFn = async (outRows: Int32Array, rctx?: RunContext) => {
      const tick = new Ticker(rctx);
      const n = outRows.length;
      const ntkRows = alloc(prm.precision, n * P);
      const nngpRows = alloc(prm.precision, n * P);
      for (let i = 0; i < n; i++) {
        const p = outRows[i];
        for (let q = 0; q < P; q++) {
          const v = dot(state.phi, state.ms, p, q);
          nngpRows[i * P + q] = v;
          ntkRows[i * P + q] = state.mt === 0 ? 0 : same ? v : dot(state.psi, state.mt, p, q);
        }
        await tick.tick();
      }
      return { ntkRows, nngpRows };
    };
    return {
      height: H,
      width: W,
      nngpDiag,
      ntkDiag,
      rows: rowsFn,
      async full(fctx) {
        const r = await rowsFn(Int32Array.from({ length: P }, (_, i) => i), fctx);
        return { ntk: r.ntkRows, nngp: r.nngpRows };
      },
    };
  }

  const tail = layers.slice(next);
  const shapes = tailShapes(tail, state.h, state.w);
  // diagonal through the band of offsets it depends on
  const offs: Offsets[] = new Array(tail.length + 1);
  offs[tail.length] = new Map([['0,0', [0, 0]]]);
  for (let l = tail.length - 1; l >= 0; l--) offs[l] = offsetsNeeded(tail[l], offs[l + 1]);
  let band = bandFromDense(state, offs[0]);
  for (let l = 0; l < tail.length; l++) band = applyTailBand(tail[l], band, offs[l + 1], shapes[l + 1], prm);
  const [dS, dT] = band.bands.get('0,0')!;
  nngpDiag.set(dS);
  ntkDiag.set(dT);
  ctx?.onProgress?.({ stage: 'kernel', fraction: 1 });

  // the tail as dense layers (cheaper when most rows are wanted); consumes a copy unless `own`
  const denseTail = async (own: boolean, dctx?: RunContext): Promise<Dense> => {
    const tick = new Ticker(dctx);
    let st: Dense = own || tail.length === 0 ? state : { ...state, sigma: state.sigma.slice(), theta: state.theta.slice() };
    for (let l = 0; l < tail.length; l++) {
      st = await applyDense(st, tail[l], prm, tick);
      dctx?.onProgress?.({ stage: 'kernel', fraction: 1, message: `layer ${next + l + 1}/${layers.length} (${layerName(tail[l])})` });
    }
    return st;
  };

  let perRow = 0;
  let bound = 1;
  for (let l = tail.length; l >= 0; l--) {
    perRow += bound * shapes[l].h * shapes[l].w;
    const t = tail[l - 1];
    if (t?.kind === 'conv') bound *= t.size * t.size;
    else if (t?.kind === 'down') bound *= 4;
  }
  const chunk = Math.max(1, Math.min(1024, Math.floor((1 << 23) / perRow)));

  return {
    height: H,
    width: W,
    nngpDiag,
    ntkDiag,
    async rows(outRows: Int32Array, rctx?: RunContext) {
      for (const p of outRows) if (!(p >= 0 && p < P)) throw new RangeError(`row ${p} is outside the ${W}×${H} grid`);
      const n = outRows.length;
      const ntkRows = alloc(prm.precision, n * P);
      const nngpRows = alloc(prm.precision, n * P);
      if (n > P / 4 && tail.length > 0) {
        const st = await denseTail(false, rctx);
        for (let i = 0; i < n; i++) {
          ntkRows.set(st.theta.subarray(outRows[i] * P, (outRows[i] + 1) * P), i * P);
          nngpRows.set(st.sigma.subarray(outRows[i] * P, (outRows[i] + 1) * P), i * P);
        }
        return { ntkRows, nngpRows };
      }
      // chunks of output pixels in raster order (neighbouring rows share their inputs)
      const tick = new Ticker(rctx);
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => outRows[a] - outRows[b]);
      for (let c0 = 0; c0 < n; c0 += chunk) {
        const idx = order.slice(c0, c0 + chunk);
        const uniq = Int32Array.from(new Set(idx.map((i) => outRows[i])));
        const need: Int32Array[] = new Array(tail.length + 1);
        need[tail.length] = uniq;
        for (let l = tail.length - 1; l >= 0; l--) need[l] = rowsNeeded(tail[l], need[l + 1], shapes[l], shapes[l + 1]);
        let blk = gatherRows(state, need[0]);
        for (let l = 0; l < tail.length; l++) blk = applyTailRows(tail[l], blk, need[l + 1], shapes[l + 1], prm);
        for (const i of idx) {
          const src = blk.pos[outRows[i]] * P;
          const dst = i * P;
          for (let q = 0; q < P; q++) {
            nngpRows[dst + q] = blk.s[src + q];
            ntkRows[dst + q] = blk.t[src + q];
          }
        }
        rctx?.onProgress?.({ stage: 'kernel rows', fraction: Math.min(n, c0 + chunk) / n, message: `rows ${Math.min(n, c0 + chunk)}/${n}` });
        await tick.tick();
      }
      return { ntkRows, nngpRows };
    },
    async full(fctx) {
      const st = await denseTail(true, fctx);
      return { ntk: st.theta, nngp: st.sigma };
    },
  };
}
