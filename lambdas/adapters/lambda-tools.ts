import type { ToolAttemptEvent, ToolAttemptResult } from '../../state-machines/contract.js';
import { ConfigError } from '../config-error.js';
import { type ToolExecutor, ToolTimeoutError } from '../core/tool-runner.js';
import { isAwsThrottle } from './aws-errors.js';
import { AwsRequester, type AwsResponse, regionalEndpoint, serviceErrorName } from './aws-request.js';

/**
 * Runs each tool attempt in the tool's own Lambda function (`functions`:
 * tool name → function ARN), so the tool's code holds only the permissions
 * granted to it and never the tool step's. A failure comes back with what
 * says whether a retry can help; a function that crashed or timed out, or a
 * throttled invoke, is retryable by the tool step's own retry policy.
 *
 * The call is Lambda's `Invoke` (`POST /2015-03-31/functions/{name}/invocations`,
 * RequestResponse) signed and sent as the SDK's `LambdaClient` sends it, over
 * the shared transport (`aws-request.ts`): one operation does not justify the
 * client's ~190 KB in the tool step's bundle. It is sent once (the tool step
 * owns retries); the attempt's abort signal cancels it.
 */
export function createLambdaToolExecutor(options: {
  functions: Readonly<Record<string, string>>;
  region?: string;
  endpoint?: string;
}): ToolExecutor {
  const region = options.region ?? process.env.AWS_REGION;
  if (!region) throw new ConfigError('the tool executor needs a region (AWS_REGION)');
  const lambda = new AwsRequester({
    service: 'lambda',
    region,
    endpoint: options.endpoint ? new URL(options.endpoint) : regionalEndpoint('lambda', region),
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
    let out: InvokeOutput;
    try {
      out = invokeOutput(
        await lambda.request({
          method: 'POST',
          path: `/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`,
          headers: { 'content-type': 'application/octet-stream' },
          body: JSON.stringify(event),
          signal: context.signal,
        }),
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
    const text = out.payload;
    if (out.functionError) {
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

interface InvokeOutput {
  payload: string;
  /** `Unhandled` (the function crashed, ran out of memory or timed out) or `Handled`. */
  functionError: string | undefined;
}

/** An answer of `Invoke`: the payload of a 200, or the service's error, named as the SDK names it. */
function invokeOutput(res: AwsResponse): InvokeOutput {
  const payload = res.body.toString('utf8');
  if (res.status >= 200 && res.status < 300) {
    const fe = res.headers['x-amz-function-error'];
    return { payload, functionError: typeof fe === 'string' && fe ? fe : undefined };
  }
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(payload);
    if (parsed && typeof parsed === 'object') fields = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: named from the header or the status.
  }
  const { name, message } = serviceErrorName(res, fields, 'Lambda');
  throw Object.assign(new Error(message), { name, $metadata: { httpStatusCode: res.status } });
}
