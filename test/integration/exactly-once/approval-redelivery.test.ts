/**
 * A decision whose delivery was cut off: the approval API records "approved" and
 * dies before `SendTaskSuccess`, so the run still waits on a live task token and
 * no retried task will come to collect the decision. The approver who opens the
 * link again is the one owner of that retry ("approval POST cut off: the
 * approver sends the same POST again"), so the page must let them send it: the
 * run then goes on, and nothing is decided or paid twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { parseApprovalForm } from '../../../local/cli/approve.js';
import { AgentHarness } from '../../support/agent-harness.js';
import {
  digestOnPage,
  eventFor,
  invoiceScript,
  Outbox,
  ofType,
  PAYMENT_ARGS,
  pausedRun,
} from '../approvals/support.js';

let h: AgentHarness;
let outbox: Outbox;

beforeAll(async () => {
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

const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

describe('an approval decided by a request that died before it reached the run', () => {
  it('is sent again from the page the approver reopens, and the run goes on once', async () => {
    const faults = h.faults;
    if (!faults) throw new Error('the harness has no fault proxy');
    await backend.reset();
    h.model.use(invoiceScript('redelivery', 'Scheduled the payment of INV-000101.'));
    const paused = await pausedRun(h, outbox);
    const api = h.api();
    const open = async () => {
      const res = await api(eventFor('GET', paused.link, null, { accept: 'text/html' }));
      expect(res.statusCode, res.body).toBe(200);
      return res.body;
    };

    // The approver approves; the API process dies right after the decision commits.
    const first = parseApprovalForm(await open(), paused.link);
    if (!first) throw new Error('the pending approval page has no form');
    faults.arm({
      kind: 'crash-after',
      nth: 1,
      match: (w) => w.operation === 'UpdateItem' && w.keys.includes('META'),
    });
    const cutOff = api(
      eventFor(
        'POST',
        first.action,
        new URLSearchParams({ ...first.fields, decision: 'approve' }).toString(),
        FORM,
      ),
    );
    await expect(cutOff).rejects.toThrow(/died/);
    faults.arm(undefined);
    const recorded = await h.approvals.get(paused.approvalId);
    expect(recorded?.status).toBe('approved');
    expect(recorded?.delivered).toBeFalsy();
    // The run never heard it: the gate still waits on the token the record holds.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sfn.describeExecution({ executionArn: paused.executionArn }).status).toBe('RUNNING');
    expect(await backend.listPayments()).toHaveLength(0);

    // The approver opens the link again: the page says so and offers the same decision, nothing else.
    const again = await open();
    expect(again).toMatch(/has not received the decision yet/);
    const resend = parseApprovalForm(again, paused.link);
    expect(resend, 'the page offers to send the recorded decision again').toBeDefined();
    if (!resend) return;
    expect(resend.fields.decision).toBe('approve');
    expect(resend.decisions).toEqual([]);
    const sent = await api(
      eventFor('POST', resend.action, new URLSearchParams(resend.fields).toString(), FORM),
    );
    expect(sent.statusCode, sent.body).toBe(200);

    const execution = await h.sfn.waitForExecution(paused.executionArn);
    expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');
    const payments = (await backend.listPayments()).filter((p) => p.invoiceId === PAYMENT_ARGS.invoice_id);
    expect(payments).toHaveLength(1);
    const trail = await h.runs.listEvents(paused.runId);
    expect(ofType(trail, 'approval_decided')).toHaveLength(1);
    expect(ofType(trail, 'tool_call').filter((e) => e.tool === 'schedule_payment')).toHaveLength(1);
    expect((await h.approvals.get(paused.approvalId))?.delivered).toBe(true);
    // Delivered: the page is back to "already decided", with no form at all.
    const after = await open();
    expect(after).toMatch(/Already decided: <b>approved<\/b>/);
    expect(parseApprovalForm(after, paused.link)).toBeUndefined();
  });

  it('answers the approver who sends the decision again after the run has finished with it, once', async () => {
    const faults = h.faults;
    if (!faults) throw new Error('the harness has no fault proxy');
    await backend.reset();
    h.model.use(invoiceScript('delivered-then-died', 'Scheduled the payment of INV-000101.'));
    const paused = await pausedRun(h, outbox);
    const api = h.api();
    const page = await api(eventFor('GET', paused.link, null, { accept: 'text/html' }));
    const body = JSON.stringify({ decision: 'approve', digest: digestOnPage(page.body) });
    // The API delivers the decision to the run, then dies before it records the delivery:
    // the approver sees no answer.
    faults.arm({ kind: 'crash-before', nth: 1, match: (w) => w.update === 'SET delivered = :t' });
    await expect(api(eventFor('POST', paused.link, body))).rejects.toThrow(/died/);
    faults.arm(undefined);
    expect((await h.approvals.get(paused.approvalId))?.delivered).toBeFalsy();
    // The run heard it and finishes.
    const execution = await h.sfn.waitForExecution(paused.executionArn);
    expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');

    // The approver's client sends the same decision again: the answer is the decision, not an error.
    const again = await api(eventFor('POST', paused.link, body));
    expect(again.statusCode, again.body).toBe(200);
    expect(again.body).toMatch(/approved/);
    const payments = (await backend.listPayments()).filter((p) => p.invoiceId === PAYMENT_ARGS.invoice_id);
    expect(payments).toHaveLength(1);
    expect(ofType(await h.runs.listEvents(paused.runId), 'approval_decided')).toHaveLength(1);
    // A different decision is still refused.
    const other = await api(
      eventFor('POST', paused.link, JSON.stringify({ decision: 'reject', digest: digestOnPage(page.body) })),
    );
    expect(other.statusCode, other.body).toBe(409);
    expect(other.body).toMatch(/already decided: approved/);
  });
});
