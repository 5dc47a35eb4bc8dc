import { ExecutionAbortedError } from './errors.js';
import { ExecutionRun } from './execution.js';
import { jsonText } from './history.js';
import { runMachine } from './run-state.js';
import { linkedController } from './states/branches.js';

/**
 * Runs (or resumes by replay) an execution to its end and writes the terminal
 * event. Recorded events are not written twice and recorded task results are
 * reused, so a resumed execution continues where the previous process stopped.
 */
export async function driveExecution(run: ExecutionRun): Promise<void> {
  if (run.terminalEvent()) return;
  const { clock } = run.deps;
  const meta = run.meta;
  const frame = run.rootFrame();
  // The first state's entered event points at event 0, as in AWS histories.
  run.emit(undefined, 'exec/started', 'ExecutionStarted', {
    input: meta.input,
    inputDetails: { truncated: false },
    roleArn: meta.roleArn,
  });
  const timer = linkedController(run.controller.signal);
  const timeoutSeconds = run.def.TimeoutSeconds;
  if (typeof timeoutSeconds === 'number') {
    // A redriven execution gets its TimeoutSeconds again from the redrive.
    const deadline = run.driveStartMs + timeoutSeconds * 1000;
    clock.sleep(Math.max(0, deadline - clock.now()), timer.controller.signal).then(
      () => run.finish('ExecutionTimedOut', {}, frame.lastEventId, 'timed-out'),
      () => undefined,
    );
  }
  try {
    const output = await runMachine(
      run,
      run.def,
      JSON.parse(meta.input),
      frame,
      run.def.QueryLanguage ?? 'JSONPath',
    );
    run.finish(
      'ExecutionSucceeded',
      { output: jsonText(output), outputDetails: { truncated: false } },
      frame.lastEventId,
    );
  } catch (err) {
    if (err instanceof ExecutionAbortedError || run.controller.signal.aborted) return;
    const se = ExecutionRun.toStatesError(err);
    const details: Record<string, unknown> = {};
    if (se.error) details.error = se.error;
    if (se.causeText) details.cause = se.causeText;
    run.finish('ExecutionFailed', details, frame.lastEventId);
  } finally {
    timer.controller.abort(new ExecutionAbortedError('closed'));
    timer.dispose();
  }
}
