import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  estimatedHistoryEvents,
  historyLimitStop,
  iterationHistoryEvents,
} from '../../../lambdas/core/history-limit.js';
import type { StoredMessage } from '../../../lambdas/core/run-records.js';
import { responder, toolUse, toolUses } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineTool, defineWorkflow, parallel } from '../../../state-machines/index.js';
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

const branches = defineWorkflow({
  name: 'branches',
  description: 'Two agent branches in parallel, sharing one execution history.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [
    parallel(
      'both',
      agent('x', {
        agent: defineAgent({
          name: 'px',
          model: 'claude-haiku-4-5',
          system: 'Ping.',
          tools: [ping],
          maxTokens: 32,
          maxIdenticalCalls: 1000,
        }),
        prompt: () => 'x',
      }),
      agent('y', {
        agent: defineAgent({
          name: 'py',
          model: 'claude-haiku-4-5',
          system: 'Ping.',
          tools: [ping],
          maxTokens: 32,
          maxIdenticalCalls: 1000,
        }),
        prompt: () => 'y',
      }),
    ),
  ],
  limits: { maxSteps: 60, maxTokens: 10_000_000, maxCostUsd: 100, timeLimitSeconds: 300 },
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
    // The iteration about to run: its own events and the last turn's calls, whose results it brings.
    expect(iterationHistoryEvents([])).toBe(16);
    expect(iterationHistoryEvents([turn(1, 1), turn(2, 3)])).toBe(16 + 24);
    expect(historyLimitStop(19_999)).toBeUndefined();
    expect(historyLimitStop(21_600)).toMatch(/limit of 25,000 events \(about 21,600 so far\)/);
  });

  describe('on a run', () => {
    let h: AgentHarness;
    // 5,130 leaves 130 events under the margin: the count with the sixth iteration (16 × 6 + 8 × 5
    // = 136) crosses it, the fifth's (112) does not.
    beforeAll(async () => {
      h = await AgentHarness.start([forever, branches], { CHAPERONE_HISTORY_EVENT_LIMIT: '5130' });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('stops with HistoryLimitApproaching before the execution would fail', async () => {
      h.model.use(responder('forever', (r) => toolUse('ping', { i: r.turnIndex })));
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

    it('counts every parallel branch: two branches each under the limit on their own stop the run together', async () => {
      // Each turn asks for three pings: 16 + 8 × 3 = 40 events an iteration after the first.
      h.model.use(
        responder('branches', (r) =>
          toolUses(
            ...Array.from({ length: 3 }, (_, k) => ({ name: 'ping', input: { i: r.turnIndex * 10 + k } })),
          ),
        ),
      );
      const { runId, execution } = await h.run('branches', {});
      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('HistoryLimitApproaching');
      const stepOf = (id: string) => h.runs.listMessages(runId, id);
      const alone = [estimatedHistoryEvents(await stepOf('x')), estimatedHistoryEvents(await stepOf('y'))];
      // Neither branch came near the stop by its own count; together they did.
      for (const events of alone) expect(events).toBeLessThan(130);
      expect((alone[0] ?? 0) + (alone[1] ?? 0)).toBeGreaterThanOrEqual(130 - 2 * 40);
      const ledger = await h.runs.getLedger(runId);
      expect(ledger?.historyEvents).toBeGreaterThanOrEqual(130);
    });
  });
});
