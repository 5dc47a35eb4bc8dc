/**
 * Dynalite's DynamoDB in this process, without its HTTP server: the same
 * LevelDB store, type checks, validations and actions its request handler
 * runs, called with a parsed request and answering `{ status, body }`. The
 * local DynamoDB endpoint (`dynamodb.ts`) reads each request once, checks its
 * signature and calls this, so no request crosses a second socket and no
 * transaction step goes through an SDK client's serialisation and signing.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type DynaliteSizing, installFastSizes } from './dynalite-sizes.js';
import { checkTypesFast } from './dynalite-types.js';
import { fastValueCheck } from './dynalite-values.js';
import { type LogOpened, type LogOptions, openLoggedStore } from './dynamo-log.js';
import { keyLock } from './key-lock.js';
import { installSortedStore } from './sorted-store.js';

const require = createRequire(import.meta.url);

type Callback = (err: (Error & { statusCode?: number; body?: unknown }) | null, data?: unknown) => void;
type Action = (store: unknown, data: unknown, cb: Callback) => void;
interface ActionValidation {
  types: unknown;
  custom?: unknown;
}
/** A table description as dynalite keeps it (CreateTable's fields plus its status). */
export interface DynaliteTable {
  TableName: string;
  TableStatus?: string;
  KeySchema: Array<{ AttributeName: string; KeyType: string }>;
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
}
type TableCallback = (err: Error | null, table?: DynaliteTable) => void;
type ReleaseCallback = <F extends (...args: never[]) => void>(done: F) => F;
/** One of dynalite's sublevels: keys under a prefix of the one LevelDB, with dynalite's per-key lock. */
export interface DynaliteSubDb {
  get(key: string, cb: (err: Error | null, value?: unknown) => void): void;
  put(key: string, value: unknown, cb: (err: Error | null) => void): void;
  del(key: string, cb: (err: Error | null) => void): void;
  /** Runs `fn` once every key is free; the argument wraps a callback so that calling it releases them. */
  lock(key: string | string[], fn: (release: ReleaseCallback) => void): void;
}
/** A LevelDB batch operation on the whole store (keys with their sublevel's prefix). */
export type StoreWrite =
  /** `text`: the value's JSON, when the log has encoded it already (the store then keeps that text). */
  { type: 'put'; key: string; value: unknown; text?: string } | { type: 'del'; key: string };
/** Dynalite's store: the object its actions read tables and items through. */
export interface DynaliteStore {
  options: Record<string, unknown>;
  getTable(name: string, checkStatus: boolean | TableCallback, cb?: TableCallback): void;
  getItemDb(name: string): DynaliteSubDb;
  getIndexDb(indexType: string, tableName: string, indexName: string): DynaliteSubDb;
  lifecycleManager?: { gracefulClose(cb: (err?: Error | null) => void): void };
  db: {
    open(): Promise<void>;
    close(cb: (err?: Error | null) => void): void;
    batch(operations: StoreWrite[], cb: (err?: Error | null) => void): void;
    get(key: string, cb: (err: Error | null, value?: unknown) => void): void;
    /** abstract-level's synchronous read (classic-level serves it from LevelDB's memtable and cache). */
    getSync(key: string): unknown;
  };
}
type Store = DynaliteStore;

