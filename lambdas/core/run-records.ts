import type { AgentAction } from '../../state-machines/contract.js';
import type { Json, Message } from './model.js';

/** A run's status as users see it. */
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'STOPPED' | 'FAILED' | 'REJECTED';

/** `RUN#id / META`: what the run is. */
export interface RunMeta {
  runId: string;
  workflow: string;
  input: Json;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  /** Epoch ms after which the run stops with TimeLimitExceeded. */
  deadline: number;
  /** Who the run is for; per-tenant daily caps count against it. */
  tenant?: string;
  executionArn?: string;
  stopReason?: string;
  stopDetail?: string;
  error?: string;
  answer?: string;
}

/**
 * `RUN#id / LEDGER`: the run's budget. `remaining` counters only ever move by
 * conditional updates, so concurrent branches share it without overshooting.
 * Money is in integer micro-dollars.
 */
export interface Ledger {
  tokenLimit: number;
  tokensRemaining: number;
  tokensUsed: number;
  costLimitMicros: number;
  costRemainingMicros: number;
  costUsedMicros: number;
  stepLimit: number;
  stepsRemaining: number;
  stepsUsed: number;
  toolFailureLimit: number;
  toolFailures: number;
}

/** What one reservation holds until it is settled. */
export interface Reservation {
  tokens: number;
  costMicros: number;
  steps: number;
}

/** The outcome of a reservation attempt: granted, or refused naming the limit. */
export type ReserveOutcome =
  | { ok: true; ledger: Ledger }
  | { ok: false; limit: 'tokens' | 'cost' | 'steps'; ledger: Ledger };

/** A tool call the agent step accepted, waiting for the tool step (`CALL#step#toolUseId`). */
export interface PendingCall {
  toolUseId: string;
  tool: string;
  args: Json;
  turn: number;
  /** Set once an approver decided. */
  approvedBy?: string;
}

/** A tool result ready for the next model call (`RES#step#toolUseId`). */
export interface ToolResultRecord {
  toolUseId: string;
  content: string;
  isError: boolean;
}

/** One conversation message (`MSG#step#iteration#1u|2a`). */
export interface StoredMessage {
  iteration: number;
  message: Message;
  /** Usage of the call that produced an assistant message, for tight estimates. */
  inputTokens?: number;
  outputTokens?: number;
}

/** Trail events: every model call and tool call of a run, enough to audit and replay it. */
export type TrailEvent =
  | { type: 'run_started'; workflow: string; input: Json; limits: Json }
  | {
      type: 'model_call';
      step: string;
      iteration: number;
      model: string;
      status: 'ok' | 'error';
      toolsOffered: string[];
      toolsChosen: string[];
      stopReason?: string;
      text?: string;
      inputTokens: number;
      outputTokens: number;
      cacheReadTokens: number;
      cacheWriteTokens: number;
      costUsd: number;
      reservedTokens: number;
      durationMs: number;
      error?: string;
      /** The model's content blocks, for replay. */
      response?: Json;
    }
  | {
      type: 'tool_call';
      step: string;
      toolUseId: string;
      tool: string;
      args: Json;
      status: 'ok' | 'error' | 'fallback' | 'circuit_open';
      attempts: Array<{
        attempt: number;
        status: 'ok' | 'error' | 'timeout';
        error?: string;
        durationMs: number;
        delayMsBefore: number;
      }>;
      fallbackTool?: string;
      result: string;
      resultBytes: number;
      originalBytes: number;
      trimmed: boolean;
      durationMs: number;
    }
  | {
      type: 'tool_rejected';
      step: string;
      toolUseId: string;
      tool: string;
      args: Json;
      rule: 'unknown_tool' | 'invalid_arguments' | 'policy' | 'loop' | 'approval_rejected';
      message: string;
    }
  | {
      type: 'budget_refused';
      step: string;
      limit: 'tokens' | 'cost' | 'steps';
      requested: Json;
      ledger: Json;
    }
  | { type: 'approval_requested'; step: string; approvalId: string; approvers: string[]; tools: string[] }
  | {
      type: 'approval_decided';
      step: string;
      approvalId: string;
      decision: string;
      decidedBy: string;
      comment?: string;
    }
  | { type: 'guardrail'; rule: string; message: string; step?: string }
  | { type: 'step_output'; step: string; output: Json }
  | { type: 'run_finished'; outcome: 'succeeded' | 'stopped' | 'failed'; reason?: string; detail?: string };

/** A trail event as stored: with its sort position and time. */
export type StoredTrailEvent = TrailEvent & { seq: string; at: string };

/**
 * The Runs table as core sees it. The DynamoDB adapter implements it; core
 * never imports an AWS SDK.
 */
export interface RunStore {
  /** Create META + LEDGER atomically; false when the run id exists already. */
  createRun(meta: RunMeta, ledger: Ledger): Promise<boolean>;
  getRun(runId: string): Promise<RunMeta | undefined>;
  updateRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<void>;
  /** Close a run once: only a RUNNING run changes. Returns whether it changed. */
  closeRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<boolean>;

  getLedger(runId: string): Promise<Ledger | undefined>;
  /** Reserve under `remaining >= amount` for every counter at once. */
  reserve(runId: string, amount: Reservation): Promise<ReserveOutcome>;
  /** Return the unused part of a reservation and add what was used. */
  settle(runId: string, reserved: Reservation, used: { tokens: number; costMicros: number }): Promise<Ledger>;
  /**
   * Reserve against a shared daily cap (`key` names workflow or tenant and
   * day); the cap's counters are created at `limits` on first use.
   */
  reserveCap(
    key: string,
    limits: { tokens: number; costMicros: number },
    amount: Reservation,
  ): Promise<ReserveOutcome>;
  settleCap(key: string, reserved: Reservation, used: { tokens: number; costMicros: number }): Promise<void>;
  /** Count one failed tool call against the run's breaker; returns the new count. */
  addToolFailure(runId: string): Promise<number>;

  appendEvent(runId: string, event: TrailEvent): Promise<void>;
  listEvents(runId: string): Promise<StoredTrailEvent[]>;

  listMessages(runId: string, step: string): Promise<StoredMessage[]>;
  putMessage(runId: string, step: string, record: StoredMessage, role: 'user' | 'assistant'): Promise<void>;

  getAction(runId: string, step: string, iteration: number): Promise<AgentAction | undefined>;
  putAction(runId: string, step: string, iteration: number, action: AgentAction): Promise<void>;

  putPendingCall(runId: string, step: string, call: PendingCall): Promise<void>;
  getPendingCall(runId: string, step: string, toolUseId: string): Promise<PendingCall | undefined>;
  /** Write a tool result once; false when one exists already. */
  putToolResult(runId: string, step: string, result: ToolResultRecord): Promise<boolean>;
  getToolResults(
    runId: string,
    step: string,
    toolUseIds: readonly string[],
  ): Promise<Map<string, ToolResultRecord>>;

  putStepOutput(runId: string, step: string, output: Json): Promise<void>;
  getStepOutputs(runId: string, steps: readonly string[]): Promise<Record<string, Json>>;
}
