import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, type DocumentClient } from '../../../lambdas/adapters/dynamo-client.js';
import {
  BatchGetCommand,
  type DocumentCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../../lambdas/adapters/dynamo-http.js';
import { inProcessEndpoint, serveInProcess } from '../../../lambdas/adapters/in-process-endpoints.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../../local/aws/dynamodb.js';
import { TABLES } from '../../support/agent-harness.js';

/**
 * The harness's handlers reach the local DynamoDB by a call, not a socket
 * (`in-process-endpoints.ts`). Two local DynamoDBs side by side, one served
 * in this process and one only over HTTP, get the same requests: every
 * answer and every error (name, message, fields, status) is the same.
 */
let dir: string;
let direct: LocalDynamo;
let http: LocalDynamo;
let viaCall: DocumentClient;
let viaHttp: DocumentClient;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  dir = mkdtempSync(join(tmpdir(), 'chaperone-in-process-'));
  direct = await startLocalDynamo({ dataDir: join(dir, 'direct') });
  http = await startLocalDynamo({ dataDir: join(dir, 'http'), inProcess: false });
  await ensureTables(direct.client, TABLES);
  await ensureTables(http.client, TABLES);
  viaCall = createDocumentClient({ region: 'us-east-1', endpoint: direct.url });
  viaHttp = createDocumentClient({ region: 'us-east-1', endpoint: http.url });
});
afterAll(async () => {
  await direct.close();
  await http.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What a caller sees of one command: the output without request ids, or the error's visible fields. */
async function seen(client: DocumentClient, command: DocumentCommand<unknown, unknown>) {
  try {
    const out = (await client.send(command)) as { $metadata: { requestId?: string } };
    return { ok: { ...out, $metadata: { ...out.$metadata, requestId: typeof out.$metadata.requestId } } };
  } catch (err) {
    const e = err as Error & {
      CancellationReasons?: unknown;
      $metadata?: { httpStatusCode?: number; attempts?: number };
    };
    return {
      error: {
        name: e.name,
        message: e.message,
        reasons: e.CancellationReasons,
        status: e.$metadata?.httpStatusCode,
        attempts: e.$metadata?.attempts,
      },
    };
  }
}

const commands: Array<[string, DocumentCommand<unknown, unknown>]> = [
  ['put', new PutCommand({ TableName: 'Runs', Item: { pk: 'RUN#1', sk: 'A', n: 1, text: 'héllo' } })],
  [
    'put refused by its condition',
    new PutCommand({
      TableName: 'Runs',
      Item: { pk: 'RUN#1', sk: 'A', n: 2 },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  ],
  ['get', new GetCommand({ TableName: 'Runs', Key: { pk: 'RUN#1', sk: 'A' }, ConsistentRead: true })],
  [
    'update',
    new UpdateCommand({
      TableName: 'Runs',
      Key: { pk: 'RUN#1', sk: 'A' },
      UpdateExpression: 'SET n = n + :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    }),
  ],
  [
    'query',
    new QueryCommand({
      TableName: 'Runs',
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'RUN#1' },
    }),
  ],
  [
    'transaction cancelled',
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'Runs', Item: { pk: 'RUN#1', sk: 'B' } } },
        {
          ConditionCheck: {
            TableName: 'Runs',
            Key: { pk: 'RUN#1', sk: 'A' },
            ConditionExpression: 'n = :zero',
            ExpressionAttributeValues: { ':zero': 0 },
          },
        },
      ],
    }),
  ],
  [
    'put with bytes (sent as text)',
    new PutCommand({
      TableName: 'Runs',
      Item: { pk: 'RUN#1', sk: 'BIN', b: new Uint8Array([0, 255, 9]), bs: new Set([new Uint8Array([1])]) },
    }),
  ],
  [
    'get of bytes (answered as a value)',
    new GetCommand({ TableName: 'Runs', Key: { pk: 'RUN#1', sk: 'BIN' }, ConsistentRead: true }),
  ],
  [
    'transaction with its capacity',
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'Runs', Item: { pk: 'RUN#1', sk: 'C', list: [1, 'two', { three: null }] } } },
        {
          Update: {
            TableName: 'Runs',
            Key: { pk: 'RUN#1', sk: 'A' },
            UpdateExpression: 'SET #m = :m',
            ExpressionAttributeNames: { '#m': 'map' },
            ExpressionAttributeValues: { ':m': { a: { b: [true] } } },
          },
        },
      ],
      ReturnConsumedCapacity: 'TOTAL',
    }),
  ],
  [
    'batch get with a projection',
    new BatchGetCommand({
      RequestItems: {
        Runs: {
          // One key: a batch's answers come in no set order (DynamoDB promises none either).
          Keys: [{ pk: 'RUN#1', sk: 'A' }],
          ProjectionExpression: '#m, sk',
          ExpressionAttributeNames: { '#m': 'map' },
          ConsistentRead: true,
        },
      },
    }),
  ],
  ['no such table', new GetCommand({ TableName: 'Nope', Key: { pk: 'x', sk: 'y' } })],
  ['bad key', new GetCommand({ TableName: 'Runs', Key: { pk: 'x' } })],
];

