import type { ApprovalDecision, ApprovalRequestEvent, ToolCallRef } from '../../state-machines/contract.js';
import { LIMIT_UNIT } from '../../state-machines/edges.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { signedLink } from './approval-links.js';
import { type ApprovalRecord, type ApprovalStore, pendingApproval } from './approval-records.js';
import { canonicalJson } from './canonical.js';
import { eventIds } from './claims.js';
import type { CoreDeps } from './deps.js';
import { NotFoundError, ValidationError } from './errors.js';
import { offloaderFor, resolveOutputs } from './offload.js';
import type { Mailer, WorkflowEngine } from './ports.js';
import { MICROS_PER_USD } from './pricing.js';
import type { TrailEvent } from './run-records.js';
import { sha256 } from './sha256.js';
import { outputsFor } from './step-outputs.js';
import { pendingWrite, stampUsage } from './usage.js';

export interface ApprovalDeps extends CoreDeps {
  approvals: ApprovalStore;
  mailer: Mailer;
  engine: WorkflowEngine;
  /** HMAC key for links (Secrets Manager). */
  linkSecret: string;
  /** Public base URL of the API, for links. */
  baseUrl: string;
}

/** What Step Functions answers a callback whose task no longer waits on that token. */
const TOKEN_GONE = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

/** A digest of exactly what the approver is shown; a decision must name it ("approve what you saw"). */
export function approvalDigest(record: ApprovalRecord): string {
  return sha256(canonicalJson({ calls: record.calls, summary: record.summary }), 'base64url').slice(0, 32);
}

/**
 * The waitForTaskToken task. `request`/`escalate`: store the token on the
 * approval record (server-side only) and email each approver a signed link.
 * `expire`: the gate timed out; escalate once if configured, otherwise reject.
 */
