/** Failures of the scripted model's own tooling (the CLI), named as elsewhere in Chaperone. */

/** The scenario module could not be loaded or does not export a scenario. */
export class ScenarioModuleError extends Error {
  override readonly name = 'ScenarioModuleError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The command line was not understood. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
