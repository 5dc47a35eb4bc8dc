import { describeErrors, lazyValidator } from '../../state-machines/schema.js';
import { ValidationError } from '../core/errors.js';

/**
 * A parser for a Lambda event, compiled on the first event and kept for the
 * container's life (importing a handler compiles nothing). Throws the named
 * ValidationError.
 */
export function eventParser<T>(schema: object, what: string): (event: unknown) => T {
  const validate = lazyValidator(`the ${what} event contract`, schema as Record<string, unknown>);
  return (event) => {
    if (!validate(event))
      throw new ValidationError(`${what} event is invalid: ${describeErrors(validate.errors)}`);
    return event as T;
  };
}

/**
 * The exported Lambda `handler`: built from `process.env` on the first
 * invocation (the cold start), so importing a handler module never needs the
 * environment (the local runtime builds each function with its own env).
 */
export function fromProcessEnv<E, R>(
  create: (env: Record<string, string | undefined>) => (event: E, context?: unknown) => Promise<R>,
) {
  let built: ((event: E, context?: unknown) => Promise<R>) | undefined;
  return (event: E, context?: unknown): Promise<R> => {
    built ??= create(process.env);
    return built(event, context);
  };
}
