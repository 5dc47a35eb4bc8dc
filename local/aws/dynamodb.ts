/**
 * Local DynamoDB: one HTTP server on 127.0.0.1 that checks every request's
 * SigV4 signature and answers it with dynalite's engine in this process (its
 * data in memory with every write logged to disk first, `dynamo-log.ts`), plus the transactions dynalite lacks; and the
 * template's tables created through the real SDK when they do not exist yet.
 * A request is read and parsed once: no second hop to a dynalite server, no
 * SDK client between the transactions and the store.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
import { serveInProcess } from '../../lambdas/adapters/in-process-endpoints.js';
import type { Durability } from '../durability.js';
import { DynaliteEngine } from './dynalite-engine.js';
import type { LogDisk } from './dynamo-log.js';
import { TransactionRunner } from './dynamo-transactions.js';
import { readRequestBody } from './http-body.js';
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
  /** Stops the server and closes the store and its log. */
  close(): Promise<void>;
}

/** Dynalite refuses a request body above this (as its HTTP handler did). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * Starts dynalite's engine with its data in `dataDir` (`dynamo-log.ts`), behind a server
 * on 127.0.0.1 that accepts only requests signed with `credentials` and adds
 * the transactions dynalite lacks (see `dynamo-transactions.ts`). Port 0
 * picks a free one. Unless `inProcess` is false, the handlers' client in this
 * same thread reaches it by a call instead of a socket
 * (`lambdas/adapters/in-process-endpoints.ts`): the same request bytes and
 * the same answers, without loopback HTTP and the signature both ways.
 */
