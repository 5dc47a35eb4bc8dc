/**
 * Throttling from any AWS client, by the names the services use (DynamoDB,
 * SNS, SES, Step Functions, Secrets Manager) or an HTTP 429. The SDK retries
 * these itself a few times (`maxAttempts`); what is left becomes a named,
 * retryable error at the adapter, so Step Functions `Retry` can own the rest.
 */
const THROTTLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'Throttled',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

export function isAwsThrottle(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return (typeof e.name === 'string' && THROTTLE_NAMES.has(e.name)) || e.$metadata?.httpStatusCode === 429;
}

/** Run one SDK call; a throttle becomes `named(message, { cause })`, anything else passes through. */
export async function throttleAs<T>(
  named: new (message: string, options?: { cause?: unknown }) => Error,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isAwsThrottle(err)) throw new named(`${what} throttled: ${(err as Error).message}`, { cause: err });
    throw err;
  }
}
