/**
 * Building the bodies the scripted model answers with: a Messages API
 * `message` for a scripted turn, and Anthropic's error JSON for faults.
 */
import { randomBytes } from 'node:crypto';
import type { ScriptedTurn } from './types.js';

/** A content block of a reply, as the Messages API serialises it. */
export type ReplyBlock =
  | { type: 'text'; text: string; citations: null }
  | { type: 'tool_use'; id: string; name: string; input: unknown; caller: { type: 'direct' } };

/** The `usage` object of a reply. */
export interface ReplyUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  service_tier: 'standard';
}

/** A Messages API `message` object. */
export interface ReplyMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ReplyBlock[];
  stop_reason: string;
  stop_sequence: null;
  usage: ReplyUsage;
}

/**
 * Hands out message, tool-use and request ids, numbered in order within one
 * server, behind a per-server `instance` tag: a run in flight across a
 * restart of the process never meets an id it was given before the restart.
 */
export class IdSequence {
  private readonly counts = new Map<string, number>();
  /** @param instance Tag of this server's ids. @default random (base36, time and 6 random characters) */
  constructor(readonly instance: string = newInstanceTag()) {
    if (!/^[A-Za-z0-9]{1,40}$/.test(instance))
      throw new Error(`id instance tag must be 1-40 letters or digits: ${instance}`);
  }
  /** The next id with this prefix: `msg_scripted_<instance>_000001`, `toolu_scripted_<instance>_000001`, … */
  next(prefix: 'msg' | 'toolu' | 'req'): string {
    const n = (this.counts.get(prefix) ?? 0) + 1;
    this.counts.set(prefix, n);
    return `${prefix}_scripted_${this.instance}_${String(n).padStart(6, '0')}`;
  }
}

function newInstanceTag(): string {
  return `${Date.now().toString(36)}${randomBytes(6).toString('hex').slice(0, 6)}`;
}

const tokensFor = (chars: number): number => Math.max(1, Math.ceil(chars / 4));

/** Builds the reply message for a turn; `promptChars` feeds the input-token estimate. */
export function buildMessage(
  turn: ScriptedTurn,
  model: string,
  promptChars: number,
  ids: IdSequence,
): ReplyMessage {
  const content: ReplyBlock[] = [];
  if (turn.text !== undefined) content.push({ type: 'text', text: turn.text, citations: null });
  for (const use of turn.toolUses ?? []) {
    const id = use.id ?? ids.next('toolu');
    content.push({ type: 'tool_use', id, name: use.name, input: use.input, caller: { type: 'direct' } });
  }
  const hasToolUse = (turn.toolUses?.length ?? 0) > 0;
  const cacheCreation = turn.usage?.cacheCreationInputTokens ?? 0;
  return {
    id: ids.next('msg'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: turn.stopReason ?? (hasToolUse ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: {
      input_tokens: turn.usage?.inputTokens ?? tokensFor(promptChars),
      output_tokens: turn.usage?.outputTokens ?? tokensFor(JSON.stringify(content).length),
      cache_creation_input_tokens: cacheCreation,
      cache_read_input_tokens: turn.usage?.cacheReadInputTokens ?? 0,
      cache_creation: { ephemeral_5m_input_tokens: cacheCreation, ephemeral_1h_input_tokens: 0 },
      service_tier: 'standard',
    },
  };
}

/** Anthropic's `error.type` for an HTTP status. */
export function errorTypeFor(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** Anthropic's error body: `{"type":"error","error":{"type":…,"message":…},"request_id":…}`. */
export function buildError(status: number, message: string, requestId: string) {
  return { type: 'error', error: { type: errorTypeFor(status), message }, request_id: requestId } as const;
}
