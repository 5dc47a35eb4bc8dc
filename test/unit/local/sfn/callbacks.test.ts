import { afterEach, describe, expect, it } from 'vitest';
import { SfnApiError } from '../../../../local/sfn/errors.js';
import type { CallbackMessage, LocalStepFunctions } from '../../../../local/sfn/index.js';
import { makeSfn } from './helpers.js';

let sfn: LocalStepFunctions;
afterEach(async () => {
  await sfn?.close();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SfnApiError ? err.code : String(err);
  }
  return undefined;
}

const approvalMachine = {
  QueryLanguage: 'JSONata',
  StartAt: 'Ask',
  States: {
    Ask: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Arguments: {
        FunctionName: 'request',
        Payload: { token: '{% $states.context.Task.Token %}', what: '{% $states.input.what %}' },
      },
      HeartbeatSeconds: 60,
      End: true,
    },
  },
};

describe('task tokens', () => {
  it('completes a lambda:invoke.waitForTaskToken task with SendTaskSuccess and refuses the token afterwards', async () => {
    const tokens: string[] = [];
    ({ sfn } = makeSfn({ request: (e) => void tokens.push((e as { token: string }).token) }));
    sfn.registerStateMachine(sfn.stateMachineArn('a'), approvalMachine);
    const { executionArn } = sfn.startExecution({
      stateMachineArn: sfn.stateMachineArn('a'),
      input: '{"what":"deploy"}',
    });
    while (tokens.length === 0) await new Promise((r) => setImmediate(r));

    sfn.sendTaskSuccess({ taskToken: tokens[0] as string, output: '{"approved":true}' });
    const r = await sfn.waitForExecution(executionArn);

    expect(r.status).toBe('SUCCEEDED');
    expect(JSON.parse(r.output ?? '')).toEqual({ approved: true });
    expect(codeOf(() => sfn.sendTaskSuccess({ taskToken: tokens[0] as string, output: '{}' }))).toBe(
      'TaskTimedOut',
    );
  });

  it('fails the task with the error and cause of SendTaskFailure', async () => {
    const tokens: string[] = [];
    ({ sfn } = makeSfn({ request: (e) => void tokens.push((e as { token: string }).token) }));
    sfn.registerStateMachine(sfn.stateMachineArn('a'), approvalMachine);
    const { executionArn } = sfn.startExecution({
      stateMachineArn: sfn.stateMachineArn('a'),
      input: '{"what":"x"}',
    });
    while (tokens.length === 0) await new Promise((r) => setImmediate(r));

    sfn.sendTaskFailure({ taskToken: tokens[0] as string, error: 'Rejected', cause: 'no' });
    const r = await sfn.waitForExecution(executionArn);

    expect([r.status, r.error, r.cause]).toEqual(['FAILED', 'Rejected', 'no']);
  });

  it('tells a malformed token from an unknown one', () => {
    ({ sfn } = makeSfn());

    expect(codeOf(() => sfn.sendTaskSuccess({ taskToken: '!!not a token!!', output: '{}' }))).toBe(
      'InvalidToken',
    );
    expect(
      codeOf(() => sfn.sendTaskHeartbeat({ taskToken: Buffer.from('["x","y","z"]').toString('base64url') })),
    ).toBe('TaskDoesNotExist');
  });

  it('delivers SQS waitForTaskToken messages to the callback consumer, and heartbeats keep the task alive', async () => {
    const messages: CallbackMessage[] = [];
    ({ sfn } = makeSfn({}, { onCallback: (m) => void messages.push(m) }));
    const def = {
      StartAt: 'Send',
      States: {
        Send: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          HeartbeatSeconds: 5,
          Parameters: {
            QueueUrl: 'https://sqs/q',
            MessageBody: { 'TaskToken.$': '$$.Task.Token', 'n.$': '$.n' },
          },
          End: true,
        },
      },
    };
    sfn.registerStateMachine(sfn.stateMachineArn('q'), def);
    const { executionArn } = sfn.startExecution({
      stateMachineArn: sfn.stateMachineArn('q'),
      input: '{"n":1}',
    });
    while (messages.length === 0) await new Promise((r) => setImmediate(r));
    const body = (messages[0] as CallbackMessage).parameters as {
      MessageBody: { TaskToken: string; n: number };
    };
    const { MessageBody: msg } = body;

    sfn.sendTaskHeartbeat({ taskToken: msg.TaskToken });
    sfn.sendTaskSuccess({ taskToken: msg.TaskToken, output: JSON.stringify({ got: msg.n }) });
    const r = await sfn.waitForExecution(executionArn);

    expect(messages[0]?.transport).toBe('sqs');
    expect(JSON.parse(r.output ?? '')).toEqual({ got: 1 });
  });

  it('fails an unanswered task after HeartbeatSeconds with States.Timeout, still catchable as States.HeartbeatTimeout', async () => {
    ({ sfn } = makeSfn({ request: () => null }));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'Ask',
      States: {
        Ask: {
          ...approvalMachine.States.Ask,
          End: undefined,
          Next: 'Done',
          Catch: [
            { ErrorEquals: ['States.HeartbeatTimeout'], Output: '{% $states.errorOutput %}', Next: 'Done' },
          ],
        },
        Done: { Type: 'Succeed' },
      },
    };
    sfn.registerStateMachine(sfn.stateMachineArn('hb'), def);
    const { executionArn } = sfn.startExecution({
      stateMachineArn: sfn.stateMachineArn('hb'),
      input: '{"what":"x"}',
    });

    const r = await sfn.waitForExecution(executionArn);

    expect(r.status).toBe('SUCCEEDED');
    expect(JSON.parse(r.output ?? '')).toEqual({ Error: 'States.Timeout', Cause: '' });
  });
});
