import type { LimitName } from '../../state-machines/edges.js';
import type { Json, Message } from './model.js';
import type { InvocationUsage } from './usage.js';

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
 * What a run's META holds that never changes once the run started. Its
 * status, stop, answer and update time are not here: read them with
 * `RunStore.getRun`.
 */
export type RunFacts = Omit<
  RunMeta,
  'status' | 'updatedAt' | 'stopReason' | 'stopDetail' | 'error' | 'answer'
>;

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
  /**
   * Held back from the limits for a `final-answer` edge's last call (0 once
   * taken, and with no such edge). `tokenLimit - tokensRemaining - tokensUsed
   * - marginTokens` is 0 for every ended run.
   */
  marginTokens?: number;
  marginCostMicros?: number;
  marginSteps?: number;
  /** What approved extensions added to each limit (cost in micro-USD, time in seconds). */
  extended?: LedgerExtensions;
  /**
   * The execution's history events so far, estimated high: every agent
   * iteration of the run adds its own at its reservation, whichever step or
   * parallel branch it is in (`history-limit.ts`).
   */
  historyEvents?: number;
}

/** The totals approved extensions added, by limit. */
export interface LedgerExtensions {
  steps: number;
  tokens: number;
  costMicros: number;
  seconds: number;
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

/**
 * A model turn's reservation, which is also the turn's claim: `reserved` (new),
 * `reused` (an earlier attempt of this turn reserved and did not record it),
 * `refused` (naming the limit) or `settled` (the turn is recorded already:
 * its claim holds the action).
 */
export type TurnReservation =
  | { kind: 'reserved' | 'reused'; held: OpenReservation; ledger: Ledger }
  | { kind: 'refused'; limit: 'tokens' | 'cost' | 'steps'; ledger: Ledger }
  | { kind: 'settled' };

/** One model turn as it is recorded: the messages, its event and its settlement. */
export interface TurnRecord {
  step: string;
  iteration: number;
  user: StoredMessage;
  assistant: StoredMessage;
  event: KeyedEvent;
  /** What the turn's reservation holds (as `reserveTurn` answered). */
  held: Reservation;
  used: { tokens: number; costMicros: number };
}

/** A tool call the agent step accepted, waiting for the tool step (`CALL#step#toolUseId`). */
export interface PendingCall {
  toolUseId: string;
  tool: string;
  args: Json;
  turn: number;
  /** The approval that gates this call, when its tool needs one. */
  approvalId?: string;
}

/**
 * A claim (`CLAIM#<key>`): the record a step that acts on the world writes
 * before it acts and completes after. `acting` means an attempt began and may
 * have had its effect; `done` holds the result every retry returns.
 */
export interface Claim {
  key: string;
  state: 'acting' | 'done';
  /** Attempts that began (1 for the first). */
  attempts: number;
  result?: Json;
  /** Set while a human is asked whether an attempt with an unknown outcome happened. */
  approvalId?: string;
  /** How many times a human was asked about this claim. */
  askedRounds?: number;
}

/** A tool result ready for the next model call (`RES#step#toolUseId`). */
export interface ToolResultRecord {
  toolUseId: string;
  content: string;
  isError: boolean;
}

/** A reservation held open on the ledger under a claim's key, with the daily caps it also holds. */
export interface OpenReservation extends Reservation {
  caps: string[];
  /** How many times a lost attempt's use of this hold was charged (`chargeLostTurn`): names the next charge's event. */
  charged?: number;
  /** Taken from the `final-answer` margin at this limit: the turn under this key is the last call. */
  margin?: LimitName;
}

/** One conversation message (`MSG#step#iteration#1u|2a`). */
export interface StoredMessage {
  iteration: number;
  message: Message;
  /** Usage of the call that produced an assistant message, for tight estimates. */
  inputTokens?: number;
  outputTokens?: number;
  /** On an assistant message: the daily caps its call was reserved against (settled with it). */
  caps?: string[];
  /** On an assistant message: what its call used, as settled. */
  used?: { tokens: number; costMicros: number };
  /**
   * On an assistant message: the call was a `final-answer` edge's last call
   * (no tools; its tool uses, if any, are never run) at this limit.
   */
  finalAnswer?: { limit: LimitName; note: string };
}

/** One trail event to write with its deterministic id (see `claims.ts`). */
export interface KeyedEvent {
  id: string;
  event: TrailEvent;
}

/**
 * Everything one claim completes with, written together (one transaction when
 * it fits): the claim's result, the trail events, the results and accepted
 * calls, step output, the ledger settlement. Every part has a deterministic
 * key, so writing it again writes nothing new.
 */
export interface Completion {
  result: Json;
  events?: KeyedEvent[];
  results?: Array<ToolResultRecord & { step: string }>;
  calls?: Array<PendingCall & { step: string }>;
  output?: { step: string; value: Json };
  /** Count a failed tool call against the run's breaker (idempotent per call). */
  failedCall?: string;
  /**
   * Settle the reservation held under `key` in the same write (its daily caps
   * just before), so the ledger never counts a call whose events are not
   * written. Not with `failedCall` (both change the run's ledger).
   */
  settle?: { key: string; used: { tokens: number; costMicros: number } };
}

/**
 * Trail events: every model call and tool call of a run, enough to audit and
 * replay it. Any event may carry the usage of the invocation that wrote it
 * (`usage.ts`): the run's cost is summed over the trail.
 */
export type TrailEvent = TrailEventBody & { usage?: InvocationUsage };

/** The trail events by type. */
export type TrailEventBody =
  | { type: 'run_started'; workflow: string; input: Json; limits: Json }
  | {
      type: 'model_call';
      step: string;
      iteration: number;
      model: string;
      status: 'ok' | 'error';
      toolsOffered: string[];
      toolsChosen: string[];
      /** The last call of a `final-answer` edge: no tools. */
      edge?: 'final-answer';
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
      /**
       * An earlier attempt of this turn (or of its summary or classifier call)
       * reserved and ended without recording its call (killed, timed out, or its record's write failed after the model
       * answered): the provider may have billed it, so its reservation is
       * charged in full (`costUsd`, at most what it could have cost) and the
       * retry reserves afresh.
       */
      type: 'model_call_lost';
      step: string;
      iteration: number;
      model: string;
      chargedTokens: number;
      costUsd: number;
      /** Which call was lost: absent for the turn's own, `summary` for the running summary's (before `iteration`), `classifier` for the input classifier's. */
      call?: 'summary' | 'classifier';
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
      /** The whole result of a trimmed call, kept in the payload bucket (`offload.ts`). */
      fullResult?: { key: string; bytes: number; sha256: string };
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
      limit: 'tokens' | 'cost' | 'steps' | 'time';
      requested: Json;
      ledger: Json;
    }
  | { type: 'approval_requested'; step: string; approvalId: string; approvers: string[]; tools: string[] }
  /** The approvers were emailed their signed links (the first request; reminders and escalations have their own). */
  | { type: 'approval_sent'; step: string; approvalId: string; approvers: string[] }
  | {
      type: 'approval_decided';
      step: string;
      approvalId: string;
      decision: string;
      decidedBy: string;
      comment?: string;
    }
  | { type: 'guardrail'; rule: string; message: string; step?: string }
  | {
      /**
       * One classification before a model call (`classifier-tier.ts`), settled on
       * the run's ledger: the run's cost counts it, under the model for a model
       * judge and under guardrails for Bedrock Guardrails.
       */
      type: 'classifier_call';
      step: string;
      tier: 'model-judge' | 'bedrock-guardrails';
      /** Texts judged (the prompt, or each new tool result). */
      texts: number;
      status: 'ok' | 'error';
      tokens: number;
      costUsd: number;
      /** A model judge's usage, when it answered. */
      inputTokens?: number;
      outputTokens?: number;
      cacheReadTokens?: number;
      cacheWriteTokens?: number;
      /** Bedrock Guardrails' billed text units. */
      textUnits?: number;
    }
  | { type: 'step_output'; step: string; output: Json }
  | {
      /** What memory retrieved for a step: every candidate, kept or dropped by the threshold, with its score. */
      type: 'memory_retrieval';
      memory: 'semantic' | 'episodic';
      step: string;
      /** The knowledge source, or `workflow/tenant` for episodes. */
      source: string;
      topK: number;
      minScore: number;
      retrieved: number;
      kept: Json;
      dropped: Json;
    }
  | {
      /** The running summary of a step's older turns, made by a model call paid from the ledger. */
      type: 'conversation_summary';
      step: string;
      /** The turns summarised: every message before this iteration's assistant turn. */
      beforeIteration: number;
      text: string;
      inputTokens: number;
      outputTokens: number;
      costUsd: number;
      reservedTokens: number;
      /** Tool outputs dropped from the window before folding, oldest first. */
      droppedToolOutputs: Json;
    }
  | {
      /** What the window left out of one model call: tool outputs dropped, turns folded into the summary. */
      type: 'conversation_window';
      step: string;
      iteration: number;
      thresholdTokens: number;
      estimatedTokens: number;
      droppedToolOutputs: Json;
      summaryBeforeIteration?: number;
    }
  | { type: 'memory_recorded'; memory: 'episodic'; example: boolean; decisions: number; error?: string }
  /** `POST /runs/{id}/redrive` resumed the execution after a platform failure. */
  | { type: 'run_redriven'; failure: string; redriveDate: string }
  /** An approved `ask` edge extended a limit of the ledger. */
  | {
      type: 'budget_extended';
      step: string;
      approvalId: string;
      limit: 'steps' | 'tokens' | 'cost' | 'time';
      by: number;
      approvedBy: string;
      /** The limit after the extension (USD for cost, seconds for time). */
      newLimit: number;
    }
  /** A gate's approvers were reminded before it times out. */
  | { type: 'approval_reminded'; step: string; approvalId: string; approvers: string[] }
  /** A gate that timed out went to its second approver list. */
  | { type: 'approval_escalated'; step: string; approvalId: string; approvers: string[] }
  | {
      type: 'run_finished';
      outcome: 'succeeded' | 'stopped' | 'failed';
      reason?: string;
      detail?: string;
      /**
       * The execution's figures at its end, from its history: state transitions
       * (as billed, the states after the finish task included) and history events.
       */
      execution?: { transitions: number; historyEvents: number };
    };

/** A trail event as stored: with its sort position and time. */
export type StoredTrailEvent = TrailEvent & {
  /** Deterministic: (step, iteration, kind, call), so an event is written at most once. */
  id: string;
  /** Sort position: the time of the first write (a ULID). */
  seq: string;
  at: string;
};

/**
 * The Runs table as core sees it. The DynamoDB adapter implements it; core
 * never imports an AWS SDK.
 */
export interface RunStore {
  /**
   * Create META, LEDGER and, when given, the trail's first event, all at once
   * (one transaction: a crash leaves all or nothing); false when the run id
   * exists already.
   */
  createRun(meta: RunMeta, ledger: Ledger, first?: KeyedEvent): Promise<boolean>;
  getRun(runId: string): Promise<RunMeta | undefined>;
  updateRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<void>;
  /** Close a run once: only a RUNNING run changes. Returns whether it changed. */
  closeRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<boolean>;

