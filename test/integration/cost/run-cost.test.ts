import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionsOf } from '../../../lambdas/adapters/sfn-engine.js';
import { runUsage } from '../../../lambdas/core/usage.js';
import { responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';

const echo = defineTool({
  name: 'echo',
  description: 'Echoes its input.',
  input: {
    type: 'object',
    properties: { i: { type: 'integer' } },
    required: ['i'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async ({ i }) => ({ i }),
});
const looper = defineAgent({
  name: 'looper',
  model: 'claude-haiku-4-5',
  system: 'Call echo three times, then answer.',
  tools: [echo],
  maxTokens: 64,
});
const workflow = defineWorkflow({
  name: 'cost-loop',
  description: 'Three tool iterations and an answer.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [agent('loop', { agent: looper, prompt: () => 'go' })],
  limits: { maxSteps: 10, maxTokens: 100_000, maxCostUsd: 1, timeLimitSeconds: 300 },
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([workflow], {}, { faults: true });
  h.model.use(
    responder('cost-loop', (r) => (r.turnIndex < 3 ? toolUse('echo', { i: r.turnIndex }) : text('done'))),
  );
});
afterAll(async () => {
  await h?.close();
});

describe('the cost of a run', () => {
  it('GET /runs/{id} prices every service, from what the run did', async () => {
    const seen = h.faults?.requests.length ?? 0;
    const { runId, execution } = await h.run('cost-loop', {});
    expect(execution.status).toBe('SUCCEEDED');
    const observedDynamo = (h.faults?.requests.length ?? 0) - seen;
    const res = await h.api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
    const run = JSON.parse(res.body) as {
      cost: {
        usd: Record<string, number>;
        usage: {
          lambda: { requests: number };
          dynamodb: { requests: number };
          stepFunctions: { transitions: number };
        };
      };
      trail: Array<{ type: string; usage?: unknown }>;
    };

    // Step Functions: the transitions counted at finish are the execution's, counted again after its end.
    const arn = `arn:aws:states:us-east-1:000000000000:execution:cost-loop:${runId}`;
    const history = h.sfn
      .getExecutionHistory({ executionArn: arn, maxResults: 1000 })
      .events.map((e) => e.type);
    expect(run.cost.usage.stepFunctions.transitions).toBe(transitionsOf(history));
    expect(run.cost.usd.stepFunctions).toBeCloseTo(transitionsOf(history) * 0.000025, 12);

    // Lambda: every invocation of the run (the POST /runs, 4 agent steps, 3 tool steps, finish), once each.
    const invocations = [...h.invocations.values()].reduce((a, b) => a + b, 0) + 1;
    expect(run.cost.usage.lambda.requests).toBe(invocations);
    expect(run.cost.usd.lambda).toBeGreaterThan(invocations * 0.0000002);

    // DynamoDB: metered from the client; at most the reads after an invocation's last write are
    // missing against what reached the table.
    const metered = run.cost.usage.dynamodb.requests;
    expect(metered).toBeLessThanOrEqual(observedDynamo);
    expect(observedDynamo - metered).toBeLessThanOrEqual(invocations);
    expect(run.cost.usd.dynamodb).toBeGreaterThan(0);

    // Model: what the model calls cost, and the total is the sum.
    expect(run.cost.usd.model).toBeGreaterThan(0);
    const { model, stepFunctions, lambda, dynamodb, s3 } = run.cost.usd;
    expect(run.cost.usd.total).toBeCloseTo(
      (model ?? 0) + (stepFunctions ?? 0) + (lambda ?? 0) + (dynamodb ?? 0) + (s3 ?? 0),
      9,
    );
    expect(runUsage(run.trail).lambdaRequests).toBe(invocations);
  });
});
