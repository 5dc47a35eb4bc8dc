import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, fsync, fsyncSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalDisk } from '../../../../local/sfn/execution-store.js';
import { LocalStepFunctions, MapLambdaInvoker } from '../../../../local/sfn/index.js';
import { fnArn, tempDir } from '../../../unit/local/sfn/helpers.js';
import { crashMachine } from './fixtures/journal-crash-machine.js';

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
  it('machine durability: has every line on disk before a Lambda function runs, an answer is sent or the end is reported; one fsync per batch', async () => {
    const dataDir = tempDir();
    const disk = recordingDisk(dataDir);
    const unsyncedAtInvoke: Record<string, number> = {};
    let token = '';
    const sfn = new LocalStepFunctions({
      dataDir,
      durability: 'machine',
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

  it('process durability (the default): every line is written before a Lambda function runs, an answer is sent or the end is reported, and nothing waits for an fsync', async () => {
    const dataDir = tempDir();
    const disk = recordingDisk(dataDir);
    /** Lines appended but not yet in the file: what a kill -9 now would take back. */
    const unwritten = (sfn: LocalStepFunctions, arn: string) => {
      const events = sfn.getExecutionHistory({ executionArn: arn }).events?.length ?? 0;
      const root = join(dataDir, 'executions');
      const inFile = readdirSync(root)
        .map((id) => readFileSync(join(root, id, 'journal.jsonl'), 'utf8'))
        .join('')
        .split('\n')
        .filter((l) => l.includes('"event"')).length;
      return events - inFile;
    };
    const unwrittenAtInvoke: Record<string, number> = {};
    let token = '';
    let arn = '';
    const sfn: LocalStepFunctions = new LocalStepFunctions({
      dataDir,
      journalDisk: disk.disk,
      invoker: new MapLambdaInvoker({
        first: () => {
          unwrittenAtInvoke.first = unwritten(sfn, arn);
          return { ok: 1 };
        },
        ask: (event) => {
          unwrittenAtInvoke.ask = unwritten(sfn, arn);
          token = (event as { token: string }).token;
          return null;
        },
        second: (event) => {
          unwrittenAtInvoke.second = unwritten(sfn, arn);
          return event;
        },
      }),
    });
    await sfn.start();
    const machineArn = sfn.stateMachineArn('group-commit');
    sfn.registerStateMachine(machineArn, machine);

    arn = sfn.startExecution({ stateMachineArn: machineArn, name: 'gc-p', input: '{}' }).executionArn;
    for (let i = 0; i < 400 && !token; i++) await new Promise((r) => setTimeout(r, 5));
    sfn.sendTaskSuccess({ taskToken: token, output: '{"approved":true}' });
    const unwrittenAtAnswer = unwritten(sfn, arn);
    const done = await sfn.waitForExecution(arn);
    const unwrittenAtEnd = unwritten(sfn, arn);
    await sfn.close();

    expect(done.status).toBe('SUCCEEDED');
    expect(unwrittenAtInvoke).toEqual({ first: 0, ask: 0, second: 0 });
    expect(unwrittenAtAnswer).toBe(0);
    expect(unwrittenAtEnd).toBe(0);
    expect(disk.syncs()).toBe(0);
  });
});

describe('journal after a kill -9', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
    for (let i = 0; i < 800; i++) {
      const v = probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const calls = (dir: string) => {
    const out: Record<string, number> = {};
    for (const f of readdirSync(dir)) {
      const name = /^call-([a-z]+)-/.exec(f)?.[1];
      if (name) out[name] = (out[name] ?? 0) + 1;
    }
    return out;
  };

  it('loses nothing that was acknowledged or acted on: the answered token and finished tasks are not asked or run again', async () => {
    const dataDir = tempDir();
    const workDir = tempDir();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/journal-crash-child.ts', import.meta.url)),
        dataDir,
        workDir,
      ],
      { stdio: 'ignore' },
    );
    children.push(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    const ready = join(workDir, `ready-${child.pid}.json`);
    const url = await until('the child runtime', () =>
      existsSync(ready) ? (JSON.parse(readFileSync(ready, 'utf8')) as { url: string }).url : undefined,
    );
    const token = await until('the task token', () =>
      existsSync(join(workDir, 'token.txt')) ? readFileSync(join(workDir, 'token.txt'), 'utf8') : undefined,
    );
    const client = new SFNClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    // Acknowledged: the child dies inside the next task, right after this answer.
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }));
    client.destroy();
    const signal = await exited;
    const beforeRestart = calls(workDir);

    const again: Record<string, number> = {};
    const count = (name: string) => () => {
      again[name] = (again[name] ?? 0) + 1;
      return null;
    };
    const sfn = new LocalStepFunctions({
      dataDir,
      invoker: new MapLambdaInvoker({
        first: count('first'),
        ask: count('ask'),
        second: count('second'),
        third: count('third'),
      }),
    });
    sfn.registerStateMachine(sfn.stateMachineArn('journal-crash'), crashMachine);
    await sfn.start();
    const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:journal-crash:crash-me';
    const done = await sfn.waitForExecution(executionArn);
    const history = sfn.getExecutionHistory({ executionArn, maxResults: 1000 }).events;
    await sfn.close();

    expect(signal).toBe('SIGKILL');
    expect(beforeRestart).toEqual({ first: 1, ask: 1, second: 1 });
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? 'null')).toEqual({ answer: { approved: true } });
    // Second was running when the process died: it runs again (at least once, as in AWS); nothing else does.
    expect(again).toEqual({ second: 1, third: 1 });
    expect(history.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
  });
});
