import type { BreakerState, BreakerStore } from '../core/breakers.js';
import { StoreThrottledError } from '../core/errors.js';
import { throttleAs } from './aws-errors.js';
import { isConditionFailure } from './dynamo-client.js';
import { type DocumentClient, type DocumentCommand, GetCommand, UpdateCommand } from './dynamo-http.js';

/** Per-tool circuits in the Breakers table (`TOOL#name`), shared by every run. */
export class DynamoBreakerStore implements BreakerStore {
  constructor(
    private readonly db: DocumentClient,
    private readonly table: string,
  ) {}

  async get(tool: string): Promise<BreakerState> {
    const out = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: `TOOL#${tool}` }, ConsistentRead: true }),
    );
    const failures = out.Item?.consecutiveFailures;
    const openUntil = out.Item?.openUntil;
    return {
      tool,
      consecutiveFailures: typeof failures === 'number' ? failures : 0,
      openUntil: typeof openUntil === 'number' ? openUntil : 0,
    };
  }

  async recordSuccess(tool: string): Promise<void> {
    await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `TOOL#${tool}` },
        UpdateExpression: 'SET consecutiveFailures = :zero, openUntil = :zero REMOVE trialUntil',
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  async recordFailure(tool: string, threshold: number, openUntil: number): Promise<BreakerState> {
    // One atomic update either way: the failure that reaches the threshold opens the
    // circuit in the same write, so no reader sees the count without openUntil.
    try {
      const out = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `TOOL#${tool}` },
          UpdateExpression: 'SET openUntil = :until ADD consecutiveFailures :one REMOVE trialUntil',
          ConditionExpression: 'consecutiveFailures >= :almost',
          ExpressionAttributeValues: { ':one': 1, ':until': openUntil, ':almost': threshold - 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { tool, consecutiveFailures: Number(out.Attributes?.consecutiveFailures), openUntil };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const out = await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `TOOL#${tool}` },
        UpdateExpression: 'ADD consecutiveFailures :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return {
      tool,
      consecutiveFailures: Number(out.Attributes?.consecutiveFailures ?? 1),
      openUntil: Number(out.Attributes?.openUntil ?? 0),
    };
  }

  async claimTrial(tool: string, now: number, trialUntil: number): Promise<boolean> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `TOOL#${tool}` },
          UpdateExpression: 'SET trialUntil = :until',
          ConditionExpression:
            'openUntil <= :now AND (attribute_not_exists(trialUntil) OR trialUntil < :now)',
          ExpressionAttributeValues: { ':until': trialUntil, ':now': now },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Every call goes through here so throttling surfaces as the retryable StoreThrottledError. */
  private readonly send = ((command: DocumentCommand<unknown, unknown>) =>
    throttleAs(StoreThrottledError, 'Breakers table', () => this.db.send(command))) as DocumentClient['send'];
}