// Dynalite's own modules, as its index.js wires them (it publishes no types).
const db = require('dynalite/db') as { create(options: Record<string, unknown>): Store };
/** Dynalite's item helpers the transactions use (keys, validation, conditions), as its actions call them. */
export const dynaliteDb = require('dynalite/db') as {
  createKey(item: unknown, table: DynaliteTable): string;
  validateKey(key: unknown, table: DynaliteTable): DynaliteError | null | undefined;
  validateItem(item: unknown, table: DynaliteTable): DynaliteError | null | undefined;
  checkConditional(data: unknown, existing: unknown): DynaliteError | null | undefined;
  /** Compares attribute values (`compare('GT', a, b)`: a above b), as its parser's BETWEEN check does. */
  compare(op: string, a: unknown, b: unknown): boolean;
};
// Item sizes without big.js and key prefixes without an MD5 per key (`dynalite-sizes.ts`).
installFastSizes(dynaliteDb as unknown as DynaliteSizing);
/** An error dynalite answers with: its status and DynamoDB JSON body. */
export type DynaliteError = Error & { statusCode?: number; body?: Record<string, unknown> };
type ExpressionRequest = Record<string, unknown> & {
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, Record<string, unknown>>;
};
const validations = require('dynalite/validations') as {
  toLowerFirst(s: string): string;
  checkTypes(data: unknown, types: unknown): unknown;
  checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void;
  /** Parses a request's expressions into `_updates`, `_condition`…; answers an error message or nothing. */
  validateExpressions(data: ExpressionRequest): string | undefined;
  validateAttributeValue(value: unknown): string | undefined;
};

// Canonical numbers, strings, maps and lists checked without big.js (`dynalite-values.ts`).
validations.validateAttributeValue = fastValueCheck(
  validations.validateAttributeValue as Parameters<typeof fastValueCheck>[0],
) as (value: unknown) => string | undefined;

/** The expressions dynalite parses, and the fields it leaves each parsed tree in. */
const EXPRESSIONS = [
  ['UpdateExpression', '_updates'],
  ['ConditionExpression', '_condition'],
  ['KeyConditionExpression', '_keyCondition'],
  ['FilterExpression', '_filter'],
  ['ProjectionExpression', '_projection'],
] as const;
/**
 * The parser checks that read an attribute value's content (not just its type): `attribute_type`
 * is parsed every time; `BETWEEN`'s bounds are checked against each request's values before its
 * template is used ({@link boundsHold}), and parsed anew when they fail, so the error is the parser's.
 */
const READS_VALUES = /attribute_type/i;
const MAX_TEMPLATES = 2_000;

/**
 * A parse of one request's expressions kept for the next request with the
 * same expressions, attribute names and value shapes: the trees dynalite's
 * parsers built, holding (by identity) a stand-in object per attribute value.
 */
interface ExpressionTemplate {
  parsed: Array<[field: string, tree: unknown]>;
  standIns: Map<object, string>;
  /** Each `BETWEEN`'s bounds that are attribute values: the names of the lower and the upper. */
  between: Array<[lower: string, upper: string]>;
}

/** The `BETWEEN` nodes' value bounds in a parsed tree (`{ type: 'between', args: [x, low, high] }`). */
function betweenBounds(node: unknown, standIns: Map<object, string>, out: Array<[string, string]>): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) betweenBounds(n, standIns, out);
    return;
  }
  const { type, args } = node as { type?: unknown; args?: unknown };
  if (type === 'between' && Array.isArray(args)) {
    const low = standIns.get(args[1] as object);
    const high = standIns.get(args[2] as object);
    if (low !== undefined && high !== undefined) out.push([low, high]);
  }
  for (const v of Object.values(node)) if (!standIns.has(v as object)) betweenBounds(v, standIns, out);
}

/** The attribute value's type as the parser's BETWEEN check reads it (its first set field in its order). */
function immediateType(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  return ['S', 'N', 'B', 'NULL', 'BOOL', 'SS', 'NS', 'BS', 'L', 'M'].find((t) => v[t] != null);
}

/** Whether every BETWEEN's bounds pass the parser's check with these values (same type, lower not above upper). */
function boundsHold(template: ExpressionTemplate, values: Record<string, unknown>): boolean {
  for (const [lowName, highName] of template.between) {
    const low = values[lowName];
    const high = values[highName];
    const a = immediateType(low);
    const b = immediateType(high);
    if (a && b && (a !== b || dynaliteDb.compare('GT', low, high))) return false;
  }
  return true;
}
const templates = new Map<string, ExpressionTemplate>();
const parseExpressions = validations.validateExpressions;

