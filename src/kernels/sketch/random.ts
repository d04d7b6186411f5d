// Seeded randomness for the sketches: every random sign vector is drawn from one stream per feature map
// build, in a fixed order, so a (seed, architecture, grid) triple always gives the same features.

/** mulberry32: small, fast, good enough for random signs. Returns uniforms in [0, 1). */
export function seededUniform(seed: number): () => number {
  let a = (Math.floor(seed) ^ 0x5bd1e995) >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
