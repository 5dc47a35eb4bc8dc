/**
 * Named errors. Step Functions routes `Retry` and `Catch` on `name`, so every
 * name here is API: never rename one, never throw a bare `Error` across a
 * Lambda boundary. Each class says whether it is retryable.
 */

export abstract class ChaperoneError extends Error {
  /** Whether a retry (by the owner of that retry) can succeed. */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The model provider throttled us (HTTP 429). Retryable. */
export class ModelThrottledError extends ChaperoneError {
  override readonly name = 'ModelThrottledError';
  readonly retryable = true;
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The model provider failed or timed out (5xx, overloaded, connection, timeout). Retryable. */
export class ModelUnavailableError extends ChaperoneError {
  override readonly name = 'ModelUnavailableError';
  readonly retryable = true;
  /**
   * The provider answered with an error status (a 5xx, 408): the call was not
   * billed. False for a timeout, an abort or a lost connection, where it may
   * have been processed (and billed) all the same.
   */
  readonly answered: boolean;
  constructor(message: string, options?: { cause?: unknown; answered?: boolean }) {
    super(message, options);
    this.answered = options?.answered ?? false;
  }
}

/**
 * True when a model call's failure says the provider answered it with an
 * error, so nothing was billed: a 429, a 4xx or 5xx status. A timeout, an
 * abort, a lost connection or anything else may have been billed.
 */
export function modelCallAnswered(err: unknown): boolean {
  if (err instanceof ModelThrottledError) return true;
  if (err instanceof ModelUnavailableError) return err.answered;
  return err instanceof ModelRequestError && err.status !== undefined;
}

/** The provider refused the request itself (4xx other than 429): retrying cannot help. */
export class ModelRequestError extends ChaperoneError {
  override readonly name = 'ModelRequestError';
  readonly retryable = false;
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Input (an event, an API body, a stored item) failed its schema. Terminal. */
export class ValidationError extends ChaperoneError {
  override readonly name = 'ValidationError';
  readonly retryable = false;
  constructor(
    message: string,
    /** JSON pointer-ish path of the offending field, e.g. `/input/invoiceId`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A referenced thing (run, workflow, agent, tool call) does not exist. Terminal. */
export class NotFoundError extends ChaperoneError {
  override readonly name = 'NotFoundError';
  readonly retryable = false;
}

/** A store write lost a race or a store was throttled. Retryable. */
export class StoreThrottledError extends ChaperoneError {
  override readonly name = 'StoreThrottledError';
  readonly retryable = true;
}

/**
 * A store could not be reached: the connection failed or stayed silent on
 * every one of the client's attempts (a reset, a refused or dropped
 * connection). Retryable: every write is claim-first, so sending it again
 * later writes nothing twice.
 */
export class StoreUnavailableError extends ChaperoneError {
  override readonly name = 'StoreUnavailableError';
  readonly retryable = true;
}

/** SNS or SES throttled us. Retryable. */
export class MessagingThrottledError extends ChaperoneError {
  override readonly name = 'MessagingThrottledError';
  readonly retryable = true;
}

/** Step Functions throttled us (StartExecution, SendTaskSuccess, DescribeExecution). Retryable. */
export class EngineThrottledError extends ChaperoneError {
  override readonly name = 'EngineThrottledError';
  readonly retryable = true;
}

/** The names of errors Step Functions may retry. Everything else is terminal. */
export const RETRYABLE_ERROR_NAMES = [
  'ModelThrottledError',
  'ModelUnavailableError',
  'StoreThrottledError',
  'StoreUnavailableError',
  'ClaimBusyError',
  'MessagingThrottledError',
  'EngineThrottledError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

export { STOP_REASONS, type StopReason } from '../../state-machines/stop-reasons.js';

/**
 * A stored record (a claim, an action) has a shape this code does not know:
 * written by a newer version, or damaged. Terminal: nothing is guessed.
 */
export class CorruptRecordError extends ChaperoneError {
  override readonly name = 'CorruptRecordError';
  readonly retryable = false;
}

/** Another attempt of the same claimed step began first (a duplicate delivery). Retryable. */
export class ClaimBusyError extends ChaperoneError {
  override readonly name = 'ClaimBusyError';
  readonly retryable = true;
}

/**
 * A price the cost figures need is not in the price table: a Region without
 * AWS service prices, or a model without token prices. Raised where the
 * table is chosen (synth, cold start), so no run is priced at a guess. Terminal.
 */
export class PriceTableError extends ChaperoneError {
  override readonly name = 'PriceTableError';
  readonly retryable = false;
}

/**
 * A payload kept in the payload bucket (a large tool result or step output)
 * cannot be read back: the object is gone, unreadable or not what its
 * reference says. Terminal: the run stops rather than go on with an empty result.
 */
export class OffloadedPayloadMissingError extends ChaperoneError {
  override readonly name = 'OffloadedPayloadMissingError';
  readonly retryable = false;
}

/**
 * A tool's result or a code step's output that JSON cannot carry whole (a
 * `Map`, a `Set`, an `Error`, a `BigInt`, a circular object, `NaN`…): it would
 * be recorded as `{}` or fail to serialise, so it is refused by name instead.
 * Terminal: the same code returns the same value.
 */
export class NotJsonError extends ChaperoneError {
  override readonly name = 'NotJsonError';
  readonly retryable = false;
}
