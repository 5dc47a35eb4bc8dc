import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responder, text } from '../../../local/scripted-model/index.js';
import {
  agent,
  chain,
  code,
  defineAgent,
  defineWorkflow,
  parallel,
  route,
} from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { lookup } from './fixtures.js';

const writer = (name: string) =>
  defineAgent({
    name,
    model: 'claude-haiku-4-5',
    system: `You are ${name}.`,
    tools: [lookup],
    maxTokens: 128,
  });

/** code → parallel(two agents) → route (code picks a small sub-agent) — each step sees only what it needs. */
const composed = defineWorkflow({
  name: 'composed',
  description: 'Chain, fan-out and routing.',
  input: {
    type: 'object',
    properties: { topic: { type: 'string' } },
    required: ['topic'],
    additionalProperties: false,
  } as const,
  steps: [
    code('prepare', {
      run: async ({ input }) => ({ topic: (input as { topic: string }).topic.toUpperCase() }),
    }),
    parallel(
      'research',
      agent('pros', {
        agent: writer('pros'),
        needs: ['prepare'],
        prompt: ({ outputs }) => `Pros of ${JSON.stringify(outputs.prepare)}`,
      }),
      agent('cons', {
        agent: writer('cons'),
        needs: ['prepare'],
        prompt: ({ outputs }) => `Cons of ${JSON.stringify(outputs.prepare)}`,
      }),
    ),
    route('decide', {
      needs: ['pros', 'cons'],
      choose: ({ outputs }) =>
        String(outputs.pros).length >= String(outputs.cons).length ? 'optimist' : 'pessimist',
      branches: {
        optimist: agent('optimist', {
          agent: writer('optimist'),
          needs: ['pros'],
          prompt: ({ outputs }) => `Summarise: ${String(outputs.pros)}`,
        }),
        pessimist: chain('careful', code('note', { run: async () => 'careful' })),
      },
    }),
  ],
  limits: { maxSteps: 10 },
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([composed]);
});
afterAll(async () => {
  await h.close();
});

describe('composition', () => {
  it('runs a chain with fan-out and a code route, passing only declared outputs', async () => {
    h.model.use(
      responder('by-agent', (req) => {
        const system = String(req.body.system ?? '');
        if (system.includes('pros')) return text('Fast, cheap, and very reliable in practice.');
        if (system.includes('cons')) return text('Costly.');
        return text('On balance: go.');
      }),
    );

    const { runId, execution } = await h.run('composed', { topic: 'serverless' });

    expect(execution.status).toBe('SUCCEEDED');
    const prompts = h.model.requests.filter((r) => r.turnIndex === 0).map((r) => r.body.messages[0]?.content);
    expect(prompts).toContain('Pros of {"topic":"SERVERLESS"}');
    expect(prompts).toContain('Cons of {"topic":"SERVERLESS"}');
    expect(prompts).toContain('Summarise: Fast, cheap, and very reliable in practice.');
    expect((await h.runs.getRun(runId))?.answer).toBe('On balance: go.');
    const ledger = await h.runs.getLedger(runId);
    expect(ledger?.stepsUsed).toBe(3);
  });
});
