// The front door's side of the compute process: forwards calls and cancellations, routes progress to each
// call's JobContext, and survives the process dying. A crash or an out-of-memory kill rejects the calls in
// flight with a "ComputeCrashed" error the UI shows, and the process is started again with the same project
// reopened, so the window or page keeps working.
//
// Cancellation is cooperative (estimators check their AbortSignal between steps); a job that has not stopped
// `cancelGraceMs` after the cancel request is stopped by restarting the compute process, so Cancel always
// works. Nothing is lost by that: a run or an import is saved in one transaction at its end.

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JobContext } from '../service/api.ts';
import type { ApiMethod, ChannelArgs, ChannelResult } from '../service/channels.ts';
import { ApiError, type WireError } from '../service/wire.ts';
import type { Progress } from '../domain/run.ts';
import type { FromCompute, ToCompute } from './compute-protocol.ts';
import type { Invoker } from './invoker.ts';

/** A running compute process as the client sees it (Node child process or Electron utilityProcess). */
export interface ComputeProcess {
  send(msg: ToCompute): void;
  onMessage(cb: (msg: FromCompute) => void): void;
  /** Called once when the process ends, with a human-readable reason. */
  onExit(cb: (reason: string) => void): void;
  kill(): void;
}

export type ComputeStatus =
  | { state: 'started'; pid: number }
  | { state: 'crashed'; reason: string }
  | { state: 'restarted'; pid: number; reopened: string | null };

export interface ComputeClientOptions {
  /** Seconds after a cancel request before the process is restarted to force the stop. */
  cancelGraceMs?: number;
  onStatus?: (s: ComputeStatus) => void;
}

interface Pending {
  method: ApiMethod;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: Progress) => void;
  cancelled: boolean;
  graceTimer?: ReturnType<typeof setTimeout>;
  detach?: () => void;
}

const PROJECT_METHODS = new Set<ApiMethod>(['openProject', 'createProject', 'openDemo']);

export class ComputeClient implements Invoker {
  private proc: ComputeProcess | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private lastProject: string | null = null;
  private everStarted = false;
  private crashTimes: number[] = [];
  private closing = false;
  private readonly grace: number;

  constructor(
    private readonly spawn: () => ComputeProcess,
    private readonly opts: ComputeClientOptions = {},
  ) {
    this.grace = opts.cancelGraceMs ?? 10_000;
  }

  /** Start the process now (otherwise it starts on the first call). */
  start(): Promise<void> {
    return this.ensure();
  }

  /** Path of the project the compute process has open (reopened after a restart). */
  get project(): string | null {
    return this.lastProject;
  }

  async invoke<K extends ApiMethod>(method: K, args: ChannelArgs[K], ctx: JobContext = {}): Promise<ChannelResult<K>> {
    if (this.closing) throw new ApiError({ name: 'Error', message: 'the service is shutting down' });
    if (ctx.signal?.aborted) throw new ApiError({ name: 'CancelledError', message: 'cancelled' });
    await this.ensure();
    // the signal may have fired while the process was starting
    if (ctx.signal?.aborted) throw new ApiError({ name: 'CancelledError', message: 'cancelled' });
    const value = await this.send(method, args as unknown[], ctx);
    if (PROJECT_METHODS.has(method)) {
      const p = (value as { path?: unknown })?.path;
      if (typeof p === 'string') this.lastProject = p;
    }
    return value as ChannelResult<K>;
  }

