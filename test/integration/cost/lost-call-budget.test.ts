import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hang,
  type RecordedRequest,
  responder,
  scenario,
  status,
  text,
  toolUse,
  withFaults,
  withUsage,
} from '../../../local/scripted-model/index.js';
import { isJudgeRequest, judgeTurn } from '../../../local/scripted-model/judge.js';
import { agent, defineAgent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { longRead, reading, SUMMARY } from '../agent/fixtures.js';
import { recordLookup } from '../edges/fixtures.js';

/**
 * "Reserved before each call, never overshot" when a call's answer is lost:
 * the attempt dies after the model answered (its record's write never
 * happens), so the provider may have billed a call the run has no record of.
 * The retry charges the vanished attempt's reservation in full; when the
 * budget cannot hold another, the run stops on its budget instead of paying
 * for the call twice.
 */
const answerer = (name: string, maxTokens: number, dailyTokens?: number) =>
  defineWorkflow({
    name,
    ...(dailyTokens ? { dailyCaps: { tokens: dailyTokens } } : {}),
    description: 'one question, one answer',
    input: {
      type: 'object',
      properties: { q: { type: 'string' } },
      required: ['q'],
      additionalProperties: false,
    } as const,
    steps: [
      agent('answer', {
        agent: defineAgent({
          name: 'answerer',
          model: 'claude-haiku-4-5',
          system: 'You answer.',
          tools: [],
          maxTokens: 512,
        }),
        prompt: ({ input }) => (input as { q: string }).q,
      }),
    ],
    limits: { maxSteps: 10, maxTokens, maxCostUsd: 100 },
  });

const harnesses: AgentHarness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

/** Tokens the trail accounts for: every call's, and a lost call's at its reservation. */
const paidOf = (trail: Awaited<ReturnType<AgentHarness['runs']['listEvents']>>) =>
  trail.reduce(
    (n, e) =>
      e.type === 'model_call' || e.type === 'conversation_summary' || e.type === 'classifier_call'
        ? n + (e.inputTokens ?? 0) + (e.outputTokens ?? 0)
        : e.type === 'model_call_lost'
          ? n + e.chargedTokens
          : n,
    0,
  );

/** An answerer behind a model judge (the input classifier). */
const judgedAnswerer = (name: string) =>
  defineWorkflow({
    name,
    description: 'an answerer behind a model judge',
    input: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } as const,
    steps: [
      agent('answer', {
        agent: defineAgent({ name: 'answerer', model: 'claude-haiku-4-5', system: 'You answer.', tools: [] }),
        prompt: ({ input }) => (input as { q: string }).q,
      }),
    ],
    guardrails: { classifier: { kind: 'model-judge', model: 'claude-haiku-4-5' } },
  });

/** Runs `workflow` with the first write that records a model turn dropped, as a crash just before it would. */
async function loseFirstAnswer(h: AgentHarness, workflow: string) {
  const faults = h.faults;
  if (!faults) throw new Error('the harness has no fault proxy');
  h.model.use(responder(workflow, () => text('42.')));
  faults.arm({
    kind: 'crash-before',
    nth: 1,
    match: (w) => w.operation === 'TransactWriteItems' && w.keys.some((k) => k.startsWith('MSG#')),
  });
  const { runId, execution } = await h.run(workflow, { q: 'What is six times seven?' });
  faults.arm(undefined);
  const [run, ledger, trail] = await Promise.all([
    h.runs.getRun(runId),
    h.runs.getLedger(runId),
    h.runs.listEvents(runId),
  ]);
  const calls = h.model.requests.filter((r) => r.conversation.startsWith(`${runId}:`)).length;
  return { runId, execution, run, ledger, trail, calls, crashes: faults.crashes };
}

