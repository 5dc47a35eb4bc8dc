import type { KnowledgeSource } from '../../../state-machines/memory.js';
import { type Chunk, chunkDocument, type KnowledgeDocument } from './chunking.js';
import { EmbeddingDimensionError } from './errors.js';
import type { Embedder, IndexedChunk, VectorIndex } from './ports.js';
import { checkDimensions } from './vectors.js';

export interface IngestReport {
  source: string;
  documents: number;
  chunks: number;
  dimension: number;
  generation: string;
}

/** Texts per embeddings batch (Titan V2 embeds one text per InvokeModel; the adapter sends them in parallel). */
const EMBED_BATCH = 16;

/**
 * Chunk, embed and index a folder's documents as the source's whole content.
 * Every document is parsed and every chunk embedded and checked against the
 * index's dimension before anything is written, so a bad document
 * (`KnowledgeDocumentError`) or a wrong-sized embedding
 * (`EmbeddingDimensionError`) leaves the index as it was; the write itself
 * replaces the set atomically for readers (`VectorIndex.replaceAll`).
 */
export async function ingestKnowledge(
  source: KnowledgeSource,
  documents: readonly KnowledgeDocument[],
  deps: { embedder: Embedder; index: VectorIndex },
): Promise<IngestReport> {
  const chunks: Chunk[] = [];
  for (const doc of [...documents].sort((a, b) => a.path.localeCompare(b.path)))
    chunks.push(...chunkDocument(doc, source.maxChunkChars));
  const dimension = await deps.index.dimension(source.name);
  if (dimension !== source.dimension)
    throw new EmbeddingDimensionError(
      dimension,
      source.dimension,
      `knowledge source "${source.name}" is declared with ${source.dimension} dimensions but its index`,
    );
  const indexed: IndexedChunk[] = [];
  for (let i = 0; i < chunks.length; i += EMBED_BATCH) {
    const batch = chunks.slice(i, i + EMBED_BATCH);
    const vectors = await deps.embedder.embed(
      batch.map((c) => c.text),
      dimension,
    );
    checkDimensions(vectors, dimension, `embeddings of ${batch[0]?.document ?? source.name}`);
    batch.forEach((c, j) => {
      indexed.push({ ...c, vector: vectors[j] ?? [] });
    });
  }
  const { generation } = await deps.index.replaceAll(source.name, indexed);
  return { source: source.name, documents: documents.length, chunks: indexed.length, dimension, generation };
}
