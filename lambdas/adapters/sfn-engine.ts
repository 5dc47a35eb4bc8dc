import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { EngineThrottledError } from '../core/errors.js';
import type { WorkflowEngine } from '../core/ports.js';
import { throttleAs } from './aws-errors.js';

/** Step Functions through the real SDK client (endpoint override: the local runtime). */
export function createSfnEngine(options: { region?: string; endpoint?: string }): WorkflowEngine {
  const sfn = new SFNClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: 3,
  });
  const send: typeof sfn.send = ((command: Parameters<typeof sfn.send>[0]) =>
    throttleAs(EngineThrottledError, 'Step Functions', () => sfn.send(command))) as typeof sfn.send;
  return {
    async startExecution(stateMachineArn, name, input) {
      try {
        const out = await send(new StartExecutionCommand({ stateMachineArn, name, input }));
        return out.executionArn ?? '';
      } catch (err) {
        // Same name: the execution exists already (a retried request). Resolve its ARN.
        if ((err as { name?: string }).name === 'ExecutionAlreadyExists') {
          return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
        }
        throw err;
      }
    },
    async describeExecution(executionArn) {
      try {
        const out = await send(new DescribeExecutionCommand({ executionArn }));
        return {
          status: out.status ?? 'UNKNOWN',
          ...(out.error ? { error: out.error } : {}),
          ...(out.cause ? { cause: out.cause } : {}),
        };
      } catch (err) {
        if ((err as { name?: string }).name === 'ExecutionDoesNotExist') return undefined;
        throw err;
      }
    },
    async redriveExecution(executionArn) {
      try {
        const out = await send(new RedriveExecutionCommand({ executionArn }));
        return { redriveDate: (out.redriveDate ?? new Date()).toISOString() };
      } catch (err) {
        if ((err as { name?: string }).name === 'ExecutionNotRedrivable')
          return { refused: (err as Error).message };
        throw err;
      }
    },
    async sendTaskSuccess(taskToken, output) {
      await send(new SendTaskSuccessCommand({ taskToken, output }));
    },
    async sendTaskFailure(taskToken, error, cause) {
      await send(new SendTaskFailureCommand({ taskToken, error, cause }));
    },
    async historyFigures(executionArn) {
      const types: string[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const page = await send(
            new GetExecutionHistoryCommand({
              executionArn,
              maxResults: 1000,
              includeExecutionData: false,
              ...(nextToken ? { nextToken } : {}),
            }),
          );
          for (const e of page.events ?? []) types.push(e.type ?? '');
          nextToken = page.nextToken;
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
