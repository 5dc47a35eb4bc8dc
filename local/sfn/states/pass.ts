import { effectiveInput, finishPassThrough, finishWithResult } from '../io.js';
import type { HandlerResult } from '../run-state.js';
import type { StateRun } from '../state-run.js';

/** Pass: JSONata `Output`/`Assign`; JSONPath `Result` or `Parameters`, then ResultPath/OutputPath. */
export async function runPass(s: StateRun): Promise<HandlerResult> {
  if (s.ql === 'JSONata') return finishPassThrough(s);
  const eff = await effectiveInput(s);
  let result: unknown = eff;
  if ('Result' in s.state) result = s.state.Result;
  else if ('Parameters' in s.state) {
    const jp = await s.jsonPath();
    result = jp.applyPayloadTemplate(s.state.Parameters, eff, s.context(), s.variables());
  }
  return finishWithResult(s, result);
}
