import { describe, expect, it } from 'vitest';
import { canonicalJson, utf8Bytes } from '../../../lambdas/core/canonical.js';

describe('canonicalJson', () => {
  it('sorts object keys at every depth', () => {
    const text = canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } });

    expect(text).toBe('{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same text for the same arguments written in another order', () => {
    const first = { invoice: 'INV-1', amount: { value: 120.5, currency: 'EUR' }, lines: [1, 2] };
    const second = { lines: [1, 2], amount: { currency: 'EUR', value: 120.5 }, invoice: 'INV-1' };

    expect(canonicalJson(first)).toBe(canonicalJson(second));
  });

  it('keeps array order, which is meaningful', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('drops undefined object values, as JSON.stringify does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('writes primitives and strings exactly as JSON.stringify', () => {
    for (const v of [0, -1.5, 1e21, true, false, null, 'plain', 'quote " and \\ and \n', 'ünïcødé 😀']) {
      expect(canonicalJson(v)).toBe(JSON.stringify(v));
    }
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('sorts keys by UTF-16 code unit, independent of locale', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, é: 4 })).toBe('{"B":2,"a":3,"b":1,"é":4}');
  });

  it('is parseable JSON equal to the input', () => {
    const value = { z: [{ b: 'x', a: [true, null] }], a: -0.25 };

    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });
});

describe('utf8Bytes', () => {
  it('counts bytes, not characters', () => {
    expect(utf8Bytes('abc')).toBe(3);
    expect(utf8Bytes('é')).toBe(2);
    expect(utf8Bytes('請求書')).toBe(9);
    expect(utf8Bytes('😀')).toBe(4);
  });
});
