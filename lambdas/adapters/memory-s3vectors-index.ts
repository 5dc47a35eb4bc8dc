import {
  DeleteVectorsCommand,
  GetIndexCommand,
  GetVectorsCommand,
  ListVectorsCommand,
  PutVectorsCommand,
  QueryVectorsCommand,
  S3VectorsClient,
} from '@aws-sdk/client-s3vectors';
import { ulid } from 'ulid';
import { MemoryRequestError, MemoryUnavailableError } from '../core/memory/errors.js';
import type { IndexedChunk, ScoredChunk, VectorIndex } from '../core/memory/ports.js';
import { isAwsThrottle } from './aws-errors.js';

/** The key of the vector whose metadata names the generation readers see. */
export const CURRENT_KEY = '__current__';
/** S3 Vectors takes at most 500 vectors per PutVectors and 500 keys per DeleteVectors. */
const BATCH = 500;
/** Metadata keys that are stored but not filterable (S3 Vectors caps filterable metadata at 2 KB). */
export const NON_FILTERABLE_KEYS = ['text', 'document'] as const;

export interface S3VectorsIndexOptions {
  /** The vector bucket's ARN; each knowledge source is the index `<bucket ARN>/index/<source>`. */
  vectorBucketArn: string;
  region?: string;
  endpoint?: string;
  /** @default the SDK's credential chain (the function's role) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Knowledge indexes in Amazon S3 Vectors (cosine distance, float32), one per
 * source. A set is written as a new generation (`gen` metadata on every
 * vector) and published by rewriting one pointer vector (`__current__`)
 * after every chunk is in; queries filter on the published generation, so a
 * reader never sees a half-written set, and an ingest that dies part-way
 * leaves the previous set served. Older generations are deleted after the
 * switch (a crash there leaves garbage that the next ingest deletes, never
 * wrong answers).
 */
export function createS3VectorsIndex(options: S3VectorsIndexOptions): VectorIndex {
  const client = new S3VectorsClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  const indexArn = (source: string) => `${options.vectorBucketArn}/index/${source}`;
  const send = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const message = `S3 Vectors ${what} failed: ${(err as Error).message}`;
      if (isAwsThrottle(err) || status === undefined || status >= 500)
        throw new MemoryUnavailableError(message, { cause: err });
      throw new MemoryRequestError(message, { cause: err });
    }
  };
  const dimension = async (source: string): Promise<number> => {
    const out = await send('GetIndex', () =>
      client.send(new GetIndexCommand({ indexArn: indexArn(source) })),
    );
    const d = out.index?.dimension;
    if (typeof d !== 'number') throw new MemoryRequestError(`S3 Vectors index ${source} has no dimension`);
    return d;
  };
  const current = async (source: string): Promise<string | undefined> => {
    const out = await send('GetVectors', () =>
      client.send(
        new GetVectorsCommand({ indexArn: indexArn(source), keys: [CURRENT_KEY], returnMetadata: true }),
      ),
    );
    const meta = out.vectors?.[0]?.metadata;
    const gen = typeof meta === 'object' && meta !== null ? Reflect.get(meta, 'current') : undefined;
    return typeof gen === 'string' ? gen : undefined;
  };
  return {
    dimension,
    async replaceAll(source, chunks: readonly IndexedChunk[]) {
      const arn = indexArn(source);
      const size = await dimension(source);
      const generation = ulid();
      for (let i = 0; i < chunks.length; i += BATCH) {
        const vectors = chunks.slice(i, i + BATCH).map((c) => ({
          key: `${generation}#${c.id}`,
          data: { float32: c.vector },
          metadata: { gen: generation, chunk: c.id, document: c.document, text: c.text },
        }));
        await send('PutVectors', () => client.send(new PutVectorsCommand({ indexArn: arn, vectors })));
      }
      // The switch: one write. Its vector is a unit vector that no query matches (its metadata has no `gen`).
      const pointer = Array.from({ length: size }, (_, j) => (j === 0 ? 1 : 0));
      await send('PutVectors', () =>
        client.send(
          new PutVectorsCommand({
            indexArn: arn,
            vectors: [{ key: CURRENT_KEY, data: { float32: pointer }, metadata: { current: generation } }],
          }),
        ),
      );
      // Everything else is garbage now: earlier generations and any ingest that died part-way.
      let nextToken: string | undefined;
      const stale: string[] = [];
      do {
        const page = await send('ListVectors', () =>
          client.send(new ListVectorsCommand({ indexArn: arn, ...(nextToken ? { nextToken } : {}) })),
        );
        for (const v of page.vectors ?? [])
          if (v.key && v.key !== CURRENT_KEY && !v.key.startsWith(`${generation}#`)) stale.push(v.key);
        nextToken = page.nextToken;
      } while (nextToken);
      for (let i = 0; i < stale.length; i += BATCH) {
        const keys = stale.slice(i, i + BATCH);
        await send('DeleteVectors', () => client.send(new DeleteVectorsCommand({ indexArn: arn, keys })));
      }
      return { generation };
    },
    async query(source, vector, topK): Promise<ScoredChunk[]> {
      const gen = await current(source);
      if (!gen) return [];
      const out = await send('QueryVectors', () =>
        client.send(
          new QueryVectorsCommand({
            indexArn: indexArn(source),
            queryVector: { float32: [...vector] },
            topK,
            filter: { gen: { $eq: gen } },
            returnMetadata: true,
            returnDistance: true,
          }),
        ),
      );
      return (out.vectors ?? []).flatMap((v) => {
        const m = (typeof v.metadata === 'object' && v.metadata !== null ? v.metadata : {}) as Record<
          string,
          unknown
        >;
        const { chunk, document, text } = m;
        if (typeof chunk !== 'string' || typeof text !== 'string' || typeof v.distance !== 'number')
          return [];
        // Cosine distance is 1 - cosine similarity.
        return [
          { id: chunk, document: typeof document === 'string' ? document : '', text, score: 1 - v.distance },
        ];
      });
    },
  };
}
