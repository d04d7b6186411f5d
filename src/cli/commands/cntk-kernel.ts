// `emfmap cntk-kernel`: the exact CNTK (Θ) and NNGP (Σ) between all output pixels, for researchers and for
// verification against other implementations. Always the float64 typed-array path; numbers are written
// in shortest round-trip form (exact float64).

import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { DEFAULT_ARCH } from '../../kernels/arch.ts';
import { cntkKernel } from '../../kernels/cntk.ts';
import type { Prior } from '../../kernels/lip.ts';
import { cliJobContext, formatSeconds, printJson } from '../output.ts';

interface CntkKernelCliOptions {
  prior: string;
  arch: string;
  sigmaW2: string;
  sigmaB2: string;
  out: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('cntk-kernel')
    .description('compute the exact CNTK Θ and NNGP Σ between all pixels of a prior image (float64)')
    .requiredOption('--prior <file>', 'PRIOR.json: {"height":H,"width":W,"channels":[[H·W numbers, row-major], ...]}')
    .option('--arch <spec>', 'layers: conv3/conv5 (K×K conv), relu, down (2×2 mean pool), up (nearest ×2)', DEFAULT_ARCH)
    .option('--sigma-w2 <x>', 'weight variance σ_w²', '2')
    .option('--sigma-b2 <y>', 'bias variance σ_b²', '0.01')
    .requiredOption('--out <file>', 'OUT.json: {"height":H,"width":W,"ntk":[P·P numbers],"nngp":[P·P numbers]}, P = H·W, pixel = row*W + col')
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      '\nConvention: NTK parameterization, Σ_in = XXᵀ/C, Θ_in = 0 (docs/cntk.md). H and W must be multiples of\n' +
        '2^(down steps) and the ups must undo the downs. Output size grows as P²: 32×32 is ~40 MB of text.\n' +
        'Example:\n  emfmap cntk-kernel --prior prior.json --arch conv3,relu,down,conv3,relu,up,conv3 --sigma-w2 2 --sigma-b2 0.01 --out k.json\n',
    )
    .action(async (o: CntkKernelCliOptions) => {
      await run(o);
    });
}

function parseNumberOption(name: string, v: string): number {
  const x = Number(String(v).trim());
  if (String(v).trim() === '' || !Number.isFinite(x)) throw new UserError(`${name} must be a number (got "${v}")`);
  return x;
}

/** Read and validate PRIOR.json; UserError names the file and the field. */
export function readPrior(file: string): Prior {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read prior file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON: ${(e as Error).message}`, [{ file, line: null, field: null, message: (e as Error).message }]);
  }
  const bad = (field: string, message: string) => new UserError(`${file}: ${field} ${message}`, [{ file, line: null, field, message }]);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('(top level)', 'must be an object {"height","width","channels"}');
  const r = raw as Record<string, unknown>;
  for (const k of ['height', 'width'] as const) {
    if (!Number.isInteger(r[k]) || (r[k] as number) < 1) throw bad(k, `must be a positive integer (got ${JSON.stringify(r[k])})`);
  }
  const H = r.height as number;
  const W = r.width as number;
  if (!Array.isArray(r.channels) || r.channels.length === 0) throw bad('channels', 'must be a non-empty array of channels');
  const channels = r.channels.map((ch, c) => {
    if (!Array.isArray(ch)) throw bad(`channels[${c}]`, 'must be an array of numbers');
    if (ch.length !== H * W) throw bad(`channels[${c}]`, `has ${ch.length} values, expected height·width = ${H * W}`);
    const out = new Float64Array(H * W);
    for (let i = 0; i < ch.length; i++) {
      if (typeof ch[i] !== 'number' || !Number.isFinite(ch[i])) throw bad(`channels[${c}][${i}]`, `must be a finite number (got ${JSON.stringify(ch[i])})`);
      out[i] = ch[i];
    }
    return out;
  });
  // Prior holds Float32Array channels for the estimators; the CLI keeps float64 input exactly
  return { height: H, width: W, channels: channels as unknown as Float32Array[] };
}

/** Write {"height","width","ntk","nngp"} in chunks (the arrays can be hundreds of MB of text). */
async function writeKernelJson(file: string, H: number, W: number, ntk: ArrayLike<number>, nngp: ArrayLike<number>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    const put = (s: string) => fs.writeSync(fd, s);
    put(`{"height":${H},"width":${W},"ntk":[`);
    const writeArr = (a: ArrayLike<number>) => {
      const CH = 65536;
      for (let i = 0; i < a.length; i += CH) {
        const parts: string[] = [];
        for (let j = i; j < Math.min(a.length, i + CH); j++) parts.push(String(a[j]));
        put((i > 0 ? ',' : '') + parts.join(','));
      }
    };
    writeArr(ntk);
    put('],"nngp":[');
    writeArr(nngp);
    put(']}\n');
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

async function run(o: CntkKernelCliOptions): Promise<void> {
  const prior = readPrior(o.prior);
  const sigmaW2 = parseNumberOption('--sigma-w2', o.sigmaW2);
  const sigmaB2 = parseNumberOption('--sigma-b2', o.sigmaB2);
  const outDir = path.dirname(path.resolve(o.out));
  if (!fs.existsSync(outDir)) throw new UserError(`output folder ${outDir} does not exist`);
  const ctx = cliJobContext({ quiet: o.json });
  try {
    const k = await cntkKernel(prior, { arch: o.arch, sigmaW2, sigmaB2, precision: 'float64', impl: 'js' }, ctx);
    await writeKernelJson(o.out, k.height, k.width, k.ntk, k.nngp);
    const summary = { out: path.resolve(o.out), height: k.height, width: k.width, pixels: k.height * k.width, arch: o.arch, sigmaW2, sigmaB2, backend: k.backend, precision: 'float64', seconds: k.seconds };
    ctx.done();
    if (o.json) printJson(summary);
    else process.stdout.write(`wrote ${summary.out}: Θ and Σ for ${k.width}×${k.height} = ${summary.pixels} pixels (${k.backend}, float64) in ${formatSeconds(k.seconds)}\n`);
  } finally {
    ctx.done();
  }
}
