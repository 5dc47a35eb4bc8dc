/**
 * Redrive of a run that failed for a platform reason: the agent step's
 * function dies after its handler ran, on every attempt, past the state
 * machine's retries. The execution fails at that state (no Fail state caught
 * it), `POST /runs/{id}/redrive` resumes it there, and the run finishes with
 * every model call and every side effect exactly once. A named stop is
 * refused, naming why, and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { transitionsOf } from '../../../lambdas/adapters/sfn-engine.js';
import { parseApprovalForm } from '../../../local/cli/approve.js';
import { responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { tester } from '../agent/fixtures.js';
import { eventFor, invoiceScript, Outbox, ofType, PAYMENT_ARGS, pausedRun } from '../approvals/support.js';

const tiny = defineWorkflow({
  name: 'tiny-budget',
  description: 'A token budget too small for a second call.',
  input: { type: 'object', properties: { task: { type: 'string' } }, required: ['task'] } as const,
  steps: [agent('work', { agent: tester, prompt: () => 'look A-1 up, then B-2' })],
  limits: { maxTokens: 1_600 },
});

/** The agent step of this iteration dies after its handler ran, while set. */
const crash = { iteration: 0, invocations: 0 };

let h: AgentHarness;
let outbox: Outbox;
beforeAll(async () => {
  h = await AgentHarness.start(
    [invoiceWorkflow, tiny],
    { AWS_MAX_ATTEMPTS: '1' },
    {
      retryJitter: () => 0.002,
      inject: async (fn, event, run) => {
        const out = await run();
        if (fn === 'agentStep' && (event as { iteration?: number }).iteration === crash.iteration) {
          crash.invocations++;
          const died = new Error('the function process died after its handler ran (injected)');
          died.name = 'Lambda.Unknown';
          throw died;
        }
        return out;
      },
    },
  );
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
});

const api = () => h.api();
const redrive = async (runId: string) => {
  const res = await api()(proxyEvent('POST', '/runs/{id}/redrive', { id: runId }, '{}'));
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
};
const getRun = async (runId: string) => {
  const res = await api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
  return JSON.parse(res.body) as Record<string, unknown>;
};

describe('redrive of a run failed by a Lambda crash', () => {
  it('resumes at the failed state and finishes with each model call and side effect exactly once', async () => {
    await backend.reset();
    h.model.use(invoiceScript('redrive', 'Scheduled the payment of INV-000101.'));
    const paused = await pausedRun(h, outbox);
    // Still waiting at the gate: not redrivable.
    const early = await redrive(paused.runId);
    expect(early.status).toBe(409);
    expect(String(early.body.message)).toMatch(/still running/);
    expect(h.sfn.describeExecution({ executionArn: paused.executionArn })).toMatchObject({
      status: 'RUNNING',
      redriveCount: 0,
    });
    expect(ofType(await h.runs.listEvents(paused.runId), 'run_redriven')).toHaveLength(0);

    // The agent step after the payment (iteration 4) dies after it ran, on every attempt.
    crash.iteration = 4;
    const page = await api()(eventFor('GET', paused.link, null, { accept: 'text/html' }));
    const form = parseApprovalForm(page.body, paused.link);
    if (!form) throw new Error('the approval page has no form');
    const decided = await api()(
      eventFor('POST', form.action, new URLSearchParams({ ...form.fields, decision: 'approve' }).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    expect(decided.statusCode, decided.body).toBe(200);
    const failed = await h.sfn.waitForExecution(paused.executionArn);

    expect([failed.status, failed.error]).toEqual(['FAILED', 'Lambda.Unknown']);
    expect(crash.invocations).toBe(5); // the first attempt and its 4 retries
    const shown = await getRun(paused.runId);
    expect([shown.status, shown.redrivable]).toEqual(['FAILED', true]);
    expect(String(shown.stopDetail)).toMatch(/Lambda\.Unknown: the function process died/);
    // Ended without the finish task, which counts transitions: they are priced from the history.
    const history = h.sfn.getExecutionHistory({ executionArn: paused.executionArn, maxResults: 1000 }).events;
    const cost = shown.cost as { usd: { stepFunctions: number }; usage: { stepFunctions: unknown } };
    expect(cost.usage.stepFunctions).toEqual({
      transitions: transitionsOf(history.map((e) => e.type)),
      historyEvents: history.length,
    });
    expect(cost.usd.stepFunctions).toBeCloseTo(transitionsOf(history.map((e) => e.type)) * 0.000025, 12);
    expect(await backend.listPayments()).toHaveLength(1);

    // The cause is gone: redrive, from the API.
    crash.iteration = 0;
    const redriven = await redrive(paused.runId);
    expect(redriven.status, JSON.stringify(redriven.body)).toBe(202);
    expect(String(redriven.body.redriven)).toMatch(/^Lambda\.Unknown/);
    const done = await h.sfn.waitForExecution(paused.executionArn);

    expect(done.status, `${done.error ?? ''}: ${done.cause ?? ''}`).toBe('SUCCEEDED');
    expect(done.redriveCount).toBe(1);
    const run = await h.runs.getRun(paused.runId);
    expect([run?.status, run?.answer]).toEqual(['SUCCEEDED', 'Scheduled the payment of INV-000101.']);
    const payments = (await backend.listPayments()).filter((p) => p.invoiceId === PAYMENT_ARGS.invoice_id);
    expect(payments).toHaveLength(1);
    const trail = await h.runs.listEvents(paused.runId);
    const paid = ofType(trail, 'tool_call').filter((e) => e.tool === 'schedule_payment');
    expect(paid.map((e) => e.status)).toEqual(['ok']);
    // Four model calls in all: the one whose function died six times was called once.
    expect(ofType(trail, 'model_call').map((e) => e.iteration)).toEqual([1, 2, 3, 4]);
    expect(h.model.requests).toHaveLength(4);
    expect(ofType(trail, 'run_redriven')).toHaveLength(1);
    expect(ofType(trail, 'run_finished').map((e) => e.outcome)).toEqual(['succeeded']);

    // Succeeded: nothing to redrive, and nothing changes.
    const again = await redrive(paused.runId);
    expect(again.status).toBe(409);
    expect(String(again.body.message)).toMatch(/succeeded: there is nothing to redrive/);
    expect(h.sfn.describeExecution({ executionArn: paused.executionArn }).redriveCount).toBe(1);
  });

  it('refuses to redrive a budget stop, saying why, and changes nothing', async () => {
    h.model.use(
      responder('endless', (req) =>
        req.turnIndex < 1 ? toolUse('lookup', { id: 'A-1' }) : text('never reached'),
      ),
    );
    const { runId, execution } = await h.run('tiny-budget', { task: 'go' });
    expect(execution.error).toBe('BudgetExceeded');

    const refused = await redrive(runId);

    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('NotRedrivable');
    expect(refused.body.reason).toBe('BudgetExceeded');
    expect(String(refused.body.message)).toMatch(
      /ended in the named stop BudgetExceeded \(token budget: .*\): a named stop is not redrivable/,
    );
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:tiny-budget:${runId}`;
    expect(h.sfn.describeExecution({ executionArn }).redriveCount).toBe(0);
    expect(ofType(await h.runs.listEvents(runId), 'run_redriven')).toHaveLength(0);
    const bad = await redrive('no such run!');
    expect(bad.status).toBe(400);
    expect((await redrive('nosuchrun')).status).toBe(404);
  });
});
