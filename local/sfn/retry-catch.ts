import { StatesError } from './errors.js';
import { isObject } from './types.js';

/**
 * An error raised by the work of a Task (function error, timeout, token
 * failure) or propagated out of a branch: it keeps its cause as is, without
 * the "An error occurred while executing the state" prefix evaluation errors get.
 */
export class TaskError extends StatesError {
  /** Other names Retry/Catch may match this error by. */
  readonly aliases: string[] = [];

  constructor(error: string, cause?: string) {
    super(error, cause);
    this.name = 'TaskError';
  }
}

/** Whether a Retrier's or Catcher's `ErrorEquals` matches an error name. */
export function errorMatches(errorEquals: unknown, error: string, aliases: string[] = []): boolean {
  if (!Array.isArray(errorEquals)) return false;
  // Runtime errors (bad paths, invalid values) end the execution: no Retrier or Catcher applies.
  if (error === 'States.Runtime') return false;
  for (const name of errorEquals) {
    if (name === error || aliases.includes(name)) return true;
    if (name === 'States.ALL') return true;
    if (name === 'States.TaskFailed' && !error.startsWith('States.')) return true;
  }
  return false;
}

/** A retry decision: how long to wait before the next attempt. */
export interface RetryPlan {
  index: number;
  delayMs: number;
}

/**
 * Picks the first Retrier matching `error` that still has attempts left
 * (`counts` holds attempts already used per Retrier) and the delay to wait:
 * IntervalSeconds x BackoffRate^n, capped by MaxDelaySeconds, FULL jitter
 * drawing from `random`.
 */
export function planRetry(
  retriers: unknown,
  error: string,
  aliases: string[],
  counts: number[],
  random: () => number,
): RetryPlan | undefined {
  if (!Array.isArray(retriers)) return undefined;
  for (let i = 0; i < retriers.length; i++) {
    const r = retriers[i];
    if (!isObject(r) || !errorMatches(r.ErrorEquals, error, aliases)) continue;
    const max = typeof r.MaxAttempts === 'number' ? r.MaxAttempts : 3;
    const used = counts[i] ?? 0;
    if (used >= max) return undefined;
    const interval = typeof r.IntervalSeconds === 'number' ? r.IntervalSeconds : 1;
    const backoff = typeof r.BackoffRate === 'number' ? r.BackoffRate : 2;
    let delay = interval * backoff ** used;
    if (typeof r.MaxDelaySeconds === 'number') delay = Math.min(delay, r.MaxDelaySeconds);
    if (r.JitterStrategy === 'FULL') delay = random() * delay;
    return { index: i, delayMs: Math.round(delay * 1000) };
  }
  return undefined;
}

/** The first Catcher matching `error`. */
export function findCatcher(
  catchers: unknown,
  error: string,
  aliases: string[] = [],
): Record<string, unknown> | undefined {
  if (!Array.isArray(catchers)) return undefined;
  for (const c of catchers) if (isObject(c) && errorMatches(c.ErrorEquals, error, aliases)) return c;
  return undefined;
}