export async function handleApprovalRequest(
  event: ApprovalRequestEvent,
  deps: ApprovalDeps,
): Promise<ApprovalDecision | { ok: true }> {
  const meta = await deps.store.getRun(event.runId);
  if (!meta) throw new NotFoundError(`run ${event.runId} does not exist`);
  const workflow = deps.workflows.get(meta.workflow);
  if (!workflow) throw new NotFoundError(`workflow ${meta.workflow} is not deployed`);
  const approvalId = event.approvalId ?? `${event.runId}-${event.step}`;
  const sendToken = (taskToken: string, output: ApprovalDecision) => sendTo(deps, taskToken, output);
  let record = await deps.approvals.get(approvalId);
  if (!record) {
    if (event.approvalId) throw new NotFoundError(`approval ${approvalId} does not exist`);
    record = await createStepApproval(workflow, event, approvalId, meta.input, deps);
  }
  if (event.phase === 'expire') return expire(record, deps);
  if (!event.taskToken) throw new ValidationError(`phase ${event.phase} needs a task token`, '/taskToken');

  if (record.status === 'approved' || record.status === 'rejected') {
    // Decided while this task was being retried (its earlier token died): the decision
    // reaches the gate on this token, and nobody is emailed again.
    const output = await decisionOutput(record, record.decidedBy ?? 'unknown', record.comment ?? '', deps);
    await sendToken(event.taskToken, output);
    await deps.approvals.markDelivered(approvalId);
    return { ok: true };
  }
  if (record.status === 'expired' && record.kind === 'extension') {
    // A branch that reached the same limit after a sibling's gate timed out: the same stop.
    await sendToken(event.taskToken, await extensionOutcome(record, 'timeout', '', deps));
    return { ok: true };
  }
  if (record.status !== 'pending')
    throw new ValidationError(
      `approval ${approvalId} is ${record.status}: nothing can wait on it`,
      '/approvalId',
    );
  const now = deps.clock.now();
  const gateSeconds = Math.max(1, Math.round((record.expiresAt - Date.parse(record.createdAt)) / 1000));
  const escalating = event.phase === 'escalate';
  const reminding = event.phase === 'remind';
  // A reminder goes to whoever the gate waits on now: the escalation list once it escalated.
  const approvers = escalating || (reminding && record.escalated) ? record.escalateTo : record.approvers;
  const expiresAt = escalating ? now + gateSeconds * 1000 : record.expiresAt;
  // A shared extension: every branch's gate waits on it; the approvers are mailed once.
  let mail = true;
  if (record.kind === 'extension') {
    const waiting = await deps.approvals.addWaiter(approvalId, event.step, event.taskToken);
    if (escalating)
      await deps.approvals.attachToken(approvalId, event.taskToken, { escalated: true, expiresAt });
    mail = event.phase !== 'request' || waiting === 1;
  } else {
    await deps.approvals.attachToken(
      approvalId,
      event.taskToken,
      escalating ? { escalated: true, expiresAt } : {},
    );
  }
  // Each is in the trail once (a retried task writes nothing twice, and mails again at most).
  if (reminding)
    mail = await appendMetered(
      deps,
      event.runId,
      eventIds.approvalReminded(approvalId, record.escalated ? 'escalated' : 'first'),
      {
        type: 'approval_reminded',
        step: record.step,
        approvalId,
        approvers: [...approvers],
      },
    );
  if (escalating)
    mail = await appendMetered(deps, event.runId, eventIds.approvalEscalated(approvalId), {
      type: 'approval_escalated',
      step: record.step,
      approvalId,
      approvers: [...approvers],
    });
  if (!mail && record.kind === 'extension') {
    deps.log.info('approval shared by another gate', { approvalId, runId: event.runId, step: event.step });
    return { ok: true };
  }
  // The first request's mails are in the trail too, before they leave (reminders and escalations
  // have their own events): who is sent a link, and what this invocation cost, which rides on it.
  if (event.phase === 'request')
    await appendMetered(deps, event.runId, eventIds.approvalSent(approvalId), {
      type: 'approval_sent',
      step: record.step,
      approvalId,
      approvers: [...approvers],
    });
  const expires = Math.floor(expiresAt / 1000);
  for (const approver of approvers) {
    const link = signedLink(deps.baseUrl, deps.linkSecret, { approvalId, approver, expires });
    const lead = reminding
      ? `Reminder: this approval times out at ${new Date(expiresAt).toISOString()} (in ${Math.max(0, Math.round((expiresAt - now) / 60_000))} min).\n\n`
      : escalating
        ? `Escalated to you: the first approvers (${record.approvers.join(', ')}) did not decide in time.\n\n`
        : '';
    await deps.mailer.send({
      to: [approver],
      subject: `${reminding ? 'Reminder: approval' : 'Approval'} needed: ${record.summary.slice(0, 120)}`,
      text: lead + approvalEmailText(record, link, expiresAt),
      html:
        (lead ? `<p><b>${lead.trim().replace(/[&<>"']/g, '')}</b></p>` : '') +
        approvalEmailHtml(record, link, expiresAt),
    });
  }
  deps.log.info('approval requested', {
    approvalId,
    runId: event.runId,
    approvers: approvers.length,
    phase: event.phase,
  });
  return { ok: true };
}

/**
 * A trail event with this invocation's usage on it (`usage.ts`): the approval
 * paths' Lambda time and requests (the request task, the decision POST) are
 * in the run's cost through the events they write anyway.
 */
function appendMetered(deps: { store: ApprovalDeps['store'] }, runId: string, id: string, event: TrailEvent) {
  return deps.store.appendEvent(runId, id, stampUsage(event, pendingWrite(event)));
}

/** SendTaskSuccess, when the token already has its answer there is nothing left to deliver. */
async function sendTo(deps: ApprovalDeps, taskToken: string, output: ApprovalDecision): Promise<boolean> {
  try {
    await deps.engine.sendTaskSuccess(taskToken, JSON.stringify(output));
    return true;
  } catch (err) {
    // The same token already has its answer (a restarted task re-runs with its recorded token,
    // after the decision was delivered to it), or the gate no longer waits on it.
    if (!TOKEN_GONE.includes((err as { name?: string }).name ?? '')) throw err;
    return false;
  }
}

