/**
 * Dynalite's DynamoDB in this process, without its HTTP server: the same
 * LevelDB store, type checks, validations and actions its request handler
 * runs, called with a parsed request and answering `{ status, body }`. The
 * local DynamoDB endpoint (`dynamodb.ts`) reads each request once, checks its
 * signature and calls this, so no request crosses a second socket and no
 * transaction step goes through an SDK client's serialisation and signing.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Callback = (err: (Error & { statusCode?: number; body?: unknown }) | null, data?: unknown) => void;
type Action = (store: unknown, data: unknown, cb: Callback) => void;
interface ActionValidation {
  types: unknown;
  custom?: unknown;
}
type TableCallback = (err: Error | null, table?: { TableStatus?: string }) => void;
interface Store {
  getTable(name: string, checkStatus: boolean | TableCallback, cb?: TableCallback): void;
  lifecycleManager?: { gracefulClose(cb: (err?: Error | null) => void): void };
  db: { open(): Promise<void>; close(cb: (err?: Error | null) => void): void };
}

// Dynalite's own modules, as its index.js wires them (it publishes no types).
const db = require('dynalite/db') as { create(options: Record<string, unknown>): Store };
const validations = require('dynalite/validations') as {
  toLowerFirst(s: string): string;
  checkTypes(data: unknown, types: unknown): unknown;
  checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void;
};

/** The operations dynalite implements (its `validOperations`); transactions are added by `dynamo-transactions.ts`. */
export const DYNALITE_OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;

const handlers = new Map<string, { action: Action; validation: ActionValidation }>(
  DYNALITE_OPERATIONS.map((op) => {
    const name = validations.toLowerFirst(op);
    return [
      op,
      {
        action: require(`dynalite/actions/${name}`) as Action,
        validation: require(`dynalite/validations/${name}`) as ActionValidation,
      },
    ];
  }),
);

/** A DynamoDB answer: the HTTP status and the JSON body. */
export interface EngineAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Something that answers DynamoDB operations (the engine, or a wrapper around it in tests). */
export interface DynamoEngine {
  /** Runs `operation` (`GetItem`, …) on a parsed request body. */
  call(operation: string, request: unknown): Promise<EngineAnswer>;
}

const TABLE_OPERATIONS = new Set(['CreateTable', 'UpdateTable', 'DeleteTable']);

const fault = (type: string, message?: string): EngineAnswer => ({
  status: 400,
  body: { __type: `com.amazon.coral.service#${type}`, ...(message ? { message } : {}) },
});

/** Dynalite's store and actions, opened on a LevelDB directory. */
export class DynaliteEngine implements DynamoEngine {
  /** ACTIVE table descriptions the data-plane actions read on every call; dropped by any table operation. */
  private readonly tables = new Map<string, { TableStatus?: string }>();

  private constructor(private readonly store: Store) {
    const read = store.getTable.bind(store);
    // Only table operations change a description, and they read it with checkStatus false (uncached).
    store.getTable = (name, checkStatus, cb) => {
      if (typeof checkStatus !== 'function') return read(name, checkStatus, cb);
      const cached = this.tables.get(name);
      if (cached) return void checkStatus(null, cached);
      read(name, (err, table) => {
        if (!err && table?.TableStatus === 'ACTIVE') this.tables.set(name, table);
        checkStatus(err, table);
      });
    };
  }

  /**
   * Opens (or creates) the LevelDB store in `path`; tables become ACTIVE at
   * once. Rejects when the store cannot be opened (another process holds its lock).
   */
  static async open(path: string): Promise<DynaliteEngine> {
    const store = db.create({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await store.db.open();
    return new DynaliteEngine(store);
  }

  /**
   * Runs one operation. A table operation is answered once the table has
   * settled: dynalite flips it to ACTIVE (or removes it) on a timer after
   * answering, and a request that came straight after would not find it.
   */
  async call(operation: string, request: unknown): Promise<EngineAnswer> {
    const table = (request as { TableName?: unknown } | null)?.TableName;
    if (!TABLE_OPERATIONS.has(operation)) return this.run(operation, request);
    if (typeof table === 'string') this.tables.delete(table);
    const out = await this.run(operation, request);
    if (typeof table === 'string') this.tables.delete(table);
    if (out.status !== 200 || typeof table !== 'string') return out;
    for (let i = 0; i < 1000; i++) {
      await new Promise((r) => setTimeout(r, i === 0 ? 0 : 1));
      const now = await this.run('DescribeTable', { TableName: table });
      const status = (now.body.Table as { TableStatus?: string } | undefined)?.TableStatus;
      if (operation === 'DeleteTable' ? now.status !== 200 : status === 'ACTIVE') break;
    }
    return out;
  }

  private run(operation: string, request: unknown): Promise<EngineAnswer> {
    const handler = handlers.get(operation);
    if (!handler) return Promise.resolve(fault('UnknownOperationException'));
    if (request === undefined || request === null) return Promise.resolve(fault('SerializationException'));
    let data: unknown;
    try {
      data = validations.checkTypes(request, handler.validation.types);
      validations.checkValidations(data, handler.validation.types, handler.validation.custom, this.store);
    } catch (err) {
      const e = err as { statusCode?: number; body?: Record<string, unknown> };
      if (e.statusCode && e.body) return Promise.resolve({ status: e.statusCode, body: e.body });
      return Promise.reject(err);
    }
    return new Promise<EngineAnswer>((resolve, reject) => {
      handler.action(this.store, data, (err, out) => {
        if (err?.statusCode && err.body)
          resolve({ status: err.statusCode, body: err.body as Record<string, unknown> });
        else if (err) reject(err);
        else resolve({ status: 200, body: (out ?? {}) as Record<string, unknown> });
      });
    });
  }

  /** Waits for pending LevelDB operations, then closes the store. */
  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (this.store.lifecycleManager) this.store.lifecycleManager.gracefulClose(done);
      else this.store.db.close(done);
    });
  }
}
