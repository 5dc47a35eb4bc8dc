import { EvaluationError } from '../errors.js';
import { effectiveInput, finishPassThrough } from '../io.js';
import { TaskError } from '../retry-catch.js';
import type { HandlerResult } from '../run-state.js';
import type { StateRun } from '../state-run.js';
import { isObject } from '../types.js';

/** Choice: the first rule whose Condition (JSONata) or comparison (JSONPath) holds, else Default. */
export async function runChoice(s: StateRun): Promise<HandlerResult> {
  const rules = Array.isArray(s.state.Choices) ? s.state.Choices : [];
  if (s.ql === 'JSONata') {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (!isObject(rule)) continue;
      const value = await s.evalScalar(rule.Condition, 'Condition');
      if (typeof value !== 'boolean') {
        throw new EvaluationError(
          'States.QueryEvaluationError',
          `The JSONata expression '${String(rule.Condition)}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}' for value: ${JSON.stringify(value)}`,
          'Condition',
        );
      }
      if (value) return { ...(await finishPassThrough(s, rule)), next: rule.Next as string, hasNext: true };
    }
  } else {
    const eff = await effectiveInput(s);
    const jp = await s.jsonPath();
    for (const rule of rules) {
      if (!isObject(rule)) continue;
      if (jp.evaluateChoiceRule(rule, eff, s.context(), s.variables())) {
        return { ...(await finishPassThrough(s, rule)), next: rule.Next as string, hasNext: true };
      }
    }
  }
  if (typeof s.state.Default === 'string')
    return { ...(await finishPassThrough(s)), next: s.state.Default, hasNext: true };
  throw new TaskError(
    'States.NoChoiceMatched',
    `No Choice rule matched and no Default is set in state '${s.name}'.`,
  );
}
