import { AwsRequester, AwsTransportError, regionalEndpoint } from './aws-request.js';
import { DocumentClient } from './dynamo-http.js';
import { dynamoUsageHooks } from './dynamo-usage.js';

export { DocumentClient } from './dynamo-http.js';

/**
 * The handlers' DynamoDB client (`dynamo-http.ts`) with explicit retry and
 * endpoint settings (endpoint: the local runtime's dynalite), its requests
 * counted by the usage meter.
 */
export function createDocumentClient(options: {
  region?: string;
  endpoint?: string;
  maxAttempts?: number;
  /** An attempt whose connection is silent this long is retried as a timeout. @default 5,000 */
  attemptTimeoutMs?: number;
}): DocumentClient {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('createDocumentClient: no region (pass one, or set AWS_REGION)');
  const endpoint = options.endpoint ? new URL(options.endpoint) : regionalEndpoint('dynamodb', region);
  return new DocumentClient(new AwsRequester({ service: 'dynamodb', region, endpoint }), {
    maxAttempts: options.maxAttempts ?? 4,
    ...(options.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: options.attemptTimeoutMs } : {}),
    hooks: dynamoUsageHooks,
  });
}

/** Whether an error is a failed condition (a lost race or a refused reservation). */
export function isConditionFailure(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'ConditionalCheckFailedException'
  );
}

/**
 * Whether an error is the client giving up on reaching DynamoDB at all (a
 * transport failure on every attempt, not an abort), so callers can raise the
 * retryable StoreUnavailableError.
 */
export function isUnreachable(err: unknown): boolean {
  return err instanceof AwsTransportError && err.name !== 'AbortError';
}

/** Whether an error is throttling, so callers can raise the retryable StoreThrottledError. */
export function isThrottle(err: unknown): boolean {
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return (
    name === 'ProvisionedThroughputExceededException' ||
    name === 'ThrottlingException' ||
    name === 'TransactionConflictException' ||
    name === 'RequestLimitExceeded'
  );
}