describe('a model call whose answer was lost', () => {
  it('is charged at its reservation, and the budget stops a second call it cannot hold', async () => {
    // What one turn of this agent reserves, from a clean run.
    const probe = await AgentHarness.start([answerer('probe', 1_000_000)], {}, {});
    harnesses.push(probe);
    probe.model.use(responder('probe', () => text('42.')));
    const clean = await probe.run('probe', { q: 'What is six times seven?' });
    const reserved = (await probe.runs.listEvents(clean.runId)).find((e) => e.type === 'model_call');
    if (reserved?.type !== 'model_call') throw new Error('the probe run made no model call');
    const perTurn = reserved.reservedTokens;

    // Room for one turn's reservation and a half: the lost call and its retry cannot both fit.
    const h = await AgentHarness.start(
      [
        answerer('tight', Math.floor(perTurn * 1.5)),
        answerer('roomy', perTurn * 10),
        answerer('capped', perTurn * 10, Math.floor(perTurn * 1.5)),
      ],
      {},
      { faults: true, retryJitter: () => 0.002 },
    );
    harnesses.push(h);

    const tight = await loseFirstAnswer(h, 'tight');
    expect(tight.crashes).toBeGreaterThanOrEqual(1);
    // Asked once: the retry found the lost attempt's hold, charged it, and had no room for another.
    expect(tight.calls).toBe(1);
    expect(tight.trail.filter((e) => e.type === 'model_call_lost')).toEqual([
      expect.objectContaining({ step: 'answer', iteration: 1, chargedTokens: perTurn }),
    ]);
    expect(tight.trail.some((e) => e.type === 'budget_refused' && e.limit === 'tokens')).toBe(true);
    expect(tight.ledger?.tokensUsed).toBe(perTurn);
    expect(tight.ledger?.tokensUsed).toBeLessThanOrEqual(tight.ledger?.tokenLimit ?? 0);
    expect(tight.run?.status).not.toBe('SUCCEEDED');

    // The same under a daily cap: the cap is charged the lost call too, and stops the retry.
    const capped = await loseFirstAnswer(h, 'capped');
    expect(capped.calls).toBe(1);
    expect(capped.trail.filter((e) => e.type === 'model_call_lost')).toHaveLength(1);
    expect(capped.trail.some((e) => e.type === 'budget_refused')).toBe(true);
    const day = new Date().toISOString().slice(0, 10);
    const cap = await h.dynamo.client.send(
      new GetItemCommand({
        TableName: 'Runs',
        ConsistentRead: true,
        Key: { pk: { S: `CAP#workflow#capped#${day}` }, sk: { S: 'LEDGER' } },
      }),
    );
    const capLedger = cap.Item ? unmarshall(cap.Item) : undefined;
    expect(capLedger?.tokensUsed).toBe(perTurn);
    expect(capLedger?.tokensUsed).toBeLessThanOrEqual(capLedger?.tokenLimit);
    expect(capLedger?.open).toEqual({});

    // With room for both: asked again, answered, and both calls counted.
    const roomy = await loseFirstAnswer(h, 'roomy');
    expect(roomy.execution.status).toBe('SUCCEEDED');
    expect(roomy.calls).toBe(2);
    const ok = roomy.trail.find((e) => e.type === 'model_call' && e.status === 'ok');
    const lost = roomy.trail.filter((e) => e.type === 'model_call_lost');
    expect(lost).toHaveLength(1);
    if (ok?.type !== 'model_call') throw new Error('the roomy run recorded no answer');
    expect(roomy.ledger?.tokensUsed).toBe(perTurn + ok.inputTokens + ok.outputTokens);
    expect(
      roomy.ledger ? roomy.ledger.tokenLimit - roomy.ledger.tokensRemaining - roomy.ledger.tokensUsed : -1,
    ).toBe(0);
  });

  it('an answered error (a 429) is not one: its hold and its step are given back, and the retry reserves afresh', async () => {
    const h = harnesses.at(-1);
    if (!h) throw new Error('no harness');
    h.model.use(scenario('roomy', [withFaults(text('42.'), status(429, { retryAfterSeconds: 0 }))]));
    const { runId, execution } = await h.run('roomy', { q: 'What is six times seven?' });
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(
      trail.filter((e) => e.type === 'model_call').map((e) => e.type === 'model_call' && e.status),
    ).toEqual(['error', 'ok']);
    expect(trail.some((e) => e.type === 'model_call_lost')).toBe(false);
    const ok = trail.find((e) => e.type === 'model_call' && e.status === 'ok');
    if (ok?.type !== 'model_call') throw new Error('no answer recorded');
    expect(ledger?.tokensUsed).toBe(ok.inputTokens + ok.outputTokens);
    expect(ledger?.stepsUsed).toBe(1);
  });
});

