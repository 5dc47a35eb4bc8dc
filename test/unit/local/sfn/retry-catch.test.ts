import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../local/sfn/clock.js';
import type { LocalStepFunctions } from '../../../../local/sfn/index.js';
import { fnArn, makeSfn, runToEnd } from './helpers.js';

let sfn: LocalStepFunctions;
afterEach(async () => {
  await sfn?.close();
});

class ThrottledError extends Error {
  override name = 'ThrottledError';
}

describe('Retry, Catch and timeouts', () => {
  it('retries with IntervalSeconds x BackoffRate capped by MaxDelaySeconds, then succeeds', async () => {
    const clock = new ManualClock();
    const calls: number[] = [];
    ({ sfn } = makeSfn(
      {
        flaky: (e) => {
          calls.push(clock.now());
          if (calls.length < 4) throw new ThrottledError('slow down');
          return e;
        },
      },
      { clock },
    ));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: fnArn('flaky'),
          Retry: [
            {
              ErrorEquals: ['ThrottledError'],
              IntervalSeconds: 2,
              BackoffRate: 3,
              MaxAttempts: 5,
              MaxDelaySeconds: 10,
            },
          ],
          End: true,
        },
      },
    };
    sfn.registerStateMachine(sfn.stateMachineArn('r'), def);
    const { executionArn } = sfn.startExecution({
      stateMachineArn: sfn.stateMachineArn('r'),
      input: '{"ok":true}',
    });

    for (let i = 0; i < 10; i++) await clock.advance(10_000);
    const r = await sfn.waitForExecution(executionArn);

    expect(r.status).toBe('SUCCEEDED');
    const gaps = calls.slice(1).map((t, i) => t - (calls[i] as number));
    expect(gaps).toEqual([2000, 6000, 10000]);
  });

  it('surfaces a Lambda function error with its errorType and AWS-shaped cause, and Catch sees it', async () => {
    ({ sfn } = makeSfn({
      boom: () => {
        throw new ThrottledError('too many');
      },
    }));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Arguments: { FunctionName: 'boom', Payload: {} },
          Catch: [
            {
              ErrorEquals: ['States.TaskFailed'],
              Assign: { err: '{% $states.errorOutput.Error %}' },
              Next: 'Show',
            },
          ],
          End: true,
        },
        Show: { Type: 'Pass', Output: { err: '{% $err %}', input: '{% $states.input %}' }, End: true },
      },
    };

    const r = await runToEnd(sfn, def);

    const out = r.parsedOutput as { err: string; input: { Error: string; Cause: string } };
    expect(out.err).toBe('ThrottledError');
    expect(JSON.parse(out.input.Cause)).toMatchObject({
      errorType: 'ThrottledError',
      errorMessage: 'too many',
    });
    expect(Object.keys(JSON.parse(out.input.Cause))).toEqual([
      'errorMessage',
      'errorType',
      'requestId',
      'stackTrace',
    ]);
  });

  it('reports a missing function as Lambda.ResourceNotFoundException', async () => {
    ({ sfn } = makeSfn());
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Arguments: { FunctionName: 'ghost', Payload: {} },
          End: true,
        },
      },
    };

    const r = await runToEnd(sfn, def);

    expect(r.error).toBe('Lambda.ResourceNotFoundException');
    expect(r.cause).toContain(
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:ghost:$LATEST',
    );
  });

  it('times a Task out after TimeoutSeconds given as a JSONata expression', async () => {
    ({ sfn } = makeSfn({
      hang: (_e, signal) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    }));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: fnArn('hang'), TimeoutSeconds: '{% $states.input.t %}', End: true },
      },
    };

    const r = await runToEnd(sfn, def, { t: 30 });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('States.Timeout');
    expect((r.stopDate?.getTime() ?? 0) - (r.startDate?.getTime() ?? 0)).toBe(30_000);
  });

  it('returns the Lambda Invoke response shape from lambda:invoke', async () => {
    ({ sfn } = makeSfn({ id: (e) => e }));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Arguments: { FunctionName: fnArn('id'), Payload: { a: 1 } },
          End: true,
        },
      },
    };

    const r = await runToEnd(sfn, def);

    expect(r.parsedOutput).toMatchObject({ ExecutedVersion: '$LATEST', Payload: { a: 1 }, StatusCode: 200 });
    expect(r.parsedOutput).toHaveProperty('SdkHttpMetadata');
    expect(r.parsedOutput).toHaveProperty('SdkResponseMetadata');
  });

  it('times the whole execution out after its TimeoutSeconds', async () => {
    ({ sfn } = makeSfn());
    const def = {
      QueryLanguage: 'JSONata',
      TimeoutSeconds: 5,
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 60, End: true } },
    };

    const r = await runToEnd(sfn, def);

    expect(r.status).toBe('TIMED_OUT');
  });
});
