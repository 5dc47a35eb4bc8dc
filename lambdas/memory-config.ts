import type { createDocumentClient } from './adapters/dynamo-client.js';
import { DynamoEpisodeStore } from './adapters/memory-dynamo-episodes.js';
import type { Env } from './config.js';
import type { MemoryDeps } from './core/memory/context.js';
import type { Embedder, VectorIndex } from './core/memory/ports.js';
import { onFirstUse } from './handlers/wire/lazy.js';

/**
 * Memory's parts from a function's environment, read once at cold start:
 * knowledge indexes when `CHAPERONE_VECTOR_BUCKET_ARN` is set, episodes when
 * `MEMORY_TABLE` is, Titan embeddings for either (at
 * `CHAPERONE_EMBEDDINGS_ENDPOINT` when set: the local stand-in). Undefined
 * when the app uses no memory. The Bedrock runtime and S3 Vectors adapters
 * (and their SDK clients) are loaded and built on first use, so a cold start
 * carries neither (a run that recalls nothing never loads them).
 */
export function memoryDeps(env: Env, db: ReturnType<typeof createDocumentClient>): MemoryDeps | undefined {
  const bucket = env.CHAPERONE_VECTOR_BUCKET_ARN;
  const table = env.MEMORY_TABLE;
  if (!bucket && !table) return undefined;
  const region = env.AWS_REGION;
  const embedder = onFirstUse(async () =>
    (await import('./adapters/memory-bedrock-embedder.js')).createBedrockEmbedder({
      ...(region ? { region } : {}),
      ...(env.CHAPERONE_EMBEDDINGS_ENDPOINT ? { endpoint: env.CHAPERONE_EMBEDDINGS_ENDPOINT } : {}),
    }),
  );
  return {
    embedder: {
      embed: async (texts, dimension) => (await embedder()).embed(texts, dimension),
    } satisfies Embedder,
    ...(bucket ? { index: lazyIndex(bucket, region, env.AWS_ENDPOINT_URL_S3VECTORS) } : {}),
    ...(table ? { episodes: new DynamoEpisodeStore(db, table) } : {}),
  };
}

function lazyIndex(vectorBucketArn: string, region?: string, endpoint?: string): VectorIndex {
  const index = onFirstUse(async () =>
    (await import('./adapters/memory-s3vectors-index.js')).createS3VectorsIndex({
      vectorBucketArn,
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
    }),
  );
  return {
    dimension: async (source) => (await index()).dimension(source),
    replaceAll: async (source, chunks) => (await index()).replaceAll(source, chunks),
    query: async (source, vector, topK) => (await index()).query(source, vector, topK),
  };
}
