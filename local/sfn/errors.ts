/**
 * An error raised by the Step Functions interpreter with the name AWS uses
 * (`States.Runtime`, `States.QueryEvaluationError`, `States.TaskFailed`, ...).
 * `error` and `cause` are what `Catch`, `Retry` and `$states.errorOutput` see.
 */
export class StatesError extends Error {
  readonly error: string;
  readonly causeText: string | undefined;

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
    super(`${stateName ? `state "${stateName}"` : 'definition'}${field ? `, field ${field}` : ''}: ${message}`);
    this.name = 'DefinitionError';
  }
}
