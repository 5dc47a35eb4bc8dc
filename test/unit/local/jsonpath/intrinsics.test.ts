import { describe, expect, it } from 'vitest';
import { StatesError } from '../../../../local/sfn/errors.js';
import { evaluateIntrinsic } from '../../../../local/sfn/jsonpath/index.js';

const input = {
  arr: [1, 2, 2, { a: 1 }, { a: 1 }],
  s: 'a,b',
  o1: { a: 1, n: { x: 1 } },
  o2: { b: 2, n: { y: 2 } },
};
const ctx = { Execution: { Name: 'exec-1' } };
const vars = { v: 'var-value', n: 4 };
const ev = (expr: string) => evaluateIntrinsic(expr, input, ctx, vars);

function errorOf(expr: string): StatesError {
  try {
    ev(expr);
  } catch (e) {
    if (e instanceof StatesError) return e;
    throw e;
  }
  throw new Error(`expected ${expr} to fail`);
}

describe('evaluateIntrinsic', () => {
  it('States.Format with escapes, paths, variables and Java-style rendering of objects', () => {
    expect(ev("States.Format('Hello {} from {}', $v, $$.Execution.Name)")).toBe(
      'Hello var-value from exec-1',
    );
    expect(ev("States.Format('braces \\{\\} and quote \\' and slash \\\\ {}', 1)")).toBe(
      "braces {} and quote ' and slash \\ 1",
    );
    expect(ev("States.Format('{}|{}|{}|{}', $.o1, $.arr, null, 1.5)")).toBe(
      '{a=1, n={x=1}}|[1, 2, 2, {a=1}, {a=1}]|null|1.5',
    );
    expect(errorOf("States.Format('{} {}', 1)").error).toBe('States.IntrinsicFailure');
    // Non-integral numbers print the way Java's Double.toString does.
    expect(ev("States.Format('{} {} {}', 0.0001, 15000000.5, 2.25)")).toBe('1.0E-4 1.50000005E7 2.25');
  });

  it('JSON functions', () => {
    expect(ev('States.StringToJson(\'{"k": [1, true]}\')')).toEqual({ k: [1, true] });
    expect(ev('States.JsonToString($.o1)')).toBe('{"a":1,"n":{"x":1}}');
    expect(ev('States.JsonMerge($.o1, $.o2, false)')).toEqual({ a: 1, b: 2, n: { y: 2 } });
    expect(errorOf("States.StringToJson('{nope')").error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.JsonMerge($.arr, $.o2, false)').error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.JsonMerge($.o1, $.o2, true)').error).toBe('States.IntrinsicFailure');
  });

  it('array functions', () => {
    expect(ev("States.Array(1, 'two', true, null, $.o1.a)")).toEqual([1, 'two', true, null, 1]);
    expect(ev('States.ArrayPartition($.arr, 2)')).toEqual([[1, 2], [2, { a: 1 }], [{ a: 1 }]]);
    expect(ev('States.ArrayContains($.arr, $.o1.n)')).toBe(false);
    expect(ev('States.ArrayContains($.arr, States.StringToJson(\'{"a":1}\'))')).toBe(true);
    expect(ev('States.ArrayRange(1, 9, 2)')).toEqual([1, 3, 5, 7, 9]);
    expect(ev('States.ArrayRange(5, 1, -2)')).toEqual([5, 3, 1]);
    expect(ev('States.ArrayGetItem($.arr, 3)')).toEqual({ a: 1 });
    expect(ev('States.ArrayLength($.arr)')).toBe(5);
    expect(ev('States.ArrayUnique($.arr)')).toEqual([1, 2, { a: 1 }]);
    expect(errorOf('States.ArrayPartition($.arr, 0)').error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.ArrayRange(0, 2000, 1)').error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.ArrayRange(0, 2, 0)').error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.ArrayGetItem($.arr, 5)').error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.ArrayLength($.s)').error).toBe('States.IntrinsicFailure');
  });

  it('encoding, hashing, math, strings, UUID', () => {
    expect(ev("States.Base64Encode('Data to encode')")).toBe('RGF0YSB0byBlbmNvZGU=');
    expect(ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')")).toBe('Data to encode');
    expect(ev("States.Hash('input data', 'SHA-1')")).toBe('aaff4a450a104cd177d28d18d74485e8cae074b7');
    expect(errorOf("States.Hash('x', 'CRC32')").error).toBe('States.IntrinsicFailure');
    expect(errorOf("States.Base64Decode('***')").error).toBe('States.IntrinsicFailure');
    expect(ev('States.MathAdd($n, -1)')).toBe(3);
    expect(ev('States.MathAdd(1.5, 1.51)')).toBe(4);
    expect(errorOf("States.MathAdd('1', 2)").error).toBe('States.IntrinsicFailure');
    const r = ev('States.MathRandom(1, 5)') as number;
    expect(Number.isInteger(r) && r >= 1 && r < 5).toBe(true);
    expect(ev('States.MathRandom(1, 1000, 7)')).toBe(ev('States.MathRandom(1, 1000, 7)'));
    expect(ev("States.StringSplit($.s, ',')")).toEqual(['a', 'b']);
    expect(ev("States.StringSplit('a.b+c', '.+')")).toEqual(['a', 'b', 'c']);
    expect(ev('States.UUID()')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('nested calls', () => {
    expect(
      ev(
        "States.ArrayGetItem(States.StringSplit('x-y-z', '-'), States.MathAdd(States.ArrayLength(States.StringSplit('x-y-z', '-')), -1))",
      ),
    ).toBe('z');
  });

  it('rejects bad syntax and unknown functions; missing paths are States.Runtime', () => {
    expect(errorOf('States.Nope(1)').error).toBe('States.IntrinsicFailure');
    expect(errorOf("States.Format('x'").error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.ArrayLength($.arr) trailing').error).toBe('States.IntrinsicFailure');
    expect(errorOf('States.ArrayLength($.missing)').error).toBe('States.Runtime');
  });
});
