import { describe, expect, it } from 'vitest';
import { NotJsonError } from '../../../lambdas/core/errors.js';
import { jsonOf, notJson } from '../../../lambdas/core/json-value.js';

describe('notJson: where a value stops being JSON that says what it holds', () => {
  it('names the path and what is there, for each value JSON.stringify would lose or refuse', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    class LockedError extends Error {}
    const cases: Array<[unknown, string]> = [
      [new Map([['k', 1]]), '$ is a Map'],
      [{ vendors: new Set(['V-1']) }, '$.vendors is a Set'],
      [[1, new LockedError('locked')], '$[1] is a LockedError'],
      [new Error('x'), '$ is an Error'],
      [{ amount: 10n ** 20n }, '$.amount is a BigInt'],
      [{ total: Number.NaN }, '$.total is NaN'],
      [{ 'a b': [Number.POSITIVE_INFINITY] }, '$["a b"][0] is Infinity'],
      [{ run: () => 1 }, '$.run is a function'],
      [Symbol('s'), '$ is a symbol'],
      [Promise.resolve(1), '$ is a Promise'],
      [/x/, '$ is a RegExp'],
      [circular, '$.self refers back to an object that holds it'],
    ];
    for (const [value, problem] of cases) expect(notJson(value)).toBe(problem);
  });

  it('lets through what JSON keeps: plain values, undefined where JSON drops it, toJSON values, shared (not circular) objects', () => {
    const shared = { id: 1 };
    const ok: unknown[] = [
      'text',
      0,
      -1.5,
      true,
      null,
      undefined,
      { a: undefined, b: [undefined, 2] },
      new Date(0),
      Buffer.from('hi'),
      { first: shared, second: shared },
      [[[{ deep: 'yes' }]]],
      // A toJSON that returns itself is called once, as JSON.stringify does.
      {
        toJSON() {
          return { plain: true };
        },
      },
    ];
    for (const value of ok) expect(notJson(value), JSON.stringify(value)).toBeUndefined();
  });
});

describe('jsonOf', () => {
  it('is the JSON copy of a value, and a NotJsonError naming what and where otherwise', () => {
    expect(jsonOf({ at: new Date(0), n: 1 }, 'x')).toEqual({ at: '1970-01-01T00:00:00.000Z', n: 1 });
    expect(jsonOf(undefined, 'x')).toBeNull();
    expect(() => jsonOf(new Map(), "code step c's output")).toThrow(NotJsonError);
    expect(() => jsonOf({ amount: 1n }, "code step c's output")).toThrow(
      /^code step c's output is not JSON: \$\.amount is a BigInt/,
    );
  });
});
