/**
 * Named errors of the embedded local runtime. Each has a literal `name` so a
 * caller (or a test) can tell them apart without parsing messages.
 */

/** Base class of every local-runtime failure. */
export class LocalRuntimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalRuntimeError';
  }
}

/** The synthesised template has something the local runtime cannot turn into a local value. */
export class TemplateResolutionError extends LocalRuntimeError {
  constructor(
    /** Logical id of the resource whose property failed to resolve. */
    readonly resource: string,
    /** Dotted path of the property, e.g. `Properties.Environment.Variables.RUNS_TABLE`. */
    readonly property: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot resolve ${resource}.${property}: ${reason}`, options);
    this.name = 'TemplateResolutionError';
  }
}

/** The template could not be synthesised or read. */
export class TemplateLoadError extends LocalRuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateLoadError';
  }
}

/** The data directory holds something the runtime cannot use (ports file, secrets file…). */
export class DataDirError extends LocalRuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataDirError';
  }
}
