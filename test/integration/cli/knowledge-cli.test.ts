import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3VectorsIndex } from '../../../lambdas/adapters/memory-s3vectors-index.js';
import { dataDirCredentials, LOCAL_REGION } from '../../../local/aws/local-credentials.js';
import { LocalSecrets } from '../../../local/aws/secrets.js';
import { type LocalServices, startLocalServices } from '../../../local/aws/services.js';
import { main } from '../../../local/cli/chaperone.js';
import { LocalVectorStore, localVectorBucketArn } from '../../../local/memory/s3vectors-store.js';
import { announceRunningStack } from '../../../local/runtime/running-stack.js';

describe('chaperone knowledge ingest against a running local stack', () => {
  let dataDir: string;
  let docs: string;
  let services: LocalServices;
  let removeAnnouncement: () => void;
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'chaperone-kcli-'));
    docs = join(dataDir, 'docs');
    mkdirSync(join(docs, 'nested'), { recursive: true });
    writeFileSync(join(docs, 'returns.md'), '# Returns\n\nItems can be returned within 30 days.');
    writeFileSync(join(docs, 'nested', 'warranty.txt'), 'The warranty lasts two years from delivery.');
    writeFileSync(join(docs, 'logo.png'), Buffer.from([0x89, 0x50]));
    const credentials = dataDirCredentials(dataDir);
    services = await startLocalServices({
      outboxDir: join(dataDir, 'outbox'),
      alertsFile: join(dataDir, 'alerts.jsonl'),
      secrets: LocalSecrets.open(join(dataDir, 'secrets.json'), []),
      credentials,
      vectors: new LocalVectorStore(join(dataDir, 'vectors'), [
        {
          bucket: 'kb',
          name: 'policies',
          dimension: 256,
          distanceMetric: 'cosine',
          nonFilterableKeys: ['text', 'document'],
        },
      ]),
    });
    removeAnnouncement = announceRunningStack(dataDir, {
      pid: process.pid,
      apiUrl: 'http://127.0.0.1:1',
      sfnUrl: 'http://127.0.0.1:1',
      dynamoUrl: 'http://127.0.0.1:1',
      servicesUrl: services.url,
      startedAt: new Date().toISOString(),
    });
  });
  afterEach(async () => {
    removeAnnouncement();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('indexes the folder through the stack, skips what is not a document, and names a bad one', async () => {
    const lines: string[] = [];
    const io = { write: (l: string) => lines.push(l), env: {} };
    const code = await main(['knowledge', 'ingest', docs, '--source', 'policies', '--data-dir', dataDir], io);
    expect(code).toBe(0);
    expect(lines).toContain('skipped logo.png (not .md, .markdown, .txt, .json)');
    expect(lines.at(-1)).toMatch(/^ingested 2 documents as 2 chunks into "policies" \(256 dimensions/);

    const index = createS3VectorsIndex({
      vectorBucketArn: localVectorBucketArn('kb', LOCAL_REGION, '000000000000'),
      region: LOCAL_REGION,
      endpoint: services.url,
      credentials: dataDirCredentials(dataDir),
    });
    const unit = Array.from({ length: 256 }, (_, i) => (i === 1 ? 1 : 0));
    expect((await index.query('policies', unit, 10)).map((c) => c.document).sort()).toEqual([
      'nested/warranty.txt',
      'returns.md',
    ]);

    writeFileSync(join(docs, 'broken.json'), '{ not json');
    lines.length = 0;
    expect(await main(['knowledge', 'ingest', docs, '--source', 'policies', '--data-dir', dataDir], io)).toBe(
      1,
    );
    expect(lines.at(-1)).toMatch(
      /^KnowledgeDocumentError: broken\.json: is not valid JSON.*nothing was changed$/,
    );
    expect(await index.query('policies', unit, 10)).toHaveLength(2);

    lines.length = 0;
    expect(await main(['knowledge', 'ingest', docs, '--source', 'faq', '--data-dir', dataDir], io)).toBe(1);
    expect(lines.at(-1)).toContain('the local stack has no knowledge source "faq" (it has: policies)');
  });

  it('ingests with --vector-bucket <arn> as against the stack in AWS: endpoints and keys from the SDK’s own environment', async () => {
    // The AWS form takes no local stack: the SDK clients find their endpoints and credentials the
    // standard way, here pointed at the services server.
    removeAnnouncement();
    const credentials = dataDirCredentials(dataDir);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3VECTORS: services.url,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: services.url,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
    try {
      const lines: string[] = [];
      const io = { write: (l: string) => lines.push(l), env: {} };
      const arn = localVectorBucketArn('kb', LOCAL_REGION, '000000000000');
      expect(
        await main(['knowledge', 'ingest', docs, '--source', 'policies', '--vector-bucket', arn], io),
      ).toBe(0);
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^ingested 2 documents as 2 chunks into "policies" \\(256 dimensions, generation .+\\) in vector bucket ${arn}$`,
        ),
      );
      writeFileSync(join(docs, 'broken.json'), '{ not json');
      expect(
        await main(['knowledge', 'ingest', docs, '--source', 'policies', '--vector-bucket', arn], io),
      ).toBe(1);
      expect(lines.at(-1)).toMatch(/^KnowledgeDocumentError: broken\.json: is not valid JSON/);
      const index = createS3VectorsIndex({
        vectorBucketArn: arn,
        region: LOCAL_REGION,
        endpoint: services.url,
        credentials,
      });
      const unit = Array.from({ length: 256 }, (_, i) => (i === 1 ? 1 : 0));
      expect((await index.query('policies', unit, 10)).map((c) => c.document).sort()).toEqual([
        'nested/warranty.txt',
        'returns.md',
      ]);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      removeAnnouncement = () => {};
    }
  });
});
