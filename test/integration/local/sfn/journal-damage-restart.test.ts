import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeExecutionCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../unit/local/sfn/helpers.js';

const script = fileURLToPath(new URL('./fixtures/child-runtime.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function spawnRuntime(dataDir: string, workDir: string): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir, workDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  return { child, stderr: () => err };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const readyUrl = (workDir: string, pid: number | undefined): string | undefined => {
  const f = join(workDir, `ready-${pid}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { url: string }).url : undefined;
};

describe('kill -9, a damaged journal, restart', () => {
  it('the restarted runtime says which execution and line on stderr, shows it FAILED and resumes nothing', async () => {
    const dataDir = tempDir();
    const workDir = tempDir();
    const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:kill-test:kill-me';
    const first = spawnRuntime(dataDir, workDir);
    await until('first runtime', () => readyUrl(workDir, first.child.pid));
    const token = await until('task token', () =>
      existsSync(join(workDir, 'token.txt')) ? readFileSync(join(workDir, 'token.txt'), 'utf8') : undefined,
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const execDir = join(dataDir, 'executions', readdirSync(join(dataDir, 'executions'))[0] as string);
    const file = join(execDir, 'journal.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = `${lines[1]?.slice(0, 20)}#${lines[1]?.slice(21)}`;
    writeFileSync(file, lines.join('\n'));
    const damaged = readFileSync(file);
    const callsBefore = readdirSync(workDir).filter((f) => f.startsWith('call-')).length;

    const second = spawnRuntime(dataDir, workDir);
    const url = await until('second runtime', () => readyUrl(workDir, second.child.pid));
    const client = new SFNClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    const callback = await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })).then(
      () => 'accepted',
      (err: Error) => err.name,
    );
    await new Promise((r) => setTimeout(r, 300));
    client.destroy();

    expect(second.stderr()).toMatch(
      new RegExp(`JournalCorruptError: execution kill-me \\(\\w+\\): ${file} line 2: not JSON`),
    );
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.JournalCorrupt');
    expect(callback).toBe('TaskDoesNotExist');
    expect(readFileSync(file).equals(damaged)).toBe(true);
    expect(readdirSync(workDir).filter((f) => f.startsWith('call-'))).toHaveLength(callsBefore);
  });
});
