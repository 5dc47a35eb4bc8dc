/**
 * Each limit (steps, tokens, cost, time) with each edge (fail, final-answer,
 * ask), on the local runtime through the real SDKs: the named stop; one last
 * call with no tools, paid from the held-back margin, whose answer says it was
 * cut short; an approval that extends the ledger so the run finishes within
 * the extended limit, or whose rejection ends in the named stop. Then two
 * parallel branches that hit one extension, and an extension larger than the
 * workflow allows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '../../../lambdas/adapters/dynamo-http.js';
import { forgetWarmState } from '../../../lambdas/core/warm.js';
import type { RecordedRequest } from '../../../local/scripted-model/index.js';
import { responder, text, toolUse } from '../../../local/scripted-model/index.js';
import {
  agent,
  defineAgent,
  defineWorkflow,
  type LimitEdge,
  type LimitName,
  parallel,
  type Workflow,
} from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { call, digestOnPage, Outbox, ofType } from '../approvals/support.js';
import { lookup } from './fixtures.js';

const APPROVER = 'budget-owner@example.com';

const counter = (name: string) =>
  defineAgent({
    name,
    model: 'claude-haiku-4-5',
    system: 'Look records up.',
    tools: [lookup],
    maxTokens: 200,
  });

/**
 * Limits that stop the model's third call (measured: a call reserves about
 * 1,100-1,200 tokens and $0.002, and uses 90-240 tokens and $0.0002-0.0004).
 */
const LIMITS: Record<LimitName, { limits: Record<string, number>; margin?: Record<string, number> }> = {
  steps: { limits: { maxSteps: 3 } },
  tokens: { limits: { maxTokens: 1_300 }, margin: { tokens: 1_400 } },
  cost: { limits: { maxCostUsd: 0.0023 }, margin: { costUsd: 0.003 } },
  // The deadline is moved into the past before the third call (see `inject` below).
  time: { limits: {} },
};

function workflowFor(limit: LimitName, edge: LimitEdge): Workflow {
  const spec = LIMITS[limit];
  const limits = { ...spec.limits };
  // The final call is paid from a margin held back on top of the same ordinary budget.
  if (edge === 'final-answer' && limit === 'tokens') limits.maxTokens = 1_300 + 1_400;
  if (edge === 'final-answer' && limit === 'cost') limits.maxCostUsd = 0.0023 + 0.003;
  return defineWorkflow({
    name: `e-${limit}-${edge}`,
    description: `counting records (${limit} ${edge})`,
    input: { type: 'object' } as const,
    steps: [
      agent('work', { agent: counter('counter'), prompt: () => 'Look records up until you are done.' }),
    ],
    limits,
    edges: { [limit]: edge },
    ...(edge === 'final-answer' && spec.margin ? { finalAnswerMargin: spec.margin } : {}),
    approvals: { approvers: [APPROVER], timeoutSeconds: 60 },
  });
}

const both = defineWorkflow({
  name: 'e-parallel',
  description: 'two counters side by side',
  input: { type: 'object' } as const,
  steps: [
    parallel(
      'both',
      agent('left', { agent: counter('left'), prompt: () => 'Count on the left.' }),
      agent('right', { agent: counter('right'), prompt: () => 'Count on the right.' }),
    ),
  ],
  limits: { maxSteps: 4 },
  edges: { steps: 'ask' },
  extensions: { steps: { by: 2, max: 4 } },
  approvals: { approvers: [APPROVER], timeoutSeconds: 60 },
});

/** A token ask under a daily cap as small as the run's own limit: an extension cannot pass the cap. */
const capped = defineWorkflow({
  name: 'e-capped',
  description: 'counting under a daily cap',
  input: { type: 'object' } as const,
  steps: [agent('work', { agent: counter('counter'), prompt: () => 'Look records up until you are done.' })],
  limits: { maxTokens: 1_300 },
  dailyCaps: { tokens: 1_300 },
  edges: { tokens: 'ask' },
  approvals: { approvers: [APPROVER], timeoutSeconds: 60 },
});

