import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStepFunctions } from '../../../../local/sfn/index.js';
import { fnArn, makeSfn, runToEnd } from './helpers.js';

let sfn: LocalStepFunctions;
afterEach(async () => {
  await sfn?.close();
});

describe('Map and Parallel', () => {
  it('lets iterations read outer variables while their own assignments stay inside', async () => {
    ({ sfn } = makeSfn());
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Assign: { factor: 10, leaked: 'no' }, Next: 'Each' },
        Each: {
          Type: 'Map',
          Items: '{% $states.input.items %}',
          ItemSelector: {
            v: '{% $states.context.Map.Item.Value %}',
            i: '{% $states.context.Map.Item.Index %}',
          },
          ItemProcessor: {
            StartAt: 'Mul',
            States: {
              Mul: {
                Type: 'Pass',
                Assign: { leaked: 'yes' },
                Output: '{% $states.input.v * $factor + $states.input.i %}',
                End: true,
              },
            },
          },
          Output: { results: '{% $states.result %}', leaked: '{% $leaked %}' },
          End: true,
        },
      },
    };

    const r = await runToEnd(sfn, def, { items: [1, 2, 3] });

    expect(r.parsedOutput).toEqual({ results: [10, 21, 32], leaked: 'no' });
  });

  it('never runs more than MaxConcurrency iterations at once', async () => {
    let running = 0;
    let peak = 0;
    ({ sfn } = makeSfn({
      slow: async (e) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running--;
        return e;
      },
    }));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          MaxConcurrency: 2,
          ItemProcessor: {
            StartAt: 'T',
            States: { T: { Type: 'Task', Resource: fnArn('slow'), End: true } },
          },
          End: true,
        },
      },
    };

    const r = await runToEnd(sfn, def, [1, 2, 3, 4, 5, 6]);

    expect(r.parsedOutput).toEqual([1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
  });

  it('tolerates failures up to ToleratedFailureCount and fails beyond it', async () => {
    ({ sfn } = makeSfn({
      maybe: (e) => {
        if ((e as number) < 0) throw Object.assign(new Error('negative'), { name: 'NegativeError' });
        return e;
      },
    }));
    const def = (count: number) => ({
      QueryLanguage: 'JSONata',
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ToleratedFailureCount: count,
          ItemProcessor: {
            StartAt: 'T',
            States: { T: { Type: 'Task', Resource: fnArn('maybe'), End: true } },
          },
          End: true,
        },
      },
    });

    const ok = await runToEnd(sfn, def(1), [1, -1, 2], 'tol1');
    const bad = await runToEnd(sfn, def(0), [1, -1, 2], 'tol0');

    expect(ok.status).toBe('SUCCEEDED');
    expect(bad.status).toBe('FAILED');
    expect(bad.error).toBe('States.ExceedToleratedFailureThreshold');
  });

  it('runs Parallel branches on the same input and fails with the failing branch error', async () => {
    ({ sfn } = makeSfn());
    const branch = (out: unknown) => ({
      StartAt: 'B',
      States: { B: { Type: 'Pass', Output: out, End: true } },
    });
    const ok = {
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [branch('{% $states.input.a %}'), branch('{% $states.input.b %}')],
          End: true,
        },
      },
    };
    const failing = {
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            branch(1),
            { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'BranchBroke', Cause: 'because' } } },
          ],
          Catch: [{ ErrorEquals: ['BranchBroke'], Output: '{% $states.errorOutput %}', Next: 'Done' }],
          End: true,
        },
        Done: { Type: 'Succeed' },
      },
    };

    const r1 = await runToEnd(sfn, ok, { a: 'x', b: 'y' }, 'p1');
    const r2 = await runToEnd(sfn, failing, {}, 'p2');

    expect(r1.parsedOutput).toEqual(['x', 'y']);
    expect(r2.parsedOutput).toEqual({ Error: 'BranchBroke', Cause: 'because' });
  });
});

describe('stopping an execution mid-Map', () => {
  it('ends with ExecutionAborted as the last event and aborts running iterations', async () => {
    const started: unknown[] = [];
    ({ sfn } = makeSfn({
      hang: (e, signal) => {
        started.push(e);
        return new Promise((_r, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    }));
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'T',
            States: { T: { Type: 'Task', Resource: fnArn('hang'), End: true } },
          },
          End: true,
        },
      },
    };
    sfn.registerStateMachine(sfn.stateMachineArn('stop'), def);
    const { executionArn } = sfn.startExecution({
      stateMachineArn: sfn.stateMachineArn('stop'),
      input: '[1,2,3]',
    });
    while (started.length < 3) await new Promise((r) => setImmediate(r));

    sfn.stopExecution({ executionArn, error: 'Cancelled' });
    const r = await sfn.waitForExecution(executionArn);
    const events = sfn.getExecutionHistory({ executionArn }).events;

    expect(r.status).toBe('ABORTED');
    expect(events.at(-1)?.type).toBe('ExecutionAborted');
  });
});
