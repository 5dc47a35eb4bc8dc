import { fsync, fsyncSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalDisk } from '../../../../local/sfn/execution-store.js';
import { LocalStepFunctions, MapLambdaInvoker } from '../../../../local/sfn/index.js';
import { fnArn, tempDir } from '../../../unit/local/sfn/helpers.js';

/**
 * A disk that remembers, for each journal, the text a power cut would keep:
 * what the file held when an fsync of it began, once that fsync has finished.
 * (One execution per test, so every journal's text is taken at each fsync.)
 */
function recordingDisk(dataDir: string) {
  const kept = new Map<string, string>();
  let syncs = 0;
  const journals = () => {
    const root = join(dataDir, 'executions');
    return readdirSync(root).map((id) => join(root, id, 'journal.jsonl'));
  };
  const image = () => new Map(journals().map((f) => [f, readFileSync(f, 'utf8')] as const));
  const disk: JournalDisk = {
    fsync(fd, done) {
      syncs += 1;
      const taken = image();
      fsync(fd, (err) => {
        if (!err) for (const [f, text] of taken) kept.set(f, text);
        done(err);
      });
    },
    fsyncSync(fd) {
      syncs += 1;
      const taken = image();
      fsyncSync(fd);
      for (const [f, text] of taken) kept.set(f, text);
    },
  };
  /** Journal lines written but not yet on disk. */
  const unsynced = () =>
    journals().reduce((n, f) => {
      const lines = (text: string) => text.split('\n').length - 1;
      return n + lines(readFileSync(f, 'utf8')) - lines(kept.get(f) ?? '');
    }, 0);
  const keptLines = () => [...kept.values()].flatMap((t) => t.split('\n').filter(Boolean));
  return { disk, unsynced, keptLines, syncs: () => syncs };
}

const machine = {
  QueryLanguage: 'JSONata',
  StartAt: 'First',
  States: {
    First: { Type: 'Task', Resource: fnArn('first'), Next: 'Ask' },
    Ask: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Arguments: { FunctionName: 'ask', Payload: { token: '{% $states.context.Task.Token %}' } },
      Next: 'Second',
    },
    Second: { Type: 'Task', Resource: fnArn('second'), Output: '{% {"answer": $states.input} %}', End: true },
  },
};

describe('journal group commit', () => {
  it('has every line on disk before a Lambda function runs, an answer is sent or the end is reported; one fsync per batch', async () => {
    const dataDir = tempDir();
    const disk = recordingDisk(dataDir);
    const unsyncedAtInvoke: Record<string, number> = {};
    let token = '';
    const sfn = new LocalStepFunctions({
      dataDir,
      journalDisk: disk.disk,
      invoker: new MapLambdaInvoker({
        first: () => {
          unsyncedAtInvoke.first = disk.unsynced();
          return { ok: 1 };
        },
        ask: (event) => {
          unsyncedAtInvoke.ask = disk.unsynced();
          token = (event as { token: string }).token;
          return null;
        },
        second: (event) => {
          unsyncedAtInvoke.second = disk.unsynced();
          return event;
        },
      }),
    });
    await sfn.start();
    const arn = sfn.stateMachineArn('group-commit');
    sfn.registerStateMachine(arn, machine);

    const { executionArn } = sfn.startExecution({ stateMachineArn: arn, name: 'gc-1', input: '{}' });
    for (let i = 0; i < 400 && !token; i++) await new Promise((r) => setTimeout(r, 5));
    sfn.sendTaskSuccess({ taskToken: token, output: '{"approved":true}' });
    const unsyncedAtAnswer = disk.unsynced();
    const done = await sfn.waitForExecution(executionArn);
    const unsyncedAtEnd = disk.unsynced();
    const kept = disk.keptLines();
    await sfn.close();

    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? 'null')).toEqual({ answer: { approved: true } });
    expect(unsyncedAtInvoke).toEqual({ first: 0, ask: 0, second: 0 });
    expect(unsyncedAtAnswer).toBe(0);
    expect(unsyncedAtEnd).toBe(0);
    expect(JSON.parse(kept.at(-1) ?? '{}').event?.type).toBe('ExecutionSucceeded');
    // Three invocations, one answer and the end: a handful of fsyncs for all the lines, not one each.
    expect(kept.length).toBeGreaterThan(12);
    expect(disk.syncs()).toBeLessThanOrEqual(5);
  });
});
