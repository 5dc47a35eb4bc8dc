import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../../local/sfn/clock.js';
import { LocalStepFunctions, MapLambdaInvoker, startSfnApiServer } from '../../../../local/sfn/index.js';

let sfn: LocalStepFunctions;
let server: { url: string; close(): Promise<void> };
let client: SFNClient;
const tokens: string[] = [];
const smArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:approval';

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).name;
  }
  return 'no error';
}

async function nextToken(count: number): Promise<string> {
  while (tokens.length < count) await new Promise((r) => setTimeout(r, 5));
  return tokens[count - 1] as string;
}

beforeAll(async () => {
  sfn = new LocalStepFunctions({
    invoker: new MapLambdaInvoker({ request: (e) => void tokens.push((e as { token: string }).token) }),
    clock: new VirtualClock(),
  });
  sfn.registerStateMachine(smArn, {
    QueryLanguage: 'JSONata',
    StartAt: 'Ask',
    States: {
      Ask: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Arguments: { FunctionName: 'request', Payload: { token: '{% $states.context.Task.Token %}' } },
        Output: { decision: '{% $states.result %}', asked: '{% $states.input %}' },
        End: true,
      },
    },
  });
  server = await startSfnApiServer(sfn);
  client = new SFNClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  await sfn?.close();
});

describe('Step Functions API over HTTP (real SFNClient)', () => {
  it('starts an execution, completes it with SendTaskSuccess and describes it', async () => {
    const start = await client.send(
      new StartExecutionCommand({ stateMachineArn: smArn, name: 'one', input: '{"n":1}' }),
    );
    const token = await nextToken(1);

    await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"ok":true}' }));
    await sfn.waitForExecution(start.executionArn as string);
    const d = await client.send(new DescribeExecutionCommand({ executionArn: start.executionArn }));

    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output ?? '')).toEqual({ decision: { ok: true }, asked: { n: 1 } });
    expect(d.startDate).toBeInstanceOf(Date);
  });

  it('is idempotent on name + input and refuses the same name with other input', async () => {
    const a = await client.send(
      new StartExecutionCommand({ stateMachineArn: smArn, name: 'idem', input: '{"n":2}' }),
    );
    const b = await client.send(
      new StartExecutionCommand({ stateMachineArn: smArn, name: 'idem', input: '{"n":2}' }),
    );

    expect(b.executionArn).toBe(a.executionArn);
    expect(
      await errorName(
        client.send(new StartExecutionCommand({ stateMachineArn: smArn, name: 'idem', input: '{"n":3}' })),
      ),
    ).toBe('ExecutionAlreadyExists');
    const token = await nextToken(2);
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'by test' }));
    const d = await sfn.waitForExecution(a.executionArn as string);
    expect([d.status, d.error, d.cause]).toEqual(['FAILED', 'Rejected', 'by test']);
  });

  it('pages history, in reverse too', async () => {
    const list = await client.send(
      new ListExecutionsCommand({ stateMachineArn: smArn, statusFilter: 'SUCCEEDED' }),
    );
    const arn = list.executions?.[0]?.executionArn as string;

    const page1 = await client.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 3 }));
    const page2 = await client.send(
      new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 100, nextToken: page1.nextToken }),
    );
    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true }),
    );
    const bare = await client.send(
      new GetExecutionHistoryCommand({ executionArn: arn, includeExecutionData: false }),
    );

    expect(list.executions?.map((e) => e.name)).toEqual(['one']);
    expect(page1.events?.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(page1.events?.[0]?.type).toBe('ExecutionStarted');
    expect(page1.events?.[0]?.timestamp).toBeInstanceOf(Date);
    expect(page2.events?.[0]?.id).toBe(4);
    expect(page2.nextToken).toBeUndefined();
    expect(reversed.events?.[0]?.type).toBe('ExecutionSucceeded');
    expect(bare.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
    expect(page1.events?.[0]?.executionStartedEventDetails?.input).toBe('{"n":1}');
  });

  it('stops a running execution', async () => {
    const s = await client.send(
      new StartExecutionCommand({ stateMachineArn: smArn, name: 'stopme', input: '{}' }),
    );
    const token = await nextToken(3);

    await client.send(
      new StopExecutionCommand({ executionArn: s.executionArn, error: 'Cancelled', cause: 'user' }),
    );
    const d = await client.send(new DescribeExecutionCommand({ executionArn: s.executionArn }));

    expect([d.status, d.error]).toEqual(['ABORTED', 'Cancelled']);
    expect(await errorName(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).toBe(
      'TaskTimedOut',
    );
  });

  it('surfaces AWS error names through the SDK', async () => {
    const missingExec = 'arn:aws:states:us-east-1:000000000000:execution:approval:nope';
    const wellFormedUnknown = Buffer.from(JSON.stringify(['x', 'y', 'z'])).toString('base64url');

    expect(await errorName(client.send(new DescribeExecutionCommand({ executionArn: missingExec })))).toBe(
      'ExecutionDoesNotExist',
    );
    expect(
      await errorName(client.send(new StartExecutionCommand({ stateMachineArn: `${smArn}-missing` }))),
    ).toBe('StateMachineDoesNotExist');
    expect(
      await errorName(client.send(new StartExecutionCommand({ stateMachineArn: smArn, input: '{not json' }))),
    ).toBe('InvalidExecutionInput');
    expect(
      await errorName(client.send(new StartExecutionCommand({ stateMachineArn: smArn, name: 'bad name!' }))),
    ).toBe('InvalidName');
    expect(
      await errorName(client.send(new SendTaskSuccessCommand({ taskToken: 'not a token', output: '{}' }))),
    ).toBe('InvalidToken');
    expect(
      await errorName(
        client.send(new SendTaskSuccessCommand({ taskToken: wellFormedUnknown, output: '{}' })),
      ),
    ).toBe('TaskDoesNotExist');
    expect(
      await errorName(
        client.send(new SendTaskSuccessCommand({ taskToken: tokens[0] as string, output: '{}' })),
      ),
    ).toBe('TaskTimedOut');
  });

  it('creates, lists and describes state machines', async () => {
    const definition = JSON.stringify({
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: { P: { Type: 'Pass', Output: 42, End: true } },
    });

    const created = await client.send(
      new CreateStateMachineCommand({
        name: 'answer',
        definition,
        roleArn: 'arn:aws:iam::000000000000:role/x',
      }),
    );
    const listed = await client.send(new ListStateMachinesCommand({}));
    const described = await client.send(
      new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
    );
    const bad = await errorName(
      client.send(
        new CreateStateMachineCommand({
          name: 'broken',
          definition: '{"StartAt":"X","States":{}}',
          roleArn: 'r',
        }),
      ),
    );

    expect(listed.stateMachines?.map((m) => m.name).sort()).toEqual(['answer', 'approval']);
    expect(described.definition).toBe(definition);
    expect(bad).toBe('InvalidDefinition');
  });
});
