/**
 * Parsing a Messages API request body. The check is minimal on purpose (the
 * fields the real API requires, and their shapes): unknown fields pass, so a
 * newer SDK sending a newer field still reaches the script.
 */
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';

const blockSchema = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' } },
  additionalProperties: true,
} as const;

const messageSchema = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { type: 'string', enum: ['user', 'assistant'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', items: blockSchema }] },
  },
  additionalProperties: true,
} as const;

const toolSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    input_schema: { type: 'object' },
  },
  additionalProperties: true,
} as const;

/** JSON Schema of the request fields the scripted model reads. */
export const messagesBodySchema = {
  type: 'object',
  required: ['model', 'max_tokens', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    max_tokens: { type: 'integer', minimum: 1 },
    messages: { type: 'array', minItems: 1, items: messageSchema },
    system: { anyOf: [{ type: 'string' }, { type: 'array', items: blockSchema }] },
    tools: { type: 'array', items: toolSchema },
    metadata: {
      type: 'object',
      properties: { user_id: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
      additionalProperties: true,
    },
    stream: { type: 'boolean' },
  },
  additionalProperties: true,
} as const;

/** A Messages API request body, as far as the scripted model reads it. */
export type MessagesBody = FromSchema<typeof messagesBodySchema>;
/** One entry of `messages`. */
export type RequestMessage = MessagesBody['messages'][number];
/** One content block of a request message. */
export type RequestBlock = Exclude<RequestMessage['content'], string>[number];

const ajv = new Ajv({ strict: true, allErrors: false });
const validateBody = ajv.compile<MessagesBody>(messagesBodySchema);

/** The outcome of parsing: the body, or the message of a 400 invalid_request_error. */
export type ParsedBody = { ok: true; body: MessagesBody } | { ok: false; message: string };

/** Parses raw request bytes as a Messages API body. */
export function parseMessagesBody(raw: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, message: 'request body is not valid JSON' };
  }
  if (validateBody(value)) return { ok: true, body: value };
  const first = validateBody.errors?.[0];
  const where = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : 'body';
  return { ok: false, message: `${where}: ${first?.message ?? 'is invalid'}` };
}

/**
 * Which conversation a request belongs to: `metadata.user_id` (the adapter
 * sends the run id there), else a hash of the first user message, so two runs
 * of one scenario each follow their own script.
 */
export function conversationKey(body: MessagesBody): string {
  const userId = body.metadata?.user_id;
  if (typeof userId === 'string' && userId !== '') return userId;
  const first = body.messages.find((m) => m.role === 'user') ?? body.messages[0];
  const digest = createHash('sha256')
    .update(JSON.stringify(first?.content ?? ''))
    .digest('hex');
  return `hash:${digest.slice(0, 16)}`;
}

/** The turn a request asks for: the number of assistant messages it already holds. */
export function turnIndexOf(body: MessagesBody): number {
  return body.messages.filter((m) => m.role === 'assistant').length;
}

/** Characters of the prompt (system, messages, tools), for the input-token estimate. */
export function promptSize(body: MessagesBody): number {
  return JSON.stringify([body.system ?? '', body.messages, body.tools ?? []]).length;
}
