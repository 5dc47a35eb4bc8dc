import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, StatesError } from './errors.js';
import type { ExecutionJournal } from './execution-store.js';
import { detailsKey, type HistoryEvent, jsonText } from './history.js';
import type { LambdaInvoker } from './lambda-invoker.js';
import { Scope } from './scope.js';
import { encodeToken } from './task-token.js';
import type { Clock, Logger, MachineDef } from './types.js';

/** A message a `.waitForTaskToken` transport (SQS, SNS, Lambda) delivers to whoever consumes it. */
export interface CallbackMessage {
  executionArn: string;
  stateName: string;
  transport: 'sqs' | 'sns' | 'lambda';
  taskToken: string;
  /** The task's parameters (SQS `MessageBody`, SNS `Message`, ... inside). */
  parameters: unknown;
}

/** What every execution needs from its host. */
export interface EngineDeps {
  invoker: LambdaInvoker;
  clock: Clock;
  region: string;
  accountId: string;
  onCallback?: (message: CallbackMessage) => void;
  /** The FULL-jitter draw of Retry delays, in [0, 1). @default Math.random */
  retryJitter?: () => number;
  logger?: Logger;
}

/** One thread of control: the top-level machine, a Parallel branch or a Map iteration. */
export interface Frame {
  /** Deterministic prefix for journal keys. */
  path: string;
  /** States entered so far in this frame (a loop revisits a state with a new index). */
  visits: number;
  lastEventId: number;
  signal: AbortSignal;
  scope: Scope;
  mapItem?: { Index: number; Value: unknown };
  /** Events of this frame stay out of the visible history (a distributed Map's child executions). */
  hidden?: boolean;
  /** What kind of child this frame is, if any. */
  branch?: 'parallel' | 'map';
}

/** The result a consumer reported for a task token. */
export type TokenOutcome =
  | { kind: 'success'; output: unknown }
  | { kind: 'failure'; error?: string; cause?: string }
  | { kind: 'timeout'; error: string; heartbeat?: boolean };

interface TokenWaiter {
  settle(): void;
  heartbeat(): void;
}

/** Terminal event types and the execution status each one means. */
export const TERMINAL: Record<string, 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED'> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** A running (or replaying) execution: journal access, events, tokens and abort. */
export class ExecutionRun {
  /** Aborts the current drive; a redrive gets a new one. */
  controller = new AbortController();
  private readonly waiters = new Map<string, TokenWaiter>();
  rootScope = new Scope();

  constructor(
    readonly journal: ExecutionJournal,
    readonly def: MachineDef,
    readonly deps: EngineDeps,
  ) {}

  get meta() {
    return this.journal.meta;
  }

  get startMs(): number {
    return Date.parse(this.meta.startDate);
  }

  /**
   * How many times the execution was redriven (`RedriveExecution`): each
   * redrive is a journal record `redrive/<n>`, so a restart knows it too.
   */
  get redriveCount(): number {
    let n = 0;
    while (this.journal.hasRecord(`redrive/${n + 1}`)) n++;
    return n;
  }

  /** When the current drive began: the start, or the last redrive. */
  get driveStartMs(): number {
    const n = this.redriveCount;
    if (n === 0) return this.startMs;
    return (this.journal.record(`redrive/${n}`) as { at: number }).at;
  }

  /** The journal key of the current drive's terminal event (one per drive). */
  private endKey(): string {
    const n = this.redriveCount;
    return n === 0 ? 'exec/end' : `exec/end/r${n}`;
  }

  /** The terminal event of the current drive, if it has finished. */
  terminalEvent(): HistoryEvent | undefined {
    return this.journal.event(this.endKey());
  }

  /** The terminal event of the drive before the current one (what a redrive resumed from). */
  previousTerminalEvent(): HistoryEvent | undefined {
    const n = this.redriveCount;
    if (n === 0) return undefined;
    return this.journal.event(n === 1 ? 'exec/end' : `exec/end/r${n - 1}`);
  }

