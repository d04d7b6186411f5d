// Run the CLI entry point (src/cli/main.ts) in this process, much faster than spawning the binary through
// tsx, with stdout and stderr captured and the process state the commands touch restored afterwards.

import { main } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** `emfmap ARGS` in-process; `env` is set for the call only. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let out = '', err = '';
  const ow = process.stdout.write, ew = process.stderr.write;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  process.stdout.write = ((c: string | Uint8Array) => ((out += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((err += String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = undefined;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
