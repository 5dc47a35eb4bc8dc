import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushMacrotasks, ManualClock } from '../../../../local/sfn/clock.js';
import { SfnApiError } from '../../../../local/sfn/index.js';
import { parseJournal } from '../../../../local/sfn/journal-file.js';
import { fnArn, makeSfn, tempDir } from './helpers.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** First a task, then a task token: the execution waits with a few journal lines written. */
const machine = {
  QueryLanguage: 'JSONata',
  StartAt: 'First',
  States: {
    First: { Type: 'Task', Resource: fnArn('first'), Next: 'Ask' },
    Ask: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Arguments: { FunctionName: 'ask', Payload: { token: '{% $states.context.Task.Token %}' } },
      End: true,
    },
  },
};

function capture() {
  const lines: Array<{ level: string; message: string }> = [];
  return {
    lines,
    logger: {
      warn: (message: string) => lines.push({ level: 'warn', message }),
      error: (message: string) => lines.push({ level: 'error', message }),
    },
  };
}

/** Runs the machine up to the token wait in one "process", then stops it. */
async function pausedExecution() {
  const dir = tempDir();
  const calls = { first: 0, ask: 0 };
  const tokens: string[] = [];
  const handlers = {
    first: () => {
      calls.first += 1;
      return { ok: 1 };
    },
    ask: (e: unknown) => {
      calls.ask += 1;
      tokens.push((e as { token: string }).token);
      return null;
    },
  };
  const a = makeSfn(handlers, { dataDir: dir, clock: new ManualClock(T0) });
  const smArn = a.sfn.stateMachineArn('damaged');
  a.sfn.registerStateMachine(smArn, machine);
  const { executionArn } = a.sfn.startExecution({ stateMachineArn: smArn, name: 'run-7', input: '{}' });
  await flushMacrotasks(10);
  await a.sfn.close();
  const execDir = join(dir, 'executions', readdirSync(join(dir, 'executions'))[0] as string);
  return { dir, execDir, executionArn, handlers, calls, tokens, smArn };
}

async function restart(dir: string, handlers: Parameters<typeof makeSfn>[0]) {
  const log = capture();
  const b = makeSfn(handlers, { dataDir: dir, clock: new ManualClock(T0 + 1000), logger: log.logger });
  b.sfn.registerStateMachine(b.sfn.stateMachineArn('damaged'), machine);
  await b.sfn.start();
  await flushMacrotasks(10);
  return { sfn: b.sfn, log };
}