/** The template key of a request, or undefined when its parse must not be reused. */
function templateKey(data: ExpressionRequest): string | undefined {
  const expressions = EXPRESSIONS.map(([field]) => data[field]);
  if (expressions.some((e) => typeof e === 'string' && READS_VALUES.test(e))) return undefined;
  const values = data.ExpressionAttributeValues;
  const shapes = values
    ? Object.entries(values).map(([k, v]) => [k, v && typeof v === 'object' ? Object.keys(v) : typeof v])
    : null;
  return JSON.stringify([expressions, data.ExpressionAttributeNames ?? null, shapes]);
}

/** A copy of a template's tree with the request's own attribute values where the stand-ins were. */
function instantiate(node: unknown, standIns: Map<object, string>, values: Record<string, unknown>): unknown {
  if (node === null || typeof node !== 'object') return node;
  const name = standIns.get(node);
  if (name !== undefined) return values[name];
  if (Array.isArray(node)) {
    const out = new Array<unknown>(node.length);
    for (let i = 0; i < node.length; i++) out[i] = instantiate(node[i], standIns, values);
    return out;
  }
  const out = Object.create(Object.getPrototypeOf(node)) as Record<string, unknown>;
  for (const k of Object.keys(node))
    out[k] = instantiate((node as Record<string, unknown>)[k], standIns, values);
  return out;
}

/** True when a tree holds only arrays, plain objects and primitives (so {@link instantiate} copies it whole). */
function plainTree(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return true;
  if (Array.isArray(node)) return node.every(plainTree);
  const proto = Object.getPrototypeOf(node);
  return (proto === Object.prototype || proto === null) && Object.values(node).every(plainTree);
}

/**
 * Dynalite's expression validation with its parses reused: its PEG parsers
 * were the largest part of a request's CPU, and a workload sends the same
 * expressions over and over with other values. The parsers read only each
 * value's type (not its content, but for `attribute_type` and `BETWEEN`,
 * which are parsed every time) and put the value objects themselves in the
 * tree, so a parse made with stand-ins of the same shapes is the same tree
 * with the stand-ins where the values go. Each value is still checked
 * (`validateAttributeValue`) on every request; a request whose parse fails
 * is parsed as is, so its message names its own values.
 */
