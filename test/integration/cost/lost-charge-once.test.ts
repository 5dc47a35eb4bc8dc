import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostCallEvent } from '../../../lambdas/core/lost-calls.js';
import type { Ledger, OpenReservation } from '../../../lambdas/core/run-records.js';
import { AgentHarness } from '../../support/agent-harness.js';

/**
 * Two attempts of one task can run at once (a Task timeout starts the retry while the first
 * Lambda invocation still runs): both find the same lost hold. The charge's event id names the
 * charge (the hold's count of charges), so only one of them charges it.
 */
let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([]);
});
afterAll(async () => {
  await h.close();
});

const LEDGER: Ledger = {
  tokenLimit: 100_000,
  tokensRemaining: 100_000,
  tokensUsed: 0,
  costLimitMicros: 10_000_000,
  costRemainingMicros: 10_000_000,
  costUsedMicros: 0,
  stepLimit: 10,
  stepsRemaining: 10,
  stepsUsed: 0,
  toolFailureLimit: 3,
  toolFailures: 0,
};

const lostEvent = (held: OpenReservation) => lostCallEvent('answer', 1, 'claude-haiku-4-5', held);

describe('a lost hold found by two attempts at once', () => {
  it('is charged once; a later loss of the same hold is charged again', async () => {
    const runs = h.runs;
    const runId = 'lost-once-1';
    const now = new Date().toISOString();
    await runs.createRun(
      {
        runId,
        workflow: 'w',
        input: {},
        status: 'RUNNING',
        createdAt: now,
        updatedAt: now,
        deadline: Date.now() + 60_000,
      },
      LEDGER,
    );
    const key = 'turn#answer#000001';
    const amount = { tokens: 5_000, costMicros: 20_000, steps: 1 };
    expect((await runs.reserveTurn(runId, 'answer', 1, key, amount)).kind).toBe('reserved');

    // Two attempts find the hold (reused) and charge it at the same moment.
    const found = await Promise.all([
      runs.reserveTurn(runId, 'answer', 1, key, amount),
      runs.reserveTurn(runId, 'answer', 1, key, amount),
    ]);
    const helds = found.map((f) => (f.kind === 'reused' ? f.held : undefined));
    expect(helds.every((x) => x !== undefined)).toBe(true);
    const outcomes = await Promise.all(
      helds.map((held) =>
        runs.chargeLostTurn(runId, key, held as OpenReservation, lostEvent(held as OpenReservation)),
      ),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['reserved', 'reserved']);
    let ledger = await runs.getLedger(runId);
    expect(ledger?.tokensUsed).toBe(5_000);
    expect((await runs.listEvents(runId)).filter((e) => e.type === 'model_call_lost')).toHaveLength(1);
    // Held once, as before the loss: limit − remaining − used is the one open hold.
    expect((ledger?.tokenLimit ?? 0) - (ledger?.tokensRemaining ?? 0) - (ledger?.tokensUsed ?? 0)).toBe(
      5_000,
    );

    // The hold is lost again later (the attempt that kept it vanished too): a second charge.
    const again = await runs.reserveTurn(runId, 'answer', 1, key, amount);
    if (again.kind !== 'reused') throw new Error(`expected the hold to be reused, got ${again.kind}`);
    expect(again.held.charged).toBe(1);
    expect((await runs.chargeLostTurn(runId, key, again.held, lostEvent(again.held))).kind).toBe('reserved');
    ledger = await runs.getLedger(runId);
    expect(ledger?.tokensUsed).toBe(10_000);
    expect((await runs.listEvents(runId)).filter((e) => e.type === 'model_call_lost')).toHaveLength(2);
  });
});
