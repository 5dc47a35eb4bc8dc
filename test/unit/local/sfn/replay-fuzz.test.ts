import { describe, expect, it } from 'vitest';
import { flushMacrotasks, ManualClock } from '../../../../local/sfn/clock.js';
import type { LocalStepFunctions } from '../../../../local/sfn/index.js';
import { fnArn, makeSfn, tempDir } from './helpers.js';

class FlakyError extends Error {
  override name = 'FlakyError';
}

const machine = {
  QueryLanguage: 'JSONata',
  StartAt: 'Init',
  States: {
    Init: { Type: 'Pass', Assign: { base: 100 }, Next: 'Fan' },
    Fan: {
      Type: 'Map',
      Items: '{% [1, 2, 3, 4] %}',
      MaxConcurrency: 2,
      ItemProcessor: {
        StartAt: 'Square',
        States: {
          Square: {
            Type: 'Task',
            Resource: fnArn('square'),
            Retry: [{ ErrorEquals: ['FlakyError'], IntervalSeconds: 2, MaxAttempts: 2 }],
            Next: 'Nap',
          },
          Nap: { Type: 'Wait', Seconds: 5, End: true },
        },
      },
      Next: 'Both',
    },
    Both: {
      Type: 'Parallel',
      Arguments: '{% $states.input %}',
      Branches: [
        { StartAt: 'Sum', States: { Sum: { Type: 'Task', Resource: fnArn('sum'), End: true } } },
        {
          StartAt: 'Later',
          States: {
            Later: { Type: 'Wait', Seconds: 3, Next: 'Id' },
            Id: { Type: 'Pass', Output: '{% $uuid() %}', End: true },
          },
        },
      ],
      Next: 'Out',
    },
    Out: {
      Type: 'Pass',
      Output: { sum: '{% $states.input[0] + $base %}', id: '{% $states.input[1] %}' },
      End: true,
    },
  },
};

describe('replay under repeated restarts', () => {
  it.each([577, 313, 1231, 97])(
    'reaches the same result however often the runtime is stopped (step seed %i)',
    async (seed) => {
      const dir = tempDir();
      const failedOnce = new Set<number>();
      const invocations: Record<string, number> = { square: 0, sum: 0 };
      let clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
      const handlers = {
        square: async (e: unknown, signal: AbortSignal) => {
          invocations.square = (invocations.square ?? 0) + 1;
          const n = e as number;
          await clock.sleep(700, signal);
          if (!failedOnce.has(n)) {
            failedOnce.add(n);
            throw new FlakyError(`first try of ${n}`);
          }
          return n * n;
        },
        sum: async (e: unknown, signal: AbortSignal) => {
          invocations.sum = (invocations.sum ?? 0) + 1;
          await clock.sleep(400, signal);
          return (e as number[]).reduce((a, b) => a + b, 0);
        },
      };
      let executionArn = '';
      let restarts = 0;
      let sfn: LocalStepFunctions | undefined;
      for (;;) {
        ({ sfn } = makeSfn(handlers, { dataDir: dir, clock }));
        sfn.registerStateMachine(sfn.stateMachineArn('fuzz'), machine);
        await sfn.start();
        if (!executionArn) {
          executionArn = sfn.startExecution({
            stateMachineArn: sfn.stateMachineArn('fuzz'),
            name: 'x',
            input: '{}',
          }).executionArn;
        }
        await flushMacrotasks(3);
        await clock.advance(150 + ((restarts * seed) % 1900));
        const status = sfn.describeExecution({ executionArn }).status;
        if (status !== 'RUNNING') break;
        await sfn.close();
        restarts++;
        clock = new ManualClock(clock.now());
        expect(restarts).toBeLessThan(200);
      }
      const result = sfn.describeExecution({ executionArn });
      const history = sfn.getExecutionHistory({ executionArn }).events;
      await sfn.close();

      expect(restarts).toBeGreaterThan(5);
      expect(result.status).toBe('SUCCEEDED');
      expect(JSON.parse(result.output ?? '').sum).toBe(1 + 4 + 9 + 16 + 100);
      expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
      expect(history.filter((e) => e.type === 'LambdaFunctionSucceeded')).toHaveLength(5);
      expect(history.filter((e) => e.type === 'LambdaFunctionFailed')).toHaveLength(4);
      expect(history.filter((e) => e.type === 'MapIterationSucceeded')).toHaveLength(4);
      expect(history.filter((e) => e.type === 'MapIterationAborted')).toHaveLength(0);
      expect(invocations.square).toBeGreaterThanOrEqual(8);
    },
  );
});
