import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaToolExecutor } from '../../../lambdas/adapters/lambda-tools.js';
import { LOCAL_CREDENTIALS } from '../../../local/aws/local-credentials.js';
import { verifySigV4 } from '../../../local/aws/sigv4-verify.js';
import { defineTool } from '../../../state-machines/index.js';

/**
 * The tool step's Invoke of a tool's function: what each answer of Lambda's
 * API becomes. A server on loopback answers as Lambda does (the answers a
 * real local function cannot be made to give: a throttle, a crash header).
 */
const echo = defineTool({
  name: 'echo',
  description: 'Echo.',
  input: { type: 'object', properties: { text: { type: 'string' } }, additionalProperties: false } as const,
  access: 'read',
  run: async (args) => args,
});
const FN = 'arn:aws:lambda:us-east-1:000000000000:function:chaperone-tool-echo';

let answer: (
  req: IncomingMessage,
  body: string,
) => { status: number; headers?: Record<string, string>; body: string };
const seen: Array<{ path: string; signed: boolean; event: Record<string, unknown> }> = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const refused = verifySigV4(
      { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw },
      LOCAL_CREDENTIALS,
    );
    seen.push({ path: req.url ?? '', signed: !refused, event: JSON.parse(raw.toString('utf8')) });
    const a = answer(req, raw.toString('utf8'));
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body);
  });
});
let url = '';
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const attempt = (endpoint = url) =>
  createLambdaToolExecutor({ functions: { echo: FN }, region: 'us-east-1', endpoint })(
    echo,
    { text: 'hi' },
    { signal: new AbortController().signal, runId: 'r1', idempotencyKey: 'k1', attempt: 1 },
  );

describe("the tool step's Invoke", () => {
  it("sends one signed Invoke of the tool's function with the attempt, and returns its value", async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ ok: true, value: { text: 'hi' } }) });
    seen.length = 0;
    await expect(attempt()).resolves.toEqual({ text: 'hi' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.path).toBe(`/2015-03-31/functions/${encodeURIComponent(FN)}/invocations`);
    expect(seen[0]?.signed).toBe(true);
    expect(seen[0]?.event).toMatchObject({
      tool: 'echo',
      args: { text: 'hi' },
      runId: 'r1',
      idempotencyKey: 'k1',
    });
  });

  it("raises the tool's own failure with its name and retry hints", async () => {
    answer = () => ({
      status: 200,
      body: JSON.stringify({
        ok: false,
        error: { name: 'VendorDown', message: 'vendor API 503', retryable: true, retryAfterSeconds: 2 },
      }),
    });
    await expect(attempt()).rejects.toMatchObject({
      name: 'VendorDown',
      message: 'vendor API 503',
      retryable: true,
      retryAfterSeconds: 2,
    });
  });

  it('calls a crashed function an unknown outcome', async () => {
    answer = () => ({
      status: 200,
      headers: { 'x-amz-function-error': 'Unhandled' },
      body: JSON.stringify({ errorType: 'Runtime.ExitError', errorMessage: 'exited' }),
    });
    await expect(attempt()).rejects.toMatchObject({ name: 'ToolFunctionError', outcomeUnknown: true });
  });

  it('calls a throttled invoke retryable, never an unknown outcome (the function did not run)', async () => {
    answer = () => ({
      status: 429,
      headers: { 'x-amzn-errortype': 'TooManyRequestsException:' },
      body: JSON.stringify({ Type: 'User', message: 'Rate Exceeded.' }),
    });
    const err = (await attempt().catch((e: unknown) => e)) as Error & {
      retryable?: boolean;
      outcomeUnknown?: boolean;
    };
    expect(err.name).toBe('ToolFunctionThrottled');
    expect(err.message).toContain('Rate Exceeded.');
    expect(err.retryable).toBe(true);
    expect(err.outcomeUnknown).toBeUndefined();
  });

  it('calls any other refusal, or no answer at all, an unknown outcome naming the service error', async () => {
    answer = () => ({
      status: 500,
      headers: { 'x-amzn-errortype': 'ServiceException' },
      body: JSON.stringify({ message: 'boom' }),
    });
    await expect(attempt()).rejects.toMatchObject({
      name: 'ToolFunctionUnavailable',
      message: expect.stringContaining('boom'),
      outcomeUnknown: true,
    });
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((r) => dead.close(() => r()));
    await expect(attempt(deadUrl)).rejects.toMatchObject({
      name: 'ToolFunctionUnavailable',
      outcomeUnknown: true,
    });
  });
});
