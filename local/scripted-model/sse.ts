/**
 * The streaming form of a reply (`stream: true`): the Messages API's
 * server-sent events, in the order the real API sends them.
 */
import type { ReplyMessage } from './response.js';

const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

/** Splits a string into pieces of at most `size` characters (at least one piece). */
function chunks(text: string, size: number): string[] {
  if (text === '') return [''];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Encodes a complete reply as the SSE stream a streaming request receives. */
export function toSseEvents(message: ReplyMessage): string {
  const parts: string[] = [];
  parts.push(
    event('message_start', {
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...message.usage, output_tokens: 1 },
      },
    }),
  );
  parts.push(event('ping', { type: 'ping' }));
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      parts.push(
        event('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'text', text: '', citations: null },
        }),
      );
      for (const text of chunks(block.text, 16)) {
        parts.push(
          event('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'text_delta', text },
          }),
        );
      }
    } else {
      parts.push(
        event('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: {
            type: 'tool_use',
            id: block.id,
            name: block.name,
            input: {},
            caller: block.caller,
          },
        }),
      );
      for (const partial_json of chunks(JSON.stringify(block.input), 16)) {
        parts.push(
          event('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json },
          }),
        );
      }
    }
    parts.push(event('content_block_stop', { type: 'content_block_stop', index }));
  });
  parts.push(
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: null },
      usage: { output_tokens: message.usage.output_tokens },
    }),
  );
  parts.push(event('message_stop', { type: 'message_stop' }));
  return parts.join('');
}
