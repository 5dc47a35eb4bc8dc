import { StoreThrottledError, StoreUnavailableError } from '../core/errors.js';
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
 * What a store raises for a failed DynamoDB request: the retryable
 * StoreThrottledError for a throttle (or a transaction `contended` by
 * another), the retryable StoreUnavailableError when the client could not
 * reach DynamoDB on any attempt (a transport failure, not an abort), and the
 * error itself otherwise. `table` names the store in the message.
 */
export function storeError(err: unknown, table: string, contended = false): unknown {
  const message = (err as Error).message;
  if (contended || isThrottle(err))
    return new StoreThrottledError(`${table} throttled: ${message}`, { cause: err });
  if (err instanceof AwsTransportError && err.name !== 'AbortError')
    return new StoreUnavailableError(`${table} unreachable: ${message}`, { cause: err });
  return err;
}

/** Whether an error is throttling. */
function isThrottle(err: unknown): boolean {
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return (
    name === 'ProvisionedThroughputExceededException' ||
    name === 'ThrottlingException' ||
    name === 'TransactionConflictException' ||
    name === 'RequestLimitExceeded'
  );
}
