import type { AgentAction, ToolCallRef } from '../../state-machines/contract.js';
import type { AgentStep } from '../../state-machines/steps.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { AgentStepDeps } from './agent-step.js';
import { type GatedCall, pendingApproval } from './approval-records.js';
import { eventIds } from './claims.js';
import { ValidationError } from './errors.js';
import type { KeyedEvent, PendingCall, RunFacts } from './run-records.js';

/**
 * Open an approval for the gated calls of a turn. The record holds the calls
 * exactly as they will run; the approval request task stores the token on it
 * and emails the signed link. The id is derived from the turn, so a retried
 * agent step opens the same approval, once.
 */
export async function openApproval(args: {
  deps: AgentStepDeps;
  workflow: Workflow;
  step: AgentStep;
  meta: RunFacts;
  approvalId: string;
  gated: readonly PendingCall[];
  refs: readonly ToolCallRef[];
  reason: string;
}): Promise<{ action: AgentAction; event: KeyedEvent }> {
  const { deps, workflow, step, meta, gated, refs, approvalId } = args;
  const gate = workflow.approvals;
  if (!gate) throw new ValidationError(`workflow ${workflow.name} gates tool calls but names no approvers`);
  const now = deps.clock.now();
  const calls: GatedCall[] = gated.map((c) => ({
    toolUseId: c.toolUseId,
    tool: c.tool,
    access: step.agent.tool(c.tool)?.access ?? 'unknown',
    args: c.args,
  }));
  const gatedIds = new Set(gated.map((c) => c.toolUseId));
  await deps.approvals.create({
    ...pendingApproval({ approvalId, runId: meta.runId, workflow: workflow.name, step: step.id, now }, gate),
    kind: 'tools',
    onReject: gate.onReject,
    calls,
    ungatedCallIds: refs.filter((r) => !gatedIds.has(r.toolUseId)).map((r) => r.toolUseId),
    refs: [...refs],
    summary: calls.map((c) => `${c.tool}(${JSON.stringify(c.args)})`).join('; '),
    reason: args.reason.slice(0, 4000),
  });
  return {
    action: {
      kind: 'approval',
      approvalId,
      // With a reminder the gate waits in two parts: until the reminder, then the rest.
      timeoutSeconds:
        gate.remindBeforeSeconds > 0 ? gate.timeoutSeconds - gate.remindBeforeSeconds : gate.timeoutSeconds,
      ...(gate.remindBeforeSeconds > 0 ? { remindSeconds: gate.remindBeforeSeconds } : {}),
      calls: [...refs],
    },
    event: {
      id: eventIds.approvalRequested(approvalId),
      event: {
        type: 'approval_requested',
        step: step.id,
        approvalId,
        approvers: [...gate.approvers],
        tools: calls.map((c) => c.tool),
      },
    },
  };
}
