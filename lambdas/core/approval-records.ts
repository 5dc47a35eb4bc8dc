import type { ToolCallRef } from '../../state-machines/contract.js';
import type { Json } from './model.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

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
}

/** The Approvals table as core sees it. */
export interface ApprovalStore {
  create(record: ApprovalRecord): Promise<void>;
  get(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** Attach the task token (and approvers after an escalation) while still pending. */
  attachToken(approvalId: string, taskToken: string, patch?: Partial<ApprovalRecord>): Promise<void>;
  /** Decide once: a conditional update from `pending`. False when it was decided already. */
  decide(
    approvalId: string,
    decision: {
      status: Exclude<ApprovalStatus, 'pending'>;
      decidedBy: string;
      decidedAt: string;
      comment?: string;
    },
  ): Promise<boolean>;
  listByStatus(status: ApprovalStatus, limit: number): Promise<ApprovalRecord[]>;
}
