/**
 * Local DynamoDB: dynalite with its data on disk behind a proxy on 127.0.0.1
 * that checks every request's SigV4 signature and adds the transactions
 * dynalite lacks; and the template's tables created through the real SDK
 * when they do not exist yet. Dynalite itself checks no signature, so it
 * listens on a Unix socket (a named pipe on Windows) in a private temporary
 * folder rather than on a TCP port another process could reach.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  Agent,
  type ClientRequestArgs,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
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
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalCredentials } from './local-credentials.js';
import { verifySigV4 } from './sigv4-verify.js';

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
  /** A client on this endpoint (the endpoint's credentials, us-east-1). */
  client: DynamoDBClient;
  /** Stops the server and closes the LevelDB store. */
  close(): Promise<void>;
}

/**
 * Starts dynalite with LevelDB files in `dataDir`, behind a proxy on
 * 127.0.0.1 that accepts only requests signed with `credentials` and adds
 * the transactions dynalite lacks (see `dynamo-transactions.ts`). Port 0
 * picks a free one.
 */
export async function startLocalDynamo(options: {
  dataDir: string;
  port?: number;
  /** The only key pair whose signatures are accepted. @default {@link LOCAL_CREDENTIALS} */
  credentials?: LocalCredentials;
}): Promise<LocalDynamo> {
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const inner: Server = dynalite({
    path: options.dataDir,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const socketDir = process.platform === 'win32' ? undefined : mkdtempSync(join(tmpdir(), 'chaperone-ddb-'));
  const socketPath = socketDir
    ? join(socketDir, 'dynalite.sock')
    : `\\\\.\\pipe\\chaperone-dynalite-${randomUUID()}`;
  try {
    await listen(inner, socketPath);
  } catch (err) {
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    throw err;
  }
  const toInner = new SocketAgent(socketPath);
  const innerClient = new DynamoDBClient({
    endpoint: 'http://dynalite.local',
    region: LOCAL_REGION,
    credentials,
    requestHandler: { httpAgent: toInner },
  });
  const transactions = new TransactionRunner(innerClient, join(options.dataDir, 'transaction-undo.json'));
  // A transaction a kill -9 cut in half is rolled back before anyone reads.
  await transactions.recover();
  const lock = new RwLock();
  const proxy = createServer((req, res) => {
    void proxyRequest(req, res, { socketPath, agent: toInner, credentials }, transactions, lock).catch(() => {
      if (res.headersSent) return void res.end();
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'internal failure',
        }),
      );
    });
  });
  await listen(proxy, options.port ?? 0);
  const port = (proxy.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint: url, region: LOCAL_REGION, credentials });
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
      toInner.destroy();
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    },
  };
}

/** An HTTP agent whose connections go to a Unix socket (or named pipe) instead of a TCP port. */
class SocketAgent extends Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true });
  }
  override createConnection(
    _options: ClientRequestArgs,
    callback?: (err: Error | null, socket: Duplex) => void,
  ): Duplex {
    const socket = createConnection({ path: this.socketPath });
    if (callback) {
      socket.once('connect', () => callback(null, socket));
      socket.once('error', (err) => callback(err, socket));
    }
    return socket;
  }
}

function listen(server: Server, at: number | string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (typeof at === 'string') server.listen(at, done);
    else server.listen(at, '127.0.0.1', done);
  });
}

const TRANSACTIONS = new Set(['DynamoDB_20120810.TransactWriteItems', 'DynamoDB_20120810.TransactGetItems']);

async function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  inner: { socketPath: string; agent: Agent; credentials: LocalCredentials },
  transactions: TransactionRunner,
  lock: RwLock,
): Promise<void> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const body = Buffer.concat(parts);
  const refused = verifySigV4(
    { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
    inner.credentials,
  );
  if (refused) {
    res.writeHead(403, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify({ __type: `com.amazon.coral.service#${refused.code}`, message: refused.message }));
    return;
  }
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
      if (typeof v === 'string' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    headers['content-length'] = String(body.length);
    const answer = await new Promise<{ status: number; headers: Record<string, string>; payload: Buffer }>(
      (resolve, reject) => {
        const forwarded = httpRequest(
          { agent: inner.agent, path: req.url ?? '/', method: req.method ?? 'POST', headers },
          (reply) => {
            const chunks: Buffer[] = [];
            reply.on('data', (c: Buffer) => chunks.push(c));
            reply.on('error', reject);
            reply.on('end', () => {
              const out: Record<string, string> = {};
              for (const [k, v] of Object.entries(reply.headers))
                if (
                  typeof v === 'string' &&
                  !['content-length', 'connection', 'transfer-encoding'].includes(k)
                )
                  out[k] = v;
              resolve({ status: reply.statusCode ?? 500, headers: out, payload: Buffer.concat(chunks) });
            });
          },
        );
        forwarded.on('error', reject);
        forwarded.end(body);
      },
    );
    res.writeHead(answer.status, answer.headers);
    res.end(answer.payload);
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
