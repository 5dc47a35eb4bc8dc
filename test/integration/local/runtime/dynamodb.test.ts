import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
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
    await first.client.send(new PutItemCommand({ TableName: 'RunsTable', Item: { pk: { S: 'RUN#1' }, sk: { S: 'META' }, status: { S: 'RUNNING' } } }));
    await first.close();
    const second = await startLocalDynamo({ dataDir: dir });
    const createdAgain = await ensureTables(second.client, tables);
    const item = await second.client.send(new GetItemCommand({ TableName: 'RunsTable', Key: { pk: { S: 'RUN#1' }, sk: { S: 'META' } } }));
    await second.close();

    expect(created.sort()).toEqual(['ApprovalsTable', 'RunsTable']);
    expect(described.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual(['byWorkflow']);
    expect(createdAgain).toEqual([]);
    expect(item.Item?.status).toEqual({ S: 'RUNNING' });
  });
});
