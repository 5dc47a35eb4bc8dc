import type { FromSchema } from 'json-schema-to-ts';

/**
 * The payloads between the compiled state machines and the Lambda tasks. They
 * stay small: ids, counters and names, plus an accepted call's arguments on
 * its way to the tool step and a tool result of at most
 * {@link INLINE_RESULT_MAX_BYTES} on its way back to the agent step (so the
 * next iteration needs no read to learn it), and of at most its share of
 * {@link INLINE_TURN_MAX_BYTES} when the model asked for several tools at once
 * (the Map gathers every result into one payload). DynamoDB holds the
 * conversation, the arguments and every result as the source of truth; a
 * larger result travels only there, so the 256 KiB state payload limit never
 * comes near.
 * The schemas are the source of truth; handlers parse events with them.
 */

/** The largest tool result (JSON-encoded UTF-8 bytes) that rides in the state payload besides the Runs table. */
export const INLINE_RESULT_MAX_BYTES = 16_384;
/** What all the results of one turn together may carry inline: half the 256 KiB payload limit. */
export const INLINE_TURN_MAX_BYTES = 131_072;

/** The inline allowance of each of a turn's `calls` results: {@link INLINE_RESULT_MAX_BYTES}, or its share of the turn's. */
export const inlineShare = (calls: number): number =>
  Math.min(INLINE_RESULT_MAX_BYTES, Math.floor(INLINE_TURN_MAX_BYTES / Math.max(1, calls)));

export const toolCallRefSchema = {
  type: 'object',
  properties: {
    toolUseId: { type: 'string', minLength: 1 },
    tool: { type: 'string', minLength: 1 },
    turn: { type: 'integer', minimum: 0 },
    /** Task backstop: the tool's worst case (all attempts and backoffs) plus a margin. */
    timeoutSeconds: { type: 'integer', minimum: 1 },
    /**
     * The accepted arguments, as the agent step checked them (absent on refs
     * from before they travelled). A gated call's are always read from its
     * record instead: those are what its approver saw.
     */
    args: {},
    /** How large a result may be and still ride back inline ({@link inlineShare}); absent: {@link INLINE_RESULT_MAX_BYTES}. */
    inlineMaxBytes: { type: 'integer', minimum: 0 },
  },
  required: ['toolUseId', 'tool', 'turn', 'timeoutSeconds'],
  additionalProperties: false,
} as const;
export type ToolCallRef = FromSchema<typeof toolCallRefSchema>;

export const agentStepEventSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string', minLength: 1 },
    step: { type: 'string', minLength: 1 },
    /** The state machine's own count of agent iterations in this run, this one included. */
    iteration: { type: 'integer', minimum: 1 },
    /** What the tool steps of the previous turn returned (absent when no tools ran just before). */
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: { kind: { enum: ['done', 'stop', 'approval'] } },
        required: ['kind'],
      },
    },
  },
  required: ['runId', 'step', 'iteration'],
  additionalProperties: false,
} as const;
export type AgentStepEvent = Omit<FromSchema<typeof agentStepEventSchema>, 'results'> & {
  results?: ToolStepResult[];
};

export const toolStepEventSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string', minLength: 1 },
    step: { type: 'string', minLength: 1 },
    call: toolCallRefSchema,
    /** The Task's retry count (`$states.context.State.RetryCount`): above 0, an earlier attempt may have completed the call. */
    retry: { type: 'integer', minimum: 0 },
  },
  required: ['runId', 'step', 'call'],
  additionalProperties: false,
} as const;
export type ToolStepEvent = FromSchema<typeof toolStepEventSchema>;

export const codeStepEventSchema = {
  type: 'object',
  properties: { runId: { type: 'string', minLength: 1 }, step: { type: 'string', minLength: 1 } },
  required: ['runId', 'step'],
  additionalProperties: false,
} as const;
export type CodeStepEvent = FromSchema<typeof codeStepEventSchema>;

export const finishEventSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string', minLength: 1 },
    outcome: { enum: ['succeeded', 'stopped', 'failed'] },
    reason: { type: 'string' },
    detail: { type: 'string' },
    error: { type: 'string' },
    cause: { type: 'string' },
  },
  required: ['runId', 'outcome'],
  additionalProperties: false,
} as const;
export type FinishEvent = FromSchema<typeof finishEventSchema>;