  getLedger(runId: string): Promise<Ledger | undefined>;
  /**
   * Reserve under `remaining >= amount` for every counter at once, held under
   * `key` (a claim's): reserving again under the same key reserves nothing
   * more and answers `reused` with the amount held.
   */
  reserve(
    runId: string,
    key: string,
    amount: Reservation,
  ): Promise<ReserveOutcome & { reused?: Reservation }>;
  /**
   * Settle the reservation held under `key` once: return the unused part, add
   * what was used, release the daily caps it holds. Undefined when it was
   * settled already. `giveBackSteps`: the steps it holds are returned too (a
   * turn that never happened, such as a model call that failed before it
   * could be billed: its retry reserves the step again).
   */
  settle(
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
    options?: { giveBackSteps?: boolean },
  ): Promise<Ledger | undefined>;
  /**
   * {@link settle}, with the trail event that records the call (written once
   * under its id) in the same transaction, so the ledger never counts a call
   * the trail lacks. True when this call settled it and wrote `event`; false
   * when it was settled already (by another attempt, whose event stands).
   */
  settleRecorded(
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
    event: KeyedEvent,
  ): Promise<boolean>;
  /**
   * Take the `final-answer` margin for the last call, held under `key` like
   * any reservation (settling it gives back the unused part). Once per run:
   * `undefined` when the margin was taken already (or there is none); the
   * reservation when it is held under `key` (again, on a retry).
   */
  reserveMargin(runId: string, key: string, limit: LimitName): Promise<OpenReservation | undefined>;
  /**
   * Apply an approved extension once (`approvalId`): raise the limit and its
   * remaining counter, count it in `extended` (for time, `extended.seconds` is
   * what the agent step adds to the run's deadline),
   * and write its trail event, in one transaction. False when it was applied already.
   */
  extendLedger(
    runId: string,
    extension: { approvalId: string; limit: LimitName; amount: number },
    event: KeyedEvent,
  ): Promise<boolean>;
  /** The reservations still held on the run's ledger, by key. */
  openReservations(runId: string): Promise<Record<string, OpenReservation>>;
  /** The ledger and the reservations it still holds, from one read. */
  getLedgerState(
    runId: string,
  ): Promise<{ ledger: Ledger; open: Record<string, OpenReservation> } | undefined>;
  /**
   * Reserve against a shared daily cap (`cap` names workflow or tenant and
   * day) under `holder` (run and claim); created at `limits` on first use.
   * Recorded on the run's reservation `key`, so settling it settles the cap.
   */
  reserveCap(
    cap: string,
    limits: { tokens: number; costMicros: number },
    runId: string,
    key: string,
    amount: Reservation,
  ): Promise<ReserveOutcome>;

