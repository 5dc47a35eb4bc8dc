/**
 * Payload templates (Parameters, ResultSelector, ItemSelector, JSONPath Assign): keys
 * ending in `.$` take their value from a path or an intrinsic function call.
 */
import { StatesError } from '../errors.js';
import { evaluateIntrinsicExpression } from './intrinsics/evaluate.js';
import { isIntrinsicExpression } from './intrinsics/parser.js';
import { cloneJson, isPlainObject } from './json-util.js';
import { queryPathForField } from './path.js';

/**
 * Evaluates the value of one `key.$` field: a path (`$.x`, `$$.Execution.Id`, `$var.y`)
 * or an intrinsic function call (`States.Format(...)`).
 */
export function evaluateDynamicField(
  field: string,
  expression: unknown,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  if (typeof expression !== 'string')
    throw new StatesError(
      'States.Runtime',
      `The value for the field '${field}' must be a valid JSONPath or a valid intrinsic function call`,
    );
  if (isIntrinsicExpression(expression))
    return evaluateIntrinsicExpression(expression, input, context, variables, field);
  if (expression.startsWith('$')) return queryPathForField(expression, field, input, context, variables);
  throw new StatesError(
    'States.Runtime',
    `The value for the field '${field}' must be a valid JSONPath or a valid intrinsic function call`,
  );
}

/**
 * Applies a payload template recursively (objects and arrays); literal values are copied.
 *
 * @throws StatesError `States.Runtime` when a path matches nothing, `States.IntrinsicFailure`
 *   when an intrinsic function fails.
 */
export function applyTemplate(
  template: unknown,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  if (Array.isArray(template)) return template.map((t) => applyTemplate(t, input, context, variables));
  if (!isPlainObject(template)) return cloneJson(template);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && key.length > 2) {
      out[key.slice(0, -2)] = evaluateDynamicField(key, value, input, context, variables);
    } else {
      out[key] = applyTemplate(value, input, context, variables);
    }
  }
  return out;
}
