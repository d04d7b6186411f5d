// The synthetic scene: district layout, base-station sites with three-sector antennas and their carriers,
// propagation settings and shadowing fields. Built deterministically from a seed (buildScene) or by hand
// for tests (makeScene).

import type { Bounds } from '../domain/types.ts';
import { localTransverseMercator } from '../geo/crs.ts';
import { MACRO_PANEL, type PatternParams } from './antenna.ts';
import { generateLayout, toCrs, buildingsFromRects, cityFrame, type CityLayout, type Buildings } from './layout.ts';
import { BuildingIndex } from './los.ts';
import { SCREEN_SCALE, type PathLossModel } from './pathloss.ts';
import { Rng } from './prng.ts';
import { siteShadowFields, type ShadowField } from './shadowing.ts';
import { drawSiteTraffic, type SiteTraffic } from './traffic.ts';

/** Where the synthetic district is placed: central Lille. */
export const DEMO_CENTRE = { lat: 50.63, lon: 3.05 };
export const DEFAULT_SEED = 42;

export interface Carrier {
  band: string;
  freqMHz: number;
  /** EIRP per sector at full load (main-lobe peak, antenna gain included), dBm. */
  eirpDbm: number;
}

export interface Sector {
  /** Boresight azimuth, degrees clockwise from grid north. */
  azimuthDeg: number;
  mechTiltDeg: number;
  elecTiltDeg: number;
}

/** One operator's equipment on a site: three sectors, each radiating all the operator's carriers. */
export interface Installation {
  operator: string;
  sectors: Sector[];
  carriers: Carrier[];
}

/** A rooftop shared by one or more operators (common in French city centres). */
export interface Site {
  id: string;
  /** Antenna position in the scene CRS, metres. */
  x: number;
  y: number;
  /** Antenna height above ground, metres. */
  height: number;
  /** Host building index (-1: a mast on the ground). */
  building: number;
  installations: Installation[];
  /** Traffic load of the site (all its operators follow it). */
  traffic: SiteTraffic;
}

export interface ShadowingParams {
  sigmaLosDb: number;
  sigmaNlosDb: number;
  /** Lag where the correlation of the small-scale part falls to 1/e, metres. */
  corrDist: number;
  /** The same for the large-scale part, metres. */
  largeCorrDist: number;
  /** Share of the variance in the large-scale part (0: single-scale shadowing). */
  largeShare: number;
  /** Share of the large-scale part common to all sites. */
  siteCorrelation: number;
  /** One unit-variance field per site, or null for no shadowing. */
  fields: ShadowField[] | null;
}

export interface Scene {
  seed: number | null;
  crs: string;
  /** The mapped area (CRS metres): reference raster and sensors lie inside. */
  bounds: Bounds;
  layout: CityLayout;
  index: BuildingIndex;
  sites: Site[];
  pattern: PatternParams;
  model: PathLossModel;
  /** Scale n0 of the graded NLOS excess (pathloss.ts nlosFraction; 0 = plain LOS/NLOS switch). */
  nlosScale: number;
  shadowing: ShadowingParams;
}

export interface SceneParams {
  /** Half-size of the mapped square, metres (500 → 1 km²). */
  halfSize: number;
  sites: number;
  /** Minimum distance between sites, metres. */
  siteSpacing: number;
  /** Scale n0 of the graded NLOS excess (0: the plain LOS/NLOS switch of TR 38.901). */
  nlosScale: number;
  /** Shadowing: small-scale and large-scale correlation distances (m), large-scale variance share, inter-site share. */
  corrDist: number;
  largeCorrDist: number;
  largeShare: number;
  siteCorrelation: number;
  sigmaLosDb: number;
  sigmaNlosDb: number;
}

/**
 * The demo's defaults. Chosen (docs/demo.md, "Tuning") so that the field has structure an interpolator can
 * partly recover from ~70 sensors while the values stay typical of a European city centre.
 */
export const DEFAULT_SCENE: SceneParams = {
  halfSize: 500,
  sites: 5,
  siteSpacing: 260,
  nlosScale: SCREEN_SCALE,
  corrDist: 40,
  largeCorrDist: 150,
  largeShare: 0.8,
  siteCorrelation: 0.5,
  sigmaLosDb: 4,
  sigmaNlosDb: 6,
};

