// Long service calls (estimate, compare, import, demo, export) as jobs: POST starts one and returns its id at
// once; the page follows it over Server-Sent Events (progress, then one final "done" event with the result or
// the error) and may cancel it. A late subscriber gets the latest progress and, when finished, the result.

import type { ServerResponse } from 'node:http';
import crypto from 'node:crypto';
import type { Progress } from '../domain/run.ts';
import { encodeWire, errorToWire, type Envelope } from '../service/wire.ts';

/** Finished jobs are kept this long for a subscriber that connects late. */
const KEEP_MS = 5 * 60_000;
const HEARTBEAT_MS = 15_000;
const PROGRESS_MS = 50;

export interface Job {
  id: string;
  method: string;
  controller: AbortController;
  progress: Progress | null;
  /** Serialized final "done" payload once finished. */
  done: string | null;
  subscribers: Set<ServerResponse>;
  finishedAt: number | null;
}

export class JobTable {
  private jobs = new Map<string, Job>();
  private sweeper: ReturnType<typeof setInterval>;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  /** Start `run` as a job; returns its id. */
  start(method: string, run: (signal: AbortSignal, onProgress: (p: Progress) => void) => Promise<unknown>, onDone?: (value: unknown) => void): string {
    const id = crypto.randomBytes(12).toString('base64url');
    const job: Job = { id, method, controller: new AbortController(), progress: null, done: null, subscribers: new Set(), finishedAt: null };
    this.jobs.set(id, job);
    // at most one progress event per PROGRESS_MS (the latest wins); the page redraws no faster anyway
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const send = () => {
      timer = null;
      last = Date.now();
      if (job.progress && !job.done) this.broadcast(job, 'progress', JSON.stringify(encodeWire(job.progress)));
    };
    const onProgress = (p: Progress) => {
      job.progress = p;
      if (timer) return;
      const wait = PROGRESS_MS - (Date.now() - last);
      if (wait <= 0) send();
      else timer = setTimeout(send, wait);
    };
    const end = (env: Envelope<unknown>) => {
      if (timer) clearTimeout(timer);
      this.finish(job, env);
    };
    run(job.controller.signal, onProgress).then(
      (value) => {
        onDone?.(value);
        end({ ok: true, value: encodeWire(value) });
      },
      (err) => end({ ok: false, error: errorToWire(err) }),
    );
    return id;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    if (!job.done) job.controller.abort();
    return true;
  }

  /** Attach an SSE response to a job. */
  subscribe(job: Job, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': emfmap job stream\n\n');
    if (job.progress) res.write(sse('progress', JSON.stringify(encodeWire(job.progress))));
    if (job.done) {
      res.end(sse('done', job.done));
      return;
    }
    job.subscribers.add(res);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    beat.unref();
    res.on('close', () => {
      clearInterval(beat);
      job.subscribers.delete(res);
    });
  }

  /** Abort every running job (server shutdown). */
  abortAll(): void {
    for (const job of this.jobs.values()) if (!job.done) job.controller.abort();
    clearInterval(this.sweeper);
  }

  private finish(job: Job, env: Envelope<unknown>): void {
    job.done = JSON.stringify(env);
    job.finishedAt = Date.now();
    for (const res of job.subscribers) res.end(sse('done', job.done));
    job.subscribers.clear();
  }

  private broadcast(job: Job, event: string, data: string): void {
    for (const res of job.subscribers) res.write(sse(event, data));
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, job] of this.jobs) if (job.finishedAt !== null && now - job.finishedAt > KEEP_MS) this.jobs.delete(id);
  }
}

function sse(event: string, data: string): string {
  // data is one line of JSON (JSON.stringify never emits raw newlines)
  return `event: ${event}\ndata: ${data}\n\n`;
}
