import type { StoredMessage } from './run-records.js';

/** Step Functions fails a Standard execution whose history reaches this many events. */
export const HISTORY_EVENT_LIMIT = 25_000;

/**
 * History events one agent iteration adds, at most without retries: the agent
 * Task (entered, scheduled, started, succeeded, exited), the Choice after it
 * (entered, exited) and a margin for the Map a multi-tool turn runs in…
 */
const EVENTS_PER_ITERATION = 16;
/** …and per tool call its Task (5) and its Map iteration and Choice events. */
const EVENTS_PER_TOOL_CALL = 8;
/**
 * Left for what the estimate cannot see: Task retries (3 events each), other
 * agent steps of the run, the approval gates, the finish and its Fail state.
 */
export const HISTORY_STOP_MARGIN = 5_000;

/**
 * How many history events a step's conversation has cost its execution so
 * far, estimated high from its turns (each iteration and each tool call at its
 * worst case without retries). Derived from what is recorded, so a retried
 * step estimates the same.
 */
export function estimatedHistoryEvents(history: readonly StoredMessage[]): number {
  let events = 0;
  for (const m of history) {
    if (m.message.role !== 'assistant') continue;
    const calls =
      typeof m.message.content === 'string'
        ? 0
        : m.message.content.filter((b) => b.type === 'tool_use').length;
    events += EVENTS_PER_ITERATION + EVENTS_PER_TOOL_CALL * calls;
  }
  return events;
}

/**
 * Why the run must stop before its next model call, or undefined: once the
 * estimate comes within {@link HISTORY_STOP_MARGIN} of the limit, the run
 * stops with the named `HistoryLimitApproaching` instead of failing with
 * `States.ExecutionHistoryLimitExceeded` part-way through an iteration.
 */
export function historyLimitStop(
  history: readonly StoredMessage[],
  limit: number = HISTORY_EVENT_LIMIT,
): string | undefined {
  const estimated = estimatedHistoryEvents(history);
  if (estimated < limit - HISTORY_STOP_MARGIN) return undefined;
  return `the execution's history is near Step Functions' limit of ${limit.toLocaleString('en-US')} events (about ${estimated.toLocaleString('en-US')} so far): stopped before it fails`;
}