/** Frequency bands deployed by French operators (downlink centre frequencies). */
export const BANDS: ReadonlyArray<{ band: string; freqMHz: number }> = [
  { band: 'LTE800', freqMHz: 806 },
  { band: 'GSM/UMTS900', freqMHz: 947 },
  { band: 'LTE1800', freqMHz: 1842 },
  { band: 'LTE2100', freqMHz: 2140 },
  { band: 'LTE2600', freqMHz: 2655 },
  { band: 'NR3500', freqMHz: 3550 },
];

/** Synthetic operator names (four networks, as in France). */
export const OPERATORS = ['Operator A', 'Operator B', 'Operator C', 'Operator D'];

/** Total sector EIRP of one operator at full load (sum over its bands), dBm: urban macro sectors radiate 55–65 dBm. */
export const SECTOR_EIRP_DBM: [number, number] = [57, 64];

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Three sectors, 120° apart with a random rotation and small per-sector deviation. */
function drawSectors(rng: Rng): Sector[] {
  const rot = rng.uniform(0, 120);
  return [0, 120, 240].map((a) => ({
    azimuthDeg: round((((a + rot + 5 * rng.normal()) % 360) + 360) % 360, 1),
    mechTiltDeg: round(rng.uniform(0, 4), 1),
    elecTiltDeg: round(rng.uniform(2, 8), 1),
  }));
}

/** 3–4 bands per site (800 and 1800 MHz everywhere), the sector EIRP split between them. */
function drawCarriers(rng: Rng): Carrier[] {
  const extra = BANDS.filter((b) => b.band !== 'LTE800' && b.band !== 'LTE1800');
  const chosen = [BANDS[0], BANDS[2]];
  const nExtra = rng.int(1, 2);
  const pool = [...extra];
  for (let i = 0; i < nExtra; i++) chosen.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]);
  chosen.sort((a, b) => a.freqMHz - b.freqMHz);
  const totalDbm = rng.uniform(SECTOR_EIRP_DBM[0], SECTOR_EIRP_DBM[1]);
  const w = chosen.map(() => rng.uniform(0.5, 1.5));
  const ws = w.reduce((a, b) => a + b, 0);
  return chosen.map((b, i) => ({ band: b.band, freqMHz: b.freqMHz, eirpDbm: round(totalDbm + 10 * Math.log10(w[i] / ws), 2) }));
}

/** Rooftop sites on tall-enough buildings inside the area, at least `spacing` metres apart. */
function placeSites(rng: Rng, layout: CityLayout, p: SceneParams): Site[] {
  const b = layout.buildings;
  const lim = p.halfSize + 20;
  const candidates: number[] = [];
  for (let i = 0; i < b.count; i++) {
    const [x, y] = toCrs(layout.frame, (b.u0[i] + b.u1[i]) / 2, (b.v0[i] + b.v1[i]) / 2);
    if (Math.abs(x) < lim && Math.abs(y) < lim && b.h[i] >= 15 && b.h[i] <= 36) candidates.push(i);
  }
  // deterministic shuffle
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  let spacing = p.siteSpacing;
  let chosen: number[] = [];
  while (spacing > 50) {
    chosen = [];
    for (const i of candidates) {
      const [x, y] = toCrs(layout.frame, (b.u0[i] + b.u1[i]) / 2, (b.v0[i] + b.v1[i]) / 2);
      const ok = chosen.every((j) => {
        const [x2, y2] = toCrs(layout.frame, (b.u0[j] + b.u1[j]) / 2, (b.v0[j] + b.v1[j]) / 2);
        return Math.hypot(x - x2, y - y2) >= spacing;
      });
      if (ok) chosen.push(i);
      if (chosen.length === p.sites) break;
    }
    if (chosen.length === p.sites) break;
    spacing *= 0.9;
  }
  return chosen.map((i, k) => {
    const srng = rng.fork(`site-${k}`);
    const [x, y] = toCrs(layout.frame, (b.u0[i] + b.u1[i]) / 2, (b.v0[i] + b.v1[i]) / 2);
    const mast = srng.uniform(3, 6);
    const height = round(Math.min(40, Math.max(20, b.h[i] + mast)), 1);
    // 1–4 operators share the rooftop (mean 2.5), each with its own panels and bands
    const nOps = srng.pick([1, 2, 2, 3, 3, 4]);
    const ops = [...OPERATORS];
    const installations: Installation[] = [];
    for (let o = 0; o < nOps; o++) {
      const operator = ops.splice(srng.int(0, ops.length - 1), 1)[0];
      installations.push({ operator, sectors: drawSectors(srng), carriers: drawCarriers(srng) });
    }
    installations.sort((a, c) => (a.operator < c.operator ? -1 : 1));
    return {
      id: `BS${String(k + 1).padStart(2, '0')}`,
      x: round(x, 2),
      y: round(y, 2),
      height,
      building: i,
      installations,
      traffic: drawSiteTraffic(srng),
    };
  });
}

