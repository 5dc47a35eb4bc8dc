/**
 * The local endpoints keep the signing keys they derived (per secret, day,
 * region and service): a request signed with the wrong secret is still
 * refused after one with the right secret was accepted, and the other way round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../local/aws/dynamodb.js';

let dir: string;
let dynamo: LocalDynamo;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaperone-signing-'));
  dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo') });
});
afterAll(async () => {
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = (secretAccessKey: string) =>
  new DynamoDBClient({
    endpoint: dynamo.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey },
    maxAttempts: 1,
  });

const list = (c: DynamoDBClient) =>
  c.send(new ListTablesCommand({})).then(
    () => 'accepted',
    (err: Error) => err.name,
  );

describe('signing keys kept by the local endpoint', () => {
  it('refuses the wrong secret before and after the right one was accepted', async () => {
    const right = client('local');
    const wrong = client('not-the-secret');
    expect(await list(wrong)).toBe('InvalidSignatureException');
    expect(await list(right)).toBe('accepted');
    expect(await list(wrong)).toBe('InvalidSignatureException');
    expect(await list(right)).toBe('accepted');
    right.destroy();
    wrong.destroy();
  });
});
