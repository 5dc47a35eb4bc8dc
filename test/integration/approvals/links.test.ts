import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { signedLink } from '../../../lambdas/core/approval-links.js';
import type { ApprovalRecord } from '../../../lambdas/core/approval-records.js';
import { AgentHarness } from '../../support/agent-harness.js';
import {
  APPROVER,
  call,
  captureLogLines,
  digestOnPage,
  eventFor,
  invoiceScript,
  linkSecret,
  Outbox,
  ofType,
  type PausedRun,
  pausedRun,
  withParam,
} from './support.js';

const BASE_URL = 'https://approvals.chaperone.example';

let h: AgentHarness;
let outbox: Outbox;
let logs: ReturnType<typeof captureLogLines>;

beforeAll(async () => {
  logs = captureLogLines();
  // Logging on (CHAPERONE_LOG_LEVEL), so the token checks read real log lines.
  h = await AgentHarness.start([invoiceWorkflow], {
    APPROVAL_BASE_URL: BASE_URL,
    CHAPERONE_LOG_LEVEL: 'INFO',
  });
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
  logs?.restore();
});
beforeEach(async () => {
  await backend.reset();
});

/** Everything a decision would change, to compare before and after a refused request. */
async function snapshot(paused: PausedRun) {
  return {
    approval: await h.approvals.get(paused.approvalId),
    execution: h.sfn.describeExecution({ executionArn: paused.executionArn }).status,
    trail: (await h.runs.listEvents(paused.runId)).map((e) => e.type),
    modelRequests: h.model.requests.filter((r) => r.conversation.startsWith(`${paused.runId}:`)).length,
    payments: (await backend.listPayments()).length,
  };
}

async function expectUntouched(paused: PausedRun, before: Awaited<ReturnType<typeof snapshot>>) {
  const now = await snapshot(paused);
  expect(now).toEqual(before);
  expect(now.approval?.status).toBe('pending');
  expect(now.approval?.decidedBy).toBeUndefined();
  expect(now.execution).toBe('RUNNING');
  expect(now.trail).not.toContain('approval_decided');
  expect(now.payments).toBe(0);
}

/** Decide through the API as a script would: the digest is read from the page first. */
async function decide(paused: PausedRun, decision: 'approve' | 'reject', comment = '') {
  const page = await call(h.api(), 'GET', paused.link);
  return call(h.api(), 'POST', paused.link, { decision, comment, digest: digestOnPage(page.body) });
}

