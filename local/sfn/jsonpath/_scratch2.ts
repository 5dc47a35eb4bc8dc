// THROWAWAY (to be deleted): state-local checks of Pass/Task states against recorded events.
import { readdirSync, readFileSync } from 'node:fs';
import { StatesError } from '../errors.js';
import * as J from './index.js';

const root = '/work/shared/conformance/stepfunctions/cases';
type Any = any;
function collect(states: Any, out: Map<string, Any>) {
  for (const [n, s] of Object.entries<Any>(states)) {
    out.set(n, s);
    const sub = s.ItemProcessor ?? s.Iterator;
    if (sub) collect(sub.States, out);
    for (const b of s.Branches ?? []) collect(b.States, out);
  }
}
const parse = (v: Any) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};
function eq(a: Any, b: Any): boolean {
  if (
    typeof b === 'string' &&
    (/^<.*>$/.test(b) ||
      b === 'date' ||
      b === 'start-time' ||
      b === 'entered-time' ||
      b.includes('<Arn') ||
      b.includes('<ExecArn') ||
      b.includes('<uuid'))
  )
    return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => eq(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a),
      kb = Object.keys(b);
    return ka.length === kb.length && kb.every((k) => eq(a[k], b[k]));
  }
  return a === b;
}
const usesVars = (s: Any) =>
  /"\$[A-Za-z_]/.test(JSON.stringify(s)) || /[(,]\s*\$[A-Za-z_]/.test(JSON.stringify(s));
let ok = 0,
  bad = 0,
  skipped = 0;
for (const cat of readdirSync(root))
  for (const f of readdirSync(`${root}/${cat}`)) {
    const c = JSON.parse(readFileSync(`${root}/${cat}/${f}`, 'utf8'));
    if (c.queryLanguage !== 'JSONPath' || !c.events) continue;
    const states = new Map<string, Any>();
    collect(c.definition.States, states);
    const ev: Any[] = c.events;
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i];
      if (!/^(Pass|Task)StateEntered$/.test(e.type)) continue;
      const name = e.stateEnteredEventDetails.name;
      const st = states.get(name);
      if (!st || usesVars(st)) {
        skipped++;
        continue;
      }
      const input = parse(e.stateEnteredEventDetails.input);
      const ctx = {
        Execution: { Input: c.input, Id: '<x>', Name: '<x>', StartTime: 'date', RoleArn: 'r' },
        StateMachine: { Id: '<x>', Name: '<x>' },
        State: { Name: name, EnteredTime: 'date' },
        Map: undefined as Any,
      };
      const check = (label: string, got: () => unknown, exp: unknown) => {
        let g: unknown;
        try {
          g = got();
        } catch (err) {
          g = err instanceof StatesError ? `ERR ${err.error}: ${err.causeText}` : `CRASH ${err}`;
        }
        if (eq(g, exp)) ok++;
        else {
          bad++;
          console.log(
            'MISMATCH',
            c.id,
            name,
            label,
            '\n  got',
            JSON.stringify(g)?.slice(0, 300),
            '\n  exp',
            JSON.stringify(exp)?.slice(0, 300),
          );
        }
      };
      const exitIdx = ev.findIndex((x, j) => j > i && x.stateExitedEventDetails?.name === name);
      const failed = ev.slice(i + 1).find((x) => x.type === 'ExecutionFailed');
      if (e.type === 'PassStateEntered') {
        const run = () => {
          const eff = J.applyInputOutputPath(input, st.InputPath, ctx, {});
          const params =
            st.Parameters !== undefined ? J.applyPayloadTemplate(st.Parameters, eff, ctx, {}) : eff;
          const result = st.Result !== undefined ? st.Result : params;
          return J.applyInputOutputPath(
            J.applyResultPath(input, result, st.ResultPath),
            st.OutputPath,
            ctx,
            {},
          );
        };
        if (exitIdx >= 0) check('pass-output', run, parse(ev[exitIdx].stateExitedEventDetails.output));
        else if (failed)
          check(
            'pass-fail',
            run,
            `ERR ${failed.executionFailedEventDetails.error}: ${String(failed.executionFailedEventDetails.cause).replace(/^An error occurred while executing the state '[^']*' \(entered at the event id #\d+\)\. /, '')}`,
          );
        continue;
      }
      // Task
      const sched = ev.find(
        (x, j) => j > i && (x.type === 'TaskScheduled' || x.type === 'LambdaFunctionScheduled'),
      );
      if (sched) {
        const eff = () => {
          const v = J.applyInputOutputPath(input, st.InputPath, ctx, {});
          return st.Parameters !== undefined ? J.applyPayloadTemplate(st.Parameters, v, ctx, {}) : v;
        };
        if (sched.type === 'TaskScheduled') {
          const p = sched.taskScheduledEventDetails.parameters;
          const pp = typeof p === 'string' ? parse(p) : p;
          if (pp && typeof pp === 'object' && 'Payload' in pp) pp.Payload = parse(pp.Payload);
          check(
            'task-params',
            () => {
              const x: Any = eff();
              if (x && 'FunctionName' in x) x.FunctionName = '<lambda_function_name>';
              return x;
            },
            pp,
          );
        } else check('lambda-input', eff, parse(sched.lambdaFunctionScheduledEventDetails.input));
      }
      const succ = ev.find(
        (x, j) => j > i && (x.type === 'TaskSucceeded' || x.type === 'LambdaFunctionSucceeded'),
      );
      if (succ && exitIdx >= 0) {
        const raw = parse(
          (succ.taskSucceededEventDetails ?? succ.lambdaFunctionSucceededEventDetails).output,
        );
        check(
          'task-output',
          () => {
            const sel =
              st.ResultSelector !== undefined ? J.applyPayloadTemplate(st.ResultSelector, raw, ctx, {}) : raw;
            return J.applyInputOutputPath(
              J.applyResultPath(input, sel, st.ResultPath),
              st.OutputPath,
              ctx,
              {},
            );
          },
          parse(ev[exitIdx].stateExitedEventDetails.output),
        );
      }
    }
  }
console.log({ ok, bad, skipped });
