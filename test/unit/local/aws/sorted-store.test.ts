import { describe, expect, it } from 'vitest';
import {
  compareKeys,
  type RangeOptions,
  SortedKeys,
  SortedStore,
} from '../../../../local/aws/sorted-store.js';

/** A seeded PRNG, so a failure repeats. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ['a', 'b', 'z', '/', '~', '\xFF', 'é', '\uE000', '\uFFFD', '😀', '𝄞', '0', '9'];
/** Below U+D800 only: UTF-16 order is byte order. */
const PLAIN = ['a', 'b', 'z', '/', '~', '\xFF', 'é', '0', '9', 'A'];
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('the sorted store under dynalite', () => {
  it('orders keys by their UTF-8 bytes, as memory-level does, characters above U+FFFF included', () => {
    const rand = prng(7);
    const word = () =>
      Array.from(
        { length: 1 + Math.floor(rand() * 5) },
        () => ALPHABET[Math.floor(rand() * ALPHABET.length)],
      ).join('');
    const keys = Array.from({ length: 2_000 }, word);
    expect([...keys].sort(compareKeys)).toEqual([...keys].sort(byBytes));
    // Where UTF-16 order and byte order disagree: U+1F600 is above U+E000 in bytes, below it in code units.
    expect(compareKeys('😀', '\uE000')).toBeGreaterThan(0);
    expect('😀' < '\uE000').toBe(true);
  });

  // Dynalite's own keys (hex, ASCII) are compared as UTF-16 until the first key with a unit at or above U+D800.
  // The sorted keys are runs of at most maxRun keys: runs of 2 and 5 are split and emptied
  // thousands of times here, the default (512) a few times.
  for (const [keys, alphabet, astralAfter, maxRun] of [
    ['any characters', ALPHABET, 0, undefined],
    ['ASCII and Latin-1 keys', PLAIN, Number.POSITIVE_INFINITY, undefined],
    ['ASCII keys, then characters above U+FFFF from step 1,500 on', PLAIN, 1_500, undefined],
    ['any characters, runs of at most 2 keys', ALPHABET, 0, 2],
    ['ASCII keys, then characters above U+FFFF, runs of at most 5 keys', PLAIN, 1_500, 5],
  ] as const)
    it(`answers every range (gt, gte, lt, lte, reverse, limit) as a filter of the sorted keys would, through puts and deletes: ${keys}`, () => {
      const rand = prng(11);
      const store = new SortedStore(maxRun);
      const truth = new Map<string, number>();
      let step = 0;
      const key = () => {
        const from = step >= astralAfter ? ALPHABET : alphabet;
        return `item-T~${Math.floor(rand() * 400)}/${from[Math.floor(rand() * from.length)]}`;
      };
      const bound = () => (rand() < 0.3 ? undefined : key());
      store.range({}); // sorted from here on: later writes keep it sorted in place
      for (; step < 3_000; step++) {
        const k = key();
        if (rand() < 0.3) {
          store.del(k);
          truth.delete(k);
        } else {
          store.put(k, { n: step });
          truth.set(k, step);
        }
        if (step % (maxRun === undefined ? 50 : 7) !== 0) continue;
        const o: RangeOptions = {};
        const lower = bound();
        const upper = bound();
        if (lower !== undefined) o[rand() < 0.5 ? 'gt' : 'gte'] = lower;
        if (upper !== undefined) o[rand() < 0.5 ? 'lt' : 'lte'] = upper;
        if (rand() < 0.5) o.reverse = true;
        if (rand() < 0.5) o.limit = Math.floor(rand() * 20);
        let expected = [...truth.keys()].sort(byBytes).filter((x) => {
          if (o.gt !== undefined && byBytes(x, o.gt) <= 0) return false;
          if (o.gte !== undefined && byBytes(x, o.gte) < 0) return false;
          if (o.lt !== undefined && byBytes(x, o.lt) >= 0) return false;
          if (o.lte !== undefined && byBytes(x, o.lte) > 0) return false;
          return true;
        });
        if (o.reverse) expected = expected.reverse();
        if (o.limit !== undefined && o.limit >= 0) expected = expected.slice(0, o.limit);
        const got = store.range(o);
        expect(got.map(([k]) => k)).toEqual(expected);
        expect(got.map(([, text]) => JSON.parse(text).n)).toEqual(expected.map((k) => truth.get(k)));
      }
    });

  it('keeps the keys in order across runs, from a sorted start and through inserts and deletes', () => {
    const rand = prng(5);
    const start = Array.from({ length: 50 }, (_, i) => `k${String(i * 10).padStart(4, '0')}`);
    const keys = SortedKeys.of(start, compareKeys, 4);
    const truth = new Set(start);
    for (let step = 0; step < 2_000; step++) {
      const k = `k${String(Math.floor(rand() * 600)).padStart(4, '0')}`;
      if (truth.has(k)) {
        keys.delete(k);
        truth.delete(k);
      } else {
        keys.insert(k);
        truth.add(k);
      }
      if (step % 97 === 0) expect(keys.toArray()).toEqual([...truth].sort(compareKeys));
    }
    expect(keys.toArray()).toEqual([...truth].sort(compareKeys));
    expect(keys.length).toBe(truth.size);
    // Emptied, then one key again.
    for (const k of [...truth]) keys.delete(k);
    expect(keys.toArray()).toEqual([]);
    expect(keys.lowerBound('a')).toEqual(keys.end());
    keys.insert('only');
    expect(keys.toArray()).toEqual(['only']);
  });

  it('given both bounds of a side, takes lte over lt and gte over gt, as abstract-level does', () => {
    const store = new SortedStore();
    for (const k of ['a', 'b', 'c', 'd', 'e']) store.put(k, k);
    const keys = (o: RangeOptions) => store.range(o).map(([k]) => k);
    expect(keys({ gte: 'a', lt: 'b', lte: 'd' })).toEqual(['a', 'b', 'c', 'd']);
    expect(keys({ gt: 'a', gte: 'c' })).toEqual(['c', 'd', 'e']);
    expect(keys({ reverse: true, lt: 'b', lte: 'd' })).toEqual(['d', 'c', 'b', 'a']);
  });

  it('hands out a fresh copy on every read, and a range as the store was when it was taken', () => {
    const store = new SortedStore();
    store.put('k', { L: [{ S: 'a' }] });
    const first = store.get('k') as { L: unknown[] };
    first.L.push({ S: 'changed by the reader' });
    expect(store.get('k')).toEqual({ L: [{ S: 'a' }] });
    const taken = store.range({ gte: 'k', lte: 'k~' });
    store.put('k', { changed: true });
    store.put('k2', {});
    expect(taken).toEqual([['k', '{"L":[{"S":"a"}]}']]);
  });

  it('applies a batch whole or not at all: a value JSON cannot carry fails it before anything changes', () => {
    const store = new SortedStore();
    store.put('a', 1);
    expect(() =>
      store.batch([
        { type: 'del', key: 'a' },
        { type: 'put', key: 'b', value: undefined },
      ]),
    ).toThrow('sorted store: the value at b is not JSON');
    expect(store.get('a')).toBe(1);
    expect(store.get('b')).toBeUndefined();
    expect(store.size).toBe(1);
  });
});
