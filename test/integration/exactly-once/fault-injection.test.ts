/**
 * Exactly once, under faults at every write. The invoice workflow (two reads,
 * a payment behind an approval, an answer) runs once with no fault to count
 * its DynamoDB writes; then, for every one of those writes and every fault —
 * throttled past the SDK's retries, the process dying just before it, the
 * process dying just after it committed — it runs again, with the approval
 * decided and the POSTs retried as a client would. Each run must end with one
 * run and one execution that succeeded, one payment, the model asked again
 * only where a crash lost its answer, the conversation never rewritten, the
 * ledger settled to the token, and a trail with every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import type { StoredTrailEvent } from '../../../lambdas/core/run-records.js';
import { AgentHarness } from '../../support/agent-harness.js';
import type { Fault, FaultKind, SeenWrite } from '../../support/fault-proxy.js';
import { digestOnPage, eventFor, invoiceScript, Outbox, WORKFLOW } from '../approvals/support.js';

let h: AgentHarness;
let outbox: Outbox;

beforeAll(async () => {
  // Retry delays drawn near the low end of their FULL jitter range, so a run survives its
  // fault in milliseconds instead of seconds.
  // The handlers' SDK clients make one attempt (AWS_MAX_ATTEMPTS), so an injected throttle
  // reaches our own layer at once: the named StoreThrottledError and the state machine's Retry.
  h = await AgentHarness.start(
    [invoiceWorkflow],
    { AWS_MAX_ATTEMPTS: '1' },
    { faults: true, retryJitter: () => 0.002 },
  );
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
});

const proxy = () => {
  if (!h.faults) throw new Error('the harness has no fault proxy');
  return h.faults;
};

/** Call the API as a client that retries a request cut off by a crash or a 5xx. */
async function client(method: string, url: string, body?: unknown) {
  const api = h.api();
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await api(eventFor(method, url, body === undefined ? null : JSON.stringify(body)));
      if (res.statusCode < 500 || attempt >= 6) return res;
    } catch (err) {
      if (attempt >= 6) throw err;
    }
    // A client backs off before it sends the request again.
    await new Promise((r) => setTimeout(r, 25 * attempt));
  }
}

interface Outcome {
  runId: string;
  writes: SeenWrite[];
  /** The write the armed fault actually hit (its index in `writes`), if it fired. */
  hit: { index: number; write: SeenWrite } | undefined;
  status: string | undefined;
  executions: number;
  payments: number;
  trail: StoredTrailEvent[];
  modelRequests: Array<{ turn: number; messages: string[] }>;
  unsettledTokens: number;
  openReservations: number;
  stepsUsed: number;
  /** What the ledger counts as spent, in micro-USD. */
  costUsedMicros: number;
}

let runs = 0;

