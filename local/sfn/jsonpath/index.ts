/**
 * The JSONPath half of the Amazon States Language, as a pure library for the local
 * Step Functions interpreter: paths, payload templates, ResultPath, InputPath/OutputPath,
 * Choice rules and intrinsic functions. Every failure is a {@link StatesError} carrying
 * the error name and (as closely as known) the cause text AWS produces.
 */
import { evaluateRule } from './choice-rules.js';
import { evaluateIntrinsicExpression } from './intrinsics/evaluate.js';
import { queryPath as query } from './path.js';
import { applyTemplate } from './payload-template.js';
import { applyResultPathTo } from './result-path.js';

export { isIntrinsicExpression } from './intrinsics/parser.js';
export { queryPathForField, tryQueryPath } from './path.js';
export { evaluateDynamicField } from './payload-template.js';
export { parseTimestamp } from './timestamp.js';

/**
 * Evaluates a JSONPath: `$...` against `input`, `$$...` against the context object,
 * `$name...` against a Step Functions variable. Definite paths return one value;
 * indefinite ones (wildcards, `..`, filters, slices, unions) return an array of matches.
 *
 * @throws StatesError `States.Runtime` (`Invalid path '$.x' : No results for path: $['x']`)
 *   when a definite path matches nothing.
 */
export function queryPath(
  path: string,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  return query(path, input, context, variables);
}

/**
 * Applies a payload template (Parameters, ResultSelector, ItemSelector, JSONPath Assign):
 * recursively, a key ending in `.$` takes its value from a path or intrinsic function
 * call and loses the `.$`; other values are copied literally.
 *
 * @throws StatesError `States.Runtime` (`The JSONPath '$.x' specified for the field 'x.$'
 *   could not be found in the input '{...}'`) or `States.IntrinsicFailure`.
 */
export function applyPayloadTemplate(
  template: unknown,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  return applyTemplate(template, input, context, variables);
}

/**
 * Places `result` into `stateInput` according to `ResultPath`: `undefined` (or `"$"`) means
 * the result replaces the input, `null` keeps the input unchanged, `"$.a.b"` writes into a
 * copy of the input, creating objects on the way.
 *
 * @throws StatesError `States.ResultPathMatchFailure` when the path cannot be applied.
 */
export function applyResultPath(
  stateInput: unknown,
  result: unknown,
  resultPath: string | null | undefined,
): unknown {
  return applyResultPathTo(stateInput, result, resultPath);
}

/**
 * InputPath / OutputPath: `undefined` returns `value`, `null` returns `{}`, anything else is
 * evaluated with {@link queryPath} against `value`.
 *
 * @throws StatesError `States.Runtime` (`Invalid path '$.x' : No results for path: $['x']`).
 */
export function applyInputOutputPath(
  value: unknown,
  path: string | null | undefined,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  if (path === undefined) return value;
  if (path === null) return {};
  return query(path, value, context, variables);
}

/**
 * Evaluates a JSONPath Choice rule (`Variable` with a comparison operator, or `And` / `Or` /
 * `Not`). Type mismatches compare as false; a `Variable` (or `...Path` operand) that matches
 * nothing fails with `States.Runtime`, except for `IsPresent`.
 */
export function evaluateChoiceRule(
  rule: Record<string, unknown>,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): boolean {
  return evaluateRule(rule, { input, context, variables });
}

/**
 * Evaluates an intrinsic function call such as `States.Format('Hi {}', $.name)`, with nested
 * calls and path arguments (`$`, `$$`, `$var`).
 *
 * @throws StatesError `States.IntrinsicFailure` for bad syntax or arguments, `States.Runtime`
 *   when a path argument matches nothing.
 */
export function evaluateIntrinsic(
  expression: string,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  return evaluateIntrinsicExpression(expression, input, context, variables);
}
