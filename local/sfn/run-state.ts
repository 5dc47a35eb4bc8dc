import { queryLanguageOf } from './definition.js';
import { EvaluationError, ExecutionAbortedError, StatesError } from './errors.js';
import { ExecutionRun, type Frame } from './execution.js';
import { jsonText } from './history.js';
import type { StateResult } from './io.js';
import { finishCatch } from './io.js';
import { findCatcher, planRetry, TaskError } from './retry-catch.js';
import { StateRun } from './state-run.js';
import { runChoice } from './states/choice.js';
import { runMap } from './states/map.js';
import { runParallel } from './states/parallel.js';
import { runPass } from './states/pass.js';
import { runTask } from './states/task.js';
import { runFail, runSucceed } from './states/terminal.js';
import { runWait } from './states/wait.js';
import type { MachineDef, QueryLanguage, StateDef } from './types.js';

/** What a state handler returns: its result and, for Choice, where to go. */
export interface HandlerResult extends StateResult {
  /** Overrides the state's Next/End (Choice). `undefined` means End. */
  next?: string | undefined;
  hasNext?: boolean;
}

type Handler = (s: StateRun, attempt: number) => Promise<HandlerResult>;

const handlers: Record<string, Handler> = {
  Pass: runPass,
  Task: runTask,
  Choice: runChoice,
  Wait: runWait,
  Succeed: runSucceed,
  Fail: runFail,
  Parallel: runParallel,
  Map: runMap,
};

/** The AWS payload limit for state input/output: 256 KiB. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Runs a machine (or branch / item processor) from StartAt to its end; returns its output. */
export async function runMachine(
  exec: ExecutionRun,
  machine: MachineDef,
  input: unknown,
  frame: Frame,
  parentQl: QueryLanguage,
): Promise<unknown> {
  const ql: QueryLanguage = machine.QueryLanguage ?? parentQl;
  let name = machine.StartAt;
  let current = input;
  for (;;) {
    const state = machine.States[name] as StateDef;
    const key = `${frame.path}/${frame.visits++}:${name}`;
    const { output, next } = await runState(
      exec,
      frame,
      name,
      state,
      key,
      queryLanguageOf(state, ql),
      current,
    );
    if (next === undefined) return output;
    name = next;
    current = output;
  }
}

function isAbort(err: unknown, frame: Frame): boolean {
  return err instanceof ExecutionAbortedError || (frame.signal.aborted && err === frame.signal.reason);
}

/** Prefixes an evaluation failure's cause the way AWS does and records EvaluationFailed. */
function evaluationFailure(s: StateRun, err: StatesError): StatesError {
  const prefix = `An error occurred while executing the state '${s.name}' (entered at the event id #${s.entered.id}).`;
  const cause = err.causeText ?? '';
  const full = cause.startsWith('An error occurred while executing the state')
    ? cause
    : `${prefix} ${cause}`.trim();
  const details: Record<string, unknown> = { error: err.error, cause: full, state: s.name };
  if (err instanceof EvaluationError && err.location) details.location = err.location;
  // AWS records EvaluationFailed for JSONata evaluation errors only; JSONPath runtime errors go straight to the failure.
  if (err.error === 'States.QueryEvaluationError') {
    // AWS links EvaluationFailed to the event before the state was entered (a Wait's to its entry).
    if (s.state.Type !== 'Wait') s.frame.lastEventId = s.entered.previousEventId;
    s.emit('evaluation-failed', 'EvaluationFailed', details);
  }
  const out = new TaskError(err.error, full);
  out.suppressStateFailed = err.suppressStateFailed;
  return out;
}