describe('a link that does not decide', () => {
  let paused: PausedRun;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    h.model.use(invoiceScript('refused', 'Nothing was scheduled.'));
    paused = await pausedRun(h, outbox);
    before = await snapshot(paused);
  });
  afterAll(async () => {
    // Let the run end so nothing waits on the gate when the harness closes.
    if ((await h.approvals.get(paused.approvalId))?.status === 'pending')
      await decide(paused, 'reject', 'test over');
    await h.sfn.waitForExecution(paused.executionArn);
  });

  it('GET shows the page and changes nothing, however often it is opened', async () => {
    const first = await call(h.api(), 'GET', paused.link);
    const second = await call(h.api(), 'GET', paused.link);

    expect(first.status).toBe(200);
    expect(first.contentType).toContain('text/html');
    expect(first.body).toContain('<code>schedule_payment</code>');
    expect(first.body).toContain('&#34;amount&#34;: 1250');
    expect(first.body).toContain('Approve</button>');
    expect(second.status).toBe(200);
    await expectUntouched(paused, before);
  });

  it('refuses a forged signature with 403', async () => {
    const url = new URL(paused.link);
    const forged = signedLink(BASE_URL, 'a-key-the-attacker-made-up', {
      approvalId: paused.approvalId,
      approver: APPROVER,
      expires: Number(url.searchParams.get('exp')),
    });

    const page = await call(h.api(), 'GET', forged);
    const post = await call(h.api(), 'POST', forged, { decision: 'approve', comment: '' });

    expect(page.status).toBe(403);
    expect(page.body).toContain('the link signature is not valid (forged or altered link)');
    expect(post.status).toBe(403);
    expect(JSON.parse(post.body)).toEqual({
      error: 'Forbidden',
      message: 'the link signature is not valid (forged or altered link)',
    });
    await expectUntouched(paused, before);
  });

  it('refuses a link whose approver or expiry was altered with 403', async () => {
    const otherApprover = withParam(paused.link, 'approver', 'mallory@example.com');
    const laterExpiry = withParam(paused.link, 'exp', String(Math.floor(Date.now() / 1000) + 365 * 86_400));

    const responses = [
      await call(h.api(), 'GET', otherApprover),
      await call(h.api(), 'POST', otherApprover, { decision: 'approve' }),
      await call(h.api(), 'POST', laterExpiry, { decision: 'approve' }),
    ];

    expect(responses.map((r) => r.status)).toEqual([403, 403, 403]);
    for (const r of responses) expect(r.body).toContain('the link signature is not valid');
    await expectUntouched(paused, before);
  });

  it('refuses a correctly signed link for someone who is not an approver with 403', async () => {
    const url = new URL(paused.link);
    const outsider = signedLink(BASE_URL, await linkSecret(h), {
      approvalId: paused.approvalId,
      approver: 'mallory@example.com',
      expires: Number(url.searchParams.get('exp')),
    });

    const post = await call(h.api(), 'POST', outsider, { decision: 'approve' });

    expect(post.status).toBe(403);
    expect(JSON.parse(post.body).message).toBe('mallory@example.com is not an approver of this request');
    await expectUntouched(paused, before);
  });

  it('refuses an expired link with 410', async () => {
    const expires = Math.floor(Date.now() / 1000) - 60;
    const expired = signedLink(BASE_URL, await linkSecret(h), {
      approvalId: paused.approvalId,
      approver: APPROVER,
      expires,
    });
    const page = await call(h.api(), 'GET', paused.link);

    const get = await call(h.api(), 'GET', expired);
    const post = await call(h.api(), 'POST', expired, {
      decision: 'approve',
      digest: digestOnPage(page.body),
    });

    const when = new Date(expires * 1000).toISOString();
    expect(get.status).toBe(410);
    expect(get.body).toContain(`this link expired at ${when}`);
    expect(post.status).toBe(410);
    expect(JSON.parse(post.body)).toEqual({ error: 'LinkExpired', message: `this link expired at ${when}` });
    await expectUntouched(paused, before);
  });

  it('refuses a decision on a digest that is not the one shown with 409', async () => {
    const post = await call(h.api(), 'POST', paused.link, {
      decision: 'approve',
      comment: 'looks fine',
      digest: 'not-the-digest-of-what-was-shown',
    });
    const form = await h.api()(
      eventFor(
        'POST',
        paused.link,
        new URLSearchParams({ decision: 'approve', digest: 'stale' }).toString(),
        {
          'content-type': 'application/x-www-form-urlencoded',
        },
      ),
    );

    expect(post.status).toBe(409);
    expect(JSON.parse(post.body)).toEqual({
      error: 'Conflict',
      message: 'the action changed since this page was shown; reload it and decide again',
    });
    expect(form.statusCode).toBe(409);
    expect(form.body).toContain('the action changed since this page was shown');
    expect(form.body).toContain('Approve</button>');
    await expectUntouched(paused, before);
  });
  it('refuses a decision that names no digest with 400: an approver decides on what was shown', async () => {
    const post = await call(h.api(), 'POST', paused.link, { decision: 'approve', comment: 'blind' });

    expect(post.status).toBe(400);
    expect(JSON.parse(post.body)).toEqual({
      error: 'ValidationError',
      message: 'digest is required: decide on what the approval page showed (its digest field)',
    });
    await expectUntouched(paused, before);
  });

  it('answers a signed link to an approval that does not exist with 404, and a body without a decision with 400', async () => {
    const url = new URL(paused.link);
    const missing = signedLink(BASE_URL, await linkSecret(h), {
      approvalId: '01NOSUCHAPPROVAL0000000000',
      approver: APPROVER,
      expires: Number(url.searchParams.get('exp')),
    });

    const gone = await call(h.api(), 'POST', missing, { decision: 'approve' });
    const noDecision = await call(h.api(), 'POST', paused.link, { approve: true });
    const badDecision = await call(h.api(), 'POST', paused.link, { decision: 'maybe' });

    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body)).toEqual({
      error: 'NotFoundError',
      message: 'approval 01NOSUCHAPPROVAL0000000000 does not exist',
    });
    expect(noDecision.status).toBe(400);
    expect(JSON.parse(noDecision.body)).toMatchObject({ error: 'ValidationError' });
    expect(badDecision.status).toBe(400);
    expect(JSON.parse(badDecision.body)).toEqual({
      error: 'ValidationError',
      message: 'decision must be "approve" or "reject"',
    });
    await expectUntouched(paused, before);
  });
});

