import { describe, expect, it } from 'vitest';
import { chunkDocument, sectionsOf } from '../../../../lambdas/core/memory/chunking.js';
import { KnowledgeDocumentError } from '../../../../lambdas/core/memory/errors.js';

const doc = (path: string, text: string) => ({ path, bytes: new TextEncoder().encode(text) });

describe('chunking knowledge documents', () => {
  it('starts a chunk at each heading, keeps the heading at its head, and packs paragraphs up to the limit', () => {
    const text = `# Refunds\n\n${'Refund rule one. '.repeat(10)}\n\n${'Refund rule two. '.repeat(10)}\n\n# Shipping\n\nShips in 3 days.`;
    const chunks = chunkDocument(doc('p.md', text), 400);
    expect(chunks.map((c) => c.id)).toEqual(['p.md#0', 'p.md#1']);
    expect(chunks[0]?.text.startsWith('Refunds\nRefund rule one.')).toBe(true);
    expect(chunks[0]?.text).toContain('Refund rule two.');
    expect(chunks[1]?.text).toBe('Shipping\nShips in 3 days.');
  });

  it('splits a paragraph longer than the limit at sentence ends, and every chunk stays within it', () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} says something.`).join(' ');
    const chunks = chunkDocument(doc('long.txt', long), 300);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(300);
    expect(chunks.map((c) => c.text).join(' ')).toContain('Sentence number 39 says something.');
    expect(chunks[1]?.text.startsWith('Sentence number')).toBe(true);
  });

  it('reads JSON as an array of { title, text } sections', () => {
    const sections = sectionsOf(
      doc('faq.json', JSON.stringify([{ title: 'Cards', text: 'Never expire.' }, { text: 'Plain.' }])),
    );
    expect(sections).toEqual(['# Cards\n\nNever expire.', 'Plain.']);
  });

  it.each([
    ['x.pdf', 'text', /x\.pdf: not a knowledge document: ingest reads \.md, \.markdown, \.txt, \.json/],
    ['x.json', '{"text": 1', /x\.json: is not valid JSON/],
    ['x.json', '{"text": "an object"}', /x\.json: must be a JSON array/],
    ['x.json', '[{"title": "no text"}]', /x\.json: item 0 has no string "text"/],
    ['x.md', '   \n\n  ', /x\.md: has no text/],
    ['x.txt', 'a\u0000b', /x\.txt: contains NUL bytes/],
  ])('refuses %s (%j) by name', (path, text, message) => {
    const err = (() => {
      try {
        sectionsOf(doc(path, text));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KnowledgeDocumentError);
    expect((err as Error).name).toBe('KnowledgeDocumentError');
    expect((err as Error).message).toMatch(message);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => sectionsOf({ path: 'bin.md', bytes: new Uint8Array([0xc3, 0x28]) })).toThrow(
      /bin\.md: is not valid UTF-8/,
    );
  });
});
