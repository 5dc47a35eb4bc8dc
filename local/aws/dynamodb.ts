/**
 * Local DynamoDB: dynalite on 127.0.0.1 with its data on disk (plus the
 * transactions it lacks), and the template's tables created through the real
 * SDK when they do not exist yet.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
import { RwLock, TransactionRunner } from './dynamo-transactions.js';
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

/**
 * Starts dynalite on 127.0.0.1 with LevelDB files in `dataDir`, behind a
 * small proxy that adds the transactions dynalite lacks (see
 * `dynamo-transactions.ts`). Port 0 picks a free one.
 */
export async function startLocalDynamo(options: { dataDir: string; port?: number }): Promise<LocalDynamo> {
  const inner: Server = dynalite({
    path: options.dataDir,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await listen(inner, 0);
  const innerUrl = `http://127.0.0.1:${(inner.address() as AddressInfo).port}`;
  const innerClient = new DynamoDBClient({
    endpoint: innerUrl,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const transactions = new TransactionRunner(innerClient);
  const lock = new RwLock();
  const proxy = createServer((req, res) => {
    void proxyRequest(req, res, innerUrl, transactions, lock).catch((err: unknown) => {
      if (res.headersSent) return void res.end();
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: String(err),
        }),
      );
    });
  });
  await listen(proxy, options.port ?? 0);
  const port = (proxy.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint: url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    url,
    port,
    client,
    async close() {
      client.destroy();
      innerClient.destroy();
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      inner.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        inner.close((err?: Error) => (err ? reject(err) : resolve())),
      );
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const TRANSACTIONS = new Set(['DynamoDB_20120810.TransactWriteItems', 'DynamoDB_20120810.TransactGetItems']);

async function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  innerUrl: string,
  transactions: TransactionRunner,
  lock: RwLock,
): Promise<void> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const body = Buffer.concat(parts);
  const target = String(req.headers['x-amz-target'] ?? '');
  if (TRANSACTIONS.has(target)) {
    const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
    const request = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const out = await lock.with(true, () =>
      target.endsWith('TransactWriteItems') ? transactions.write(request) : transactions.get(request),
    );
    const failed = 'status' in out && typeof out.status === 'number' && 'body' in out;
    res.writeHead(failed ? Number(out.status) : 200, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomUUID(),
    });
    res.end(JSON.stringify(failed ? out.body : out));
    return;
  }
  await lock.with(false, async () => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    const answer = await fetch(`${innerUrl}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers,
      body: body.length > 0 ? body : undefined,
    });
    const out: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'connection' && k !== 'transfer-encoding') out[k] = v;
    });
    const payload = Buffer.from(await answer.arrayBuffer());
    res.writeHead(answer.status, out);
    res.end(payload);
  });
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
function toIndex(index: Record<string, unknown>): {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: Projection;
} {
  // The template is our own synth output: its index shapes are CloudFormation's, which CreateTable shares.
  return {
    IndexName: String(index.IndexName),
    KeySchema: (Array.isArray(index.KeySchema) ? index.KeySchema : []) as KeySchemaElement[],
    Projection: (index.Projection ?? { ProjectionType: 'ALL' }) as Projection,
  };
}
