import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '../../../lambdas/adapters/dynamo-http.js';
import { AgentHarness } from '../../support/agent-harness.js';
import type { FaultKind } from '../../support/fault-proxy.js';
import { longRead, reading } from './fixtures.js';

// The running summary is a model call like any other: reserved before, settled after, in the
// trail once. A process that dies around its trail write must neither fold the same turns
// into two summaries nor leave anything reserved.
let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start(
    [longRead('long-read'), longRead('long-read-capped', { dailyCaps: { tokens: 5_000_000 } })],
    {},
    { faults: true },
  );
});
afterAll(async () => {
  await h.close();
});

async function crashAtFirstSummaryWrite(kind: FaultKind, report: string) {
  const faults = h.faults;
  if (!faults) throw new Error('the harness has no fault proxy');
  h.model.use(reading('long-read'));
  faults.arm({ kind, nth: 1, match: (w) => w.keys.some((k) => k.startsWith('EVT#conversation_summary#')) });
  const { runId, execution } = await h.run('long-read', { report });
  faults.arm(undefined);
  const trail = await h.runs.listEvents(runId);
  const summaries = trail.flatMap((e) => (e.type === 'conversation_summary' ? [e] : []));
  const firstFoldCalls = h.model.requests.filter(
    (r) =>
      r.conversation === `${runId}:read:summary` &&
      String(r.body.messages[0]?.content).startsWith('New turns to merge in:'),
  );
  const ledger = await h.runs.getLedger(runId);
  // What the trail accounts for: every call's tokens, and a lost call at its reservation.
  const paid = trail.reduce(
    (n, e) =>
      e.type === 'model_call' || e.type === 'conversation_summary'
        ? n + e.inputTokens + e.outputTokens
        : e.type === 'model_call_lost'
          ? n + e.chargedTokens
          : n,
    0,
  );
  const lost = trail.filter((e) => e.type === 'model_call_lost');
  return { runId, execution, summaries, firstFoldCalls, ledger, paid, lost, crashes: faults.crashes };
}

describe('the running summary is paid like any call', () => {
  it('counts against the workflow’s daily cap too, and leaves nothing held there', {
    timeout: 120_000,
  }, async () => {
    h.model.use(reading('long-read-capped'));
    const { runId, execution } = await h.run('long-read-capped', { report: 'R-cap' });
    expect(execution.status).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    const summaryTokens = trail.reduce(
      (n, e) => (e.type === 'conversation_summary' ? n + e.inputTokens + e.outputTokens : n),
      0,
    );
    expect(summaryTokens).toBeGreaterThan(0);
    const ledger = await h.runs.getLedger(runId);
    const day = new Date().toISOString().slice(0, 10);
    const cap = (
      await h.db.send(
        new GetCommand({
          TableName: 'Runs',
          Key: { pk: `CAP#workflow#long-read-capped#${day}`, sk: 'LEDGER' },
        }),
      )
    ).Item;
    expect(cap?.tokensUsed).toBe(ledger?.tokensUsed);
    expect(cap?.open).toEqual({});
  });
});

describe('the running summary across a crash', () => {
  it('dies after its trail write: the retry reads the summary back and calls no model for it', {
    timeout: 120_000,
  }, async () => {
    const before = h.faults?.crashes ?? 0;
    const r = await crashAtFirstSummaryWrite('crash-after', 'R-after');
    expect(r.crashes).toBe(before + 1);
    expect(r.execution.status).toBe('SUCCEEDED');
    expect(r.firstFoldCalls).toHaveLength(1);
    const folds = r.summaries.map((s) => s.beforeIteration);
    expect(new Set(folds).size).toBe(folds.length);
    expect(r.ledger?.tokensUsed).toBe(r.paid);
    expect(await h.runs.openReservations(r.runId)).toEqual({});
  });

  it('dies before its trail write: the retry charges the lost call, pays a second, and the trail accounts for both', {
    timeout: 120_000,
  }, async () => {
    const before = h.faults?.crashes ?? 0;
    const r = await crashAtFirstSummaryWrite('crash-before', 'R-before');
    expect(r.crashes).toBe(before + 1);
    expect(r.execution.status).toBe('SUCCEEDED');
    // The dead attempt's call was made and never settled (its settle is its trail write): the
    // retry charges it as lost, at its reservation, and calls again.
    expect(r.firstFoldCalls).toHaveLength(2);
    expect(r.lost).toEqual([expect.objectContaining({ call: 'summary', step: 'read' })]);
    const folds = r.summaries.map((s) => s.beforeIteration);
    expect(new Set(folds).size).toBe(folds.length);
    expect(r.ledger?.tokensUsed).toBe(r.paid);
    expect(await h.runs.openReservations(r.runId)).toEqual({});
  });
});
