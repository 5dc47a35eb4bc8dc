import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { findApprovalEmail } from '../../../../local/cli/demo.js';
import { demoScenario } from '../../../../local/cli/demo-scenario.js';
import { MAX_PAYLOAD_BYTES } from '../../../../local/runtime/lambda-runtime.js';
import { type LocalStack, startLocalStack } from '../../../../local/runtime/stack.js';

/**
 * What a web page in the user's browser, or another local process, might
 * send the local stack: each is refused with its status, and nothing is
 * created or changed (the run stays paused at its approval, no second run).
 */
let stack: LocalStack;
let dir: string;
let runId: string;
let approvalId: string;
let link: string;
let taskToken: string;

/** A raw HTTP request (fetch will not send a foreign Host). */
function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: init.method ?? 'GET',
        headers: init.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const runBody = JSON.stringify({ workflow: 'invoice-reconciliation', input: { invoiceId: 'INV-000102' } });

/** What must not change: executions, the run's status, the approval, the outbox. */
async function snapshot() {
  const run = (await (await fetch(`${stack.apiUrl}/runs/${runId}`)).json()) as { status: string };
  const approval = (await (await fetch(`${stack.apiUrl}/approvals?status=pending`)).json()) as {
    approvals: Array<{ approvalId: string }>;
  };
  return {
    executions: stack.sfn.listExecutions({}).executions?.length,
    run: run.status,
    pending: approval.approvals.map((a) => a.approvalId),
    outbox: readdirSync(stack.outboxDir).length,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaperone-refusals-'));
  stack = await startLocalStack({ dataDir: dir, model: 'scripted', scenario: demoScenario, env: {} });
  const res = await fetch(`${stack.apiUrl}/runs`, {
    method: 'POST',
    body: runBody,
    headers: { 'content-type': 'application/json' },
  });
  runId = ((await res.json()) as { runId: string }).runId;
  for (let i = 0; i < 400 && !link; i++) {
    const run = (await (await fetch(`${stack.apiUrl}/runs/${runId}`)).json()) as {
      trail?: Array<{ type: string; approvalId?: string }>;
    };
    approvalId = run.trail?.find((e) => e.type === 'approval_requested')?.approvalId ?? '';
    link = (approvalId && findApprovalEmail(stack.outboxDir, approvalId)?.links[0]) || '';
    if (!link) await new Promise((r) => setTimeout(r, 50));
  }
  const ddb = new DynamoDBClient({
    endpoint: stack.dynamoUrl,
    region: 'us-east-1',
    credentials: stack.credentials,
  });
  const table = stack.app.tables.find((t) => /approval/i.test(t.tableName))?.tableName ?? '';
  const items = (await ddb.send(new ScanCommand({ TableName: table }))).Items ?? [];
  ddb.destroy();
  taskToken = items.map((i) => i.taskToken?.S).find((t) => t !== undefined) ?? '';
}, 120_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  // The Anthropic SDK warns about the example's deprecated model id; not this test's subject.
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});

describe('the local API refuses what a web page could send', () => {
  it('the setup: one run paused at its approval, with a link and a stored task token', async () => {
    expect(await snapshot()).toMatchObject({ executions: 1, run: 'RUNNING', pending: [approvalId] });
    expect(link).toContain(`/approvals/${approvalId}`);
    expect(taskToken).not.toBe('');
  });

  it('POST /runs as text/plain (what a cross-site form can send) → 415, no run', async () => {
    const before = await snapshot();

    const res = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      body: runBody,
      headers: { 'content-type': 'text/plain' },
    });

    expect(res.status).toBe(415);
    expect(((await res.json()) as { message: string }).message).toContain('application/json');
    expect(await snapshot()).toEqual(before);
  });

  it('POST /runs from a foreign Origin (another local port) → 403, no run', async () => {
    const before = await snapshot();
    const evil = `http://127.0.0.1:${Number(new URL(stack.apiUrl).port) === 1 ? 2 : 1}`;

    const res = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      body: runBody,
      headers: { 'content-type': 'application/json', origin: evil },
    });

    expect(res.status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('a foreign Host (DNS rebinding) → 403 for reads and writes; loopback names and the own Origin pass', async () => {
    const before = await snapshot();
    const port = new URL(stack.apiUrl).port;

    const read = await raw(`${stack.apiUrl}/runs/${runId}`, {
      headers: { host: `attacker.example:${port}` },
    });
    const write = await raw(`${stack.apiUrl}/runs`, {
      method: 'POST',
      body: runBody,
      headers: { host: 'attacker.example', 'content-type': 'application/json' },
    });
    const viaLocalhost = await raw(`${stack.apiUrl}/runs/${runId}`, {
      headers: { host: `localhost:${port}` },
    });
    const viaV6 = await raw(`${stack.apiUrl}/runs/${runId}`, { headers: { host: `[::1]:${port}` } });

    expect(read.status).toBe(403);
    expect(read.body).not.toContain(runId);
    expect(write.status).toBe(403);
    expect(viaLocalhost.status).toBe(200);
    expect(viaV6.status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });

  it('the approval POST from a foreign Origin → 403, still pending', async () => {
    const page = await (await fetch(link, { headers: { accept: 'text/html' } })).text();
    const digest = /name="digest" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const before = await snapshot();
    const form = new URLSearchParams({ decision: 'approve', digest, comment: 'from a web page' });

    const foreign = await fetch(link, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    });
    const nullOrigin = await fetch(link, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
    });
    const crossSite = await fetch(link, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-site' },
    });

    expect(digest).not.toBe('');
    expect([foreign.status, nullOrigin.status, crossSite.status]).toEqual([403, 403, 403]);
    expect(await snapshot()).toEqual(before);
  });

  it('bodies over the limits → 413 naming the limit, not 502; no run', async () => {
    const before = await snapshot();
    const padded = (bytes: number) =>
      JSON.stringify({
        workflow: 'invoice-reconciliation',
        input: { invoiceId: 'INV-000102', pad: 'x'.repeat(bytes) },
      });

    const seven = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      body: padded(7 * 1024 * 1024),
      headers: { 'content-type': 'application/json' },
    });
    const sevenBody = (await seven.json()) as { message: string };
    const eleven = await raw(`${stack.apiUrl}/runs`, {
      method: 'POST',
      body: padded(11 * 1024 * 1024),
      headers: { 'content-type': 'application/json' },
    });

    expect(seven.status).toBe(413);
    expect(sevenBody.message).toContain(String(MAX_PAYLOAD_BYTES));
    expect(eleven.status).toBe(413);
    expect(eleven.body).toContain('10 MB');
    expect(await snapshot()).toEqual(before);
  });
});

