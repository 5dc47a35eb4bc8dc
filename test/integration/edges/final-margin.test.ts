/**
 * A `final-answer` edge whose margin is smaller than the agent's own
 * `maxTokens`, against a model that writes every token it is allowed: the
 * last call's `max_tokens` is cut to what the margin pays for, so the call
 * itself stays within the margin and the run within its cap, for the token
 * and the cost limit. (With `max_tokens` left at the agent's 4,000, the model
 * would spend several times the margin.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RecordedRequest,
  responder,
  text,
  toolUse,
  withUsage,
} from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { ofType } from '../approvals/support.js';
import { recordLookup } from './fixtures.js';

const AGENT_MAX_TOKENS = 4_000;

/** A record of about 3,000 bytes: the second call's input is that much larger than the first's. */
const lookup = recordLookup;
const counter = defineAgent({
  name: 'counter',
  model: 'claude-haiku-4-5',
  system: 'Look records up.',
  tools: [lookup],
  maxTokens: AGENT_MAX_TOKENS,
});

/**
 * The ordinary limits let the first call through (it reserves 4,930 tokens)
 * and refuse the second, whose input carries the record. Measured: the last
 * call got `max_tokens` 1,342 (tokens; 2,038 tokens used of the 4,500 margin)
 * and 382 (cost; $0.0026 of the $0.006 margin).
 */
const MARGIN = { tokens: 4_500, costUsd: 0.006 };
const byTokens = defineWorkflow({
  name: 'margin-tokens',
  description: 'counting records (tokens)',
  input: { type: 'object' } as const,
  steps: [agent('work', { agent: counter, prompt: () => 'Look records up until you are done.' })],
  limits: { maxTokens: 6_000 + MARGIN.tokens },
  edges: { tokens: 'final-answer' },
  finalAnswerMargin: { tokens: MARGIN.tokens },
});
const byCost = defineWorkflow({
  name: 'margin-cost',
  description: 'counting records (cost)',
  input: { type: 'object' } as const,
  steps: [agent('work', { agent: counter, prompt: () => 'Look records up until you are done.' })],
  limits: { maxCostUsd: 0.0222 + MARGIN.costUsd },
  edges: { cost: 'final-answer' },
  finalAnswerMargin: { costUsd: MARGIN.costUsd },
});

/** Tool calls until the last call, which writes exactly the `max_tokens` it was given. */
const greedy = responder('greedy', (req: RecordedRequest) => {
  const body = req.body as { tool_choice?: { type?: string }; max_tokens: number };
  if (body.tool_choice?.type === 'none')
    return withUsage(
      { ...text('Partial answer: one record looked up.'), stopReason: 'max_tokens' },
      { outputTokens: body.max_tokens },
    );
  return toolUse('lookup', { id: `A-${req.turnIndex}` });
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([byTokens, byCost]);
});
afterAll(async () => {
  await h?.close();
});

describe.each([
  ['tokens', byTokens],
  ['cost', byCost],
] as const)('a final answer at the %s limit with a margin below the agent maxTokens', (limit, workflow) => {
  it('is cut to what the margin pays for: the call stays within the margin and the run within its cap', async () => {
    h.model.use(greedy);
    const { runId, execution } = await h.run(workflow.name, {});

    expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    const calls = ofType(trail, 'model_call');
    // One ordinary call with its tool call, then the second is refused and the last call is made.
    expect(calls.map((c) => c.edge ?? 'ordinary')).toEqual(['ordinary', 'final-answer']);
    const last = calls.at(-1);
    if (!last) throw new Error('no final call');
    const request = h.model.requests.at(-1)?.body as { max_tokens: number; tool_choice?: unknown };
    expect(request.tool_choice).toEqual({ type: 'none' });
    // The margin was binding: the last call could not have the agent's own maxTokens.
    expect(request.max_tokens).toBeGreaterThan(0);
    expect(request.max_tokens).toBeLessThan(AGENT_MAX_TOKENS);
    expect(last.outputTokens).toBe(request.max_tokens);
    if (limit === 'tokens') expect(last.inputTokens + last.outputTokens).toBeLessThanOrEqual(MARGIN.tokens);
    else expect(last.costUsd).toBeLessThanOrEqual(MARGIN.costUsd);

    const ledger = await h.runs.getLedger(runId);
    if (!ledger) throw new Error('no ledger');
    expect(ledger.tokensUsed).toBeLessThanOrEqual(ledger.tokenLimit);
    expect(ledger.costUsedMicros).toBeLessThanOrEqual(ledger.costLimitMicros);
    expect(ledger.tokenLimit - ledger.tokensRemaining - ledger.tokensUsed - (ledger.marginTokens ?? 0)).toBe(
      0,
    );
    expect((await h.runs.getRun(runId))?.answer).toMatch(
      new RegExp(
        `^\\(Cut short at the ${limit === 'tokens' ? 'token' : 'cost'} limit: .+ used\\.\\)\\n\\nPartial answer`,
      ),
    );
  });
});
