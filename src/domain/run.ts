// Progress reporting and cancellation for long work (imports, estimators, cross-validation, exports).

export interface Progress {
  /** Short stage name, e.g. "kernel", "solve", "train", "fold 3/10". */
  stage: string;
  /** Fraction done in [0, 1] over the whole job, when known. */
  fraction?: number;
  /** Seconds still expected, when known. */
  eta?: number;
  message?: string;
  /** Free numeric detail (iteration, loss, ...), for charts. */
  detail?: Record<string, number>;
}

export type ProgressFn = (p: Progress) => void;

export interface RunContext {
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

/** Thrown when work stops because its AbortSignal fired. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Yield to the event loop so that cancellation and progress messages get through during long loops. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Scale a child job's progress into a slice [from, to] of its parent's.
 * Used when a job is made of stages (e.g. kernel then solve, or one fold of many).
 */
export function subProgress(parent: ProgressFn | undefined, from: number, to: number, prefix?: string): ProgressFn | undefined {
  if (!parent) return undefined;
  return (p) =>
    parent({
      ...p,
      stage: prefix ? `${prefix}: ${p.stage}` : p.stage,
      fraction: p.fraction === undefined ? undefined : from + (to - from) * p.fraction,
    });
}