  /** Settle a daily cap's reservation held for (run, key), once; false when settled already. */
  settleCap(
    cap: string,
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
  ): Promise<boolean>;

  /**
   * Reserve a model turn: held under the turn's claim `key`, refused once the
   * turn `iteration` of `step` is recorded (`settled`). One request: the
   * reservation is the turn's claim. It adds `historyEvents` (what the
   * iteration costs the execution's history) to the ledger's count once, with
   * the reservation: a retry that reuses it adds nothing.
   */
  reserveTurn(
    runId: string,
    step: string,
    iteration: number,
    key: string,
    amount: Reservation,
    historyEvents?: number,
  ): Promise<TurnReservation>;
  /**
   * Charge the reservation an earlier attempt of a turn held and did not
   * record (`reserveTurn` answered `reused`) in full, and hold as much again
   * for this attempt, with `event` (a `model_call_lost`) in the same write,
   * on the run's ledger and on every daily cap the attempt held. `refused`
   * when the budget left (or a daily cap, named in `cap`) cannot hold it
   * again: the lost attempt is still charged and nothing stays held. `gone` when the reservation is no
   * longer held (another attempt recorded or released it meanwhile). The event's id names
   * the charge (`eventIds.modelLost` with `held.charged`, which the charge counts up): two
   * attempts that find the same lost hold at once write one event and charge it once.
   */
  chargeLostTurn(
    runId: string,
    key: string,
    held: OpenReservation,
    event: KeyedEvent,
  ): Promise<
    | { kind: 'reserved'; ledger: Ledger }
    | { kind: 'refused'; limit: 'tokens' | 'cost'; ledger: Ledger; cap?: string }
    | { kind: 'gone' }
  >;
  /**
   * Record a model turn and complete its claim in one write: the messages, the
   * turn's event, the settlement (and the turn mark that makes `reserveTurn`
   * answer `settled`), and everything in `completion`. False when the turn
   * was recorded already: the stored claim counts.
   */
  commitTurn(runId: string, key: string, turn: TurnRecord, completion: Completion): Promise<boolean>;
  /** The messages of `step` after iteration `after` (all when 0), in order. */
  listMessagesAfter(runId: string, step: string, after: number): Promise<StoredMessage[]>;

