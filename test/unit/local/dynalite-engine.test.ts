import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynaliteEngine } from '../../../local/aws/dynalite-engine.js';
import { TransactionRunner } from '../../../local/aws/dynamo-transactions.js';

let dir: string;
let engine: DynaliteEngine;
let transactions: TransactionRunner;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaperone-engine-'));
  engine = await DynaliteEngine.open(dir);
  transactions = new TransactionRunner(engine);
  const created = await engine.call('CreateTable', {
    TableName: 'Items',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'owner', AttributeType: 'S' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byOwner',
        KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  });
  expect(created.status).toBe(200);
});

afterEach(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (pk: string) =>
  (await engine.call('GetItem', { TableName: 'Items', Key: { pk: { S: pk } } })).body.Item as
    | Record<string, Record<string, string>>
    | undefined;

const bump = (pk: string, by: string, note: string) => ({
  TableName: 'Items',
  Key: { pk: { S: pk } },
  UpdateExpression: 'ADD #n :by SET #note = :note',
  ConditionExpression: 'attribute_not_exists(#closed)',
  ExpressionAttributeNames: { '#n': 'n', '#note': 'note', '#closed': 'closed' },
  ExpressionAttributeValues: { ':by': { N: by }, ':note': { S: note } },
});

describe('dynalite engine: expressions parsed once, values of each request', () => {
  it('applies each request its own values when the same expressions come again', async () => {
    await engine.call('UpdateItem', bump('a', '2', 'first'));
    await engine.call('UpdateItem', bump('a', '5', 'second'));
    await engine.call('UpdateItem', bump('b', '7', 'third'));

    expect(await get('a')).toEqual({ pk: { S: 'a' }, n: { N: '7' }, note: { S: 'second' } });
    expect(await get('b')).toEqual({ pk: { S: 'b' }, n: { N: '7' }, note: { S: 'third' } });
  });

  it('checks the condition against each request', async () => {
    const put = (pk: string, status: string, expected: string) =>
      engine.call('PutItem', {
        TableName: 'Items',
        Item: { pk: { S: pk }, status: { S: status } },
        ConditionExpression: 'attribute_not_exists(pk) OR #s = :expected',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':expected': { S: expected } },
      });
    const first = await put('c', 'open', 'none');
    const stale = await put('c', 'closed', 'paid');
    const current = await put('c', 'paid', 'open');

    expect(first.status).toBe(200);
    expect(stale.status).toBe(400);
    expect(String(stale.body.__type)).toMatch(/ConditionalCheckFailedException$/);
    expect(current.status).toBe(200);
    expect((await get('c'))?.status).toEqual({ S: 'paid' });
  });

  it('refuses an invalid value after the same expressions were accepted, naming its key', async () => {
    await engine.call('UpdateItem', bump('d', '1', 'ok'));
    const bad = await engine.call('UpdateItem', bump('d', 'twelve', 'bad'));

    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain(':by');
    expect((await get('d'))?.n).toEqual({ N: '1' });
  });

  it('still checks the bounds of BETWEEN with each request’s values', async () => {
    const between = (low: string, high: string) =>
      engine.call('PutItem', {
        TableName: 'Items',
        Item: { pk: { S: 'e' }, n: { N: '5' } },
        ConditionExpression: 'attribute_not_exists(n) OR n BETWEEN :low AND :high',
        ExpressionAttributeValues: { ':low': { N: low }, ':high': { N: high } },
      });
    const ok = await between('1', '9');
    const reversed = await between('9', '1');
    const equal = await between('5', '5');
    const mixed = await engine.call('PutItem', {
      TableName: 'Items',
      Item: { pk: { S: 'e' }, n: { N: '5' } },
      ConditionExpression: 'attribute_not_exists(n) OR n BETWEEN :low AND :high',
      ExpressionAttributeValues: { ':low': { N: '1' }, ':high': { S: '9' } },
    });
    // Nine to ten as numbers, not as text ("10" sorts before "9"): the bounds pass, and 5 is outside them.
    const numeric = await between('9', '10');

    expect(ok.status).toBe(200);
    expect(reversed.status).toBe(400);
    expect(String(reversed.body.message)).toContain('upper bound to be greater than or equal to lower bound');
    expect(equal.status).toBe(200);
    expect(mixed.status).toBe(400);
    expect(String(mixed.body.message)).toContain('same data type for lower and upper bounds');
    expect(String(numeric.body.__type)).toMatch(/ConditionalCheckFailedException$/);
  });

  it('answers a query with BETWEEN on its sort key with each request’s bounds, as a fresh parse does', async () => {
    await engine.call('CreateTable', {
      TableName: 'Sorted',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    for (const sk of ['a', 'b', 'c', 'd'])
      await engine.call('PutItem', { TableName: 'Sorted', Item: { pk: { S: 'p' }, sk: { S: sk } } });
    const query = async (from: string, to: string) => {
      const out = await engine.call('Query', {
        TableName: 'Sorted',
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: 'p' }, ':from': { S: from }, ':to': { S: to } },
      });
      return out.status === 200
        ? (out.body.Items as Array<{ sk: { S: string } }>).map((i) => i.sk.S)
        : String(out.body.message);
    };
    expect(await query('a', 'b')).toEqual(['a', 'b']);
    expect(await query('b', 'd')).toEqual(['b', 'c', 'd']);
    expect(await query('d', 'a')).toContain('upper bound to be greater than or equal to lower bound');
    expect(await query('c', 'c')).toEqual(['c']);
  });
});

