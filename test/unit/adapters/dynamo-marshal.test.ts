import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { marshallValue, unmarshallItem } from '../../../lambdas/adapters/dynamo-marshal.js';
import { seeded } from '../../support/differential.js';

/**
 * The handlers' marshalling must be the SDK's to the value and to the error
 * message: every kind of value the SDK takes or refuses, nested at random
 * (seeded), goes through both.
 */
class Point {
  constructor(
    readonly x = 1,
    readonly y = 2,
  ) {}
}

function generator(seed: number) {
  const next = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const numbers = [
    0,
    -0,
    1,
    -7,
    3.25,
    1e-7,
    1e21,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    2 ** 53,
    -(2 ** 53),
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ];
  const leaf = (): unknown =>
    pick([
      () => pick(['', 'a', 'RUN#01', 'é\u{1F600}', 'x'.repeat(50)]),
      () => pick(numbers),
      () => next() < 0.5,
      () => null,
      () => undefined,
      () => () => 1,
      () => new Uint8Array([1, 2, 3]),
      () => Buffer.from('ab'),
      () => new Uint8Array(0),
      () => 12n,
      () => new NumberValue('123456789012345678901234567890'),
      () =>
        new Set<unknown>(
          pick<unknown[]>([['a', 'b'], [1, 2], [new Uint8Array([1])], [], ['a', undefined], [1, 'a']]),
        ),
      () =>
        new Map<string, unknown>([
          ['k', 1],
          ['u', undefined],
        ]),
      () => new Date(0),
      () => new Point(),
      () => Object.assign(Object.create(null), { n: 1 }),
      () => ({ constructor: 'not a function' }),
      // An array with an iterator of its own: the SDK reads it by index.
      () =>
        Object.assign([1, 2], {
          [Symbol.iterator]: function* () {
            yield 9;
          },
        }),
    ])();
  const value = (depth: number): unknown => {
    const r = next();
    if (depth > 3 || r < 0.5) return leaf();
    if (r < 0.75) {
      const list: unknown[] = Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      if (next() < 0.1) list.length += 2; // holes
      return list;
    }
    const out: Record<string, unknown> = {};
    for (const k of ['pk', 'sk', 'n', 'nested', '__proto__x'].slice(0, Math.floor(next() * 5)))
      out[k] = value(depth + 1);
    return next() < 0.1 ? Object.create(out) : out;
  };
  return { value, leaf };
}

const outcome = (f: () => unknown): { value?: unknown; error?: string } => {
  try {
    return { value: f() };
  } catch (err) {
    return { error: String((err as Error).message) };
  }
};

describe("the handlers' DynamoDB marshalling", () => {
  it("marshals every value as the SDK's marshall with removeUndefinedValues does, refusals word for word", () => {
    let answered = 0;
    for (const seed of [1, 2, 3, 4]) {
      const gen = generator(seed);
      for (let i = 0; i < 500; i++) {
        const v = gen.value(0);
        const ours = outcome(() => marshallValue(v));
        const sdk = outcome(() => marshall(v as never, { removeUndefinedValues: true }));
        expect(ours, String(i)).toEqual(sdk);
        if (sdk.value !== undefined) answered++;
      }
    }
    // Most values are marshalled, not refused: the comparison covers the fast path.
    expect(answered).toBeGreaterThan(1000);
  });

  it("unmarshals every item as the SDK's unmarshall does, and refuses what it refuses", () => {
    const gen = generator(9);
    const items: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 2500; i++) {
      const v = gen.value(0);
      const marshalled = outcome(() =>
        marshall({ v, w: gen.leaf() } as never, { removeUndefinedValues: true }),
      );
      if (marshalled.value) items.push(marshalled.value as Record<string, unknown>);
    }
    items.push(
      { big: { N: '9007199254740993' } },
      { huge: { N: '1e400' }, tiny: { N: '-1e400' }, nan: { N: 'NaN' } },
      { notBig: { N: '1.5e30' } },
      { first: { S: undefined, N: '4' } },
      {
        bytes: { B: new Uint8Array([9]) },
        sets: { SS: ['a'] },
        ns: { NS: ['1', '2'] },
        bs: { BS: [new Uint8Array([1])] },
      },
      { odd: { X: 'y' } },
      { empty: {} },
      { nullish: { NULL: true }, flag: { BOOL: 0 } },
      { list: { L: 'not a list' } },
      { map: { M: 'ab' } },
      { proto: { M: JSON.parse('{"__proto__": {"S": "x"}, "a": {"N": "1"}}') } },
    );
    expect(items.length).toBeGreaterThan(1000);
    for (const item of items) {
      const ours = outcome(() => unmarshallItem(item));
      const sdk = outcome(() => unmarshall(item as never));
      expect(
        ours,
        JSON.stringify(item, (_k, x) => (typeof x === 'bigint' ? String(x) : x)),
      ).toEqual(sdk);
    }
  });

  it('unmarshals bytes an in-process answer carries as base64 as the SDK does the bytes themselves', () => {
    const bytes = { B: new Uint8Array([0, 255, 7]) };
    const set = { BS: [new Uint8Array([1, 2]), new Uint8Array([])] };
    const asText = (b: Uint8Array) => Buffer.from(b).toString('base64');
    const item = {
      b: { B: asText(bytes.B) },
      s: { BS: set.BS.map(asText) },
      m: { M: { b: { B: asText(bytes.B) } } },
    };
    expect(unmarshallItem(item)).toEqual(unmarshall({ b: bytes, s: set, m: { M: { b: bytes } } } as never));
    expect(unmarshallItem(item).b).toBeInstanceOf(Uint8Array);
  });
});