  /** A claim, if any attempt began. */
  getClaim(runId: string, key: string): Promise<Claim | undefined>;
  /**
   * Begin the first attempt (one request): `began`, or the claim an earlier
   * attempt left (`existing`, acting or done).
   */
  claimFirst(runId: string, key: string): Promise<{ began: Claim } | { existing: Claim }>;
  /**
   * Begin an attempt: create the claim in `acting`, or move it from the
   * attempt count `seen` to the next. Undefined when another attempt got there
   * first or it is done (read it again).
   */
  beginClaim(runId: string, key: string, seen: Claim | undefined): Promise<Claim | undefined>;
  /** Note on an acting claim that a human is asked about it (approval id). */
  askAboutClaim(runId: string, key: string, approvalId: string, round: number): Promise<void>;
  /**
   * Complete a claim with everything it produced, once. False when it was
   * completed already (the stored result is the one that counts).
   */
  completeClaim(runId: string, key: string, completion: Completion): Promise<boolean>;

  /** Write a trail event once under its deterministic id; false when it exists. */
  appendEvent(runId: string, id: string, event: TrailEvent): Promise<boolean>;
  listEvents(runId: string): Promise<StoredTrailEvent[]>;

  listMessages(runId: string, step: string): Promise<StoredMessage[]>;

  getPendingCall(runId: string, step: string, toolUseId: string): Promise<PendingCall | undefined>;
  /** Write a tool result once; false when one exists already. */
  putToolResult(runId: string, step: string, result: ToolResultRecord): Promise<boolean>;
  getToolResults(
    runId: string,
    step: string,
    toolUseIds: readonly string[],
  ): Promise<Map<string, ToolResultRecord>>;

  getStepOutputs(runId: string, steps: readonly string[]): Promise<Record<string, Json>>;
}
