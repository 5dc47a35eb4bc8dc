import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError } from '../errors.js';
import type { ExecutionRun } from '../execution.js';
import type { LambdaOutcome } from '../lambda-invoker.js';

/** What happened to one Lambda invocation attempt. */
export type InvokeResult =
  | { kind: 'ok'; payload: unknown }
  | { kind: 'error'; error: string; cause: string }
  | { kind: 'timeout' };

/** AWS's cause text for a function error. */
export function functionErrorCause(outcome: Extract<LambdaOutcome, { ok: false }>): string {
  if (outcome.errorType.startsWith('Lambda.')) return outcome.errorMessage;
  return JSON.stringify({
    errorMessage: outcome.errorMessage,
    errorType: outcome.errorType,
    requestId: randomUUID(),
    stackTrace: outcome.stackTrace ?? [],
  });
}

/** The Lambda Invoke API response Step Functions returns from `lambda:invoke`. */
export function invokeResponse(payload: unknown, withLog = false): Record<string, unknown> {
  const requestId = randomUUID();
  const log = withLog
    ? {
        LogResult: Buffer.from(
          `START RequestId: ${requestId} Version: $LATEST\nEND RequestId: ${requestId}\n`,
        ).toString('base64'),
      }
    : {};
  return {
    ...log,
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: {
        'X-Amz-Executed-Version': ['$LATEST'],
        'x-amzn-Remapped-Content-Length': ['0'],
        Connection: ['keep-alive'],
        'x-amzn-RequestId': [requestId],
        'Content-Type': ['application/json'],
      },
      HttpHeaders: {
        Connection: 'keep-alive',
        'Content-Type': 'application/json',
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-Remapped-Content-Length': '0',
        'x-amzn-RequestId': requestId,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

/**
 * Invokes a function, racing it against the task deadline (epoch ms). The
 * invocation is aborted when the deadline passes or the frame aborts.
 */
export async function invokeWithDeadline(
  exec: ExecutionRun,
  fn: string,
  payload: unknown,
  deadline: number | undefined,
  signal: AbortSignal,
): Promise<InvokeResult> {
  const { clock, invoker } = exec.deps;
  const local = new AbortController();
  const onAbort = (): void => local.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let settled = false;
  try {
    // Payloads cross the boundary as JSON, as they do over the Lambda API.
    const call = Promise.resolve()
      .then(() => invoker.invoke(fn, asJson(payload), { signal: local.signal }))
      .then(
        (o): InvokeResult =>
          o.ok
            ? { kind: 'ok', payload: asJson(o.payload) }
            : { kind: 'error', error: o.errorType, cause: functionErrorCause(o) },
        (err: unknown): InvokeResult => {
          const e = err instanceof Error ? err : new Error(String(err));
          return { kind: 'error', error: 'Lambda.Unknown', cause: e.message };
        },
      )
      .finally(() => {
        settled = true;
      });
    const racers: Promise<InvokeResult>[] = [call];
    if (deadline !== undefined) {
      racers.push(
        clock.sleep(Math.max(0, deadline - clock.now()), local.signal).then(
          (): InvokeResult => ({ kind: 'timeout' }),
          () => new Promise<InvokeResult>(() => undefined),
        ),
      );
    }
    const result = await Promise.race(racers);
    if (signal.aborted) throw signal.reason ?? new ExecutionAbortedError('closed');
    return result;
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Stops an invocation still running (timed out) and the deadline's timer. The reason of an
    // invocation that ended is a shared one: an Error per invoke (its stack) cost ~1% of the loop.
    local.abort(
      settled
        ? INVOCATION_ENDED
        : new Error('the invocation was abandoned: its task timed out or was stopped'),
    );
  }
}

/** Why the signal of an invocation that has ended is aborted (its deadline's timer still listens). */
const INVOCATION_ENDED = new Error('done');

/** A JSON copy of a value (`undefined` becomes `null`). */
function asJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
