import { CorruptRecordError, StoreThrottledError } from '../core/errors.js';
import type { Episode, EpisodeStore } from '../core/memory/ports.js';
import type { Json } from '../core/model.js';
import { throttleAs } from './aws-errors.js';
import { isConditionFailure } from './dynamo-client.js';
import {
  DeleteCommand,
  type DocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from './dynamo-http.js';

/**
 * Episodes in the Memory table: `EPI#<workflow>#<tenant> / RUN#<runId>`. The
 * partition is the pair, so every read names one workflow and one tenant and
 * no query can reach another tenant's runs; run ids are ULIDs, so the sort
 * key orders a partition by time. The input's embedding is stored as float32
 * bytes.
 */
export class DynamoEpisodeStore implements EpisodeStore {
  constructor(
    private readonly db: DocumentClient,
    private readonly table: string,
  ) {}

  async put(e: Episode): Promise<void> {
    const { vector, ...rest } = e;
    try {
      await this.send(() =>
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...key(e.workflow, e.tenant, e.runId), ...rest, vector: toBytes(vector) },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // written by an earlier attempt: once is enough
    }
  }

  async list(workflow: string, tenant: string, limit: number): Promise<Episode[]> {
    const out = await this.send(() =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': key(workflow, tenant, '').pk },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    return (out.Items ?? []).map(parseEpisode);
  }

  async get(workflow: string, tenant: string, runId: string): Promise<Episode | undefined> {
    const out = await this.send(() =>
      this.db.send(
        new GetCommand({ TableName: this.table, Key: key(workflow, tenant, runId), ConsistentRead: true }),
      ),
    );
    return out.Item ? parseEpisode(out.Item) : undefined;
  }

  async delete(workflow: string, tenant: string, runId: string): Promise<boolean> {
    const out = await this.send(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: key(workflow, tenant, runId),
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return out.Attributes !== undefined;
  }

  async setExample(workflow: string, tenant: string, runId: string, example: boolean): Promise<boolean> {
    try {
      await this.send(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key(workflow, tenant, runId),
            UpdateExpression: 'SET example = :e',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':e': example },
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private send<T>(call: () => Promise<T>): Promise<T> {
    return throttleAs(StoreThrottledError, 'Memory table', call);
  }
}

function key(workflow: string, tenant: string, runId: string) {
  return { pk: `EPI#${workflow}#${encodeURIComponent(tenant)}`, sk: `RUN#${runId}` };
}

function toBytes(vector: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(vector).buffer);
}

function fromBytes(value: unknown): number[] {
  if (!(value instanceof Uint8Array) || value.byteLength % 4 !== 0) return [];
  // Copy: the SDK's buffer may be a view at an unaligned offset.
  return Array.from(new Float32Array(value.slice().buffer));
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** An item as an episode; a shape we do not know is refused by name. */
function parseEpisode(item: Record<string, unknown>): Episode {
  const { runId, workflow, tenant, outcome, finishedAt, costUsd, tokens, example } = item;
  if (
    typeof runId !== 'string' ||
    typeof workflow !== 'string' ||
    typeof tenant !== 'string' ||
    typeof outcome !== 'string' ||
    typeof finishedAt !== 'string'
  )
    throw new CorruptRecordError(`episode ${String(item.pk)}/${String(item.sk)} is not an episode record`);
  return {
    runId,
    workflow,
    tenant,
    input: (item.input ?? null) as Json,
    outcome,
    decisions: strings(item.decisions),
    approvals: strings(item.approvals),
    ...(typeof item.answer === 'string' ? { answer: item.answer } : {}),
    ...(typeof item.stopReason === 'string' ? { stopReason: item.stopReason } : {}),
    costUsd: typeof costUsd === 'number' ? costUsd : 0,
    tokens: typeof tokens === 'number' ? tokens : 0,
    finishedAt,
    vector: fromBytes(item.vector),
    example: example !== false,
  };
}
