#!/usr/bin/env node
// The emfmap command. The engine is written in TypeScript and loaded through tsx's ESM hook,
// so `npx emfmap` works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
