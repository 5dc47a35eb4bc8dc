import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { monotonicFactory } from 'ulid';
import type { AgentAction } from '../../state-machines/contract.js';
import { StoreThrottledError } from '../core/errors.js';
import type { Json } from '../core/model.js';
import type {
  Ledger,
  PendingCall,
  Reservation,
  ReserveOutcome,
  RunMeta,
  RunStore,
  StoredMessage,
  StoredTrailEvent,
  ToolResultRecord,
  TrailEvent,
} from '../core/run-records.js';
import { isConditionFailure, isThrottle } from './dynamo-client.js';
import { parseLedger, parseRunMeta, parseStoredMessage, parseTrailEvent } from './run-item-parsers.js';

const ulid = monotonicFactory();
const pad = (n: number) => String(n).padStart(6, '0');
const pk = (runId: string) => `RUN#${runId}`;

/**
 * The Runs single table: `RUN#id` with `META`, `LEDGER`, `EVT#<ulid>` (trail),
 * `MSG#step#iteration#1u|2a` (conversation), `CALL#…`/`RES#…` (tool calls and
 * results), `ACT#…` (recorded actions) and `OUT#step` (step outputs).
 */
export class DynamoRunStore implements RunStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async createRun(meta: RunMeta, ledger: Ledger): Promise<boolean> {
    // The ledger first, then META: a run is visible only through META, so a crash
    // between the two leaves nothing a reader can see, and a retry completes it.
    try {
      await this.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: pk(meta.runId), sk: 'LEDGER', ...ledger },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    try {
      await this.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: pk(meta.runId), sk: 'META', ...meta },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getRun(runId: string): Promise<RunMeta | undefined> {
    const out = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(runId), sk: 'META' }, ConsistentRead: true }),
    );
    return out.Item ? parseRunMeta(out.Item) : undefined;
  }

  async updateRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<void> {
    await this.patch(runId, patch, false);
  }

  async closeRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<boolean> {
    return this.patch(runId, patch, true);
  }

  private async patch(
    runId: string,
    patch: Partial<Omit<RunMeta, 'runId'>>,
    onlyRunning: boolean,
  ): Promise<boolean> {
    const entries = Object.entries({ ...patch, updatedAt: new Date(this.now()).toISOString() }).filter(
      ([, v]) => v !== undefined,
    );
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([k, v], i) => {
      names[`#k${i}`] = k;
      values[`:v${i}`] = v;
      return `#k${i} = :v${i}`;
    });
    if (onlyRunning) {
      names['#status'] = 'status';
      values[':running'] = 'RUNNING';
    }
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: 'META' },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: onlyRunning
            ? 'attribute_exists(pk) AND #status = :running'
            : 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err) && onlyRunning) return false;
      throw err;
    }
  }

  async getLedger(runId: string): Promise<Ledger | undefined> {
    return this.ledgerAt({ pk: pk(runId), sk: 'LEDGER' });
  }

  reserve(runId: string, amount: Reservation): Promise<ReserveOutcome> {
    return this.reserveOn({ pk: pk(runId), sk: 'LEDGER' }, amount);
  }

  settle(
    runId: string,
    reserved: Reservation,
    used: { tokens: number; costMicros: number },
  ): Promise<Ledger> {
    return this.settleOn({ pk: pk(runId), sk: 'LEDGER' }, reserved, used);
  }

  async reserveCap(
    key: string,
    limits: { tokens: number; costMicros: number },
    amount: Reservation,
  ): Promise<ReserveOutcome> {
    const capKey = { pk: `CAP#${key}`, sk: 'LEDGER' };
    try {
      await this.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...capKey,
            tokenLimit: limits.tokens,
            tokensRemaining: limits.tokens,
            tokensUsed: 0,
            costLimitMicros: limits.costMicros,
            costRemainingMicros: limits.costMicros,
            costUsedMicros: 0,
            // A cap counts no steps and no tool failures: its step counter never refuses.
            stepLimit: Number.MAX_SAFE_INTEGER,
            stepsRemaining: Number.MAX_SAFE_INTEGER,
            stepsUsed: 0,
            toolFailureLimit: Number.MAX_SAFE_INTEGER,
            toolFailures: 0,
            // Daily counters expire a week after the day (TTL attribute).
            expiresAt: Math.floor(this.now() / 1000) + 8 * 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    return this.reserveOn(capKey, { ...amount, steps: 0 });
  }

  async settleCap(
    key: string,
    reserved: Reservation,
    used: { tokens: number; costMicros: number },
  ): Promise<void> {
    await this.settleOn({ pk: `CAP#${key}`, sk: 'LEDGER' }, reserved, used);
  }

  /** Reserve on a ledger item (a run's or a daily cap's) under `remaining >= amount` for every counter. */
  private async reserveOn(key: { pk: string; sk: string }, amount: Reservation): Promise<ReserveOutcome> {
    try {
      const out = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          // DynamoDB conditions do no arithmetic: keep `remaining` counters and compare them with the amount.
          UpdateExpression:
            'SET tokensRemaining = tokensRemaining - :t, costRemainingMicros = costRemainingMicros - :c, stepsRemaining = stepsRemaining - :s ADD stepsUsed :s',
          ConditionExpression: 'tokensRemaining >= :t AND costRemainingMicros >= :c AND stepsRemaining >= :s',
          ExpressionAttributeValues: { ':t': amount.tokens, ':c': amount.costMicros, ':s': amount.steps },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, ledger: parseLedger(out.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // The old item on a failed condition comes back in wire format (the document
      // client does not unmarshall errors); dynalite does not return it at all.
      const wire = (err as { Item?: Record<string, AttributeValue> }).Item;
      const ledger = (wire ? parseLedgerLoose(unmarshall(wire)) : undefined) ?? (await this.ledgerAt(key));
      if (!ledger) throw err;
      const limit =
        ledger.stepsRemaining < amount.steps
          ? 'steps'
          : ledger.tokensRemaining < amount.tokens
            ? 'tokens'
            : 'cost';
      return { ok: false, limit, ledger };
    }
  }

  /** Return the unused part of a reservation and add what was used. */
  private async settleOn(
    key: { pk: string; sk: string },
    reserved: Reservation,
    used: { tokens: number; costMicros: number },
  ): Promise<Ledger> {
    const out = await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key,
        UpdateExpression:
          'ADD tokensRemaining :rt, costRemainingMicros :rc, tokensUsed :ut, costUsedMicros :uc',
        ExpressionAttributeValues: {
          ':rt': reserved.tokens - used.tokens,
          ':rc': reserved.costMicros - used.costMicros,
          ':ut': used.tokens,
          ':uc': used.costMicros,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parseLedger(out.Attributes ?? {});
  }

  private async ledgerAt(key: { pk: string; sk: string }): Promise<Ledger | undefined> {
    const out = await this.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    return out.Item ? parseLedger(out.Item) : undefined;
  }

  async addToolFailure(runId: string): Promise<number> {
    const out = await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(runId), sk: 'LEDGER' },
        UpdateExpression: 'ADD toolFailures :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const n = out.Attributes?.toolFailures;
    return typeof n === 'number' ? n : 0;
  }

  async appendEvent(runId: string, event: TrailEvent): Promise<void> {
    const at = this.now();
    await this.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: pk(runId), sk: `EVT#${ulid(at)}`, at: new Date(at).toISOString(), event },
      }),
    );
  }

  async listEvents(runId: string): Promise<StoredTrailEvent[]> {
    const items = await this.query(runId, 'EVT#');
    return items.map((i) => ({ ...parseTrailEvent(i.event), seq: String(i.sk).slice(4), at: String(i.at) }));
  }

  async listMessages(runId: string, step: string): Promise<StoredMessage[]> {
    const items = await this.query(runId, `MSG#${step}#`);
    return items.map((i) => parseStoredMessage(i));
  }

  async putMessage(
    runId: string,
    step: string,
    record: StoredMessage,
    role: 'user' | 'assistant',
  ): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: pk(runId),
          sk: `MSG#${step}#${pad(record.iteration)}#${role === 'user' ? '1u' : '2a'}`,
          ...record,
        },
      }),
    );
  }

  async getAction(runId: string, step: string, iteration: number): Promise<AgentAction | undefined> {
    const out = await this.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: pk(runId), sk: `ACT#${step}#${pad(iteration)}` },
        ConsistentRead: true,
      }),
    );
    return out.Item ? (out.Item.action as AgentAction) : undefined;
  }

  async putAction(runId: string, step: string, iteration: number, action: AgentAction): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: pk(runId), sk: `ACT#${step}#${pad(iteration)}`, action },
      }),
    );
  }

  async putPendingCall(runId: string, step: string, call: PendingCall): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: pk(runId), sk: `CALL#${step}#${call.toolUseId}`, ...call },
      }),
    );
  }

  async getPendingCall(runId: string, step: string, toolUseId: string): Promise<PendingCall | undefined> {
    const out = await this.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: pk(runId), sk: `CALL#${step}#${toolUseId}` },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const { toolUseId: id, tool, args, turn, approvedBy } = out.Item;
    return {
      toolUseId: String(id),
      tool: String(tool),
      args: args as Json,
      turn: Number(turn),
      ...(approvedBy ? { approvedBy: String(approvedBy) } : {}),
    };
  }

  async putToolResult(runId: string, step: string, result: ToolResultRecord): Promise<boolean> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: pk(runId), sk: `RES#${step}#${result.toolUseId}`, ...result },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getToolResults(
    runId: string,
    step: string,
    toolUseIds: readonly string[],
  ): Promise<Map<string, ToolResultRecord>> {
    const found = new Map<string, ToolResultRecord>();
    for (let i = 0; i < toolUseIds.length; i += 100) {
      const keys = toolUseIds.slice(i, i + 100).map((id) => ({ pk: pk(runId), sk: `RES#${step}#${id}` }));
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined =
        {
          [this.table]: { Keys: keys, ConsistentRead: true },
        };
      while (request && Object.keys(request).length > 0) {
        const out = await this.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.table] ?? []) {
          found.set(String(item.toolUseId), {
            toolUseId: String(item.toolUseId),
            content: String(item.content),
            isError: item.isError === true,
          });
        }
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }

  async putStepOutput(runId: string, step: string, output: Json): Promise<void> {
    await this.send(
      new PutCommand({ TableName: this.table, Item: { pk: pk(runId), sk: `OUT#${step}`, output } }),
    );
  }

  async getStepOutputs(runId: string, steps: readonly string[]): Promise<Record<string, Json>> {
    const out: Record<string, Json> = {};
    for (const step of steps) {
      const r = await this.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: `OUT#${step}` },
          ConsistentRead: true,
        }),
      );
      if (r.Item) out[step] = r.Item.output as Json;
    }
    return out;
  }

  private async query(runId: string, prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk(runId), ':prefix': prefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Every call goes through here so throttling surfaces as the retryable StoreThrottledError. */
  private readonly send = (async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
    try {
      return await this.db.send(command);
    } catch (err) {
      if (isThrottle(err))
        throw new StoreThrottledError(`Runs table throttled: ${(err as Error).message}`, { cause: err });
      throw err;
    }
  }) as DynamoDBDocumentClient['send'];
}

function parseLedgerLoose(item: Record<string, unknown>): Ledger | undefined {
  try {
    return parseLedger(item);
  } catch {
    return undefined;
  }
}
