import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lastToolResults,
  responder,
  ScriptedModel,
  scenario,
  text,
  toolUse,
  toolUses,
} from '../../../local/scripted-model/index.js';

/** The Messages API on the wire: streaming, malformed requests, unknown routes, responders. */
describe('scripted model on the wire', () => {
  let model: ScriptedModel;
  let sdk: Anthropic;

  beforeAll(async () => {
    model = await ScriptedModel.start();
    sdk = new Anthropic({ apiKey: 'test-key', baseURL: model.url, maxRetries: 0, timeout: 2_000 });
  });
  afterAll(async () => {
    await model.close();
  });

  const post = (body: unknown) =>
    fetch(`${model.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('streams a reply as server-sent events the SDK assembles into the same message', async () => {
    model.use(
      scenario('stream', [
        toolUse('get_invoice', { id: 'INV-1', lines: [1, 2, 3] }, { text: 'Looking it up.' }),
      ]),
    );

    const message = await sdk.messages
      .stream({ model: 'claude-scripted-test', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();

    expect(message.content).toMatchObject([
      { type: 'text', text: 'Looking it up.' },
      { type: 'tool_use', name: 'get_invoice', input: { id: 'INV-1', lines: [1, 2, 3] } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage.output_tokens).toBeGreaterThan(1);
    expect(model.requests[0]?.body.stream).toBe(true);
  });

  it('answers a malformed request with 400 invalid_request_error and does not record it', async () => {
    model.use(scenario('unused', [text('never')]));

    const response = await post({
      model: 'claude-scripted-test',
      messages: [{ role: 'user', content: 'hi' }],
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(model.requests).toEqual([]);
  });

  it('answers a body that is not JSON with 400', async () => {
    const response = await post('{not json');

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { message: 'request body is not valid JSON' } });
  });

  it('answers other routes with 404 not_found_error', async () => {
    const response = await fetch(`${model.url}/v1/models`);

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('sends retry-after and Anthropic error JSON on a status fault', async () => {
    model.use(
      scenario('429', [{ text: 'ok', faults: [{ kind: 'status', status: 429, retryAfterSeconds: 3 }] }]),
    );
    const body = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };

    const throttled = await post(body);
    const served = await post(body);

    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect(await throttled.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(served.status).toBe(200);
    expect(await served.json()).toMatchObject({ type: 'message', role: 'assistant', stop_sequence: null });
  });

  it('lets a responder react to tool results and invent tools the request never offered', async () => {
    model.use(
      responder('demo', (req) => {
        const results = lastToolResults(req);
        if (results.length === 0)
          return toolUses({ name: 'made_up_tool', input: {} }, { name: 'other', input: { a: 1 } });
        return text(`saw ${results.map((r) => `${r.content}${r.isError ? '!' : ''}`).join(',')}`);
      }),
    );
    const first = await sdk.messages.create({
      model: 'm',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'go' }],
      metadata: { user_id: 'run-demo' },
    });
    const ids = first.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));

    const second = await sdk.messages.create({
      model: 'm',
      max_tokens: 50,
      metadata: { user_id: 'run-demo' },
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: first.content.flatMap((b) => (b.type === 'tool_use' ? [b] : [])) },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: ids[0] ?? '', content: 'one' },
            { type: 'tool_result', tool_use_id: ids[1] ?? '', content: 'two', is_error: true },
          ],
        },
      ],
    });

    expect(first.content.map((b) => b.type)).toEqual(['tool_use', 'tool_use']);
    expect(new Set(ids).size).toBe(2);
    expect(second.content).toMatchObject([{ type: 'text', text: 'saw one,two!' }]);
    expect(model.requests.map((r) => r.turnIndex)).toEqual([0, 1]);
    expect(model.exhausted()).toEqual([]);
  });

  it('answers 500 and records a problem when no scenario is in use', async () => {
    const fresh = await ScriptedModel.start();
    try {
      const response = await fetch(`${fresh.url}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });

      expect(response.status).toBe(500);
      expect(response.headers.get('x-should-retry')).toBe('false');
      expect(fresh.exhausted()).toEqual([expect.stringContaining('no scenario in use')]);
    } finally {
      await fresh.close();
    }
  });
});
