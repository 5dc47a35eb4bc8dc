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
 * Left for what the estimate cannot see: Task retries (3 events each), code
 * steps, the approval gates, the finish and its Fail state.
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
  for (const m of history)
    if (m.message.role === 'assistant') events += EVENTS_PER_ITERATION + EVENTS_PER_TOOL_CALL * toolCalls(m);
  return events;
}

const toolCalls = (m: StoredMessage): number =>
  typeof m.message.content === 'string' ? 0 : m.message.content.filter((b) => b.type === 'tool_use').length;

/**
 * What the iteration about to run adds to its execution's history, estimated
 * high: its own agent Task and Choice, and the tool calls of the step's last
 * turn, whose results it brings. Summed on the run's ledger at each
 * reservation, it counts every step and parallel branch of the execution.
 */
export function iterationHistoryEvents(history: readonly StoredMessage[]): number {
  let calls = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const m = history[i];
    if (m?.message.role !== 'assistant') continue;
    calls = toolCalls(m);
    break;
  }
  return EVENTS_PER_ITERATION + EVENTS_PER_TOOL_CALL * calls;
}

/**
 * Why the run must stop before its next model call, or undefined: once the
 * execution's estimated history events (`estimated`, with the iteration about
 * to run) come within {@link HISTORY_STOP_MARGIN} of the limit, the run stops
 * with the named `HistoryLimitApproaching` instead of failing with
 * `States.ExecutionHistoryLimitExceeded` part-way through an iteration.
 */
export function historyLimitStop(estimated: number, limit: number = HISTORY_EVENT_LIMIT): string | undefined {
  if (estimated < limit - HISTORY_STOP_MARGIN) return undefined;
  return `the execution's history is near Step Functions' limit of ${limit.toLocaleString('en-US')} events (about ${estimated.toLocaleString('en-US')} so far): stopped before it fails`;
}
