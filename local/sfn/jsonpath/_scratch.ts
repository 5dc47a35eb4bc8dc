// THROWAWAY scratch runner (to be deleted): runs simple JSONPath cases from the conformance corpus.
import { readdirSync, readFileSync } from 'node:fs';
import { StatesError } from '../errors.js';
import * as J from './index.js';
import { evaluateDynamicField } from './index.js';

const root = '/work/shared/conformance/stepfunctions/cases';
const cats = process.argv.slice(2);
type Any = any;
const SUPPORTED = new Set(['Pass', 'Choice', 'Succeed', 'Fail']);

function run(def: Any, input: Any, ctxBase: Any): Any {
  const vars: Record<string, unknown> = {};
  let name = def.StartAt;
  let value = input;
  for (let steps = 0; steps < 100; steps++) {
    const st = def.States[name];
    const ctx = { ...ctxBase, State: { Name: name, EnteredTime: '2024-01-01T00:00:00Z' } };
    if (st.Type === 'Fail') {
      const error = st.ErrorPath
        ? st.ErrorPath.startsWith('States.')
          ? J.evaluateIntrinsic(st.ErrorPath, value, ctx, vars)
          : J.queryPathForField(st.ErrorPath, 'ErrorPath', value, ctx, vars)
        : st.Error;
      const cause = st.CausePath
        ? st.CausePath.startsWith('States.')
          ? J.evaluateIntrinsic(st.CausePath, value, ctx, vars)
          : J.queryPathForField(st.CausePath, 'CausePath', value, ctx, vars)
        : st.Cause;
      return { status: 'FAILED', error, cause };
    }
    const effIn = J.applyInputOutputPath(value, st.InputPath, ctx, vars);
    if (st.Type === 'Choice') {
      let next = st.Default;
      for (const r of st.Choices)
        if (J.evaluateChoiceRule(r, effIn, ctx, vars)) {
          next = r.Next;
          if (r.Assign) Object.assign(vars, J.applyPayloadTemplate(r.Assign, value, ctx, vars));
          break;
        }
      if (st.Assign) Object.assign(vars, J.applyPayloadTemplate(st.Assign, value, ctx, vars));
      value = J.applyInputOutputPath(effIn, st.OutputPath, ctx, vars);
      if (!next) return { status: 'FAILED', error: 'States.NoChoiceMatched' };
      name = next;
      continue;
    }
    let out = effIn;
    if (st.Type === 'Pass') {
      const params =
        st.Parameters !== undefined ? J.applyPayloadTemplate(st.Parameters, effIn, ctx, vars) : effIn;
      const result = st.Result !== undefined ? st.Result : params;
      const a = st.Assign ? (J.applyPayloadTemplate(st.Assign, result, ctx, vars) as Any) : {};
      out = J.applyResultPath(value, result, st.ResultPath);
      value = J.applyInputOutputPath(out, st.OutputPath, ctx, vars);
      Object.assign(vars, a);
    } else value = J.applyInputOutputPath(out, st.OutputPath, ctx, vars);
    if (st.End || st.Type === 'Succeed') return { status: 'SUCCEEDED', output: value };
    name = st.Next;
  }
  return { status: 'LOOP' };
}

function eq(a: Any, b: Any): boolean {
  if (
    typeof b === 'string' &&
    (b.includes('<ArnPart') || b.includes('<ExecArnPart') || b === 'date' || b.includes('<uuid'))
  )
    return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => eq(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && kb.every((k) => eq(a[k], b[k]));
  }
  return a === b;
}

let pass = 0,
  fail = 0,
  skip = 0;
for (const cat of cats)
  for (const f of readdirSync(`${root}/${cat}`)) {
    const c = JSON.parse(readFileSync(`${root}/${cat}/${f}`, 'utf8'));
    if (c.queryLanguage !== 'JSONPath') {
      skip++;
      continue;
    }
    const types = Object.values(c.definition.States).map((s: Any) => s.Type);
    if (!types.every((t: string) => SUPPORTED.has(t))) {
      skip++;
      continue;
    }
    const ctxBase = {
      Execution: {
        Id: 'arn:aws:states:us-east-1:000000000000:execution:sm:exec',
        Name: 'exec',
        Input: c.input,
        StartTime: '2024-01-01T00:00:00Z',
        RoleArn: 'arn:aws:iam::000000000000:role/r',
      },
      StateMachine: { Id: 'arn:aws:states:us-east-1:000000000000:stateMachine:sm', Name: 'sm' },
    };
    let got: Any;
    try {
      got = run(c.definition, c.input, ctxBase);
    } catch (e) {
      if (e instanceof StatesError) got = { status: 'FAILED', error: e.error, cause: e.causeText };
      else got = { status: 'CRASH', error: String(e) };
    }
    const exp = c.expected;
    let ok = got.status === exp.status;
    if (ok && exp.status === 'SUCCEEDED') ok = eq(got.output, exp.output);
    if (ok && exp.status === 'FAILED')
      ok =
        got.error === exp.error && (exp.cause === undefined || String(exp.cause).includes(String(got.cause)));
    if (ok) pass++;
    else {
      fail++;
      console.log(
        'FAIL',
        c.id,
        JSON.stringify(got).slice(0, 400),
        '\n   expected',
        JSON.stringify(exp).slice(0, 400),
      );
    }
  }
console.log({ pass, fail, skip });