/** Runs one state: entered event, handler with Retry/Catch, exited event. */
export async function runState(
  exec: ExecutionRun,
  frame: Frame,
  name: string,
  state: StateDef,
  key: string,
  ql: QueryLanguage,
  input: unknown,
): Promise<{ output: unknown; next: string | undefined }> {
  const type = state.Type;
  const entered = exec.emit(frame, `${key}/entered`, `${type}StateEntered`, {
    name,
    input: jsonText(input),
    inputDetails: { truncated: false },
  });
  const s = new StateRun(exec, frame, name, state, key, ql, input, entered);
  const handler = handlers[type];
  if (!handler) throw new StatesError('States.Runtime', `unsupported state type ${type}`);
  const counts: number[] = [];
  for (let attempt = 0; ; attempt++) {
    let result: HandlerResult;
    let next: string | undefined;
    try {
      result = await handler(s, attempt);
      next = result.hasNext
        ? result.next
        : state.End === true
          ? undefined
          : (state.Next as string | undefined);
      if (Buffer.byteLength(jsonText(result.output)) > MAX_PAYLOAD_BYTES) {
        throw new TaskError(
          'States.DataLimitExceeded',
          `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit.`,
        );
      }
    } catch (err) {
      if (isAbort(err, frame)) {
        if (err instanceof ExecutionAbortedError && err.reason === 'sibling-failed') {
          exec.emit({ ...frame }, `${key}/#${attempt}/aborted`, `${type}StateAborted`);
        }
        throw err;
      }
      let se = ExecutionRun.toStatesError(err);
      if (!(se instanceof TaskError)) se = evaluationFailure(s, se);
      if (type === 'Task' || type === 'Map' || type === 'Parallel') {
        const aliases = se instanceof TaskError ? se.aliases : [];
        const plan = planRetry(state.Retry, se.error, aliases, counts, () =>
          exec.recorded(`${key}/jitter/${attempt}`, exec.deps.retryJitter ?? Math.random),
        );
        if (plan) {
          counts[plan.index] = (counts[plan.index] ?? 0) + 1;
          s.retryCount++;
          const due = exec.recorded(`${key}/retry/${attempt}`, () => exec.deps.clock.now() + plan.delayMs);
          const wait = due - exec.deps.clock.now();
          if (wait > 0) await exec.deps.clock.sleep(wait, frame.signal);
          continue;
        }
        if (
          (type === 'Map' || type === 'Parallel') &&
          !se.suppressStateFailed &&
          se.error !== 'States.Runtime'
        ) {
          s.emit(`#${attempt}/failed`, `${type}StateFailed`);
        }
        const catcher = findCatcher(state.Catch, se.error, aliases);
        if (catcher) {
          const errorOutput = { Error: se.error || null, Cause: se.causeText ?? null };
          let caught: StateResult;
          try {
            caught = await finishCatch(s, catcher, errorOutput);
          } catch (catchErr) {
            if (isAbort(catchErr, frame)) throw catchErr;
            const ce = ExecutionRun.toStatesError(catchErr);
            throw ce instanceof TaskError ? ce : evaluationFailure(s, ce);
          }
          return exitState(s, caught, catcher.Next as string);
        }
      }
      // The failure leaves the state unhandled. Recorded with the drive it happened in: after a
      // redrive, the replay reaches this failure again and runs the state anew (retry counts
      // reset) instead of failing; a failure in the current drive goes on up. A Map or Parallel
      // fails because a child did, and the child is the one run again.
      if (type !== 'Map' && type !== 'Parallel') {
        const failedIn = exec.recorded(`${key}/#${attempt}/unhandled`, () => exec.redriveCount);
        if (failedIn < exec.redriveCount) {
          counts.length = 0;
          s.retryCount = 0;
          continue;
        }
      }
      // AWS records a state that fails a Parallel branch as aborted.
      if (frame.branch === 'parallel' && type !== 'Fail')
        exec.emit({ ...frame }, `${key}/#${attempt}/aborted`, `${type}StateAborted`);
      throw se;
    }
    return exitState(s, result, next);
  }
}

function exitState(
  s: StateRun,
  result: StateResult,
  next: string | undefined,
): { output: unknown; next: string | undefined } {
  const details: Record<string, unknown> = {
    name: s.name,
    output: jsonText(result.output),
    outputDetails: { truncated: false },
  };
  if (result.assigned && Object.keys(result.assigned).length > 0) {
    s.frame.scope.assign(result.assigned);
    details.assignedVariables = Object.fromEntries(
      Object.entries(result.assigned).map(([k, v]) => [k, jsonText(v)]),
    );
    details.assignedVariablesDetails = { truncated: false };
  }
  s.emit('exited', `${s.state.Type}StateExited`, details);
  return { output: result.output, next };
}