async function createStepApproval(
  workflow: Workflow,
  event: ApprovalRequestEvent,
  approvalId: string,
  input: unknown,
  deps: ApprovalDeps,
): Promise<ApprovalRecord> {
  const step = workflow.stepsById.get(event.step);
  if (step?.kind !== 'approval')
    throw new ValidationError(`step ${event.step} is not an approval step`, '/step');
  // Offloaded outputs are read back: the approver sees what the step produced.
  const outputs = await outputsFor(deps.store, event.runId, step.needs, (o) =>
    resolveOutputs(o, offloaderFor(event.runId, deps.payloads, deps.offloadThresholdBytes)),
  );
  const now = deps.clock.now();
  const record: ApprovalRecord = {
    ...pendingApproval({ approvalId, runId: event.runId, workflow: workflow.name, step: step.id, now }, step),
    kind: 'step',
    onReject: 'stop',
    calls: [],
    ungatedCallIds: [],
    refs: [],
    summary: step.summary({ runId: event.runId, input, outputs }),
    reason: '',
  };
  // A retried task finds the record a crashed attempt created: the first one counts.
  if (!(await deps.approvals.create(record))) {
    const existing = await deps.approvals.get(approvalId);
    if (existing) return existing;
  }
  await appendMetered(deps, event.runId, eventIds.approvalRequested(approvalId), {
    type: 'approval_requested',
    step: step.id,
    approvalId,
    approvers: record.approvers,
    tools: [],
  });
  return record;
}

async function expire(record: ApprovalRecord, deps: ApprovalDeps): Promise<ApprovalDecision> {
  if (
    record.status === 'pending' &&
    record.onTimeout === 'escalate' &&
    !record.escalated &&
    record.escalateTo.length > 0
  ) {
    return { decision: 'escalate', approvalId: record.approvalId, calls: [] };
  }
  const decidedAt = new Date(deps.clock.now()).toISOString();
  const expired = await deps.approvals.decide(record.approvalId, {
    status: 'expired',
    decidedBy: 'timeout',
    decidedAt,
    comment: 'no approver decided in time',
  });
  if (!expired) {
    // A person decided in the same moment the gate timed out, so their answer never
    // reached the waiting task. Honour it; its trail events are written already.
    const decided = await deps.approvals.get(record.approvalId);
    if (decided && record.kind === 'extension')
      return decisionOutput(decided, decided.decidedBy ?? 'unknown', decided.comment ?? '', deps);
    if (decided?.status === 'approved') {
      return {
        decision: 'approved',
        approvalId: record.approvalId,
        decidedBy: decided.decidedBy ?? 'unknown',
        calls: decided.refs,
      };
    }
    return {
      decision: 'rejected',
      approvalId: record.approvalId,
      decidedBy: decided?.decidedBy ?? 'unknown',
      stop: record.onReject === 'stop',
      calls: ungatedRefs(record),
    };
  }
  return rejection(record, 'timeout', 'no approver decided before the gate timed out', deps);
}

/** Write the rejection as the gated calls' results (the model reads them) and say what runs. */
async function rejection(
  record: ApprovalRecord,
  decidedBy: string,
  comment: string,
  deps: ApprovalDeps,
): Promise<ApprovalDecision> {
  if (record.kind === 'extension') return extensionOutcome(record, decidedBy, comment, deps);
  for (const call of record.calls) {
    const said = comment.trim().replace(/[.!?\s]+$/, '');
    const message =
      record.kind === 'unknown_outcome'
        ? `${decidedBy} decided not to run ${call.tool} again${said ? `: ${said}` : ''}. An earlier attempt ended without a known outcome, so it may or may not have taken effect; do not call it again, and say so in your answer.`
        : `Rejected by ${decidedBy}${said ? `: ${said}` : ''}. ${call.tool} was not run. Do not retry it; take another path or end with an explanation.`;
    await deps.store.putToolResult(record.runId, record.step, {
      toolUseId: call.toolUseId,
      content: message,
      isError: true,
    });
    await appendMetered(deps, record.runId, eventIds.toolRejected(record.step, call.toolUseId), {
      type: 'tool_rejected',
      step: record.step,
      toolUseId: call.toolUseId,
      tool: call.tool,
      args: call.args,
      rule: 'approval_rejected',
      message,
    });
  }
  await appendMetered(deps, record.runId, eventIds.approvalDecided(record.approvalId), {
    type: 'approval_decided',
    step: record.step,
    approvalId: record.approvalId,
    decision: decidedBy === 'timeout' ? 'expired' : 'rejected',
    decidedBy,
    ...(comment ? { comment } : {}),
  });
  const calls = ungatedRefs(record);
  return {
    decision: 'rejected',
    approvalId: record.approvalId,
    decidedBy,
    stop: record.onReject === 'stop',
    calls,
  };
}

