/**
 * The figures of a chaos run, from the truth read at the end: the runs API
 * and trails, the executions, the invoice backend's payments, the ledgers
 * and the scripted model's request log. Pure: everything arrives as data.
 */
import type { LoggedRequest } from '../scripted-model/index.js';

/** A trail event as GET /runs/{id} returns it (only the fields the figures need). */
export interface TrailEvent {
  type: string;
  at?: string;
  step?: string;
  iteration?: number;
  toolUseId?: string;
  tool?: string;
  status?: string;
  approvalId?: string;
}

/** What the harness knows about one run. */
export interface RunTruth {
  runId: string;
  invoiceId: string;
  /** Some POST got a 2xx. */
  accepted: boolean;
  /** A POST was cut off (or 5xx) and sent again. */
  retried: boolean;
  /** GET /runs/{id}: undefined when 404 or never readable. */
  status: string | undefined;
  /** Why it ended, when it did not succeed (GET /runs/{id}: stop reason and detail, or error). */
  endDetail?: string;
  trail: TrailEvent[];
  /** The execution named by the run id, if any. */
  executionStatus: string | undefined;
  ledger: { tokenLimit: number; tokensRemaining: number; tokensUsed: number } | undefined;
  /** Approval ids from the emails sent for this run. */
  emailedApprovals: string[];
  /** Approval ids a POST decided (answered 200). */
  decidedApprovals: string[];
}

export interface PaymentTruth {
  invoiceId: string;
  paymentId: string;
  idempotencyKey: string;
}

/** The figures `npm run chaos` prints. Every one but the first two should be 0. */
export interface ChaosFigures {
  runsPosted: number;
  kills: number;
  runsLost: number;
  runsStuck: number;
  /**
   * Runs that ended, but not SUCCEEDED. Every chaos run is one open invoice whose payment is
   * approved through its link, well within every limit: only a crash (or a broken build) can
   * end one otherwise, and such a run lost its work however clean its trail is.
   */
  runsFailed: number;
  sideEffectsDoubled: number;
  modelCallsRepeated: number;
  conversationsChanged: number;
  trailEventsMissing: number;
  trailEventsDuplicated: number;
  tokensUnsettled: number;
}

const TERMINAL_RUN = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);
const TERMINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** Everything the figures are computed from. */
export interface Truth {
  runs: RunTruth[];
  payments: PaymentTruth[];
  requests: LoggedRequest[];
  /** Epoch ms of every server kill. */
  killTimes: number[];
  kills: number;
}

/** Details behind the figures, for `--json` extras and for a person reading the table. */
export interface FigureDetails {
  lost: string[];
  stuck: string[];
  failed: string[];
  doubled: string[];
  repeated: string[];
  changed: string[];
  missing: string[];
  duplicated: string[];
  unsettled: string[];
}