describe('a local DynamoDB served in this process', () => {
  it('answers every request and error exactly as the same endpoint answers over HTTP', async () => {
    for (const [what, command] of commands) {
      const a = await seen(viaCall, command);
      const b = await seen(viaHttp, command);
      expect({ what, ...a }).toEqual({ what, ...b });
    }
    // The comparison above compared something: one of each.
    const outcomes = await Promise.all(commands.map(([, c]) => seen(viaCall, c)));
    expect(outcomes.filter((o) => 'error' in o).length).toBeGreaterThan(2);
    expect(outcomes.filter((o) => 'ok' in o).length).toBeGreaterThan(2);
    const bytes = outcomes[commands.findIndex(([w]) => w.startsWith('get of bytes'))] as unknown as {
      ok: { Item: { b: unknown } };
    };
    expect(bytes.ok.Item.b).toEqual(new Uint8Array([0, 255, 9]));
  });

  it('never changes what the caller sent, though the request is handed over as a value', async () => {
    const names = { '#n': 'n', '#s': 'status' };
    const input = {
      TableName: 'Runs',
      Key: { pk: 'RUN#2', sk: 'A' },
      UpdateExpression: 'SET #n = :n, #s = :s',
      ConditionExpression: 'attribute_not_exists(#s) OR #s <> :s',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':n': 1, ':s': 'DONE' },
      ReturnValues: 'ALL_NEW' as const,
    };
    const before = structuredClone(input);
    const out = await viaCall.send(new UpdateCommand(input));
    expect(out.Attributes).toEqual({ pk: 'RUN#2', sk: 'A', n: 1, status: 'DONE' });
    expect(input).toEqual(before);
    expect(Object.keys(input.ExpressionAttributeNames)).toEqual(['#n', '#s']);
    // The same objects again: the same answer (nothing left behind in them by the first).
    await expect(viaCall.send(new UpdateCommand(input))).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect(input).toEqual(before);
  });

  it('is reached without a socket, and no longer once the endpoint closes', async () => {
    const url = new URL(direct.url);
    expect(inProcessEndpoint(url)).toBeTypeOf('function');
    expect(inProcessEndpoint(new URL(http.url))).toBeUndefined();
    // A second endpoint on the same origin is refused, naming it.
    expect(() =>
      serveInProcess(direct.url, async () => ({ status: 200, headers: {}, body: Buffer.alloc(0) })),
    ).toThrow(url.origin);
  });

  it('fails a request whose signal is aborted as a socket would: AbortError, nothing written', async () => {
    const controller = new AbortController();
    controller.abort();
    const requester = (viaCall as unknown as { http: { request: (r: unknown) => Promise<unknown> } }).http;
    await expect(
      requester.request({
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.PutItem',
        },
        body: JSON.stringify({ TableName: 'Runs', Item: { pk: { S: 'RUN#abort' }, sk: { S: 'A' } } }),
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    const after = await viaCall.send(
      new GetCommand({ TableName: 'Runs', Key: { pk: 'RUN#abort', sk: 'A' } }),
    );
    expect(after.Item).toBeUndefined();
  });
});
