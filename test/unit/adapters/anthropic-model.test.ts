import {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_MODEL_DEFAULTS,
  isJson,
  retryAfterSeconds,
  toCreateParams,
  toModelError,
  toModelResponse,
} from '../../../lambdas/adapters/anthropic-model.js';
import {
  ModelRequestError,
  ModelThrottledError,
  ModelUnavailableError,
} from '../../../lambdas/core/errors.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const ctx = { timeout: 1_000, now: () => NOW };

function apiError(status: number, type: string, headers: Record<string, string> = {}): APIError {
  const body = { type: 'error', error: { type, message: `${type} happened` } };
  return APIError.generate(status, body, undefined, new Headers({ 'request-id': 'req_1', ...headers }));
}

describe('toModelError', () => {
  it('maps 429 to ModelThrottledError with retry-after seconds', () => {
    const error = toModelError(apiError(429, 'rate_limit_error', { 'retry-after': '12' }), ctx);

    expect(error).toBeInstanceOf(ModelThrottledError);
    expect(error).toMatchObject({ name: 'ModelThrottledError', retryAfterSeconds: 12, retryable: true });
    expect(error.message).toBe(
      'Anthropic API 429 rate_limit_error: rate_limit_error happened (request req_1)',
    );
  });

  it('maps 429 without retry-after to ModelThrottledError without a wait', () => {
    const error = toModelError(apiError(429, 'rate_limit_error'), ctx);

    expect(error).toMatchObject({ name: 'ModelThrottledError', retryAfterSeconds: undefined });
  });

  it.each([
    [500, 'api_error'],
    [503, 'api_error'],
    [529, 'overloaded_error'],
    [408, 'timeout_error'],
  ])('maps %i to ModelUnavailableError', (status, type) => {
    const error = toModelError(apiError(status, type), ctx);

    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error.retryable).toBe(true);
  });

  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
  ])('maps %i to ModelRequestError with the status', (status, type) => {
    const error = toModelError(apiError(status, type), ctx);

    expect(error).toBeInstanceOf(ModelRequestError);
    expect(error).toMatchObject({ status, retryable: false });
  });

  it('maps timeouts, connection failures and aborts to ModelUnavailableError, keeping the cause', () => {
    const timeout = new APIConnectionTimeoutError();
    const refused = new APIConnectionError({ message: 'connect ECONNREFUSED' });
    const aborted = new APIUserAbortError();

    expect(toModelError(timeout, ctx)).toMatchObject({ name: 'ModelUnavailableError', cause: timeout });
    expect(toModelError(timeout, ctx).message).toBe('model call timed out after 1000 ms');
    expect(toModelError(refused, ctx)).toMatchObject({ name: 'ModelUnavailableError', cause: refused });
    expect(toModelError(aborted, ctx)).toMatchObject({ name: 'ModelUnavailableError', cause: aborted });
  });

  it('maps SDK client-side errors and unknown failures to terminal ModelRequestError', () => {
    expect(toModelError(new AnthropicError('bad options'), ctx)).toMatchObject({ name: 'ModelRequestError' });
    expect(toModelError(new TypeError('oops'), ctx).message).toBe(
      'unexpected failure calling the model: oops',
    );
  });

  it('passes named errors through unchanged', () => {
    const named = new ModelUnavailableError('already named');

    expect(toModelError(named, ctx)).toBe(named);
  });
});

describe('retryAfterSeconds', () => {
  it.each([
    [{ 'retry-after': '3' }, 3],
    [{ 'retry-after': '0.5' }, 0.5],
    [{ 'retry-after-ms': '1500', 'retry-after': '9' }, 1.5],
    [{ 'retry-after': 'Wed, 25 Nov 2026 12:00:30 GMT' }, 30],
    [{ 'retry-after': 'Wed, 25 Nov 2026 11:00:00 GMT' }, 0],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('reads %j as %s seconds', (headers, expected) => {
    expect(retryAfterSeconds(new Headers(headers), () => NOW)).toBe(expected);
  });
});

describe('toCreateParams', () => {
  it('maps core request fields, sends runId as metadata.user_id and forces object tool schemas', () => {
    const params = toCreateParams({
      model: 'claude-x',
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } }] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'no', is_error: true }],
        },
      ],
      tools: [{ name: 'f', description: 'does f', input_schema: { properties: {} } }],
      maxTokens: 100,
      runId: 'run-1',
    });

    expect(params).toEqual({
      model: 'claude-x',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } }] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'no', is_error: true }],
        },
      ],
      tools: [{ name: 'f', description: 'does f', input_schema: { properties: {}, type: 'object' } }],
      metadata: { user_id: 'run-1' },
    });
  });

  it('omits an empty system prompt, an empty tool list and a missing run id', () => {
    const params = toCreateParams({
      model: 'm',
      system: '',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [],
      maxTokens: 5,
    });

    expect(params).toEqual({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
  });
});

describe('toModelResponse', () => {
  const message = (overrides: Partial<Message>): Message => ({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    container: null,
    diagnostics: null,
    stop_details: null,
    stop_reason: 'end_turn',
    stop_sequence: null,
    content: [],
    usage: {
      input_tokens: 10,
      output_tokens: 4,
      cache_creation: null,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      inference_geo: null,
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: null,
      speed: null,
    },
    ...overrides,
  });

  it('maps null cache counts to 0 and keeps text and tool_use blocks', () => {
    const response = toModelResponse(
      message({
        stop_reason: 'tool_use',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 'sig' },
          { type: 'text', text: 'Calling f.', citations: null },
          { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, null] }, caller: { type: 'direct' } },
        ],
      }),
    );

    expect(response).toEqual({
      id: 'msg_1',
      model: 'claude-x',
      stopReason: 'tool_use',
      content: [
        { type: 'text', text: 'Calling f.' },
        { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, null] } },
      ],
      usage: { inputTokens: 10, outputTokens: 4, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
    });
  });

  it('raises ModelUnavailableError on a tool input that is not JSON', () => {
    const bad = message({
      content: [{ type: 'tool_use', id: 't', name: 'f', input: undefined, caller: { type: 'direct' } }],
    });

    expect(() => toModelResponse(bad)).toThrow(ModelUnavailableError);
  });
});

describe('isJson', () => {
  it('accepts plain JSON and rejects what JSON cannot carry', () => {
    expect(isJson({ a: [1, 'x', true, null, { b: {} }] })).toBe(true);
    expect(isJson(undefined)).toBe(false);
    expect(isJson(Number.NaN)).toBe(false);
    expect(isJson(new Date())).toBe(false);
    expect(isJson({ f: () => 1 })).toBe(false);
  });
});

describe('defaults', () => {
  it('owns retries explicitly: 2 SDK retries and a 60 s timeout unless told otherwise', () => {
    expect(ANTHROPIC_MODEL_DEFAULTS).toEqual({
      baseURL: 'https://api.anthropic.com',
      maxRetries: 2,
      timeout: 60_000,
    });
  });
});
