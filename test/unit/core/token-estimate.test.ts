import { describe, expect, it } from 'vitest';
import { utf8Bytes } from '../../../lambdas/core/canonical.js';
import type { Message, ToolSpec } from '../../../lambdas/core/model.js';
import type { StoredMessage } from '../../../lambdas/core/run-records.js';
import { estimateInputTokens, FRAMING_OVERHEAD_TOKENS } from '../../../lambdas/core/token-estimate.js';

const system = 'You are the accounts-payable clerk. Answer briefly and cite invoice numbers.';
const tools: ToolSpec[] = [
  {
    name: 'get_invoice',
    description: 'Look an invoice up by number.',
    input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  },
];

/** A token is at least one byte of UTF-8, so the bytes of everything sent bound the tokens. */
const bytesOf = (...parts: Array<string | Message[] | ToolSpec[]>) =>
  parts.reduce<number>(
    (n, p) =>
      n +
      (typeof p === 'string'
        ? utf8Bytes(p)
        : p === tools
          ? utf8Bytes(JSON.stringify(p))
          : (p as Message[]).reduce((m, msg) => m + utf8Bytes(JSON.stringify(msg.content)), 0)),
    0,
  );

const user = (content: Message['content']): Message => ({ role: 'user', content });
const stored = (
  iteration: number,
  message: Message,
  measured?: { input: number; output: number },
): StoredMessage => ({
  iteration,
  message,
  ...(measured ? { inputTokens: measured.input, outputTokens: measured.output } : {}),
});

describe('estimateInputTokens', () => {
  it('bounds a first call by the bytes of the system prompt, the tools and the message, plus framing', () => {
    const first = user('Is INV-2291 paid?');

    const bound = estimateInputTokens(system, tools, [], [first]);

    expect(bound).toBe(bytesOf(system, tools, [first]) + FRAMING_OVERHEAD_TOKENS);
  });

  it('stays an upper bound for text where one character is several bytes', () => {
    const japanese = user('請求書INV-2291の支払い状況を確認してください。😀');
    const bound = estimateInputTokens('経理担当です。', tools, [], [japanese]);

    expect(bound).toBeGreaterThanOrEqual(bytesOf('経理担当です。', tools, [japanese]));
    expect(bound).toBeGreaterThan(japanese.content.length * 3);
  });

  it('uses the last measured call for the prefix and counts only the newer messages in bytes', () => {
    const history = [
      stored(1, user('Is INV-2291 paid?')),
      stored(
        1,
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 't1', name: 'get_invoice', input: { id: 'INV-2291' } }],
        },
        { input: 900, output: 40 },
      ),
    ];
    const results = user([
      {
        type: 'tool_result',
        tool_use_id: 't1',
        content: '{"id":"INV-2291","status":"paid","paidOn":"2026-03-03"}',
      },
    ]);

    const bound = estimateInputTokens(system, tools, history, [results]);

    expect(bound).toBe(900 + 40 + bytesOf([results]) + FRAMING_OVERHEAD_TOKENS);
  });

  it('never falls when the conversation grows', () => {
    const history: StoredMessage[] = [];
    let previous = 0;
    for (let i = 1; i <= 6; i++) {
      const pending = user(`Turn ${i}: ${'details '.repeat(i * 20)}`);
      const bound = estimateInputTokens(system, tools, history, [pending]);
      expect(bound).toBeGreaterThanOrEqual(previous);
      previous = bound;
      history.push(stored(i, pending));
      history.push(
        stored(
          i,
          { role: 'assistant', content: [{ type: 'text', text: 'noted' }] },
          i % 2 === 0 ? { input: bound - FRAMING_OVERHEAD_TOKENS, output: 5 } : undefined,
        ),
      );
    }
  });

  it('falls back to bytes for everything when no call has been measured yet', () => {
    const history = [stored(1, user('first')), stored(1, { role: 'assistant', content: 'unmeasured reply' })];
    const next = user('second');

    const bound = estimateInputTokens(system, tools, history, [next]);

    expect(bound).toBe(
      bytesOf(system, tools, [history[0]?.message as Message, history[1]?.message as Message, next]) +
        FRAMING_OVERHEAD_TOKENS,
    );
  });
});
