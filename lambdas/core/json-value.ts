import { NotJsonError } from './errors.js';
import type { Json } from './model.js';

/**
 * The values whose JSON form loses what they hold: `JSON.stringify` makes each
 * `{}` (a `Promise` is a tool that forgot an `await`).
 */
const LOSSY: ReadonlyArray<abstract new (...args: never[]) => object> = [
  Map,
  Set,
  WeakMap,
  WeakSet,
  Error,
  RegExp,
  Promise,
];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const member = (path: string, key: string): string =>
  IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

/**
 * Where `value` stops being JSON that says what it holds, as a path and what
 * is there (`$.amount is a BigInt`), or undefined when `JSON.stringify` keeps
 * all of it. `undefined` is allowed where JSON drops it (a missing field, or
 * `null`); a `toJSON` (a `Date`, a `Buffer`) is followed, as `JSON.stringify` does.
 */
export function notJson(value: unknown, path = '$', ancestors = new Set<object>()): string | undefined {
  return check(value, path, ancestors, true);
}

function check(
  value: unknown,
  path: string,
  ancestors: Set<object>,
  followToJson: boolean,
): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}`;
    case 'bigint':
      return `${path} is a BigInt`;
    case 'function':
      return `${path} is a function`;
    case 'symbol':
      return `${path} is a symbol`;
  }
  if (value === null) return undefined;
  const object = value as object;
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  // JSON.stringify calls a value's toJSON once and serialises what it returns.
  if (followToJson && typeof toJSON === 'function')
    return check(toJSON.call(object, ''), path, ancestors, false);
  const lossy = LOSSY.find((kind) => object instanceof kind);
  if (lossy) {
    const kind = object.constructor?.name || lossy.name;
    return `${path} is ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
  }
  if (ancestors.has(object)) return `${path} refers back to an object that holds it`;
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = check(object[i], `${path}[${i}]`, ancestors, true);
        if (problem) return problem;
      }
      return undefined;
    }
    for (const [key, v] of Object.entries(object)) {
      const problem = check(v, member(path, key), ancestors, true);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    ancestors.delete(object);
  }
}

/** `value` as JSON (`undefined` as `null`), or the {@link NotJsonError} naming `what` and where it stops being JSON. */
export function jsonOf(value: unknown, what: string): Json {
  const problem = notJson(value);
  if (problem)
    throw new NotJsonError(
      `${what} is not JSON: ${problem} (return strings, numbers, booleans, null, arrays and plain objects)`,
    );
  return JSON.parse(JSON.stringify(value ?? null)) as Json;
}
