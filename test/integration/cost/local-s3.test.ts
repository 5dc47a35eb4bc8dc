import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3PayloadStore } from '../../../lambdas/adapters/s3-payloads.js';
import { OffloadedPayloadMissingError } from '../../../lambdas/core/errors.js';
import { offloaderFor, refOf } from '../../../lambdas/core/offload.js';
import { metered, usageSnapshot } from '../../../lambdas/core/usage.js';
import { LocalSecrets } from '../../../local/aws/secrets.js';
import { type LocalServices, startLocalServices } from '../../../local/aws/services.js';

const credentials = { accessKeyId: 'local-key', secretAccessKey: 'local-secret' };
let dir: string;
let services: LocalServices;
let s3: S3Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaperone-s3-'));
  services = await startLocalServices({
    outboxDir: join(dir, 'outbox'),
    alertsFile: join(dir, 'alerts.jsonl'),
    secrets: LocalSecrets.open(join(dir, 'secrets.json'), []),
    credentials,
    s3: { dir: join(dir, 's3'), buckets: ['payloads'] },
  });
  s3 = new S3Client({ region: 'us-east-1', endpoint: services.url, forcePathStyle: true, credentials });
});
afterAll(async () => {
  s3.destroy();
  await services.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local S3 stand-in, through the real @aws-sdk/client-s3', () => {
  it('puts, heads, gets and deletes an object, checksums checked by the client', async () => {
    const body = JSON.stringify({ rows: ['a', 'b', 'ü'] });
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'payloads',
        Key: 'runs/r1/a b+c.json',
        Body: body,
        ContentType: 'application/json',
      }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'payloads', Key: 'runs/r1/a b+c.json' }));
    expect(head.ContentLength).toBe(Buffer.byteLength(body));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'payloads', Key: 'runs/r1/a b+c.json' }));
    expect(got.ContentType).toBe('application/json');
    expect(await got.Body?.transformToString()).toBe(body);
    await s3.send(new DeleteObjectCommand({ Bucket: 'payloads', Key: 'runs/r1/a b+c.json' }));
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'payloads', Key: 'runs/r1/a b+c.json' })),
    ).rejects.toThrow(NoSuchKey);
  });

  it('refuses an unknown bucket, and a request signed with another key', async () => {
    const err = await s3
      .send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'k', Body: 'x' }))
      .catch((e: unknown) => e);
    expect((err as S3ServiceException).name).toBe('NoSuchBucket');
    const stranger = new S3Client({
      region: 'us-east-1',
      endpoint: services.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'local-key', secretAccessKey: 'wrong' },
    });
    const refused = await stranger
      .send(new PutObjectCommand({ Bucket: 'payloads', Key: 'k', Body: 'x' }))
      .catch((e: unknown) => e);
    expect((refused as S3ServiceException).$metadata.httpStatusCode).toBe(403);
    expect((refused as S3ServiceException).name).toBe('SignatureDoesNotMatch');
    stranger.destroy();
  });
});

describe('the payload store adapter against the stand-in', () => {
  const storeAt = () =>
    createS3PayloadStore({
      bucket: 'payloads',
      region: 'us-east-1',
      endpoint: services.url,
      credentials: () => credentials,
    });

  it('writes what the S3 client reads, reads what it writes, and says undefined for a missing key', async () => {
    const payloads = storeAt();
    await payloads.put('runs/r2/x.json', '{"n":1}');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'payloads', Key: 'runs/r2/x.json' }));
    expect(await got.Body?.transformToString()).toBe('{"n":1}');
    await s3.send(new PutObjectCommand({ Bucket: 'payloads', Key: 'runs/r2/y.json', Body: '"ÿ"' }));
    expect(await payloads.get('runs/r2/y.json')).toBe('"ÿ"');
    expect(await payloads.get('runs/r2/none.json')).toBeUndefined();
  });

  it('offloads a large step output to the bucket, counts the requests, and stops by name when it is gone', async () => {
    const payloads = storeAt();
    const big = { text: 'x'.repeat(40_000) };
    const run = metered(
      async () => {
        const o = offloaderFor('r3', payloads);
        const ref = await o.offload('step_output#report', big);
        const back = await o.resolve(ref);
        return { ref, back, usage: usageSnapshot() };
      },
      { AWS_REGION: 'us-east-1' },
    );
    const { ref, back, usage } = await run(undefined, { awsRequestId: 's3-1' });
    expect(back).toEqual(big);
    expect(usage?.s3).toEqual({ puts: 1, gets: 1 });

    // Another payload, never read here (a container keeps what it read: keys name their content).
    const other = await offloaderFor('r3', payloads).offload('step_output#report', {
      text: 'y'.repeat(40_000),
    });
    await s3.send(new DeleteObjectCommand({ Bucket: 'payloads', Key: refOf(other)?.key }));
    void ref;
    const err = await offloaderFor('r3', payloads)
      .resolve(other)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffloadedPayloadMissingError);
    expect((err as Error).message).toMatch(/runs\/r3\/step_output-report-.*is not in the payload bucket/);
  });
});
