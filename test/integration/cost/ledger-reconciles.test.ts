import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastToolResults, responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { isJudgeRequest, judgeTurn } from '../../../local/scripted-model/judge.js';
import { agent, defineAgent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { readPage } from '../agent/fixtures.js';

/**
 * The run's cost by service (`GET /runs/{id}` → `cost`) against what its
 * ledger was charged (`costUsd.used`): every call the ledger paid for (the
 * agent's turns, a model judge, Bedrock Guardrails, the summaries of older
 * turns) is on the trail with its cost, so model + guardrails is the ledger's
 * figure, to the micro-dollar the ledger keeps.
 */
const input = { type: 'object', properties: {}, additionalProperties: false } as const;
const reader = (name: string, window?: { maxTokens: number; keepTurns: number }) =>
  defineAgent({
    name,
    model: 'claude-haiku-4-5',
    system: 'You read reports.',
    tools: [readPage],
    maxTokens: 256,
    maxIdenticalCalls: 1,
    ...(window ? { window } : {}),
  });
const judged = defineWorkflow({
  name: 'judged-read',
  description: 'Each tool result judged by a model.',
  input,
  steps: [agent('read', { agent: reader('judged-reader'), prompt: () => 'Read pages 1 to 3.' })],
  guardrails: { classifier: { kind: 'model-judge', model: 'claude-haiku-4-5' }, classifierTimeoutMs: 15_000 },
});
const guarded = defineWorkflow({
  name: 'guarded-read',
  description: 'Each tool result through Bedrock Guardrails.',
  input,
  steps: [agent('read', { agent: reader('guarded-reader'), prompt: () => 'Read pages 1 to 3.' })],
  guardrails: {
    classifier: { kind: 'bedrock-guardrails', guardrailId: 'gr0000000007', guardrailVersion: '1' },
  },
});
const SUMMARY_TURNS = 30;
const folded = defineWorkflow({
  name: 'folded-read',
  description: 'A long read whose older turns are summarised.',
  input,
  steps: [
    agent('read', {
      agent: reader('folding-reader', { maxTokens: 8_000, keepTurns: 3 }),
      prompt: () => 'Read every page.',
    }),
  ],
  limits: { maxSteps: 40, maxTokens: 3_000_000, maxCostUsd: 100 },
});

/** `pages` pages, then an answer; a judge that flags nothing; a summary when asked for one. */
const reading = (pages: number) =>
  responder('reader', (r) => {
    if (isJudgeRequest(r)) return judgeTurn(r, () => false);
    if (r.conversation.endsWith(':summary')) return text('Figures so far: see the pages.');
    const last = lastToolResults(r)[0]?.content ?? '';
    const page = Number(/Page (\d+):/.exec(last)?.[1] ?? 0) + 1;
    return page <= pages ? toolUse('read_page', { page }) : text('Read them all.');
  });

interface RunBody {
  status: string;
  costUsd: { used: number };
  cost: {
    usd: { model: number; guardrails: number; total: number };
    usage: {
      modelTokens: { input: number; output: number };
      guardrails: { classifications: number; textUnits: number };
    };
  };
  trail: Array<{ type: string } & Record<string, unknown>>;
}

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([judged, guarded, folded]);
  h.model.guardrails.define('gr0000000007', { versions: ['1'], promptAttackStrength: 'MEDIUM' });
});
afterAll(async () => {
  await h?.close();
});

async function finished(workflow: string, pages: number): Promise<RunBody> {
  h.model.use(reading(pages));
  const { runId, execution } = await h.run(workflow, {});
  expect(execution.status).toBe('SUCCEEDED');
  const res = await h.api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null, { trail: 'true' }));
  expect(res.statusCode).toBe(200);
  return JSON.parse(res.body) as RunBody;
}

const of = (run: RunBody, type: string) => run.trail.filter((e) => e.type === type);
const sum = (events: Array<Record<string, unknown>>, field: string) =>
  events.reduce((n, e) => n + (typeof e[field] === 'number' ? e[field] : 0), 0);

describe("a run's cost against its ledger", () => {
  it('a model judge: its calls are model cost, and model cost is what the ledger was charged', async () => {
    const run = await finished('judged-read', 3);
    const calls = of(run, 'classifier_call');
    // The prompt, then each of the three pages' results.
    expect(calls.map((c) => [c.tier, c.status, c.texts])).toEqual([
      ['model-judge', 'ok', 1],
      ['model-judge', 'ok', 1],
      ['model-judge', 'ok', 1],
      ['model-judge', 'ok', 1],
    ]);
    const judgeUsd = sum(calls, 'costUsd');
    expect(judgeUsd).toBeGreaterThan(0);
    expect(run.cost.usd.model).toBeCloseTo(sum(of(run, 'model_call'), 'costUsd') + judgeUsd, 9);
    expect(run.cost.usd.model).toBeCloseTo(run.costUsd.used, 6);
    expect(run.cost.usage.modelTokens.input).toBe(
      sum(of(run, 'model_call'), 'inputTokens') + sum(calls, 'inputTokens'),
    );
  });

  it('Bedrock Guardrails: its own line, priced per text unit as billed, and model + guardrails is the ledger', async () => {
    const run = await finished('guarded-read', 3);
    const calls = of(run, 'classifier_call');
    expect(calls.map((c) => [c.tier, c.status])).toEqual(Array(4).fill(['bedrock-guardrails', 'ok']));
    // A page is ~1,400 characters: 2 text units of 1,000; the prompt 1.
    expect(run.cost.usage.guardrails).toEqual({ classifications: 4, textUnits: 1 + 3 * 2 });
    expect(run.cost.usd.guardrails).toBeCloseTo((7 * 0.15) / 1000, 9);
    expect(run.cost.usd.model).toBeCloseTo(sum(of(run, 'model_call'), 'costUsd'), 9);
    expect(run.cost.usd.model + run.cost.usd.guardrails).toBeCloseTo(run.costUsd.used, 6);
    expect(run.cost.usd.total).toBeGreaterThan(run.cost.usd.model + run.cost.usd.guardrails);
  });

  it('summaries of older turns: model cost, as the ledger counted them', async () => {
    const run = await finished('folded-read', SUMMARY_TURNS);
    const summaries = of(run, 'conversation_summary');
    expect(summaries.length).toBeGreaterThan(0);
    expect(run.cost.usd.model).toBeCloseTo(
      sum(of(run, 'model_call'), 'costUsd') + sum(summaries, 'costUsd'),
      9,
    );
    expect(run.cost.usd.model).toBeCloseTo(run.costUsd.used, 6);
  }, 120_000);
});
