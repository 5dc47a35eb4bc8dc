import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../lambdas/core/deps.js';
import { isRetryable, runWithRetries, ToolTimeoutError } from '../../../lambdas/core/tool-runner.js';
import { defineTool } from '../../../state-machines/tool.js';

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

describe('isRetryable', () => {
  it('retries timeouts, throttling and server errors', () => {
    expect(isRetryable(new ToolTimeoutError('slow'))).toBe(true);
    for (const status of [408, 429, 500, 502, 503, 504])
      expect(isRetryable(new HttpError('x', status))).toBe(true);
    expect(isRetryable({ statusCode: 503 })).toBe(true);
  });

  it('does not retry client errors', () => {
    for (const status of [400, 401, 403, 404, 409, 422])
      expect(isRetryable(new HttpError('x', status))).toBe(false);
    expect(isRetryable({ statusCode: 404 })).toBe(false);
  });

  it('lets an explicit retryable flag win over the status', () => {
    expect(isRetryable(Object.assign(new HttpError('x', 503), { retryable: false }))).toBe(false);
    expect(isRetryable(Object.assign(new HttpError('x', 400), { retryable: true }))).toBe(true);
  });

  it('retries aborts, timeouts and transient network codes', () => {
    expect(isRetryable(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))).toBe(true);
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN'])
      expect(isRetryable(Object.assign(new Error(code), { code }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe(false);
  });

  it('treats anything else as terminal', () => {
    for (const e of [new Error('bug'), new TypeError('x is undefined'), 'a string', 42, null, undefined])
      expect(isRetryable(e)).toBe(false);
  });
});

/** A clock whose sleep returns at once and records the delays. */
function fakeClock() {
  let t = 0;
  const slept: number[] = [];
  const clock: Clock = {
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
  return { clock, slept };
}

const args = { type: 'object', properties: {}, additionalProperties: false } as const;

describe('runWithRetries', () => {
  it('retries with capped exponential backoff and tells each retry the previous error', async () => {
    const seen: Array<string | undefined> = [];
    const failures = [
      new HttpError('503 one', 503),
      new HttpError('503 two', 503),
      new HttpError('503 three', 503),
    ];
    const tool = defineTool({
      name: 'flaky',
      description: 'd',
      input: args,
      access: 'read',
      retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 },
      run: async (_, ctx) => {
        seen.push(ctx.previousError);
        const failure = failures.shift();
        if (failure) throw failure;
        return { ok: true };
      },
    });
    const { clock, slept } = fakeClock();

    const outcome = await runWithRetries(
      tool,
      {},
      { runId: 'r', idempotencyKey: 'k1', clock, random: () => 1 },
    );

    expect(outcome).toMatchObject({ ok: true, value: { ok: true } });
    expect(outcome.attempts.map((a) => a.status)).toEqual(['error', 'error', 'error', 'ok']);
    expect(slept).toEqual([100, 200, 250]);
    expect(seen).toEqual([undefined, '503 one', '503 two', '503 three']);
  });

  it('does not retry a terminal error', async () => {
    let calls = 0;
    const tool = defineTool({
      name: 'strict',
      description: 'd',
      input: args,
      access: 'read',
      run: async () => {
        calls += 1;
        throw new HttpError('400 invoice number malformed', 400);
      },
    });

    const outcome = await runWithRetries(
      tool,
      {},
      { runId: 'r', idempotencyKey: 'k1', clock: fakeClock().clock },
    );

    expect(outcome).toMatchObject({ ok: false, retryable: false, error: '400 invoice number malformed' });
    expect(calls).toBe(1);
  });

  it('waits at least the Retry-After hint, but never beyond maxDelayMs', async () => {
    const failures = [new HttpError('429', 429, 0.5), new HttpError('429', 429, 30)];
    const tool = defineTool({
      name: 'throttled',
      description: 'd',
      input: args,
      access: 'read',
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 2_000 },
      run: async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return 'ok';
      },
    });
    const { clock, slept } = fakeClock();

    await runWithRetries(tool, {}, { runId: 'r', idempotencyKey: 'k1', clock, random: () => 0 });

    expect(slept).toEqual([500, 2_000]);
  });

  it('cuts off an attempt at its timeout and retries it', async () => {
    const tool = defineTool({
      name: 'hangs',
      description: 'd',
      input: args,
      access: 'read',
      timeoutSeconds: 0.02,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      run: (_, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });

    const outcome = await runWithRetries(
      tool,
      {},
      { runId: 'r', idempotencyKey: 'k1', clock: fakeClock().clock },
    );

    expect(outcome).toMatchObject({
      ok: false,
      retryable: true,
      error: 'hangs did not answer within its 0.02 s timeout',
    });
    expect(outcome.attempts.map((a) => a.status)).toEqual(['timeout', 'timeout']);
  });
});
