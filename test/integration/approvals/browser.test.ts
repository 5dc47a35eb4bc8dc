import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { lastToolResults } from '../../../local/scripted-model/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import {
  APPROVER,
  invoiceScript,
  Outbox,
  ofType,
  PAYMENT_ARGS,
  type PausedRun,
  pausedRun,
  serveApi,
} from './support.js';

/** Debian's Chromium when installed; else the one `@sparticuz/chromium` ships inside its npm package. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

async function chromiumExecutable(): Promise<string> {
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  // The package's binary is brotli-packed; the first call unpacks it to the temp dir (once per machine).
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}

let h: AgentHarness;
let outbox: Outbox;
let server: Awaited<ReturnType<typeof serveApi>>;
let browser: Browser;
let page: Page;

/** Why Chromium did not start; every test fails with it (none is skipped). */
let launchError: Error | undefined;

beforeAll(async () => {
  server = await serveApi();
  h = await AgentHarness.start([invoiceWorkflow], { APPROVAL_BASE_URL: server.url });
  server.attach(h.api());
  outbox = new Outbox(h);
  let executablePath = SYSTEM_CHROMIUM;
  try {
    executablePath = await chromiumExecutable();
    browser = await chromium.launch({
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    launchError = new Error(`Chromium at ${executablePath} could not launch: ${(err as Error).message}`);
  }
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});
beforeEach(async () => {
  if (launchError) throw launchError;
  await backend.reset();
  page = await browser.newPage();
});
afterEach(async () => {
  await page?.close();
});

/** What the approver sees when opening the link from the email. */
async function openLink(paused: PausedRun) {
  const response = await page.goto(paused.link);
  return {
    status: response?.status(),
    heading: await page.getByRole('heading', { level: 1 }).textContent(),
    tool: await page.locator('.call h3 code').textContent(),
    args: JSON.parse((await page.getByTestId('arguments').textContent()) ?? 'null') as unknown,
    // biome-ignore lint/performance/useDomNodeTextContent: the test reads the text as the approver sees it rendered, which is innerText's job.
    body: await page.locator('body').innerText(),
  };
}

async function expectPausedAtGate(paused: PausedRun) {
  expect(h.sfn.describeExecution({ executionArn: paused.executionArn }).status).toBe('RUNNING');
  expect((await h.approvals.get(paused.approvalId))?.status).toBe('pending');
  expect(backend.callCount('schedulePayment')).toBe(0);
  expect(h.model.requests.filter((r) => r.conversation.startsWith(`${paused.runId}:`))).toHaveLength(3);
}

describe('an approver decides in a real browser', () => {
  it('approves from the emailed link: the payment is scheduled and the trail names the approver', async () => {
    h.model.use(invoiceScript('approve', 'Checked INV-000101 and V-100; scheduled payment PAY-00001.'));
    const startedAt = new Date().toISOString();

    const paused = await pausedRun(h, outbox);
    await expectPausedAtGate(paused);
    const { taskToken } = (await h.approvals.get(paused.approvalId)) ?? {};
    expect(taskToken).toBeTruthy();
    expect(paused.email.to).toEqual([APPROVER]);
    expect(paused.email.subject).toContain('schedule_payment');
    expect(new URL(paused.link).origin).toBe(server.url);
    expect(new URL(paused.link).pathname).toBe(`/approvals/${paused.approvalId}`);
    expect([...new URL(paused.link).searchParams.keys()].sort()).toEqual(['approver', 'exp', 'sig']);
    expect(paused.link).not.toContain(taskToken);

    const shown = await openLink(paused);
    expect(shown.status).toBe(200);
    expect(shown.heading).toBe('Approval needed');
    expect(shown.tool).toBe('schedule_payment');
    expect(shown.args).toEqual(PAYMENT_ARGS);
    expect(shown.body).toContain(`You are deciding as ${APPROVER}`);
    expect(shown.body).toContain('The invoice is open and V-100 exists; paying it.');
    expect(shown.body).toContain('tool lookup_invoice: ok');
    expect(shown.body).toContain('tool find_vendor: ok');
    await expectPausedAtGate(paused);
    await page.getByRole('button', { name: 'Approve' }).click();
    const notice = await page.getByTestId('notice').textContent();
    const execution = await h.sfn.waitForExecution(paused.executionArn);

    expect(notice).toBe('Thank you: approved. The run goes on.');
    expect(execution.status).toBe('SUCCEEDED');
    expect(await backend.listPayments()).toEqual([
      {
        paymentId: expect.stringMatching(/^PAY-\d{12}$/),
        invoiceId: 'INV-000101',
        amount: 1250,
        currency: 'EUR',
        scheduledFor: '2026-12-15',
        idempotencyKey: expect.any(String),
        createdAt: expect.any(String),
      },
    ]);
    const run = await h.runs.getRun(paused.runId);
    expect(run?.answer).toBe('Checked INV-000101 and V-100; scheduled payment PAY-00001.');
    const trail = await h.runs.listEvents(paused.runId);
    const [decided, ...more] = ofType(trail, 'approval_decided');
    expect(more).toEqual([]);
    expect(decided).toMatchObject({
      approvalId: paused.approvalId,
      decision: 'approved',
      decidedBy: APPROVER,
    });
    expect(decided?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(Date.parse(decided?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(startedAt));
    expect(ofType(trail, 'tool_call').map((c) => [c.tool, c.status])).toEqual([
      ['lookup_invoice', 'ok'],
      ['find_vendor', 'ok'],
      ['schedule_payment', 'ok'],
    ]);
    const record = await h.approvals.get(paused.approvalId);
    expect(record).toMatchObject({ status: 'approved', decidedBy: APPROVER });
    expect(Date.parse(record?.decidedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(startedAt));
  });

  it('rejects with a comment: the model reads the rejection, no payment is made, the run ends with its answer', async () => {
    const answer = 'The approver rejected the payment of INV-000101, so nothing was scheduled.';
    h.model.use(invoiceScript('reject', answer));

    const paused = await pausedRun(h, outbox);
    await expectPausedAtGate(paused);
    const shown = await openLink(paused);
    expect(shown.tool).toBe('schedule_payment');
    expect(shown.args).toEqual(PAYMENT_ARGS);
    await page.getByLabel('Comment').fill('Hold until the credit note arrives.');
    await page.getByRole('button', { name: 'Reject' }).click();
    const notice = await page.getByTestId('notice').textContent();
    const execution = await h.sfn.waitForExecution(paused.executionArn);

    expect(notice).toBe('Thank you: rejected. The run goes on.');
    expect(execution.status).toBe('SUCCEEDED');
    expect(await backend.listPayments()).toEqual([]);
    expect(backend.callCount('schedulePayment')).toBe(0);
    const requests = h.model.requests.filter((r) => r.conversation.startsWith(`${paused.runId}:`));
    expect(requests).toHaveLength(4);
    const last = requests.at(-1);
    const results = last ? lastToolResults(last) : [];
    expect(results).toHaveLength(1);
    expect(results[0]?.isError).toBe(true);
    expect(results[0]?.content).toContain(`Rejected by ${APPROVER}: Hold until the credit note arrives.`);
    expect(results[0]?.content).toContain('schedule_payment was not run.');
    expect((await h.runs.getRun(paused.runId))?.answer).toBe(answer);
    const trail = await h.runs.listEvents(paused.runId);
    expect(ofType(trail, 'approval_decided')).toMatchObject([
      { decision: 'rejected', decidedBy: APPROVER, comment: 'Hold until the credit note arrives.' },
    ]);
    expect(ofType(trail, 'tool_rejected').map((e) => [e.tool, e.rule])).toEqual([
      ['schedule_payment', 'approval_rejected'],
    ]);
    expect(ofType(trail, 'tool_call').map((c) => c.tool)).toEqual(['lookup_invoice', 'find_vendor']);
  });
});
