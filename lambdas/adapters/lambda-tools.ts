import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import type { ToolAttemptEvent, ToolAttemptResult } from '../../state-machines/contract.js';
import { ConfigError } from '../config-error.js';
import { type ToolExecutor, ToolTimeoutError } from '../core/tool-runner.js';
import { isAwsThrottle } from './aws-errors.js';

/**
 * Runs each tool attempt in the tool's own Lambda function (`functions`:
 * tool name → function ARN), so the tool's code holds only the permissions
 * granted to it and never the tool step's. A failure comes back with what
 * says whether a retry can help; a function that crashed or timed out, or a
 * throttled invoke, is retryable by the tool step's own retry policy.
 */
export function createLambdaToolExecutor(options: {
  functions: Readonly<Record<string, string>>;
  region?: string;
  endpoint?: string;
}): ToolExecutor {
  const lambda = new LambdaClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // One owner per retry: the tool step retries attempts itself, with backoff.
    maxAttempts: 1,
  });
  return async (tool, args, context) => {
    const fn = options.functions[tool.name];
    if (!fn) throw new ConfigError(`tool ${tool.name} has no function in TOOL_FUNCTIONS`);
    const event: ToolAttemptEvent = {
      tool: tool.name,
      args,
      runId: context.runId,
      idempotencyKey: context.idempotencyKey,
      attempt: context.attempt,
      ...(context.previousError ? { previousError: context.previousError } : {}),
      timeoutMs: tool.timeoutSeconds * 1000,
    };
    let out: InvokeCommandOutput;
    try {
      out = await lambda.send(
        new InvokeCommand({ FunctionName: fn, Payload: new TextEncoder().encode(JSON.stringify(event)) }),
        { abortSignal: context.signal },
      );
    } catch (err) {
      if (context.signal.aborted) throw err;
      // A throttled invoke never ran the function; any other failure may have reached it.
      if (isAwsThrottle(err))
        throw retryable(
          'ToolFunctionThrottled',
          `the function of ${tool.name} was throttled: ${(err as Error).message}`,
        );
      throw unknownOutcome(
        'ToolFunctionUnavailable',
        `the function of ${tool.name} did not answer: ${(err as Error).message}`,
      );
    }
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      // The function itself failed (crashed, out of memory, timed out) after it may have acted: an
      // idempotent tool is retried, any other goes to a human (tool-step.ts).
      throw unknownOutcome(
        'ToolFunctionError',
        `the function of ${tool.name} failed: ${text.slice(0, 1000)}`,
      );
    }
    const result = JSON.parse(text) as ToolAttemptResult;
    if (result.ok) return result.value;
    if (result.error.timedOut) throw new ToolTimeoutError(result.error.message);
    throw Object.assign(new Error(result.error.message), {
      name: result.error.name,
      ...(result.error.retryable !== undefined ? { retryable: result.error.retryable } : {}),
      ...(result.error.status !== undefined ? { status: result.error.status } : {}),
      ...(result.error.retryAfterSeconds !== undefined
        ? { retryAfterSeconds: result.error.retryAfterSeconds }
        : {}),
    });
  };
}

function retryable(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, retryable: true });
}

/** A failure after which the tool may or may not have acted. */
function unknownOutcome(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, retryable: true, outcomeUnknown: true });
}
