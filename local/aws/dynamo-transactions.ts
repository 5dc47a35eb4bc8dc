/**
 * DynamoDB transactions for dynalite, which has none. A `TransactWriteItems`
 * holds dynalite's own per-item locks on every item it names, runs dynalite's
 * actions for its operations (validations, condition checks and update
 * expressions all stay dynalite's) against a view of the store that keeps
 * their writes in memory, and commits every write with one batch of the
 * store: the store logs a batch as one line (`dynamo-log.ts`), so a kill -9
 * leaves all of it or none, and no undo log is needed. A transaction that fails writes
 * nothing and is answered as DynamoDB answers it (`TransactionCanceledException`
 * with `CancellationReasons`). Only requests on the same items wait for a
 * transaction; `TransactGetItems` takes the same locks, so it never sees half of one.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type DynaliteEngine,
  type DynaliteError,
  type DynaliteStore,
  type DynaliteSubDb,
  type DynaliteTable,
  dynaliteDb,
  type EngineAnswer,
  type StoreWrite,
} from './dynalite-engine.js';

type Item = Record<string, AttributeValue>;
type Obj = Record<string, unknown>;

/** A DynamoDB JSON error answer. */
export interface DynamoErrorBody {
  status: number;
  body: Obj;
}

const error = (type: string, message: string, extra: Obj = {}): DynamoErrorBody => ({
  status: 400,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message, ...extra },
});

const lengthRefused = (): DynamoErrorBody =>
  error(
    'ValidationException',
    '1 validation error detected: Member must have length between 1 and 100 (TransactItems)',
  );

const twiceRefused = (): DynamoErrorBody =>
  error('ValidationException', 'Transaction request cannot include multiple operations on one item');

const answerOf = (err: DynaliteError): EngineAnswer => {
  if (err.statusCode && err.body) return { status: err.statusCode, body: err.body };
  throw err;
};

const isAnswer = (x: DynaliteTable | EngineAnswer): x is EngineAnswer => 'status' in x && 'body' in x;

const conditionFailed = (answer: EngineAnswer): boolean =>
  String(answer.body.__type ?? '').endsWith('#ConditionalCheckFailedException');

/** The single-item operation whose action runs a transaction's entry (a check is validated as a delete). */
const OPERATIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'DeleteItem',
};

/** One entry of a transaction, checked and keyed. */
interface Step {
  kind: string;
  operation: string;
  spec: Obj;
  /** The single-item request as dynalite's validations left it (expressions parsed). */
  data: unknown;
  table: string;
  /** Dynalite's key string for the item: its store key in the table's sublevel and its lock. */
  itemKey: string;
}

/**
 * A view of dynalite's store whose item and index sublevels keep puts and
 * deletes in memory (reads see them) instead of writing them, and whose locks
 * are free: the transaction holds the real ones. {@link writes} is what a
 * commit hands the store, keys prefixed as dynalite's sublevels prefix them.
 */
class Overlay {
  readonly writes = new Map<string, StoreWrite>();
  readonly store: DynaliteStore;

  constructor(base: DynaliteStore) {
    const store = Object.create(base) as DynaliteStore;
    store.getItemDb = (name) => this.sublevel(`item-${name}`, base.getItemDb(name));
    store.getIndexDb = (type, table, index) =>
      this.sublevel(`index-${type.toLowerCase()}~${table}~${index}`, base.getIndexDb(type, table, index));
    this.store = store;
  }

  private sublevel(name: string, real: DynaliteSubDb): DynaliteSubDb {
    const prefix = `${name}~`;
    return {
      get: (key, cb) => {
        const kept = this.writes.get(prefix + key);
        if (!kept) return real.get(key, cb);
        queueMicrotask(() => cb(null, kept.type === 'put' ? kept.value : undefined));
      },
      put: (key, value, cb) => {
        this.writes.set(prefix + key, { type: 'put', key: prefix + key, value });
        queueMicrotask(() => cb(null));
      },
      del: (key, cb) => {
        this.writes.set(prefix + key, { type: 'del', key: prefix + key });
        queueMicrotask(() => cb(null));
      },
      lock: (_key, fn) => fn((done) => done),
    };
  }
}

/** Undo images an earlier version of this runner fsynced before a transaction's writes. */
interface LegacyUndoEntry {
  table: string;
  key: Item;
  old: Item | undefined;
}

/** Runs DynamoDB transactions against dynalite's engine, in this process. */
export class TransactionRunner {
  /**
   * @param legacyUndoLog where an earlier version of this runner kept the
   *   undo images of the transaction in flight; {@link recover} rolls back one
   *   a kill -9 left there. This version writes none.
   */
  constructor(
    private readonly engine: DynaliteEngine,
    private readonly legacyUndoLog?: string,
  ) {}

