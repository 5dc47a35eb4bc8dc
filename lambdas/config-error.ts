/** A missing or malformed environment variable: the function cannot start. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