describe('the local AWS endpoints take only the data dir’s own signature', () => {
  it('an unsigned SendTaskSuccess with the real task token → 403; another key pair → 403; the run still waits', async () => {
    const before = await snapshot();

    const unsigned = await fetch(stack.sfnUrl, {
      method: 'POST',
      body: JSON.stringify({ taskToken, output: '{"decision":"approved"}' }),
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AWSStepFunctions.SendTaskSuccess',
      },
    });
    const unsignedBody = (await unsigned.json()) as { __type: string };
    const other = new SFNClient({
      endpoint: stack.sfnUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const forged = await other.send(new SendTaskSuccessCommand({ taskToken, output: '{}' })).then(
      () => 'accepted',
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        `${err.name} ${err.$metadata?.httpStatusCode}`,
    );
    other.destroy();

    expect(unsigned.status).toBe(403);
    expect(unsignedBody.__type).toContain('MissingAuthenticationTokenException');
    expect(forged).toBe('UnrecognizedClientException 403');
    expect(await snapshot()).toEqual(before);
  });

  it('a valid signature sent with another body (a tampered request) → 403', async () => {
    // Let the real SDK sign a harmless SendTaskFailure, keep its headers, and stop it there.
    const client = new SFNClient({
      endpoint: stack.sfnUrl,
      region: 'us-east-1',
      credentials: stack.credentials,
    });
    let signed: Record<string, string> = {};
    client.middlewareStack.add(
      () => async (args) => {
        signed = { ...(args.request as { headers: Record<string, string> }).headers };
        throw new Error('captured');
      },
      { step: 'finalizeRequest', priority: 'low', name: 'capture' },
    );
    await client
      .send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' }))
      .catch(() => undefined);
    client.destroy();
    const before = await snapshot();
    const { host: _host, 'content-length': _length, ...headers } = signed;

    const tampered = await fetch(stack.sfnUrl, {
      method: 'POST',
      body: JSON.stringify({ taskToken, output: '{"decision":"approved"}' }),
      headers,
    });
    const body = (await tampered.json()) as { __type: string };

    expect(signed.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=LOCAL/);
    expect(tampered.status).toBe(403);
    expect(body.__type).toContain('InvalidSignatureException');
    expect(await snapshot()).toEqual(before);
  });

  it('unsigned DynamoDB and SES/SNS/Secrets Manager calls → 403, nothing read or written', async () => {
    const before = await snapshot();

    const scan = await fetch(stack.dynamoUrl, {
      method: 'POST',
      body: JSON.stringify({ TableName: stack.app.tables[0]?.tableName }),
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Scan' },
    });
    const scanText = await scan.text();
    const mail = await fetch(`${stack.servicesUrl}/v2/email/outbound-emails`, {
      method: 'POST',
      body: JSON.stringify({
        FromEmailAddress: 'a@example.com',
        Destination: { ToAddresses: ['b@example.com'] },
      }),
      headers: { 'content-type': 'application/json' },
    });
    const secret = await fetch(stack.servicesUrl, {
      method: 'POST',
      body: JSON.stringify({ SecretId: stack.app.secrets[0]?.arn }),
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.GetSecretValue',
      },
    });
    const secretText = await secret.text();

    expect(scan.status).toBe(403);
    expect(scanText).not.toContain('"Items"');
    expect(mail.status).toBe(403);
    expect(secret.status).toBe(403);
    expect(secretText).not.toContain('SecretString');
    expect(await snapshot()).toEqual(before);
  });
});
