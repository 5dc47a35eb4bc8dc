import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../../local/runtime/stack.js';
import { sampleTemplate } from './sample-template.js';

describe('startLocalStack (sample template)', () => {
  const dirs: string[] = [];
  const stacks: LocalStack[] = [];
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const start = async (dataDir: string) => {
    const stack = await startLocalStack({ dataDir, template: sampleTemplate(), model: 'scripted', env: {} });
    stacks.push(stack);
    return stack;
  };

  it('serves the API, runs state machines through the SFN API, and keeps its port across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-stack-'));
    dirs.push(dir);
    const stack = await start(dir);

    const posted = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    // The data dir's own key pair: the endpoints accept no other.
    const sfn = new SFNClient({
      endpoint: stack.sfnUrl,
      region: 'us-east-1',
      credentials: stack.credentials,
    });
    const arn = stack.stateMachines['invoice-reconciliation'] ?? '';
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"hello":"world"}' }),
    );
    await stack.sfn.waitForExecution(executionArn ?? '');
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    sfn.destroy();
    const apiUrl = stack.apiUrl;
    await stacks.pop()?.close();
    const again = await start(dir);

    expect(posted.status).toBe(202);
    expect(posted.headers.get('x-runs-table')).toBe('RunsTable');
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '{}')).toMatchObject({
      event: { hello: 'world' },
      functionName: 'StepFunction',
      sfnEndpoint: stack.sfnUrl,
      local: '1',
    });
    expect(stack.invoker.invocationCounts()).toEqual({ ApiFunction: 1, StepFunction: 1 });
    expect(again.apiUrl).toBe(apiUrl);
    expect(again.credentials).toEqual(stack.credentials);
    expect(statSync(stack.credentialsFile).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(again.app.functions.find((f) => f.logicalId === 'ApiFunction')?.env.APPROVAL_BASE_URL).toBe(
      `${apiUrl}/`,
    );
  });
});
