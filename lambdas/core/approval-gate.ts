import type { AgentAction, ToolCallRef } from '../../state-machines/contract.js';
import type { AgentStep } from '../../state-machines/steps.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { AgentStepDeps } from './agent-step.js';
import type { GatedCall } from './approval-records.js';
import { ValidationError } from './errors.js';
import type { Ledger, PendingCall, RunMeta } from './run-records.js';

/**
 * Open an approval for the gated calls of a turn. The record holds the calls
 * exactly as they will run; the approval request task stores the token on it
 * and emails the signed link.
 */
export async function openApproval(args: {
  deps: AgentStepDeps;
  workflow: Workflow;
  step: AgentStep;
  meta: RunMeta;
  gated: readonly PendingCall[];
  refs: readonly ToolCallRef[];
  reason: string;
  ledger: Ledger;
}): Promise<AgentAction> {
  const { deps, workflow, step, meta, gated, refs } = args;
  const gate = workflow.approvals;
  if (!gate) throw new ValidationError(`workflow ${workflow.name} gates tool calls but names no approvers`);
  const approvalId = deps.newId();
  const now = deps.clock.now();
  const calls: GatedCall[] = gated.map((c) => ({
    toolUseId: c.toolUseId,
    tool: c.tool,
    access: step.agent.tool(c.tool)?.access ?? 'unknown',
    args: c.args,
  }));
  const gatedIds = new Set(gated.map((c) => c.toolUseId));
  await deps.approvals.create({
    approvalId,
    runId: meta.runId,
    workflow: workflow.name,
    step: step.id,
    status: 'pending',
    createdAt: new Date(now).toISOString(),
    expiresAt: now + gate.timeoutSeconds * 1000,
    approvers: [...gate.approvers],
    escalateTo: [...gate.escalateTo],
    escalated: false,
    onTimeout: gate.onTimeout,
    onReject: gate.onReject,
    calls,
    ungatedCallIds: refs.filter((r) => !gatedIds.has(r.toolUseId)).map((r) => r.toolUseId),
    refs: [...refs],
    summary: calls.map((c) => `${c.tool}(${JSON.stringify(c.args)})`).join('; '),
    reason: args.reason.slice(0, 4000),
  });
  await deps.store.appendEvent(meta.runId, {
    type: 'approval_requested',
    step: step.id,
    approvalId,
    approvers: [...gate.approvers],
    tools: calls.map((c) => c.tool),
  });
  return { kind: 'approval', approvalId, timeoutSeconds: gate.timeoutSeconds, calls: [...refs] };
}
