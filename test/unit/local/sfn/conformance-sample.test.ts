import { describe, expect, it } from 'vitest';
import { type ConformanceCase, parseCase, runCase } from '../../../../local/conformance/run-case.js';

const fn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

function sample(
  c: Partial<ConformanceCase> & Pick<ConformanceCase, 'id' | 'definition' | 'expected'>,
): ConformanceCase {
  const parsed = parseCase({ queryLanguage: 'JSONata', features: [], input: {}, fakeLambdas: {}, ...c });
  if (!parsed) throw new Error('invalid sample case');
  return parsed;
}

describe('conformance runner on hand-written cases', () => {
  it('passes a JSONata case whose output matches', async () => {
    const c = sample({
      id: 'sample/jsonata-output',
      definition: {
        QueryLanguage: 'JSONata',
        StartAt: 'P',
        States: { P: { Type: 'Pass', Output: '{% $states.input.a * 2 %}', End: true } },
      },
      input: { a: 21 },
      expected: { status: 'SUCCEEDED', output: 42 },
    });

    const r = await runCase(c, 5000);

    expect(r).toEqual({ id: c.id, pass: true });
  });

  it('reports a mismatch with the path that differs', async () => {
    const c = sample({
      id: 'sample/mismatch',
      definition: {
        QueryLanguage: 'JSONata',
        StartAt: 'P',
        States: { P: { Type: 'Pass', Output: { a: 1 }, End: true } },
      },
      expected: { status: 'SUCCEEDED', output: { a: 2 } },
    });

    const r = await runCase(c, 5000);

    expect(r.pass).toBe(false);
    expect(r.reason).toContain('$.a');
  });

  it('compares a Lambda error cause on errorType and errorMessage only', async () => {
    const c = sample({
      id: 'sample/lambda-error',
      queryLanguage: 'JSONPath',
      definition: {
        StartAt: 'T',
        States: { T: { Type: 'Task', Resource: fn('fn_raise_exception'), End: true } },
      },
      fakeLambdas: { fn_raise_exception: 'raise_exception' },
      expected: {
        status: 'FAILED',
        error: 'Exception',
        cause: {
          errorMessage: 'Some exception was raised.',
          errorType: 'Exception',
          requestId: '<uuid:1>',
          stackTrace: ['python trace'],
        },
      },
      normalised: ['<uuid:1>'],
    });

    expect(await runCase(c, 5000)).toEqual({ id: c.id, pass: true });
  });

  it('runs a slow Lambda into its TimeoutSeconds on the virtual clock, without real waiting', async () => {
    const c = sample({
      id: 'sample/timeout',
      definition: {
        QueryLanguage: 'JSONata',
        StartAt: 'T',
        States: { T: { Type: 'Task', Resource: fn('fn_wait_60_seconds'), TimeoutSeconds: 5, End: true } },
      },
      fakeLambdas: { fn_wait_60_seconds: 'wait_60_seconds' },
      expected: { status: 'FAILED', error: 'States.Timeout' },
    });
    const started = Date.now();

    const r = await runCase(c, 5000);

    expect(r).toEqual({ id: c.id, pass: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('plays the callback consumer: heartbeats, then SendTaskSuccess with the message body', async () => {
    const c = sample({
      id: 'sample/callback',
      queryLanguage: 'JSONPath',
      definition: {
        StartAt: 'Send',
        States: {
          Send: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
            HeartbeatSeconds: 5,
            Parameters: {
              QueueUrl: 'q',
              MessageBody: { 'Message.$': '$.m', 'TaskToken.$': '$$.Task.Token' },
            },
            End: true,
          },
        },
      },
      input: { m: 'hi' },
      callback: {
        actions: [
          { call: 'SendTaskHeartbeat', times: 3 },
          { call: 'SendTaskSuccess', outputRule: 'the message body' },
        ],
      },
      expected: { status: 'SUCCEEDED', output: { Message: 'hi', TaskToken: '<task_token:1>' } },
      normalised: ['<task_token:1>'],
    });

    expect(await runCase(c, 5000)).toEqual({ id: c.id, pass: true });
  });
});
