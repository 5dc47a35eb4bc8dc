import { utf8Bytes } from './canonical.js';
import type { Message, ToolSpec } from './model.js';
import type { StoredMessage } from './run-records.js';

/** Tokens the provider adds for tool use and message framing; generous on purpose. */
export const FRAMING_OVERHEAD_TOKENS = 700;

/**
 * An upper bound on the input tokens of the next call. A token is at least one
 * byte of UTF-8 text, so the request's bytes bound its tokens; once a call has
 * been made, its reported input+output tokens bound the prefix and only the new
 * messages are counted in bytes. Reserving this (plus max_tokens) means the
 * ledger can never be overshot by a call it granted.
 */
export function estimateInputTokens(
  system: string,
  tools: readonly ToolSpec[],
  history: readonly StoredMessage[],
  pending: readonly Message[],
): number {
  let lastMeasured = -1;
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i];
    if (h && h.message.role === 'assistant' && h.inputTokens !== undefined && h.outputTokens !== undefined) {
      lastMeasured = i;
      break;
    }
  }
  const newMessages = [...history.slice(lastMeasured + 1).map((h) => h.message), ...pending];
  const bytesOf = (m: Message) => utf8Bytes(JSON.stringify(m.content));
  const fresh = newMessages.reduce((n, m) => n + bytesOf(m), 0);
  if (lastMeasured >= 0) {
    const h = history[lastMeasured] as StoredMessage;
    return (h.inputTokens ?? 0) + (h.outputTokens ?? 0) + fresh + FRAMING_OVERHEAD_TOKENS;
  }
  return utf8Bytes(system) + utf8Bytes(JSON.stringify(tools)) + fresh + FRAMING_OVERHEAD_TOKENS;
}