validations.validateExpressions = (data) => {
  const key = templateKey(data);
  if (key === undefined) return parseExpressions(data);
  const values = data.ExpressionAttributeValues ?? {};
  let template = templates.get(key);
  if (template) {
    for (const [k, v] of Object.entries(values)) {
      const msg = validations.validateAttributeValue(v);
      if (msg) return `ExpressionAttributeValues contains invalid value: ${msg} for key ${k}`;
    }
    if (!boundsHold(template, values)) return parseExpressions(data);
  } else {
    const standIns = new Map<object, string>();
    const probeValues: Record<string, Record<string, unknown>> = {};
    for (const [k, v] of Object.entries(values)) {
      const standIn = { ...v };
      standIns.set(standIn, k);
      probeValues[k] = standIn;
    }
    const probe: ExpressionRequest = {
      ...data,
      ...(data.ExpressionAttributeValues ? { ExpressionAttributeValues: probeValues } : {}),
    };
    if (parseExpressions(probe) !== undefined) return parseExpressions(data);
    const parsed = EXPRESSIONS.flatMap(([, field]) =>
      probe[field] === undefined ? [] : [[field, probe[field]] as [string, unknown]],
    );
    if (!parsed.every(([, tree]) => plainTree(tree))) return parseExpressions(data);
    const between: Array<[string, string]> = [];
    for (const [, tree] of parsed) betweenBounds(tree, standIns, between);
    template = { parsed, standIns, between };
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(key, template);
  }
  for (const [field, tree] of template.parsed) data[field] = instantiate(tree, template.standIns, values);
  return undefined;
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

/** Dynalite's store and actions, opened on a data directory (`dynamo-log.ts`). */
export class DynaliteEngine implements DynamoEngine {
  /** ACTIVE table descriptions the data-plane actions read on every call; dropped by any table operation. */
  private readonly tables = new Map<string, DynaliteTable>();

  private constructor(
    private readonly store: Store,
    private readonly log: LogOpened,
  ) {
    // Each table's item lock is `key-lock.ts`'s, put in before anyone can take one.
    const itemDb = store.getItemDb.bind(store);
    const relocked = new WeakSet<DynaliteSubDb>();
    store.getItemDb = (name) => {
      const sub = itemDb(name);
      if (!relocked.has(sub)) {
        sub.lock = keyLock();
        relocked.add(sub);
      }
      return sub;
    };
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
   * Opens (or creates) the store in `path`; tables become ACTIVE at
   * once. Rejects when the store cannot be opened (another process holds its lock).
   */
  static async open(path: string, options: LogOptions = {}): Promise<DynaliteEngine> {
    mkdirSync(path, { recursive: true });
    // In memory, every write logged to `path` first (`dynamo-log.ts`).
    const store = db.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await store.db.open();
    // Its reads and writes go to a sorted map of JSON texts instead of memory-level's (`sorted-store.ts`).
    installSortedStore(store.db as unknown as Parameters<typeof installSortedStore>[0]);
    const log = await openLoggedStore(store, path, options).catch(async (err: unknown) => {
      await new Promise((resolve) => store.db.close(resolve));
      throw err;
    });
    for (const warning of log.warnings) process.stderr.write(`${warning}\n`);
    return new DynaliteEngine(store, log);
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
    const prepared = this.prepare(operation, request);
    if ('status' in prepared) return Promise.resolve(prepared);
    return this.act(this.store, operation, prepared.data);
  }

  /**
   * Dynalite's type checks and validations of one request (expressions
   * parsed into the request it hands its action): the checked request, or
   * the answer refusing it.
   */
  prepare(operation: string, request: unknown): { data: unknown } | EngineAnswer {
    const handler = handlers.get(operation);
    if (!handler) return fault('UnknownOperationException');
    if (request === undefined || request === null) return fault('SerializationException');
    try {
      // Dynalite's own check where the fast one gives up (a value to convert, or to refuse by name).
      const data =
        checkTypesFast(request, handler.validation.types) ??
        validations.checkTypes(request, handler.validation.types);
      validations.checkValidations(data, handler.validation.types, handler.validation.custom, this.store);
      return { data };
    } catch (err) {
      const e = err as DynaliteError;
      if (e.statusCode && e.body) return { status: e.statusCode, body: e.body };
      throw err;
    }
  }

  /**
   * Runs dynalite's action for `operation` on a request {@link prepare}
   * checked, against `store`: this engine's, or a view of it that keeps the
   * writes (the transactions' overlay).
   */
  act(store: DynaliteStore, operation: string, data: unknown): Promise<EngineAnswer> {
    const handler = handlers.get(operation);
    if (!handler) return Promise.resolve(fault('UnknownOperationException'));
    return new Promise<EngineAnswer>((resolve, reject) => {
      handler.action(store, data, (err, out) => {
        if (err?.statusCode && err.body)
          resolve({ status: err.statusCode, body: err.body as Record<string, unknown> });
        else if (err) reject(err);
        else resolve({ status: 200, body: (out ?? {}) as Record<string, unknown> });
      });
    });
  }

  /** The ACTIVE table `name` (cached, as the data-plane actions read it), or the answer saying it is not there. */
  table(name: string): Promise<DynaliteTable | EngineAnswer> {
    return new Promise((resolve, reject) => {
      this.store.getTable(name, (err, table) => {
        const e = err as DynaliteError | null;
        if (e?.statusCode && e.body) resolve({ status: e.statusCode, body: e.body });
        else if (e || !table) reject(e ?? new Error(`table ${name} has no description`));
        else resolve(table);
      });
    });
  }

  /** Dynalite's store itself: its sublevels, per-item locks and the LevelDB under them. */
  get dynaliteStore(): DynaliteStore {
    return this.store;
  }

  /** Waits for pending LevelDB operations, then closes the store. */
  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => {
        this.log.close();
        if (err) reject(err);
        else resolve();
      };
      if (this.store.lifecycleManager) this.store.lifecycleManager.gracefulClose(done);
      else this.store.db.close(done);
    });
  }
}
