import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicModel } from '../../../lambdas/adapters/anthropic-model.js';
import { ModelUnavailableError } from '../../../lambdas/core/errors.js';
import type { ModelClient, ModelRequest } from '../../../lambdas/core/model.js';
import { ScriptedModel, scenario, text, toolUse } from '../../../local/scripted-model/index.js';

const MODEL = 'claude-scripted-test';

function request(runId: string, extra?: Partial<ModelRequest>): ModelRequest {
  return {
    model: MODEL,
    system: 'You look up invoices.',
    messages: [{ role: 'user', content: 'Is INV-1 paid?' }],
    tools: [
      {
        name: 'get_invoice',
        description: 'Fetch an invoice',
        input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      },
    ],
    maxTokens: 1024,
    runId,
    ...extra,
  };
}

describe('scripted model through the real SDK', () => {
  let model: ScriptedModel;
  let client: ModelClient;

  beforeAll(async () => {
    model = await ScriptedModel.start();
    client = createAnthropicModel({ apiKey: 'test-key', baseURL: model.url, maxRetries: 0, timeout: 2_000 });
  });
  afterAll(async () => {
    await model.close();
  });

  it('answers a text turn as a Messages API message', async () => {
    model.use(scenario('text', [text('INV-1 is paid.', { usage: { inputTokens: 120, outputTokens: 7 } })]));

    const response = await client.call(request('run-text'));

    expect(response.content).toEqual([{ type: 'text', text: 'INV-1 is paid.' }]);
    expect(response.stopReason).toBe('end_turn');
    expect(response.model).toBe(MODEL);
    expect(response.id).toMatch(/^msg_/);
    expect(response.usage).toEqual({
      inputTokens: 120,
      outputTokens: 7,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 0,
    });
    expect(model.exhausted()).toEqual([]);
  });

  it('answers a tool_use turn with a toolu_ id and stop_reason tool_use', async () => {
    model.use(scenario('tool', [toolUse('get_invoice', { id: 'INV-1' })]));

    const response = await client.call(request('run-tool'));

    expect(response.stopReason).toBe('tool_use');
    expect(response.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_invoice', input: { id: 'INV-1' } },
    ]);
  });

  it('estimates usage from the sizes of request and reply, and reports cache reads', async () => {
    model.use(scenario('usage', [text('ok', { usage: { cacheReadInputTokens: 50 } })]));

    const response = await client.call(request('run-usage'));

    expect(response.usage.inputTokens).toBeGreaterThan(10);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(response.usage.cacheReadInputTokens).toBe(50);
  });

  it('plays the next turn once the request holds the previous assistant message', async () => {
    model.use(
      scenario('two turns', [toolUse('get_invoice', { id: 'INV-1' }, { id: 'toolu_fixed' }), text('Paid.')]),
    );
    const first = await client.call(request('run-loop'));

    const second = await client.call(
      request('run-loop', {
        messages: [
          { role: 'user', content: 'Is INV-1 paid?' },
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'toolu_fixed', content: '{"paid":true}' }],
          },
        ],
      }),
    );

    expect(second.content).toEqual([{ type: 'text', text: 'Paid.' }]);
    expect(model.requests.map((r) => [r.conversation, r.turnIndex, r.attempt])).toEqual([
      ['run-loop', 0, 1],
      ['run-loop', 1, 1],
    ]);
  });

  it('gives concurrent conversations of one scenario independent scripts', async () => {
    model.use(scenario('shared', [text('first turn'), text('second turn')]));

    const [a, b] = await Promise.all([client.call(request('run-a')), client.call(request('run-b'))]);

    expect(a.content).toEqual([{ type: 'text', text: 'first turn' }]);
    expect(b.content).toEqual([{ type: 'text', text: 'first turn' }]);
    expect(new Set(model.requests.map((r) => r.conversation))).toEqual(new Set(['run-a', 'run-b']));
    expect(model.exhausted()).toEqual([]);
  });

  it('tells conversations without a run id apart by their first user message', async () => {
    model.use(scenario('anonymous', [text('hello')]));

    await client.call(request('', { runId: undefined }));
    await client.call(
      request('', { runId: undefined, messages: [{ role: 'user', content: 'Another question' }] }),
    );

    const [one, two] = model.requests;
    expect(one?.conversation).toMatch(/^hash:/);
    expect(two?.conversation).toMatch(/^hash:/);
    expect(one?.conversation).not.toBe(two?.conversation);
    expect(model.exhausted()).toEqual([]);
  });

  it('records every request with its body and headers', async () => {
    model.use(scenario('record', [text('ok')]));

    await client.call(request('run-record'));

    expect(model.requests).toHaveLength(1);
    const [recorded] = model.requests;
    expect(recorded?.body).toMatchObject({
      model: MODEL,
      max_tokens: 1024,
      system: 'You look up invoices.',
      messages: [{ role: 'user', content: 'Is INV-1 paid?' }],
      tools: [{ name: 'get_invoice', description: 'Fetch an invoice' }],
      metadata: { user_id: 'run-record' },
    });
    expect(recorded?.headers.authorization ?? recorded?.headers['x-api-key']).toBe('[redacted]');
    expect(JSON.stringify(recorded?.headers)).not.toContain('test-key');
    expect(recorded?.headers['anthropic-version']).toBeTruthy();
    expect(recorded?.at).toBeGreaterThan(0);
  });

  it('fails loudly when the script runs out of turns', async () => {
    model.use(scenario('short', [text('only turn')]));
    await client.call(request('run-short'));

    const beyond = client.call(
      request('run-short', {
        messages: [
          { role: 'user', content: 'Is INV-1 paid?' },
          { role: 'assistant', content: 'only turn' },
          { role: 'user', content: 'And INV-2?' },
        ],
      }),
    );

    await expect(beyond).rejects.toThrow(ModelUnavailableError);
    await expect(beyond).rejects.toThrow(/ran out of turns/);
    expect(model.exhausted()).toEqual([expect.stringMatching(/scenario 'short' ran out of turns.*turn 1/)]);
  });

  it('does not let the SDK retry a script that ran out', async () => {
    model.use(scenario('empty', []));
    const retrying = createAnthropicModel({ apiKey: 'test-key', baseURL: model.url, maxRetries: 2 });

    await expect(retrying.call(request('run-empty'))).rejects.toThrow(ModelUnavailableError);

    expect(model.requests).toHaveLength(1);
    expect(model.exhausted()).toHaveLength(1);
  });

  it('reports a respond() that throws as a problem', async () => {
    model.use({
      name: 'broken',
      respond: () => {
        throw new Error('no idea');
      },
    });

    await expect(client.call(request('run-broken'))).rejects.toThrow(/respond\(\) threw.*no idea/);
    expect(model.exhausted()).toEqual([expect.stringContaining("scenario 'broken' respond() threw")]);
  });
});
