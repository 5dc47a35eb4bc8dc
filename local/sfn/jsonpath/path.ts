/**
 * Public path queries: `$...` reads the state input, `$$...` the context object and
 * `$name...` a Step Functions variable. Failures become `States.Runtime` errors worded
 * the way AWS words them.
 */
import { StatesError } from '../errors.js';
import { toJsonText } from './json-util.js';
import type { ParsedPath } from './path-ast.js';
import { evaluatePath, type PathOutcome } from './path-eval.js';
import { PathSyntaxError, parsePath } from './path-parser.js';

/** True when `text` looks like a path (`$`, `$$`, `$var`) rather than a literal. */
export function isPathExpression(text: string): boolean {
  return text.startsWith('$');
}

function parseOrThrow(path: string): ParsedPath {
  try {
    return parsePath(path.trim());
  } catch (e) {
    if (e instanceof PathSyntaxError)
      throw new StatesError('States.Runtime', `Invalid path '${path}' : ${e.message}`);
    throw e;
  }
}

/**
 * Evaluates `path` and reports whether it matched, without throwing for missing data.
 * Syntax errors still throw `States.Runtime`.
 */
export function tryQueryPath(
  path: string,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): PathOutcome {
  return evaluatePath(parseOrThrow(path), { input, context, variables });
}

/**
 * Evaluates a JSONPath. Definite paths (`$.a.b[0]`) return the single value they select;
 * indefinite ones (`$.items[*].id`, `$..x`, filters) return an array of the matches.
 *
 * @throws StatesError `States.Runtime` with a cause like
 *   `Invalid path '$.x' : No results for path: $['x']` when a definite path matches nothing.
 */
export function queryPath(
  path: string,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  const outcome = tryQueryPath(path, input, context, variables);
  if (!outcome.found) throw new StatesError('States.Runtime', `Invalid path '${path}' : ${outcome.reason}`);
  return outcome.value;
}

/**
 * Like {@link queryPath}, for a path given as the value of a named field (`"x.$"`,
 * `ErrorPath`, `CausePath`, ...). The failure cause names the field the way AWS does:
 * `The JSONPath '$.x' specified for the field 'x.$' could not be found in the input '{...}'`.
 */
export function queryPathForField(
  path: string,
  field: string,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
): unknown {
  const outcome = tryQueryPath(path, input, context, variables);
  if (!outcome.found)
    throw new StatesError(
      'States.Runtime',
      `The JSONPath '${path}' specified for the field '${field}' could not be found in the input '${toJsonText(input)}'`,
    );
  return outcome.value;
}
