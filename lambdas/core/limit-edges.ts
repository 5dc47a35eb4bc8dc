import type { AgentAction } from '../../state-machines/contract.js';
import { LIMIT_STOP, LIMIT_UNIT, type LimitName } from '../../state-machines/edges.js';
import type { AgentStep } from '../../state-machines/steps.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { type ApprovalRecord, type ApprovalStore, pendingApproval } from './approval-records.js';
import { derivedId, eventIds } from './claims.js';
import type { CoreDeps } from './deps.js';
import { ValidationError } from './errors.js';
import type { Message } from './model.js';
import { MICROS_PER_USD, type ModelPrice, worstCaseCostMicros } from './pricing.js';
import type { KeyedEvent, Ledger, LedgerExtensions, Reservation, RunFacts } from './run-records.js';

/**
 * The edges of a run's limits (see `state-machines/edges.ts`): what the agent
 * step does when the next model call would pass one, besides the named stop.
 *
 * - `final-answer`: one last call with no tools, paid from the margin the
 *   ledger held back at the run's start (`reserveMargin`), so the cap holds;
 *   the answer starts with a note that it was cut short.
 * - `ask`: an approval through the workflow's gate ("run X has used 58,000
 *   of 60,000 tokens doing …; extend by 20,000?"). Its id is derived from the
 *   run, the limit and what was granted so far, so parallel branches that hit
 *   the limit together wait on one approval; approving extends the ledger once
 *   (`extendLedger`) and each waiting branch runs its iteration again.
 */

/** The ledger's figure for a limit: used and the limit now, in the limit's unit (micro-USD, seconds). */
export function limitFigures(
  limit: LimitName,
  ledger: Ledger | undefined,
  meta: RunFacts,
  workflow: Workflow,
  now: number,
): { used: number; limitValue: number } {
  switch (limit) {
    case 'tokens':
      return { used: ledger?.tokensUsed ?? 0, limitValue: ledger?.tokenLimit ?? workflow.limits.maxTokens };
    case 'cost':
      return {
        used: ledger?.costUsedMicros ?? 0,
        limitValue: ledger?.costLimitMicros ?? Math.round(workflow.limits.maxCostUsd * MICROS_PER_USD),
      };
    case 'steps':
      return { used: ledger?.stepsUsed ?? 0, limitValue: ledger?.stepLimit ?? workflow.limits.maxSteps };
    case 'time':
      return {
        used: Math.max(0, Math.round((now - Date.parse(meta.createdAt)) / 1000)),
        limitValue: workflow.limits.timeLimitSeconds + (ledger?.extended?.seconds ?? 0),
      };
  }
}

/** A figure for people: `58,000 tokens`, `$0.5800`, `900 seconds`. */
export function showFigure(limit: LimitName, n: number): string {
  return limit === 'cost'
    ? `$${(n / MICROS_PER_USD).toFixed(4)}`
    : `${n.toLocaleString('en-US')} ${LIMIT_UNIT[limit]}`;
}

const EXTENDED_FIELD: Readonly<Record<LimitName, keyof LedgerExtensions>> = {
  steps: 'steps',
  tokens: 'tokens',
  cost: 'costMicros',
  time: 'seconds',
};

/** The most an extension of `limit` may still add (the workflow's maximum less what was granted). */
function allowance(workflow: Workflow, limit: LimitName, ledger: Ledger | undefined) {
  const policy = workflow.extensions[limit];
  const unit = (n: number) => (limit === 'cost' ? Math.round(n * MICROS_PER_USD) : n);
  const granted = ledger?.extended?.[EXTENDED_FIELD[limit]] ?? 0;
  const left = unit(policy.max) - granted;
  return { granted, left, by: Math.min(unit(policy.by), left) };
}

/**
 * Open (or join) the approval that asks to extend `limit`. Undefined when the
 * workflow's maximum for it is granted already: the caller stops.
 */
