import { createLambdaToolExecutor } from '../../adapters/lambda-tools.js';
import { awsClientOptions, type Env, jsonObjectEnv } from '../../config.js';
import type { ToolExecutor } from '../../core/tool-runner.js';

/**
 * How the tool step runs a tool attempt: in the tool's own function when
 * `TOOL_FUNCTIONS` (tool name → function ARN, set by the construct) is
 * present, else in this process (tests that run the handlers in-process).
 * The Lambda client is built once, with the executor.
 */
export function toolExecutor(env: Env): ToolExecutor | undefined {
  if (!env.TOOL_FUNCTIONS) return undefined;
  const functions = jsonObjectEnv(env, 'TOOL_FUNCTIONS', 'tool → function ARN');
  return createLambdaToolExecutor({ functions, ...awsClientOptions(env, 'AWS_ENDPOINT_URL_LAMBDA') });
}