describe('a model call that failed', () => {
  it('by a timeout may have been billed: its hold is charged, and the retry answers', async () => {
    const h = await AgentHarness.start(
      [answerer('slow', 1_000_000)],
      { CHAPERONE_MODEL_TIMEOUT_MS: '300' },
      {
        retryJitter: () => 0.002,
      },
    );
    harnesses.push(h);
    h.model.use(scenario('slow', [withFaults(text('late but fine'), hang(1_000))]));
    const { runId, execution } = await h.run('slow', { q: 'hi' });
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(trail.map((e) => e.type).filter((t) => t.startsWith('model_call'))).toEqual([
      'model_call',
      'model_call_lost',
      'model_call',
    ]);
    const lost = trail.find((e) => e.type === 'model_call_lost');
    const ok = trail.find((e) => e.type === 'model_call' && e.status === 'ok');
    if (lost?.type !== 'model_call_lost' || ok?.type !== 'model_call') throw new Error('trail incomplete');
    expect(ledger?.tokensUsed).toBe(lost.chargedTokens + ok.inputTokens + ok.outputTokens);
    expect(ledger?.stepsUsed).toBe(1);
  });

  it("answered with a 429 on a final-answer edge's last call is not charged: the retry takes the margin again", async () => {
    const wf = defineWorkflow({
      name: 'margin-429',
      description: 'a token limit with a final-answer edge',
      input: { type: 'object' } as const,
      steps: [
        agent('work', {
          agent: defineAgent({
            name: 'counter',
            model: 'claude-haiku-4-5',
            system: 'Look records up.',
            tools: [recordLookup],
            maxTokens: 4000,
          }),
          prompt: () => 'Look records up until you are done.',
        }),
      ],
      limits: { maxTokens: 13_000 },
      edges: { tokens: 'final-answer' },
      finalAnswerMargin: { tokens: 7_000 },
    });
    const h = await AgentHarness.start([wf], {}, { retryJitter: () => 0.002 });
    harnesses.push(h);
    h.model.use(
      responder('margin-429', (req: RecordedRequest) => {
        const body = req.body as { tool_choice?: { type?: string }; max_tokens: number };
        if (body.tool_choice?.type !== 'none') return toolUse('lookup', { id: `A-${req.turnIndex}` });
        const last = withUsage(
          { ...text('Partial answer.'), stopReason: 'max_tokens' },
          { outputTokens: body.max_tokens },
        );
        return withFaults(last, status(429, { retryAfterSeconds: 0 }));
      }),
    );
    const { runId, execution } = await h.run('margin-429', {});
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(trail.some((e) => e.type === 'model_call_lost')).toBe(false);
    expect(trail.some((e) => e.type === 'model_call' && e.status === 'ok' && e.edge === 'final-answer')).toBe(
      true,
    );
    const paid = trail.reduce(
      (n, e) => (e.type === 'model_call' ? n + e.inputTokens + e.outputTokens : n),
      0,
    );
    expect(ledger?.tokensUsed).toBe(paid);
  });
});

describe('a running summary call', () => {
  it('that timed out may have been billed: the retry charges its hold, and the ledger matches the trail', async () => {
    const h = await AgentHarness.start(
      [longRead('long-read')],
      { CHAPERONE_MODEL_TIMEOUT_MS: '300' },
      { retryJitter: () => 0.002 },
    );
    harnesses.push(h);
    h.model.use(reading('long-read', 10, withFaults(SUMMARY, hang(1_000))));
    const { runId, execution } = await h.run('long-read', { report: 'R-1' });
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(execution.status).toBe('SUCCEEDED');
    const lost = trail.filter((e) => e.type === 'model_call_lost');
    expect(lost).toEqual([expect.objectContaining({ call: 'summary', step: 'read' })]);
    expect(lost[0]?.type === 'model_call_lost' && lost[0].chargedTokens).toBeGreaterThan(1_024);
    expect(ledger?.tokensUsed).toBe(paidOf(trail));
    expect(await h.runs.openReservations(runId)).toEqual({});
  });

  it('answered with a 429 was not billed: its hold is given back, nothing is charged for it', async () => {
    const h = await AgentHarness.start([longRead('long-read')], {}, { retryJitter: () => 0.002 });
    harnesses.push(h);
    h.model.use(reading('long-read', 10, withFaults(SUMMARY, status(429, { retryAfterSeconds: 0 }))));
    const { runId, execution } = await h.run('long-read', { report: 'R-1' });
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(
      h.model.requests.filter((r) => r.conversation.endsWith(':summary') && r.attempt === 1),
    ).toHaveLength(1);
    expect(trail.some((e) => e.type === 'model_call_lost')).toBe(false);
    expect(ledger?.tokensUsed).toBe(paidOf(trail));
  });
});

