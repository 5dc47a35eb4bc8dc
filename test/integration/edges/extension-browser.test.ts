/**
 * An `ask` edge approved in a real Chromium from the emailed link: the page
 * says what the run used of its limit and offers the extension; the approver
 * grants part of what the workflow allows, and the run finishes within the
 * extended budget.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordedRequest, responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { Outbox, ofType, serveApi } from '../approvals/support.js';
import { lookup } from './fixtures.js';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const APPROVER = 'budget-owner@example.com';

async function chromiumExecutable(): Promise<string> {
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}

const tokensAsk = defineWorkflow({
  name: 'tokens-ask',
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
  // The third call does not fit (a call reserves about 1,100-1,200 tokens): the run asks.
  limits: { maxTokens: 1_300 },
  edges: { tokens: 'ask' },
  extensions: { tokens: { by: 500, max: 2_000 } },
  approvals: { approvers: [APPROVER], timeoutSeconds: 60 },
});

let h: AgentHarness;
let outbox: Outbox;
let server: Awaited<ReturnType<typeof serveApi>>;
let browser: Browser | undefined;
let page: Page;
let launchError: Error | undefined;

beforeAll(async () => {
  server = await serveApi();
  h = await AgentHarness.start([tokensAsk], { APPROVAL_BASE_URL: server.url });
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
      ],
    });
    page = await browser.newPage();
  } catch (err) {
    launchError = new Error(`Chromium at ${executablePath} could not launch: ${(err as Error).message}`);
  }
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

describe('extend the budget? in a browser', () => {
  it('is approved from the emailed link, and the run finishes within the extended budget', async () => {
    if (launchError) throw launchError;
    h.model.use(
      responder('counting', (req: RecordedRequest) =>
        req.turnIndex < 3 ? toolUse('lookup', { id: `A-${req.turnIndex}` }) : text('All records done.'),
      ),
    );
    const res = await h.api()(
      proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow: 'tokens-ask', input: {} })),
    );
    expect(res.statusCode).toBe(201);
    const { runId } = JSON.parse(res.body) as { runId: string };
    const email = await outbox.waitFor((e) => (e.text ?? '').includes(runId), 'asking to extend');
    const link = /https?:\/\/\S+/.exec(email.text ?? '')?.[0] ?? '';
    expect(link.startsWith(server.url)).toBe(true);

    await page.goto(link);
    const summary = await page.getByTestId('summary').textContent();
    expect(summary).toMatch(
      new RegExp(
        `^Run ${runId} has used [\\d,]+ of 1,300 tokens doing "counting records" \\(step work\\); extend by 500 tokens\\?$`,
      ),
    );
    const field = page.getByTestId('extend-by');
    expect([await field.inputValue(), await field.getAttribute('max')]).toEqual(['500', '2000']);
    // The most allowed: spotlighted tool results leave less than the offer would need.
    await field.fill('2000');
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(async () => page.getByTestId('notice').textContent())
      .toBe('Thank you: approved. The run may use 2,000 tokens more. The run goes on.');
    const execution = await h.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:tokens-ask:${runId}`,
    );

    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    const [extended] = ofType(trail, 'budget_extended');
    expect(extended).toMatchObject({ limit: 'tokens', by: 2_000, newLimit: 3_300, approvedBy: APPROVER });
    const ledger = await h.runs.getLedger(runId);
    expect(ledger?.tokenLimit).toBe(3_300);
    expect(ledger?.tokensUsed).toBeLessThanOrEqual(3_300);
    expect(ofType(trail, 'model_call')).toHaveLength(4);
    // The page now says it is decided, and offers nothing more.
    await page.goto(link);
    expect(await page.getByTestId('status').textContent()).toMatch(
      /Already decided: approved by budget-owner@example.com/,
    );
  });
});
