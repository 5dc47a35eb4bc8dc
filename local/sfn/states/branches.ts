import { ExecutionAbortedError, type StatesError } from '../errors.js';
import { ExecutionRun, type Frame } from '../execution.js';

/** An abort controller that also aborts when `parent` does. */
export function linkedController(parent: AbortSignal): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** A child frame (Parallel branch / Map iteration) with its own variable scope. */
export function childFrame(parent: Frame, path: string, signal: AbortSignal, lastEventId: number): Frame {
  return { path, visits: 0, lastEventId, signal, scope: parent.scope.child(), hidden: parent.hidden };
}

/** Outcome of one child run. */
export type ChildOutcome =
  | { ok: true; output: unknown }
  | { ok: false; error: StatesError }
  | { ok: false; aborted: true };

/**
 * Runs `count` children with at most `limit` at once (0 = unlimited). When
 * `shouldStop` says so after a failure, the remaining children are aborted
 * and never started.
 */
export async function runChildren(
  count: number,
  limit: number,
  parent: AbortSignal,
  run: (index: number, signal: AbortSignal) => Promise<unknown>,
  shouldStop: (outcomes: (ChildOutcome | undefined)[]) => boolean,
): Promise<(ChildOutcome | undefined)[]> {
  const { controller, dispose } = linkedController(parent);
  const outcomes: (ChildOutcome | undefined)[] = new Array(count).fill(undefined);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !controller.signal.aborted) {
      const i = next++;
      try {
        outcomes[i] = { ok: true, output: await run(i, controller.signal) };
      } catch (err) {
        if (parent.aborted) return;
        if (controller.signal.aborted && err === controller.signal.reason) {
          outcomes[i] = { ok: false, aborted: true };
          continue;
        }
        outcomes[i] = { ok: false, error: ExecutionRun.toStatesError(err) };
        if (shouldStop(outcomes)) controller.abort(new ExecutionAbortedError('sibling-failed'));
      }
    }
  };
  const workers = Math.max(1, limit > 0 ? Math.min(limit, count) : count);
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    dispose();
  }
  if (parent.aborted) throw parent.reason;
  return outcomes;
}
