/**
 * A deliberately tiny JSONPath state-machine runner (Pass, Choice, Succeed, Fail only) used to
 * replay recorded AWS executions against the jsonpath library. It is test scaffolding, not the
 * interpreter: it knows just enough of the state semantics to chain the library's functions.
 */
import { StatesError } from '../../../../../local/sfn/errors.js';
import {
  applyInputOutputPath,
  applyPayloadTemplate,
  applyResultPath,
  evaluateChoiceRule,
  evaluateDynamicField,
} from '../../../../../local/sfn/jsonpath/index.js';

/** The state fields the runner understands. */
export interface StateDef {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  InputPath?: string | null;
  OutputPath?: string | null;
  ResultPath?: string | null;
  Parameters?: unknown;
  Result?: unknown;
  Assign?: unknown;
  Choices?: (Record<string, unknown> & { Next?: string; Assign?: unknown })[];
  Error?: string;
  Cause?: string;
  ErrorPath?: string;
  CausePath?: string;
  [other: string]: unknown;
}
type State = StateDef;
export type Outcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error?: unknown; cause?: unknown };

/** The context object every replay sees; values match the corpus placeholders. */
export function contextFor(input: unknown, stateName: string): Record<string, unknown> {
  return {
    Execution: {
      Id: 'arn:aws:states:us-east-1:000000000000:execution:TestStateMachine:TestExecution',
      Input: input,
      StartTime: 'start-time',
      Name: 'TestExecution',
      RoleArn: 'snf_role_arn',
      RedriveCount: 0,
    },
    StateMachine: {
      Id: 'arn:aws:states:us-east-1:000000000000:stateMachine:TestStateMachine',
      Name: 'TestStateMachine',
    },
    State: { Name: stateName, EnteredTime: 'entered-time' },
  };
}

function failField(
  st: State,
  field: 'Error' | 'Cause',
  value: unknown,
  ctx: unknown,
  vars: Record<string, unknown>,
) {
  const path = field === 'Error' ? st.ErrorPath : st.CausePath;
  if (typeof path !== 'string') return st[field];
  return evaluateDynamicField(`${field}Path`, path, value, ctx, vars);
}

/** Runs a definition made only of Pass / Choice / Succeed / Fail states. */
export function runMachine(
  definition: { StartAt: string; States: Record<string, State> },
  input: unknown,
): Outcome {
  const vars: Record<string, unknown> = {};
  let name = definition.StartAt;
  let value = input;
  try {
    for (let steps = 0; steps < 100; steps++) {
      const st = definition.States[name] as State;
      const ctx = contextFor(input, name);
      if (st.Type === 'Fail')
        return {
          status: 'FAILED',
          error: failField(st, 'Error', value, ctx, vars),
          cause: failField(st, 'Cause', value, ctx, vars),
        };
      const effective = applyInputOutputPath(value, st.InputPath, ctx, vars);
      let assigned: Record<string, unknown> = {};
      let next: string | undefined = st.Next;
      if (st.Type === 'Choice') {
        next = st.Default;
        for (const rule of st.Choices ?? []) {
          if (evaluateChoiceRule(rule, effective, ctx, vars)) {
            next = rule.Next;
            if (rule.Assign)
              assigned = applyPayloadTemplate(rule.Assign, value, ctx, vars) as Record<string, unknown>;
            break;
          }
        }
        if (st.Assign)
          assigned = applyPayloadTemplate(st.Assign, value, ctx, vars) as Record<string, unknown>;
        if (next === undefined) return { status: 'FAILED', error: 'States.NoChoiceMatched' };
        value = applyInputOutputPath(effective, st.OutputPath, ctx, vars);
      } else if (st.Type === 'Pass') {
        const params =
          st.Parameters !== undefined ? applyPayloadTemplate(st.Parameters, effective, ctx, vars) : effective;
        const result = st.Result !== undefined ? st.Result : params;
        if (st.Assign)
          assigned = applyPayloadTemplate(st.Assign, result, ctx, vars) as Record<string, unknown>;
        value = applyInputOutputPath(applyResultPath(value, result, st.ResultPath), st.OutputPath, ctx, vars);
      } else value = applyInputOutputPath(effective, st.OutputPath, ctx, vars);
      Object.assign(vars, assigned);
      if (st.End || st.Type === 'Succeed') return { status: 'SUCCEEDED', output: value };
      name = next as string;
    }
    throw new Error('too many steps');
  } catch (e) {
    if (e instanceof StatesError) return { status: 'FAILED', error: e.error, cause: e.causeText };
    throw e;
  }
}