  async close(): Promise<void> {
    this.closing = true;
    const p = this.proc;
    this.proc = null;
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      this.finish(job);
      job.reject(new ApiError({ name: 'Error', message: 'the service is shutting down' }));
    }
    p?.kill();
  }

  private send(method: ApiMethod, args: unknown[], ctx: JobContext): Promise<unknown> {
    const proc = this.proc;
    if (!proc) return Promise.reject(new ApiError({ name: 'ComputeCrashed', message: 'the compute process is not running' }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const job: Pending = { method, resolve, reject, onProgress: ctx.onProgress, cancelled: false };
      if (ctx.signal) {
        const signal = ctx.signal;
        const onAbort = () => {
          if (job.cancelled || !this.pending.has(id)) return;
          job.cancelled = true;
          this.proc?.send({ t: 'cancel', id });
          job.graceTimer = setTimeout(() => this.forceStop(id), this.grace);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, job);
      proc.send({ t: 'call', id, method, args });
    });
  }

  private finish(job: Pending): void {
    if (job.graceTimer) clearTimeout(job.graceTimer);
    job.detach?.();
  }

  private onMessage(msg: FromCompute): void {
    if (msg.t === 'ready') return;
    const job = this.pending.get(msg.id);
    if (!job) return;
    if (msg.t === 'progress') {
      if (!job.cancelled) job.onProgress?.(msg.p);
      return;
    }
    this.pending.delete(msg.id);
    this.finish(job);
    if (msg.ok) job.resolve(msg.value);
    else job.reject(new ApiError(msg.error));
  }

  /** A job ignored its cancel request for too long: restart the process (rejecting it as cancelled). */
  private forceStop(id: number): void {
    const job = this.pending.get(id);
    if (!job || !this.proc) return;
    const proc = this.proc;
    this.proc = null;
    this.ready = null;
    this.failAll(`the compute process was restarted to stop a cancelled job`);
    proc.kill();
    this.ensure().catch(() => {});
  }

  private failAll(reason: string): void {
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      this.finish(job);
      const err: WireError = job.cancelled
        ? { name: 'CancelledError', message: 'cancelled' }
        : {
            name: 'ComputeCrashed',
            message: `${reason}. It was restarted${this.lastProject ? ' and the project reopened' : ''}; "${job.method}" did not complete and saved nothing.`,
          };
      job.reject(new ApiError(err));
    }
  }

  private ensure(): Promise<void> {
    if (this.ready) return this.ready;
    // a process that replaces an earlier one reopens the project the earlier one had
    const isRestart = this.everStarted;
    const reopen = isRestart ? this.lastProject : null;
    let pid = -1;
    this.ready = new Promise<void>((resolve, reject) => {
      let proc: ComputeProcess;
      try {
        proc = this.spawn();
      } catch (err) {
        this.ready = null;
        reject(err);
        return;
      }
      this.proc = proc;
      let started = false;
      proc.onMessage((msg) => {
        if (msg.t === 'ready' && !started) {
          started = true;
          this.everStarted = true;
          pid = msg.pid;
          this.opts.onStatus?.({ state: 'started', pid: msg.pid });
          resolve();
        }
        if (this.proc === proc) this.onMessage(msg);
      });
      proc.onExit((reason) => {
        if (!started) {
          started = true;
          if (this.proc === proc) {
            this.proc = null;
            this.ready = null;
          }
          reject(new ApiError({ name: 'ComputeCrashed', message: `the compute process could not start: ${reason}` }));
          return;
        }
        if (this.proc !== proc || this.closing) return; // replaced on purpose (forceStop) or shutting down
        this.proc = null;
        this.ready = null;
        const why = `the compute process stopped unexpectedly (${reason})`;
        this.opts.onStatus?.({ state: 'crashed', reason });
        this.failAll(why);
        // start again right away so the UI finds a working service (with its project) on the next call;
        // after repeated crashes, wait for the next call instead of looping
        const now = Date.now();
        this.crashTimes = [...this.crashTimes.filter((t) => now - t < 60_000), now];
        if (this.crashTimes.length <= 3) this.ensure().catch(() => {});
      });
    }).then(async () => {
      if (isRestart) {
        let reopened: string | null = null;
        if (reopen && this.proc) {
          try {
            await this.send('openProject', [reopen], {});
            reopened = reopen;
          } catch {
            this.lastProject = null;
          }
        }
        this.opts.onStatus?.({ state: 'restarted', pid, reopened });
      }
    });
    return this.ready;
  }
}

// -------------------------------------------------------------------------------------------------------------
// Node child process (browser mode and tests)

/**
 * Spawn the service in a Node child process (TypeScript through tsx's loader; typed arrays cross as they are).
 * `execPath` runs it with another Node binary (Electron in development uses the system Node, whose ABI matches
 * the native modules installed by npm); `root` is the checkout's folder when this module is bundled.
 */
export function nodeComputeProcess(
  opts: { maxOldSpaceMb?: number; entry?: string; execPath?: string; root?: string; execArgv?: string[]; tsx?: boolean } = {},
): ComputeProcess {
  const here = opts.root ? pathToFileURL(opts.root.replace(/\/?$/, '/') + 'src/server/compute-client.ts').href : import.meta.url;
  const entry = opts.entry ?? fileURLToPath(new URL('./compute-child.ts', here));
  const require = createRequire(here);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  // an entry that registers tsx itself (the Electron compute host bundle) is started without the loader flag
  const execArgv = opts.tsx === false ? [] : ['--import', tsx];
  if (opts.maxOldSpaceMb) execArgv.push(`--max-old-space-size=${opts.maxOldSpaceMb}`);
  if (opts.execArgv) execArgv.push(...opts.execArgv);
  const env: NodeJS.ProcessEnv = { ...process.env, EMFMAP_COMPUTE_CHILD: '1' };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = fork(entry, [], {
    execArgv,
    execPath: opts.execPath,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env,
  });
  // keep the end of stderr to explain a crash ("JavaScript heap out of memory"), and pass it through
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    process.stderr.write(d);
    tail = (tail + d.toString('utf8')).slice(-4000);
  });
  const exitCbs: Array<(r: string) => void> = [];
  let exited = false;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    if (exited) return;
    exited = true;
    const oom = /heap out of memory|Allocation failed/i.test(tail);
    const reason = oom ? 'out of memory' : signal ? `killed by ${signal}` : `exit code ${code}`;
    for (const cb of exitCbs) cb(reason);
  };
  child.on('exit', onExit);
  child.on('error', (err) => {
    tail += String(err);
    onExit(null, null);
  });
  return {
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as FromCompute)),
    onExit: (cb) => exitCbs.push(cb),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