  /**
   * Rolls back a transaction an earlier version left half-applied in this
   * data directory (its undo log still there); true when there was one.
   * Transactions of this version are one batch of the store and never need it.
   */
  async recover(): Promise<boolean> {
    if (!this.legacyUndoLog || !existsSync(this.legacyUndoLog)) return false;
    let entries: LegacyUndoEntry[];
    try {
      entries = JSON.parse(readFileSync(this.legacyUndoLog, 'utf8')) as LegacyUndoEntry[];
    } catch {
      // Torn while it was being written: no write of that transaction had begun.
      rmSync(this.legacyUndoLog, { force: true });
      return false;
    }
    for (const u of [...entries].reverse()) {
      const answer = u.old
        ? await this.engine.call('PutItem', { TableName: u.table, Item: u.old })
        : await this.engine.call('DeleteItem', { TableName: u.table, Key: u.key });
      if (answer.status !== 200)
        throw new Error(
          `rolling back the transaction in ${this.legacyUndoLog}: ${String(answer.body.message ?? answer.body.__type)}`,
        );
    }
    rmSync(this.legacyUndoLog, { force: true });
    return true;
  }

  /** The table and dynalite key string of an item (a `Put`'s item, or a key), or the answer refusing it. */
  private async locate(
    tableName: unknown,
    itemOrKey: unknown,
    whole: boolean,
  ): Promise<{ table: string; itemKey: string } | EngineAnswer> {
    const table = await this.engine.table(String(tableName));
    if (isAnswer(table)) return table;
    const invalid = whole
      ? dynaliteDb.validateItem(itemOrKey, table)
      : dynaliteDb.validateKey(itemOrKey, table);
    if (invalid) return answerOf(invalid);
    return { table: table.TableName, itemKey: dynaliteDb.createKey(itemOrKey, table) };
  }

  /**
   * Takes dynalite's lock on every item, all in one go (so two transactions
   * never wait for each other in a circle); resolves with the release.
   */
  private lockItems(items: Array<{ table: string; itemKey: string }>): Promise<() => void> {
    const byTable = new Map<string, string[]>();
    for (const { table, itemKey } of items) byTable.set(table, [...(byTable.get(table) ?? []), itemKey]);
    const store = this.engine.dynaliteStore;
    return new Promise((resolve) => {
      const releases: Array<() => void> = [];
      let waiting = byTable.size;
      for (const [table, keys] of byTable)
        store.getItemDb(table).lock(keys, (release) => {
          releases.push(release(() => undefined));
          if (--waiting === 0)
            resolve(() => {
              for (const r of releases) r();
            });
        });
    });
  }

  /** An item as committed (the caller holds its lock). */
  private read(table: string, itemKey: string): Promise<Item | undefined> {
    return new Promise((resolve, reject) => {
      this.engine.dynaliteStore.getItemDb(table).get(itemKey, (err, value) => {
        if (err && err.name !== 'NotFoundError') reject(err);
        else resolve(err ? undefined : (value as Item | undefined));
      });
    });
  }

  /** `TransactGetItems`: every item read while no transaction on any of them is half-way. */
  async get(request: Obj): Promise<Obj | DynamoErrorBody> {
    const list = Array.isArray(request.TransactItems) ? (request.TransactItems as Obj[]) : [];
    // Checked before any lock: none to take would never resolve, and one item twice would wait for itself.
    if (list.length === 0 || list.length > 100) return lengthRefused();
    const gets = list.map((entry) => (entry.Get ?? {}) as Obj);
    const items: Array<{ table: string; itemKey: string }> = [];
    const seen = new Set<string>();
    for (const g of gets) {
      const where = await this.locate(g.TableName, g.Key ?? {}, false);
      if ('status' in where) return where;
      const id = `${where.table}\u0000${where.itemKey}`;
      if (seen.has(id)) return twiceRefused();
      seen.add(id);
      items.push(where);
    }
    const release = await this.lockItems(items);
    try {
      const responses: Obj[] = [];
      for (const g of gets) {
        const answer = await this.engine.call('GetItem', {
          TableName: g.TableName,
          Key: g.Key,
          ...(g.ProjectionExpression !== undefined ? { ProjectionExpression: g.ProjectionExpression } : {}),
          ...(g.ExpressionAttributeNames !== undefined
            ? { ExpressionAttributeNames: g.ExpressionAttributeNames }
            : {}),
          ConsistentRead: true,
        });
        if (answer.status !== 200) return answer;
        responses.push(answer.body.Item ? { Item: answer.body.Item } : {});
      }
      return { Responses: responses };
    } finally {
      release();
    }
  }