export type DecideOutcome =
  | { status: 200; decision: 'approved' | 'rejected'; record: ApprovalRecord }
  | { status: 404 | 409 | 400; message: string; record?: ApprovalRecord };

/**
 * Decide once: the approval must be pending and the digest must match what the
 * approver was shown; a conditional update from `pending` makes a second
 * decision impossible, then the task token is sent its answer.
 */
export async function decideApproval(
  args: {
    approvalId: string;
    approver: string;
    decision: string;
    comment?: string;
    digest?: string;
    /** For an extension: by how much (the limit's unit; USD for cost). @default what was offered */
    extendBy?: string | number;
  },
  deps: ApprovalDeps,
): Promise<DecideOutcome> {
  if (args.decision !== 'approve' && args.decision !== 'reject') {
    return { status: 400, message: 'decision must be "approve" or "reject"' };
  }
  const comment = (args.comment ?? '').slice(0, 2000);
  const record = await deps.approvals.get(args.approvalId);
  if (!record) return { status: 404, message: `approval ${args.approvalId} does not exist` };
  if (record.status === 'bypassed') {
    return {
      status: 409,
      message: `no decision can count any more: a task callback that did not come through the approval API tried to run this action (${record.violation ?? 'no detail'}). Nothing was run, the run was stopped as a policy violation, and the alert topic was notified.`,
      record,
    };
  }
  const wanted = args.decision === 'approve' ? 'approved' : 'rejected';
  if (
    record.status === wanted &&
    !record.delivered &&
    record.decidedBy === args.approver &&
    record.taskToken
  ) {
    // The same decision again, after an attempt that recorded it but may have died before
    // the waiting task heard it: deliver it (every part of a delivery is written once).
    return deliver(record, args.approver, record.comment ?? '', deps);
  }
  if (record.status !== 'pending') {
    return {
      status: 409,
      message: `already decided: ${record.status} by ${record.decidedBy ?? 'unknown'} at ${record.decidedAt ?? 'unknown'}`,
      record,
    };
  }
  if (args.digest === undefined)
    return {
      status: 400,
      message: 'digest is required: decide on what the approval page showed (its digest field)',
    };
  if (args.digest !== approvalDigest(record)) {
    return {
      status: 409,
      message: 'the action changed since this page was shown; reload it and decide again',
      record,
    };
  }
  if (!record.taskToken)
    return {
      status: 409,
      message: 'the run is not waiting on this approval yet; try again in a moment',
      record,
    };
  const extendBy = extendByOf(record, wanted === 'approved' ? args.extendBy : undefined);
  if (!extendBy.ok) return { status: 400, message: extendBy.message };
  const decidedAt = new Date(deps.clock.now()).toISOString();
  const won = await deps.approvals.decide(record.approvalId, {
    status: wanted,
    decidedBy: args.approver,
    decidedAt,
    comment,
    ...(extendBy.value === undefined ? {} : { extendBy: extendBy.value }),
  });
  if (!won) {
    const now = await deps.approvals.get(record.approvalId);
    return {
      status: 409,
      message: `already decided: ${now?.status ?? 'unknown'} by ${now?.decidedBy ?? 'unknown'}`,
    };
  }
  return deliver(
    {
      ...record,
      status: wanted,
      decidedBy: args.approver,
      decidedAt,
      comment,
      ...(extendBy.value === undefined ? {} : { extendBy: extendBy.value }),
    },
    args.approver,
    comment,
    deps,
  );
}

/**
 * Tell the waiting task what was decided: the trail events and (after a
 * rejection) the gated calls' results, each written once, then
 * `SendTaskSuccess`, then the record marked delivered.
 */
