// `emfmap cntk-kernel` round trip: PRIOR.json in, OUT.json with Θ and Σ in float64 text out, checked
// against the independent float64 reference; bad input gives exit code 1 and no output file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { referenceKernel } from './cntk-reference.ts';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-'));
}

describe('emfmap cntk-kernel', () => {
  it('round-trips a PRIOR.json to the exact float64 kernels', async () => {
    const dir = tmpDir();
    const H = 4;
    const W = 8;
    let a = 3;
    const r = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const channels = [Array.from({ length: H * W }, r), Array.from({ length: H * W }, r)];
    const prior = path.join(dir, 'prior.json');
    fs.writeFileSync(prior, JSON.stringify({ height: H, width: W, channels }));
    const out = path.join(dir, 'out.json');
    const arch = 'conv3,relu,down,conv5,relu,up,conv3';
    const code = await main(['cntk-kernel', '--prior', prior, '--arch', arch, '--sigma-w2', '1.7', '--sigma-b2', '0.05', '--out', out, '--json']);
    expect(code).toBe(0);
    const k = JSON.parse(fs.readFileSync(out, 'utf8')) as { height: number; width: number; ntk: number[]; nngp: number[] };
    expect(k.height).toBe(H);
    expect(k.width).toBe(W);
    expect(k.ntk.length).toBe(H * W * H * W);
    const ref = referenceKernel(H, W, channels, arch, 1.7, 0.05);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < ref.theta.length; i++) {
      err = Math.max(err, Math.abs(k.ntk[i] - ref.theta[i]), Math.abs(k.nngp[i] - ref.sigma[i]));
      scale = Math.max(scale, Math.abs(ref.theta[i]));
    }
    expect(err / scale).toBeLessThan(1e-12); // float64 input, float64 path, shortest round-trip text
    expect(fs.readdirSync(dir).sort()).toEqual(['out.json', 'prior.json']); // no temporary left behind
  });

  it('reports bad priors and grids with exit code 1 and writes nothing', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out.json');
    const cases: Array<[unknown, string, RegExp]> = [
      [{ height: 4, width: 4, channels: [[1, 2, 3]] }, 'conv3', /channels\[0\] has 3 values/],
      [{ height: 4, width: 4, channels: [Array.from({ length: 16 }, (_, i) => (i === 9 ? 'x' : i))] }, 'conv3', /channels\[0\]\[9\]/],
      [{ height: 0, width: 4, channels: [[]] }, 'conv3', /height/],
      [{ height: 6, width: 6, channels: [Array(36).fill(1)] }, 'conv3,down,down,up,up,conv3', /multiples of 4/],
    ];
    const stderr: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      stderr.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      for (const [prior, arch, msg] of cases) {
        const file = path.join(dir, 'p.json');
        fs.writeFileSync(file, JSON.stringify(prior));
        stderr.length = 0;
        expect(await main(['cntk-kernel', '--prior', file, '--arch', arch, '--out', out])).toBe(1);
        expect(stderr.join('')).toMatch(msg);
      }
      fs.writeFileSync(path.join(dir, 'broken.json'), '{"height": 4,');
      expect(await main(['cntk-kernel', '--prior', path.join(dir, 'broken.json'), '--out', out])).toBe(1);
      expect(stderr.join('')).toMatch(/not valid JSON/);
    } finally {
      process.stderr.write = orig;
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});
