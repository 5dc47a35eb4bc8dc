import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastToolResults, responder, text, toolUses } from '../../../local/scripted-model/index.js';
import { INLINE_TURN_MAX_BYTES } from '../../../state-machines/contract.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';

/**
 * Twenty results of ~15 KB in one turn, each under the inline limit of one
 * result: together they would be 300 KB in the Map's output, past the 256 KiB
 * state payload limit. Each rides back inline only within its share of the
 * turn's allowance; the rest the next agent step reads from the Runs table.
 */
const CALLS = 20;
const mid = defineTool({
  name: 'mid',
  description: 'Returns about 15 KB.',
  input: {
    type: 'object',
    properties: { i: { type: 'integer' } },
    required: ['i'],
    additionalProperties: false,
  } as const,
  access: 'read',
  trim: { maxBytes: 16_000 },
  run: async ({ i }) => `${i}:${'m'.repeat(15_000)}`,
});
const workflow = defineWorkflow({
  name: 'many-results',
  description: 'One turn asking for twenty mid-sized results at once.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [
    agent('read', {
      agent: defineAgent({
        name: 'fan',
        model: 'claude-haiku-4-5',
        system: 'Read.',
        tools: [mid],
        maxTokens: 64,
      }),
      prompt: () => 'read twenty',
    }),
  ],
  limits: { maxSteps: 10, maxTokens: 50_000_000, maxCostUsd: 100, timeLimitSeconds: 600 },
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([workflow], {}, { durableExecutions: true });
});
afterAll(async () => {
  await h?.close();
});

describe('many results in one turn', () => {
  it('twenty ~15 KB results: the run succeeds and the model reads every one whole', async () => {
    let seen: Array<{ content: string }> = [];
    h.model.use(
      responder('many-results', (r) => {
        // 300 KB of results passes the conversation window: its summary call gets a summary.
        if (r.conversation.endsWith(':summary')) return text('Twenty results were read.');
        if (r.turnIndex === 0)
          return toolUses(...Array.from({ length: CALLS }, (_, i) => ({ name: 'mid', input: { i } })));
        seen = lastToolResults(r);
        return text('read them');
      }),
    );
    const { runId, execution } = await h.run('many-results', {});
    expect(execution.status, `${execution.error ?? ''} ${execution.cause ?? ''}`).toBe('SUCCEEDED');
    expect(seen).toHaveLength(CALLS);
    for (const [i, r] of seen.entries()) expect(r.content).toContain(`${i}:${'m'.repeat(15_000)}`);
    // What the Map gathered stayed within the turn's inline allowance.
    const arn = `arn:aws:states:us-east-1:000000000000:execution:many-results:${runId}`;
    const { events } = h.sfn.getExecutionHistory({ executionArn: arn, maxResults: 1000 });
    const mapOutputs = events
      .filter((e) => e.type === 'MapStateExited')
      .map((e) => Buffer.byteLength(String(e.stateExitedEventDetails?.output ?? '')));
    expect(mapOutputs.length).toBeGreaterThan(0);
    for (const bytes of mapOutputs) expect(bytes).toBeLessThan(INLINE_TURN_MAX_BYTES + 16_384);
  });
});