describe('deciding twice', () => {
  it('answers a second POST with 409 "already decided" and keeps the first decision', async () => {
    h.model.use(invoiceScript('twice', 'Scheduled PAY-00001.'));
    const paused = await pausedRun(h, outbox);

    const digest = digestOnPage((await call(h.api(), 'GET', paused.link)).body);

    const first = await call(h.api(), 'POST', paused.link, {
      decision: 'approve',
      comment: 'ok to pay',
      digest,
    });
    const execution = await h.sfn.waitForExecution(paused.executionArn);
    const after = await snapshot(paused);
    // The same page submitted again (a double click, a second tab), then without a digest.
    const second = await call(h.api(), 'POST', paused.link, {
      decision: 'reject',
      comment: 'changed my mind',
      digest,
    });
    const again = await call(h.api(), 'POST', paused.link, { decision: 'approve' });

    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ decision: 'approved', decidedBy: APPROVER });
    expect(execution.status).toBe('SUCCEEDED');
    const approval = after.approval as ApprovalRecord;
    for (const r of [second, again]) {
      expect(r.status).toBe(409);
      expect(JSON.parse(r.body)).toEqual({
        error: 'AlreadyDecided',
        message: `already decided: approved by ${APPROVER} at ${approval.decidedAt}`,
      });
    }
    expect(await snapshot(paused)).toEqual(after);
    expect(await backend.listPayments()).toHaveLength(1);
    const trail = await h.runs.listEvents(paused.runId);
    expect(ofType(trail, 'approval_decided')).toMatchObject([{ decision: 'approved', comment: 'ok to pay' }]);
    expect(ofType(trail, 'tool_rejected')).toEqual([]);
    const page = await call(h.api(), 'GET', paused.link);
    expect(page.body).toContain(`Already decided: <b>approved</b> by ${APPROVER}`);
    expect(page.body).not.toContain('Approve</button>');
  });

  it('lets exactly one of two simultaneous decisions win', async () => {
    h.model.use(invoiceScript('race', 'Done.'));
    const paused = await pausedRun(h, outbox);
    const digest = digestOnPage((await call(h.api(), 'GET', paused.link)).body);

    const [approve, reject] = await Promise.all([
      call(h.api(), 'POST', paused.link, { decision: 'approve', digest }),
      call(h.api(), 'POST', paused.link, { decision: 'reject', comment: 'no', digest }),
    ]);
    const execution = await h.sfn.waitForExecution(paused.executionArn);

    expect([approve.status, reject.status].sort()).toEqual([200, 409]);
    expect(execution.status).toBe('SUCCEEDED');
    const winner = approve.status === 200 ? 'approved' : 'rejected';
    expect((await h.approvals.get(paused.approvalId))?.status).toBe(winner);
    const trail = await h.runs.listEvents(paused.runId);
    expect(ofType(trail, 'approval_decided').map((e) => e.decision)).toEqual([winner]);
    expect(await backend.listPayments()).toHaveLength(winner === 'approved' ? 1 : 0);
    expect(ofType(trail, 'tool_rejected')).toHaveLength(winner === 'approved' ? 0 : 1);
  });
});

