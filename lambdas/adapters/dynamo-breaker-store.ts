import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BreakerState, BreakerStore } from '../core/breakers.js';

/** Per-tool circuits in the Breakers table (`TOOL#name`), shared by every run. */
export class DynamoBreakerStore implements BreakerStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(tool: string): Promise<BreakerState> {
    const out = await this.db.send(
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
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `TOOL#${tool}` },
        UpdateExpression: 'SET consecutiveFailures = :zero, openUntil = :zero',
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  async recordFailure(tool: string, threshold: number, openUntil: number): Promise<BreakerState> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `TOOL#${tool}` },
        UpdateExpression: 'ADD consecutiveFailures :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const failures = Number(out.Attributes?.consecutiveFailures ?? 1);
    if (failures >= threshold) {
      // (Re)open: a failed half-open trial opens the circuit for another cool-down.
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `TOOL#${tool}` },
          UpdateExpression: 'SET openUntil = :until',
          ExpressionAttributeValues: { ':until': openUntil },
        }),
      );
      return { tool, consecutiveFailures: failures, openUntil };
    }
    return { tool, consecutiveFailures: failures, openUntil: Number(out.Attributes?.openUntil ?? 0) };
  }
}
