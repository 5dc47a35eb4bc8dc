import { ChaperoneError } from '../errors.js';

/**
 * A classifier of the guardrail tier failed. Never thrown across a Lambda
 * boundary: the agent step catches it, records a `classifier_error` event and
 * applies the workflow's fail-open or fail-closed setting.
 */
export abstract class ClassifierError extends ChaperoneError {
  readonly retryable = false;
}

/** The classifier did not answer within `classifierTimeoutMs`. */
export class ClassifierTimeoutError extends ClassifierError {
  override readonly name = 'ClassifierTimeoutError';
}

/** The judge answered, but not with one `report_verdicts` call matching its schema. */
export class ClassifierOutputError extends ClassifierError {
  override readonly name = 'ClassifierOutputError';
}

/** The classifier's service failed (an error status, a refused request, no client configured). */
export class ClassifierUnavailableError extends ClassifierError {
  override readonly name = 'ClassifierUnavailableError';
}
