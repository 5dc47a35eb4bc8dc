import { EvaluationError } from './errors.js';
import type { StateRun } from './state-run.js';
import { isObject } from './types.js';

/** What a state ends with: its output and the variables it assigns. */
export interface StateResult {
  output: unknown;
  assigned?: Record<string, unknown>;
}

/** JSONPath `InputPath` (JSONata: the raw input). */
export async function effectiveInput(s: StateRun): Promise<unknown> {
  if (s.ql === 'JSONata') return s.input;
  const jp = await s.jsonPath();
  return jp.applyInputOutputPath(
    s.input,
    s.state.InputPath as string | null | undefined,
    s.context(),
    s.variables(),
  );
}

/** `Arguments` (JSONata) or `Parameters` (JSONPath); without one, the effective input. */
export async function statePayload(s: StateRun, eff: unknown): Promise<unknown> {
  if (s.ql === 'JSONata') {
    return 'Arguments' in s.state ? s.evalField(s.state.Arguments, 'Arguments') : eff;
  }
  if (!('Parameters' in s.state)) return eff;
  const jp = await s.jsonPath();
  return jp.applyPayloadTemplate(s.state.Parameters, eff, s.context(), s.variables());
}

async function jsonataAssign(
  s: StateRun,
  assign: unknown,
  extra: Record<string, unknown>,
  input?: unknown,
): Promise<Record<string, unknown> | undefined> {
  if (assign === undefined) return undefined;
  if (!isObject(assign))
    throw new EvaluationError('States.QueryEvaluationError', 'The Assign field must be an object.', 'Assign');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(assign)) out[k] = await s.evalField(v, `Assign/${k}`, extra, input);
  return out;
}

/**
 * Finishes a state that produced a result (Task, Map, Parallel, Pass).
 * JSONata: Assign and Output see `$states.result` and the old variables.
 * JSONPath: ResultSelector, Assign, ResultPath, OutputPath.
 */
export async function finishWithResult(
  s: StateRun,
  result: unknown,
  opts: { resultSelector?: boolean } = {},
): Promise<StateResult> {
  if (s.ql === 'JSONata') {
    const extra = { result };
    const assigned = await jsonataAssign(s, s.state.Assign, extra);
    const output = 'Output' in s.state ? await s.evalField(s.state.Output, 'Output', extra) : result;
    return { output, assigned };
  }
  const jp = await s.jsonPath();
  const ctx = s.context();
  const vars = s.variables();
  let r = result;
  if (opts.resultSelector && 'ResultSelector' in s.state)
    r = jp.applyPayloadTemplate(s.state.ResultSelector, r, ctx, vars);
  const assigned =
    'Assign' in s.state
      ? (jp.applyPayloadTemplate(s.state.Assign, r, ctx, vars) as Record<string, unknown>)
      : undefined;
  let output = jp.applyResultPath(s.input, r, s.state.ResultPath as string | null | undefined);
  output = jp.applyInputOutputPath(output, s.state.OutputPath as string | null | undefined, ctx, vars);
  return { output, assigned };
}

/**
 * Finishes a state without a result (Choice, Wait, Succeed). `rule` is a
 * matched Choice rule whose Output/Assign take precedence.
 */
export async function finishPassThrough(s: StateRun, rule?: Record<string, unknown>): Promise<StateResult> {
  if (s.ql === 'JSONata') {
    const assignTpl = rule && 'Assign' in rule ? rule.Assign : s.state.Assign;
    const outputTpl = rule && 'Output' in rule ? rule.Output : s.state.Output;
    const hasOutput = (rule && 'Output' in rule) || 'Output' in s.state;
    const assigned = await jsonataAssign(s, assignTpl, {});
    const output = hasOutput ? await s.evalField(outputTpl, 'Output') : s.input;
    return { output, assigned };
  }
  const jp = await s.jsonPath();
  const ctx = s.context();
  const vars = s.variables();
  const eff = jp.applyInputOutputPath(s.input, s.state.InputPath as string | null | undefined, ctx, vars);
  const assignTpl = rule && 'Assign' in rule ? rule.Assign : s.state.Assign;
  const assigned =
    assignTpl !== undefined
      ? (jp.applyPayloadTemplate(assignTpl, eff, ctx, vars) as Record<string, unknown>)
      : undefined;
  const output = jp.applyInputOutputPath(eff, s.state.OutputPath as string | null | undefined, ctx, vars);
  return { output, assigned };
}

/** Output and assignments of a matched Catcher, given `{Error, Cause}`. */
export async function finishCatch(
  s: StateRun,
  catcher: Record<string, unknown>,
  errorOutput: Record<string, unknown>,
): Promise<StateResult> {
  if (s.ql === 'JSONata') {
    const extra = { errorOutput };
    const assigned = await jsonataAssign(s, catcher.Assign, extra);
    const output = 'Output' in catcher ? await s.evalField(catcher.Output, 'Output', extra) : errorOutput;
    return { output, assigned };
  }
  const jp = await s.jsonPath();
  const assigned =
    catcher.Assign !== undefined
      ? (jp.applyPayloadTemplate(catcher.Assign, errorOutput, s.context(), s.variables()) as Record<
          string,
          unknown
        >)
      : undefined;
  const output = jp.applyResultPath(s.input, errorOutput, catcher.ResultPath as string | null | undefined);
  return { output, assigned };
}

/** Reads a numeric field given as a literal, a JSONata expression or (JSONPath) a `<Field>Path`. */
export async function numericField(s: StateRun, field: string, eff: unknown): Promise<number | undefined> {
  let value: unknown;
  if (field in s.state)
    value = s.ql === 'JSONata' ? await s.evalScalar(s.state[field], field) : s.state[field];
  else if (`${field}Path` in s.state && s.ql === 'JSONPath') {
    const jp = await s.jsonPath();
    value = jp.queryPath(String(s.state[`${field}Path`]), eff, s.context(), s.variables());
  } else return undefined;
  return value as number;
}
