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

/** k distinct indices of 0..n−1 in increasing order (all of them when k ≥ n): a partial Fisher–Yates shuffle. */
export function randomSubset(n: number, k: number, rand: () => number): Int32Array {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  if (k >= n) return perm;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k).sort();
}