/** A token ask whose gate times out in 2 s. */
const unanswered = defineWorkflow({
  name: 'e-unanswered',
  description: 'counting with nobody to ask',
  input: { type: 'object' } as const,
  steps: [agent('work', { agent: counter('counter'), prompt: () => 'Look records up until you are done.' })],
  limits: { maxTokens: 1_300 },
  edges: { tokens: 'ask' },
  approvals: { approvers: [APPROVER], timeoutSeconds: 2 },
});

/** A cost ask under a per-tenant daily cost cap as small as the run's own limit. */
const tenantCapped = defineWorkflow({
  name: 'e-tenant-capped',
  description: 'counting under a tenant cap',
  input: { type: 'object' } as const,
  steps: [agent('work', { agent: counter('counter'), prompt: () => 'Look records up until you are done.' })],
  limits: { maxCostUsd: 0.0023 },
  dailyCaps: { perTenant: { costUsd: 0.0023 } },
  edges: { cost: 'ask' },
  approvals: { approvers: [APPROVER], timeoutSeconds: 60 },
});

const LIMIT_NAMES: LimitName[] = ['steps', 'tokens', 'cost', 'time'];
const EDGES: LimitEdge[] = ['fail', 'final-answer', 'ask'];
const workflows = [
  ...LIMIT_NAMES.flatMap((l) => EDGES.map((e) => workflowFor(l, e))),
  both,
  capped,
  tenantCapped,
  unanswered,
];

/** Tool calls for `turns` turns, then an answer; the last call of a final-answer edge answers at once. */
function counting(turns: number) {
  return responder('counting', (req: RecordedRequest) => {
    if ((req.body as { tool_choice?: { type?: string } }).tool_choice?.type === 'none')
      return text('Partial answer: I looked up the records I could.');
    return req.turnIndex < turns
      ? toolUse('lookup', { id: `A-${req.turnIndex}` })
      : text('All records done.');
  });
}

/** Runs whose third agent call finds the deadline passed (time limits), by run id. */
const expireBeforeThird = new Set<string>();

let h: AgentHarness;
let outbox: Outbox;
beforeAll(async () => {
  h = await AgentHarness.start(
    workflows,
    {},
    {
      inject: async (fn, event, run) => {
        const e = event as { runId?: string; iteration?: number };
        if (fn === 'agentStep' && e.iteration === 3 && e.runId && expireBeforeThird.delete(e.runId)) {
          // Time passes: the run's deadline is behind it (a cold container reads it again).
          await h.runs.updateRun(e.runId, { deadline: Date.now() - 1_000 });
          forgetWarmState();
        }
        return run();
      },
    },
  );
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
});

