// Kernel time and memory for the default architecture as the grid grows.
//
//   npx tsx bench/cntk-kernel.ts            16², 32², 64², 96²
//   npx tsx bench/cntk-kernel.ts --big      also 128² (full kernel: two 1 GB float32 matrices)
//
// Each size runs in a fresh child process so that its peak RSS is its own. Per size:
//   full   cntkKernel: all P×P entries of Θ and Σ (float32, typed-array path)
//   rows   cntkRows for 200 observed cells + both diagonals (what the estimator computes)
//   tfjs   the TensorFlow.js path on the active backend (small sizes; dense [h,w,h,w] tensors)
// Reports wall and CPU seconds (the machine is shared: CPU time is the steadier number), peak RSS,
// and the growth exponent t ∝ P^k between consecutive sizes. Writes bench/out/cntk-kernel.json.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { DEFAULT_ARCH } from '../src/kernels/arch.ts';
import { cntkKernel, cntkRows } from '../src/kernels/cntk.ts';

interface One {
  side: number;
  mode: string;
  wall: number;
  cpu: number;
  peakRssMB: number;
  backend: string;
}

function prior(side: number): { height: number; width: number; channels: Float32Array[] } {
  // a LIP-like prior: coordinates, constant, and a smooth bump (4 channels)
  const P = side * side;
  const x = new Float32Array(P);
  const y = new Float32Array(P);
  const c = new Float32Array(P).fill(1);
  const b = new Float32Array(P);
  for (let r = 0; r < side; r++) {
    for (let q = 0; q < side; q++) {
      x[r * side + q] = -1 + (2 * (q + 0.5)) / side;
      y[r * side + q] = 1 - (2 * (r + 0.5)) / side;
      b[r * side + q] = Math.exp(-4 * (x[r * side + q] ** 2 + y[r * side + q] ** 2));
    }
  }
  return { height: side, width: side, channels: [x, y, c, b] };
}

async function child(side: number, mode: string): Promise<void> {
  const p = prior(side);
  const opts = { arch: DEFAULT_ARCH, sigmaW2: 2, sigmaB2: 0.01 };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let backend = 'js';
  if (mode === 'full') backend = (await cntkKernel(p, { ...opts, impl: 'js' })).backend;
  else if (mode === 'tfjs') backend = (await cntkKernel(p, { ...opts, impl: 'tfjs' })).backend;
  else {
    const P = side * side;
    const rows = Int32Array.from({ length: Math.min(200, P) }, (_, i) => Math.floor((i * 7919) % P));
    backend = (await cntkRows(p, { ...opts, impl: 'js' }, rows)).backend;
  }
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const out: One = { side, mode, wall, cpu: (cu.user + cu.system) / 1e6, peakRssMB: process.resourceUsage().maxRSS / 1024, backend };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function parent(): Promise<void> {
  const big = process.argv.includes('--big');
  const sides = [16, 32, 64, 96, ...(big ? [128] : [])];
  const plan: Array<[number, string]> = [];
  for (const s of sides) {
    plan.push([s, 'rows'], [s, 'full']);
    if (s <= 32 || (big && s === 64)) plan.push([s, 'tfjs']);
  }
  const results: One[] = [];
  console.log('side   pixels  mode   backend      wall s    cpu s   peak RSS MB');
  for (const [side, mode] of plan) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cntk-kernel.ts', '--child', String(side), mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      console.log(`${side}: ${mode} failed: ${r.stderr.split('\n').slice(-5).join(' ')}`);
      continue;
    }
    const one = JSON.parse(line) as One;
    results.push(one);
    console.log(
      `${String(side).padStart(4)}  ${String(side * side).padStart(7)}  ${mode.padEnd(5)}  ${one.backend.padEnd(9)}  ${one.wall.toFixed(2).padStart(8)}  ${one.cpu.toFixed(2).padStart(7)}  ${one.peakRssMB.toFixed(0).padStart(11)}`,
    );
  }
  const growth: Array<{ mode: string; from: number; to: number; exponent: number }> = [];
  for (const mode of ['rows', 'full']) {
    const rs = results.filter((r) => r.mode === mode);
    for (let i = 1; i < rs.length; i++) {
      if (rs[i - 1].cpu < 0.05) continue;
      const k = Math.log(rs[i].cpu / rs[i - 1].cpu) / Math.log((rs[i].side / rs[i - 1].side) ** 2);
      growth.push({ mode, from: rs[i - 1].side, to: rs[i].side, exponent: k });
    }
  }
  console.log('\ngrowth of CPU time with P (t ∝ P^k):');
  for (const g of growth) console.log(`  ${g.mode.padEnd(5)} ${g.from}² → ${g.to}²: k = ${g.exponent.toFixed(2)}`);
  fs.mkdirSync('bench/out', { recursive: true });
  fs.writeFileSync('bench/out/cntk-kernel.json', JSON.stringify({ date: new Date().toISOString(), arch: DEFAULT_ARCH, results, growth }, null, 1));
  console.log('wrote bench/out/cntk-kernel.json');
}

const ci = process.argv.indexOf('--child');
if (ci >= 0) await child(Number(process.argv[ci + 1]), process.argv[ci + 2]);
else await parent();