describe('dynalite transactions: one batch, under the items’ own locks', () => {
  it('writes items and their index entries together', async () => {
    const out = await transactions.write({
      TransactItems: [
        { Put: { TableName: 'Items', Item: { pk: { S: 'inv-1' }, owner: { S: 'ada' } } } },
        { Update: bump('counter', '1', 'txn') },
      ],
    });
    const byOwner = await engine.call('Query', {
      TableName: 'Items',
      IndexName: 'byOwner',
      KeyConditionExpression: '#o = :o',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':o': { S: 'ada' } },
    });

    expect(out).toEqual({});
    expect((await get('counter'))?.n).toEqual({ N: '1' });
    expect(byOwner.body.Items).toEqual([{ pk: { S: 'inv-1' }, owner: { S: 'ada' } }]);
  });

  it('loses no update when transactions and single writes hit the same item at once', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        transactions.write({
          TransactItems: [
            { Update: bump('shared', '1', `txn ${i}`) },
            { Put: { TableName: 'Items', Item: { pk: { S: `own-${i}` } } } },
          ],
        }),
        engine.call('UpdateItem', bump('shared', '1', `single ${i}`)),
      ]).flat(),
    );

    expect((await get('shared'))?.n).toEqual({ N: '40' });
    expect(await get('own-19')).toEqual({ pk: { S: 'own-19' } });
  });

  it('cancels with the failed item’s reason and its image when asked, writing nothing', async () => {
    await engine.call('PutItem', { TableName: 'Items', Item: { pk: { S: 'meta' }, closed: { BOOL: true } } });
    const out = await transactions.write({
      TransactItems: [
        { Put: { TableName: 'Items', Item: { pk: { S: 'msg' }, owner: { S: 'bob' } } } },
        { Update: { ...bump('meta', '1', 'late'), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      ],
    });

    expect(out).toMatchObject({
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        CancellationReasons: [
          { Code: 'None' },
          {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            Item: { pk: { S: 'meta' }, closed: { BOOL: true } },
          },
        ],
      },
    });
    expect(await get('msg')).toBeUndefined();
    expect(await get('meta')).toEqual({ pk: { S: 'meta' }, closed: { BOOL: true } });
  });

  it('names every item whose condition failed, as DynamoDB does, not only the first', async () => {
    await engine.call('PutItem', { TableName: 'Items', Item: { pk: { S: 'meta' }, closed: { BOOL: true } } });
    const out = await transactions.write({
      TransactItems: [
        { Update: bump('meta', '1', 'late') },
        { Put: { TableName: 'Items', Item: { pk: { S: 'fresh' } } } },
        {
          ConditionCheck: {
            TableName: 'Items',
            Key: { pk: { S: 'nobody' } },
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
      ],
    });

    expect(out).toMatchObject({
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message:
          'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, ConditionalCheckFailed]',
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
        ],
      },
    });
    expect(await get('fresh')).toBeUndefined();
    expect(await get('meta')).toEqual({ pk: { S: 'meta' }, closed: { BOOL: true } });

    // An item that cannot be written after a failed condition is one more reason, as in DynamoDB.
    const both = await transactions.write({
      TransactItems: [
        { Update: bump('meta', '1', 'late') },
        {
          Update: {
            TableName: 'Items',
            Key: { pk: { S: 'fresh' } },
            UpdateExpression: 'SET #a.#b = :v',
            ExpressionAttributeNames: { '#a': 'a', '#b': 'b' },
            ExpressionAttributeValues: { ':v': { S: 'q' } },
          },
        },
      ],
    });
    expect(both).toMatchObject({
      status: 400,
      body: {
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed' },
          {
            Code: 'ValidationError',
            Message: 'The document path provided in the update expression is invalid for update',
          },
        ],
      },
    });
    expect(await get('fresh')).toBeUndefined();
  });

  it('refuses two operations on one item and a missing table before writing anything', async () => {
    const twice = await transactions.write({
      TransactItems: [
        { Put: { TableName: 'Items', Item: { pk: { S: 'x' } } } },
        { Delete: { TableName: 'Items', Key: { pk: { S: 'x' } } } },
      ],
    });
    const missing = await transactions.write({
      TransactItems: [
        { Put: { TableName: 'Items', Item: { pk: { S: 'y' } } } },
        { Put: { TableName: 'Nowhere', Item: { pk: { S: 'y' } } } },
      ],
    });

    expect(twice).toMatchObject({
      status: 400,
      body: { message: 'Transaction request cannot include multiple operations on one item' },
    });
    expect(missing).toMatchObject({
      status: 400,
      body: { __type: expect.stringMatching(/ResourceNotFound/) },
    });
    expect(await get('x')).toBeUndefined();
    expect(await get('y')).toBeUndefined();
  });

  it('refuses a read of one item twice, or of none, as DynamoDB does, and leaves the item free', async () => {
    await engine.call('PutItem', { TableName: 'Items', Item: { pk: { S: 'a' }, n: { N: '1' } } });
    const read = { Get: { TableName: 'Items', Key: { pk: { S: 'a' } } } };

    const twice = await transactions.get({ TransactItems: [read, read] });
    const none = await transactions.get({ TransactItems: [] });
    const tooMany = await transactions.get({
      TransactItems: Array.from({ length: 101 }, (_, i) => ({
        Get: { TableName: 'Items', Key: { pk: { S: `k${i}` } } },
      })),
    });

    expect(twice).toMatchObject({
      status: 400,
      body: {
        __type: expect.stringMatching(/#ValidationException$/),
        message: 'Transaction request cannot include multiple operations on one item',
      },
    });
    for (const refused of [none, tooMany])
      expect(refused).toMatchObject({
        status: 400,
        body: {
          message: expect.stringMatching(/Member must have length between 1 and 100 \(TransactItems\)/),
        },
      });
    // A write to the item goes through: the refused read holds no lock on it.
    expect(
      (await engine.call('PutItem', { TableName: 'Items', Item: { pk: { S: 'a' }, n: { N: '2' } } })).status,
    ).toBe(200);
    expect(await transactions.get({ TransactItems: [read] })).toEqual({
      Responses: [{ Item: { pk: { S: 'a' }, n: { N: '2' } } }],
    });
  });

  it('reads a transaction’s items all before or all after it', async () => {
    const pair = (n: string) => ({
      TransactItems: ['left', 'right'].map((pk) => ({
        Put: { TableName: 'Items', Item: { pk: { S: pk }, n: { N: n } } },
      })),
    });
    await transactions.write(pair('0'));
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 40; i++) await transactions.write(pair(String(i)));
      writing = false;
    })();
    const seen: Array<[string | undefined, string | undefined]> = [];
    const readers = Array.from({ length: 3 }, async () => {
      while (writing) {
        const r = await transactions.get({
          TransactItems: ['left', 'right'].map((pk) => ({
            Get: { TableName: 'Items', Key: { pk: { S: pk } } },
          })),
        });
        const [left, right] = (r as { Responses: Array<{ Item?: { n: { N: string } } }> }).Responses;
        seen.push([left?.Item?.n.N, right?.Item?.n.N]);
      }
    });
    await Promise.all([writer, ...readers]);

    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter(([l, r]) => l !== r)).toEqual([]);
  });
});
