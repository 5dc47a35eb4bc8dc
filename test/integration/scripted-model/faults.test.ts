import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicModel } from '../../../lambdas/adapters/anthropic-model.js';
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
  withFaults,
} from '../../../local/scripted-model/index.js';

const request: ModelRequest = {
  model: 'claude-scripted-test',
  system: '',
  messages: [{ role: 'user', content: 'hello' }],
  tools: [],
  maxTokens: 256,
  runId: 'run-faults',
};

describe('faults served by the scripted model, as the adapter names them', () => {
  let model: ScriptedModel;
  const client = (maxRetries: number, timeout = 2_000) =>
    createAnthropicModel({ apiKey: 'test-key', baseURL: model.url, maxRetries, timeout });

  beforeAll(async () => {
    model = await ScriptedModel.start();
  });
  afterEach(() => {
    expect(model.exhausted()).toEqual([]);
  });
  afterAll(async () => {
    await model.close();
  });

  it('raises ModelThrottledError with retry-after seconds on a 429 when the SDK may not retry', async () => {
    model.use(scenario('throttled', [withFaults(text('ok'), status(429, { retryAfterSeconds: 7 }))]));

    const error = await client(0)
      .call(request)
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ModelThrottledError);
    expect(error).toMatchObject({ name: 'ModelThrottledError', retryable: true, retryAfterSeconds: 7 });
    expect(String(error)).toMatch(/429 rate_limit_error/);
  });

  it('succeeds on the second attempt after a 429 when the SDK may retry once', async () => {
    model.use(scenario('throttled once', [withFaults(text('ok'), status(429, { retryAfterSeconds: 0.01 }))]));

    const response = await client(1).call(request);

    expect(response.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(model.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('raises ModelUnavailableError on a 500', async () => {
    model.use(scenario('server error', [withFaults(text('ok'), status(500))]));

    await expect(client(0).call(request)).rejects.toThrow(ModelUnavailableError);
  });

  it('raises ModelUnavailableError on a 529 overloaded', async () => {
    model.use(scenario('overloaded', [withFaults(text('ok'), status(529))]));

    await expect(client(0).call(request)).rejects.toThrow(/529 overloaded_error/);
  });

  it('raises ModelRequestError with the status on a 400', async () => {
    model.use(
      scenario('bad request', [withFaults(text('ok'), status(400, { message: 'prompt is too long' }))]),
    );

    const error = await client(2)
      .call(request)
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ModelRequestError);
    expect(error).toMatchObject({
      status: 400,
      retryable: false,
      message: expect.stringContaining('prompt is too long'),
    });
    expect(model.requests).toHaveLength(1);
  });

  it('raises ModelUnavailableError when an answer hangs past the client timeout', async () => {
    model.use(scenario('hangs', [withFaults(text('ok'), hang(5_000))]));

    await expect(client(0, 200).call(request)).rejects.toThrow(/timed out after 200 ms/);
  });

  it('recovers from a hang when the SDK retries, serving the reply on the next attempt', async () => {
    model.use(scenario('hangs once', [withFaults(text('ok'), hang(5_000))]));

    const response = await client(1, 200).call(request);

    expect(response.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(model.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('serves a slow answer that arrives within the timeout', async () => {
    model.use(scenario('slow', [text('slow ok', { delayMs: 50 })]));

    const response = await client(0).call(request);

    expect(response.content).toEqual([{ type: 'text', text: 'slow ok' }]);
  });

  it('retries twice by default and times out after 60 s (adapter defaults)', async () => {
    const fault = status(500, { retryAfterSeconds: 0.01 });
    model.use(scenario('always failing', [withFaults(text('never'), fault, fault, fault)]));
    const defaults = createAnthropicModel({ apiKey: 'test-key', baseURL: model.url });

    await expect(defaults.call(request)).rejects.toThrow(ModelUnavailableError);
    expect(model.requests.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(model.requests[0]?.headers['x-stainless-timeout']).toBe('60');
  });

  it('raises ModelUnavailableError when nothing listens', async () => {
    const gone = await ScriptedModel.start();
    await gone.close();
    const unreachable = createAnthropicModel({ apiKey: 'k', baseURL: gone.url, maxRetries: 0, timeout: 500 });

    await expect(unreachable.call(request)).rejects.toThrow(ModelUnavailableError);
  });
});
