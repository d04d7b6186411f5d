// Shared CLI output helpers: JSON vs human output, the progress line on a terminal, error reporting.

import { CancelledError, type Progress, type RunContext } from '../domain/run.ts';
import { UserError, formatIssue } from '../domain/errors.ts';

/** Print an error the way users should see it and return the process exit code. */
export function reportError(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    for (const i of err.issues) process.stderr.write(`  ${formatIssue(i)}\n`);
    if (err.totalIssues > err.issues.length) {
      process.stderr.write(`  ... and ${err.totalIssues - err.issues.length} more (${err.totalIssues} problems in all)\n`);
    }
    return 1;
  }
  if (err instanceof CancelledError) {
    process.stderr.write('cancelled: nothing was changed\n');
    return 130;
  }
  const e = err as Error;
  process.stderr.write(`internal error: ${e?.stack ?? String(err)}\n`);
  return 2;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v), 2) + '\n');
}

/**
 * A RunContext for CLI jobs: a single updating progress line on stderr when it is a terminal, and Ctrl-C
 * cancels the job cleanly (first press aborts; a second press exits at once). `done()` may be called more
 * than once (after the job, and again in a `finally`): only the first call does anything.
 */
export function cliJobContext(opts: { quiet?: boolean } = {}): RunContext & { done(): void } {
  const controller = new AbortController();
  let pressed = false;
  const onSigint = () => {
    if (pressed) process.exit(130);
    pressed = true;
    process.stderr.write('\ncancelling... (Ctrl-C again to exit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const tty = process.stderr.isTTY && !opts.quiet;
  let last = 0;
  let shown = false;
  let finished = false;
  const onProgress = (p: Progress) => {
    if (!tty) return;
    const now = Date.now();
    if (now - last < 100 && p.fraction !== 1) return;
    last = now;
    shown = true;
    process.stderr.write(`\r\x1b[K${formatProgress(p)}`);
  };
  return {
    signal: controller.signal,
    onProgress,
    done() {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSigint);
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export function formatProgress(p: Progress): string {
  const pct = p.fraction === undefined ? '' : ` ${(100 * p.fraction).toFixed(0).padStart(3)}%`;
  const eta = p.eta === undefined || !Number.isFinite(p.eta) ? '' : ` ETA ${formatSeconds(p.eta)}`;
  return `${p.stage}${pct}${eta}${p.message ? ` ${p.message}` : ''}`;
}

export function formatSeconds(s: number): string {
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 90) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Render rows as an aligned text table. */
export function table(rows: Array<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '—' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n') + '\n';
}
