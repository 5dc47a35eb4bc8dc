import type { ToolAttemptEvent, ToolAttemptResult } from '../../state-machines/contract.js';
import { describeErrors } from '../../state-machines/schema.js';
import type { Tool } from '../../state-machines/tool.js';
import { ValidationError } from './errors.js';

/**
 * One attempt of one tool, inside the tool's own function: the arguments
 * checked again against the schema (this function trusts nobody), the hard
 * timeout enforced with an AbortSignal and a race, the outcome returned as
 * data. Nothing here touches Chaperone's tables: the claim, the result and
 * the trail are the tool step's, in another function with another role.
 */
export async function runToolAttempt(event: ToolAttemptEvent, tool: Tool): Promise<ToolAttemptResult> {
  if (event.tool !== tool.name)
    throw new ValidationError(`this function runs tool ${tool.name}, not ${event.tool}`, '/tool');
  if (!tool.validate(event.args))
    throw new ValidationError(
      `arguments for ${tool.name} are invalid: ${describeErrors(tool.validate.errors)}`,
      '/args',
    );
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`${tool.name} did not answer within ${event.timeoutMs} ms`));
      resolve('timeout');
    }, event.timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      tool
        .run(event.args, {
          signal: controller.signal,
          runId: event.runId,
          idempotencyKey: event.idempotencyKey,
          attempt: event.attempt,
          ...(event.previousError ? { previousError: event.previousError } : {}),
        })
        .then((value) => ({ value })),
      timeout,
    ]);
    if (outcome === 'timeout') {
      return {
        ok: false,
        error: { name: 'ToolTimeoutError', message: `${tool.name} did not answer in time`, timedOut: true },
      };
    }
    // The value crosses a JSON boundary: what is not JSON does not arrive.
    return { ok: true, value: JSON.parse(JSON.stringify(outcome.value ?? null)) as unknown };
  } catch (err) {
    return { ok: false, error: describeFailure(err) };
  } finally {
    clearTimeout(timer);
  }
}

function describeFailure(err: unknown): Extract<ToolAttemptResult, { ok: false }>['error'] {
  if (typeof err !== 'object' || err === null) return { name: 'Error', message: String(err) };
  const e = err as {
    name?: unknown;
    message?: unknown;
    retryable?: unknown;
    status?: unknown;
    statusCode?: unknown;
    retryAfterSeconds?: unknown;
    code?: unknown;
  };
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' && e.message ? e.message : String(e.name ?? 'failed'),
    ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(typeof e.retryAfterSeconds === 'number' ? { retryAfterSeconds: e.retryAfterSeconds } : {}),
  };
}
