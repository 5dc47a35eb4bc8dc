import { type AwsRequester, type AwsResponse, AwsTransportError } from './aws-request.js';

/** What the SDK puts on every answer and error as `$metadata`. */
export interface AwsMetadata {
  httpStatusCode: number;
  requestId: string | undefined;
  attempts: number;
  totalRetryDelay: number;
}

/** An error a JSON-protocol service answered: named as the SDK names it, with its `$metadata`. */
export class AwsServiceError extends Error {
  override readonly name: string;
  readonly $fault: 'client' | 'server';
  constructor(
    name: string,
    message: string,
    readonly $metadata: AwsMetadata,
  ) {
    super(message);
    this.name = name;
    this.$fault = $metadata.httpStatusCode >= 500 ? 'server' : 'client';
  }
}

const RETRY_QUOTA = 500;

/** The SDK's throttling error codes (`@smithy/service-error-classification`). */
const THROTTLES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

function retryKind(
  err: AwsServiceError | AwsTransportError,
): 'throttle' | 'transient' | 'timeout' | undefined {
  if (err instanceof AwsTransportError) return err.name === 'AbortError' ? undefined : 'timeout';
  if (THROTTLES.has(err.name) || err.$metadata.httpStatusCode === 429) return 'throttle';
  if (TRANSIENT_NAMES.has(err.name) || TRANSIENT_STATUS.has(err.$metadata.httpStatusCode)) return 'transient';
  return undefined;
}

function requestIdOf(res: AwsResponse): string | undefined {
  const id = res.headers['x-amzn-requestid'] ?? res.headers['x-amz-request-id'];
  return typeof id === 'string' ? id : undefined;
}

/**
 * How long an attempt's connection may stay silent before it is dropped and
 * retried. DynamoDB and Step Functions answer these calls in milliseconds;
 * without a limit a dead connection (a half-open socket after a network
 * fault) would hold the handler until its Lambda timeout, with no retry.
 */
export const ATTEMPT_IDLE_TIMEOUT_MS = 5_000;

/**
 * One client's requests to an AWS JSON-protocol API (AWS JSON 1.0: a signed
 * POST to `/` with an `X-Amz-Target` and a JSON body), retried as the SDK's
 * standard mode retries them: throttles (base 500 ms) and transient failures
 * (no answer, 500/502/503/504; base 100 ms) with full jitter up to
 * `maxAttempts` attempts in all, under a retry quota of 500 (5 per retry, 10
 * after a timeout, 1 back per success); anything else is thrown at once. An
 * attempt whose connection is silent for `attemptTimeoutMs` is a timeout. The
 * service's own error shape is the caller's (`toError`).
 */
export class AwsJsonProtocol {
  private quota = RETRY_QUOTA;

  constructor(
    private readonly http: AwsRequester,
    private readonly options: {
      /** Attempts in all, the first included. */
      maxAttempts: number;
      /**
       * An attempt whose connection stays silent this long is dropped and
       * retried as a timeout (over the network only: see `AwsRequester.request`'s
       * `idleTimeoutMs`). @default {@link ATTEMPT_IDLE_TIMEOUT_MS}
       */
      attemptTimeoutMs?: number;
      /** The error a non-2xx answer becomes. */
      toError(res: AwsResponse, metadata: AwsMetadata): AwsServiceError;
    },
  ) {}

  /**
   * Sends `body` to `target`; the 2xx answer, or the last failure once
   * retries are spent. A function body makes the request's JSON value
   * afresh for each attempt (`AwsRequester.request`'s `value`).
   */
  async post(
    target: string,
    body: string | (() => unknown),
  ): Promise<{ res: AwsResponse; metadata: AwsMetadata }> {
    let totalRetryDelay = 0;
    for (let attempt = 1; ; attempt++) {
      let failure: AwsServiceError | AwsTransportError;
      try {
        const res = await this.http.request({
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target },
          ...(typeof body === 'function' ? { value: body } : { body }),
          idleTimeoutMs: this.options.attemptTimeoutMs ?? ATTEMPT_IDLE_TIMEOUT_MS,
        });
        const metadata = {
          httpStatusCode: res.status,
          requestId: requestIdOf(res),
          attempts: attempt,
          totalRetryDelay,
        };
        if (res.status >= 200 && res.status < 300) {
          this.quota = Math.min(RETRY_QUOTA, this.quota + 1);
          return { res, metadata };
        }
        failure = this.options.toError(res, metadata);
      } catch (err) {
        if (!(err instanceof AwsTransportError)) throw err;
        failure = err;
      }
      const kind = retryKind(failure);
      const cost = kind === 'timeout' ? 10 : 5;
      if (kind === undefined || attempt >= this.options.maxAttempts || this.quota < cost) throw failure;
      this.quota -= cost;
      const delay = Math.floor(
        Math.min(20_000, Math.random() * 2 ** (attempt - 1) * (kind === 'throttle' ? 500 : 100)),
      );
      totalRetryDelay += delay;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
