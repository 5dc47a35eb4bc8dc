import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DYNALITE_OPERATIONS } from '../../../../local/aws/dynalite-engine.js';
import { checkTypesFast } from '../../../../local/aws/dynalite-types.js';
import { seeded } from '../../../support/differential.js';

/**
 * The fast type check must return exactly what dynalite's `checkTypes`
 * returns (same fields, same order, same conversions) and leave the request
 * as dynalite leaves it, wherever it answers; and it must answer the requests
 * the handlers send, or it saves nothing. Each operation's type tree is
 * walked by a seeded generator that mostly writes what the type asks for and
 * now and then something dynalite converts or refuses (a string for a
 * Boolean, a float for a Long, a number for a string, null, an unknown field,
 * invalid base64), and both checks run on copies of each request.
 */
const require = createRequire(import.meta.url);
const validations = require('dynalite/validations') as {
  checkTypes(data: unknown, types: unknown): unknown;
  toLowerFirst(s: string): string;
};
const typesOf = (op: string) =>
  (require(`dynalite/validations/${validations.toLowerFirst(op)}`) as { types: Record<string, unknown> })
    .types;

type Spec = string | { type?: string; children?: unknown };

const ATTRIBUTE: Record<string, Spec> = {
  S: 'String',
  N: 'String',
  B: 'Blob',
  BOOL: 'Boolean',
  NULL: 'Boolean',
  SS: { type: 'List', children: 'String' },
  NS: { type: 'List', children: 'String' },
  BS: { type: 'List', children: 'Blob' },
  L: { type: 'List', children: 'AttrStruct<ValueStruct>' },
  M: { type: 'Map<AttributeValue>', children: 'AttrStruct<ValueStruct>' },
};

function generator(seed: number, oddRate: number) {
  const next = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const odd = () => next() < oddRate;
  const oddValue = () => pick([null, 'true', 'no', 7, 1.5, true, [], {}, 'not base64!', 'QQ==']);
  const gen = (spec: Spec, depth: number): unknown => {
    if (odd()) return oddValue();
    const name = typeof spec === 'string' ? spec : (spec.type ?? '');
    const base = /(.+?)<(.+)>$/.exec(name)?.[1] ?? name;
    const children = typeof spec === 'string' ? undefined : (spec.children as Spec | Record<string, Spec>);
    switch (base) {
      case 'AttrStruct':
        return struct(ATTRIBUTE, depth + 1, 1);
      case 'Boolean':
        return next() < 0.5;
      case 'Short':
      case 'Integer':
      case 'Long':
        return pick([0, 1, 25, 100]);
      case 'Double':
        return pick([0.5, 3]);
      case 'String':
        return pick(['a', 'users', 'ALL_NEW', 'sk', '#n = :v', '']);
      case 'Blob':
        return pick(['QUJD', 'AAAA', '']);
      case 'List':
      case 'ParameterizedList':
        return depth > 3
          ? []
          : Array.from({ length: pick([0, 1, 2]) }, () => gen(children as Spec, depth + 1));
      case 'Map':
      case 'ParameterizedMap': {
        const out: Record<string, unknown> = {};
        if (depth <= 3)
          for (const k of ['pk', 'sk', 'x'].slice(0, pick([0, 1, 3])))
            out[k] = gen(children as Spec, depth + 1);
        return out;
      }
      case 'ValueStruct':
      case 'FieldStruct':
        return struct((children ?? {}) as Record<string, Spec>, depth + 1, 0.6);
      default:
        return 'unknown type';
    }
  };
  const struct = (types: Record<string, Spec>, depth: number, share: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(types);
    // An attribute value has one field; a struct a share of its fields, in an order of its own.
    const chosen = share === 1 ? [pick(keys)] : keys.filter(() => next() < share).reverse();
    for (const k of chosen) {
      if (depth > 4 && (k === 'L' || k === 'M')) continue;
      out[k] = gen(types[k] as Spec, depth);
    }
    if (odd()) out.UnknownField = 'x';
    return out;
  };
  return (types: Record<string, Spec>) => struct(types, 0, 0.7);
}

function original(request: unknown, types: unknown): { out?: unknown; error?: string; after: string } {
  try {
    const out = validations.checkTypes(request, types);
    return { out, after: JSON.stringify(request) };
  } catch (err) {
    return { error: String((err as Error).message), after: JSON.stringify(request) };
  }
}

describe("the fast version of dynalite's type check", () => {
  for (const op of DYNALITE_OPERATIONS) {
    it(`returns what dynalite's returns for ${op}, and leaves the request as dynalite does`, () => {
      const types = typesOf(op) as Record<string, Spec>;
      let answered = 0;
      for (const [seed, oddRate] of [
        [1, 0],
        [2, 0.03],
        [3, 0.1],
      ] as const) {
        const gen = generator(seed * 7919 + op.length, oddRate);
        for (let i = 0; i < 150; i++) {
          const request = gen(types);
          const text = JSON.stringify(request);
          const mine = JSON.parse(text) as Record<string, unknown>;
          const fast = checkTypesFast(mine, types);
          if (fast === undefined) continue;
          answered += 1;
          const theirs = original(JSON.parse(text), types);
          expect(
            theirs.error,
            `${op} ${text}: dynalite refuses it, the fast check passed it`,
          ).toBeUndefined();
          expect(JSON.stringify(fast), `${op} ${text}`).toBe(JSON.stringify(theirs.out));
          expect(JSON.stringify(mine), `${op} ${text}: the request afterwards`).toBe(theirs.after);
        }
      }
      // Without odd values, every generated request is answered.
      expect(answered).toBeGreaterThanOrEqual(150);
    });
  }

  it('answers the requests the handlers send, and gives up on what dynalite converts or refuses', () => {
    const put = typesOf('PutItem');
    const update = typesOf('UpdateItem');
    const item = {
      pk: { S: 'RUN#1' },
      sk: { S: 'MSG#0001' },
      n: { N: '3' },
      flags: { M: { ok: { BOOL: true }, none: { NULL: true }, tags: { SS: ['a', 'b'] } } },
      list: { L: [{ S: 'x' }, { N: '1' }] },
    };
    expect(
      checkTypesFast(
        {
          TableName: 'Runs',
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
        put,
      ),
    ).toBeDefined();
    expect(
      checkTypesFast(
        {
          TableName: 'Runs',
          Key: { pk: { S: 'RUN#1' }, sk: { S: 'LEDGER' } },
          UpdateExpression: 'SET #a = :a',
          ExpressionAttributeNames: { '#a': 'a' },
          ExpressionAttributeValues: { ':a': { N: '1' } },
          ReturnValues: 'ALL_NEW',
        },
        update,
      ),
    ).toBeDefined();
    expect(checkTypesFast({ TableName: 'Runs', Item: { pk: { BOOL: 'true' } } }, put)).toBeUndefined();
    expect(checkTypesFast({ TableName: 7, Item: item }, put)).toBeUndefined();
    expect(checkTypesFast({ TableName: 'Runs', Item: { pk: { B: 'not base64!' } } }, put)).toBeUndefined();
  });
});
