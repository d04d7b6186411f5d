// `emfmap backends`: which TensorFlow.js backends can run here (tensorflow = tfjs-node-gpu / tfjs-node,
// wasm, cpu), which one emfmap uses and why, and a quick speed probe (a 256² matMul and a 3×3 conv2d) on each.

import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { printJson, table } from '../output.ts';

interface BackendsOptions {
  json?: boolean;
  time?: boolean;
  repeats?: string;
  backend?: string;
}

export function register(program: Command): void {
  program
    .command('backends')
    .description('list the TensorFlow.js compute backends (tensorflow/GPU, wasm, cpu): which are available, which is used and why, and their speed')
    .option('--backend <name>', 'choose the backend as a run would with this override (tensorflow, wasm, cpu, auto); default: EMFMAP_BACKEND or auto')
    .option('--no-time', 'skip the speed probe')
    .option('--repeats <n>', 'timed repetitions of each probe (median reported)', '5')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe order is tensorflow (needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, see docs/glip.md), then\n' +
        'wasm, then cpu. Override with EMFMAP_BACKEND=wasm (or --backend here). Timings are wall-clock medians:\n' +
        'matMul = 256×256 · 256×256 float32; conv2d = 3×3, 64×64×16 → 16 channels.\n' +
        '\nExamples:\n  emfmap backends\n  EMFMAP_BACKEND=cpu emfmap backends --json\n',
    )
    .action(async (o: BackendsOptions) => {
      const repeats = Number(o.repeats ?? 5);
      if (!Number.isInteger(repeats) || repeats < 1 || repeats > 1000) throw new UserError(`--repeats must be an integer from 1 to 1000 (got "${o.repeats}")`);
      const { initBackend, listBackends } = await import('../../compute/backend.ts');
      const choice = await initBackend(o.backend);
      const probes = await listBackends({ time: o.time !== false, repeats });
      if (o.json) {
        printJson({ inUse: { name: choice.name, reason: choice.reason, requested: choice.requested, requestedBy: choice.requestedBy }, backends: probes });
        return;
      }
      process.stdout.write(`backend in use: ${choice.reason}\n\n`);
      const ms = (v: number | undefined) => (v === undefined ? null : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`);
      process.stdout.write(
        table(
          probes.map((p) => ({
            backend: p.name + (p.active ? ' *' : ''),
            available: p.available ? 'yes' : 'no',
            'matMul 256²': ms(p.matMulMs),
            'GFLOP/s': p.matMulGflops === undefined ? null : p.matMulGflops.toFixed(2),
            'conv2d 3×3': ms(p.conv2dMs),
            reason: p.reason,
          })),
        ),
      );
      process.stdout.write('\n* = in use. Timings vary with machine load.\n');
    });
}
