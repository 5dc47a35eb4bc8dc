/**
 * Shapes shared across the local Step Functions interpreter: the loose ASL
 * definition types it reads, the clock it runs on and the logger it accepts.
 */

/** One state of an Amazon States Language definition, as parsed JSON. */
export type StateDef = Record<string, unknown> & { Type: string };

/** A state machine or a branch / item processor: `StartAt` plus `States`. */
export interface MachineDef {
  StartAt: string;
  States: Record<string, StateDef>;
  QueryLanguage?: 'JSONata' | 'JSONPath';
  TimeoutSeconds?: number;
  Comment?: string;
}

/** The query language a state is evaluated with. */
export type QueryLanguage = 'JSONata' | 'JSONPath';

/**
 * Time source for the interpreter. Tests inject a manual or virtual clock so
 * that Wait, Retry and timeouts never sleep for real.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` on this clock; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Optional sink for diagnostics; library code never writes to the console. */
export interface Logger {
  debug?(message: string, data?: Record<string, unknown>): void;
  warn?(message: string, data?: Record<string, unknown>): void;
  error?(message: string, data?: Record<string, unknown>): void;
}

/** Returns true for plain JSON objects (not arrays, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
