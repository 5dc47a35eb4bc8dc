import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BEDROCK_ANTHROPIC_VERSION, createBedrockModel } from '../../../lambdas/adapters/bedrock-model.js';
import {
  ModelRequestError,
  ModelThrottledError,
  ModelUnavailableError,
} from '../../../lambdas/core/errors.js';
import type { ModelRequest } from '../../../lambdas/core/model.js';
import {
  hang,
  ScriptedModel,
  scenario,
  status,
  text,
  toolUse,
  withFaults,
} from '../../../local/scripted-model/index.js';

const MODEL_ID = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const KEYS = { accessKeyId: 'bedrock-test', secretAccessKey: 'bedrock-test-secret' };

const request: ModelRequest = {
  model: MODEL_ID,
  provider: { kind: 'bedrock' },
  system: 'You answer.',
  messages: [{ role: 'user', content: 'hello' }],
  tools: [{ name: 'lookup', description: 'Look up.', input_schema: { type: 'object', properties: {} } }],
  maxTokens: 256,
  runId: 'run-bedrock-faults',
};

describe('the real Bedrock SDK against the scripted model, as the adapter names its faults', () => {
  let model: ScriptedModel;
  const client = (maxRetries: number, timeout = 2_000, credentials = KEYS) =>
    createBedrockModel({ region: 'us-east-1', baseURL: model.url, maxRetries, timeout, credentials });

  beforeAll(async () => {
    model = await ScriptedModel.start({ bedrockCredentials: KEYS });
  });
  afterEach(() => {
    expect(model.exhausted()).toEqual([]);
  });
  afterAll(async () => {
    await model.close();
  });

  it('calls InvokeModel with the model id in the path, SigV4-signed for bedrock, in the Messages shape', async () => {
    model.use(scenario('tool use', [toolUse('lookup', { id: 'A-1' }, { text: 'Looking.' })]));

    const response = await client(0).call(request);

    expect(response.content).toEqual([
      { type: 'text', text: 'Looking.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_scripted_/),
        name: 'lookup',
        input: { id: 'A-1' },
      },
    ]);
    expect(response).toMatchObject({ model: MODEL_ID, stopReason: 'tool_use' });
    expect(response.usage.inputTokens).toBeGreaterThan(0);
    const [seen] = model.requests;
    expect(seen?.api).toBe('bedrock');
    expect(seen?.body).toMatchObject({
      model: MODEL_ID,
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      system: 'You answer.',
      max_tokens: 256,
      metadata: { user_id: 'run-bedrock-faults' },
    });
    expect(seen?.conversation).toBe('run-bedrock-faults');
    expect(seen?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(seen?.headers.authorization).toBe('[redacted]');
  });

  it('refuses a request signed with another key (403), which the adapter names ModelRequestError', async () => {
    model.use(scenario('never served', []));

    const error = await client(2, 2_000, { accessKeyId: KEYS.accessKeyId, secretAccessKey: 'wrong' })
      .call(request)
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ModelRequestError);
    expect(error).toMatchObject({
      status: 403,
      message: expect.stringContaining('InvalidSignatureException'),
    });
    expect(model.requests).toHaveLength(0);
  });

  it('refuses an unsigned InvokeModel request with AccessDeniedException', async () => {
    model.use(scenario('never served', []));

    const res = await fetch(`${model.url}/model/${encodeURIComponent(MODEL_ID)}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ anthropic_version: BEDROCK_ANTHROPIC_VERSION, max_tokens: 5, messages: [] }),
    });

    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^AccessDeniedException:/);
    expect(model.requests).toHaveLength(0);
  });

  it('raises ModelThrottledError on a ThrottlingException (429) when the SDK may not retry', async () => {
    model.use(scenario('throttled', [withFaults(text('ok'), status(429, { retryAfterSeconds: 7 }))]));

    const error = await client(0)
      .call(request)
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ModelThrottledError);
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 7 });
    expect(String(error)).toMatch(/Bedrock 429 ThrottlingException: scripted fault/);
  });

  it('succeeds on the second attempt after a ThrottlingException when the SDK may retry once', async () => {
    model.use(scenario('throttled once', [withFaults(text('ok'), status(429, { retryAfterSeconds: 0.01 }))]));

    const response = await client(1).call(request);

    expect(response.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(model.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('names a ServiceQuotaExceededException (400) ModelThrottledError, from its exception name', async () => {
    model.use(
      scenario('quota', [
        withFaults(text('ok'), status(400, { bedrockError: 'ServiceQuotaExceededException' })),
      ]),
    );

    await expect(client(0).call(request)).rejects.toThrow(ModelThrottledError);
  });

  it('raises ModelUnavailableError on InternalServerException (500) and ServiceUnavailableException (503)', async () => {
    model.use(scenario('server errors', [withFaults(text('ok'), status(500), status(503))]));

    await expect(client(0).call(request)).rejects.toThrow(/Bedrock 500 InternalServerException/);
    const second = await client(0)
      .call(request)
      .catch((err: unknown) => err);
    expect(second).toBeInstanceOf(ModelUnavailableError);
    expect(String(second)).toMatch(/503 ServiceUnavailableException/);
  });

  it('raises ModelRequestError with the status on a ValidationException, without retrying', async () => {
    model.use(
      scenario('bad request', [withFaults(text('ok'), status(400, { message: 'Input is too long' }))]),
    );

    const error = await client(2)
      .call(request)
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ModelRequestError);
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect(String(error)).toMatch(/ValidationException: Input is too long/);
    expect(model.requests).toHaveLength(1);
  });

  it('raises ModelUnavailableError when an answer hangs past the client timeout, and recovers on a retry', async () => {
    model.use(scenario('hangs', [withFaults(text('ok'), hang(5_000))]));
    await expect(client(0, 200).call(request)).rejects.toThrow(/Bedrock call timed out after 200 ms/);

    model.use(scenario('hangs once', [withFaults(text('ok'), hang(5_000))]));
    const response = await client(1, 200).call(request);
    expect(response.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(model.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('retries twice by default (adapter defaults)', async () => {
    const fault = status(503, { retryAfterSeconds: 0.01 });
    model.use(scenario('always failing', [withFaults(text('never'), fault, fault, fault)]));
    const defaults = createBedrockModel({ region: 'us-east-1', baseURL: model.url, credentials: KEYS });

    await expect(defaults.call(request)).rejects.toThrow(ModelUnavailableError);
    expect(model.requests.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(model.requests[0]?.headers['x-stainless-timeout']).toBe('60');
  });
});
