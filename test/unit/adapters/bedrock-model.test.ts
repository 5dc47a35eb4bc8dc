import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { bedrockErrorType, toBedrockModelError } from '../../../lambdas/adapters/bedrock-model.js';
import {
  ModelRequestError,
  ModelThrottledError,
  ModelUnavailableError,
  ValidationError,
} from '../../../lambdas/core/errors.js';

const ctx = { timeout: 1_500, now: () => Date.parse('2026-01-01T00:00:00Z') };

/** An error as the Bedrock SDK raises it from a Bedrock answer: exception in x-amzn-ErrorType, `{message}` body. */
function bedrockError(
  status: number,
  name: string,
  message = 'it went wrong',
  headers: Record<string, string> = {},
) {
  return APIError.generate(
    status,
    { message },
    undefined,
    new Headers({
      'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': 'b-req-1',
      ...headers,
    }),
  );
}

describe('toBedrockModelError', () => {
  it.each([
    [429, 'ThrottlingException', ModelThrottledError],
    [429, 'ModelNotReadyException', ModelThrottledError],
    [400, 'ServiceQuotaExceededException', ModelThrottledError],
    [500, 'InternalServerException', ModelUnavailableError],
    [503, 'ServiceUnavailableException', ModelUnavailableError],
    [408, 'ModelTimeoutException', ModelUnavailableError],
    [400, 'ValidationException', ModelRequestError],
    [403, 'AccessDeniedException', ModelRequestError],
    [404, 'ResourceNotFoundException', ModelRequestError],
    [424, 'ModelErrorException', ModelRequestError],
  ])('names a %i %s %O', (status, name, expected) => {
    const mapped = toBedrockModelError(bedrockError(status, name), ctx);

    expect(mapped).toBeInstanceOf(expected);
    expect(mapped.message).toBe(`Bedrock ${status} ${name}: it went wrong (request b-req-1)`);
    expect(mapped.cause).toBeInstanceOf(APIError);
  });

  it('classifies by status when Bedrock names no exception (a proxy in between)', () => {
    const bare = (status: number) => APIError.generate(status, { message: 'x' }, undefined, new Headers());

    expect(toBedrockModelError(bare(429), ctx)).toBeInstanceOf(ModelThrottledError);
    expect(toBedrockModelError(bare(502), ctx)).toBeInstanceOf(ModelUnavailableError);
    expect(toBedrockModelError(bare(409), ctx)).toMatchObject({ name: 'ModelRequestError', status: 409 });
  });

  it('keeps the status of a refusal and the retry-after of a throttle', () => {
    expect(toBedrockModelError(bedrockError(400, 'ValidationException'), ctx)).toMatchObject({
      status: 400,
      retryable: false,
    });
    expect(
      toBedrockModelError(bedrockError(429, 'ThrottlingException', 'slow down', { 'retry-after': '3' }), ctx),
    ).toMatchObject({ retryAfterSeconds: 3, retryable: true });
  });

  it('names timeouts, aborts and connection failures ModelUnavailableError', () => {
    expect(toBedrockModelError(new APIConnectionTimeoutError(), ctx).message).toBe(
      'Bedrock call timed out after 1500 ms',
    );
    expect(toBedrockModelError(new APIUserAbortError(), ctx)).toBeInstanceOf(ModelUnavailableError);
    const refused = new APIConnectionError({ message: 'Failed to resolve AWS credentials' });
    expect(toBedrockModelError(refused, ctx).message).toBe(
      'cannot reach Bedrock: Failed to resolve AWS credentials',
    );
  });

  it('passes named errors through and makes anything else a terminal ModelRequestError', () => {
    const named = new ValidationError('bad', '/x');
    expect(toBedrockModelError(named, ctx)).toBe(named);
    expect(toBedrockModelError(new TypeError('boom'), ctx)).toMatchObject({
      name: 'ModelRequestError',
      message: 'unexpected failure calling Bedrock: boom',
    });
  });
});

describe('bedrockErrorType', () => {
  it('reads the exception from x-amzn-ErrorType, else from the body __type', () => {
    expect(bedrockErrorType(bedrockError(429, 'ThrottlingException'))).toBe('ThrottlingException');
    const typed = APIError.generate(
      400,
      { __type: 'com.amazon.bedrock#ValidationException', message: 'x' },
      undefined,
      new Headers(),
    );
    expect(bedrockErrorType(typed)).toBe('ValidationException');
    expect(bedrockErrorType(APIError.generate(500, undefined, 'x', new Headers()))).toBeUndefined();
  });
});
