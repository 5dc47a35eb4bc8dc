import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
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
  /**
   * Runs the crash fixture in `mode`; answers, per writer (suffix), the `n`
   * each of its items holds after a reboot, and the transactions it printed as committed.
   */
  async function crashAndReboot(mode: 'commit' | 'racing', writers: string[]) {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-txn-crash-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/transaction-crash-child.ts', import.meta.url)),
        dir,
        mode,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, s) => resolve(s)),
    );
    const dynamo = await startLocalDynamo({ dataDir: dir });
    try {
      const held: Array<Record<string, string | undefined>> = [];
      for (const w of writers) {
        const items: Record<string, string | undefined> = {};
        for (const pk of ['payment', 'invoice', 'receipt']) {
          const got = await dynamo.client.send(
            new GetItemCommand({ TableName: 'Txn', Key: { pk: { S: `${pk}${w}` } } }),
          );
          items[pk] = got.Item?.n?.N;
        }
        held.push(items);
      }
      const committed = printed.split('\n').filter(Boolean);
      return { signal, held, committed, undoLog: existsSync(join(dir, 'transaction-undo.json')) };
    } finally {
      await dynamo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('as its writes go to the store leaves all of them or none', async () => {
    const { signal, held, committed, undoLog } = await crashAndReboot('commit', ['']);

    expect(signal).toBe('SIGKILL');
    expect(committed).toEqual([' 1']);
    const [items] = held;
    expect(['1', '2']).toContain(items?.payment);
    expect(items?.invoice).toBe(items?.payment);
    expect(items?.receipt).toBe(items?.payment);
    expect(undoLog).toBe(false);
  });

  it('among concurrent transactions leaves every one whole, every committed one kept', async () => {
    const writers = Array.from({ length: 8 }, (_, w) => `-${w}`);
    const { signal, held, committed } = await crashAndReboot('racing', writers);

    expect(signal).toBe('SIGKILL');
    expect(committed.length).toBeGreaterThanOrEqual(40);
    writers.forEach((w, i) => {
      const items = held[i];
      // What a writer saw committed is kept: its last printed n, or the one after it (committed, not yet printed).
      const last = Math.max(
        0,
        ...committed.filter((c) => c.startsWith(`${w} `)).map((c) => Number(c.split(' ')[1])),
      );
      expect([String(last), String(last + 1)]).toContain(items?.payment ?? '0');
      expect(items?.invoice).toBe(items?.payment);
      expect(items?.receipt).toBe(items?.payment);
    });
  });
});

describe('an undo log an earlier version left behind', () => {
  it('is rolled back at boot: the images it holds are put back and the file removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-txn-legacy-'));
    try {
      const first = await startLocalDynamo({ dataDir: dir });
      await first.client.send(
        new CreateTableCommand({
          TableName: 'Txn',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      // The first write of a two-write transaction applied, then the process died.
      await first.client.send(
        new PutItemCommand({ TableName: 'Txn', Item: { pk: { S: 'payment' }, amount: { N: '1250' } } }),
      );
      await first.close();
      writeFileSync(
        join(dir, 'transaction-undo.json'),
        JSON.stringify([
          { table: 'Txn', key: { pk: { S: 'payment' } } },
          { table: 'Txn', key: { pk: { S: 'invoice' } } },
        ]),
      );
      const second = await startLocalDynamo({ dataDir: dir });
      const payment = await second.client.send(
        new GetItemCommand({ TableName: 'Txn', Key: { pk: { S: 'payment' } } }),
      );
      await second.close();

      expect(payment.Item).toBeUndefined();
      expect(existsSync(join(dir, 'transaction-undo.json'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
