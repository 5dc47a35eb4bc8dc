/**
 * DynamoDB transactions for dynalite, which has none: `TransactWriteItems`
 * and `TransactGetItems` run here as a sequence of conditional single-item
 * operations under an exclusive lock, with the previous images restored when
 * one of them fails, then answered as DynamoDB does (including
 * `TransactionCanceledException` with `CancellationReasons`). Every other
 * request waits while a transaction runs, so nobody sees half of one.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoEngine, EngineAnswer } from './dynalite-engine.js';

type Item = Record<string, AttributeValue>;
type Obj = Record<string, unknown>;

/** A DynamoDB JSON error answer. */
export interface DynamoErrorBody {
  status: number;
  body: Obj;
}

/** A readers–writer lock: transactions exclusive, everything else shared. */
export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Array<{ exclusive: boolean; go: () => void }> = [];

  /** Runs `fn` holding the lock (shared or exclusive). */
  async with<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((go) => {
      this.queue.push({ exclusive, go });
      this.pump();
    });
    try {
      return await fn();
    } finally {
      if (exclusive) this.writer = false;
      else this.readers -= 1;
      this.pump();
    }
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0];
      if (!next) return;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.writer = true;
      } else {
        this.readers += 1;
      }
      this.queue.shift();
      next.go();
    }
  }
}

const error = (type: string, message: string, extra: Obj = {}): DynamoErrorBody => ({
  status: 400,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message, ...extra },
});

/** One item's image before a transaction touched it (`old` undefined: it did not exist). */
interface UndoEntry {
  table: string;
  key: Item;
  old: Item | undefined;
}

/** A failed single-item step: dynalite's answer, passed on as the transaction's when it is not a condition failure. */
class StepFailed extends Error {
  constructor(readonly answer: EngineAnswer) {
    super(String(answer.body.message ?? answer.body.__type ?? 'failed'));
  }
  get conditionFailed(): boolean {
    return String(this.answer.body.__type ?? '').endsWith('#ConditionalCheckFailedException');
  }
}

/**
 * Runs DynamoDB transactions against dynalite's engine, in this process. With an
 * `undoLog` file they are all-or-nothing across a crash too (as in AWS): the
 * images of every item a transaction writes are fsynced there before the
 * first write and the file is removed after the last; `recover()` at boot
 * puts back the images of a transaction a kill -9 cut in half. Condition
 * checks run before the writes, and a transaction that writes one item
 * (however many it checks) is a single put and needs no undo log.
 */
export class TransactionRunner {
  private readonly keys = new Map<string, string[]>();

  constructor(
    private readonly engine: DynamoEngine,
    private readonly undoLog?: string,
  ) {}

  /** One single-item operation; a non-200 answer throws {@link StepFailed}. */
  private async send(operation: string, request: Obj): Promise<Obj> {
    const answer = await this.engine.call(operation, request);
    if (answer.status !== 200) throw new StepFailed(answer);
    return answer.body;
  }

  /** Roll back a transaction left half-applied by a crash; true when there was one. */
  async recover(): Promise<boolean> {
    if (!this.undoLog || !existsSync(this.undoLog)) return false;
    let entries: UndoEntry[];
    try {
      entries = JSON.parse(readFileSync(this.undoLog, 'utf8')) as UndoEntry[];
    } catch {
      // Torn while it was being written: no write of that transaction had begun.
      rmSync(this.undoLog, { force: true });
      return false;
    }
    await this.rollback(entries);
    rmSync(this.undoLog, { force: true });
    return true;
  }

