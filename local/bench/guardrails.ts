/**
 * `npm run bench`, the guardrails section: detection on the labelled sample's
 * frozen test part (heuristics alone, and heuristics + the model judge), each
 * tier's latency and tokens (per call, and added per run through the whole
 * local stack), and containment against a compromised model.
 *
 * The judge is the scripted model unless `CHAPERONE_BENCH_REAL_JUDGE=1` and
 * `ANTHROPIC_API_KEY` are set (then claude-haiku-4-5 is asked, and billed).
 * The scripted judge answers "benign" to everything: with it, heuristics +
 * judge shows the tier's plumbing, latency and token cost, not a judge's
 * detection — a real model's figures need a key. Bedrock Guardrails runs
 * through the real SDK against the local stand-in, whose detector is not
 * Bedrock's: only its latency and text units are reported.
 */
import { createAnthropicModel } from '../../lambdas/adapters/anthropic-model.js';
import { createBedrockGuardrails } from '../../lambdas/adapters/bedrock-guardrails.js';
import { judgeRequest, runModelJudge } from '../../lambdas/core/guardrails/model-judge.js';
import { scanText } from '../../lambdas/core/guardrails/scan.js';
import type { ModelClient } from '../../lambdas/core/model.js';
import type { GuardrailOptions } from '../../state-machines/guardrail-settings.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../state-machines/index.js';
import type { Workflow } from '../../state-machines/workflow.js';
import {
  compromisedModel,
  containmentWorkflow,
  runScenario,
  SCENARIOS,
  startApprover,
} from '../../test/integration/containment/corpus.js';
import { AgentHarness } from '../../test/support/agent-harness.js';
import type { LocalAlert } from '../aws/sns-alerts.js';
import { responder, text, toolUse } from '../scripted-model/index.js';
import { isJudgeRequest, judgeTurn } from '../scripted-model/judge.js';
import {
  benchGuardrailQuality,
  detection,
  heuristicFlags,
  loadSample,
  type Sample,
} from './guardrail-quality.js';
import { round, stats, table } from './table.js';

const GUARDRAIL_ID = 'benchguard01';

