import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdk from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, type DocumentClient } from '../../../lambdas/adapters/dynamo-client.js';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../../lambdas/adapters/dynamo-http.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../../local/aws/dynamodb.js';
import { TABLES } from '../../support/agent-harness.js';

/**
 * The handlers' DynamoDB client (`dynamo-http.ts`) against the real local DynamoDB, side by side
 * with the AWS SDK's DocumentClient: the same requests give the same answers and the same errors.
 * Faults dynalite cannot produce (throttles, a dead endpoint) come from a small server in front.
 */
let dir: string;
let dynamo: LocalDynamo;
let ours: DocumentClient;
let theirs: sdk.DynamoDBDocumentClient;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  dir = mkdtempSync(join(tmpdir(), 'chaperone-dynamo-http-'));
  // Over HTTP, as a function in a worker or in Lambda sends it (in-process-endpoint.test.ts holds the shortcut to the same answers).
  dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo'), inProcess: false });
  await ensureTables(dynamo.client, TABLES);
  ours = createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url });
  theirs = sdk.DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
});
afterAll(async () => {
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
});

const strip = <T extends object>(out: T) => {
  const { $metadata: _m, ...rest } = out as T & { $metadata?: unknown };
  return rest;
};

describe("the handlers' DynamoDB client", () => {
  it('reads and writes what the SDK DocumentClient reads and writes', async () => {
    const item = {
      pk: 'RUN#h1',
      sk: 'A',
      text: 'héllo',
      n: 42,
      f: 0.25,
      ok: true,
      none: null,
      list: [1, 'two', { three: 3 }],
      map: { nested: { deep: ['x'] } },
      tags: new Set(['a', 'b']),
      bytes: new Uint8Array([0, 1, 254, 255]),
      gone: undefined,
    };
    await ours.send(new PutCommand({ TableName: 'Runs', Item: item }));
    const key = { pk: 'RUN#h1', sk: 'A' };
    const a = await ours.send(new GetCommand({ TableName: 'Runs', Key: key, ConsistentRead: true }));
    const b = await theirs.send(new sdk.GetCommand({ TableName: 'Runs', Key: key, ConsistentRead: true }));
    expect(a.Item).toEqual(b.Item);
    expect(a.Item?.bytes).toBeInstanceOf(Uint8Array);
    // A binary set alone, and keys named like the binary types holding none: as they went.
    const others = [
      { pk: 'RUN#h1', sk: 'S', byteSet: new Set([new Uint8Array([1, 2]), new Uint8Array([3])]) },
      { pk: 'RUN#h1', sk: 'L', letters: { B: 'bee', BS: ['b', 's'], BOOL: 'no' } },
    ];
    for (const other of others) {
      await ours.send(new PutCommand({ TableName: 'Runs', Item: other }));
      const back = await ours.send(
        new GetCommand({ TableName: 'Runs', Key: { pk: other.pk, sk: other.sk }, ConsistentRead: true }),
      );
      expect(back.Item).toEqual(other);
      await ours.send(new DeleteCommand({ TableName: 'Runs', Key: { pk: other.pk, sk: other.sk } }));
    }
    expect(a.Item?.gone).toBeUndefined();
    expect(a.$metadata.httpStatusCode).toBe(200);

    const update = {
      TableName: 'Runs',
      Key: key,
      UpdateExpression: 'SET n = n + :one, #m.#k = :v',
      ExpressionAttributeNames: { '#m': 'map', '#k': 'added' },
      ExpressionAttributeValues: { ':one': 1, ':v': 'yes' },
      ReturnValues: 'ALL_NEW' as const,
    };
    const u = await ours.send(new UpdateCommand(update));
    expect(u.Attributes?.n).toBe(43);
    expect(u.Attributes?.map).toEqual({ nested: { deep: ['x'] }, added: 'yes' });

    await theirs.send(new sdk.PutCommand({ TableName: 'Runs', Item: { pk: 'RUN#h1', sk: 'B', v: 1 } }));
    const query = {
      TableName: 'Runs',
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': 'RUN#h1' },
      ConsistentRead: true,
      Limit: 1,
    };
    const q1 = await ours.send(new QueryCommand(query));
    const q2 = await theirs.send(new sdk.QueryCommand(query));
    expect(strip(q1)).toEqual(strip(q2));
    expect(q1.LastEvaluatedKey).toEqual({ pk: 'RUN#h1', sk: 'A' });
    const next = await ours.send(new QueryCommand({ ...query, ExclusiveStartKey: q1.LastEvaluatedKey }));
    expect(next.Items?.map((i) => i.sk)).toEqual(['B']);

    const scan = await ours.send(
      new ScanCommand({
        TableName: 'Runs',
        FilterExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'RUN#h1' },
        ConsistentRead: true,
      }),
    );
    expect(scan.Items?.map((i) => i.sk).sort()).toEqual(['A', 'B']);

    const batch = {
      RequestItems: { Runs: { Keys: [key, { pk: 'RUN#h1', sk: 'B' }, { pk: 'RUN#h1', sk: 'none' }] } },
    };
    const g1 = await ours.send(new BatchGetCommand(batch));
    const g2 = await theirs.send(new sdk.BatchGetCommand(batch));
    const bySk = (items: Record<string, unknown>[] = []) =>
      [...items].sort((x, y) => String(x.sk).localeCompare(String(y.sk)));
    expect(bySk(g1.Responses?.Runs)).toEqual(bySk(g2.Responses?.Runs));
    expect(g1.UnprocessedKeys).toEqual({});

    const d = await ours.send(
      new DeleteCommand({ TableName: 'Runs', Key: { pk: 'RUN#h1', sk: 'B' }, ReturnValues: 'ALL_OLD' }),
    );
    expect(d.Attributes).toEqual({ pk: 'RUN#h1', sk: 'B', v: 1 });
  });

  it('writes a transaction all or nothing, and names every failed item as the SDK does', async () => {
    await ours.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'Runs', Item: { pk: 'RUN#h2', sk: 'A', v: 1 } } },
          { Put: { TableName: 'Runs', Item: { pk: 'RUN#h2', sk: 'B', v: 2 } } },
        ],
      }),
    );
    const refused = {
      TransactItems: [
        {
          Update: {
            TableName: 'Runs',
            Key: { pk: 'RUN#h2', sk: 'A' },
            UpdateExpression: 'SET v = :v',
            ExpressionAttributeValues: { ':v': 10 },
          },
        },
        {
          Put: {
            TableName: 'Runs',
            Item: { pk: 'RUN#h2', sk: 'B', v: 20 },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    };
    const mine = await ours.send(new TransactWriteCommand(refused)).catch((e: unknown) => e);
    const sdks = await theirs.send(new sdk.TransactWriteCommand(refused)).catch((e: unknown) => e);
    for (const err of [mine, sdks] as Array<Error & { CancellationReasons?: Array<{ Code?: string }> }>) {
      expect(err.name).toBe('TransactionCanceledException');
      expect(err.CancellationReasons?.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    }
    expect((mine as Error).message).toBe((sdks as Error).message);
    const read = await ours.send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: 'Runs', Key: { pk: 'RUN#h2', sk: 'A' } } },
          { Get: { TableName: 'Runs', Key: { pk: 'RUN#h2', sk: 'B' } } },
        ],
      }),
    );
    expect(read.Responses?.map((r) => r.Item?.v)).toEqual([1, 2]);
  });

  it('names a failed condition and a malformed request as the SDK does, and retries neither', async () => {
    const cases = [
      {
        TableName: 'Runs',
        Item: { pk: 'RUN#h2', sk: 'A' },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      { TableName: 'Runs', Item: { pk: 'RUN#h2' } },
      { TableName: 'NoSuchTable', Item: { pk: 'x', sk: 'y' } },
    ];
    for (const input of cases) {
      const mine = (await ours.send(new PutCommand(input)).catch((e: unknown) => e)) as Error & {
        $metadata: { attempts: number; httpStatusCode: number };
      };
      const sdks = (await theirs.send(new sdk.PutCommand(input)).catch((e: unknown) => e)) as Error;
      expect(mine.name).toBe(sdks.name);
      expect(mine.message).toBe(sdks.message);
      expect(mine.$metadata.attempts).toBe(1);
      expect(mine.$metadata.httpStatusCode).toBe(400);
    }
  });
});

