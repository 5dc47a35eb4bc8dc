import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../unit/local/sfn/helpers.js';

const script = fileURLToPath(new URL('./fixtures/child-runtime.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function spawnRuntime(dataDir: string, workDir: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir, workDir], { stdio: 'ignore' });
  children.push(child);
  return child;
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

function readyUrl(workDir: string, pid: number | undefined): string | undefined {
  const f = join(workDir, `ready-${pid}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { url: string }).url : undefined;
}

function calls(workDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(workDir)) {
    const m = /^call-([A-Za-z]+)-/.exec(f);
    if (m) out[m[1] as string] = (out[m[1] as string] ?? 0) + 1;
  }
  return out;
}

describe('kill -9 and restart', () => {
  it('resumes a Wait at its original time and a pending task token, invoking each Lambda exactly once', async () => {
    const dataDir = tempDir();
    const workDir = tempDir();
    const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:kill-test:kill-me';

    const first = spawnRuntime(dataDir, workDir);
    await until('first runtime', () => readyUrl(workDir, first.pid));
    const token = await until('task token', () =>
      existsSync(join(workDir, 'token.txt')) ? readFileSync(join(workDir, 'token.txt'), 'utf8') : undefined,
    );
    await until('Wait entered', () => (calls(workDir).beforeWait ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = spawnRuntime(dataDir, workDir);
    const url = await until('second runtime', () => readyUrl(workDir, second.pid));
    const client = new SFNClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }));
    let status: string | undefined;
    while (status !== 'SUCCEEDED') {
      status = (await client.send(new DescribeExecutionCommand({ executionArn }))).status;
      expect(['RUNNING', 'SUCCEEDED']).toContain(status);
      await new Promise((r) => setTimeout(r, 50));
    }
    const history = (await client.send(new GetExecutionHistoryCommand({ executionArn }))).events ?? [];
    client.destroy();

    expect(calls(workDir)).toEqual({ beforeWait: 1, ask: 1, afterWait: 1, afterToken: 1 });
    const entered = history.find((e) => e.type === 'WaitStateEntered')?.timestamp?.getTime() ?? 0;
    const exited = history.find((e) => e.type === 'WaitStateExited')?.timestamp?.getTime() ?? 0;
    expect(exited - entered).toBeGreaterThanOrEqual(3000);
    expect(exited).toBeLessThan(killedAt + 3000);
    expect(history.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
  });
});