describe('GET /approvals?status=pending', () => {
  it('lists pending approvals; a decided one leaves the list', async () => {
    h.model.use(invoiceScript('listing', 'Done.'));
    const a = await pausedRun(h, outbox);
    const b = await pausedRun(h, outbox);
    const list = async (status: string) => {
      const r = await call(h.api(), 'GET', `${BASE_URL}/approvals?status=${status}`);
      expect(r.status).toBe(200);
      return (JSON.parse(r.body) as { approvals: Array<Record<string, unknown>> }).approvals;
    };
    const ours = (items: Array<Record<string, unknown>>) =>
      items.map((i) => i.approvalId).filter((id) => id === a.approvalId || id === b.approvalId);

    const pendingBoth = await list('pending');
    await decide(a, 'approve');
    await h.sfn.waitForExecution(a.executionArn);
    const pendingOne = await list('pending');
    const approved = await list('approved');
    await decide(b, 'reject', 'duplicate');
    await h.sfn.waitForExecution(b.executionArn);
    const pendingNone = await list('pending');
    const rejected = await list('rejected');

    expect(ours(pendingBoth).sort()).toEqual([a.approvalId, b.approvalId].sort());
    expect(pendingBoth.find((i) => i.approvalId === a.approvalId)).toMatchObject({
      runId: a.runId,
      workflow: 'invoice-reconciliation',
      step: 'reconcile',
      status: 'pending',
      approvers: [APPROVER],
      summary: expect.stringContaining('schedule_payment('),
    });
    expect(ours(pendingOne)).toEqual([b.approvalId]);
    expect(approved.find((i) => i.approvalId === a.approvalId)).toMatchObject({
      status: 'approved',
      decidedBy: APPROVER,
    });
    expect(ours(pendingNone)).toEqual([]);
    expect(rejected.find((i) => i.approvalId === b.approvalId)).toMatchObject({ status: 'rejected' });
  });
});

describe('the task token stays server-side', () => {
  it('appears in no email, link, page, API answer, trail or log line', async () => {
    h.model.use(invoiceScript('token', 'Scheduled PAY-00001.'));
    const logsBefore = logs.lines.length;

    const paused = await pausedRun(h, outbox);
    const token = (await h.approvals.get(paused.approvalId))?.taskToken ?? '';
    const page = await call(h.api(), 'GET', paused.link);
    const listed = await call(h.api(), 'GET', `${BASE_URL}/approvals?status=pending`);
    const decided = await decide(paused, 'approve');
    await h.sfn.waitForExecution(paused.executionArn);
    const runView = await call(h.api(), 'GET', `${BASE_URL}/runs/${paused.runId}`);
    const trail = JSON.stringify(await h.runs.listEvents(paused.runId));
    const runLogs = logs.lines.slice(logsBefore);

    expect(token.length).toBeGreaterThan(16);
    const places: Record<string, string> = {
      'email subject': paused.email.subject,
      'email text': paused.email.text ?? '',
      'email html': paused.email.html ?? '',
      'email links': paused.email.links.join('\n'),
      'email .eml file': readFileSync(paused.email.emlFile, 'utf8'),
      'email .json file': readFileSync(paused.email.file, 'utf8'),
      'approval page': page.body,
      'GET /approvals': listed.body,
      'POST decision answer': decided.body,
      'GET /runs/{id}': runView.body,
      trail,
      'log lines': runLogs.join('\n'),
    };
    expect(paused.email.text).toContain(paused.link);
    expect(runLogs.some((l) => l.includes('approval requested'))).toBe(true);
    expect(runLogs.some((l) => l.includes('approval decided'))).toBe(true);
    const leaks = Object.entries(places)
      .filter(([, v]) => v.includes(token) || v.includes(encodeURIComponent(token)))
      .map(([where]) => where);
    expect(leaks).toEqual([]);
    expect(decided.status).toBe(200);
  });

  it("leaves no approval's token in any log line of this file", async () => {
    h.model.use(invoiceScript('token-2', 'Scheduled PAY-00001.'));
    const paused = await pausedRun(h, outbox);
    await decide(paused, 'reject', 'checking the logs');
    await h.sfn.waitForExecution(paused.executionArn);

    const ids = outbox.emails.map(
      (e) => new URL(/https?:\/\/\S+/.exec(e.text ?? '')?.[0] ?? BASE_URL).pathname,
    );
    const records = await Promise.all(
      [...new Set(ids)].map((p) => h.approvals.get(decodeURIComponent(p.replace('/approvals/', '')))),
    );
    const tokens = records.map((r) => r?.taskToken ?? '').filter((t) => t !== '');
    const leaking = logs.lines.filter((l) => tokens.some((t) => l.includes(t)));

    expect(tokens).toHaveLength(records.length);
    expect(tokens.length).toBeGreaterThanOrEqual(1);
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(leaking).toEqual([]);
  });
});
