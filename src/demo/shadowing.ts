// Spatially correlated shadow fading: white Gaussian noise on a lattice, smoothed by a separable
// Gaussian filter and rescaled to unit variance, then sampled bilinearly. The path-loss model multiplies
// a site's unit field by its σ (4 dB LOS, 6 dB NLOS, graded in between like the excess loss).
//
// A Gaussian filter of standard deviation s turns white noise into a field with correlation
// ρ(r) = exp(-r² / (4 s²)); we call the lag where ρ = 1/e the correlation distance, d_c = 2 s.
//
// Each site's field has two scales (siteShadowFields):
//   z_k = √w·(√ρ·S + √(1-ρ)·L_k) + √(1-w)·s_k
// S and L_k large-scale fields (correlation distance ~150 m: what the simple geometry leaves out at the
// scale of a quarter: terrain, trees, building shapes and materials), S shared by all sites and L_k the
// site's own, so that two sites' shadowing is correlated ρ·w at the same place (3GPP system simulations
// use 0.5 between sites, TR 36.942 / TR 25.996); s_k a small-scale field (~40 m, TR 38.901 UMa
// decorrelation 37–50 m) for the remaining local detail. w is the large-scale share of the variance.
// z_k has unit variance and correlation w·exp(-r²/D²) + (1-w)·exp(-r²/d²) at lag r.

import type { Rng } from './prng.ts';

export interface ShadowField {
  /** Lattice origin (lower-left sample) and spacing, in the CRS, metres. */
  x0: number;
  y0: number;
  step: number;
  nx: number;
  ny: number;
  /** Unit-variance values, row-major with row 0 at y0 (south). */
  z: Float32Array;
}

/** 1-D Gaussian kernel (normalised to sum 1) of standard deviation sigma (in samples), radius 3σ. */
function gaussianKernel(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    s += k[i + r];
  }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/**
 * A unit-variance correlated field covering [xmin, xmax]×[ymin, ymax] with lattice spacing `step` and
 * correlation distance `corrDist` (metres).
 */
export function correlatedField(rng: Rng, xmin: number, ymin: number, xmax: number, ymax: number, step: number, corrDist: number): ShadowField {
  const sigma = corrDist / 2 / step;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const nx = Math.ceil((xmax - xmin) / step) + 1;
  const ny = Math.ceil((ymax - ymin) / step) + 1;
  // noise on a padded lattice so the filtered field has no edge effects
  const px = nx + 2 * r;
  const py = ny + 2 * r;
  const noise = new Float64Array(px * py);
  for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
  // filter rows (padded x → nx), then columns (padded y → ny)
  const tmp = new Float64Array(nx * py);
  for (let y = 0; y < py; y++) {
    for (let x = 0; x < nx; x++) {
      let s = 0;
      const base = y * px + x;
      for (let j = 0; j < k.length; j++) s += k[j] * noise[base + j];
      tmp[y * nx + x] = s;
    }
  }
  // variance of a white-noise sum weighted by the separable kernel is (Σ k_j²)²
  let k2 = 0;
  for (let j = 0; j < k.length; j++) k2 += k[j] * k[j];
  const scale = 1 / k2;
  const z = new Float32Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += k[j] * tmp[(y + j) * nx + x];
      z[y * nx + x] = s * scale;
    }
  }
  return { x0: xmin, y0: ymin, step, nx, ny, z };
}

/** Bilinear sample of the field at (x, y), clamped at the lattice edges. */
export function sampleShadow(f: ShadowField, x: number, y: number): number {
  const fx = Math.min(Math.max((x - f.x0) / f.step, 0), f.nx - 1);
  const fy = Math.min(Math.max((y - f.y0) / f.step, 0), f.ny - 1);
  const ix = Math.min(Math.floor(fx), f.nx - 2);
  const iy = Math.min(Math.floor(fy), f.ny - 2);
  const tx = fx - ix;
  const ty = fy - iy;
  const z = f.z;
  const a = z[iy * f.nx + ix];
  const b = z[iy * f.nx + ix + 1];
  const c = z[(iy + 1) * f.nx + ix];
  const d = z[(iy + 1) * f.nx + ix + 1];
  return (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * c + tx * d);
}

export interface TwoScaleParams {
  /** Correlation distance of the small-scale part, metres. */
  corrDist: number;
  /** Correlation distance of the large-scale part, metres. */
  largeCorrDist: number;
  /** Share w of the variance in the large-scale part, 0–1. */
  largeShare: number;
  /** Share ρ of the large-scale part common to all sites (their correlation is ρ·w), 0–1. */
  siteCorrelation: number;
}

/**
 * One unit-variance shadowing field per site over [xmin, xmax]×[ymin, ymax] (lattice `step` metres),
 * built from a shared and a per-site large-scale field and a per-site small-scale one (see the header).
 * Each component has its own PRNG stream, so that changing the number of sites leaves the others alone.
 */
export function siteShadowFields(rng: Rng, nSites: number, xmin: number, ymin: number, xmax: number, ymax: number, step: number, p: TwoScaleParams): ShadowField[] {
  const w = Math.min(1, Math.max(0, p.largeShare));
  const rho = Math.min(1, Math.max(0, p.siteCorrelation));
  // the large-scale fields are smooth: build them on a coarser lattice (a tenth of their correlation
  // distance) and interpolate onto the fine one, 10–20× cheaper than filtering at the fine step
  const coarse = Math.max(step, p.largeCorrDist / 10);
  const large = (label: string) => correlatedField(rng.fork(label), xmin, ymin, xmax + coarse, ymax + coarse, coarse, p.largeCorrDist);
  const shared = w > 0 && rho > 0 ? large('shared') : null;
  const a = Math.sqrt(w * rho);
  const b = Math.sqrt(w * (1 - rho));
  const c = Math.sqrt(1 - w);
  return Array.from({ length: nSites }, (_, k) => {
    const small = correlatedField(rng.fork(`small-${k}`), xmin, ymin, xmax, ymax, step, p.corrDist);
    const own = b > 0 ? large(`large-${k}`) : null;
    const z = new Float32Array(small.z.length);
    for (let iy = 0; iy < small.ny; iy++) {
      const y = small.y0 + iy * step;
      for (let ix = 0; ix < small.nx; ix++) {
        const x = small.x0 + ix * step;
        const i = iy * small.nx + ix;
        z[i] = c * small.z[i] + (own ? b * sampleShadow(own, x, y) : 0) + (shared ? a * sampleShadow(shared, x, y) : 0);
      }
    }
    return { ...small, z };
  });
}
