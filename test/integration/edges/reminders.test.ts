/**
 * An approval gate reminds its approvers before it times out, then escalates
 * to its second list; both are in the trail, and the escalation approver's
 * decision through the emailed link lets the run go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApprovalForm } from '../../../local/cli/approve.js';
import {
  type RecordedRequest,
  responder,
  scenario,
  text,
  toolUse,
} from '../../../local/scripted-model/index.js';
import { agent, approval, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { eventFor, Outbox, ofType } from '../approvals/support.js';

const FIRST = 'first-approver@example.com';
const SECOND = 'second-approver@example.com';

const signOff = defineWorkflow({
  name: 'sign-off',
  description: 'One human sign-off with a reminder and an escalation.',
  input: { type: 'object', properties: { what: { type: 'string' } }, required: ['what'] } as const,
  steps: [
    approval('sign', {
      approvers: [FIRST],
      timeoutSeconds: 3,
      remindBeforeSeconds: 2,
      onTimeout: 'escalate',
      escalateTo: [SECOND],
      summary: ({ input }) => `Sign off ${(input as { what: string }).what}`,
    }),
  ],
  limits: { timeLimitSeconds: 120 },
});

const pay = defineTool({
  name: 'pay',
  description: 'Pay an invoice.',
  input: {
    type: 'object',
    properties: { invoice: { type: 'string' } },
    required: ['invoice'],
    additionalProperties: false,
  } as const,
  access: 'write',
  run: async ({ invoice }) => ({ paid: invoice }),
});
const payer = defineWorkflow({
  name: 'payer',
  description: 'A gated tool call with a reminder and an escalation.',
  input: { type: 'object' } as const,
  steps: [
    agent('pay', {
      agent: defineAgent({ name: 'payer', model: 'claude-haiku-4-5', system: 'Pay.', tools: [pay] }),
      prompt: () => 'Pay INV-1.',
    }),
  ],
  approvals: {
    approvers: [FIRST],
    timeoutSeconds: 3,
    remindBeforeSeconds: 2,
    onTimeout: 'escalate',
    escalateTo: [SECOND],
  },
  limits: { timeLimitSeconds: 120 },
});

const lookup = defineTool({
  name: 'lookup',
  description: 'Look a record up by id.',
  input: {
    type: 'object',
    properties: { id: { type: 'string' } },
    required: ['id'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async ({ id }) => ({ id, name: `record ${id}` }),
});
/** A token ask (the third call does not fit) whose gate reminds and escalates. */
const extender = defineWorkflow({
  name: 'extender',
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
  limits: { maxTokens: 1_300, timeLimitSeconds: 120 },
  edges: { tokens: 'ask' },
  extensions: { tokens: { by: 1_300, max: 1_300 } },
  approvals: {
    approvers: [FIRST],
    timeoutSeconds: 3,
    remindBeforeSeconds: 2,
    onTimeout: 'escalate',
    escalateTo: [SECOND],
  },
});

let h: AgentHarness;
let outbox: Outbox;
beforeAll(async () => {
  h = await AgentHarness.start([signOff, payer, extender]);
  outbox = new Outbox(h);
});
afterAll(async () => {
  await h?.close();
});

