import { describe, expect, it } from 'vitest';
import {
  addConsumedCapacity,
  capacityUnits,
  type DynaliteSizing,
  installFastSizes,
  itemSize,
  numberSize,
} from '../../../../local/aws/dynalite-sizes.js';
import { freshModule, seeded } from '../../../support/differential.js';

/**
 * The fast sizes and keys must answer exactly what dynalite's own functions
 * answer: every sizing mode on seeded random items (every attribute type,
 * nested lists and maps, numbers in every spelling DynamoDB accepts), and
 * every key on tables with string, number and binary keys. Dynalite's
 * originals come from a fresh copy of its `db` module, which nothing here
 * has replaced.
 */

const original = freshModule<DynaliteSizing>('dynalite/db');
const replaced = freshModule<DynaliteSizing>('dynalite/db');
installFastSizes(replaced);

function generator(seed: number) {
  const next = seeded(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const digits = (n: number) => Array.from({ length: n }, () => String(int(10))).join('');
  const number = (): string => {
    const sign = pick(['', '', '-']);
    const whole = pick([
      '0',
      '00',
      digits(1 + int(3)),
      digits(1 + int(20)),
      `${1 + int(9)}${'0'.repeat(int(6))}`,
    ]);
    const fraction = pick([
      '',
      '',
      `.${digits(1 + int(6))}`,
      `.${'0'.repeat(1 + int(4))}${digits(1 + int(3))}`,
      '.000',
    ]);
    const exponent = pick(['', '', '', `e${int(40)}`, `E-${int(40)}`, `e+${int(5)}`]);
    return pick([
      `${sign}${whole}${fraction}${exponent}`,
      `${sign}${whole}${fraction}`,
      `${sign}.${digits(1 + int(4))}`,
    ]);
  };
  const text = () =>
    pick(['', 'a', 'users', 'é'.repeat(int(5)), 'x'.repeat(int(200)), '\u{1F600}'.repeat(int(3))]);
  const blob = () => Buffer.from(digits(int(30))).toString('base64');
  const value = (depth: number): Record<string, unknown> => {
    switch (pick(['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M'] as const)) {
      case 'S':
        return { S: text() };
      case 'N':
        return { N: number() };
      case 'B':
        return { B: blob() };
      case 'BOOL':
        return { BOOL: next() < 0.5 };
      case 'NULL':
        return { NULL: true };
      case 'SS':
        return { SS: Array.from({ length: 1 + int(4) }, text) };
      case 'NS':
        return { NS: Array.from({ length: 1 + int(4) }, number) };
      case 'BS':
        return { BS: Array.from({ length: 1 + int(4) }, blob) };
      case 'L':
        return { L: depth > 3 ? [] : Array.from({ length: int(4) }, () => value(depth + 1)) };
      case 'M':
        return { M: depth > 3 ? {} : item(depth + 1) };
    }
  };
  const item = (depth = 0): Record<string, Record<string, unknown>> => {
    const out: Record<string, Record<string, unknown>> = {};
    for (let i = int(8); i >= 0; i--) out[pick(['pk', 'sk', 'a', 'bb', `attr${i}`, 'é'])] = value(depth);
    return out;
  };
  return { item, number, next, int, pick, text, blob };
}

describe("the fast versions of dynalite's item sizes", () => {
  it('size numbers in every spelling as big.js does', () => {
    const gen = generator(11);
    const fixed = [
      '0',
      '-0',
      '0.000',
      '00012.3400',
      '0.05',
      '100',
      '-1.5',
      '1e5',
      '-1.5E-3',
      '.5',
      '5.',
      '10',
      '99',
    ];
    const numbers = [...fixed, ...Array.from({ length: 4000 }, gen.number)];
    for (const n of numbers) {
      const size = (item: Record<string, unknown>) => [
        original.itemSize(item as never),
        original.itemSize(item as never, true, true, 'sk'),
      ];
      expect([numberSize(n) + 1, itemSize({ a: { N: n } }, true, true, 'sk')], n).toEqual(
        size({ a: { N: n } }),
      );
    }
  });

  it('answer what dynalite answers for every sizing mode, capacity and consumed capacity', () => {
    for (const seed of [1, 2, 3]) {
      const gen = generator(seed);
      for (let i = 0; i < 400; i++) {
        const item = gen.item();
        const old = gen.next() < 0.5 ? gen.item() : undefined;
        const name = JSON.stringify(item);
        expect(itemSize(item), name).toBe(original.itemSize(item));
        expect(itemSize(item, true), name).toBe(original.itemSize(item, true));
        expect(itemSize(item, true, true, 'sk'), name).toBe(original.itemSize(item, true, true, 'sk'));
        expect(itemSize(item, false, true), name).toBe(original.itemSize(item, false, true));
        for (const [isRead, consistent] of [
          [true, true],
          [true, false],
          [false, undefined],
        ] as const)
          expect(capacityUnits(item, isRead, consistent), name).toBe(
            original.capacityUnits(item, isRead, consistent),
          );
        for (const asked of ['TOTAL', 'INDEXES', 'NONE', undefined]) {
          const data = { TableName: 'Runs', ReturnConsumedCapacity: asked, ConsistentRead: gen.next() < 0.5 };
          expect(addConsumedCapacity(data, false, item, old), name).toEqual(
            original.addConsumedCapacity(data, false, item, old),
          );
          expect(addConsumedCapacity(data, true, old), name).toEqual(
            original.addConsumedCapacity(data, true, old),
          );
        }
      }
    }
  });

  it('are what the replaced module answers', () => {
    const item = generator(5).item();
    expect(replaced.itemSize(item, true, true, 'sk')).toBe(original.itemSize(item, true, true, 'sk'));
    expect(replaced.itemSize).not.toBe(original.itemSize);
  });
});

describe("the fast versions of dynalite's item keys", () => {
  const table = (hash: string, range?: string) => ({
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      ...(range ? [{ AttributeName: 'sk', KeyType: 'RANGE' }] : []),
    ],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: hash },
      ...(range ? [{ AttributeName: 'sk', AttributeType: range }] : []),
    ],
  });

  it('spell string key pieces in hex as dynalite does, ASCII or not', () => {
    for (const text of [
      '',
      '\t\u0000',
      'RUN#01ABC',
      'MSG#loop#000001#1u',
      '\u007f~',
      'é',
      'a😀b',
      '\uFFFF',
      'x\u0080',
    ])
      expect(replaced.toRangeStr(text, 'S'), text).toBe(original.toRangeStr(text, 'S'));
  });

  it('build the keys dynalite builds, for string, number and binary keys, every time', () => {
    const gen = generator(7);
    const piece = (type: string): string =>
      type === 'S'
        ? `RUN#${gen.int(50)}${gen.text()}`
        : type === 'N'
          ? String(gen.int(1000) - 500)
          : gen.blob() || 'AA==';
    for (const [hash, range] of [
      ['S', 'S'],
      ['S', undefined],
      ['N', 'N'],
      ['B', 'S'],
      ['S', 'B'],
    ] as const) {
      const t = table(hash, range);
      // Few partition keys, so most keys are built from a remembered prefix.
      for (let i = 0; i < 600; i++) {
        const key: Record<string, Record<string, string>> = { pk: { [hash]: piece(hash) } };
        if (range) key.sk = { [range]: piece(range) };
        expect(replaced.createKey(key, t), JSON.stringify(key)).toBe(original.createKey(key, t));
        for (const [type, value] of Object.entries(key.sk ?? key.pk ?? {})) {
          expect(replaced.toRangeStr(value, type)).toBe(original.toRangeStr(value, type));
          expect(replaced.toRangeStr({ [type]: value }, undefined as never)).toBe(
            original.toRangeStr({ [type]: value }, undefined as never),
          );
        }
        const pk = key.pk?.[hash] as string;
        expect(replaced.hashPrefix(pk, hash)).toBe(original.hashPrefix(pk, hash));
        if (range) {
          const sk = key.sk?.[range] as string;
          expect(replaced.hashPrefix(pk, hash, sk, range)).toBe(original.hashPrefix(pk, hash, sk, range));
        }
      }
    }
  });
});