/** Shadowing fields (one per site) on a 5 m lattice covering the area plus a margin. */
function shadowFields(rng: Rng, bounds: Bounds, nSites: number, p: SceneParams): ShadowField[] {
  const m = 20;
  return siteShadowFields(rng, nSites, bounds.xmin - m, bounds.ymin - m, bounds.xmax + m, bounds.ymax + m, 5, p);
}

/** The demo scene for a seed. */
export function buildScene(seed: number = DEFAULT_SEED, params: Partial<SceneParams> = {}): Scene {
  const p = { ...DEFAULT_SCENE, ...params };
  const rng = new Rng(seed);
  const angleDeg = round(rng.fork('frame').uniform(-25, 25), 2);
  // the city-frame square must cover the rotated mapped square plus room for the sites' rays
  const extent = Math.ceil(p.halfSize * Math.SQRT2 + 120);
  const layout = generateLayout(rng.fork('layout'), { extent, angleDeg });
  const bounds: Bounds = { xmin: -p.halfSize, ymin: -p.halfSize, xmax: p.halfSize, ymax: p.halfSize };
  const sites = placeSites(rng.fork('sites'), layout, p);
  return {
    seed,
    crs: localTransverseMercator(DEMO_CENTRE.lat, DEMO_CENTRE.lon),
    bounds,
    layout,
    index: new BuildingIndex(layout.buildings, extent),
    sites,
    pattern: MACRO_PANEL,
    model: 'uma',
    nlosScale: p.nlosScale,
    shadowing: {
      sigmaLosDb: p.sigmaLosDb,
      sigmaNlosDb: p.sigmaNlosDb,
      corrDist: p.corrDist,
      largeCorrDist: p.largeCorrDist,
      largeShare: p.largeShare,
      siteCorrelation: p.siteCorrelation,
      fields: shadowFields(rng.fork('shadowing'), bounds, sites.length, p),
    },
  };
}

/**
 * A hand-made scene (tests, what-if studies): given sites and buildings (CRS rectangles, axis-aligned,
 * city frame = CRS), no shadowing unless fields are given.
 */
export function makeScene(opts: {
  /** Sites with one operator's sectors and carriers. */
  sites: Array<{ id: string; x: number; y: number; height: number; sectors: Sector[]; carriers: Carrier[]; traffic?: SiteTraffic }>;
  buildings?: Array<{ xmin: number; ymin: number; xmax: number; ymax: number; height: number }>;
  halfSize?: number;
  model?: PathLossModel;
  pattern?: PatternParams;
  nlosScale?: number;
  shadowing?: Partial<ShadowingParams>;
}): Scene {
  const half = opts.halfSize ?? 1000;
  const rects = (opts.buildings ?? []).map((b) => ({ u0: b.xmin, v0: b.ymin, u1: b.xmax, v1: b.ymax, h: b.height }));
  const buildings: Buildings = buildingsFromRects(rects);
  const extent = half * 1.5;
  const layout: CityLayout = { frame: cityFrame(0), extent, streets: [], buildings, squares: [] };
  return {
    seed: null,
    crs: 'local',
    bounds: { xmin: -half, ymin: -half, xmax: half, ymax: half },
    layout,
    index: new BuildingIndex(buildings, extent),
    sites: opts.sites.map((s) => ({
      id: s.id,
      x: s.x,
      y: s.y,
      height: s.height,
      building: -1,
      installations: [{ operator: 'test', sectors: s.sectors, carriers: s.carriers }],
      traffic: s.traffic ?? { amplitude: 1, shiftHours: 0, seed: 1 },
    })),
    pattern: opts.pattern ?? MACRO_PANEL,
    model: opts.model ?? 'uma',
    nlosScale: opts.nlosScale ?? SCREEN_SCALE,
    shadowing: { sigmaLosDb: 4, sigmaNlosDb: 6, corrDist: 40, largeCorrDist: 150, largeShare: 0, siteCorrelation: 0, fields: null, ...opts.shadowing },
  };
}