/** One run of the invoice workflow with `fault` armed, driven to its end. */
async function runWith(fault: Fault | undefined): Promise<Outcome> {
  runs += 1;
  const runId = `fault-${runs}`;
  await backend.reset();
  h.model.use(invoiceScript(runId, 'Scheduled the payment of INV-000101.'));
  proxy().arm(fault);
  const started = await client('POST', 'http://api.test/runs', {
    workflow: WORKFLOW,
    input: { invoiceId: 'INV-000101' },
    runId,
  });
  expect([200, 201], `POST /runs answered ${started.statusCode}: ${started.body}`).toContain(
    started.statusCode,
  );

  const arn = `arn:aws:states:us-east-1:000000000000:execution:${WORKFLOW}:${runId}`;
  const ended = h.sfn.waitForExecution(arn).then((e) => {
    throw new Error(
      `${runId} ended ${e.status} (${e.error ?? ''}: ${e.cause ?? ''}) before its approval email`,
    );
  });
  ended.catch(() => undefined);
  const email = await Promise.race([
    outbox.waitFor((e) => (e.text ?? '').includes(runId), `about ${runId}`),
    ended,
  ]);
  const link = /https?:\/\/\S+/.exec(email.text ?? '')?.[0] ?? '';
  // The approver opens the page, then decides; a decision cut off by a crash is sent again.
  for (let attempt = 1; ; attempt++) {
    const page = await client('GET', link);
    const digest = page.statusCode === 200 ? digestOnPage(page.body) : '';
    const decided = await client('POST', link, { decision: 'approve', digest });
    if (decided.statusCode === 200) break;
    const waiting = /not waiting on this approval yet/.test(decided.body);
    const already = /already decided: approved/.test(decided.body);
    if (already) break;
    if (!waiting || attempt > 200)
      throw new Error(`approval answered ${decided.statusCode}: ${decided.body}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const execution = await h.sfn.waitForExecution(arn);
  const writes = [...proxy().writes];
  const [hit] = proxy().hits;
  proxy().arm(undefined);

  const [meta, ledger, open, trail, payments] = await Promise.all([
    h.runs.getRun(runId),
    h.runs.getLedger(runId),
    h.runs.openReservations(runId),
    h.runs.listEvents(runId),
    backend.listPayments(),
  ]);
  return {
    runId,
    writes,
    hit,
    status:
      execution.status === 'SUCCEEDED'
        ? meta?.status
        : `${execution.status} ${execution.error ?? ''} ${execution.cause ?? ''}`,
    executions: (h.sfn.listExecutions({}).executions ?? []).filter((e) => e.name === runId).length,
    payments: payments.filter((p) => p.invoiceId === 'INV-000101').length,
    trail,
    modelRequests: h.model.requests
      .filter((r) => r.conversation.startsWith(`${runId}:`))
      .map((r) => ({ turn: r.turnIndex, messages: r.body.messages.map((m) => JSON.stringify(m)) })),
    unsettledTokens: ledger ? ledger.tokenLimit - ledger.tokensRemaining - ledger.tokensUsed : Number.NaN,
    openReservations: Object.keys(open).length,
    stepsUsed: ledger?.stepsUsed ?? Number.NaN,
    costUsedMicros: ledger?.costUsedMicros ?? Number.NaN,
  };
}

/** The invariants every run must keep, whatever was injected. */
function expectExactlyOnce(o: Outcome, repeatsAllowed: number, what: string): void {
  const count = (type: string, pred: (e: StoredTrailEvent) => boolean = () => true) =>
    o.trail.filter((e) => e.type === type && pred(e)).length;
  expect(o.status, `${what}: the run's end`).toBe('SUCCEEDED');
  expect(o.executions, `${what}: executions`).toBe(1);
  expect(o.payments, `${what}: payments made`).toBe(1);
  // Four turns; a turn is asked for again only when a crash lost its answer.
  const turns = new Set(o.modelRequests.map((r) => r.turn));
  expect(turns.size, `${what}: turns`).toBe(4);
  expect(o.modelRequests.length - 4, `${what}: model calls repeated`).toBe(repeatsAllowed);
  // The conversation is never rewritten: every request extends the previous turn's messages.
  const byTurn = new Map(o.modelRequests.map((r) => [r.turn, r.messages]));
  for (const r of o.modelRequests) {
    const previous = byTurn.get(r.turn - 1);
    if (previous)
      expect(r.messages.slice(0, previous.length), `${what}: turn ${r.turn} rewrote history`).toEqual(
        previous,
      );
    expect(r.messages, `${what}: turn ${r.turn} asked twice, differently`).toEqual(byTurn.get(r.turn));
  }
  expect(o.unsettledTokens, `${what}: tokens reserved and never settled`).toBe(0);
  expect(o.openReservations, `${what}: reservations left open`).toBe(0);
  expect(o.stepsUsed, `${what}: steps counted`).toBe(4);
  // A call whose answer was lost may have been billed: its attempt's hold is charged in full, on
  // the ledger and on the trail alike, so the budget never counts less than was spent.
  const lost = o.trail.filter((e) => e.type === 'model_call_lost');
  expect(lost.length, `${what}: lost calls charged`).toBeGreaterThanOrEqual(repeatsAllowed);
  const trailMicros = o.trail.reduce(
    (sum, e) =>
      sum + (e.type === 'model_call' || e.type === 'model_call_lost' ? Math.round(e.costUsd * 1e6) : 0),
    0,
  );
  expect(
    Math.abs(o.costUsedMicros - trailMicros),
    `${what}: ledger against trail (micro-USD)`,
  ).toBeLessThanOrEqual(o.trail.length);
  // Every event exactly once.
  expect(count('run_started'), `${what}: run_started`).toBe(1);
  expect(
    count('model_call', (e) => e.type === 'model_call' && e.status === 'ok'),
    `${what}: model_call`,
  ).toBe(4);
  for (const tool of ['lookup_invoice', 'find_vendor', 'schedule_payment'])
    expect(
      count('tool_call', (e) => e.type === 'tool_call' && e.tool === tool),
      `${what}: ${tool} events`,
    ).toBe(1);
  expect(count('approval_requested'), `${what}: approval_requested`).toBe(1);
  expect(count('approval_decided'), `${what}: approval_decided`).toBe(1);
  expect(count('step_output'), `${what}: step_output`).toBe(1);
  expect(count('run_finished'), `${what}: run_finished`).toBe(1);
  expect(new Set(o.trail.map((e) => e.id)).size, `${what}: event ids`).toBe(o.trail.length);
}

/** What a failure message needs to tell a flake from a bug: the turns asked, the errors, the writes. */
function diagnose(o: Outcome): string {
  const asked = o.modelRequests.map((r) => r.turn).join(',');
  const errors = o.trail
    .filter((e) => 'status' in e && e.status !== 'ok')
    .map((e) => `${e.type}:${'error' in e ? String(e.error) : String((e as { status?: unknown }).status)}`);
  const writes = o.writes.map((w, i) => `${i === o.hit?.index ? '*' : ''}${w.operation} ${w.keys.join(',')}`);
  return `  turns asked: ${asked}; trail errors: ${errors.join('; ') || 'none'}\n  writes: ${writes.join(' | ')}`;
}

describe('exactly once under a fault at every write', () => {
  let writes: SeenWrite[] = [];

  it('runs clean with no fault, and counts the writes a run makes', async () => {
    const clean = await runWith(undefined);

    expectExactlyOnce(clean, 0, 'no fault');
    // The payment is claimed before it runs and completed after; a read tool, with no effect to
    // fence, is only completed: one write of its claim.
    const claimWrites = Object.fromEntries(
      clean.trail.flatMap((e) =>
        e.type === 'tool_call'
          ? [
              [
                e.tool,
                clean.writes.filter((w) =>
                  w.keys.some((k) => k.startsWith('CLAIM#tool#') && k.endsWith(`#${e.toolUseId}`)),
                ).length,
              ],
            ]
          : [],
      ),
    );
    expect(claimWrites).toEqual({ lookup_invoice: 1, find_vendor: 1, schedule_payment: 2 });
    writes = clean.writes;
    expect(writes.length).toBeGreaterThan(15);
  });

  const kinds: FaultKind[] = ['throttle', 'crash-before', 'crash-after'];
  for (const kind of kinds) {
    it(`survives ${kind} at each write of the run`, async () => {
      // The clean run above counted the writes; without it there is nothing to aim at.
      expect(writes.length).toBeGreaterThan(15);
      const failures: string[] = [];
      for (let nth = 1; nth <= writes.length; nth++) {
        const target = writes[nth - 1];
        const what = `${kind} at write ${nth} (${target?.operation} ${target?.keys.join(',')})`;
        const outcome = await runWith({ kind, nth, times: 1 });
        // What the fault hit, in this run: the writes of a run need not come in the clean run's
        // order (concurrent functions), so the expectation follows the write actually hit.
        const hit = outcome.hit;
        if (!hit) {
          failures.push(`${what}: the fault never fired (the run made ${outcome.writes.length} writes)`);
          continue;
        }
        const hitWhat = `${what} → hit ${hit.write.operation} ${hit.write.keys.join(',')}`;
        // A turn's answer is lost only when the write that records it never happened, or when
        // the step died after the model answered and before that write: at the approval record
        // a gated turn opens just before it records the turn (any fault there repeats the call).
        const recordsTurn = (w: SeenWrite | undefined) =>
          w?.operation === 'TransactWriteItems' && w.keys.some((k) => k.startsWith('MSG#'));
        // The turn recorded next after the write hit (retries of the hit step included).
        const nextTurn = outcome.writes.slice(hit.index + 1).find(recordsTurn);
        const opensApproval =
          hit.write.operation === 'PutItem' &&
          hit.write.keys.join() === 'META' &&
          nextTurn?.keys.some((k) => k.startsWith('EVT#approval_requested#'));
        const repeats = (recordsTurn(hit.write) && kind !== 'crash-after') || opensApproval ? 1 : 0;
        try {
          expectExactlyOnce(outcome, repeats, hitWhat);
        } catch (err) {
          failures.push(`${(err as Error).message.split('\n')[0] ?? hitWhat}\n${diagnose(outcome)}`);
        }
      }
      expect(failures).toEqual([]);
    }, 240_000);
  }
});
