// Sector antenna pattern of a macro base station, after 3GPP TR 36.814 Table A.2.1.1-2 (and TR 38.901
// Table 7.3-1): parabolic horizontal and vertical cuts in dB, combined and floored at the front-to-back
// ratio.
//   A_H(φ) = -min(12 (φ/φ3dB)², A_m)
//   A_V(θ) = -min(12 ((θ - θ_tilt)/θ3dB)², SLA_V)
//   A(φ, θ) = -min(-(A_H + A_V), A_m)
// φ is the azimuth off boresight, θ the depression angle below the horizon. The mechanical tilt projects
// onto an azimuth φ as tilt_m·cos φ (the panel leans towards its boresight, not sideways), the electrical
// tilt applies at every azimuth.

export interface PatternParams {
  /** Horizontal half-power beamwidth, degrees. */
  phi3dB: number;
  /** Vertical half-power beamwidth, degrees. */
  theta3dB: number;
  /** Front-to-back ratio (floor of the combined pattern), dB. */
  am: number;
  /** Vertical side-lobe level, dB. */
  slaV: number;
}

/** 65° / 7° panels as deployed for 1800–2600 MHz macro cells; A_m 25 dB, SLA_V 20 dB. */
export const MACRO_PANEL: PatternParams = { phi3dB: 65, theta3dB: 7, am: 25, slaV: 20 };

/** Wrap an angle in degrees to (-180, 180]. */
export function wrapDeg(a: number): number {
  let w = a % 360;
  if (w > 180) w -= 360;
  else if (w <= -180) w += 360;
  return w;
}

export function horizontalDb(p: PatternParams, phiDeg: number): number {
  const r = wrapDeg(phiDeg) / p.phi3dB;
  return -Math.min(12 * r * r, p.am);
}

export function verticalDb(p: PatternParams, thetaDeg: number, tiltDeg: number): number {
  const r = (thetaDeg - tiltDeg) / p.theta3dB;
  return -Math.min(12 * r * r, p.slaV);
}

/**
 * Relative gain (dB, ≤ 0) towards azimuth offset φ and depression θ of a sector with mechanical and
 * electrical downtilt (degrees).
 */
export function patternDb(p: PatternParams, phiDeg: number, thetaDeg: number, mechTiltDeg: number, elecTiltDeg: number): number {
  const phi = wrapDeg(phiDeg);
  const aH = -horizontalDb(p, phi);
  if (aH >= p.am) return -p.am; // behind the panel: the floor, whatever the elevation
  const tilt = elecTiltDeg + mechTiltDeg * Math.cos((phi * Math.PI) / 180);
  return -Math.min(aH - verticalDb(p, thetaDeg, tilt), p.am);
}
