import type { createDocumentClient } from './adapters/dynamo-client.js';
import { createBedrockEmbedder } from './adapters/memory-bedrock-embedder.js';
import { DynamoEpisodeStore } from './adapters/memory-dynamo-episodes.js';
import { createS3VectorsIndex } from './adapters/memory-s3vectors-index.js';
import type { Env } from './config.js';
import type { MemoryDeps } from './core/memory/context.js';

/**
 * Memory's parts from a function's environment, read once at cold start:
 * knowledge indexes when `CHAPERONE_VECTOR_BUCKET_ARN` is set, episodes when
 * `MEMORY_TABLE` is, Titan embeddings for either (at
 * `CHAPERONE_EMBEDDINGS_ENDPOINT` when set: the local stand-in). Undefined
 * when the app uses no memory.
 */
export function memoryDeps(env: Env, db: ReturnType<typeof createDocumentClient>): MemoryDeps | undefined {
  const bucket = env.CHAPERONE_VECTOR_BUCKET_ARN;
  const table = env.MEMORY_TABLE;
  if (!bucket && !table) return undefined;
  const region = env.AWS_REGION;
  return {
    embedder: createBedrockEmbedder({
      ...(region ? { region } : {}),
      ...(env.CHAPERONE_EMBEDDINGS_ENDPOINT ? { endpoint: env.CHAPERONE_EMBEDDINGS_ENDPOINT } : {}),
    }),
    ...(bucket
      ? {
          index: createS3VectorsIndex({
            vectorBucketArn: bucket,
            ...(region ? { region } : {}),
            ...(env.AWS_ENDPOINT_URL_S3VECTORS ? { endpoint: env.AWS_ENDPOINT_URL_S3VECTORS } : {}),
          }),
        }
      : {}),
    ...(table ? { episodes: new DynamoEpisodeStore(db, table) } : {}),
  };
}