describe('approval reminders and escalation', () => {
  it('reminds the first approvers before the timeout, escalates to the second list, both in the trail', async () => {
    const res = await h.api()(
      proxyEvent(
        'POST',
        '/runs',
        {},
        JSON.stringify({ workflow: 'sign-off', input: { what: 'the Q4 budget' } }),
      ),
    );
    expect(res.statusCode).toBe(201);
    const { runId } = JSON.parse(res.body) as { runId: string };

    const first = await outbox.waitFor(
      (e) => e.to.includes(FIRST) && e.subject.startsWith('Approval needed'),
      'to the first approver',
    );
    expect(first.subject).toBe('Approval needed: Sign off the Q4 budget');
    const reminder = await outbox.waitFor((e) => e.subject.startsWith('Reminder:'), 'reminding');
    expect(reminder.to).toEqual([FIRST]);
    expect(reminder.text).toMatch(/Reminder: this approval times out at \S+ \(in \d+ min\)/);
    const escalated = await outbox.waitFor((e) => e.to.includes(SECOND), 'to the escalation approver');
    expect(escalated.text).toMatch(
      new RegExp(`Escalated to you: the first approvers \\(${FIRST}\\) did not decide in time`),
    );

    // The second approver decides from the emailed link.
    const link = /https?:\/\/\S+/.exec(escalated.text ?? '')?.[0] ?? '';
    const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
    expect(page.statusCode, page.body).toBe(200);
    const form = parseApprovalForm(page.body, link);
    if (!form) throw new Error('the escalated approval page has no form');
    const decided = await h.api()(
      eventFor('POST', form.action, new URLSearchParams({ ...form.fields, decision: 'approve' }).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    expect(decided.statusCode, decided.body).toBe(200);
    const execution = await h.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:sign-off:${runId}`,
    );

    expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    expect(trail.map((e) => e.type).filter((t) => t.startsWith('approval_'))).toEqual([
      'approval_requested',
      'approval_sent',
      'approval_reminded',
      'approval_escalated',
      'approval_decided',
    ]);
    expect(ofType(trail, 'approval_reminded')[0]?.approvers).toEqual([FIRST]);
    expect(ofType(trail, 'approval_escalated')[0]?.approvers).toEqual([SECOND]);
    expect(ofType(trail, 'approval_decided')[0]?.decidedBy).toBe(SECOND);
    expect(outbox.emails.filter((e) => e.subject.startsWith('Reminder:'))).toHaveLength(1);
  });

  it('does the same for a gate on tool calls', async () => {
    h.model.use(scenario('pay', [toolUse('pay', { invoice: 'INV-1' }), text('Paid INV-1.')]));
    const res = await h.api()(
      proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow: 'payer', input: {} })),
    );
    const { runId } = JSON.parse(res.body) as { runId: string };
    const mine = (e: { text?: string }) => (e.text ?? '').includes(runId);
    const reminder = await outbox.waitFor((e) => mine(e) && e.subject.startsWith('Reminder:'), 'reminding');
    expect(reminder.to).toEqual([FIRST]);
    const escalated = await outbox.waitFor((e) => mine(e) && e.to.includes(SECOND), 'escalating');
    const link = /https?:\/\/\S+/.exec(escalated.text ?? '')?.[0] ?? '';
    const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
    const form = parseApprovalForm(page.body, link);
    if (!form) throw new Error('no form on the escalated page');
    const decided = await h.api()(
      eventFor('POST', form.action, new URLSearchParams({ ...form.fields, decision: 'approve' }).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    expect(decided.statusCode, decided.body).toBe(200);
    const execution = await h.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:payer:${runId}`,
    );

    expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    expect(trail.map((e) => e.type).filter((t) => t.startsWith('approval_'))).toEqual([
      'approval_requested',
      'approval_sent',
      'approval_reminded',
      'approval_escalated',
      'approval_decided',
    ]);
    expect(ofType(trail, 'tool_call').map((e) => e.status)).toEqual(['ok']);
  });

  it('does the same for an extension: the second list grants it, in the trail by name', async () => {
    h.model.use(
      responder('counting', (req: RecordedRequest) =>
        req.turnIndex < 3 ? toolUse('lookup', { id: `A-${req.turnIndex}` }) : text('All records done.'),
      ),
    );
    const res = await h.api()(
      proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow: 'extender', input: {} })),
    );
    const { runId } = JSON.parse(res.body) as { runId: string };
    const mine = (e: { text?: string }) => (e.text ?? '').includes(runId);
    const reminder = await outbox.waitFor((e) => mine(e) && e.subject.startsWith('Reminder:'), 'reminding');
    expect(reminder.to).toEqual([FIRST]);
    expect(reminder.subject).toMatch(
      /^Reminder: approval needed: Run \S+ has used [\d,]+ of 1,300 tokens doing/,
    );
    const escalated = await outbox.waitFor((e) => mine(e) && e.to.includes(SECOND), 'escalating');
    expect(escalated.text).toMatch(/extend by 1,300 tokens\?/);
    const link = /https?:\/\/\S+/.exec(escalated.text ?? '')?.[0] ?? '';
    const page = await h.api()(eventFor('GET', link, null, { accept: 'text/html' }));
    const form = parseApprovalForm(page.body, link);
    if (!form) throw new Error('no form on the escalated page');
    const decided = await h.api()(
      eventFor('POST', form.action, new URLSearchParams({ ...form.fields, decision: 'approve' }).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    expect(decided.statusCode, decided.body).toBe(200);
    const execution = await h.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:extender:${runId}`,
    );

    expect(execution.status, `${execution.error ?? ''}: ${execution.cause ?? ''}`).toBe('SUCCEEDED');
    const trail = await h.runs.listEvents(runId);
    expect(trail.map((e) => e.type).filter((t) => t.startsWith('approval_'))).toEqual([
      'approval_requested',
      'approval_sent',
      'approval_reminded',
      'approval_escalated',
      'approval_decided',
    ]);
    expect(ofType(trail, 'budget_extended').map((e) => [e.by, e.approvedBy])).toEqual([[1_300, SECOND]]);
    expect((await h.runs.getLedger(runId))?.tokenLimit).toBe(2_600);
  });
});
