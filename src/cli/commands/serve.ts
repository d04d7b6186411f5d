// `emfmap serve`: browser mode. The same user interface as the desktop app, served with the service API on
// 127.0.0.1 behind a per-session token; compute runs in a separate process (a crash there is reported in the
// page and the process restarted).

import path from 'node:path';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { startServer } from '../../server/server.ts';
import { HostState, defaultStateDir } from '../../server/state.ts';
import { ComputeClient, nodeComputeProcess } from '../../server/compute-client.ts';
import { inProcessInvoker, type Invoker } from '../../server/invoker.ts';
import { ensureRenderer, RENDERER_OUT } from '../../server/renderer-build.ts';
import { isLoopbackHost } from '../../server/security.ts';
import { ArgumentError } from '../../service/channels.ts';

interface ServeOptions {
  project?: string;
  demo?: boolean;
  port: string;
  host: string;
  allowRemote?: boolean;
  open: boolean;
  stateDir?: string;
  inProcess?: boolean;
  rebuild?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('browser mode: serve the user interface and the service on 127.0.0.1 with a per-session token')
    .option('--project <file>', 'project to open at start')
    .option('--demo', 'open the synthetic demo project at start (created on first use)')
    .option('--port <n>', 'port (0 = any free port)', '0')
    .option('--host <addr>', 'address to listen on (loopback only unless --allow-remote)', '127.0.0.1')
    .option('--allow-remote', 'allow a non-loopback --host (anyone reaching it still needs the token)')
    .option('--no-open', 'do not open a web browser')
    .option('--state-dir <dir>', 'where settings and recent projects are kept (default ~/.config/emfmap)')
    .option('--in-process', 'run the service in this process instead of a compute child process')
    .option('--rebuild', 'rebuild the user interface before serving')
    .option('--json', 'print {"url", "port", "token"} as JSON once listening')
    .addHelpText(
      'after',
      '\nThe printed URL carries the session token; requests without it are refused. Stop with Ctrl-C.\n' +
        'Example: emfmap serve --project city.emfmap --port 8787',
    )
    .action(async (o: ServeOptions) => {
      await serve(o);
    });
}

async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port must be an integer in 0..65535 (got "${o.port}")`);
  if (!isLoopbackHost(o.host) && !o.allowRemote) {
    throw new UserError(`refusing to listen on ${o.host}: browser mode is for this machine only (127.0.0.1). Add --allow-remote to expose it anyway.`);
  }
  const project = o.project ? path.resolve(o.project) : null;
  if (project && !fs.existsSync(project)) throw new UserError(`${project}: no such project file (create one with "emfmap init --project ${o.project}")`);

  const log = (s: string) => process.stderr.write(s + '\n');
  try {
    await ensureRenderer({ force: o.rebuild, log });
  } catch (err) {
    throw new UserError(`cannot build the user interface: ${(err as Error).message}`);
  }

  let invoker: Invoker;
  if (o.inProcess) {
    const { EmfmapService } = await import('../../service/service.ts');
    invoker = inProcessInvoker(new EmfmapService());
  } else {
    const client = new ComputeClient(() => nodeComputeProcess(), {
      onStatus: (s) => {
        if (s.state === 'crashed') log(`compute process stopped (${s.reason}); restarting`);
      },
    });
    await client.start();
    invoker = client;
  }
  let opened = project;
  try {
    if (project) await invoker.invoke('openProject', [project]);
    else if (o.demo) {
      log('opening the demo project (generated on first use)...');
      opened = (await invoker.invoke('openDemo', [])).path;
    }
  } catch (err) {
    await invoker.close();
    throw new UserError(`cannot open ${project ?? 'the demo project'}: ${(err as Error).message}`);
  }

  const state = new HostState(o.stateDir ? path.resolve(o.stateDir) : defaultStateDir());
  if (opened) state.addRecent(opened);
  let server;
  try {
    server = await startServer({ invoker, staticDir: RENDERER_OUT, state, host: o.host, port, allowRemote: o.allowRemote, startProject: opened });
  } catch (err) {
    await invoker.close();
    if (err instanceof ArgumentError) throw new UserError(err.message);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`port ${port} is in use: choose another with --port, or 0 for any free port`);
    throw err;
  }

  if (o.json) process.stdout.write(JSON.stringify({ url: server.url, port: server.port, token: server.token }) + '\n');
  else {
    process.stdout.write(`emfmap is running in browser mode${opened ? ` on ${opened}` : ''}.\n`);
    process.stdout.write(`Open: ${server.url}\n`);
    process.stdout.write('(the token in the URL is this session\'s password; Ctrl-C stops the server)\n');
  }
  if (o.open) openBrowser(server.url);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      log('stopping...');
      server.close().then(() => Promise.resolve(invoker.close())).then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Best effort: the system's URL opener; failures are silent (the URL is printed anyway). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '""', url] : [url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no opener: the URL is printed
  }
}
