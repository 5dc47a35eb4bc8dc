import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { call, digestOnPage, invoiceScript, Outbox, pausedRun } from '../approvals/support.js';

/**
 * A gated run's cost counts the approval's own Lambda invocations: the
 * request task that emails the links and the approver's decision POST, each
 * on the trail event it writes (`approval_sent`, `approval_decided`). The
 * approval page's GET writes nothing and is the one invocation not counted.
 */
let h: AgentHarness;
let outbox: Outbox;
beforeAll(async () => {
  h = await AgentHarness.start([invoiceWorkflow]);
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
});

describe('the cost of a run with an approval', () => {
  it('counts the approval request and the decision POST among its Lambda requests', async () => {
    await backend.reset();
    h.model.use(invoiceScript('approval-cost', 'Scheduled the payment of INV-000101.'));
    const before = [...h.invocations.values()].reduce((a, b) => a + b, 0);
    const paused = await pausedRun(h, outbox);
    const api = h.api();
    const page = await call(api, 'GET', paused.link);
    const decided = await call(api, 'POST', paused.link, {
      decision: 'approve',
      digest: digestOnPage(page.body),
    });
    expect(decided.status).toBe(200);
    const execution = await h.sfn.waitForExecution(paused.executionArn);
    expect(execution.status).toBe('SUCCEEDED');

    const res = await api(proxyEvent('GET', '/runs/{id}', { id: paused.runId }, null));
    const run = JSON.parse(res.body) as {
      cost: { usage: { lambda: { requests: number } } };
      trail: Array<{ type: string; usage?: { fn?: string } }>;
    };
    // The functions the state machine invoked, the POST /runs and the decision POST (not the page's GET).
    const invocations = [...h.invocations.values()].reduce((a, b) => a + b, 0) - before;
    expect(h.invocations.get('approvalRequest') ?? 0).toBeGreaterThanOrEqual(1);
    expect(run.cost.usage.lambda.requests).toBe(invocations + 2);
    const sent = run.trail.find((e) => e.type === 'approval_sent');
    const decidedEvent = run.trail.find((e) => e.type === 'approval_decided');
    expect(sent?.usage).toBeDefined();
    expect(decidedEvent?.usage).toBeDefined();
  });
});
