import { describe, expect, it } from 'vitest';
import { StatesError } from '../../../../local/sfn/errors.js';
import {
  applyPayloadTemplate,
  applyResultPath,
  evaluateDynamicField,
} from '../../../../local/sfn/jsonpath/index.js';

function statesError(fn: () => unknown): StatesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatesError) return e;
    throw e;
  }
  throw new Error('expected a StatesError');
}

describe('applyPayloadTemplate', () => {
  const input = { name: 'Ada', list: [1, 2], obj: { k: 'v' } };
  const context = { Execution: { Name: 'exec-1' } };
  const vars = { greeting: 'Hi' };

  it('evaluates .$ keys recursively (objects and arrays) and copies literals', () => {
    const template = {
      literal: 'x',
      'who.$': '$.name',
      'all.$': '$',
      nested: { 'exec.$': '$$.Execution.Name', arr: [{ 'v.$': '$greeting' }, 3, 'text'] },
      'msg.$': "States.Format('{} {}', $greeting, $.name)",
      'ids.$': '$.list[*]',
      keepsDollar$: 'not a path',
    };
    expect(applyPayloadTemplate(template, input, context, vars)).toEqual({
      literal: 'x',
      who: 'Ada',
      all: input,
      nested: { exec: 'exec-1', arr: [{ v: 'Hi' }, 3, 'text'] },
      msg: 'Hi Ada',
      ids: [1, 2],
      keepsDollar$: 'not a path',
    });
  });

  it('does not alias the input', () => {
    const out = applyPayloadTemplate({ 'o.$': '$.obj', lit: { a: [1] } }, input, context, vars) as {
      o: unknown;
    };
    expect(out.o).toEqual({ k: 'v' });
    const template = { lit: { a: [1] } };
    const copy = applyPayloadTemplate(template, input, context, vars) as { o: unknown; lit: { a: number[] } };
    copy.lit.a.push(2);
    expect(template.lit.a).toEqual([1]);
  });

  it('fails like AWS when a path matches nothing', () => {
    const e = statesError(() =>
      applyPayloadTemplate({ 'value.$': '$.no_such_jsonpath' }, { 'int-literal': 0 }, {}, {}),
    );
    expect(e.error).toBe('States.Runtime');
    expect(e.causeText).toBe(
      "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'",
    );
  });

  it('evaluateDynamicField serves ErrorPath / CausePath (paths and intrinsics)', () => {
    expect(evaluateDynamicField('ErrorPath', '$.name', input, context, vars)).toBe('Ada');
    expect(evaluateDynamicField('CausePath', "States.Format('bad {}', $.name)", input, context, vars)).toBe(
      'bad Ada',
    );
    const e = statesError(() => evaluateDynamicField('ErrorPath', '$.ErrorX', { Error: 'e' }, {}, {}));
    expect(e.causeText).toBe(
      "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{\"Error\":\"e\"}'",
    );
  });

  it('reports intrinsic failures as States.IntrinsicFailure', () => {
    expect(
      statesError(() => applyPayloadTemplate({ 'x.$': 'States.ArrayGetItem($.list, 5)' }, input, {}, {}))
        .error,
    ).toBe('States.IntrinsicFailure');
  });
});

describe('applyResultPath', () => {
  const input = { a: 1, deep: { keep: true } };

  it('undefined and "$" replace the input; null keeps it', () => {
    expect(applyResultPath(input, { r: 1 }, undefined)).toEqual({ r: 1 });
    expect(applyResultPath(input, { r: 1 }, '$')).toEqual({ r: 1 });
    expect(applyResultPath(input, { r: 1 }, null)).toBe(input);
  });

  it('writes into a copy of the input, creating objects', () => {
    const out = applyResultPath(input, 'R', '$.deep.x.y');
    expect(out).toEqual({ a: 1, deep: { keep: true, x: { y: 'R' } } });
    expect(input).toEqual({ a: 1, deep: { keep: true } });
    expect(applyResultPath(input, 2, '$.a')).toEqual({ a: 2, deep: { keep: true } });
    expect(applyResultPath({ arr: [1, 2] }, 'z', '$.arr[1]')).toEqual({ arr: [1, 'z'] });
    expect(applyResultPath({}, 'v', "$['odd key']")).toEqual({ 'odd key': 'v' });
  });

  it('fails with States.ResultPathMatchFailure when the input is not an object', () => {
    const e = statesError(() => applyResultPath('hello', 1, '$.x'));
    expect(e.error).toBe('States.ResultPathMatchFailure');
    expect(e.causeText).toBe('Unable to apply ReferencePath $.x to input "hello"');
    expect(statesError(() => applyResultPath({ a: 'str' }, 1, '$.a.b')).error).toBe(
      'States.ResultPathMatchFailure',
    );
    expect(statesError(() => applyResultPath([1], 1, '$.a')).error).toBe('States.ResultPathMatchFailure');
    expect(statesError(() => applyResultPath({}, 1, '$.a[*]')).error).toBe('States.ResultPathMatchFailure');
  });
});
