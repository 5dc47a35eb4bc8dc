import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBedrockEmbedder } from '../../lambdas/adapters/memory-bedrock-embedder.js';
import { createS3VectorsIndex } from '../../lambdas/adapters/memory-s3vectors-index.js';
import type { Embedder, VectorIndex } from '../../lambdas/core/memory/ports.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../aws/local-credentials.js';
import { LocalSecrets } from '../aws/secrets.js';
import { type LocalServices, startLocalServices } from '../aws/services.js';
import { type LocalVectorIndexSpec, LocalVectorStore, localVectorBucketArn } from './s3vectors-store.js';

/** For tests and the bench: the local services server with the S3 Vectors and Titan stand-ins, and the real SDK adapters pointed at it. */
export interface MemoryServices {
  services: LocalServices;
  store: LocalVectorStore;
  embedder: Embedder;
  index: VectorIndex;
  bucketArn: string;
  dir: string;
  close(): Promise<void>;
}

export async function startMemoryServices(
  specs: LocalVectorIndexSpec[],
  makeStore: (dir: string, specs: LocalVectorIndexSpec[]) => LocalVectorStore = (d, s) =>
    new LocalVectorStore(d, s),
): Promise<MemoryServices> {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-memory-'));
  const store = makeStore(join(dir, 'vectors'), specs);
  const services = await startLocalServices({
    outboxDir: join(dir, 'outbox'),
    alertsFile: join(dir, 'alerts.jsonl'),
    secrets: LocalSecrets.open(join(dir, 'secrets.json'), []),
    vectors: store,
  });
  const bucket = specs[0]?.bucket ?? 'knowledge';
  const bucketArn = localVectorBucketArn(bucket, LOCAL_REGION, '000000000000');
  const common = { region: LOCAL_REGION, endpoint: services.url, credentials: LOCAL_CREDENTIALS };
  return {
    services,
    store,
    dir,
    bucketArn,
    embedder: createBedrockEmbedder(common),
    index: createS3VectorsIndex({ vectorBucketArn: bucketArn, ...common }),
    close: async () => {
      await services.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
