import type { ToolCallRef, ToolStepResult } from '../../state-machines/contract.js';
import { worstCaseSeconds } from '../../state-machines/tool.js';
import type { Workflow } from '../../state-machines/workflow.js';
import {
  type ApprovalRecord,
  type ApprovalStatus,
  type ApprovalStore,
  pendingApproval,
} from './approval-records.js';
import { canonicalJson } from './canonical.js';
import { derivedId, eventIds } from './claims.js';
import type { CoreDeps } from './deps.js';
import { ValidationError } from './errors.js';
import type { Claim, PendingCall, RunFacts } from './run-records.js';

/** Whether a gated call may run: approved through the approval API, for exactly these arguments. */
export type ApprovalCheck =
  | { ok: true; record: ApprovalRecord }
  | { ok: false; reason: string; approvalId?: string; status?: ApprovalStatus };

/**
 * Approve what was approved: when the gated call is about to run, the
 * approval record — not the callback that woke the state machine — must say
 * `approved`, by one of the gate's approvers, for this run, step and call,
 * with the arguments the approver was shown. A callback sent around the
 * approval API (anyone holding `states:SendTaskSuccess`) finds the record
 * still pending and runs nothing.
 */
export async function checkApproval(
  approvals: ApprovalStore,
  call: PendingCall,
  runId: string,
  step: string,
  approvalId: string | undefined = call.approvalId,
): Promise<ApprovalCheck> {
  if (!approvalId) return { ok: false, reason: 'the call needs an approval and none was opened for it' };
  const record = await approvals.get(approvalId);
  if (!record) return { ok: false, reason: `its approval ${approvalId} does not exist`, approvalId };
  const refused = (reason: string): ApprovalCheck => ({
    ok: false,
    reason,
    approvalId,
    status: record.status,
  });
  if (record.runId !== runId || record.step !== step)
    return refused(`approval ${approvalId} belongs to run ${record.runId}, step ${record.step}`);
  if (record.status !== 'approved') {
    return refused(
      record.status === 'pending'
        ? `approval ${approvalId} was never decided through the approval API (a task callback arrived while it was still pending)`
        : `approval ${approvalId} is ${record.status}`,
    );
  }
  const allowed = new Set([...record.approvers, ...(record.escalated ? record.escalateTo : [])]);
  if (!record.decidedBy || !allowed.has(record.decidedBy))
    return refused(
      `approval ${approvalId} was decided by ${record.decidedBy ?? 'nobody'}, who is not one of its approvers`,
    );
  const shown = record.calls.find((c) => c.toolUseId === call.toolUseId);
  if (!shown || shown.tool !== call.tool || canonicalJson(shown.args) !== canonicalJson(call.args))
    return refused(`the arguments about to run are not the ones approval ${approvalId} showed the approver`);
  return { ok: true, record };
}

/**
 * Ask a human about a call whose earlier attempt ended without a known
 * outcome (the process died mid-call): "this may or may not have happened —
 * check, then approve to run it again with the same idempotency key, or
 * reject to leave it". The model is never told to just try again.
 */
export async function openUnknownOutcome(
  deps: CoreDeps & { approvals: ApprovalStore },
  workflow: Workflow,
  meta: RunFacts,
  step: string,
  call: PendingCall,
  claim: Claim,
  round: number,
): Promise<Extract<ToolStepResult, { kind: 'approval' }>> {
  const gate = workflow.approvals;
  if (!gate)
    throw new ValidationError(
      `tool call ${call.toolUseId} (${call.tool}) of run ${meta.runId} has an unknown outcome and workflow ${workflow.name} names no approvers to ask`,
    );
  const approvalId = derivedId('uo_', meta.runId, step, call.toolUseId, round);
  const now = deps.clock.now();
  const tool = workflow.agentOf(step)?.tool(call.tool);
  const ref: ToolCallRef = {
    toolUseId: call.toolUseId,
    tool: call.tool,
    turn: call.turn,
    // The re-run may reach the fallback: the Task backstop covers both, as the agent step's refs do.
    timeoutSeconds:
      (tool
        ? worstCaseSeconds(tool, tool.fallback ? workflow.agentOf(step)?.tool(tool.fallback) : undefined)
        : 60) + 10,
  };
  await deps.approvals.create({
    ...pendingApproval({ approvalId, runId: meta.runId, workflow: workflow.name, step, now }, gate),
    kind: 'unknown_outcome',
    onReject: 'feedback',
    calls: [
      { toolUseId: call.toolUseId, tool: call.tool, access: tool?.access ?? 'unknown', args: call.args },
    ],
    ungatedCallIds: [],
    refs: [ref],
    summary: `${call.tool}(${JSON.stringify(call.args)}) may or may not have happened`,
    reason: `Attempt ${claim.attempts} of this call ended without a known outcome: the process running it stopped mid-call. Check the target system. Approve to run it again with the same idempotency key (a system that deduplicates by it will not act twice); reject if it happened, or must not be tried again.`,
  });
  await deps.store.appendEvent(meta.runId, eventIds.approvalRequested(approvalId), {
    type: 'approval_requested',
    step,
    approvalId,
    approvers: [...gate.approvers],
    tools: [call.tool],
  });
  return { kind: 'approval', approvalId, timeoutSeconds: gate.timeoutSeconds };
}