  /**
   * `TransactWriteItems`: all or nothing, and nothing seen half-way. Asked
   * for (`ReturnConsumedCapacity`), the answer reports the write units per
   * table as DynamoDB's does: twice each item's, sized as its single-item
   * operation sizes it (the larger of the item before and after), two per
   * condition check.
   */
  async write(request: Obj): Promise<Obj | DynamoErrorBody> {
    const list = Array.isArray(request.TransactItems) ? (request.TransactItems as Obj[]) : [];
    if (list.length === 0 || list.length > 100) return lengthRefused();
    const capacity =
      request.ReturnConsumedCapacity === 'TOTAL' || request.ReturnConsumedCapacity === 'INDEXES';
    const steps: Step[] = [];
    const seen = new Set<string>();
    for (const entry of list) {
      const [kind, spec] = Object.entries(entry)[0] ?? ['', {}];
      const s = (spec ?? {}) as Obj;
      const operation = OPERATIONS[kind];
      if (!operation) return error('ValidationException', `unknown transaction operation ${kind}`);
      const prepared = this.engine.prepare(operation, single(kind, s, capacity));
      if ('status' in prepared) return prepared;
      const where = await this.locate(s.TableName, (kind === 'Put' ? s.Item : s.Key) ?? {}, kind === 'Put');
      if ('status' in where) return where;
      const id = `${where.table}\u0000${where.itemKey}`;
      if (seen.has(id)) return twiceRefused();
      seen.add(id);
      steps.push({ kind, operation, spec: s, data: prepared.data, ...where });
    }
    // Checks first, then the writes in request order. Every item's condition is evaluated, so the
    // cancellation names each one that failed (as DynamoDB's does); any other failure before one
    // answers at once, as it did.
    const order = [...steps.keys()].sort(
      (a, b) => Number(steps[a]?.kind !== 'ConditionCheck') - Number(steps[b]?.kind !== 'ConditionCheck'),
    );
    const release = await this.lockItems(steps);
    try {
      const overlay = new Overlay(this.engine.dynaliteStore);
      const reasons: Obj[] = steps.map(() => ({ Code: 'None' }));
      const units = new Map<string, number>();
      let cancelled = false;
      for (const i of order) {
        const step = steps[i];
        if (!step) continue;
        let failed: EngineAnswer | undefined;
        let itemUnits = 1;
        if (step.kind === 'ConditionCheck') {
          const invalid = dynaliteDb.checkConditional(step.data, await this.read(step.table, step.itemKey));
          if (invalid) failed = answerOf(invalid);
        } else {
          const answer = await this.engine.act(overlay.store, step.operation, step.data);
          if (answer.status !== 200) failed = answer;
          const consumed = (answer.body.ConsumedCapacity as { CapacityUnits?: unknown } | undefined)
            ?.CapacityUnits;
          if (typeof consumed === 'number') itemUnits = consumed;
        }
        if (!failed) {
          units.set(step.table, (units.get(step.table) ?? 0) + 2 * itemUnits);
          continue;
        }
        if (!conditionFailed(failed)) {
          // Answered as before when nothing cancelled yet; after a failed condition, a reason as DynamoDB gives.
          if (!cancelled) return failed;
          reasons[i] = {
            Code: 'ValidationError',
            Message: String(failed.body.message ?? failed.body.__type),
          };
          continue;
        }
        cancelled = true;
        // Each item is named once, so the one that failed is still as committed.
        const old =
          step.spec.ReturnValuesOnConditionCheckFailure === 'ALL_OLD'
            ? await this.read(step.table, step.itemKey)
            : undefined;
        reasons[i] = {
          Code: 'ConditionalCheckFailed',
          Message: 'The conditional request failed',
          ...(old ? { Item: old } : {}),
        };
      }
      if (cancelled) {
        const codes = reasons.map((r) => String(r.Code)).join(', ');
        return error(
          'TransactionCanceledException',
          `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
          { CancellationReasons: reasons },
        );
      }
      if (overlay.writes.size > 0) await this.commit([...overlay.writes.values()]);
      if (!capacity) return {};
      return {
        ConsumedCapacity: [...units].map(([TableName, n]) => ({
          TableName,
          CapacityUnits: n,
          WriteCapacityUnits: n,
        })),
      };
    } finally {
      release();
    }
  }

  /** Every write of a transaction as one batch of the store: one log line, all of it or none. */
  private commit(writes: StoreWrite[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.engine.dynaliteStore.db.batch(writes, (err) => (err ? reject(err) : resolve()));
    });
  }
}

/** The single-item request a transaction entry runs as (asking for its capacity when the transaction does). */
function single(kind: string, s: Obj, capacity: boolean): Obj {
  const request: Obj = { TableName: s.TableName };
  if (capacity) request.ReturnConsumedCapacity = 'TOTAL';
  for (const field of ['ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues'])
    if (s[field] !== undefined) request[field] = s[field];
  if (kind === 'Put') request.Item = s.Item;
  else request.Key = s.Key;
  if (kind === 'Update') request.UpdateExpression = s.UpdateExpression;
  return request;
}
