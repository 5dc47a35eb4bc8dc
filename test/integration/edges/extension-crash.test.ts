/**
 * An `ask` extension under crashes and retries, through the fault proxy in
 * front of dynalite (the handlers keep their real SDK clients): the API dies
 * after recording the decision and before extending the ledger, or after
 * extending it and before the run heard it; the gate's own task dies and is
 * retried; the approver sends the same approval twice at once; a decision
 * whose delivery died is collected when the gate times out. Every time the
 * ledger is extended exactly once, with one `budget_extended` event, and the
 * run finishes within the extended limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApprovalForm } from '../../../local/cli/approve.js';
import { type RecordedRequest, responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import type { SeenWrite } from '../../support/fault-proxy.js';
import { digestOnPage, eventFor, Outbox, ofType } from '../approvals/support.js';
import { lookup } from './fixtures.js';

const APPROVER = 'budget-owner@example.com';
const LIMIT = 1_300;
const BY = 1_300;

/** A token limit the third call does not fit (a call reserves about 1,100-1,200 tokens): the run asks. */
const asking = (name: string, timeoutSeconds: number) =>
  defineWorkflow({
    name,
    description: 'counting records',
    input: { type: 'object' } as const,
    steps: [
      agent('work', {
        agent: defineAgent({
          name: 'counter',
          model: 'claude-haiku-4-5',
          system: 'Look records up.',
          tools: [lookup],
          maxTokens: 200,
        }),
        prompt: () => 'Look records up until you are done.',
      }),
    ],
    limits: { maxTokens: LIMIT },
    edges: { tokens: 'ask' },
    extensions: { tokens: { by: BY, max: 2 * BY } },
    approvals: { approvers: [APPROVER], timeoutSeconds },
  });
const ask = asking('crash-ask', 120);
// Its gate times out soon after the approver's request died: the expiry collects the decision.
const quick = asking('crash-ask-quick', 6);

let h: AgentHarness;
let outbox: Outbox;
beforeAll(async () => {
  h = await AgentHarness.start(
    [ask, quick],
    { AWS_MAX_ATTEMPTS: '1' },
    { faults: true, retryJitter: () => 0.002 },
  );
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
});

const arnOf = (workflow: string, runId: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:${workflow}:${runId}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

/** Start a run that asks to extend its token limit; the extension email's link. */
async function asked(workflow: string): Promise<{ runId: string; link: string; approvalId: string }> {
  h.model.use(
    responder('counting', (req: RecordedRequest) =>
      req.turnIndex < 3 ? toolUse('lookup', { id: `A-${req.turnIndex}` }) : text('All records done.'),
    ),
  );
  const res = await h.api()(proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow, input: {} })));
  expect(res.statusCode, res.body).toBe(201);
  const { runId } = JSON.parse(res.body) as { runId: string };
  const email = await outbox.waitFor((e) => (e.text ?? '').includes(runId), `asking to extend run ${runId}`);
  const link = /https?:\/\/\S+/.exec(email.text ?? '')?.[0] ?? '';
  const approvalId = new URL(link).pathname.split('/').at(-1) ?? '';
  return { runId, link, approvalId };
}

/** The page's form as the approver's browser would submit it. */
async function submit(link: string, decision?: 'approve') {
  const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
  expect(page.statusCode, page.body).toBe(200);
  const form = parseApprovalForm(page.body, link);
  if (!form) throw new Error(`the approval page has no form: ${page.body}`);
  const fields = decision ? { ...form.fields, decision } : form.fields;
  return h.api()(eventFor('POST', form.action, new URLSearchParams(fields).toString(), FORM));
}

/** The API process dies at the first write `match` accepts, while it handles the approver's POST. */
async function dyingAt(link: string, kind: 'crash-before' | 'crash-after', match: (w: SeenWrite) => boolean) {
  const faults = h.faults;
  if (!faults) throw new Error('the harness has no fault proxy');
  const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
  const body = JSON.stringify({ decision: 'approve', digest: digestOnPage(page.body) });
  faults.arm({ kind, nth: 1, match });
  await expect(h.api()(eventFor('POST', link, body))).rejects.toThrow(/died/);
  expect(faults.hits.map((x) => x.kind)).toEqual([kind]);
  faults.arm(undefined);
}

const theDecision = (w: SeenWrite) =>
  w.operation === 'UpdateItem' && /^SET #status = :s, decidedBy/.test(w.update ?? '');
const theExtension = (w: SeenWrite) => w.operation === 'TransactWriteItems' && w.keys.includes('LEDGER');

