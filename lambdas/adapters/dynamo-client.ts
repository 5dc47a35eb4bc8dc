import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { meterDynamoRequests } from './dynamo-usage.js';

/** A DocumentClient with explicit retry and endpoint settings (endpoint: the local runtime's dynalite). */
export function createDocumentClient(options: {
  region?: string;
  endpoint?: string;
  maxAttempts?: number;
}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: options.maxAttempts ?? 4,
  });
  // Request units into the invocation's usage meter (lambdas/core/usage.ts).
  meterDynamoRequests(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Whether an SDK error is a failed condition (a lost race or a refused reservation). */
export function isConditionFailure(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'ConditionalCheckFailedException'
  );
}

/** Whether an SDK error is throttling, so callers can raise the retryable StoreThrottledError. */
export function isThrottle(err: unknown): boolean {
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return (
    name === 'ProvisionedThroughputExceededException' ||
    name === 'ThrottlingException' ||
    name === 'TransactionConflictException' ||
    name === 'RequestLimitExceeded'
  );
}