export async function askExtension(args: {
  deps: CoreDeps & { approvals: ApprovalStore };
  workflow: Workflow;
  step: AgentStep;
  meta: RunFacts;
  iteration: number;
  limit: LimitName;
  ledger: Ledger | undefined;
  /** The stop a rejection ends in. */
  refusal: { reason: string; detail: string };
  /** The model's last words, for the approver. */
  doing: string;
}): Promise<{ action: AgentAction; events: KeyedEvent[] } | undefined> {
  const { deps, workflow, step, meta, limit, ledger } = args;
  const gate = workflow.approvals;
  if (!gate) throw new ValidationError(`workflow ${workflow.name} asks at a limit but names no approvers`);
  const room = allowance(workflow, limit, ledger);
  if (room.left <= 0) return undefined;
  const now = deps.clock.now();
  const { used, limitValue } = limitFigures(limit, ledger, meta, workflow, now);
  const approvalId = derivedId('ex_', meta.runId, limit, room.granted);
  const usedText = limit === 'cost' ? showFigure(limit, used) : used.toLocaleString('en-US');
  const summary = `Run ${meta.runId} has used ${usedText} of ${showFigure(limit, limitValue)} doing "${workflow.description}" (step ${step.id}); extend by ${showFigure(limit, room.by)}?`;
  const record: ApprovalRecord = {
    ...pendingApproval({ approvalId, runId: meta.runId, workflow: workflow.name, step: step.id, now }, gate),
    kind: 'extension',
    onReject: 'stop',
    calls: [],
    ungatedCallIds: [],
    refs: [],
    summary,
    reason: args.doing.slice(0, 4000),
    extension: {
      limit,
      used,
      limitValue,
      by: room.by,
      max: room.left,
      stopReason: args.refusal.reason,
      stopDetail: args.refusal.detail,
    },
    waiters: {},
  };
  // A sibling branch that reached the limit first opened it already: this one waits on it too.
  await deps.approvals.create(record);
  const remind = gate.remindBeforeSeconds;
  return {
    action: {
      kind: 'approval',
      approvalId,
      timeoutSeconds: remind > 0 ? gate.timeoutSeconds - remind : gate.timeoutSeconds,
      ...(remind > 0 ? { remindSeconds: remind } : {}),
      calls: [],
      extension: true,
    },
    events: [
      {
        id: `${eventIds.budgetRefused(step.id, args.iteration)}#${approvalId}`,
        event: {
          type: 'budget_refused',
          step: step.id,
          limit,
          requested: { extendBy: limit === 'cost' ? room.by / MICROS_PER_USD : room.by, edge: 'ask', limit },
          ledger: { used, limit: limitValue, detail: args.refusal.detail },
        },
      },
      {
        id: eventIds.approvalRequested(approvalId),
        event: {
          type: 'approval_requested',
          step: step.id,
          approvalId,
          approvers: [...gate.approvers],
          tools: [],
        },
      },
    ],
  };
}

/** The note a final answer carries: which limit cut it short, with the figures. */
export function finalNote(
  limit: LimitName,
  ledger: Ledger | undefined,
  meta: RunFacts,
  workflow: Workflow,
  now: number,
): string {
  const { used, limitValue } = limitFigures(limit, ledger, meta, workflow, now);
  const name = { steps: 'step', tokens: 'token', cost: 'cost', time: 'time' }[limit];
  return `Cut short at the ${name} limit: ${showFigure(limit, used)} of ${showFigure(limit, limitValue)} used.`;
}

/** The last call's user message: what the iteration would have sent, and the instruction to answer now. */
export function finalUserMessage(user: Message, note: string): Message {
  const instruction = `[Chaperone] ${note} No more tools can run. Give your final answer now from what you have, and say plainly that it was cut short and what is left undone.`;
  const content =
    typeof user.content === 'string'
      ? [
          { type: 'text' as const, text: user.content },
          { type: 'text' as const, text: instruction },
        ]
      : [...user.content, { type: 'text' as const, text: instruction }];
  return { role: 'user', content };
}

/** The answer a final-answer edge leaves: the note first, so it always says it was cut short. */
export function cutShortAnswer(note: string, text: string): string {
  return `(${note})\n\n${text}`;
}

/**
 * The `max_tokens` of the last call: as much of the agent's own as the held
 * margin pays for, input bound included, at the dearest rates. 0 when the
 * conversation alone does not fit.
 */
export function finalMaxTokens(
  price: ModelPrice,
  inputBound: number,
  held: Reservation,
  agentMaxTokens: number,
): number {
  let n = Math.min(agentMaxTokens, held.tokens - inputBound);
  while (n > 0 && worstCaseCostMicros(price, inputBound, n) > held.costMicros) n = Math.floor(n * 0.9) - 1;
  return Math.max(0, n);
}

export { LIMIT_STOP };