export const approvalRequestEventSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string', minLength: 1 },
    step: { type: 'string', minLength: 1 },
    /** Set for a gate on tool calls: the approval record the agent step prepared. */
    approvalId: { type: 'string' },
    /**
     * `request`: store the token, email the approvers; `remind`: the gate is
     * about to time out: store the new token, email the approvers a reminder; `escalate`: the same for
     * the escalation approvers after a timeout; `expire`: the gate timed out —
     * record it and say what happens next (no token: nothing waits on it).
     */
    phase: { enum: ['request', 'remind', 'escalate', 'expire'] },
    taskToken: { type: 'string', minLength: 1 },
  },
  required: ['runId', 'step', 'phase'],
  additionalProperties: false,
} as const;
export type ApprovalRequestEvent = FromSchema<typeof approvalRequestEventSchema>;

/**
 * What the agent step tells the state machine to do next. `passThrough`
 * marks a stop or an approval a tool step asked for, handed on without a
 * model call: the state machine does not count it as an agent step.
 */
export type AgentAction = (
  | { kind: 'final' }
  | { kind: 'tools'; calls: ToolCallRef[] }
  | {
      kind: 'approval';
      approvalId: string;
      /** How long the gate waits (before its reminder, when it has one). */
      timeoutSeconds: number;
      /** How long it waits after the reminder; 0 or absent: no reminder. */
      remindSeconds?: number;
      calls: ToolCallRef[];
      /** An `ask` edge: approved, the same iteration runs again on the extended ledger. */
      extension?: boolean;
    }
  | { kind: 'stop'; reason: string; detail: string }
) & { passThrough?: true };

/**
 * What the tool step returns. `content` is the result as the model will read
 * it, when it is small enough to travel (the Runs table holds it either way).
 */
export type ToolStepResult =
  | {
      kind: 'done';
      status: 'ok' | 'error' | 'fallback' | 'blocked';
      toolUseId?: string;
      content?: string;
      isError?: boolean;
    }
  | { kind: 'stop'; reason: string; detail: string }
  /** The call's outcome is unknown: a human is asked through this approval before it runs again. */
  | { kind: 'approval'; approvalId: string; timeoutSeconds: number; call?: ToolCallRef };

/** What a code or route step returns. */
export type CodeStepResult = { kind: 'done'; branch?: string };

/** What `SendTaskSuccess` carries out of an approval gate. */
export type ApprovalDecision = {
  /**
   * `escalate` only comes from an `expire` phase whose gate escalates and has
   * not yet; `extended` from an approved extension (an `ask` edge).
   */
  decision: 'approved' | 'rejected' | 'escalate' | 'extended';
  /** A rejected or expired extension: the named stop of its limit, with the figures. */
  reason?: string;
  detail?: string;
  /** After a rejection: end the run (`ApprovalRejected`) instead of telling the model. */
  stop?: boolean;
  approvalId: string;
  decidedBy?: string;
  /** Calls to run after an approval; empty after a rejection. */
  calls: ToolCallRef[];
};

/**
 * One attempt of a tool call, as the tool step sends it to the tool's own
 * function (which holds only the permissions the tool needs, and none of
 * Chaperone's tables).
 */
export const toolAttemptEventSchema = {
  type: 'object',
  properties: {
    tool: { type: 'string', minLength: 1 },
    args: {},
    runId: { type: 'string', minLength: 1 },
    idempotencyKey: { type: 'string', minLength: 1 },
    attempt: { type: 'integer', minimum: 1 },
    previousError: { type: 'string' },
    /** The attempt's hard timeout, enforced inside the function too. */
    timeoutMs: { type: 'integer', minimum: 1 },
  },
  required: ['tool', 'args', 'runId', 'idempotencyKey', 'attempt', 'timeoutMs'],
  additionalProperties: false,
} as const;
export type ToolAttemptEvent = FromSchema<typeof toolAttemptEventSchema>;

/**
 * What a tool function answers: the tool's value, or its failure as data —
 * name, message and what says whether a retry can help — so it crosses the
 * function boundary intact.
 */
export type ToolAttemptResult =
  | { ok: true; value: unknown }
  | {
      ok: false;
      error: {
        name: string;
        message: string;
        retryable?: boolean;
        status?: number;
        retryAfterSeconds?: number;
        timedOut?: boolean;
      };
    };
