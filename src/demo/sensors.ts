// The synthetic fixed sensor network: broadband probes on lamp posts along the streets (3–4 m high,
// at the kerb, never inside a building), reading every 2 hours, with the imperfections of real networks:
// a few percent of measurement noise, a detection floor, single missing readings and outages.

import { toCity, toCrs, type Street } from './layout.ts';
import type { Rng } from './prng.ts';
import type { Scene } from './scene.ts';

export interface PlacedSensor {
  x: number;
  y: number;
  height: number;
  street: string;
}

export interface NetworkParams {
  count: number;
  /** Minimum distance between two sensors, metres (relaxed if the streets cannot hold them all). */
  spacing: number;
  /** Keep sensors this far inside the mapped area, metres. */
  margin: number;
}

export const DEFAULT_NETWORK: NetworkParams = { count: 70, spacing: 80, margin: 15 };

/** Measurement model of the broadband probes. */
export const INSTRUMENT = {
  /** Relative standard deviation of a reading (calibration + 6-minute averaging), fraction. */
  noise: 0.03,
  /** Lowest value the probe reports, V/m; weaker fields read as this value. */
  floor: 0.03,
  /** Reported resolution, V/m. */
  resolution: 0.001,
};

/** Probability that a single scheduled reading is missing (radio link loss). */
export const MISSING_RATE = 0.02;

function inArea(scene: Scene, x: number, y: number, margin: number): boolean {
  const b = scene.bounds;
  return x >= b.xmin + margin && x <= b.xmax - margin && y >= b.ymin + margin && y <= b.ymax - margin;
}

/** A random kerb-side position on a street; null when it falls outside the area or in a building. */
function kerbPosition(scene: Scene, rng: Rng, street: Street, margin: number): { x: number; y: number } | null {
  const ext = scene.layout.extent;
  const along = rng.uniform(-ext, ext);
  // lamp posts stand 1–2.5 m from the street edge (the façade line), on the pavement
  const off = Math.max(1, street.width / 2 - rng.uniform(1, 2.5)) * (rng.chance(0.5) ? 1 : -1);
  const u = street.axis === 'v' ? street.at + off : along;
  const v = street.axis === 'v' ? along : street.at + off;
  const [x, y] = toCrs(scene.layout.frame, u, v);
  if (!inArea(scene, x, y, margin)) return null;
  if (scene.index.buildingAt(u, v) >= 0) return null;
  return { x, y };
}

/** Streets crossing the mapped area, each weighted by how much of it lies inside (by sampling). */
function streetsInArea(scene: Scene, margin: number): Array<{ street: Street; weight: number }> {
  const out: Array<{ street: Street; weight: number }> = [];
  const ext = scene.layout.extent;
  for (const street of scene.layout.streets) {
    let inside = 0;
    for (let a = -ext; a <= ext; a += 10) {
      const [x, y] = toCrs(scene.layout.frame, street.axis === 'v' ? street.at : a, street.axis === 'v' ? a : street.at);
      if (inArea(scene, x, y, margin)) inside++;
    }
    if (inside > 0) out.push({ street, weight: inside });
  }
  return out;
}

/** Place the fixed sensors: kerb-side, spread out (minimum spacing), outside buildings. */
export function placeSensors(scene: Scene, rng: Rng, p: NetworkParams = DEFAULT_NETWORK): PlacedSensor[] {
  const streets = streetsInArea(scene, p.margin);
  if (streets.length === 0) throw new Error('no street crosses the mapped area');
  const total = streets.reduce((a, s) => a + s.weight, 0);
  const pickStreet = () => {
    let r = rng.next() * total;
    for (const s of streets) {
      r -= s.weight;
      if (r < 0) return s.street;
    }
    return streets[streets.length - 1].street;
  };
  const placed: PlacedSensor[] = [];
  let spacing = p.spacing;
  let attempts = 0;
  while (placed.length < p.count) {
    attempts++;
    if (attempts > 1_000_000) throw new Error(`cannot place ${p.count} sensors on the streets of the area`);
    if (attempts % 5000 === 0) spacing *= 0.9; // the streets are full at this spacing: relax it
    const street = pickStreet();
    const pos = kerbPosition(scene, rng, street, p.margin);
    if (!pos) continue;
    if (placed.some((q) => Math.hypot(q.x - pos.x, q.y - pos.y) < spacing)) continue;
    // not flush against a façade: a post needs room
    const [u, v] = toCity(scene.layout.frame, pos.x, pos.y);
    if (scene.index.distanceToBuildings(u, v, 1) < 0.5) continue;
    placed.push({ x: Math.round(pos.x * 100) / 100, y: Math.round(pos.y * 100) / 100, height: Math.round(rng.uniform(3, 4) * 10) / 10, street: street.name });
  }
  return placed;
}

/** What the probe reports for a true field e (V/m): multiplicative noise, floor, resolution. */
export function measure(rng: Rng, e: number): number {
  const noisy = e * (1 + INSTRUMENT.noise * rng.normal());
  const v = Math.max(INSTRUMENT.floor, noisy);
  return Math.round(v / INSTRUMENT.resolution) * INSTRUMENT.resolution;
}

export interface Outage {
  sensor: number;
  from: number;
  /** Exclusive end (epoch ms); the end of the series for a sensor that never comes back. */
  to: number;
  kind: 'outage' | 'dead';
}

/** Outages: two sensors off for 36 h and 60 h, one that dies 70–80 % into the series and never comes back. */
export function drawOutages(rng: Rng, nSensors: number, start: number, end: number): Outage[] {
  if (nSensors < 3) return [];
  const ids: number[] = [];
  while (ids.length < 3) {
    const i = rng.int(0, nSensors - 1);
    if (!ids.includes(i)) ids.push(i);
  }
  const span = end - start;
  const h = 3_600_000;
  const o1 = start + Math.floor(rng.uniform(0.1, 0.5) * span / h) * h;
  const o2 = start + Math.floor(rng.uniform(0.3, 0.6) * span / h) * h;
  const dead = start + Math.floor(rng.uniform(0.7, 0.8) * span / h) * h;
  return [
    { sensor: ids[0], from: o1, to: Math.min(end, o1 + 36 * h), kind: 'outage' },
    { sensor: ids[1], from: o2, to: Math.min(end, o2 + 60 * h), kind: 'outage' },
    { sensor: ids[2], from: dead, to: end, kind: 'dead' },
  ];
}
