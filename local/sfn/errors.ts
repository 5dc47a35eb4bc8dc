/**
 * An error raised by the Step Functions interpreter with the name AWS uses
 * (`States.Runtime`, `States.QueryEvaluationError`, `States.TaskFailed`, ...).
 * `error` and `cause` are what `Catch`, `Retry` and `$states.errorOutput` see.
 */
export class StatesError extends Error {
  readonly error: string;
  readonly causeText: string | undefined;
  /** Set when AWS records no `<Type>StateFailed` event for this failure (a distributed Map's run checks). */
  suppressStateFailed = false;

  constructor(error: string, cause?: string) {
    super(cause ? `${error}: ${cause}` : error);
    this.name = 'StatesError';
    this.error = error;
    this.causeText = cause;
  }
}

/** A definition the interpreter refuses at load, naming the state and field. */
export class DefinitionError extends Error {
  constructor(
    readonly stateName: string | undefined,
    readonly field: string | undefined,
    message: string,
  ) {
    super(
      `${stateName ? `state "${stateName}"` : 'definition'}${field ? `, field ${field}` : ''}: ${message}`,
    );
    this.name = 'DefinitionError';
  }
}

/**
 * A failure while evaluating a field of a state (JSONata or JSONPath). The
 * state runner prefixes the cause with "An error occurred while executing the
 * state ..." and records an `EvaluationFailed` event, as AWS does.
 */
export class EvaluationError extends StatesError {
  constructor(
    error: string,
    cause: string,
    readonly location: string | undefined,
  ) {
    super(error, cause);
    this.name = 'EvaluationError';
  }
}

/** Raised inside an execution when it is stopped, timed out or a sibling branch failed. */
export class ExecutionAbortedError extends Error {
  constructor(readonly reason: 'stopped' | 'timed-out' | 'sibling-failed' | 'closed') {
    super(`execution aborted: ${reason}`);
    this.name = 'ExecutionAbortedError';
  }
}

/** Step Functions API error codes the local API returns, named as AWS names them. */
export type SfnApiErrorCode =
  | 'ExecutionDoesNotExist'
  | 'StateMachineDoesNotExist'
  | 'StateMachineAlreadyExists'
  | 'TaskDoesNotExist'
  | 'InvalidToken'
  | 'TaskTimedOut'
  | 'InvalidExecutionInput'
  | 'InvalidOutput'
  | 'InvalidName'
  | 'InvalidArn'
  | 'InvalidDefinition'
  | 'ExecutionAlreadyExists'
  | 'ExecutionNotRedrivable'
  | 'ValidationException'
  | 'UnknownOperationException';

/** An API-level failure (not an execution failure), surfaced by the SDK with `name === code`. */
export class SfnApiError extends Error {
  constructor(
    readonly code: SfnApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SfnApiError';
  }
}
