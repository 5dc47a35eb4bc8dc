import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureTables, startLocalDynamo } from '../../../../local/aws/dynamodb.js';
import { readLocalApp } from '../../../../local/runtime/template.js';
import { sampleTemplate } from './sample-template.js';

describe('local DynamoDB', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates the template tables with their GSIs once and keeps data across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-dynamo-'));
    dirs.push(dir);
    const { tables } = readLocalApp(sampleTemplate());

    const first = await startLocalDynamo({ dataDir: dir });
    const created = await ensureTables(first.client, tables);
    const described = await first.client.send(new DescribeTableCommand({ TableName: 'RunsTable' }));
    await first.client.send(
      new PutItemCommand({
        TableName: 'RunsTable',
        Item: { pk: { S: 'RUN#1' }, sk: { S: 'META' }, status: { S: 'RUNNING' } },
      }),
    );
    await first.close();
    const second = await startLocalDynamo({ dataDir: dir });
    const createdAgain = await ensureTables(second.client, tables);
    const item = await second.client.send(
      new GetItemCommand({ TableName: 'RunsTable', Key: { pk: { S: 'RUN#1' }, sk: { S: 'META' } } }),
    );
    await second.close();

    expect(created.sort()).toEqual(['ApprovalsTable', 'RunsTable']);
    expect(described.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual(['byWorkflow']);
    expect(createdAgain).toEqual([]);
    expect(item.Item?.status).toEqual({ S: 'RUNNING' });
  });

  it('runs TransactWriteItems all-or-nothing, answering TransactionCanceledException with reasons', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-dynamo-'));
    dirs.push(dir);
    const dynamo = await startLocalDynamo({ dataDir: dir });
    await ensureTables(dynamo.client, readLocalApp(sampleTemplate()).tables);
    const put = (sk: string, status: string) => ({
      Put: {
        TableName: 'RunsTable',
        Item: { pk: { S: 'RUN#2' }, sk: { S: sk }, status: { S: status } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
    const get = (sk: string) =>
      dynamo.client.send(
        new GetItemCommand({ TableName: 'RunsTable', Key: { pk: { S: 'RUN#2' }, sk: { S: sk } } }),
      );

    await dynamo.client.send(new TransactWriteItemsCommand({ TransactItems: [put('META', 'RUNNING')] }));
    const failed = await dynamo.client
      .send(new TransactWriteItemsCommand({ TransactItems: [put('LEDGER', 'new'), put('META', 'again')] }))
      .catch((err: unknown) => err);
    const ledger = await get('LEDGER');
    const meta = await get('META');
    await dynamo.close();

    expect(failed).toBeInstanceOf(TransactionCanceledException);
    expect((failed as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(ledger.Item).toBeUndefined();
    expect(meta.Item?.status).toEqual({ S: 'RUNNING' });
  });
});

describe('a transaction that writes one item and checks another', () => {
  it('writes nothing when the check fails, wherever the check stands, and reasons keep the request order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-dynamo-'));
    const dynamo = await startLocalDynamo({ dataDir: dir });
    try {
      await ensureTables(dynamo.client, readLocalApp(sampleTemplate()).tables);
      const key = (sk: string) => ({ pk: { S: 'RUN#3' }, sk: { S: sk } });
      await dynamo.client.send(
        new PutItemCommand({ TableName: 'RunsTable', Item: { ...key('META'), status: { S: 'STOPPED' } } }),
      );
      const write = { Put: { TableName: 'RunsTable', Item: { ...key('MSG#1'), text: { S: 'hi' } } } };
      const check = {
        ConditionCheck: {
          TableName: 'RunsTable',
          Key: key('META'),
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':running': { S: 'RUNNING' } },
        },
      };

      const failed = await dynamo.client
        .send(new TransactWriteItemsCommand({ TransactItems: [write, check] }))
        .catch((err: unknown) => err);
      const message = await dynamo.client.send(
        new GetItemCommand({ TableName: 'RunsTable', Key: key('MSG#1') }),
      );
      const meta = await dynamo.client.send(new GetItemCommand({ TableName: 'RunsTable', Key: key('META') }));

      expect(failed).toBeInstanceOf(TransactionCanceledException);
      expect((failed as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
        'None',
        'ConditionalCheckFailed',
      ]);
      expect(message.Item).toBeUndefined();
      expect(meta.Item?.status).toEqual({ S: 'STOPPED' });
      expect(existsSync(join(dir, 'transaction-undo.json'))).toBe(false);
    } finally {
      await dynamo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a transaction cut in half by kill -9', () => {
  it('is rolled back at the next boot: neither of its writes is seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-txn-crash-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/transaction-crash-child.ts', import.meta.url)),
        dir,
      ],
      { stdio: 'ignore' },
    );
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, s) => resolve(s)),
    );
    expect(signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'transaction-undo.json'))).toBe(true);

    const dynamo = await startLocalDynamo({ dataDir: dir });
    try {
      const payment = await dynamo.client.send(
        new GetItemCommand({ TableName: 'Txn', Key: { pk: { S: 'payment' } } }),
      );
      const invoice = await dynamo.client.send(
        new GetItemCommand({ TableName: 'Txn', Key: { pk: { S: 'invoice' } } }),
      );

      expect(payment.Item).toBeUndefined();
      expect(invoice.Item).toBeUndefined();
      expect(existsSync(join(dir, 'transaction-undo.json'))).toBe(false);
    } finally {
      await dynamo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
