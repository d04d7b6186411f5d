// Seeded randomness for the sketches: every random sign vector is drawn from one stream per feature map
// build, in a fixed order, so a (seed, architecture, grid) triple always gives the same features.

import { mulberry32 } from '../../util/random.ts';

/** mulberry32 on a scrambled seed (so the sketch streams differ from the engine's for equal seeds). */
export function seededUniform(seed: number): () => number {
  return mulberry32((Math.floor(seed) ^ 0x5bd1e995) >>> 0 || 0x9e3779b9);
}

/** A source of independent random signs. */
export class SignSource {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededUniform(seed);
  }
  /** n independent ±1 values. */
  signs(n: number): Float32Array {
    const s = new Float32Array(n);
    for (let i = 0; i < n; i++) s[i] = this.next() < 0.5 ? -1 : 1;
    return s;
  }
  uniform(): number {
    return this.next();
  }
}

/** Smallest power of two ≥ n (n ≥ 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