async function deliver(
  record: ApprovalRecord & { taskToken?: string },
  approver: string,
  comment: string,
  deps: ApprovalDeps,
): Promise<DecideOutcome> {
  const status = record.status === 'approved' ? 'approved' : 'rejected';
  const output = await decisionOutput(record, approver, comment, deps);
  if (!record.taskToken) throw new ValidationError(`approval ${record.approvalId} has no task token`);
  // A shared extension answers every gate waiting on it; the others have one token.
  const fresh = record.kind === 'extension' ? await deps.approvals.get(record.approvalId) : undefined;
  const others = [...new Set(Object.values(fresh?.waiters ?? {}))].filter((t) => t !== record.taskToken);
  for (const token of others) await sendTo(deps, token, output);
  try {
    await deps.engine.sendTaskSuccess(record.taskToken, JSON.stringify(output));
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (!TOKEN_GONE.includes(name) || others.length > 0) {
      if (!TOKEN_GONE.includes(name)) throw err;
      await deps.approvals.markDelivered(record.approvalId);
      return { status: 200, decision: status, record: { ...record, delivered: true } };
    }
    // The token this page saw is gone. While the run goes on, its gate asks again (a
    // retried task, an escalation, the expiry) and finds this recorded decision.
    const run = await deps.store.getRun(record.runId);
    if (run?.status === 'RUNNING') {
      deps.log.info('approval decided, delivered when the gate next waits', {
        approvalId: record.approvalId,
        runId: record.runId,
      });
      return { status: 200, decision: status, record };
    }
    if (run && record.decidedAt && run.updatedAt >= record.decidedAt) {
      // The run ended after this decision was recorded: the gate heard it (a request that sent
      // it and died before it could say so is being retried), or the run ended while it was on
      // its way. Either way the recorded decision is the answer, as the first request's was.
      deps.log.info('approval decided; the run has ended since', {
        approvalId: record.approvalId,
        runId: record.runId,
        runStatus: run.status,
      });
      return { status: 200, decision: status, record };
    }
    return {
      status: 409,
      message: `the run no longer waits on this approval (${name}: it is ${run?.status ?? 'gone'}); your decision is recorded and changes nothing`,
      record,
    };
  }
  await deps.approvals.markDelivered(record.approvalId);
  deps.log.info('approval decided', { approvalId: record.approvalId, runId: record.runId, decision: status });
  return { status: 200, decision: status, record: { ...record, delivered: true } };
}

/** What a decided approval tells the gate; every trail event and result it writes is written once. */
async function decisionOutput(
  record: ApprovalRecord,
  approver: string,
  comment: string,
  deps: ApprovalDeps,
): Promise<ApprovalDecision> {
  if (record.kind === 'extension') return extensionOutcome(record, approver, comment, deps);
  if (record.status !== 'approved') return rejection(record, approver, comment, deps);
  await appendMetered(deps, record.runId, eventIds.approvalDecided(record.approvalId), {
    type: 'approval_decided',
    step: record.step,
    approvalId: record.approvalId,
    decision: 'approved',
    decidedBy: approver,
    ...(comment ? { comment } : {}),
  });
  return { decision: 'approved', approvalId: record.approvalId, decidedBy: approver, calls: record.refs };
}

/**
 * What a decided extension tells every gate waiting on it. Approved: the
 * ledger is extended once (with its `budget_extended` event, atomically) and
 * the iteration runs again. Rejected or expired: the limit's named stop.
 */
