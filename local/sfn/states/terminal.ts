import { finishPassThrough } from '../io.js';
import { TaskError } from '../retry-catch.js';
import type { HandlerResult } from '../run-state.js';
import type { StateRun } from '../state-run.js';

/** Succeed: ends the machine (or branch) with its input, shaped by Output/OutputPath. */
export async function runSucceed(s: StateRun): Promise<HandlerResult> {
  return { ...(await finishPassThrough(s)), next: undefined, hasNext: true };
}

async function failField(s: StateRun, field: 'Error' | 'Cause'): Promise<string | undefined> {
  if (s.ql === 'JSONata') {
    if (!(field in s.state)) return undefined;
    const v = await s.evalScalar(s.state[field], field);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  if (field in s.state) return String(s.state[field]);
  const path = s.state[`${field}Path`];
  if (typeof path !== 'string') return undefined;
  const jp = await s.jsonPath();
  const v = path.startsWith('States.')
    ? jp.evaluateIntrinsic(path, s.input, s.context(), s.variables())
    : jp.queryPathForField(path, `${field}Path`, s.input, s.context(), s.variables());
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Fail: raises Error/Cause (literal, JSONata, ErrorPath/CausePath). */
export async function runFail(s: StateRun): Promise<HandlerResult> {
  const error = await failField(s, 'Error');
  const cause = await failField(s, 'Cause');
  throw new TaskError(error ?? '', cause);
}
