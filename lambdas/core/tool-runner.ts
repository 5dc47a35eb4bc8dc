import type { Tool, ToolContext } from '../../state-machines/tool.js';
import type { Clock } from './deps.js';
import { NotJsonError } from './errors.js';
import { notJson } from './json-value.js';

/** One attempt of a tool call, as the trail records it. */
export interface Attempt {
  attempt: number;
  status: 'ok' | 'error' | 'timeout';
  error?: string;
  durationMs: number;
  delayMsBefore: number;
}

export type RunOutcome =
  | { ok: true; value: unknown; attempts: Attempt[] }
  | {
      ok: false;
      error: string;
      retryable: boolean;
      attempts: Attempt[];
      /**
       * The attempt may have had its effect (it timed out, or its function died) and the tool
       * is not idempotent: it was not retried, and nobody may say it failed.
       */
      unknown?: true;
    };

/** A tool attempt that hit its hard timeout. Retryable. */
export class ToolTimeoutError extends Error {
  override readonly name = 'ToolTimeoutError';
  readonly retryable = true;
}

/**
 * Run a tool with a hard timeout per attempt (an AbortSignal the tool can pass
 * on, and a race so a tool that ignores it is still cut off), retrying
 * retryable failures with exponential backoff and full jitter. Each retry is
 * told the previous error. Never throws: failures come back as data.
 */
/**
 * Runs one attempt of a tool: in this process (`tool.run`), or in the tool's
 * own function, fenced in by its own IAM role (`lambda-tools.ts`).
 */
export type ToolExecutor = (tool: Tool, args: unknown, context: ToolContext) => Promise<unknown>;

/** One attempt in this process. */
export const inProcess: ToolExecutor = (tool, args, context) => tool.run(args, context);

export async function runWithRetries(
  tool: Tool,
  args: unknown,
  ctx: { runId: string; idempotencyKey: string; clock: Clock; random?: () => number; execute?: ToolExecutor },
): Promise<RunOutcome> {
  const execute = ctx.execute ?? inProcess;
  const attempts: Attempt[] = [];
  const random = ctx.random ?? Math.random;
  let previousError: string | undefined;
  let delay = 0;
  for (let attempt = 1; attempt <= tool.retry.maxAttempts; attempt++) {
    if (delay > 0) await ctx.clock.sleep(delay);
    const started = ctx.clock.now();
    const controller = new AbortController();
    const timeoutMs = tool.timeoutSeconds * 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ToolTimeoutError(
          `${tool.name} did not answer within its ${tool.timeoutSeconds} s timeout`,
        );
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      const value = await Promise.race([
        execute(tool, args, {
          signal: controller.signal,
          runId: ctx.runId,
          idempotencyKey: ctx.idempotencyKey,
          attempt,
          ...(previousError ? { previousError } : {}),
        }),
        timeout,
      ]);
      const problem = notJson(value);
      // It ran, so it is not run again (NotJsonError is not retryable: its effect, if any, happened,
      // and it would return the same); the catch below records the attempt as any failure.
      if (problem)
        throw new NotJsonError(
          `${tool.name} ran, but its result is not JSON: ${problem} (a tool returns strings, numbers, booleans, null, arrays and plain objects); whatever it did is done, and its result is lost`,
        );
      attempts.push({ attempt, status: 'ok', durationMs: ctx.clock.now() - started, delayMsBefore: delay });
      return { ok: true, value, attempts };
    } catch (err) {
      const message = describe(err);
      const timedOut = err instanceof ToolTimeoutError;
      attempts.push({
        attempt,
        status: timedOut ? 'timeout' : 'error',
        error: message,
        durationMs: ctx.clock.now() - started,
        delayMsBefore: delay,
      });
      previousError = message;
      if (!tool.idempotent && outcomeUnknown(err))
        return { ok: false, error: message, retryable: false, attempts, unknown: true };
      const retryable = isRetryable(err);
      if (!retryable || attempt === tool.retry.maxAttempts)
        return { ok: false, error: message, retryable, attempts };
      const cap = Math.min(tool.retry.maxDelayMs, tool.retry.baseDelayMs * 2 ** (attempt - 1));
      const hinted = retryAfterMs(err);
      delay = Math.max(Math.round(random() * cap), Math.min(hinted ?? 0, tool.retry.maxDelayMs));
    } finally {
      clearTimeout(timer);
    }
  }
  return { ok: false, error: previousError ?? 'no attempt ran', retryable: false, attempts };
}

/**
 * Retryable: timeouts, throttling and server errors. A tool says so with a
 * `retryable` flag or an HTTP-like `status`/`statusCode` on its error.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ToolTimeoutError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as {
    retryable?: unknown;
    status?: unknown;
    statusCode?: unknown;
    name?: unknown;
    code?: unknown;
  };
  if (typeof e.retryable === 'boolean') return e.retryable;
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) return status === 429 || status === 408 || status >= 500;
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  return (
    typeof e.code === 'string' && ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN'].includes(e.code)
  );
}

/**
 * An attempt whose effect is unknown: it hit its hard timeout (the tool may
 * still be acting), or the function running it died or could not answer
 * (`outcomeUnknown` on the error, from `lambda-tools.ts`).
 */
export function outcomeUnknown(err: unknown): boolean {
  if (err instanceof ToolTimeoutError) return true;
  return (
    typeof err === 'object' && err !== null && (err as { outcomeUnknown?: unknown }).outcomeUnknown === true
  );
}

function retryAfterMs(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const v = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof v === 'number' && v >= 0 ? v * 1000 : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
