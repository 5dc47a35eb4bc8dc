import { ConfigError } from '../config-error.js';
import { EngineThrottledError } from '../core/errors.js';
import { executionArnOf, type WorkflowEngine } from '../core/ports.js';
import { throttleAs } from './aws-errors.js';
import { AwsJsonProtocol, type AwsMetadata, AwsServiceError } from './aws-json.js';
import { AwsRequester, type AwsResponse, regionalEndpoint, serviceErrorName } from './aws-request.js';

/** An error Step Functions answered, named as the SDK names it (`ExecutionAlreadyExists`, …). */
function serviceError(res: AwsResponse, metadata: AwsMetadata): AwsServiceError {
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(res.body.toString('utf8'));
    if (parsed && typeof parsed === 'object') fields = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): the status alone names it.
  }
  const { name, message } = serviceErrorName(res, fields, 'Step Functions');
  return new AwsServiceError(name, message, metadata);
}

/**
 * Step Functions' JSON API (AWS JSON 1.0, `AWSStepFunctions.<Operation>`),
 * spoken over the shared transport (`aws-request.ts`) with the SDK's standard
 * retries (`aws-json.ts`, 3 attempts as the SDK client had): the six
 * operations the handlers call do not justify `@aws-sdk/client-sfn`'s
 * middleware stack and serde in the api, approval and finish bundles. The
 * local runtime serves the same protocol (`local/sfn/api-server.ts`), and the
 * CLI and the tests keep the SDK client against it.
 */
export function createSfnEngine(options: { region?: string; endpoint?: string }): WorkflowEngine {
  const region = options.region ?? process.env.AWS_REGION;
  if (!region) throw new ConfigError('the Step Functions client needs a region (AWS_REGION)');
  const http = new AwsRequester({
    service: 'states',
    region,
    endpoint: options.endpoint ? new URL(options.endpoint) : regionalEndpoint('states', region),
  });
  const protocol = new AwsJsonProtocol(http, { maxAttempts: 3, toError: serviceError });
  const send = (operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> =>
    throttleAs(EngineThrottledError, 'Step Functions', async () => {
      // As a value (a fresh copy per attempt): an in-process endpoint takes it unencoded.
      const { res } = await protocol.post(`AWSStepFunctions.${operation}`, () => ({ ...input }));
      const text = res.value === undefined ? res.body.toString('utf8') : undefined;
      const parsed: unknown = text === undefined ? res.value : text ? JSON.parse(text) : {};
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    });
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    async startExecution(stateMachineArn, name, input) {
      try {
        const out = await send('StartExecution', { stateMachineArn, name, input });
        return text(out.executionArn) ?? '';
      } catch (err) {
        // Same name: the execution exists already (a retried request). Resolve its ARN.
        if ((err as { name?: string }).name === 'ExecutionAlreadyExists') {
          return executionArnOf(stateMachineArn, name);
        }
        throw err;
      }
    },
    async describeExecution(executionArn) {
      try {
        const out = await send('DescribeExecution', { executionArn });
        const error = text(out.error);
        const cause = text(out.cause);
        return {
          status: text(out.status) ?? 'UNKNOWN',
          ...(error ? { error } : {}),
          ...(cause ? { cause } : {}),
        };
      } catch (err) {
        if ((err as { name?: string }).name === 'ExecutionDoesNotExist') return undefined;
        throw err;
      }
    },
    async redriveExecution(executionArn) {
      try {
        const out = await send('RedriveExecution', { executionArn });
        // AWS JSON 1.0 carries timestamps as epoch seconds.
        const at = typeof out.redriveDate === 'number' ? new Date(out.redriveDate * 1000) : new Date();
        return { redriveDate: at.toISOString() };
      } catch (err) {
        if ((err as { name?: string }).name === 'ExecutionNotRedrivable')
          return { refused: (err as Error).message };
        throw err;
      }
    },
    async sendTaskSuccess(taskToken, output) {
      await send('SendTaskSuccess', { taskToken, output });
    },
    async sendTaskFailure(taskToken, error, cause) {
      await send('SendTaskFailure', { taskToken, error, cause });
    },
    async historyFigures(executionArn) {
      const types: string[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const page = await send('GetExecutionHistory', {
            executionArn,
            maxResults: 1000,
            includeExecutionData: false,
            ...(nextToken ? { nextToken } : {}),
          });
          const events = Array.isArray(page.events) ? (page.events as Array<{ type?: unknown }>) : [];
          for (const e of events) types.push(text(e.type) ?? '');
          nextToken = text(page.nextToken);
        } while (nextToken);
      } catch (err) {
        if ((err as { name?: string }).name === 'ExecutionDoesNotExist') return undefined;
        throw err;
      }
      return { events: types.length, transitions: transitionsOf(types) };
    },
  };
}

/**
 * State transitions as Step Functions bills them, from history event types:
 * one per state entered, and one more per retry of a Task (each attempt past
 * the first is a further `TaskScheduled` in the same state).
 */
export function transitionsOf(types: readonly string[]): number {
  let entered = 0;
  let tasksEntered = 0;
  let scheduled = 0;
  for (const t of types) {
    if (t.endsWith('StateEntered')) entered += 1;
    if (t === 'TaskStateEntered') tasksEntered += 1;
    if (t === 'TaskScheduled' || t === 'LambdaFunctionScheduled') scheduled += 1;
  }
  return entered + Math.max(0, scheduled - tasksEntered);
}
