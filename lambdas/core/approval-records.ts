import type { ToolCallRef } from '../../state-machines/contract.js';
import type { LimitName } from '../../state-machines/edges.js';
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
   * idempotency key, reject = do not run it again); `extension`: an `ask`
   * edge asks to extend a limit of the run (approve = extend the ledger by
   * `extendBy`, reject = the limit's named stop).
   * @default 'tools' for records with calls, 'step' otherwise
   */
  kind?: 'tools' | 'step' | 'unknown_outcome' | 'extension';
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
  /** For an `extension`: the limit, the figures and what may be granted. */
  extension?: ExtensionAsk;
  /** For an `extension` decided `approved`: by how much (in the limit's unit; micro-USD for cost). */
  extendBy?: number;
  /**
   * For an `extension`: every gate waiting on it (parallel branches that hit
   * the limit together share one approval), by step, with its task token.
   */
  waiters?: Record<string, string>;
}

/** Who decides a gate and how long it waits (an approval step, a tool gate, an edge's or a check's gate). */
export interface GateSettings {
  readonly timeoutSeconds: number;
  readonly approvers: readonly string[];
  readonly escalateTo: readonly string[];
  readonly onTimeout: 'reject' | 'escalate';
}

/** The fields every approval record starts with: pending from `now`, for the gate's approvers, until its timeout. */
export function pendingApproval(
  at: { approvalId: string; runId: string; workflow: string; step: string; now: number },
  gate: GateSettings,
): Pick<
  ApprovalRecord,
  | 'approvalId'
  | 'runId'
  | 'workflow'
  | 'step'
  | 'status'
  | 'createdAt'
  | 'expiresAt'
  | 'approvers'
  | 'escalateTo'
  | 'escalated'
  | 'onTimeout'
> {
  return {
    approvalId: at.approvalId,
    runId: at.runId,
    workflow: at.workflow,
    step: at.step,
    status: 'pending',
    createdAt: new Date(at.now).toISOString(),
    expiresAt: at.now + gate.timeoutSeconds * 1000,
    approvers: [...gate.approvers],
    escalateTo: [...gate.escalateTo],
    escalated: false,
    onTimeout: gate.onTimeout,
  };
}

/** What an `ask` edge asks: counts in the limit's unit (micro-USD for cost, seconds for time). */
export interface ExtensionAsk {
  limit: LimitName;
  /** Used and the limit when it was asked. */
  used: number;
  limitValue: number;
  /** Offered. */
  by: number;
  /** The most that may be granted now: the workflow's maximum less what was granted before. */
  max: number;
  /** The named stop a rejection ends in, and its detail. */
  stopReason: string;
  stopDetail: string;
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
      /** For an approved extension: by how much. */
      extendBy?: number;
    },
  ): Promise<boolean>;
  /**
   * A gate waits on a shared (`extension`) approval: add its token under
   * `waiter` (its step), and make it the record's `taskToken` when none is
   * set. Returns how many gates wait on it now.
   */
  addWaiter(approvalId: string, waiter: string, taskToken: string): Promise<number>;
  listByStatus(status: ApprovalStatus, limit: number): Promise<ApprovalRecord[]>;
  /** A pending gate was bypassed: mark it so no later decision counts. False when not pending. */
  markBypassed(approvalId: string, violation: string, at: string): Promise<boolean>;
  /** The decision was delivered to the waiting task. */
  markDelivered(approvalId: string): Promise<void>;
}
