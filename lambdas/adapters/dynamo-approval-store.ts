import type { ApprovalRecord, ApprovalStatus, ApprovalStore } from '../core/approval-records.js';
import { isConditionFailure, storeError } from './dynamo-client.js';
import {
  type DocumentClient,
  type DocumentCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from './dynamo-http.js';
import { CorruptItemError } from './run-item-parsers.js';

const key = (id: string) => ({ pk: `APPROVAL#${id}`, sk: 'META' });
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'expired', 'bypassed'];

/** The Approvals table: `APPROVAL#id / META`, GSI `byStatus` (status, createdAt). */
export class DynamoApprovalStore implements ApprovalStore {
  constructor(
    private readonly db: DocumentClient,
    private readonly table: string,
  ) {}

  async create(record: ApprovalRecord): Promise<boolean> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...key(record.approvalId), ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async markBypassed(approvalId: string, violation: string, at: string): Promise<boolean> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(approvalId),
          UpdateExpression: 'SET #status = :b, violation = :v, decidedBy = :by, decidedAt = :at',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':b': 'bypassed',
            ':v': violation,
            ':by': 'nobody (callback outside the approval API)',
            ':at': at,
            ':pending': 'pending',
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async markDelivered(approvalId: string): Promise<void> {
    await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(approvalId),
        UpdateExpression: 'SET delivered = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  }

  async get(approvalId: string): Promise<ApprovalRecord | undefined> {
    const out = await this.send(
      new GetCommand({ TableName: this.table, Key: key(approvalId), ConsistentRead: true }),
    );
    return out.Item ? parseApproval(out.Item) : undefined;
  }

  async attachToken(
    approvalId: string,
    taskToken: string,
    patch: Partial<ApprovalRecord> = {},
  ): Promise<void> {
    const fields = Object.entries({ ...patch, taskToken }).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':pending': 'pending' };
    const sets = fields.map(([k, v], i) => {
      names[`#k${i}`] = k;
      values[`:v${i}`] = v;
      return `#k${i} = :v${i}`;
    });
    await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(approvalId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async decide(
    approvalId: string,
    decision: {
      status: Exclude<ApprovalStatus, 'pending' | 'bypassed'>;
      decidedBy: string;
      decidedAt: string;
      comment?: string;
      extendBy?: number;
    },
  ): Promise<boolean> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(approvalId),
          UpdateExpression: `SET #status = :s, decidedBy = :by, decidedAt = :at, #comment = :c${decision.extendBy === undefined ? '' : ', extendBy = :e'}`,
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status', '#comment': 'comment' },
          ExpressionAttributeValues: {
            ':s': decision.status,
            ':by': decision.decidedBy,
            ':at': decision.decidedAt,
            ':c': decision.comment ?? '',
            ':pending': 'pending',
            ...(decision.extendBy === undefined ? {} : { ':e': decision.extendBy }),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async addWaiter(approvalId: string, waiter: string, taskToken: string): Promise<number> {
    const out = await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(approvalId),
        UpdateExpression:
          'SET waiters = if_not_exists(waiters, :empty), taskToken = if_not_exists(taskToken, :t)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':empty': {}, ':t': taskToken },
      }),
    ).then(() =>
      this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(approvalId),
          UpdateExpression: 'SET waiters.#w = :t',
          ExpressionAttributeNames: { '#w': waiter },
          ExpressionAttributeValues: { ':t': taskToken },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const waiters = (out.Attributes?.waiters ?? {}) as Record<string, unknown>;
    return Object.keys(waiters).length;
  }

  async listByStatus(status: ApprovalStatus, limit: number): Promise<ApprovalRecord[]> {
    const out = await this.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byStatus',
        KeyConditionExpression: '#status = :s',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':s': status },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(parseApproval);
  }

  /** Every call goes through here so a throttle or an unreachable table surfaces as a retryable error (`storeError`). */
  private readonly send = (async (command: DocumentCommand<unknown, unknown>) => {
    try {
      return await this.db.send(command);
    } catch (err) {
      throw storeError(err, 'Approvals table');
    }
  }) as DocumentClient['send'];
}

function parseApproval(item: Record<string, unknown>): ApprovalRecord {
  const status = item.status;
  if (typeof status !== 'string' || !STATUSES.includes(status as ApprovalStatus))
    throw new CorruptItemError(`approval status ${String(status)} is invalid`);
  for (const k of ['approvalId', 'runId', 'workflow', 'step', 'createdAt', 'summary', 'reason']) {
    if (typeof item[k] !== 'string') throw new CorruptItemError(`approval ${k} must be a string`);
  }
  if (typeof item.expiresAt !== 'number') throw new CorruptItemError('approval expiresAt must be a number');
  if (!Array.isArray(item.calls) || !Array.isArray(item.approvers))
    throw new CorruptItemError('approval calls/approvers must be lists');
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as ApprovalRecord;
}
