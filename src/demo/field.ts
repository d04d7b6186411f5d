// Electric field of the scene at a set of points: for every site, the power density summed over its
// sectors and carriers at full load (antenna pattern × path loss × shadowing), kept per site so that the
// traffic load of each site can scale it over time. Total field: E = √(Σ_sites share_s(t) · E_s²), i.e.
// sources add by power. The path loss is graded by the number of building screens on the ray (los.ts,
// pathloss.ts), and so is the shadowing σ: σ_LOS + (σ_NLOS - σ_LOS)·nlosFraction(screens).

import { throwIfCancelled, yieldToLoop, type RunContext } from '../domain/run.ts';
import { patternDb } from './antenna.ts';
import { toCity } from './layout.ts';
import { C, Z0, dbmToW, nlosFraction, pathLossDb, umaInverseLoss } from './pathloss.ts';
import type { Scene } from './scene.ts';
import { sampleShadow } from './shadowing.ts';

export interface Points {
  x: Float64Array;
  y: Float64Array;
  /** Height above ground of each point, metres. */
  h: Float64Array;
}

export interface SiteFields {
  n: number;
  /** Per site: E² in (V/m)² at full load, one value per point. */
  e2: Float64Array[];
  /** Per site: 1 where the site is in line of sight of the point. */
  los: Uint8Array[];
  /** Per site: number of building screens on the ray (0 = line of sight; capped at 255). */
  screens: Uint8Array[];
}

export function pointsOf(x: ArrayLike<number>, y: ArrayLike<number>, h: number | ArrayLike<number>): Points {
  const n = x.length;
  const hh = new Float64Array(n);
  for (let i = 0; i < n; i++) hh[i] = typeof h === 'number' ? h : h[i];
  return { x: Float64Array.from(x), y: Float64Array.from(y), h: hh };
}

const DEG = 180 / Math.PI;
/** 10^(x/10) = exp(x·ln10/10). */
const DB = Math.LN10 / 10;
const CHUNK = 4096;

/** E² (V/m)² of each site at full load at every point. Reports progress and can be cancelled. */
export async function computeSiteFields(scene: Scene, pts: Points, ctx: RunContext = {}, opts: { shadowing?: boolean } = {}): Promise<SiteFields> {
  const n = pts.x.length;
  const ns = scene.sites.length;
  const e2 = scene.sites.map(() => new Float64Array(n));
  const los = scene.sites.map(() => new Uint8Array(n));
  const screens = scene.sites.map(() => new Uint8Array(n));
  const useShadow = opts.shadowing !== false && scene.shadowing.fields !== null;
  const frame = scene.layout.frame;
  // per-site constants: distinct frequencies (path loss computed once per frequency), carrier weights
  const siteUV = scene.sites.map((s) => toCity(frame, s.x, s.y));
  const siteConst = scene.sites.map((s) => {
    const freqs = [...new Set(s.installations.flatMap((inst) => inst.carriers.map((c) => c.freqMHz)))].sort((a, b) => a - b);
    return {
      fGHz: freqs.map((f) => f / 1000),
      // per installation: k_c = EIRP_c·4π/λ_c² and the index of its frequency
      inst: s.installations.map((inst) => ({
        sectors: inst.sectors,
        carriers: inst.carriers.map((c) => {
          const lambda = C / (c.freqMHz * 1e6);
          return { k: (dbmToW(c.eirpDbm) * 4 * Math.PI) / (lambda * lambda), fi: freqs.indexOf(c.freqMHz) };
        }),
      })),
    };
  });
  const uma = scene.model === 'uma';
  const floorDb = -scene.pattern.am;
  const floorGain = Math.exp(DB * floorDb);
  const maxF = Math.max(1, ...siteConst.map((c) => c.fGHz.length));
  const invLoss = new Float64Array(maxF);
  for (let start = 0; start < n; start += CHUNK) {
    throwIfCancelled(ctx.signal);
    const end = Math.min(n, start + CHUNK);
    for (let i = start; i < end; i++) {
      const x = pts.x[i];
      const y = pts.y[i];
      const h = pts.h[i];
      const [u, v] = toCity(frame, x, y);
      for (let s = 0; s < ns; s++) {
        const site = scene.sites[s];
        const dx = x - site.x;
        const dy = y - site.y;
        const d2 = Math.sqrt(dx * dx + dy * dy);
        const dz = site.height - h;
        const d3 = Math.sqrt(d2 * d2 + dz * dz);
        const nScreens = scene.index.screens(u, v, h, siteUV[s][0], siteUV[s][1], site.height);
        const nlos = nlosFraction(nScreens, scene.nlosScale);
        const sc = siteConst[s];
        if (uma) umaInverseLoss(d2, d3, site.height, h, sc.fGHz, nlos, invLoss);
        else for (let f = 0; f < sc.fGHz.length; f++) invLoss[f] = Math.exp(-DB * pathLossDb(scene.model, d2, d3, site.height, h, sc.fGHz[f], nlos));
        const az = Math.atan2(dx, dy) * DEG;
        const theta = Math.atan2(dz, d2) * DEG;
        // S = Σ_installations (Σ_sectors g) · Σ_carriers EIRP·(4π/λ²)/L  (each sector radiates its operator's carriers)
        let sum = 0;
        for (const inst of sc.inst) {
          let g = 0;
          for (const sec of inst.sectors) {
            const a = patternDb(scene.pattern, az - sec.azimuthDeg, theta, sec.mechTiltDeg, sec.elecTiltDeg);
            g += a === floorDb ? floorGain : Math.exp(DB * a);
          }
          let c = 0;
          for (const car of inst.carriers) c += car.k * invLoss[car.fi];
          sum += g * c;
        }
        let shadowDb = 0;
        if (useShadow) {
          const z = sampleShadow(scene.shadowing.fields![s], x, y);
          const { sigmaLosDb, sigmaNlosDb } = scene.shadowing;
          shadowDb = z * (sigmaLosDb + (sigmaNlosDb - sigmaLosDb) * nlos);
        }
        e2[s][i] = sum * Math.exp(-DB * shadowDb) * Z0;
        los[s][i] = nScreens === 0 ? 1 : 0;
        screens[s][i] = Math.min(255, nScreens);
      }
    }
    ctx.onProgress?.({ stage: 'field', fraction: end / n, message: `${end}/${n} points` });
    if (end < n) await yieldToLoop();
  }
  return { n, e2, los, screens };
}

/**
 * Total field (V/m) from per-site E² and per-site power shares (1 = full load):
 * E = √(Σ_s share_s · E_s²).
 */
export function totalField(f: SiteFields, shares?: ArrayLike<number>, out = new Float64Array(f.n)): Float64Array {
  out.fill(0);
  for (let s = 0; s < f.e2.length; s++) {
    const k = shares ? shares[s] : 1;
    const e = f.e2[s];
    for (let i = 0; i < f.n; i++) out[i] += k * e[i];
  }
  for (let i = 0; i < f.n; i++) out[i] = Math.sqrt(out[i]);
  return out;
}
