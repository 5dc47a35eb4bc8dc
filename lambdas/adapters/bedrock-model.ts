/**
 * The Amazon Bedrock adapter: implements core's `ModelClient` with Anthropic's
 * Bedrock SDK (`@anthropic-ai/bedrock-sdk`), which speaks the Messages API
 * shapes over Bedrock's InvokeModel (`POST /model/{modelId}/invoke`, SigV4
 * signed with the function's role). Request and response mapping are the
 * Anthropic adapter's; errors are mapped from Bedrock's own names
 * (`x-amzn-errortype`) and statuses: ThrottlingException, ModelNotReady and
 * service quotas → ModelThrottledError; 5xx, ServiceUnavailable, ModelTimeout,
 * connection failures and timeouts → ModelUnavailableError; any other 4xx
 * (ValidationException, AccessDenied, ResourceNotFound, …) → ModelRequestError.
 */
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import {
  ChaperoneError,
  ModelRequestError,
  ModelThrottledError,
  ModelUnavailableError,
} from '../core/errors.js';
import type { ModelClient } from '../core/model.js';
import { retryAfterSeconds, toCreateParams, toModelResponse } from './anthropic-model.js';
import { nodeFetch } from './http-fetch.js';

/**
 * The Messages API version InvokeModel accepts for Claude. Sent explicitly:
 * the SDK would otherwise forward its own default `anthropic-version`, which
 * Bedrock's ARN-versioned Claude models refuse with a 400.
 */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Options of the Bedrock adapter; read once at cold start by the handler, never from env here. */
export interface BedrockModelOptions {
  /** The Region to call (the source Region of an inference profile). */
  region: string;
  /**
   * Endpoint override, e.g. the scripted model on loopback.
   * @default `https://bedrock-runtime.${region}.amazonaws.com`
   */
  baseURL?: string;
  /**
   * SDK retries per call. Keep the product of retries and `timeout` below the
   * Lambda timeout: SDK, handler and Step Functions retries must not stack unknowingly.
   * @default 2
   */
  maxRetries?: number;
  /** Per-attempt timeout in milliseconds. @default 60_000 */
  timeout?: number;
  /**
   * Static credentials (tests); the default credential chain (the Lambda
   * role) when absent.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Clock for `retry-after` given as an HTTP date. @default Date.now */
  now?: () => number;
}

/** The defaults applied by {@link createBedrockModel}. */
export const BEDROCK_MODEL_DEFAULTS = { maxRetries: 2, timeout: 60_000 } as const;

/** Builds a `ModelClient` backed by Claude on Amazon Bedrock (InvokeModel, not streamed). */
export function createBedrockModel(options: BedrockModelOptions): ModelClient {
  const timeout = options.timeout ?? BEDROCK_MODEL_DEFAULTS.timeout;
  const now = options.now ?? Date.now;
  const common = {
    awsRegion: options.region,
    baseURL: options.baseURL ?? `https://bedrock-runtime.${options.region}.amazonaws.com`,
    maxRetries: options.maxRetries ?? BEDROCK_MODEL_DEFAULTS.maxRetries,
    timeout,
    // No bearer token from AWS_BEARER_TOKEN_BEDROCK: the function signs with its role.
    apiKey: null,
    // A keep-alive request per call, without the global fetch's streams (http-fetch.ts).
    fetch: nodeFetch,
  };
  const creds = options.credentials;
  const client = creds
    ? new AnthropicBedrock({
        ...common,
        awsAccessKey: creds.accessKeyId,
        awsSecretKey: creds.secretAccessKey,
        awsSessionToken: creds.sessionToken ?? null,
      })
    : new AnthropicBedrock(common);
  return {
    async call(request, callOptions) {
      try {
        const message = await client.messages.create(toCreateParams(request), {
          headers: { 'anthropic-version': BEDROCK_ANTHROPIC_VERSION },
          ...(callOptions?.signal ? { signal: callOptions.signal } : {}),
        });
        const response = toModelResponse(message);
        // InvokeModel's body may omit `model`; the trail names what was called.
        return response.model ? response : { ...response, model: request.model };
      } catch (err) {
        throw toBedrockModelError(err, { timeout, now });
      }
    },
  };
}

/** Bedrock error names that mean "slow down", whatever their HTTP status. */
const THROTTLING = new Set([
  'ThrottlingException',
  'ModelNotReadyException',
  'ServiceQuotaExceededException',
]);
/** Bedrock error names that mean "the service failed; try again". */
const UNAVAILABLE = new Set([
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelTimeoutException',
]);

/**
 * Maps anything the Bedrock SDK throws to a named model error. Unknown
 * failures are ModelRequestError (terminal): a bug retried is still a bug.
 */
export function toBedrockModelError(
  err: unknown,
  ctx: { timeout: number; now: () => number },
): ChaperoneError {
  if (err instanceof ChaperoneError) return err;
  if (err instanceof APIUserAbortError)
    return new ModelUnavailableError('Bedrock call aborted', { cause: err });
  if (err instanceof APIConnectionTimeoutError) {
    return new ModelUnavailableError(`Bedrock call timed out after ${ctx.timeout} ms`, { cause: err });
  }
  if (err instanceof APIConnectionError) {
    return new ModelUnavailableError(`cannot reach Bedrock: ${err.message}`, { cause: err });
  }
  if (err instanceof APIError) {
    const status: number | undefined = err.status;
    const type = bedrockErrorType(err);
    const detail = describe(err, type);
    if (THROTTLING.has(type ?? '') || status === 429) {
      return new ModelThrottledError(detail, retryAfterSeconds(err.headers, ctx.now), { cause: err });
    }
    if (UNAVAILABLE.has(type ?? '') || status === undefined || status === 408 || status >= 500) {
      return new ModelUnavailableError(detail, { cause: err, answered: status !== undefined });
    }
    return new ModelRequestError(detail, status, { cause: err });
  }
  if (err instanceof AnthropicError) return new ModelRequestError(err.message, undefined, { cause: err });
  const reason = err instanceof Error ? err.message : String(err);
  return new ModelRequestError(`unexpected failure calling Bedrock: ${reason}`, undefined, { cause: err });
}

/** Bedrock's error name: `x-amzn-errortype` (`ThrottlingException:http://…`), else the body's `__type`. */
export function bedrockErrorType(err: APIError): string | undefined {
  const header = err.headers?.get('x-amzn-errortype');
  const raw = header ?? stringField(err.error, '__type');
  if (!raw) return undefined;
  const name = raw.split(':')[0] ?? raw;
  return name.split('#').at(-1) || undefined;
}

function describe(err: APIError, type: string | undefined): string {
  const message = stringField(err.error, 'message') ?? stringField(err.error, 'Message') ?? err.message;
  const text = `Bedrock ${err.status ?? 'error'}${type ? ` ${type}` : ''}: ${message}`;
  const requestId = err.headers?.get('x-amzn-requestid');
  return requestId ? `${text} (request ${requestId})` : text;
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field: unknown = Reflect.get(value, key);
  return typeof field === 'string' && field !== '' ? field : undefined;
}
