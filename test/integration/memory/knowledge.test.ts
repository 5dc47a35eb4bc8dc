import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EmbeddingDimensionError,
  KnowledgeDocumentError,
  MemoryUnavailableError,
} from '../../../lambdas/core/memory/errors.js';
import { ingestKnowledge } from '../../../lambdas/core/memory/ingest.js';
import type { Embedder } from '../../../lambdas/core/memory/ports.js';
import { retrievalEvent, retrieveKnowledge } from '../../../lambdas/core/memory/retrieval.js';
import { type MemoryServices, startMemoryServices } from '../../../local/memory/memory-services.js';
import {
  type LocalVectorIndexSpec,
  LocalVectorStore,
  S3VectorsLocalError,
} from '../../../local/memory/s3vectors-store.js';
import { defineKnowledge } from '../../../state-machines/memory.js';

const enc = (s: string) => new TextEncoder().encode(s);
const SPEC: LocalVectorIndexSpec = {
  bucket: 'kb',
  name: 'policies',
  dimension: 256,
  distanceMetric: 'cosine',
  nonFilterableKeys: ['text', 'document'],
};
const source = defineKnowledge({ name: 'policies', dimension: 256, maxChunkChars: 400 });
const DOCS = [
  {
    path: 'refunds.md',
    bytes: enc(
      '# Refunds\n\nCustomers may request a refund within 30 days of delivery. Refunds go back to the original payment method within 5 business days.\n\n# Exchanges\n\nAn exchange for a different size ships free of charge once the original item is received at the warehouse.',
    ),
  },
  {
    path: 'shipping.txt',
    bytes: enc(
      'Standard shipping takes 3 to 5 business days inside the EU.\n\nExpress shipping arrives next day when ordered before 14:00 CET.',
    ),
  },
  {
    path: 'faq.json',
    bytes: enc(
      JSON.stringify([
        { title: 'Gift cards', text: 'Gift cards never expire and cannot be exchanged for cash.' },
      ]),
    ),
  },
];

describe('knowledge: ingest and retrieval through the real S3 Vectors and Bedrock SDKs against the local stand-ins', () => {
  let m: MemoryServices;
  beforeEach(async () => {
    m = await startMemoryServices([SPEC]);
  });
  afterEach(async () => m.close());

  it('indexes every chunk, returns at most topK and keeps only those above the threshold', async () => {
    const report = await ingestKnowledge(source, DOCS, m);
    expect(report).toMatchObject({ source: 'policies', documents: 3, chunks: 4, dimension: 256 });

    const r = await retrieveKnowledge(
      'How many days do customers have to request a refund?',
      { source, topK: 3, minScore: 0.2 },
      m,
    );
    expect(r.kept.length + r.dropped.length).toBeLessThanOrEqual(3);
    expect(r.kept[0]?.id).toBe('refunds.md#0');
    expect(r.kept[0]?.text).toContain('30 days');
    for (const c of r.kept) expect(c.score).toBeGreaterThanOrEqual(0.2);
    for (const c of r.dropped) expect(c.score).toBeLessThan(0.2);
    expect(r.dropped.length).toBeGreaterThan(0);
    const event = retrievalEvent('answer', r);
    expect(event).toMatchObject({
      type: 'memory_retrieval',
      memory: 'semantic',
      source: 'policies',
      topK: 3,
      minScore: 0.2,
    });
    expect(event.retrieved).toBe(r.kept.length + r.dropped.length);
  });

  it('an unparseable document is a named error and the index keeps serving what it had', async () => {
    await ingestKnowledge(source, DOCS, m);
    const before = await m.index.query('policies', (await m.embedder.embed(['gift cards'], 256))[0] ?? [], 5);

    const bad = [...DOCS, { path: 'broken.json', bytes: enc('[{"text": "unterminated') }];
    const err = await ingestKnowledge(source, bad, m).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KnowledgeDocumentError);
    expect((err as Error).message).toMatch(/^broken\.json: is not valid JSON/);
    const notText = [{ path: 'logo.md', bytes: new Uint8Array([0xff, 0xfe, 0x00, 0x41]) }];
    await expect(ingestKnowledge(source, notText, m)).rejects.toThrow(/logo\.md: is not valid UTF-8/);

    const after = await m.index.query('policies', (await m.embedder.embed(['gift cards'], 256))[0] ?? [], 5);
    expect(after).toEqual(before);
  });

  it('a source declared with another dimension than its index is refused before anything is written', async () => {
    await ingestKnowledge(source, DOCS, m);
    const wrong = defineKnowledge({ name: 'policies', dimension: 512 });
    await expect(ingestKnowledge(wrong, [DOCS[1] as (typeof DOCS)[number]], m)).rejects.toBeInstanceOf(
      EmbeddingDimensionError,
    );
    const r = await retrieveKnowledge('refund within 30 days', { source, topK: 5, minScore: 0 }, m);
    expect(r.kept.map((c) => c.document)).toContain('refunds.md');
  });

  it('an embedding of the wrong size is refused by name and nothing is written', async () => {
    const short: Embedder = {
      embed: async (texts, d) => (await m.embedder.embed(texts, d)).map((v) => v.slice(0, 100)),
    };
    const err = await ingestKnowledge(source, DOCS, { embedder: short, index: m.index }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EmbeddingDimensionError);
    expect((err as Error).message).toContain('100 dimensions, the index holds 256');
    const r = await retrieveKnowledge('refund', { source, topK: 5, minScore: 0 }, m);
    expect(r.kept).toEqual([]);
  });
});

describe('knowledge: an ingest that dies part-way', () => {
  it('leaves the previous set served, and the next ingest clears what it left', async () => {
    let failPublish = false;
    class FailingStore extends LocalVectorStore {
      override handle(operation: string, body: Record<string, unknown>) {
        const publishing = JSON.stringify(body.vectors ?? []).includes('"__current__"');
        if (operation === 'PutVectors' && publishing && failPublish)
          throw new S3VectorsLocalError(
            503,
            'ServiceUnavailableException',
            'injected: the switch never happened',
          );
        return super.handle(operation, body);
      }
    }
    const m = await startMemoryServices([SPEC], (d, s) => new FailingStore(d, s));
    try {
      await ingestKnowledge(source, DOCS, m);
      failPublish = true;
      const replacement = [{ path: 'new.md', bytes: enc('Refunds are no longer offered on sale items.') }];
      await expect(ingestKnowledge(source, replacement, m)).rejects.toBeInstanceOf(MemoryUnavailableError);
      const r = await retrieveKnowledge('refund', { source, topK: 10, minScore: 0 }, m);
      expect(new Set([...r.kept, ...r.dropped].map((c) => c.document))).toEqual(
        new Set(['refunds.md', 'shipping.txt', 'faq.json']),
      );

      failPublish = false;
      await ingestKnowledge(source, replacement, m);
      const listed = m.store.handle('ListVectors', { vectorBucketName: 'kb', indexName: 'policies' }) as {
        vectors: Array<{ key: string }>;
      };
      // The published set (one chunk) and its pointer: the dead ingest's vectors and the old set are gone.
      expect(listed.vectors).toHaveLength(2);
      const after = await retrieveKnowledge('refund', { source, topK: 10, minScore: 0 }, m);
      expect(after.kept.map((c) => c.document)).toEqual(['new.md']);
    } finally {
      await m.close();
    }
  });
});
