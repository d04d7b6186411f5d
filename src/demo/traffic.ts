// Daily traffic load of a mobile network cell and how it scales the emitted power. Load curves of urban
// macro cells are low at night (minimum around 4–5 h), climb through the morning, stay high in the
// afternoon and peak in the evening (19–21 h); weekends start later. Emitted power follows load on top of
// an always-on part (broadcast/control channels, reference signals): P(t) = P_max·(0.3 + 0.7·load(t)),
// so the field scales as √(0.3 + 0.7·load).

import type { Rng } from './prng.ts';

/** Weekday load by local hour 0..23 (fraction of the busy-hour load). */
export const WEEKDAY_LOAD = [
  0.35, 0.22, 0.15, 0.1, 0.08, 0.1, 0.2, 0.38, 0.55, 0.62, 0.66, 0.7,
  0.75, 0.74, 0.7, 0.7, 0.74, 0.8, 0.88, 0.95, 1.0, 0.97, 0.8, 0.55,
];

/** Saturday and Sunday: late start, lower daytime, similar evening. */
export const WEEKEND_LOAD = [
  0.42, 0.3, 0.2, 0.13, 0.09, 0.08, 0.1, 0.15, 0.25, 0.4, 0.52, 0.6,
  0.66, 0.66, 0.62, 0.6, 0.62, 0.68, 0.78, 0.88, 0.95, 0.95, 0.82, 0.6,
];

/** Share of the maximum power emitted at zero load. */
export const IDLE_POWER_SHARE = 0.3;

export interface SiteTraffic {
  /** Scales the load curve (a busy site near a station vs a quiet residential one), 0.7–1. */
  amplitude: number;
  /** Shifts the curve in time, hours (−1 … +1). */
  shiftHours: number;
  /** Day-to-day factor and per-reading jitter are drawn from this seed. */
  seed: number;
}

/** Linear interpolation of an hourly profile at a fractional local hour (periodic over 24 h). */
export function profileAt(profile: readonly number[], hour: number): number {
  const h = ((hour % 24) + 24) % 24;
  const i = Math.floor(h);
  const t = h - i;
  return profile[i] * (1 - t) + profile[(i + 1) % 24] * t;
}

/** Day of week (0 = Sunday) and fractional hour of a local time given by epoch ms and a UTC offset. */
export function localClock(timeMs: number, utcOffsetHours: number): { dow: number; hour: number; dayIndex: number } {
  const local = timeMs + utcOffsetHours * 3_600_000;
  const dayIndex = Math.floor(local / 86_400_000);
  const hour = (local - dayIndex * 86_400_000) / 3_600_000;
  // 1970-01-01 was a Thursday (4)
  const dow = (((dayIndex + 4) % 7) + 7) % 7;
  return { dow, hour, dayIndex };
}

/** Mean network load (no per-site variation) at a local time. */
export function baseLoad(timeMs: number, utcOffsetHours: number): number {
  const { dow, hour } = localClock(timeMs, utcOffsetHours);
  return profileAt(dow === 0 || dow === 6 ? WEEKEND_LOAD : WEEKDAY_LOAD, hour);
}

/** Small deterministic noise in [-1, 1] from integers (no state: the same time gives the same value). */
function hashNoise(seed: number, a: number): number {
  let h = (seed ^ Math.imul(a | 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 4294967296) * 2 - 1;
}

/** Load of one site at a time: shifted, scaled base curve, a day-to-day factor (±8 %), jitter (±0.04). */
export function siteLoad(t: SiteTraffic, timeMs: number, utcOffsetHours: number): number {
  const shifted = timeMs - t.shiftHours * 3_600_000;
  const { dayIndex } = localClock(shifted, utcOffsetHours);
  const day = 1 + 0.08 * hashNoise(t.seed, dayIndex);
  const jitter = 0.04 * hashNoise(t.seed ^ 0x5bd1e995, Math.floor(timeMs / 60_000));
  const load = t.amplitude * day * baseLoad(shifted, utcOffsetHours) + jitter;
  return Math.min(1, Math.max(0, load));
}

/** Emitted power as a share of the maximum for a load in [0, 1]. */
export function powerShare(load: number): number {
  return IDLE_POWER_SHARE + (1 - IDLE_POWER_SHARE) * load;
}

export function drawSiteTraffic(rng: Rng): SiteTraffic {
  return {
    amplitude: Math.round(rng.uniform(0.7, 1.0) * 1000) / 1000,
    shiftHours: Math.round(rng.uniform(-1, 1) * 100) / 100,
    seed: Math.floor(rng.next() * 0x7fffffff),
  };
}