export async function startLocalDynamo(options: {
  dataDir: string;
  port?: number;
  /** The only key pair whose signatures are accepted. @default {@link LOCAL_CREDENTIALS} */
  credentials?: LocalCredentials;
  /** Serve this thread's lean clients without a socket. @default true */
  inProcess?: boolean;
  /** What an answered write survives (`local/durability.ts`). @default 'process' */
  durability?: Durability;
  /** How the log is synced under `machine` durability (a test's recording disk). @default `fs.fdatasync` */
  logDisk?: LogDisk;
}): Promise<LocalDynamo> {
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const engine = await DynaliteEngine.open(options.dataDir, {
    ...(options.durability !== undefined ? { durability: options.durability } : {}),
    ...(options.logDisk ? { disk: options.logDisk } : {}),
  });
  const transactions = new TransactionRunner(engine, join(options.dataDir, 'transaction-undo.json'));
  const deps: Deps = { engine, transactions, credentials };
  let server: Server | undefined;
  try {
    // A transaction an earlier version's undo log says a kill -9 cut in half is rolled back before anyone reads.
    await transactions.recover();
    const endpoint = createServer((req, res) => {
      void answer(req, res, deps).catch(() => {
        if (res.headersSent) return void res.end();
        send(res, reply(500, INTERNAL_FAILURE));
      });
    });
    // Idle keep-alive sockets outlive the SDK's, so a client never reuses one the server is closing.
    endpoint.keepAliveTimeout = 65_000;
    server = endpoint;
    await listen(endpoint, options.port ?? 0);
  } catch (err) {
    server?.close();
    await engine.close().catch(() => undefined);
    throw err;
  }
  const endpoint = server;
  const port = (endpoint.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint: url, region: LOCAL_REGION, credentials });
  const stopInProcess =
    options.inProcess === false
      ? () => undefined
      : serveInProcess(
          url,
          (req) => {
            if (req.body.length > MAX_REQUEST_BYTES)
              return Promise.resolve({ status: 413, headers: {}, body: Buffer.alloc(0) });
            return operate(
              req.method,
              req.headers['content-type'] ?? '',
              req.headers['x-amz-target'] ?? '',
              req.value !== undefined ? { value: req.value } : req.body,
              deps,
            ).catch(() => reply(500, INTERNAL_FAILURE));
          },
          // A request handed over as its value is taken as it is, and answered with one on success.
          { values: true },
        );
  return {
    url,
    port,
    client,
    async close() {
      stopInProcess();
      client.destroy();
      await new Promise<void>((resolve) => {
        endpoint.close(() => resolve());
        endpoint.closeAllConnections();
      });
      await engine.close();
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

const NO_BYTES = Buffer.alloc(0);

const INTERNAL_FAILURE = {
  __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
  message: 'internal failure',
};

/** An answer as bytes (or, `asValue`, a success as its value), with the headers DynamoDB (and dynalite) send. */
function reply(
  status: number,
  body: unknown,
  contentType = 'application/x-amz-json-1.0',
  asValue = false,
): { status: number; headers: Record<string, string>; body: Buffer; value?: unknown } {
  if (asValue && status === 200)
    return {
      status,
      headers: { 'content-type': contentType, 'x-amzn-requestid': randomUUID() },
      body: NO_BYTES,
      value: body,
    };
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: {
      'content-type': contentType,
      'content-length': String(bytes.length),
      'x-amzn-requestid': randomUUID(),
    },
    body: bytes,
  };
}

function send(res: ServerResponse, answer: ReturnType<typeof reply>): void {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

const API = 'DynamoDB_20120810';

interface Deps {
  engine: DynaliteEngine;
  transactions: TransactionRunner;
  credentials: LocalCredentials;
}

/** One HTTP request: size, signature, then the operation. */
async function answer(req: IncomingMessage, res: ServerResponse, deps: Deps): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_REQUEST_BYTES) {
    res.writeHead(413, { connection: 'close' });
    res.end();
    req.destroy();
    return;
  }
  const body = await readRequestBody(req);
  const refused = verifySigV4(
    { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
    deps.credentials,
  );
  if (refused) {
    send(res, reply(403, { __type: `com.amazon.coral.service#${refused.code}`, message: refused.message }));
    return;
  }
  const out = await operate(
    req.method ?? '',
    header(req.headers['content-type']),
    header(req.headers['x-amz-target']),
    body,
    deps,
  );
  send(res, out);
}

const header = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join(',') : (value ?? '');

/**
 * One signed (or in-process) request's operation, answered as DynamoDB (and
 * dynalite) answers it; status 404 for a request that is not DynamoDB's JSON
 * API at all (the HTTP endpoint answers it as dynalite does).
 */
async function operate(
  method: string,
  contentTypeHeader: string,
  target: string,
  /** The body's bytes, or (in process) its JSON value, this operation's to change. */
  body: Buffer | { value: unknown },
  deps: Deps,
): Promise<ReturnType<typeof reply>> {
  const contentType = contentTypeHeader.split(';')[0]?.trim() ?? '';
  if (
    method !== 'POST' ||
    (contentType !== 'application/json' && contentType !== 'application/x-amz-json-1.0')
  )
    return {
      status: 404,
      headers: { 'content-type': 'text/xml' },
      body: Buffer.from('<UnknownOperationException/>\n'),
    };
  // Dynalite answers in the content type it was asked in.
  const replyType = contentType === 'application/json' ? 'application/json' : 'application/x-amz-json-1.0';
  const asValue = !Buffer.isBuffer(body);
  let request: unknown;
  if (asValue) request = body.value;
  else
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch {
      return reply(400, { __type: 'com.amazon.coral.service#SerializationException' }, replyType);
    }
  const [api, operation = ''] = target.split('.');
  if (api !== API)
    return reply(400, { __type: 'com.amazon.coral.service#UnknownOperationException' }, replyType);
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const parsed =
      typeof request === 'object' && request !== null ? (request as Record<string, unknown>) : {};
    const out = await (operation === 'TransactWriteItems'
      ? deps.transactions.write(parsed)
      : deps.transactions.get(parsed));
    const failed = 'status' in out && typeof out.status === 'number' && 'body' in out;
    return reply(failed ? Number(out.status) : 200, failed ? out.body : out, replyType, asValue);
  }
  const out = await deps.engine.call(operation, request);
  return reply(out.status, out.body, replyType, asValue);
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