describe("an input classifier's judge call", () => {
  it('whose attempt died before its settle is charged on the retry, and the ledger matches the trail (settled with its event in one write)', async () => {
    const judged = judgedAnswerer('judged');
    const h = await AgentHarness.start([judged], {}, { faults: true, retryJitter: () => 0.002 });
    harnesses.push(h);
    h.model.use(responder('judged', (r) => (isJudgeRequest(r) ? judgeTurn(r, () => false) : text('42.'))));
    // The process dies just before the write that settles the judge's hold with its verdict
    // (one transaction: the ledger, the classifier_call event, the claim done), after it answered.
    h.faults?.arm({
      kind: 'crash-before',
      nth: 1,
      match: (w) =>
        w.operation === 'TransactWriteItems' && w.keys.some((k) => k.startsWith('CLAIM#guardrail#')),
    });
    const { runId, execution } = await h.run('judged', { q: 'What is six times seven?' });
    h.faults?.arm(undefined);
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(h.faults?.crashes).toBe(1);
    expect(execution.status).toBe('SUCCEEDED');
    expect(h.model.requests.filter((r) => isJudgeRequest(r))).toHaveLength(2);
    const lost = trail.filter((e) => e.type === 'model_call_lost');
    expect(lost).toEqual([expect.objectContaining({ call: 'classifier', step: 'answer', iteration: 1 })]);
    expect(ledger?.tokensUsed).toBe(paidOf(trail));
    expect(await h.runs.openReservations(runId)).toEqual({});
  });
});

describe("an input classifier's check that was never sent", () => {
  it('is not charged: an attempt that died between its reservation and its claim made no call', async () => {
    const judged = judgedAnswerer('judged-unsent');
    const h = await AgentHarness.start([judged], {}, { faults: true, retryJitter: () => 0.002 });
    harnesses.push(h);
    h.model.use(
      responder('judged-unsent', (r) => (isJudgeRequest(r) ? judgeTurn(r, () => false) : text('42.'))),
    );
    // The process dies on the write that begins the check's claim: after its reservation, before any call.
    h.faults?.arm({
      kind: 'crash-before',
      nth: 1,
      match: (w) => w.keys.some((k) => k.startsWith('CLAIM#guardrail#')),
    });
    const { runId, execution } = await h.run('judged-unsent', { q: 'What is six times seven?' });
    h.faults?.arm(undefined);
    const [ledger, trail] = await Promise.all([h.runs.getLedger(runId), h.runs.listEvents(runId)]);
    expect(h.faults?.crashes).toBe(1);
    expect(execution.status).toBe('SUCCEEDED');
    expect(h.model.requests.filter((r) => isJudgeRequest(r))).toHaveLength(1);
    expect(trail.filter((e) => e.type === 'model_call_lost')).toEqual([]);
    expect(ledger?.tokensUsed).toBe(paidOf(trail));
  });
});

describe('a budget that cannot pay for the running summary', () => {
  it('stops the run with BudgetExceeded, closed and settled, like a refused turn', async () => {
    // Budgets around the first fold: some run out on a turn, some on the summary that turn needs.
    const budgets = Array.from({ length: 13 }, (_, i) => 6_000 + 250 * i);
    const h = await AgentHarness.start(
      budgets.map((b) => longRead(`fold-${b}`, { maxTokens: b })),
      {},
      {},
    );
    harnesses.push(h);
    const refusedOn: string[] = [];
    for (const b of budgets) {
      h.model.use(reading(`fold-${b}`));
      const { runId, execution } = await h.run(`fold-${b}`, { report: 'R-1' });
      const [run, trail, open] = await Promise.all([
        h.runs.getRun(runId),
        h.runs.listEvents(runId),
        h.runs.openReservations(runId),
      ]);
      expect({ budget: b, execution: execution.error, run: run?.status, reason: run?.stopReason }).toEqual({
        budget: b,
        execution: 'BudgetExceeded',
        run: 'STOPPED',
        reason: 'BudgetExceeded',
      });
      expect(open).toEqual({});
      const refused = trail.find((e) => e.type === 'budget_refused');
      if (refused?.type === 'budget_refused')
        refusedOn.push((refused.requested as { call?: string }).call ?? 'turn');
    }
    // The range holds both kinds, so the summary's refusal is the one under test.
    expect(refusedOn).toContain('summary');
    expect(refusedOn).toContain('turn');
  });
});
