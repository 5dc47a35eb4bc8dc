import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushMacrotasks, ManualClock } from '../../../../local/sfn/clock.js';
import { fnArn, makeSfn, tempDir } from './helpers.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

const machine = {
  QueryLanguage: 'JSONata',
  StartAt: 'First',
  States: {
    First: { Type: 'Task', Resource: fnArn('first'), Next: 'Nap' },
    Nap: { Type: 'Wait', Seconds: 60, Next: 'Ask' },
    Ask: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Arguments: { FunctionName: 'ask', Payload: { token: '{% $states.context.Task.Token %}' } },
      Next: 'Fan',
    },
    Fan: {
      Type: 'Map',
      Items: '{% [1, 2, 3] %}',
      ItemProcessor: {
        StartAt: 'Each',
        States: { Each: { Type: 'Task', Resource: fnArn('each'), End: true } },
      },
      End: true,
    },
  },
};

describe('durability across restarts (in-process)', () => {
  it('resumes from the journal: Wait keeps its due time, tokens stay valid, completed tasks never rerun', async () => {
    const dir = tempDir();
    const calls: Record<string, number> = { first: 0, ask: 0, each: 0 };
    const tokens: string[] = [];
    const handlers = {
      first: () => {
        calls.first = (calls.first ?? 0) + 1;
        return { step: 1 };
      },
      ask: (e: unknown) => {
        calls.ask = (calls.ask ?? 0) + 1;
        tokens.push((e as { token: string }).token);
        return null;
      },
      each: (e: unknown) => {
        calls.each = (calls.each ?? 0) + 1;
        return (e as number) * 2;
      },
    };

    // First process: runs First, stops inside the Wait.
    const clock1 = new ManualClock(T0);
    const a = makeSfn(handlers, { dataDir: dir, clock: clock1 });
    const smArn = a.sfn.stateMachineArn('durable');
    a.sfn.registerStateMachine(smArn, machine);
    const { executionArn } = a.sfn.startExecution({ stateMachineArn: smArn, name: 'run-1', input: '{}' });
    await flushMacrotasks(10);
    await clock1.advance(20_000);
    await a.sfn.close();

    // Second process, 30 s later: the Wait fires at T0 + 60 s, not 60 s after the restart.
    const clock2 = new ManualClock(T0 + 30_000);
    const b = makeSfn(handlers, { dataDir: dir, clock: clock2 });
    await b.sfn.start();
    await clock2.advance(30_000);
    await flushMacrotasks(10);
    expect(tokens).toHaveLength(1);
    await b.sfn.close();

    // Third process: the token issued before the restart completes the task.
    const clock3 = new ManualClock(T0 + 120_000);
    const c = makeSfn(handlers, { dataDir: dir, clock: clock3 });
    await c.sfn.start();
    c.sfn.sendTaskSuccess({ taskToken: tokens[0] as string, output: '{"ok":true}' });
    const result = await c.sfn.waitForExecution(executionArn);
    const history = c.sfn.getExecutionHistory({ executionArn }).events;
    await c.sfn.close();

    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? '')).toEqual([2, 4, 6]);
    expect(calls).toEqual({ first: 1, ask: 1, each: 3 });
    const waitExit = history.find((e) => e.type === 'WaitStateExited');
    expect(waitExit?.timestamp.getTime()).toBe(T0 + 60_000);
    const ids = history.map((e) => e.id);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(history.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
  });

  it('re-invokes a task that was scheduled but never completed (at-least-once)', async () => {
    const dir = tempDir();
    let invocations = 0;
    let release: (() => void) | undefined;
    const slow = {
      first: (_e: unknown, signal: AbortSignal) => {
        invocations++;
        if (invocations === 1)
          return new Promise((_r, reject) =>
            signal.addEventListener('abort', () => reject(new Error('killed'))),
          );
        return new Promise((r) => {
          release = () => r('done');
        });
      },
    };
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'First',
      States: { First: { Type: 'Task', Resource: fnArn('first'), End: true } },
    };
    const a = makeSfn(slow, { dataDir: dir, clock: new ManualClock(T0) });
    a.sfn.registerStateMachine(a.sfn.stateMachineArn('m'), def);
    const { executionArn } = a.sfn.startExecution({
      stateMachineArn: a.sfn.stateMachineArn('m'),
      input: '{}',
    });
    await flushMacrotasks(5);
    await a.sfn.close();

    const b = makeSfn(slow, { dataDir: dir, clock: new ManualClock(T0 + 1000) });
    await b.sfn.start();
    await flushMacrotasks(5);
    release?.();
    const r = await b.sfn.waitForExecution(executionArn);
    await b.sfn.close();

    expect(invocations).toBe(2);
    expect(r.output).toBe('"done"');
  });

  it('drops a journal line torn by a crash and carries on', async () => {
    const dir = tempDir();
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'Nap',
      States: {
        Nap: { Type: 'Wait', Seconds: 10, Next: 'Done' },
        Done: { Type: 'Pass', Output: '{% $now() %}', End: true },
      },
    };
    const clock1 = new ManualClock(T0);
    const a = makeSfn({}, { dataDir: dir, clock: clock1 });
    a.sfn.registerStateMachine(a.sfn.stateMachineArn('torn'), def);
    const { executionArn } = a.sfn.startExecution({
      stateMachineArn: a.sfn.stateMachineArn('torn'),
      input: '{}',
    });
    await flushMacrotasks(5);
    await a.sfn.close();
    const execDir = join(dir, 'executions', readdirSync(join(dir, 'executions'))[0] as string);
    appendFileSync(join(execDir, 'journal.jsonl'), '{"kind":"event","key":"m/1:Do');

    const clock2 = new ManualClock(T0 + 5000);
    const warnings: string[] = [];
    const b = makeSfn({}, { dataDir: dir, clock: clock2, logger: { warn: (m) => warnings.push(m) } });
    await b.sfn.start();
    await clock2.advance(10_000);
    const r = await b.sfn.waitForExecution(executionArn);
    await b.sfn.close();

    expect(warnings).toEqual([expect.stringContaining('cut off a torn last line')]);
    expect(r.status).toBe('SUCCEEDED');
    expect(JSON.parse(r.output ?? '')).toBe(new Date(T0 + 10_000).toISOString());
  });
});
