import { describe, expect, it } from 'vitest';
import { utf8Bytes } from '../../../lambdas/core/canonical.js';
import { trimResult } from '../../../lambdas/core/trim.js';

const rows = Array.from({ length: 500 }, (_, i) => ({
  id: `INV-${i}`,
  amount: i * 10,
  vendor: 'Harbour Supplies Ltd',
  memo: 'quarterly maintenance',
}));

describe('trimResult', () => {
  it('leaves a small result alone', () => {
    const r = trimResult({ id: 'INV-1', amount: 10 }, { maxBytes: 1024 });

    expect(r).toEqual({
      content: '{"id":"INV-1","amount":10}',
      originalBytes: 26,
      bytes: 26,
      trimmed: false,
    });
  });

  it('passes a string result through as text, not as a JSON string', () => {
    expect(trimResult('Paid on 3 March.', { maxBytes: 1024 }).content).toBe('Paid on 3 March.');
  });

  it('projects an object to the named fields', () => {
    const r = trimResult(
      { id: 'INV-1', amount: 10, memo: 'long text', raw: { deep: true } },
      { maxBytes: 1024, fields: ['id', 'amount'] },
    );

    expect(JSON.parse(r.content)).toEqual({ id: 'INV-1', amount: 10 });
    expect(r.trimmed).toBe(true);
    expect(r.originalBytes).toBeGreaterThan(r.bytes);
  });

  it('projects each item of an array and skips fields an item lacks', () => {
    const r = trimResult(
      [
        { id: 'A', amount: 1, memo: 'x' },
        { id: 'B', memo: 'y' },
      ],
      { maxBytes: 1024, fields: ['id', 'amount'] },
    );

    expect(JSON.parse(r.content)).toEqual([{ id: 'A', amount: 1 }, { id: 'B' }]);
  });

  it('caps the text at maxBytes and says how big the result was', () => {
    const original = utf8Bytes(JSON.stringify(rows));

    const r = trimResult(rows, { maxBytes: 2048 });

    expect(r.trimmed).toBe(true);
    expect(r.bytes).toBeLessThanOrEqual(2048);
    expect(r.bytes).toBe(utf8Bytes(r.content));
    expect(r.originalBytes).toBe(original);
    expect(r.content).toContain(
      `[trimmed: the result was ${original} bytes; only the first part is shown. Ask for something narrower.]`,
    );
    expect(r.content.startsWith('[{"id":"INV-0"')).toBe(true);
  });

  it('projects first, then caps what is left', () => {
    const r = trimResult(rows, { maxBytes: 1024, fields: ['id'] });

    expect(r.content.startsWith('[{"id":"INV-0"},{"id":"INV-1"}')).toBe(true);
    expect(r.content).not.toContain('amount');
    expect(r.bytes).toBeLessThanOrEqual(1024);
  });

  it('never cuts a multi-byte character in half', () => {
    for (let maxBytes = 256; maxBytes < 272; maxBytes++) {
      const r = trimResult('請求書😀'.repeat(200), { maxBytes });

      expect(r.bytes).toBeLessThanOrEqual(maxBytes);
      expect(r.content).not.toContain('\uFFFD');
    }
  });
});