  /** Writes and fsyncs the images (off the event loop: only the transaction, holding the lock, waits). */
  private async logUndo(entries: UndoEntry[]): Promise<void> {
    if (!this.undoLog) return;
    const file = await open(this.undoLog, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(entries));
      await file.sync();
    } finally {
      await file.close();
    }
  }

  private async clearUndo(): Promise<void> {
    if (!this.undoLog) return;
    await unlink(this.undoLog).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private async keyOf(table: string, item: Item): Promise<Item> {
    let names = this.keys.get(table);
    if (!names) {
      const out = (await this.send('DescribeTable', { TableName: table })) as {
        Table?: { KeySchema?: Array<{ AttributeName?: string }> };
      };
      names = (out.Table?.KeySchema ?? []).map((k) => k.AttributeName ?? '');
      this.keys.set(table, names);
    }
    const key: Item = {};
    for (const n of names) {
      const v = item[n];
      if (v) key[n] = v;
    }
    return key;
  }

  /** `TransactGetItems`. */
  async get(request: Obj): Promise<Obj | DynamoErrorBody> {
    const list = Array.isArray(request.TransactItems) ? (request.TransactItems as Obj[]) : [];
    const responses: Obj[] = [];
    for (const entry of list) {
      const g = (entry.Get ?? {}) as Obj;
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
  }

  /** `TransactWriteItems`: all or nothing. */
  async write(request: Obj): Promise<Obj | DynamoErrorBody> {
    const list = Array.isArray(request.TransactItems) ? (request.TransactItems as Obj[]) : [];
    if (list.length === 0 || list.length > 100) {
      return error(
        'ValidationException',
        '1 validation error detected: Member must have length between 1 and 100 (TransactItems)',
      );
    }
    const ops: Array<{ kind: string; spec: Obj; table: string; key: Item }> = [];
    const seen = new Set<string>();
    for (const entry of list) {
      const [kind, spec] = Object.entries(entry)[0] ?? ['', {}];
      const s = (spec ?? {}) as Obj;
      const table = String(s.TableName);
      let key: Item;
      try {
        key = kind === 'Put' ? await this.keyOf(table, (s.Item ?? {}) as Item) : ((s.Key ?? {}) as Item);
      } catch (err) {
        if (err instanceof StepFailed) return err.answer;
        throw err;
      }
      const id = `${table}|${JSON.stringify(key)}`;
      if (seen.has(id))
        return error(
          'ValidationException',
          'Transaction request cannot include multiple operations on one item',
        );
      seen.add(id);
      ops.push({ kind, spec: s, table, key });
    }

    // Every image first (fsynced, when there is more than one write), so a crash anywhere below rolls back at the next boot.
    const images: Array<Item | undefined> = [];
    for (const op of ops) {
      const before = await this.engine.call('GetItem', {
        TableName: op.table,
        Key: op.key,
        ConsistentRead: true,
      });
      if (before.status !== 200) return before;
      images.push(before.body.Item as Item | undefined);
    }
    // Checks first: a check only rewrites an item as it is, so with them done the writes are all that
    // is left to undo, and a transaction with one write needs no undo log (a single put is atomic).
    const order = [...ops.keys()].sort(
      (a, b) => Number(ops[a]?.kind !== 'ConditionCheck') - Number(ops[b]?.kind !== 'ConditionCheck'),
    );
    const writes = ops.flatMap((op, i) =>
      op.kind === 'ConditionCheck' ? [] : [{ table: op.table, key: op.key, old: images[i] }],
    );
    const logged = writes.length > 1;
    if (logged) await this.logUndo(writes);
    const undo: UndoEntry[] = [];
    const reasons: Obj[] = ops.map(() => ({ Code: 'None' }));
    for (const i of order) {
      const op = ops[i];
      if (!op) continue;
      const old = images[i];
      try {
        await this.apply(op.kind, op.spec, op.table, op.key, old);
      } catch (err) {
        await this.rollback(undo);
        if (logged) await this.clearUndo();
        if (err instanceof StepFailed && err.conditionFailed) {
          const wantsItem = op.spec.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old;
          reasons[i] = {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            ...(wantsItem ? { Item: old } : {}),
          };
          const codes = reasons.map((r) => String(r.Code)).join(', ');
          return error(
            'TransactionCanceledException',
            `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
            {
              CancellationReasons: reasons,
            },
          );
        }
        if (err instanceof StepFailed) return err.answer;
        const e = err instanceof Error ? err : new Error(String(err));
        return error(e.name === 'Error' ? 'ValidationException' : e.name, e.message);
      }
      if (op.kind !== 'ConditionCheck') undo.push({ table: op.table, key: op.key, old });
    }
    if (logged) await this.clearUndo();
    return {};
  }

  private async apply(kind: string, s: Obj, table: string, key: Item, old: Item | undefined): Promise<void> {
    const common: Obj = { TableName: table };
    for (const field of ['ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues'])
      if (s[field] !== undefined) common[field] = s[field];
    switch (kind) {
      case 'Put':
        await this.send('PutItem', { ...common, Item: s.Item });
        return;
      case 'Update':
        await this.send('UpdateItem', { ...common, Key: key, UpdateExpression: s.UpdateExpression });
        return;
      case 'Delete':
        await this.send('DeleteItem', { ...common, Key: key });
        return;
      case 'ConditionCheck':
        // Check the condition by rewriting the item as it is (or deleting nothing).
        if (old) await this.send('PutItem', { ...common, Item: old });
        else await this.send('DeleteItem', { ...common, Key: key });
        return;
      default:
        throw Object.assign(new Error(`unknown transaction operation ${kind}`), {
          name: 'ValidationException',
        });
    }
  }

  private async rollback(undo: UndoEntry[]): Promise<void> {
    for (const u of [...undo].reverse()) {
      if (u.old) await this.send('PutItem', { TableName: u.table, Item: u.old });
      else await this.send('DeleteItem', { TableName: u.table, Key: u.key });
    }
  }
}