  /**
   * Opens a new drive after a terminal event: records the redrive, writes
   * `ExecutionRedriven`, and gives the execution a fresh abort signal and
   * scope. The caller drives it again ({@link driveExecution}); the replay
   * reuses every recorded result and re-runs the states that failed (see
   * `runState`) or were aborted.
   */
  redrive(now: number): { redriveCount: number; redriveDate: Date } {
    const end = this.terminalEvent();
    if (!end) throw new Error('internal: redrive of an execution that has not ended');
    const n = this.redriveCount + 1;
    this.journal.appendRecord(`redrive/${n}`, { at: now });
    this.controller = new AbortController();
    this.rootScope = new Scope();
    this.emit({ lastEventId: end.id }, `exec/redriven/${n}`, 'ExecutionRedriven', { redriveCount: n });
    return { redriveCount: n, redriveDate: new Date(now) };
  }

  /** Appends an event (idempotent by key) and advances the frame's previous-event pointer. */
  emit(
    frame: { lastEventId: number; hidden?: boolean } | undefined,
    key: string,
    type: string,
    details?: Record<string, unknown>,
  ): HistoryEvent {
    const hidden = frame?.hidden === true;
    const existing = this.journal.event(key);
    if (!existing && this.terminalEvent()) {
      // Work still unwinding after the execution ended (stopped, timed out) leaves no events behind.
      return {
        id: 0,
        previousEventId: frame?.lastEventId ?? 0,
        timestamp: new Date(this.deps.clock.now()),
        type,
      };
    }
    const ev = this.journal.appendEvent(
      key,
      type,
      frame?.lastEventId ?? 0,
      this.deps.clock.now(),
      details === undefined ? {} : { [detailsKey(type)]: details },
      hidden,
    );
    if (frame && !hidden) frame.lastEventId = ev.id;
    return ev;
  }

  /** Returns the recorded value under `key`, or produces, records and returns it. */
  recorded<T>(key: string, produce: () => T): T {
    if (this.journal.hasRecord(key)) return this.journal.record(key) as T;
    return this.journal.appendRecord(key, produce()) as T;
  }

  /** Ends the execution with a terminal event unless one exists; aborts everything still running. */
  finish(
    type: keyof typeof TERMINAL,
    details: Record<string, unknown>,
    lastEventId: number,
    reason?: ExecutionAbortedError['reason'],
  ): HistoryEvent {
    const existing = this.terminalEvent();
    if (existing) return existing;
    const ev = this.emit({ lastEventId }, this.endKey(), type, details);
    if (!this.controller.signal.aborted) this.controller.abort(new ExecutionAbortedError(reason ?? 'closed'));
    for (const w of this.waiters.values()) w.settle();
    return ev;
  }

  /** Issues (or re-issues on replay) the task token for one task attempt. */
  taskToken(attemptKey: string, resource: string, resourceType: string): string {
    const rec = this.recorded(`${attemptKey}/token`, () => ({ nonce: randomUUID(), resource, resourceType }));
    return encodeToken({ execution: this.meta.id, key: attemptKey, nonce: rec.nonce });
  }

  /** Whether a token's nonce matches what this execution issued. */
  tokenIssued(attemptKey: string, nonce: string): { resource: string; resourceType: string } | undefined {
    const rec = this.journal.record(`${attemptKey}/token`) as
      | { nonce: string; resource: string; resourceType: string }
      | undefined;
    return rec && rec.nonce === nonce ? rec : undefined;
  }

  /** The outcome recorded for a task attempt, if any. */
  tokenOutcome(attemptKey: string): TokenOutcome | undefined {
    const ev = this.journal.event(`${attemptKey}/outcome`);
    if (!ev) return undefined;
    const rec = ev as unknown as Record<string, Record<string, unknown> | undefined>;
    if (ev.type === 'TaskSucceeded') {
      const text = rec.taskSucceededEventDetails?.output;
      return { kind: 'success', output: typeof text === 'string' ? JSON.parse(text) : null };
    }
    if (ev.type === 'TaskTimedOut')
      return {
        kind: 'timeout',
        error: String(rec.taskTimedOutEventDetails?.error ?? 'States.Timeout'),
        heartbeat: this.journal.hasRecord(`${attemptKey}/heartbeat-expired`),
      };
    const d = rec.taskFailedEventDetails ?? {};
    return {
      kind: 'failure',
      error: typeof d.error === 'string' ? d.error : undefined,
      cause: typeof d.cause === 'string' ? d.cause : undefined,
    };
  }

