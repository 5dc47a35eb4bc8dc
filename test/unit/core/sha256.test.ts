import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../lambdas/core/sha256.js';

describe('sha256', () => {
  it('is the digest createHash gives, in hex and base64url, for any text', () => {
    for (const text of [
      '',
      'abc',
      'RUN#01ABC\u0000loop\u0000toolu_1\u0000',
      'é😀\uFFFD',
      'x'.repeat(10_000),
    ]) {
      expect(sha256(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
      expect(sha256(text, 'base64url')).toBe(createHash('sha256').update(text, 'utf8').digest('base64url'));
    }
  });
});
