import type { ToolCallRef } from '../../state-machines/contract.js';
import type { Json } from './model.js';

/**
 * `bypassed`: a callback that did not come through the approval API tried to
 * run the gated calls; nothing ran and no later decision counts.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'bypassed';

/** One tool call an approver is asked about, exactly as it will run. */
export interface GatedCall {
  toolUseId: string;
  tool: string;
  access: string;
  args: Json;
}

/** `APPROVAL#id / META` in the Approvals table. */
export interface ApprovalRecord {
  approvalId: string;
  /**
   * `tools`: a gate on tool calls; `step`: an approval step; `unknown_outcome`:
   * an attempt of a non-idempotent tool call ended without a known outcome and
   * a human checks whether it happened (approve = run it again with the same
   * idempotency key, reject = do not run it again).
   * @default 'tools' for records with calls, 'step' otherwise
   */
  kind?: 'tools' | 'step' | 'unknown_outcome';
  runId: string;
  workflow: string;
  step: string;
  status: ApprovalStatus;
  createdAt: string;
  /** Epoch ms after which links no longer work. */
  expiresAt: number;
  approvers: string[];
  escalateTo: string[];
  escalated: boolean;
  onTimeout: 'reject' | 'escalate';
  onReject: 'feedback' | 'stop';
  /** What the approver is asked: for a gate on tool calls, the calls; for an approval step, a summary. */
  calls: GatedCall[];
  /** Calls of the same turn that need no approval: they run whatever the decision. */
  ungatedCallIds: string[];
  /** Every call of the turn as the state machine runs it. */
  refs: ToolCallRef[];
  summary: string;
  /** The model's own words for why it wants this. */
  reason: string;
  /** Held server-side only: never in a link, an email or a log. */
  taskToken?: string;
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
  /** The decision reached the waiting task (SendTaskSuccess answered). */
  delivered?: boolean;
  /** For a `bypassed` gate: what tried to get around it. */
  violation?: string;
}

/** The Approvals table as core sees it. */
export interface ApprovalStore {
  /** Create once; false when the id exists already (a retried step). */
  create(record: ApprovalRecord): Promise<boolean>;
  get(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** Attach the task token (and approvers after an escalation) while still pending. */
  attachToken(approvalId: string, taskToken: string, patch?: Partial<ApprovalRecord>): Promise<void>;
  /** Decide once: a conditional update from `pending`. False when it was decided already. */
  decide(
    approvalId: string,
    decision: {
      status: Exclude<ApprovalStatus, 'pending' | 'bypassed'>;
      decidedBy: string;
      decidedAt: string;
      comment?: string;
    },
  ): Promise<boolean>;
  listByStatus(status: ApprovalStatus, limit: number): Promise<ApprovalRecord[]>;
  /** A pending gate was bypassed: mark it so no later decision counts. False when not pending. */
  markBypassed(approvalId: string, violation: string, at: string): Promise<boolean>;
  /** The decision was delivered to the waiting task. */
  markDelivered(approvalId: string): Promise<void>;
}