  /**
   * Records a consumer's answer for a token (first answer wins) and wakes the
   * waiting task. Returns false when the task already has an outcome.
   */
  completeToken(attemptKey: string, outcome: TokenOutcome): boolean {
    if (this.terminalEvent() || this.journal.event(`${attemptKey}/outcome`)) return false;
    const issued = this.journal.record(`${attemptKey}/token`) as
      | { resource: string; resourceType: string }
      | undefined;
    const base = { resource: issued?.resource ?? 'unknown', resourceType: issued?.resourceType ?? 'unknown' };
    const submitted =
      this.journal.event(`${attemptKey}/submitted`) ?? this.journal.event(`${attemptKey}/started`);
    const prev = { lastEventId: submitted?.id ?? 0 };
    if (outcome.kind === 'success') {
      this.emit(prev, `${attemptKey}/outcome`, 'TaskSucceeded', {
        ...base,
        output: jsonText(outcome.output),
        outputDetails: { truncated: false },
      });
    } else if (outcome.kind === 'failure') {
      const d: Record<string, unknown> = { ...base };
      if (outcome.error !== undefined) d.error = outcome.error;
      if (outcome.cause !== undefined) d.cause = outcome.cause;
      this.emit(prev, `${attemptKey}/outcome`, 'TaskFailed', d);
    } else {
      this.emit(prev, `${attemptKey}/outcome`, 'TaskTimedOut', { ...base, error: outcome.error });
    }
    this.waiters.get(attemptKey)?.settle();
    return true;
  }

  /** Resets the heartbeat timer of a waiting task. Returns false when the task is no longer waiting. */
  heartbeat(attemptKey: string): boolean {
    if (this.terminalEvent() || this.journal.event(`${attemptKey}/outcome`)) return false;
    this.waiters.get(attemptKey)?.heartbeat();
    return true;
  }

  /**
   * Waits until the token of `attemptKey` has an outcome, the heartbeat or the
   * task timeout expires, or `signal` aborts.
   */
  async waitForToken(
    attemptKey: string,
    opts: {
      signal: AbortSignal;
      heartbeatSeconds?: number;
      deadline?: number;
      resource: string;
      resourceType: string;
    },
  ): Promise<TokenOutcome> {
    const { clock } = this.deps;
    for (;;) {
      const recorded = this.tokenOutcome(attemptKey);
      if (recorded) return recorded;
      if (opts.signal.aborted) throw opts.signal.reason;
      const local = new AbortController();
      const onAbort = (): void => local.abort(opts.signal.reason);
      opts.signal.addEventListener('abort', onAbort, { once: true });
      let beat = false;
      this.waiters.set(attemptKey, {
        settle: () => local.abort(new Error('settled')),
        heartbeat: () => {
          beat = true;
          local.abort(new Error('heartbeat'));
        },
      });
      const now = clock.now();
      const hbDue =
        opts.heartbeatSeconds !== undefined ? now + opts.heartbeatSeconds * 1000 : Number.POSITIVE_INFINITY;
      const due = Math.min(hbDue, opts.deadline ?? Number.POSITIVE_INFINITY);
      try {
        if (Number.isFinite(due)) await clock.sleep(due - now, local.signal);
        else
          await new Promise<never>((_, reject) =>
            local.signal.addEventListener('abort', () => reject(local.signal.reason), { once: true }),
          );
        // AWS reports an expired heartbeat as States.Timeout too (recorded histories show it).
        const error = 'States.Timeout';
        if (hbDue < (opts.deadline ?? Number.POSITIVE_INFINITY))
          this.journal.appendRecord(`${attemptKey}/heartbeat-expired`, true);
        this.completeToken(attemptKey, { kind: 'timeout', error });
      } catch {
        if (opts.signal.aborted && !this.tokenOutcome(attemptKey)) throw opts.signal.reason;
        if (beat) continue;
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
        this.waiters.delete(attemptKey);
      }
    }
  }

  /** A fresh top-level frame. */
  rootFrame(): Frame {
    return { path: 'm', visits: 0, lastEventId: 0, signal: this.controller.signal, scope: this.rootScope };
  }

  /** Converts an unknown thrown value into the StatesError the definition can Retry/Catch. */
  static toStatesError(err: unknown): StatesError {
    if (err instanceof StatesError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new StatesError('States.Runtime', message);
  }
}