export function computeFigures(truth: Truth): { figures: ChaosFigures; details: FigureDetails } {
  const d: FigureDetails = {
    lost: [],
    stuck: [],
    failed: [],
    doubled: [],
    repeated: [],
    changed: [],
    missing: [],
    duplicated: [],
    unsettled: [],
  };
  const byInvoice = new Map<string, PaymentTruth[]>();
  for (const p of truth.payments) byInvoice.set(p.invoiceId, [...(byInvoice.get(p.invoiceId) ?? []), p]);
  const byConversation = new Map<string, LoggedRequest[]>();
  for (const r of truth.requests)
    byConversation.set(r.conversation, [...(byConversation.get(r.conversation) ?? []), r]);

  let doubled = 0;
  let repeated = 0;
  let missing = 0;
  let duplicated = 0;
  let unsettled = 0;
  for (const run of truth.runs) {
    const id = run.runId;
    if ((run.accepted || run.retried) && (run.status === undefined || run.executionStatus === undefined)) {
      d.lost.push(
        `${id}: ${run.status === undefined ? 'no run record' : `run ${run.status} but no execution`}`,
      );
      continue;
    }
    if (run.status === undefined) continue; // never accepted and never retried: not posted
    if (
      !TERMINAL_RUN.has(run.status) ||
      (run.executionStatus && !TERMINAL_EXECUTION.has(run.executionStatus))
    )
      d.stuck.push(`${id}: run ${run.status}, execution ${run.executionStatus ?? 'none'}`);
    else if (run.status !== 'SUCCEEDED' || (run.executionStatus && run.executionStatus !== 'SUCCEEDED'))
      d.failed.push(
        `${id}: run ${run.status}, execution ${run.executionStatus ?? 'none'}${run.endDetail ? `: ${run.endDetail.slice(0, 300)}` : ''}`,
      );

    // Side effects: one payment per run (each run has its own invoice), each with its trail tool_call.
    const payments = byInvoice.get(run.invoiceId) ?? [];
    const okCalls = run.trail.filter(
      (e) => e.type === 'tool_call' && e.tool === 'schedule_payment' && e.status === 'ok',
    );
    const extra = Math.max(payments.length - 1, payments.length - okCalls.length, 0);
    if (extra > 0) {
      doubled += extra;
      d.doubled.push(
        `${id}: ${payments.length} payment(s) for ${run.invoiceId}, ${okCalls.length} ok schedule_payment tool_call(s) in the trail`,
      );
    }

    // Trail: each deterministic event once, each thing that happened has its event.
    const seen = new Map<string, number>();
    for (const e of run.trail) {
      const key = identity(e);
      if (key) seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const [key, n] of seen) {
      if (n > 1) {
        duplicated += n - 1;
        d.duplicated.push(`${id}: ${key} ×${n}`);
      }
    }
    const want: string[] = [];
    // A request's turn index counts the recorded turns before it; iterations can run without a
    // turn (one that re-drives an interrupted tool call asks no model), so turn n is the step's
    // n-th recorded model_call, not iteration n + 1.
    const turns = turnsOf(run);
    for (const [conversation, reqs] of byConversation) {
      if (!conversation.startsWith(`${id}:`)) continue;
      const step = conversation.slice(id.length + 1);
      const recorded = turns.get(step) ?? [];
      for (const turn of new Set(reqs.map((r) => r.turnIndex))) {
        if (recorded[turn] === undefined) {
          missing += 1;
          d.missing.push(`${id}: model_call ${step} turn ${turn} (asked, never recorded)`);
        }
      }
    }
    if (payments.length > 0) want.push('tool_call schedule_payment ok');
    for (const a of run.emailedApprovals) want.push(`approval_requested ${a}`);
    for (const a of run.decidedApprovals) want.push(`approval_decided ${a}`);
    if (TERMINAL_RUN.has(run.status)) want.push('run_finished');
    want.push('run_started');
    const have = new Set(seen.keys());
    if (okCalls.length > 0) have.add('tool_call schedule_payment ok');
    for (const w of want) {
      if (!have.has(w)) {
        missing += 1;
        d.missing.push(`${id}: ${w}`);
      }
    }

    // Ledger: every reservation settled or released by the end.
    if (run.ledger && TERMINAL_RUN.has(run.status)) {
      const gap = run.ledger.tokenLimit - run.ledger.tokensRemaining - run.ledger.tokensUsed;
      if (gap !== 0) {
        unsettled += Math.abs(gap);
        d.unsettled.push(`${id}: ${gap} tokens reserved and never settled`);
      }
    }
  }

  // Model calls: a turn asked again is excused only by a kill while the earlier call was in flight
  // (after it was sent and before its model_call event was recorded).
  const modelEventAt = new Map<string, number>();
  for (const run of truth.runs)
    for (const [step, events] of turnsOf(run))
      events.forEach((e, turn) => {
        if (e.at) modelEventAt.set(`${run.runId}:${step}#${turn}`, Date.parse(e.at));
      });
  let changed = 0;
  for (const [conversation, reqs] of byConversation) {
    const ordered = [...reqs].sort((a, b) => a.at - b.at);
    const byTurn = new Map<number, LoggedRequest[]>();
    for (const r of ordered) byTurn.set(r.turnIndex, [...(byTurn.get(r.turnIndex) ?? []), r]);
    for (const [turn, same] of byTurn) {
      const recordedAt = modelEventAt.get(`${conversation}#${turn}`) ?? Number.POSITIVE_INFINITY;
      for (let i = 1; i < same.length; i++) {
        const prev = same[i - 1] as LoggedRequest;
        const next = same[i] as LoggedRequest;
        const inFlight = truth.killTimes.some((t) => t >= prev.at && t <= next.at && t <= recordedAt);
        if (!inFlight) {
          repeated += 1;
          d.repeated.push(
            `${conversation} turn ${turn}: asked again at +${next.at - prev.at} ms with no crash in flight`,
          );
        }
      }
    }
    // Conversation: every earlier call's messages, byte for byte, at the start of every later call.
    for (let i = 1; i < ordered.length; i++) {
      const earlier = ordered[i - 1] as LoggedRequest;
      const later = ordered[i] as LoggedRequest;
      const a = earlier.messages.map((m) => JSON.stringify(m));
      const b = later.messages.map((m) => JSON.stringify(m));
      const prefix = a.length <= b.length && a.every((m, k) => m === b[k]);
      if (!prefix) {
        changed += 1;
        const at = a.findIndex((m, k) => m !== b[k]);
        d.changed.push(
          `${conversation}: call at turn ${later.turnIndex} changed message ${at} of the call at turn ${earlier.turnIndex}`,
        );
        break;
      }
    }
  }

  return {
    figures: {
      runsPosted: truth.runs.filter((r) => r.accepted || r.retried).length,
      kills: truth.kills,
      runsLost: d.lost.length,
      runsStuck: d.stuck.length,
      runsFailed: d.failed.length,
      sideEffectsDoubled: doubled,
      modelCallsRepeated: repeated,
      conversationsChanged: changed,
      trailEventsMissing: missing,
      trailEventsDuplicated: duplicated,
      tokensUnsettled: unsettled,
    },
    details: d,
  };
}

/**
 * Each agent step's recorded turns in order: its `ok` model_call events by iteration. Turn n of a
 * conversation (n turns before it) is the n-th of them.
 */
function turnsOf(run: RunTruth): Map<string, TrailEvent[]> {
  const byStep = new Map<string, TrailEvent[]>();
  for (const e of run.trail) {
    if (e.type !== 'model_call' || e.status === 'error' || e.step === undefined) continue;
    byStep.set(e.step, [...(byStep.get(e.step) ?? []), e]);
  }
  for (const events of byStep.values()) events.sort((a, b) => (a.iteration ?? 0) - (b.iteration ?? 0));
  return byStep;
}

/** The identity of an event that must appear at most once. */
function identity(e: TrailEvent): string | undefined {
  switch (e.type) {
    case 'run_started':
    case 'run_finished':
      return e.type;
    case 'model_call':
      // A failed call is an event per attempt (`model_error#…`); the answered turn is one event.
      return e.status === 'error' ? undefined : `model_call ${e.step}#${e.iteration}`;
    case 'tool_call':
      return `tool_call ${e.step}/${e.toolUseId}`;
    case 'tool_rejected':
      return `tool_rejected ${e.step}/${e.toolUseId}`;
    case 'approval_requested':
    case 'approval_decided':
      return `${e.type} ${e.approvalId}`;
    default:
      return undefined;
  }
}
