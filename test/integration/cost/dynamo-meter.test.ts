import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../lambdas/adapters/dynamo-client.js';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../../lambdas/adapters/dynamo-http.js';
import { metered, usageSnapshot } from '../../../lambdas/core/usage.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../../local/aws/dynamodb.js';
import { TABLES } from '../../support/agent-harness.js';

let dir: string;
let dynamo: LocalDynamo;
let db: ReturnType<typeof createDocumentClient>;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  dir = mkdtempSync(join(tmpdir(), 'chaperone-meter-'));
  dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo') });
  await ensureTables(dynamo.client, TABLES);
  db = createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url });
});
afterAll(async () => {
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
});

const invoke = <R>(fn: () => Promise<R>) =>
  metered(fn, { AWS_REGION: 'us-east-1' })(undefined, {
    awsRequestId: `t-${Math.random()}`,
    memoryLimitInMB: '1024',
  });

describe("the DynamoDB meter on the handlers' client", () => {
  it('counts every request in request units, by kind and size', async () => {
    const big = 'x'.repeat(3000);
    const usage = await invoke(async () => {
      await db.send(new PutCommand({ TableName: 'Runs', Item: { pk: 'RUN#m1', sk: 'A', v: 'small' } }));
      await db.send(new PutCommand({ TableName: 'Runs', Item: { pk: 'RUN#m1', sk: 'B', v: big } }));
      await db.send(
        new GetCommand({ TableName: 'Runs', Key: { pk: 'RUN#m1', sk: 'B' }, ConsistentRead: true }),
      );
      await db.send(
        new QueryCommand({
          TableName: 'Runs',
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': 'RUN#m1' },
          ConsistentRead: true,
        }),
      );
      await db.send(
        new UpdateCommand({
          TableName: 'Runs',
          Key: { pk: 'RUN#m1', sk: 'A' },
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': 1 },
        }),
      );
      await db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'Runs', Item: { pk: 'RUN#m1', sk: 'C', v: 'c' } } },
            { Put: { TableName: 'Runs', Item: { pk: 'RUN#m1', sk: 'D', v: big } } },
          ],
        }),
      );
      return usageSnapshot();
    });
    // Put small 1 + put 3 KB 3 + update 1 = 5 write units; transaction 2 × (1 + 3) = 8.
    // Get 3 KB strongly consistent: 1 read unit; the query over ~3 KB: 1.
    expect(usage?.dynamodb).toEqual({ requests: 6, readUnits: 2, writeUnits: 13 });
  });

  it("reads a local transaction's units from its answer, as DynamoDB reports them: the larger of each item before and after, doubled", async () => {
    const big = 'x'.repeat(3000);
    await db.send(new PutCommand({ TableName: 'Runs', Item: { pk: 'RUN#m3', sk: 'BIG', v: big } }));
    const transaction = {
      TransactItems: [
        // A small change to a 3 KB item: 3 units, doubled (the request alone would size it at 1).
        {
          Update: {
            TableName: 'Runs',
            Key: { pk: 'RUN#m3', sk: 'BIG' },
            UpdateExpression: 'SET n = :n',
            ExpressionAttributeValues: { ':n': 1 },
          },
        },
        { Put: { TableName: 'Runs', Item: { pk: 'RUN#m3', sk: 'S', v: 's' } } },
        {
          ConditionCheck: {
            TableName: 'Runs',
            Key: { pk: 'RUN#m3', sk: 'S0' },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    };
    const answer = await db.send(
      new TransactWriteCommand({ ...transaction, ReturnConsumedCapacity: 'TOTAL' }),
    );
    expect(answer.ConsumedCapacity).toEqual([
      { TableName: 'Runs', CapacityUnits: 10, WriteCapacityUnits: 10 },
    ]);
    const unasked = await db.send(
      new TransactWriteCommand({
        TransactItems: [{ Put: { TableName: 'Runs', Item: { pk: 'RUN#m3', sk: 'T', v: 't' } } }],
      }),
    );
    expect(unasked.ConsumedCapacity).toBeUndefined();
    const usage = await invoke(async () => {
      await db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: { ...transaction.TransactItems[0]?.Update, ExpressionAttributeValues: { ':n': 2 } } },
          ],
        } as never),
      );
      return usageSnapshot();
    });
    expect(usage?.dynamodb).toEqual({ requests: 1, readUnits: 0, writeUnits: 6 });
  });

  it('counts a refused conditional write at its minimum, and nothing outside a metered invocation', async () => {
    await db.send(new PutCommand({ TableName: 'Runs', Item: { pk: 'RUN#m2', sk: 'A' } }));
    const usage = await invoke(async () => {
      await db
        .send(
          new PutCommand({
            TableName: 'Runs',
            Item: { pk: 'RUN#m2', sk: 'A' },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((err: Error) => expect(err.name).toBe('ConditionalCheckFailedException'));
      return usageSnapshot();
    });
    expect(usage?.dynamodb).toEqual({ requests: 1, readUnits: 0, writeUnits: 1 });
  });

  it("leaves the caller's input as it was", async () => {
    const input = { TableName: 'Runs', Key: { pk: 'RUN#m2', sk: 'A' } };
    await invoke(() => db.send(new GetCommand(input)));
    expect(input).toEqual({ TableName: 'Runs', Key: { pk: 'RUN#m2', sk: 'A' } });
  });
});
