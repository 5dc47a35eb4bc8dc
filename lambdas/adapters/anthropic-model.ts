/**
 * The Anthropic adapter: implements core's `ModelClient` with the official SDK
 * and turns every SDK failure into one of the named model errors, so Step
 * Functions can route on the name (429 → ModelThrottledError; 5xx, 529,
 * 408, connection failures and timeouts → ModelUnavailableError; any other
 * refusal → ModelRequestError).
 */
import {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { BaseAnthropic, type ClientOptions } from '@anthropic-ai/sdk/client';
import type {
  ContentBlockParam,
  MessageCreateParamsNonStreaming,
  MessageParam,
  Message as SdkMessage,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import { Messages } from '@anthropic-ai/sdk/resources/messages';
import {
  ChaperoneError,
  ModelRequestError,
  ModelThrottledError,
  ModelUnavailableError,
} from '../core/errors.js';
import type { ContentBlock, Json, Message, ModelClient, ModelRequest, ModelResponse } from '../core/model.js';
import { nodeFetch } from './http-fetch.js';

/** Options of the Anthropic adapter; read once at cold start by the handler, never from env here. */
export interface AnthropicModelOptions {
  /** The API key (from Secrets Manager in AWS, anything for the scripted model). */
  apiKey: string;
  /** @default 'https://api.anthropic.com' */
  baseURL?: string;
  /**
   * SDK retries per call. Keep the product of retries and `timeout` below the
   * Lambda timeout: SDK, handler and Step Functions retries must not stack unknowingly.
   * @default 2
   */
  maxRetries?: number;
  /** Per-attempt timeout in milliseconds. @default 60_000 */
  timeout?: number;
  /** Clock for `retry-after` given as an HTTP date. @default Date.now */
  now?: () => number;
}

/** The defaults applied by {@link createAnthropicModel}. */
export const ANTHROPIC_MODEL_DEFAULTS = {
  baseURL: 'https://api.anthropic.com',
  maxRetries: 2,
  timeout: 60_000,
} as const;

/**
 * The SDK's client with only the Messages API: the SDK's `BaseAnthropic` (its
 * transport: auth, retries, timeouts, errors) and its `Messages` resource,
 * the one this adapter calls. The default `Anthropic` class also builds
 * every other resource (beta, models, files, skills, ...), and importing it
 * carries them all into a function's bundle (~300 KB more).
 */
class MessagesClient extends BaseAnthropic {
  readonly messages: Messages;
  constructor(options: ClientOptions) {
    super(options);
    this.messages = new Messages(this);
  }
}

/** Builds a `ModelClient` backed by the Anthropic Messages API. */
export function createAnthropicModel(options: AnthropicModelOptions): ModelClient {
  const timeout = options.timeout ?? ANTHROPIC_MODEL_DEFAULTS.timeout;
  const now = options.now ?? Date.now;
  const client = new MessagesClient({
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? ANTHROPIC_MODEL_DEFAULTS.baseURL,
    maxRetries: options.maxRetries ?? ANTHROPIC_MODEL_DEFAULTS.maxRetries,
    timeout,
    // Its transport: a keep-alive request per call, without the global fetch's streams (http-fetch.ts).
    fetch: nodeFetch,
  });
  return {
    async call(request, callOptions) {
      try {
        const message = await client.messages.create(
          toCreateParams(request),
          callOptions?.signal ? { signal: callOptions.signal } : undefined,
        );
        return toModelResponse(message);
      } catch (err) {
        throw toModelError(err, { timeout, now });
      }
    },
  };
}

/** Core's request as SDK parameters; `runId` travels as `metadata.user_id`. */
export function toCreateParams(request: ModelRequest): MessageCreateParamsNonStreaming {
  const params: MessageCreateParamsNonStreaming = {
    model: request.model,
    max_tokens: request.maxTokens,
    messages: request.messages.map(toMessageParam),
  };
  if (request.system !== '') params.system = request.system;
  if (request.tools.length > 0) params.tools = request.tools.map(toTool);
  if (request.toolChoice === 'none' && request.tools.length > 0) params.tool_choice = { type: 'none' };
  if (request.runId !== undefined) params.metadata = { user_id: request.runId };
  return params;
}

function toMessageParam(message: Message): MessageParam {
  if (typeof message.content === 'string') return { role: message.role, content: message.content };
  return { role: message.role, content: message.content.map(toBlockParam) };
}

function toBlockParam(block: ContentBlock): ContentBlockParam {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'tool_result':
      return block.is_error === undefined
        ? { type: 'tool_result', tool_use_id: block.tool_use_id, content: block.content }
        : {
            type: 'tool_result',
            tool_use_id: block.tool_use_id,
            content: block.content,
            is_error: block.is_error,
          };
  }
}

function toTool(spec: ModelRequest['tools'][number]): Tool {
  return {
    name: spec.name,
    description: spec.description,
    input_schema: { ...spec.input_schema, type: 'object' },
  };
}

/**
 * The SDK's message as core's response. Blocks core does not model (thinking,
 * server tools) are dropped; a tool input that is not JSON is a malformed
 * response and raises ModelUnavailableError.
 */
export function toModelResponse(message: SdkMessage): ModelResponse {
  const content: ModelResponse['content'] = [];
  for (const block of message.content) {
    if (block.type === 'text') content.push({ type: 'text', text: block.text });
    if (block.type === 'tool_use') {
      const input: unknown = block.input;
      if (!isJson(input))
        throw new ModelUnavailableError(`model returned a non-JSON input for tool ${block.name}`);
      content.push({ type: 'tool_use', id: block.id, name: block.name, input });
    }
  }
  const usage = message.usage;
  return {
    id: message.id,
    model: message.model,
    content,
    stopReason: message.stop_reason ?? 'end_turn',
    usage: {
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
      cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
      cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    },
  };
}

/**
 * Maps anything the SDK throws to a named model error. Unknown failures are
 * ModelRequestError (terminal): a bug retried is still a bug.
 */
export function toModelError(err: unknown, ctx: { timeout: number; now: () => number }): ChaperoneError {
  if (err instanceof ChaperoneError) return err;
  if (err instanceof APIUserAbortError)
    return new ModelUnavailableError('model call aborted', { cause: err });
  if (err instanceof APIConnectionTimeoutError) {
    return new ModelUnavailableError(`model call timed out after ${ctx.timeout} ms`, { cause: err });
  }
  if (err instanceof APIConnectionError) {
    return new ModelUnavailableError(`cannot reach the model: ${err.message}`, { cause: err });
  }
  if (err instanceof APIError) {
    const status: number | undefined = err.status;
    const detail = describe(err);
    if (status === 429) {
      return new ModelThrottledError(detail, retryAfterSeconds(err.headers, ctx.now), { cause: err });
    }
    if (status === undefined || status === 408 || status >= 500) {
      return new ModelUnavailableError(detail, { cause: err, answered: status !== undefined });
    }
    return new ModelRequestError(detail, status, { cause: err });
  }
  if (err instanceof AnthropicError) return new ModelRequestError(err.message, undefined, { cause: err });
  const reason = err instanceof Error ? err.message : String(err);
  return new ModelRequestError(`unexpected failure calling the model: ${reason}`, undefined, { cause: err });
}

function describe(err: APIError): string {
  const parts = [`Anthropic API ${err.status ?? 'error'}`];
  if (err.type) parts.push(err.type);
  const text = `${parts.join(' ')}: ${err.apiMessage ?? err.message}`;
  return err.requestID ? `${text} (request ${err.requestID})` : text;
}

/** Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date); undefined if absent. */
export function retryAfterSeconds(
  headers: Headers | undefined,
  now: () => number = Date.now,
): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms / 1000;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now()) / 1000));
}

/** Whether a value is plain JSON (finite numbers, plain objects, arrays). */
export function isJson(value: unknown): value is Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  if (typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every(isJson);
}
