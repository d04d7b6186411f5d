// Convergence of the sketched CNTK features to the exact kernel: on 8×8 and 16×16 grids with the default
// encoder–decoder and the default LIP, the relative Frobenius error of the sketched Θ and Σ against cntkKernel
// (float64, src/kernels/cntk.ts) falls as the feature dimension grows (m = 256, 1024, 4096, averaged over seeds).

import { describe, expect, it } from 'vitest';
import { DEFAULT_ARCH } from '../../src/kernels/arch.ts';
import { cntkKernel } from '../../src/kernels/cntk.ts';
import { featureGram, sketchFeatures } from '../../src/kernels/sketch/features.ts';
import { gridPrior, relFrob } from '../helpers/sketch.ts';


describe('sketched CNTK kernel → exact kernel as the feature dimension grows', () => {
  for (const size of [8, 16]) {
    it(`relative Frobenius error on ${size}×${size} (default encoder–decoder) falls as m grows: 256 → 1024 → 4096`, async () => {
      const prior = gridPrior(size);
      const ex = await cntkKernel(prior, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, precision: 'float64' });
      const err: Record<number, { ntk: number; nngp: number }> = {};
      for (const m of [256, 1024, 4096]) {
        // fixed seeds: the test is deterministic
        const seeds = m === 4096 ? [1, 2, 3] : [1, 2, 3, 4];
        let ntk = 0;
        let nngp = 0;
        for (const seed of seeds) {
          const f = await sketchFeatures(prior, { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01, features: m, degree: 4, seed });
          ntk += relFrob(await featureGram(f.ntk), ex.ntk) / seeds.length;
          nngp += relFrob(await featureGram(f.nngp), ex.nngp) / seeds.length;
          f.dispose();
        }
        err[m] = { ntk, nngp };
      }
      expect(err[1024].ntk).toBeLessThan(err[256].ntk);
      expect(err[4096].ntk).toBeLessThan(err[1024].ntk);
      expect(err[1024].nngp).toBeLessThan(err[256].nngp);
      expect(err[4096].nngp).toBeLessThan(err[1024].nngp);
      // 16× the dimension: the error at least halves (~1/√m would quarter it) and ends below 10 %
      expect(err[4096].ntk).toBeLessThan(0.5 * err[256].ntk);
      expect(err[4096].nngp).toBeLessThan(0.5 * err[256].nngp);
      expect(err[4096].ntk).toBeLessThan(0.1);
      expect(err[4096].nngp).toBeLessThan(0.1);
    });
  }

});