const fetchRecord = defineTool({
  name: 'fetch_record',
  description: 'Fetch a record by id.',
  input: {
    type: 'object',
    properties: { id: { type: 'string' } },
    required: ['id'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async ({ id }) => ({ id, note: 'Delivered on time; net 30.' }),
});
const tierWorkflow = (name: string, guardrails: GuardrailOptions | undefined): Workflow =>
  defineWorkflow({
    name,
    description: 'Two lookups, then an answer.',
    input: {
      type: 'object',
      properties: { task: { type: 'string' } },
      required: ['task'],
      additionalProperties: false,
    } as const,
    steps: [
      agent('look', {
        agent: defineAgent({
          name: `${name}-agent`,
          model: 'claude-haiku-4-5',
          system: 'You look records up.',
          tools: [fetchRecord],
          maxTokens: 256,
        }),
        prompt: ({ input }) => (input as { task: string }).task,
      }),
    ],
    ...(guardrails ? { guardrails } : {}),
  });
const TIERS: Array<{ tier: string; workflow: Workflow }> = [
  { tier: 'heuristics only', workflow: tierWorkflow('tier-none', undefined) },
  { tier: '+ model judge', workflow: tierWorkflow('tier-judge', { classifier: { kind: 'model-judge' } }) },
  {
    tier: '+ Bedrock Guardrails',
    workflow: tierWorkflow('tier-bedrock', {
      classifier: { kind: 'bedrock-guardrails', guardrailId: GUARDRAIL_ID, guardrailVersion: '1' },
    }),
  },
];

export async function benchGuardrails(opts: {
  runsPerTier: number;
}): Promise<{ text: string; json: Record<string, unknown> }> {
  const quality = benchGuardrailQuality();
  const test = loadSample().filter((s) => s.split === 'test');
  const h = await AgentHarness.start([...TIERS.map((t) => t.workflow), containmentWorkflow]);
  try {
    h.model.guardrails.define(GUARDRAIL_ID, { versions: ['1'] });
    h.model.use(
      responder('bench-guardrails', (r) => {
        if (isJudgeRequest(r)) return judgeTurn(r, () => false);
        const task = String(
          typeof r.body.messages[0]?.content === 'string' ? r.body.messages[0].content : '',
        );
        if (!task.startsWith('tier:')) return compromisedModel.respond?.(r) ?? text('no script');
        return r.turnIndex < 2
          ? toolUse('fetch_record', { id: `R-${r.turnIndex}` })
          : text('Both records are fine.');
      }),
    );

    // Per call: heuristics, the judge, Bedrock Guardrails.
    const heuristicUs = timeHeuristics(test);
    const real = process.env.CHAPERONE_BENCH_REAL_JUDGE === '1' && Boolean(process.env.ANTHROPIC_API_KEY);
    const judgeModel: ModelClient = createAnthropicModel({
      apiKey: real ? (process.env.ANTHROPIC_API_KEY as string) : 'scripted-model-key',
      ...(real ? {} : { baseURL: h.model.url }),
      maxRetries: 0,
      timeout: 30_000,
    });
    const judged = await judgeSample(judgeModel, test);
    const filter = createBedrockGuardrails({
      region: 'us-east-1',
      endpoint: h.model.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const bedrockMs: number[] = [];
    let units = 0;
    for (const s of test) {
      const started = performance.now();
      const out = await filter.apply(
        { guardrailId: GUARDRAIL_ID, guardrailVersion: '1', text: s.text },
        { signal: AbortSignal.timeout(10_000) },
      );
      bedrockMs.push(performance.now() - started);
      units += out.textUnits;
    }
    const both = detection(test, (s) => heuristicFlags(s) || judged.flagged.has(s.id));
    const alone = detection(test, heuristicFlags);
    const judgeName = real
      ? 'claude-haiku-4-5 (real)'
      : 'scripted judge (answers benign to all; a real model needs a key)';
    const detectionTable = table(
      `Detection on the frozen test part (${test.length} texts), heuristics alone and + judge: ${judgeName}`,
      ['tiers', 'recall', 'FP rate', 'precision'],
      [
        ['heuristics', round(alone.recall, 3), round(alone.falsePositiveRate, 3), round(alone.precision, 3)],
        [
          'heuristics + judge',
          round(both.recall, 3),
          round(both.falsePositiveRate, 3),
          round(both.precision, 3),
        ],
      ],
    );
    const perCall = table(
      'Per classification call (one text)',
      ['tier', 'calls', 'p50 ms', 'p95 ms', 'tokens/call', 'text units/call'],
      [
        [
          'heuristics (normalise + scan)',
          test.length,
          round(heuristicUs.p50 / 1000, 3),
          round(heuristicUs.p95 / 1000, 3),
          0,
          0,
        ],
        [
          `model judge (${real ? 'Anthropic API' : 'scripted, loopback'})`,
          judged.ms.length,
          round(stats(judged.ms).p50, 2),
          round(stats(judged.ms).p95, 2),
          round(judged.tokens / Math.max(1, judged.ms.length), 1),
          0,
        ],
        [
          'Bedrock Guardrails (stand-in, loopback)',
          bedrockMs.length,
          round(stats(bedrockMs).p50, 2),
          round(stats(bedrockMs).p95, 2),
          0,
          round(units / test.length, 2),
        ],
      ],
    );

    // Per run: the same three-iteration run with each tier configured.
    // Warm every tier first, then interleave the runs so load and warm-up fall on all tiers alike.
    for (const { workflow } of TIERS) await h.run(workflow.name, { task: 'tier: warm-up' });
    const samples = TIERS.map(() => ({ ms: [] as number[], tokens: [] as number[], cost: [] as number[] }));
    for (let i = 0; i < opts.runsPerTier; i++) {
      for (const [t, { workflow }] of TIERS.entries()) {
        const started = performance.now();
        const { runId, execution } = await h.run(workflow.name, { task: `tier: run ${i}` });
        const ms = performance.now() - started;
        if (execution.status !== 'SUCCEEDED')
          throw new Error(`${workflow.name} run ${runId} ended ${execution.status}`);
        const ledger = await h.runs.getLedger(runId);
        samples[t]?.ms.push(ms);
        samples[t]?.tokens.push(ledger?.tokensUsed ?? 0);
        samples[t]?.cost.push((ledger?.costUsedMicros ?? 0) / 1e6);
      }
    }
    const perRun = TIERS.map(({ tier }, t) => ({
      tier,
      ms: stats(samples[t]?.ms ?? []).p50,
      tokens: stats(samples[t]?.tokens ?? []).mean,
      costUsd: stats(samples[t]?.cost ?? []).mean,
    }));
    const base = perRun[0] ?? { ms: 0, tokens: 0, costUsd: 0 };
    const perRunTable = table(
      `Added per run (3 model calls, 2 tool results; ${opts.runsPerTier} runs each, interleaved, p50; local stack, scripted model and stand-in)`,
      ['tiers', 'p50 ms', 'added ms', 'tokens', 'added tokens', 'added USD'],
      perRun.map((r) => [
        r.tier,
        round(r.ms, 1),
        round(r.ms - base.ms, 1),
        Math.round(r.tokens),
        Math.round(r.tokens - base.tokens),
        `$${(r.costUsd - base.costUsd).toFixed(6)}`,
      ]),
    );

    // Containment.
    const alerts: LocalAlert[] = [];
    h.services.events.on('alert', (a) => alerts.push(a));
    const approver = startApprover(h);
    const outcomes = [];
    for (const s of SCENARIOS) outcomes.push(await runScenario(h, s, approver, alerts));
    approver.stop();
    const attempted = outcomes.reduce((n, o) => n + o.attempted, 0);
    const blocked = outcomes.reduce((n, o) => n + o.blocked, 0);
    const approvals = outcomes.reduce((n, o) => n + o.approvals, 0);
    const containment = table(
      `Containment against a compromised model (it obeys the injected email): ${blocked}/${attempted} harmful effects blocked, ${approvals} human approvals`,
      ['scenario', 'attempted', 'blocked', 'ended', 'rules recorded', 'pages', 'approvals', 'failures'],
      outcomes.map((o) => [
        o.scenario,
        o.attempted,
        o.blocked,
        o.stopReason ?? o.status ?? '?',
        o.rules.join(',') || '-',
        o.pages,
        o.approvals,
        o.failures.join('; ') || '-',
      ]),
    );

    const tierJson = (r: (typeof perRun)[number] | undefined) =>
      r
        ? {
            addedMsPerRun: round(r.ms - base.ms, 1),
            addedTokensPerRun: Math.round(r.tokens - base.tokens),
            addedUsdPerRun: round(r.costUsd - base.costUsd, 6),
          }
        : {};
    return {
      text: [quality.text, detectionTable, perCall, perRunTable, containment].join('\n'),
      json: {
        ...quality.json,
        injectionRecallWithJudge: round(both.recall, 3),
        injectionFalsePositiveRateWithJudge: round(both.falsePositiveRate, 3),
        injectionJudge: real
          ? 'claude-haiku-4-5'
          : 'scripted (benign to all; real figures need ANTHROPIC_API_KEY and CHAPERONE_BENCH_REAL_JUDGE=1)',
        containmentRate: attempted ? round(blocked / attempted, 3) : 0,
        containment: { attempted, blocked, humanApprovals: approvals, scenarios: outcomes.length },
        guardrailTiers: {
          heuristics: { p50MsPerText: round(heuristicUs.p50 / 1000, 4), tokens: 0 },
          modelJudge: {
            p50MsPerCall: round(stats(judged.ms).p50, 2),
            tokensPerCall: round(judged.tokens / Math.max(1, judged.ms.length), 1),
            ...tierJson(perRun[1]),
          },
          bedrockGuardrails: {
            p50MsPerCall: round(stats(bedrockMs).p50, 2),
            textUnitsPerCall: round(units / test.length, 2),
            ...tierJson(perRun[2]),
          },
        },
      },
    };
  } finally {
    await h.close();
  }
}

/** Microseconds per text for the heuristic tier (normalise + scan), over several passes. */
function timeHeuristics(samples: readonly Sample[]) {
  const us: number[] = [];
  for (let pass = 0; pass < 5; pass++)
    for (const s of samples) {
      const started = performance.now();
      scanText(s.text);
      us.push((performance.now() - started) * 1000);
    }
  return stats(us);
}

/** Ask the judge about each text the heuristics passed, one call each, as the tier would. */
async function judgeSample(model: ModelClient, samples: readonly Sample[]) {
  const flagged = new Set<string>();
  const ms: number[] = [];
  let tokens = 0;
  for (const s of samples) {
    if (heuristicFlags(s)) continue;
    const texts = [{ id: s.id, source: s.channel, text: s.text }];
    const request = judgeRequest({
      model: 'claude-haiku-4-5',
      provider: 'anthropic',
      maxTokens: 256,
      texts,
      conversation: `bench:${s.id}:guardrail`,
    });
    const started = performance.now();
    const out = await runModelJudge(model, request, texts, AbortSignal.timeout(30_000));
    ms.push(performance.now() - started);
    tokens += out.usage.inputTokens + out.usage.outputTokens;
    if (out.verdicts[0]?.injection) flagged.add(s.id);
  }
  return { flagged, ms, tokens };
}
