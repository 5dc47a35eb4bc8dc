/**
 * Local DynamoDB: dynalite on 127.0.0.1 with its data on disk, and the
 * template's tables created through the real SDK when they do not exist yet.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ListTablesCommand,
  type LocalSecondaryIndex,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-credentials.js';

/** A table to create, in CreateTable terms (see `LocalTable` in the template reader). */
export interface TableSpec {
  tableName: string;
  keySchema: KeySchemaElement[];
  attributeDefinitions: AttributeDefinition[];
  globalSecondaryIndexes?: Array<Record<string, unknown>>;
  localSecondaryIndexes?: Array<Record<string, unknown>>;
}

/** A running local DynamoDB. */
export interface LocalDynamo {
  /** Endpoint for `AWS_ENDPOINT_URL_DYNAMODB`, e.g. `http://127.0.0.1:4567`. */
  url: string;
  port: number;
  /** A client on this endpoint (local credentials, us-east-1). */
  client: DynamoDBClient;
  /** Stops the server and closes the LevelDB store. */
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1 with LevelDB files in `dataDir`. Port 0 picks a free one. */
export async function startLocalDynamo(options: { dataDir: string; port?: number }): Promise<LocalDynamo> {
  const server: Server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint: url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    url,
    port,
    client,
    async close() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve())));
    },
  };
}

/**
 * Creates every table that does not exist yet (pay per request, as the stack
 * declares them); returns the names it created. Existing tables are kept as
 * they are, so data survives a restart.
 */
export async function ensureTables(client: DynamoDBClient, tables: TableSpec[]): Promise<string[]> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);
  const created: string[] = [];
  for (const table of tables) {
    if (existing.has(table.tableName)) continue;
    const gsis: GlobalSecondaryIndex[] = (table.globalSecondaryIndexes ?? []).map(toIndex);
    const lsis: LocalSecondaryIndex[] = (table.localSecondaryIndexes ?? []).map(toIndex);
    await client.send(
      new CreateTableCommand({
        TableName: table.tableName,
        KeySchema: table.keySchema,
        AttributeDefinitions: table.attributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(gsis.length > 0 ? { GlobalSecondaryIndexes: gsis } : {}),
        ...(lsis.length > 0 ? { LocalSecondaryIndexes: lsis } : {}),
      }),
    );
    created.push(table.tableName);
  }
  return created;
}

/** Keeps the CreateTable fields of an index (drops provisioned throughput, contributor insights…). */
function toIndex(index: Record<string, unknown>): { IndexName: string; KeySchema: KeySchemaElement[]; Projection: Projection } {
  // The template is our own synth output: its index shapes are CloudFormation's, which CreateTable shares.
  return {
    IndexName: String(index.IndexName),
    KeySchema: (Array.isArray(index.KeySchema) ? index.KeySchema : []) as KeySchemaElement[],
    Projection: (index.Projection ?? { ProjectionType: 'ALL' }) as Projection,
  };
}