/** The run finished within its limit extended exactly once. */
async function extendedOnce(workflow: string, runId: string) {
  const execution = await h.sfn.waitForExecution(arnOf(workflow, runId));
  expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');
  expect((await h.runs.getRun(runId))?.answer).toBe('All records done.');
  const trail = await h.runs.listEvents(runId);
  expect(ofType(trail, 'budget_extended').map((e) => [e.by, e.newLimit, e.approvedBy])).toEqual([
    [BY, LIMIT + BY, APPROVER],
  ]);
  expect(ofType(trail, 'approval_decided').map((e) => e.decision)).toEqual(['approved']);
  const ledger = await h.runs.getLedger(runId);
  if (!ledger) throw new Error('no ledger');
  expect([ledger.tokenLimit, ledger.extended?.tokens]).toEqual([LIMIT + BY, BY]);
  expect(ledger.tokensUsed).toBeLessThanOrEqual(ledger.tokenLimit);
  // Nothing held: the limit less what is left is exactly what was used.
  expect(ledger.tokenLimit - ledger.tokensRemaining).toBe(ledger.tokensUsed);
}

describe('an extension under crashes and retries is applied exactly once', () => {
  it('the API dies after recording the decision, before extending: the approver sends it again', async () => {
    const { runId, link, approvalId } = await asked(ask.name);
    await dyingAt(link, 'crash-after', theDecision);

    // Decided, not applied: the ledger and the trail are as before, and the run still waits.
    expect((await h.approvals.get(approvalId))?.status).toBe('approved');
    expect((await h.approvals.get(approvalId))?.delivered).toBeFalsy();
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(LIMIT);
    expect(ofType(await h.runs.listEvents(runId), 'budget_extended')).toHaveLength(0);
    expect(h.sfn.describeExecution({ executionArn: arnOf(ask.name, runId) }).status).toBe('RUNNING');

    // The page offers the recorded decision again, and nothing else.
    const resent = await submit(link);
    expect(resent.statusCode, resent.body).toBe(200);
    await extendedOnce(ask.name, runId);

    // Approving once more changes nothing.
    const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
    expect(page.body).toMatch(/Already decided: <b>approved<\/b>/);
    const again = await h.api()(
      eventFor('POST', link, JSON.stringify({ decision: 'approve', digest: 'anything', extendBy: 100 })),
    );
    expect(again.statusCode).toBe(409);
    await extendedOnce(ask.name, runId);
  });

  it('the API dies after extending the ledger, before the run heard it: sent again, not extended again', async () => {
    const { runId, link } = await asked(ask.name);
    await dyingAt(link, 'crash-after', theExtension);

    // The extension and its event committed together; the run has not heard of it.
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(LIMIT + BY);
    expect(ofType(await h.runs.listEvents(runId), 'budget_extended')).toHaveLength(1);
    expect(h.sfn.describeExecution({ executionArn: arnOf(ask.name, runId) }).status).toBe('RUNNING');

    const resent = await submit(link);
    expect(resent.statusCode, resent.body).toBe(200);
    await extendedOnce(ask.name, runId);
  });

  it('the same approval sent twice at once extends once', async () => {
    const { runId, link } = await asked(ask.name);
    const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
    const body = JSON.stringify({ decision: 'approve', digest: digestOnPage(page.body) });
    const answers = await Promise.all([
      h.api()(eventFor('POST', link, body)),
      h.api()(eventFor('POST', link, body)),
    ]);
    // The first to decide answers 200; the other finds it decided (409) or delivers it again (200).
    expect(answers.map((a) => a.statusCode)).toContain(200);
    for (const a of answers) expect([200, 409], a.body).toContain(a.statusCode);
    await extendedOnce(ask.name, runId);
  });

  it("the gate's task dies after storing its token and is retried: one approval, extended once", async () => {
    const faults = h.faults;
    if (!faults) throw new Error('the harness has no fault proxy');
    // The approval-request function dies right after it registered its task token as a waiter.
    faults.arm({ kind: 'crash-after', nth: 1, match: (w) => w.update === 'SET waiters.#w = :t' });
    const { runId, link, approvalId } = await asked(ask.name);
    expect(faults.hits).toHaveLength(1);
    faults.arm(undefined);
    // The retried task waits on a fresh token; the dead attempt's token is still on the record.
    const record = await h.approvals.get(approvalId);
    expect(Object.keys(record?.waiters ?? {})).toEqual(['work']);
    expect(record?.waiters?.work).not.toBe(record?.taskToken);
    expect(outbox.emails.filter((e) => (e.text ?? '').includes(runId))).toHaveLength(1);

    const approved = await submit(link, 'approve');
    expect(approved.statusCode, approved.body).toBe(200);
    await extendedOnce(ask.name, runId);
  });

  it('a decision whose delivery died is collected when the gate times out, and extends once', async () => {
    const { runId, link, approvalId } = await asked(quick.name);
    await dyingAt(link, 'crash-after', theDecision);
    expect((await h.approvals.get(approvalId))?.delivered).toBeFalsy();
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(LIMIT);

    // Nobody sends it again: the gate's expiry finds the recorded approval and honours it.
    await extendedOnce(quick.name, runId);
  });
});