describe('journal damage at boot', () => {
  it('refuses to resume a journal with a garbled line: FAILED with States.JournalCorrupt naming file and line, files untouched', async () => {
    const p = await pausedExecution();
    const file = join(p.execDir, 'journal.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[2] = '{"kind":"event","key":"garbled';
    writeFileSync(file, lines.join('\n'));
    const before = readFileSync(file);

    const { sfn, log } = await restart(p.dir, p.handlers);
    const described = sfn.describeExecution({ executionArn: p.executionArn });
    const refused = (() => {
      try {
        sfn.sendTaskSuccess({ taskToken: p.tokens[0] as string, output: '{}' });
      } catch (err) {
        return err;
      }
    })();
    const history = sfn.getExecutionHistory({ executionArn: p.executionArn }).events;
    await sfn.close();

    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.JournalCorrupt');
    expect(described.cause).toContain('execution run-7');
    expect(described.cause).toContain(`${file} line 3: not JSON`);
    expect(sfn.listExecutions({ statusFilter: 'FAILED' }).executions?.map((e) => e.name)).toEqual(['run-7']);
    expect(log.lines).toEqual([
      { level: 'error', message: expect.stringMatching(/JournalCorruptError: execution run-7 .* line 3/) },
    ]);
    expect(sfn.damagedExecutions().map((e) => [e.name, e.executionName, e.line])).toEqual([
      ['JournalCorruptError', 'run-7', 3],
    ]);
    expect(refused).toBeInstanceOf(SfnApiError);
    expect((refused as SfnApiError).code).toBe('TaskDoesNotExist');
    expect(history.map((e) => e.id)).toEqual([1, 2]);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(p.calls).toEqual({ first: 1, ask: 1 });
  });

  it('refuses events out of order (two lines swapped) and a repeated key', async () => {
    const swapped = [
      '{"kind":"event","key":"a","event":{"id":1,"previousEventId":0,"type":"ExecutionStarted","timestamp":"2026-01-01T00:00:00.000Z"}}',
      '{"kind":"event","key":"c","event":{"id":3,"previousEventId":2,"type":"PassStateExited","timestamp":"2026-01-01T00:00:00.000Z"}}',
      '{"kind":"event","key":"b","event":{"id":2,"previousEventId":1,"type":"PassStateEntered","timestamp":"2026-01-01T00:00:00.000Z"}}',
      '',
    ].join('\n');
    const repeated = `{"kind":"record","key":"r","value":1}\n{"kind":"record","key":"r","value":2}\n`;

    expect(parseJournal(swapped)).toMatchObject({
      ok: false,
      line: 2,
      reason: 'event c has id 3, expected 2 (events missing or out of order)',
    });
    expect(parseJournal(repeated)).toMatchObject({ ok: false, line: 2, reason: 'key r recorded twice' });
    expect(parseJournal('{"kind":"record","key":"r","value":1}\n\n')).toMatchObject({ ok: false, line: 2 });
    expect(parseJournal(Buffer.from([0x7b, 0xff, 0x7d, 0x0a]))).toMatchObject({
      ok: false,
      line: 1,
      reason: 'not UTF-8',
    });
  });

  it('cuts off a torn last line with a warning and resumes; the execution finishes', async () => {
    const p = await pausedExecution();
    const file = join(p.execDir, 'journal.jsonl');
    const intact = readFileSync(file);
    writeFileSync(file, Buffer.concat([intact, Buffer.from('{"kind":"event","key":"m/1:Do')]));

    const { sfn, log } = await restart(p.dir, p.handlers);
    sfn.sendTaskSuccess({ taskToken: p.tokens[0] as string, output: '{"approved":true}' });
    const result = await sfn.waitForExecution(p.executionArn);
    await sfn.close();

    expect(log.lines).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(/execution run-7 .*cut off a torn last line \(29 bytes/),
      },
    ]);
    expect(result.status).toBe('SUCCEEDED');
    expect(readFileSync(file).subarray(0, intact.length).equals(intact)).toBe(true);
    expect(sfn.damagedExecutions()).toEqual([]);
  });

  it('reports an execution whose meta.json is empty instead of skipping it silently', async () => {
    const p = await pausedExecution();
    writeFileSync(join(p.execDir, 'meta.json'), '');
    const journal = readFileSync(join(p.execDir, 'journal.jsonl'));

    const { sfn, log } = await restart(p.dir, p.handlers);
    const damaged = sfn.damagedExecutions();
    await sfn.close();

    expect(damaged).toHaveLength(1);
    expect(damaged[0]?.file).toBe(join(p.execDir, 'meta.json'));
    expect(damaged[0]?.reason).toBe('empty');
    expect(log.lines.map((l) => l.level)).toEqual(['error']);
    expect(log.lines[0]?.message).toContain(`execution directory ${p.execDir.split('/').at(-1)}`);
    expect(readFileSync(join(p.execDir, 'journal.jsonl')).equals(journal)).toBe(true);
    expect(p.calls).toEqual({ first: 1, ask: 1 });
  });

  it('writes journals and metadata readable by their owner only (they hold task tokens)', async () => {
    const p = await pausedExecution();

    expect(statSync(join(p.execDir, 'journal.jsonl')).mode & 0o777).toBe(0o600);
    expect(statSync(join(p.execDir, 'meta.json')).mode & 0o777).toBe(0o600);
  });
});
