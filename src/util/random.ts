// Seeded pseudo-random numbers for the engine (CV folds, variogram subsets, optimizer starts) and tests:
// the same seed must give the same draws on every run and machine, so never Math.random.

/** mulberry32 (Tommy Ettinger, public domain): small, fast, seedable; uniforms in [0, 1), period 2^32. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