const arnOf = (workflow: string, runId: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:${workflow}:${runId}`;

async function start(workflow: string, limit?: LimitName, tenant?: string): Promise<string> {
  const res = await h.api()(
    proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow, input: {}, ...(tenant ? { tenant } : {}) })),
  );
  expect(res.statusCode, res.body).toBe(201);
  const { runId } = JSON.parse(res.body) as { runId: string };
  if (limit === 'time') expireBeforeThird.add(runId);
  return runId;
}

/** The extension email of a run and its link. */
async function extensionLink(runId: string): Promise<{ link: string; subject: string; text: string }> {
  const email = await outbox.waitFor((e) => (e.text ?? '').includes(runId), `asking to extend run ${runId}`);
  const link = /https?:\/\/\S+/.exec(email.text ?? '')?.[0];
  if (!link) throw new Error(`no link in ${email.text}`);
  return { link, subject: email.subject, text: email.text ?? '' };
}

/** Decide on the extension through its signed link, as the page's form would (JSON). */
async function decide(link: string, body: Record<string, unknown>) {
  const page = await call(h.api(), 'GET', link);
  expect(page.status, page.body).toBe(200);
  return call(h.api(), 'POST', link, { digest: digestOnPage(page.body), ...body });
}

const STOPS: Record<LimitName, string> = {
  steps: 'StepLimitExceeded',
  tokens: 'BudgetExceeded',
  cost: 'BudgetExceeded',
  time: 'TimeLimitExceeded',
};

describe.each(LIMIT_NAMES)('the %s limit', (limit) => {
  it('fail: ends in the named stop', async () => {
    h.model.use(counting(10));
    const runId = await start(`e-${limit}-fail`, limit);
    const execution = await h.sfn.waitForExecution(arnOf(`e-${limit}-fail`, runId));

    expect(execution.error).toBe(STOPS[limit]);
    const run = await h.runs.getRun(runId);
    expect([run?.status, run?.stopReason]).toEqual(['STOPPED', STOPS[limit]]);
    const trail = await h.runs.listEvents(runId);
    expect(ofType(trail, 'model_call').length).toBeLessThanOrEqual(3);
    expect(ofType(trail, 'model_call').some((e) => e.edge === 'final-answer')).toBe(false);
  });

  it('final-answer: one last call with no tools, within the cap, and the answer says it was cut short', async () => {
    h.model.use(counting(10));
    const name = `e-${limit}-final-answer`;
    const runId = await start(name, limit);
    const execution = await h.sfn.waitForExecution(arnOf(name, runId));

    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const run = await h.runs.getRun(runId);
    const label = { steps: 'step', tokens: 'token', cost: 'cost', time: 'time' }[limit];
    expect(run?.answer).toMatch(
      new RegExp(`^\\(Cut short at the ${label} limit: .+ used\\.\\)\\n\\nPartial answer`),
    );
    const calls = ofType(await h.runs.listEvents(runId), 'model_call');
    expect(calls.filter((e) => e.edge === 'final-answer')).toHaveLength(1);
    expect(calls.at(-1)?.edge).toBe('final-answer');
    // The last request declared the tools but allowed none, and told the model why.
    const last = h.model.requests.at(-1)?.body as {
      tool_choice?: unknown;
      messages: Array<{ content: unknown }>;
    };
    expect(last.tool_choice).toEqual({ type: 'none' });
    expect(JSON.stringify(last.messages.at(-1)?.content)).toMatch(/No more tools can run/);
    const ledger = await h.runs.getLedger(runId);
    if (!ledger) throw new Error('no ledger');
    expect(ledger.tokensUsed).toBeLessThanOrEqual(ledger.tokenLimit);
    expect(ledger.costUsedMicros).toBeLessThanOrEqual(ledger.costLimitMicros);
    expect(ledger.stepsUsed).toBeLessThanOrEqual(ledger.stepLimit);
    // Every reservation settled: nothing held, and the margin was spent or given back.
    expect(ledger.tokenLimit - ledger.tokensRemaining - ledger.tokensUsed - (ledger.marginTokens ?? 0)).toBe(
      0,
    );
  });

  it('ask: approved from the emailed link, the ledger is extended and the run finishes within it', async () => {
    h.model.use(counting(limit === 'steps' ? 4 : 3));
    const name = `e-${limit}-ask`;
    const runId = await start(name, limit);
    const { link, subject, text: body } = await extensionLink(runId);
    expect(subject).toMatch(/^Approval needed: Run \S+ has used/);
    expect(body).toMatch(
      new RegExp(
        `has used .+ of .+ doing "counting records \\(${limit} ask\\)" \\(step work\\); extend by .+\\?`,
      ),
    );

    // Tool results reach the model spotlighted (marked as untrusted data), so the token and cost
    // runs need more than the offered half: their approver grants the most allowed (the limit again).
    const approved = await decide(link, {
      decision: 'approve',
      ...(limit === 'tokens' ? { extendBy: 1_300 } : limit === 'cost' ? { extendBy: 0.0023 } : {}),
    });
    expect(approved.status, approved.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf(name, runId));

    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    expect((await h.runs.getRun(runId))?.answer).toBe('All records done.');
    const trail = await h.runs.listEvents(runId);
    const [extended] = ofType(trail, 'budget_extended');
    expect([extended?.limit, extended?.approvedBy]).toEqual([limit, APPROVER]);
    expect(extended?.by).toBeGreaterThan(0);
    const ledger = await h.runs.getLedger(runId);
    if (!ledger) throw new Error('no ledger');
    expect(ledger.tokensUsed).toBeLessThanOrEqual(ledger.tokenLimit);
    expect(ledger.costUsedMicros).toBeLessThanOrEqual(ledger.costLimitMicros);
    expect(ledger.stepsUsed).toBeLessThanOrEqual(ledger.stepLimit);
    const grown = {
      steps: ledger.stepLimit - 3,
      tokens: ledger.tokenLimit - 1_300,
      cost: ledger.costLimitMicros - 2_300,
      time: ledger.extended?.seconds ?? 0,
    }[limit];
    expect(grown).toBe(limit === 'cost' ? Math.round((extended?.by ?? 0) * 1e6) : extended?.by);
  });
});

describe('extensions', () => {
  it('a rejected extension ends in the named stop, saying who rejected it', async () => {
    h.model.use(counting(3));
    const runId = await start('e-tokens-ask');
    const { link } = await extensionLink(runId);
    const rejected = await decide(link, { decision: 'reject', comment: 'not worth more' });
    expect(rejected.status, rejected.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf('e-tokens-ask', runId));

    expect(execution.error).toBe('BudgetExceeded');
    const run = await h.runs.getRun(runId);
    expect(run?.stopReason).toBe('BudgetExceeded');
    expect(run?.stopDetail).toMatch(
      /token budget: .*; the extension was rejected by budget-owner@example.com: not worth more/,
    );
    const trail = await h.runs.listEvents(runId);
    expect(ofType(trail, 'budget_extended')).toHaveLength(0);
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(1_300);
  });

  it('an extension nobody decides ends in the named stop when the gate times out', async () => {
    h.model.use(counting(3));
    const runId = await start('e-unanswered');
    await extensionLink(runId);
    const execution = await h.sfn.waitForExecution(arnOf('e-unanswered', runId));

    expect(execution.error).toBe('BudgetExceeded');
    const run = await h.runs.getRun(runId);
    expect([run?.status, run?.stopReason]).toEqual(['STOPPED', 'BudgetExceeded']);
    expect(run?.stopDetail).toMatch(
      /^token budget: .*; the extension was not decided before the gate timed out$/,
    );
    const trail = await h.runs.listEvents(runId);
    expect(ofType(trail, 'approval_decided').map((e) => [e.decision, e.decidedBy])).toEqual([
      ['expired', 'timeout'],
    ]);
    expect(ofType(trail, 'budget_extended')).toHaveLength(0);
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(1_300);
  });

  it('refuses an extension larger than the workflow allows, changing nothing', async () => {
    h.model.use(counting(3));
    const runId = await start('e-tokens-ask');
    const { link } = await extensionLink(runId);
    const tooMuch = await decide(link, { decision: 'approve', extendBy: 5_000 });

    expect(tooMuch.status).toBe(400);
    expect(JSON.parse(tooMuch.body).message).toMatch(
      /extendBy 5,000 tokens is larger than this workflow allows: at most 1,300 tokens more/,
    );
    const notANumber = await decide(link, { decision: 'approve', extendBy: 'lots' });
    expect(notANumber.status).toBe(400);
    const [waiting] = (await h.approvals.listByStatus('pending', 100)).filter((a) => a.runId === runId);
    expect(waiting?.status).toBe('pending');
    expect(waiting?.extendBy).toBeUndefined();
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(1_300);
    const before = await h.runs.listEvents(runId);
    expect(ofType(before, 'budget_extended')).toHaveLength(0);
    expect(ofType(before, 'approval_decided')).toHaveLength(0);
    expect(h.sfn.describeExecution({ executionArn: arnOf('e-tokens-ask', runId) }).status).toBe('RUNNING');

    // A grant within the maximum goes through.
    const ok = await decide(link, { decision: 'approve', extendBy: 1_300 });
    expect(ok.status, ok.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf('e-tokens-ask', runId));
    expect(execution.status).toBe('SUCCEEDED');
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(2_600);
  });

  it('two parallel branches at one limit wait on one approval, extended once', async () => {
    h.model.use(counting(3));
    const runId = await start('e-parallel');
    const { link } = await extensionLink(runId);
    // Both branches reach the shared step limit (4 steps for 2 × 4 calls) and wait on the same approval.
    const approvalId = new URL(link).pathname.split('/').at(-1) ?? '';
    for (let i = 0; i < 200; i++) {
      const record = await h.approvals.get(approvalId);
      if (Object.keys(record?.waiters ?? {}).length === 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(Object.keys((await h.approvals.get(approvalId))?.waiters ?? {}).sort()).toEqual(['left', 'right']);

    const approved = await decide(link, { decision: 'approve', extendBy: 4 });
    expect(approved.status, approved.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf('e-parallel', runId));

    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    expect(ofType(trail, 'budget_extended').map((e) => [e.by, e.newLimit])).toEqual([[4, 8]]);
    expect(ofType(trail, 'approval_requested')).toHaveLength(1);
    expect(outbox.emails.filter((e) => (e.text ?? '').includes(runId))).toHaveLength(1);
    expect(
      ofType(trail, 'step_output')
        .map((e) => e.step)
        .sort(),
    ).toEqual(['left', 'right']);
    const ledger = await h.runs.getLedger(runId);
    expect([ledger?.stepsUsed, ledger?.stepLimit]).toEqual([8, 8]);
  });

  it('two parallel branches at one limit, rejected: both stop by name, one decision, nothing extended', async () => {
    h.model.use(counting(3));
    const runId = await start('e-parallel');
    const { link } = await extensionLink(runId);
    const approvalId = new URL(link).pathname.split('/').at(-1) ?? '';
    for (let i = 0; i < 200; i++) {
      if (Object.keys((await h.approvals.get(approvalId))?.waiters ?? {}).length === 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const rejected = await decide(link, { decision: 'reject', comment: 'enough' });
    expect(rejected.status, rejected.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf('e-parallel', runId));

    expect(execution.error).toBe('StepLimitExceeded');
    const run = await h.runs.getRun(runId);
    expect(run?.stopDetail).toMatch(/the extension was rejected by budget-owner@example\.com: enough$/);
    const trail = await h.runs.listEvents(runId);
    expect(ofType(trail, 'approval_decided').map((e) => e.decision)).toEqual(['rejected']);
    expect(ofType(trail, 'budget_extended')).toHaveLength(0);
    expect(ofType(trail, 'step_output')).toHaveLength(0);
    expect((await h.runs.getLedger(runId))?.stepLimit).toBe(4);
  });

  it('an approved extension does not pass the daily cap: the cap still stops the run', async () => {
    h.model.use(counting(3));
    const runId = await start('e-capped');
    const { link } = await extensionLink(runId);
    const approved = await decide(link, { decision: 'approve' });
    expect(approved.status, approved.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf('e-capped', runId));

    expect(execution.error).toBe('BudgetExceeded');
    expect((await h.runs.getRun(runId))?.stopDetail).toMatch(
      /^daily token cap of workflow e-capped on \d{4}-\d{2}-\d{2}/,
    );
    expect(ofType(await h.runs.listEvents(runId), 'budget_extended')).toHaveLength(1);
    expect((await h.runs.getLedger(runId))?.tokensUsed).toBeLessThanOrEqual(1_300);
  });

  it("an approved extension does not pass the tenant's daily cap: the cap still stops the run", async () => {
    h.model.use(counting(3));
    const runId = await start('e-tenant-capped', undefined, 'acme');
    const { link } = await extensionLink(runId);
    const approved = await decide(link, { decision: 'approve', extendBy: 0.0023 });
    expect(approved.status, approved.body).toBe(200);
    const execution = await h.sfn.waitForExecution(arnOf('e-tenant-capped', runId));

    expect(execution.error).toBe('BudgetExceeded');
    expect((await h.runs.getRun(runId))?.stopDetail).toMatch(
      /^daily cost cap of tenant acme on \d{4}-\d{2}-\d{2}: \$[\d.]+ of \$0\.0023 used/,
    );
    const [extended] = ofType(await h.runs.listEvents(runId), 'budget_extended');
    expect([extended?.limit, extended?.by]).toEqual(['cost', 0.0023]);
    const ledger = await h.runs.getLedger(runId);
    if (!ledger) throw new Error('no ledger');
    // The run could spend twice the cap; the cap's own counter never passed it.
    expect(ledger.costLimitMicros).toBe(4_600);
    const day = new Date().toISOString().slice(0, 10);
    const cap = await h.db.send(
      new GetCommand({
        TableName: 'Runs',
        Key: { pk: `CAP#tenant#acme#workflow#e-tenant-capped#${day}`, sk: 'LEDGER' },
      }),
    );
    expect(cap.Item?.costLimitMicros).toBe(2_300);
    expect(cap.Item?.costUsedMicros).toBeLessThanOrEqual(2_300);
    expect(ledger.costUsedMicros).toBe(cap.Item?.costUsedMicros);
  });
});
