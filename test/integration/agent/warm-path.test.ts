import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetWarmState } from '../../../lambdas/core/warm.js';
import { responder, text, toolUse, toolUses } from '../../../local/scripted-model/index.js';
import { INLINE_RESULT_MAX_BYTES } from '../../../state-machines/contract.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';

/**
 * The warm path (the conversation from the container's copy plus the tool
 * results that arrive with the iteration) must send the model exactly what
 * the cold path (everything read from DynamoDB) sends: same messages, same
 * trail, whatever the result sizes.
 */
const fetchDoc = defineTool({
  name: 'fetch_doc',
  description: 'Returns a document of the asked size.',
  input: {
    type: 'object',
    properties: { bytes: { type: 'integer', minimum: 1 }, tag: { type: 'string' } },
    required: ['bytes', 'tag'],
    additionalProperties: false,
  } as const,
  access: 'read',
  trim: { maxBytes: 64_000 },
  run: async ({ bytes, tag }) => ({ tag, body: `${tag}:`.padEnd(bytes, 'x') }),
});

const reader = defineAgent({
  name: 'reader',
  model: 'claude-haiku-4-5',
  system: 'Fetch the documents you are asked for.',
  tools: [fetchDoc],
  maxTokens: 256,
});

const workflow = defineWorkflow({
  name: 'warm-path',
  description: 'Fetches small, large and parallel documents.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [agent('read', { agent: reader, prompt: () => 'fetch them' })],
  limits: { maxSteps: 20, maxTokens: 10_000_000, maxCostUsd: 100, timeLimitSeconds: 300 },
});

const large = INLINE_RESULT_MAX_BYTES + 8_000;
const script = responder('warm-path', (request) => {
  switch (request.turnIndex) {
    case 0:
      return toolUse('fetch_doc', { bytes: 200, tag: 'small' });
    case 1:
      return toolUse('fetch_doc', { bytes: large, tag: 'large' });
    case 2:
      return toolUses(
        { name: 'fetch_doc', input: { bytes: 300, tag: 'left' } },
        { name: 'fetch_doc', input: { bytes: 400, tag: 'right' } },
      );
    case 3:
      return toolUse('fetch_doc', { bytes: 100, tag: 'last' });
    default:
      return text('read them all');
  }
});

async function conversationOf(cold: boolean) {
  const h = await AgentHarness.start(
    [workflow],
    {},
    { faults: true, ...(cold ? { beforeInvoke: () => forgetWarmState() } : {}) },
  );
  try {
    h.model.use(script);
    const { runId, execution } = await h.run('warm-path', {});
    expect(execution.status).toBe('SUCCEEDED');
    const sent = h.model.requests
      .filter((r) => r.conversation.startsWith(`${runId}:`))
      .map((r) => JSON.stringify(r.body.messages).replaceAll(runId, 'RUN'));
    const trail = (await h.runs.listEvents(runId)).map((e) => e.type);
    const queries = (h.faults?.requests ?? []).filter((r) => r.operation === 'Query').length;
    return { sent, trail, queries, answer: (await h.runs.getRun(runId))?.answer };
  } finally {
    await h.close();
  }
}

describe('the conversation on the warm path', () => {
  let warm: Awaited<ReturnType<typeof conversationOf>>;
  let cold: Awaited<ReturnType<typeof conversationOf>>;
  beforeAll(async () => {
    warm = await conversationOf(false);
    cold = await conversationOf(true);
  }, 120_000);
  afterAll(() => forgetWarmState());

  it('sends the model what a cold container reading everything sends', () => {
    expect(warm.sent).toHaveLength(5);
    // Tool use ids differ between the two runs; everything else is the same.
    const ids = (s: string) => s.replace(/toolu_[A-Za-z0-9_]+/g, 'ID');
    expect(warm.sent.map(ids)).toEqual(cold.sent.map(ids));
    expect(warm.trail).toEqual(cold.trail);
    expect(warm.answer).toBe('read them all');
    // The warm container read the conversation twice: at the start, and after the result too
    // large to travel (only the messages after its copy). The cold one read it every turn.
    expect(warm.queries).toBe(2);
    expect(cold.queries).toBe(5);
  });

  it('gives the model a result too large to travel in the state payload, whole', () => {
    const turn2 = JSON.parse(warm.sent[2] ?? '[]') as Array<{ content: unknown }>;
    const last = JSON.stringify(turn2.at(-1)?.content);
    expect(last).toContain('large:');
    expect(last.length).toBeGreaterThan(large);
  });

  it('answers both calls of a parallel turn, each with its own result', () => {
    const turn3 = JSON.stringify((JSON.parse(warm.sent[3] ?? '[]') as Array<{ content: unknown }>).at(-1));
    expect(turn3).toContain('left:');
    expect(turn3).toContain('right:');
  });
});
