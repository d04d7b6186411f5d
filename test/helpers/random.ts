// Seeded generators for tests: the same seed gives the same draws, so a failure reproduces.

/** A 32-bit linear congruential generator (Numerical Recipes constants): uniforms in [0, 1). */
export function lcg(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
}
