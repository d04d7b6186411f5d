// emfmap command-line entry. Each command lives in cli/commands/<name>.ts and registers itself via
// commands/index.ts. Exit code 0 only on success; user errors print a clear message and exit 1.

import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.ts';
import { reportError } from './output.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('emfmap')
    .description('RF-EMF exposure maps from sparse sensor networks (IDW, kriging, GP, EME-CNTK, EigenPro, GLIP)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0
      return err.exitCode;
    }
    return reportError(err);
  }
}
