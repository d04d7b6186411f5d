#!/usr/bin/env node
// The emfmap command. The engine is written in TypeScript and loaded through tsx's ESM hook,
// so `npx emfmap` works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';
register();
// `emfmap ... | head` closes the pipe early: stop quietly instead of crashing with EPIPE.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
