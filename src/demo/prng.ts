// Seeded pseudo-random numbers for the synthetic demo scene. Never Math.random: the demo must be
// reproducible bit for bit from its seed on every machine.
//
// mulberry32 (Tommy Ettinger, public domain) gives 32-bit uniform output with a period of 2^32 per
// stream, plenty for a scene of a few hundred thousand draws. Each stage of the generator takes its own
// stream, forked from the seed by name, so that changing one stage (say, the number of sensors) does
// not shift the draws of another (the buildings stay where they were).

import { mulberry32 } from '../util/random.ts';

export { mulberry32 };

/** 32-bit FNV-1a hash of a string, used to derive child seeds. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private readonly next01: () => number;
  private spare: number | null = null;

  constructor(readonly seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number (got ${seed})`);
    this.next01 = mulberry32(seed);
  }

  /** An independent stream for a named stage: same (seed, label) → same stream. */
  fork(label: string): Rng {
    return new Rng(hash32(`${this.seed >>> 0}/${label}`));
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.next01();
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next01();
  }

  /** Integer uniform in [a, b] (inclusive). */
  int(a: number, b: number): number {
    return a + Math.floor(this.next01() * (b - a + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next01() < p;
  }

  /** Standard normal (Box–Muller, polar form not needed: the cached second value halves the cost). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.next01();
    while (u <= 1e-300) u = this.next01();
    const v = this.next01();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next01() * items.length)];
  }
}
