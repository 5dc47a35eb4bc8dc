import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimatedHistoryEvents, historyLimitStop } from '../../../lambdas/core/history-limit.js';
import type { StoredMessage } from '../../../lambdas/core/run-records.js';
import { responder, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';

const ping = defineTool({
  name: 'ping',
  description: 'Answers pong.',
  input: {
    type: 'object',
    properties: { i: { type: 'integer' } },
    required: ['i'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async () => 'pong',
});
const pinger = defineAgent({
  name: 'pinger',
  model: 'claude-haiku-4-5',
  system: 'Ping forever.',
  tools: [ping],
  maxTokens: 32,
});
const forever = defineWorkflow({
  name: 'forever',
  description: 'A loop that would outgrow its execution history.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [agent('loop', { agent: pinger, prompt: () => 'ping' })],
  limits: { maxSteps: 40, maxTokens: 10_000_000, maxCostUsd: 100, timeLimitSeconds: 300 },
});

const turn = (iteration: number, calls: number): StoredMessage => ({
  iteration,
  message: {
    role: 'assistant',
    content: Array.from({ length: calls }, (_, i) => ({
      type: 'tool_use' as const,
      id: `t${i}`,
      name: 'ping',
      input: {},
    })),
  },
});

describe('the history limit', () => {
  it('estimates each iteration and tool call high, and names the stop with the figures', () => {
    expect(estimatedHistoryEvents([turn(1, 1), turn(2, 3)])).toBe(16 + 8 + 16 + 24);
    expect(historyLimitStop([turn(1, 1)])).toBeUndefined();
    const many = Array.from({ length: 900 }, (_, i) => turn(i + 1, 1));
    expect(historyLimitStop(many)).toMatch(/limit of 25,000 events \(about 21,600 so far\)/);
  });

  describe('on a run', () => {
    let h: AgentHarness;
    // 5,100 leaves 100 events under the margin: the fifth iteration's estimate crosses it.
    beforeAll(async () => {
      h = await AgentHarness.start([forever], { CHAPERONE_HISTORY_EVENT_LIMIT: '5100' });
      h.model.use(responder('forever', (r) => toolUse('ping', { i: r.turnIndex })));
    });
    afterAll(async () => {
      await h?.close();
    });

    it('stops with HistoryLimitApproaching before the execution would fail', async () => {
      const { runId, execution } = await h.run('forever', {});
      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('HistoryLimitApproaching');
      const res = await h.api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
      const run = JSON.parse(res.body) as {
        status: string;
        stopReason: string;
        trail: Array<{ type: string }>;
      };
      expect(run.status).toBe('STOPPED');
      expect(run.stopReason).toBe('HistoryLimitApproaching');
      expect(run.trail.filter((e) => e.type === 'model_call')).toHaveLength(5);
    });
  });
});