async function extensionOutcome(
  record: ApprovalRecord,
  decidedBy: string,
  comment: string,
  deps: ApprovalDeps,
): Promise<ApprovalDecision> {
  const ext = record.extension;
  if (!ext) throw new ValidationError(`approval ${record.approvalId} is an extension without its figures`);
  const decision =
    record.status === 'approved' ? 'approved' : decidedBy === 'timeout' ? 'expired' : 'rejected';
  if (decision === 'approved') {
    const amount = record.extendBy ?? ext.by;
    const toUnit = (n: number) => (ext.limit === 'cost' ? n / MICROS_PER_USD : n);
    await deps.store.extendLedger(
      record.runId,
      { approvalId: record.approvalId, limit: ext.limit, amount },
      {
        id: eventIds.budgetExtended(record.approvalId),
        event: {
          type: 'budget_extended',
          step: record.step,
          approvalId: record.approvalId,
          limit: ext.limit,
          by: toUnit(amount),
          approvedBy: decidedBy,
          newLimit: toUnit(ext.limitValue + amount),
        },
      },
    );
  }
  await appendMetered(deps, record.runId, eventIds.approvalDecided(record.approvalId), {
    type: 'approval_decided',
    step: record.step,
    approvalId: record.approvalId,
    decision,
    decidedBy,
    ...(comment ? { comment } : {}),
  });
  if (decision === 'approved')
    return { decision: 'extended', approvalId: record.approvalId, decidedBy, calls: [] };
  const said = comment.trim();
  return {
    decision: 'rejected',
    stop: true,
    approvalId: record.approvalId,
    decidedBy,
    calls: [],
    reason: ext.stopReason,
    detail: `${ext.stopDetail}; the extension was ${decision === 'expired' ? 'not decided before the gate timed out' : `rejected by ${decidedBy}${said ? `: ${said}` : ''}`}`,
  };
}

/**
 * The `extendBy` of a decision on an extension, in the record's unit (micro-USD
 * for cost; the API takes USD), or why it cannot be granted: more than the
 * workflow's maximum less what was granted before is refused, changing nothing.
 */
function extendByOf(
  record: ApprovalRecord,
  raw: unknown,
): { ok: true; value?: number } | { ok: false; message: string } {
  const ext = record.extension;
  if (raw === undefined || raw === '') return { ok: true };
  if (!ext) return { ok: false, message: 'extendBy applies only to an approval that asks to extend a limit' };
  const n = typeof raw === 'number' ? raw : Number(raw);
  const cost = ext.limit === 'cost';
  const value = cost ? Math.round(n * MICROS_PER_USD) : n;
  const unit = LIMIT_UNIT[ext.limit];
  const show = (v: number) =>
    cost ? `${(v / MICROS_PER_USD).toFixed(4)} USD` : `${v.toLocaleString('en-US')} ${unit}`;
  if (!(Number.isFinite(n) && n > 0 && (cost || Number.isInteger(n))))
    return {
      ok: false,
      message: `extendBy must be a positive ${cost ? 'number of USD' : `whole number of ${unit}`}, got ${JSON.stringify(raw)}`,
    };
  if (value > ext.max)
    return {
      ok: false,
      message: `extendBy ${show(value)} is larger than this workflow allows: at most ${show(ext.max)} more (its extensions maximum less what was granted before)`,
    };
  return { ok: true, value };
}

function approvalEmailText(record: ApprovalRecord, link: string, expiresAt: number): string {
  const calls = record.calls.map((c) => `  - ${c.tool} (${c.access}): ${JSON.stringify(c.args)}`).join('\n');
  return [
    `Run ${record.runId} of workflow ${record.workflow} asks for your approval.`,
    '',
    calls ? `It wants to run:\n${calls}` : `It asks: ${record.summary}`,
    record.reason ? `\nThe agent's reason: ${record.reason.slice(0, 1000)}` : '',
    '',
    `Review and decide (opening the link changes nothing): ${link}`,
    `The link expires at ${new Date(expiresAt).toISOString()}.`,
  ].join('\n');
}

function approvalEmailHtml(record: ApprovalRecord, link: string, expiresAt: number): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const calls = record.calls
    .map(
      (c) =>
        `<li><code>${esc(c.tool)}</code> (${esc(c.access)}): <code>${esc(JSON.stringify(c.args))}</code></li>`,
    )
    .join('');
  return `<p>Run <b>${esc(record.runId)}</b> of <b>${esc(record.workflow)}</b> asks for your approval.</p>${
    calls ? `<ul>${calls}</ul>` : `<p>${esc(record.summary)}</p>`
  }<p><a href="${esc(link)}">Review and decide</a> (opening the link changes nothing). Expires ${esc(new Date(expiresAt).toISOString())}.</p>`;
}

/** The calls of the gated turn that needed no approval: they run whatever the decision. */
function ungatedRefs(record: ApprovalRecord): ToolCallRef[] {
  const ungated = new Set(record.ungatedCallIds);
  return record.refs.filter((r) => ungated.has(r.toolUseId));
}