/** A server in front of nothing: answers each request with the next canned answer. */
async function cannedServer(answers: Array<{ status: number; body: unknown }>) {
  let served = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answers[Math.min(served, answers.length - 1)] ?? { status: 500, body: {} };
      served++;
      res.writeHead(a.status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served: () => served,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const throttle = {
  status: 400,
  body: {
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'Rate exceeded',
  },
};

describe("the handlers' DynamoDB client under faults", () => {
  it('retries a throttle and a 500 with backoff, and answers once the table does', async () => {
    const server = await cannedServer([
      throttle,
      { status: 500, body: { __type: 'InternalServerError', message: 'oops' } },
      { status: 200, body: { Item: { pk: { S: 'p' }, n: { N: '7' } } } },
    ]);
    try {
      const db = createDocumentClient({ region: 'us-east-1', endpoint: server.url });
      const out = await db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'p' } }));
      expect(out.Item).toEqual({ pk: 'p', n: 7 });
      expect(out.$metadata.attempts).toBe(3);
      expect(server.served()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('gives up after maxAttempts with the service error, named', async () => {
    const server = await cannedServer([throttle]);
    try {
      const db = createDocumentClient({ region: 'us-east-1', endpoint: server.url, maxAttempts: 2 });
      const err = (await db
        .send(new GetCommand({ TableName: 'Runs', Key: { pk: 'p' } }))
        .catch((e: unknown) => e)) as Error & {
        $metadata: { attempts: number };
      };
      expect(err.name).toBe('ProvisionedThroughputExceededException');
      expect(err.message).toBe('Rate exceeded');
      expect(err.$metadata.attempts).toBe(2);
      expect(server.served()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('retries an endpoint that does not answer, then names it a TimeoutError', async () => {
    const server = await cannedServer([]);
    const { url } = server;
    await server.close();
    const db = createDocumentClient({ region: 'us-east-1', endpoint: url, maxAttempts: 2 });
    const err = (await db
      .send(new GetCommand({ TableName: 'Runs', Key: { pk: 'p' } }))
      .catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(err.name).toBe('TimeoutError');
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('drops a connection that goes silent and retries it, then names one that stays silent a TimeoutError', async () => {
    // Takes each request and answers none of the first `silent`: a dead socket, as a network fault leaves one.
    const silentServer = async (silent: number) => {
      let seen = 0;
      const server: Server = createServer((req, res) => {
        req.resume();
        if (++seen <= silent) return;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ Item: { pk: { S: 'p' } } }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}`,
        seen: () => seen,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      };
    };
    const once = await silentServer(1);
    try {
      const db = createDocumentClient({ region: 'us-east-1', endpoint: once.url, attemptTimeoutMs: 100 });
      const out = await db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'p' } }));
      expect(out.Item).toEqual({ pk: 'p' });
      expect(out.$metadata.attempts).toBe(2);
      expect(once.seen()).toBe(2);
    } finally {
      await once.close();
    }
    const never = await silentServer(Number.POSITIVE_INFINITY);
    try {
      const db = createDocumentClient({
        region: 'us-east-1',
        endpoint: never.url,
        maxAttempts: 3,
        attemptTimeoutMs: 100,
      });
      const err = (await db
        .send(new GetCommand({ TableName: 'Runs', Key: { pk: 'p' } }))
        .catch((e: unknown) => e)) as Error & { code?: string; $metadata?: unknown };
      expect(err.name).toBe('TimeoutError');
      expect(err.code).toBe('ETIMEDOUT');
      expect(err.message).toBe('no answer within 100 ms');
      expect(never.seen()).toBe(3);
    } finally {
      await never.close();
    }
  });
});
