import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { canonicalNumber, fastValueCheck } from '../../../../local/aws/dynalite-values.js';
import { freshModule, seeded } from '../../../support/differential.js';

/**
 * The fast value check must answer what dynalite's `validateAttributeValue`
 * answers and leave each value as dynalite leaves it (numbers rewritten in
 * `big.js`'s form): seeded values of every type, numbers in every spelling
 * and range, empty and duplicate sets, values with no type or two. The
 * original comes from a fresh copy of dynalite's validations module.
 */
const require = createRequire(import.meta.url);

type Check = (value: Record<string, unknown>) => string | undefined;
const original = freshModule<{ validateAttributeValue: Check }>(
  'dynalite/validations',
).validateAttributeValue;
const fast = fastValueCheck(original);
const Big = require(require.resolve('big.js', { paths: [require.resolve('dynalite')] })) as new (
  n: string,
) => { toFixed(): string };

function generator(seed: number) {
  const next = seeded(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const digits = (n: number) => Array.from({ length: n }, () => String(int(10))).join('');
  const number = (): string =>
    pick([
      () => String(int(1000) - 500),
      () => `${pick(['', '-'])}${1 + int(9)}${digits(int(45))}`,
      () => `${pick(['', '-'])}${pick(['0', '00', '12'])}.${digits(int(6))}${pick(['', '0', '5'])}`,
      () => `0.${'0'.repeat(int(140))}${1 + int(9)}`,
      () => `${1 + int(9)}e${pick(['', '-', '+'])}${int(140)}`,
      () => pick(['', '-0', '0', '.5', '5.', 'abc', '1.50', '007', '-', ' 1']),
    ])();
  const value = (depth: number): Record<string, unknown> => {
    switch (pick(['S', 'N', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M', 'two', 'none'] as const)) {
      case 'S':
        return { S: pick(['', 'a', 'é']) };
      case 'N':
        return { N: number() };
      case 'B':
        return { B: 'QUJD' };
      case 'BOOL':
        return { BOOL: next() < 0.5 };
      case 'NULL':
        return { NULL: next() < 0.8 };
      case 'SS':
        return { SS: Array.from({ length: int(3) }, () => pick(['a', 'b'])) };
      case 'NS':
        return { NS: Array.from({ length: int(3) }, number) };
      case 'BS':
        return { BS: Array.from({ length: int(3) }, () => pick(['QQ==', 'Qg=='])) };
      case 'L':
        return { L: depth > 3 ? [] : Array.from({ length: int(4) }, () => value(depth + 1)) };
      case 'M': {
        const m: Record<string, unknown> = {};
        if (depth <= 3) for (const k of ['a', 'b', 'c'].slice(0, int(4))) m[k] = value(depth + 1);
        return { M: m };
      }
      case 'two':
        return { S: 'a', N: number() };
      case 'none':
        return {};
    }
  };
  return { value, number };
}

describe("the fast version of dynalite's attribute value check", () => {
  it('answers and rewrites every value as dynalite does', () => {
    let passed = 0;
    for (const seed of [1, 2, 3]) {
      const gen = generator(seed);
      for (let i = 0; i < 1500; i++) {
        const v = gen.value(0);
        const a = structuredClone(v);
        const b = structuredClone(v);
        const theirs = original(a);
        const ours = fast(b);
        expect([ours, b], JSON.stringify(v)).toEqual([theirs, a]);
        if (theirs === undefined) passed++;
      }
    }
    expect(passed).toBeGreaterThan(1500);
  });

  it('calls a number canonical only where big.js writes it back unchanged and DynamoDB takes it', () => {
    const gen = generator(7);
    let canonical = 0;
    for (let i = 0; i < 5000; i++) {
      const n = gen.number();
      if (!canonicalNumber(n)) continue;
      canonical++;
      expect(new Big(n).toFixed(), n).toBe(n);
      expect(original({ N: n }), n).toBeUndefined();
    }
    expect(canonical).toBeGreaterThan(1000);
  });
});
