import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeExecutionCommand, RedriveExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../../local/sfn/clock.js';
import { LocalStepFunctions, MapLambdaInvoker, startSfnApiServer } from '../../../../local/sfn/index.js';
import { fnArn, makeSfn, tempDir } from './helpers.js';

let sfn: LocalStepFunctions | undefined;
afterEach(async () => {
  await sfn?.close();
  sfn = undefined;
});

class CrashError extends Error {
  override name = 'Lambda.Unknown';
}

const retryTwice = [{ ErrorEquals: ['Lambda.Unknown'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }];

/** A → B (crashes while `broken`) → C, each counting its invocations. */
function threeSteps() {
  const calls = { A: 0, B: 0, C: 0 };
  const state = { broken: true };
  const handlers = {
    A: () => {
      calls.A++;
      return { a: 1 };
    },
    B: (e: unknown) => {
      calls.B++;
      if (state.broken) throw new CrashError('the function process died');
      return { ...(e as object), b: 2 };
    },
    C: (e: unknown) => {
      calls.C++;
      return { ...(e as object), c: 3 };
    },
  };
  const definition = {
    QueryLanguage: 'JSONata',
    StartAt: 'A',
    States: {
      A: { Type: 'Task', Resource: fnArn('A'), Next: 'B' },
      B: { Type: 'Task', Resource: fnArn('B'), Retry: retryTwice, Next: 'C' },
      C: { Type: 'Task', Resource: fnArn('C'), End: true },
    },
  };
  return { calls, state, handlers, definition };
}

describe('RedriveExecution in the local runtime', () => {
  it('resumes a failed execution at the failed state: completed states are not run again', async () => {
    const t = threeSteps();
    ({ sfn } = makeSfn(t.handlers));
    const arn = sfn.stateMachineArn('three');
    sfn.registerStateMachine(arn, t.definition);
    const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: '{}' });
    const failed = await sfn.waitForExecution(executionArn);
    expect([failed.status, failed.error, failed.redriveStatus]).toEqual([
      'FAILED',
      'Lambda.Unknown',
      'REDRIVABLE',
    ]);
    expect(t.calls).toEqual({ A: 1, B: 3, C: 0 });

    t.state.broken = false;
    sfn.redriveExecution({ executionArn });
    const done = await sfn.waitForExecution(executionArn);

    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({ a: 1, b: 2, c: 3 });
    // A ran once in all; B once more (its retry count starts again, it succeeds first time); C once.
    expect(t.calls).toEqual({ A: 1, B: 4, C: 1 });
    expect([done.redriveCount, done.redriveStatus]).toEqual([1, 'NOT_REDRIVABLE']);
    expect(done.redriveStatusReason).toBe('Execution is SUCCEEDED and cannot be redriven');
    const types = sfn.getExecutionHistory({ executionArn }).events.map((e) => e.type);
    expect(types.filter((x) => x.startsWith('Execution'))).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionRedriven',
      'ExecutionSucceeded',
    ]);
    expect(types.filter((x) => x === 'LambdaFunctionSucceeded')).toHaveLength(3);
  });

  it('fails again at the same state while the cause is still there, and can be redriven again', async () => {
    const t = threeSteps();
    ({ sfn } = makeSfn(t.handlers));
    const arn = sfn.stateMachineArn('three');
    sfn.registerStateMachine(arn, t.definition);
    const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: '{}' });
    await sfn.waitForExecution(executionArn);
    sfn.redriveExecution({ executionArn });
    const again = await sfn.waitForExecution(executionArn);
    expect([again.status, again.redriveCount]).toEqual(['FAILED', 1]);
    expect(t.calls).toEqual({ A: 1, B: 6, C: 0 });

    t.state.broken = false;
    sfn.redriveExecution({ executionArn });
    const done = await sfn.waitForExecution(executionArn);
    expect([done.status, done.redriveCount]).toEqual(['SUCCEEDED', 2]);
    expect(t.calls).toEqual({ A: 1, B: 7, C: 1 });
  });

  it('re-runs only the failed and aborted branches of a Parallel', async () => {
    const calls = { ok: 0, bad: 0, slow: 0 };
    let broken = true;
    let releaseSlow: () => void = () => undefined;
    ({ sfn } = makeSfn({
      ok: () => ++calls.ok,
      bad: () => {
        calls.bad++;
        if (broken) throw new CrashError('died');
        return 'fixed';
      },
      // Still running when its sibling fails: aborted, then run again by the redrive.
      slow: (_e, signal) => {
        calls.slow++;
        return new Promise((resolve, reject) => {
          releaseSlow = () => resolve('slow done');
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          if (!broken) resolve('slow done');
        });
      },
    }));
    const arn = sfn.stateMachineArn('par');
    sfn.registerStateMachine(arn, {
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          End: true,
          Branches: [
            {
              StartAt: 'Ok',
              States: {
                Ok: { Type: 'Task', Resource: fnArn('ok'), Next: 'Bad' },
                Bad: { Type: 'Task', Resource: fnArn('bad'), Retry: retryTwice, End: true },
              },
            },
            { StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: fnArn('slow'), End: true } } },
          ],
        },
      },
    });
    const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: '{}' });
    const failed = await sfn.waitForExecution(executionArn);
    expect(failed.status).toBe('FAILED');
    expect(calls).toEqual({ ok: 1, bad: 3, slow: 1 });

    broken = false;
    releaseSlow();
    sfn.redriveExecution({ executionArn });
    const done = await sfn.waitForExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual(['fixed', 'slow done']);
    expect(calls).toEqual({ ok: 1, bad: 4, slow: 2 });
  });

  it('refuses a running or succeeded execution and one that does not exist', async () => {
    let release: () => void = () => undefined;
    ({ sfn } = makeSfn({ wait: () => new Promise((r) => (release = () => r('done'))) }));
    const arn = sfn.stateMachineArn('w');
    sfn.registerStateMachine(arn, {
      QueryLanguage: 'JSONata',
      StartAt: 'W',
      States: { W: { Type: 'Task', Resource: fnArn('wait'), End: true } },
    });
    const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: '{}' });
    const local = sfn;
    expect(() => local.redriveExecution({ executionArn })).toThrow(
      'Execution is RUNNING and cannot be redriven',
    );
    await new Promise((r) => setTimeout(r, 10));
    release();
    await sfn.waitForExecution(executionArn);
    expect(() => local.redriveExecution({ executionArn })).toThrow(
      'Execution is SUCCEEDED and cannot be redriven',
    );
    expect(() => local.redriveExecution({ executionArn: `${executionArn}-nope` })).toThrow(
      'Execution Does Not Exist',
    );
  });

  it('has the redrive in the journal file when it answers, and the new end when the drive ends (a kill -9 takes back neither)', async () => {
    const dir = tempDir();
    const t = threeSteps();
    // The system clock: journal lines are written at the end of the turn, not as they are appended.
    sfn = new LocalStepFunctions({ invoker: new MapLambdaInvoker(t.handlers), dataDir: dir });
    try {
      await sfn.start();
      const arn = sfn.stateMachineArn('three');
      sfn.registerStateMachine(arn, t.definition);
      const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: '{}' });
      await sfn.waitForExecution(executionArn);
      const root = join(dir, 'executions');
      const journal = () =>
        readdirSync(root)
          .map((id) => readFileSync(join(root, id, 'journal.jsonl'), 'utf8'))
          .join('');
      t.state.broken = false;
      sfn.redriveExecution({ executionArn, clientToken: 'tok-disk' });
      expect(journal()).toContain('"ExecutionRedriven"');
      expect(journal()).toContain('redrive-token/tok-disk');
      const done = await sfn.waitForExecution(executionArn);
      expect(done.status).toBe('SUCCEEDED');
      expect(journal()).toContain('"ExecutionSucceeded"');
    } finally {
      await sfn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves RedriveExecution to the real SDK client, idempotent on the client token, and survives a restart', async () => {
    const dir = tempDir();
    const t = threeSteps();
    const open = () =>
      new LocalStepFunctions({
        invoker: new MapLambdaInvoker(t.handlers),
        dataDir: dir,
        clock: new VirtualClock(Date.parse('2026-01-01T00:00:00Z')),
      });
    sfn = open();
    await sfn.start();
    const server = await startSfnApiServer(sfn);
    const client = new SFNClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const arn = sfn.stateMachineArn('three');
      sfn.registerStateMachine(arn, t.definition);
      const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: '{}' });
      await sfn.waitForExecution(executionArn);

      t.state.broken = false;
      const first = await client.send(new RedriveExecutionCommand({ executionArn, clientToken: 'tok-1' }));
      const second = await client.send(new RedriveExecutionCommand({ executionArn, clientToken: 'tok-1' }));
      expect(second.redriveDate).toEqual(first.redriveDate);
      await sfn.waitForExecution(executionArn);
      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect([described.status, described.redriveCount]).toEqual(['SUCCEEDED', 1]);
      const refused = await client.send(new RedriveExecutionCommand({ executionArn })).then(
        () => 'redriven',
        (err: Error) => `${err.name}: ${err.message}`,
      );
      expect(refused).toBe('ExecutionNotRedrivable: Execution is SUCCEEDED and cannot be redriven');

      // From disk: the redrive and its outcome are in the journal.
      await sfn.close();
      sfn = open();
      await sfn.start();
      const reloaded = sfn.describeExecution({ executionArn });
      expect([reloaded.status, reloaded.redriveCount]).toEqual(['SUCCEEDED', 1]);
      const history = sfn.getExecutionHistory({ executionArn }).events.map((e) => e.type);
      expect(history.filter((x) => x === 'ExecutionRedriven')).toHaveLength(1);
      expect(t.calls).toEqual({ A: 1, B: 4, C: 1 });
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
