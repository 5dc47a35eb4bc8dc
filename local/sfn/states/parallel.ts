import type { Frame } from '../execution.js';
import { effectiveInput, finishWithResult, statePayload } from '../io.js';
import { TaskError } from '../retry-catch.js';
import type { HandlerResult } from '../run-state.js';
import { runMachine } from '../run-state.js';
import type { StateRun } from '../state-run.js';
import type { MachineDef } from '../types.js';
import { childFrame, runChildren } from './branches.js';

/** Parallel: every branch gets the (effective) input; the result is the array of branch outputs. */
export async function runParallel(s: StateRun, attempt: number): Promise<HandlerResult> {
  const eff = await effectiveInput(s);
  const input = await statePayload(s, eff);
  const branches = s.state.Branches as MachineDef[];
  const started = s.emit(`#${attempt}/started`, 'ParallelStateStarted');
  const frames = branches.map((_, i) => ({
    ...childFrame(s.frame, `${s.key}#${attempt}[${i}]`, s.frame.signal, started.id),
    branch: 'parallel' as const,
  }));
  const outcomes = await runChildren(
    branches.length,
    0,
    s.frame.signal,
    (i, signal) => {
      const frame = frames[i] as Frame;
      frame.signal = signal;
      return runMachine(s.exec, branches[i] as MachineDef, input, frame, s.ql);
    },
    () => true,
  );
  const failedAt = outcomes.findIndex((o) => o && !o.ok && 'error' in o);
  const failed = outcomes[failedAt];
  if (failed && !failed.ok && 'error' in failed) {
    s.frame.lastEventId = frames[failedAt]?.lastEventId ?? s.frame.lastEventId;
    throw new TaskError(failed.error.error, failed.error.causeText);
  }
  s.emit(`#${attempt}/succeeded`, 'ParallelStateSucceeded');
  const results = outcomes.map((o) => (o?.ok ? o.output : null));
  return finishWithResult(s, results, { resultSelector: true });
}
