// Path loss of the synthetic scene: 3GPP TR 38.901 (v17) Table 7.4.1-1 "UMa" (urban macro, rooftop base
// stations), with line of sight decided geometrically (los.ts) rather than by the standard's LOS
// probability. Free space is available for tests and for checking the conversion chain.
//
// UMa LOS   PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc)                          10 m ≤ d2D ≤ d'BP
//           PL2 = 28.0 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP² + (hBS - hUT)²)   d2D > d'BP
//           d'BP = 4 h'BS h'UT fc / c,  h' = h - 1 m (effective environment height hE = 1 m)
// UMa NLOS  PL = max(PL_LOS, 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (hUT - 1.5))
// fc in GHz, distances and heights in metres. Shadow fading σ: 4 dB LOS, 6 dB NLOS.
//
// Graded NLOS: the UMa NLOS formula is a fit to street-level receivers far behind many rows of
// buildings (the "settled" field of multi-screen diffraction, as in Walfisch–Bertoni / COST 231-WI).
// A receiver hidden behind a single row, next to a street in line of sight, loses less. We grade the
// excess over LOS by the number n of screens (separate building obstructions, los.ts) the ray passes
// under:  PL(n) = PL_LOS + (PL_NLOS - PL_LOS)·(1 - exp(-n/n0)),  n0 = SCREEN_SCALE = 3
// (n = 1: 28 % of the UMa excess in dB, 2: 49 %, 3: 63 %, 5: 81 %, 8: 93 %). This is a smooth stand-in for the
// diffraction we do not trace, chosen so that the field varies over tens to hundreds of metres rather
// than switching at every façade; the UMa formulas themselves are unchanged.
//
// Field from path loss: with L the (linear) loss between isotropic antennas, the power an isotropic
// antenna picks up is EIRP/L = S·λ²/(4π), so S = EIRP·(4π/λ²)/L. For free space L = (4πd/λ)² and this
// gives S = EIRP/(4πd²), the textbook form; E = √(S·Z0).

export const Z0 = 376.73; // free-space impedance, ohms
export const C = 299_792_458; // m/s

export type PathLossModel = 'uma' | 'free-space';

/** Free-space path loss, dB (Friis), d in metres, f in GHz. */
export function freeSpaceDb(d3D: number, fGHz: number): number {
  return 20 * Math.log10((4 * Math.PI * d3D * fGHz * 1e9) / C);
}

/** Scale n0 of the graded NLOS excess: fraction 1 - exp(-n/n0) of the UMa excess after n screens. */
export const SCREEN_SCALE = 3;

/**
 * Fraction of the UMa NLOS excess loss (dB) applied behind `screens` obstructions (0 = line of sight).
 * n0 ≤ 0 gives the plain 38.901 switch: the full NLOS loss behind any obstruction.
 */
export function nlosFraction(screens: number, n0: number = SCREEN_SCALE): number {
  if (screens <= 0) return 0;
  return n0 > 0 ? 1 - Math.exp(-screens / n0) : 1;
}

/** 3GPP TR 38.901 UMa path loss, dB. */
export function umaDb(d2D: number, d3D: number, hBS: number, hUT: number, fGHz: number, los: boolean): number {
  const lf = 20 * Math.log10(fGHz);
  const dbp = (4 * Math.max(hBS - 1, 0.1) * Math.max(hUT - 1, 0.1) * fGHz * 1e9) / C;
  const pl1 = 28.0 + 22 * Math.log10(d3D) + lf;
  const plLos = d2D <= dbp ? pl1 : 28.0 + 40 * Math.log10(d3D) + lf - 9 * Math.log10(dbp * dbp + (hBS - hUT) * (hBS - hUT));
  if (los) return plLos;
  const plN = 13.54 + 39.08 * Math.log10(d3D) + lf - 0.6 * (hUT - 1.5);
  return Math.max(plLos, plN);
}

/**
 * Path loss (dB) for a link; `nlos` is the fraction of the UMa NLOS excess applied (0 = line of sight,
 * 1 = the full UMa NLOS formula, nlosFraction(screens) in the scene). Distances below 10 m (where UMa is
 * not defined) are treated as 10 m, which only matters for points right under a mast, where the antenna
 * pattern dominates anyway. Free space ignores `nlos`.
 */
export function pathLossDb(model: PathLossModel, d2D: number, d3D: number, hBS: number, hUT: number, fGHz: number, nlos: number): number {
  if (model === 'free-space') return freeSpaceDb(Math.max(d3D, 1), fGHz);
  const d2 = Math.max(d2D, 10);
  const dh = hBS - hUT;
  const d3 = d2D >= 10 ? d3D : Math.max(d3D, Math.sqrt(d2 * d2 + dh * dh));
  const los = umaDb(d2, d3, hBS, hUT, fGHz, true);
  return nlos <= 0 ? los : los + nlos * (umaDb(d2, d3, hBS, hUT, fGHz, false) - los);
}

/**
 * 1/L (linear) of one UMa link at several frequencies, the same values as 10^(-pathLossDb/10) but sharing
 * the distance terms between frequencies (the field computation's hot loop): below the breakpoint and in
 * NLOS the frequency only enters as 20 log10(fc), i.e. a factor 1/fc². `nlos` as in pathLossDb.
 */
export function umaInverseLoss(d2D: number, d3D: number, hBS: number, hUT: number, fGHz: ArrayLike<number>, nlos: number, out: Float64Array): void {
  const d2 = Math.max(d2D, 10);
  const dh = hBS - hUT;
  const d3 = d2D >= 10 ? d3D : Math.max(d3D, Math.sqrt(d2 * d2 + dh * dh));
  const lg = Math.log10(d3);
  const a1 = 28.0 + 22 * lg; // LOS below the breakpoint, without the 20 log10(fc) term
  const aN = 13.54 + 39.08 * lg - 0.6 * (hUT - 1.5);
  const kBp = (4 * Math.max(hBS - 1, 0.1) * Math.max(hUT - 1, 0.1) * 1e9) / C;
  for (let f = 0; f < fGHz.length; f++) {
    const fc = fGHz[f];
    const dbp = kBp * fc;
    let a = d2 <= dbp ? a1 : 28.0 + 40 * lg - 9 * Math.log10(dbp * dbp + dh * dh);
    if (nlos > 0 && aN > a) a += nlos * (aN - a);
    out[f] = Math.exp(-DB * a) / (fc * fc);
  }
}

const DB = Math.LN10 / 10;

/** Power density (W/m²) from an EIRP (W) towards a point with relative gain g (linear) and path loss (dB). */
export function powerDensity(eirpW: number, gainLinear: number, fGHz: number, lossDb: number): number {
  const lambda = C / (fGHz * 1e9);
  return (eirpW * gainLinear * 4 * Math.PI) / (lambda * lambda) / Math.pow(10, lossDb / 10);
}

export function dbmToW(dbm: number): number {
  return Math.pow(10, (dbm - 30) / 10);
}

export function fieldFromPowerDensity(s: number): number {
  return Math.sqrt(s * Z0);
}
