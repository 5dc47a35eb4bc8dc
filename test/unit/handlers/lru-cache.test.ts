/**
 * The LRU cache the bundles put in place of mnemonist's (DynamoDB's
 * endpoint-discovery cache): the same answers as mnemonist's `LRUCache` for
 * the operations `@aws-sdk/endpoint-cache` performs, checked against the real
 * one over a long pseudo-random sequence.
 */
import MnemonistLRU from 'mnemonist/lru-cache.js';
import { describe, expect, it } from 'vitest';
import LRUCache from '../../../lambdas/handlers/wire/lru-cache.js';

describe('lru-cache (mnemonist/lru-cache in bundles)', () => {
  it('answers every get/peek/has/set/clear as mnemonist does, evicting the least recently used', () => {
    const ours = new LRUCache<string, number>(5);
    const theirs = new MnemonistLRU<string, number>(5);
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 5000; i++) {
      const key = `k${next() % 9}`;
      const op = next() % 20;
      if (op < 8) {
        ours.set(key, i);
        theirs.set(key, i);
      } else if (op < 13) expect(ours.get(key)).toBe(theirs.get(key));
      else if (op < 16) expect(ours.peek(key)).toBe(theirs.peek(key));
      else if (op < 19) expect(ours.has(key)).toBe(theirs.has(key));
      else {
        ours.clear();
        theirs.clear();
      }
      expect(ours.size).toBe(theirs.size);
    }
  });

  it('refuses a capacity that is not a positive number, by name', () => {
    expect(() => new LRUCache(0)).toThrow(/LRUCache: capacity must be a positive number, got 0/);
  });
});
