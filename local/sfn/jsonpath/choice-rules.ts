/** JSONPath Choice rules: `Variable` + comparison operator, and the `And` / `Or` / `Not` combinators. */
import { StatesError } from '../errors.js';
import { isPlainObject, toJsonText } from './json-util.js';
import { tryQueryPath } from './path.js';
import { parsePath } from './path-parser.js';
import { parseTimestamp } from './timestamp.js';

type Roots = { input: unknown; context: unknown; variables: Record<string, unknown> };

const STRING_OPS = [
  'StringEquals',
  'StringLessThan',
  'StringGreaterThan',
  'StringLessThanEquals',
  'StringGreaterThanEquals',
];
const NUMERIC_OPS = [
  'NumericEquals',
  'NumericLessThan',
  'NumericGreaterThan',
  'NumericLessThanEquals',
  'NumericGreaterThanEquals',
];
const TIMESTAMP_OPS = [
  'TimestampEquals',
  'TimestampLessThan',
  'TimestampGreaterThan',
  'TimestampLessThanEquals',
  'TimestampGreaterThanEquals',
];
const TYPE_TESTS: Record<string, (v: unknown) => boolean> = {
  IsNull: (v) => v === null,
  IsNumeric: (v) => typeof v === 'number',
  IsString: (v) => typeof v === 'string',
  IsBoolean: (v) => typeof v === 'boolean',
  IsTimestamp: (v) => parseTimestamp(v) !== undefined,
};

function invalidPath(path: string): never {
  throw new StatesError(
    'States.Runtime',
    `Invalid path '${path}': The choice state's condition path references an invalid value.`,
  );
}

function read(path: unknown, roots: Roots): unknown {
  if (typeof path !== 'string')
    throw new StatesError('States.Runtime', `Invalid path ${toJsonText(path)} in a Choice rule`);
  const outcome = tryQueryPath(path, roots.input, roots.context, roots.variables);
  if (!outcome.found) invalidPath(path);
  return outcome.value;
}

function order(op: string, cmp: number): boolean {
  if (op.endsWith('GreaterThanEquals')) return cmp >= 0;
  if (op.endsWith('LessThanEquals')) return cmp <= 0;
  if (op.endsWith('GreaterThan')) return cmp > 0;
  if (op.endsWith('LessThan')) return cmp < 0;
  return cmp === 0;
}

/** `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal. */
export function stringMatches(value: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) re += escapeRegex(pattern.charAt(++i));
    else if (c === '*') re += '[\\s\\S]*';
    else re += escapeRegex(c);
  }
  return new RegExp(`^${re}$`).test(value);
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function compareOp(op: string, variable: unknown, expected: unknown): boolean {
  if (STRING_OPS.includes(op)) {
    if (typeof variable !== 'string' || typeof expected !== 'string') return false;
    return order(op, variable < expected ? -1 : variable > expected ? 1 : 0);
  }
  if (NUMERIC_OPS.includes(op)) {
    if (typeof variable !== 'number' || typeof expected !== 'number') return false;
    return order(op, variable - expected);
  }
  if (TIMESTAMP_OPS.includes(op)) {
    const a = parseTimestamp(variable);
    const b = parseTimestamp(expected);
    if (a === undefined || b === undefined) return false;
    return order(op, a < b ? -1 : a > b ? 1 : 0);
  }
  if (op === 'BooleanEquals') return typeof variable === 'boolean' && variable === expected;
  if (op === 'StringMatches')
    return typeof variable === 'string' && typeof expected === 'string' && stringMatches(variable, expected);
  throw new StatesError('States.Runtime', `Unsupported Choice rule operator '${op}'`);
}

const COMBINATORS = new Set(['And', 'Or', 'Not']);
const IGNORED = new Set(['Variable', 'Next', 'Comment', 'Assign', 'Output']);

/** Evaluates one Choice rule (top-level or nested) with the given roots. */
export function evaluateRule(rule: Record<string, unknown>, roots: Roots): boolean {
  if (Array.isArray(rule.And)) return rule.And.every((r) => evaluateRule(asRule(r), roots));
  if (Array.isArray(rule.Or)) return rule.Or.some((r) => evaluateRule(asRule(r), roots));
  if (rule.Not !== undefined) return !evaluateRule(asRule(rule.Not), roots);
  const ops = Object.keys(rule).filter((k) => !IGNORED.has(k) && !COMBINATORS.has(k));
  const op = ops[0];
  if (op === undefined || ops.length > 1 || typeof rule.Variable !== 'string')
    throw new StatesError('States.Runtime', `Invalid Choice rule ${toJsonText(rule)}`);
  const path = rule.Variable;
  const expected = rule[op];
  if (op === 'IsPresent') {
    const outcome = tryQueryPath(path, roots.input, roots.context, roots.variables);
    // An indefinite path (wildcard, filter...) that selects nothing is not present either.
    const present =
      outcome.found &&
      !(!parsePath(path.trim()).definite && Array.isArray(outcome.value) && outcome.value.length === 0);
    return present === expected;
  }
  const typeTest = TYPE_TESTS[op];
  if (typeTest) return typeTest(read(path, roots)) === expected;
  const variable = read(path, roots);
  if (op.endsWith('Path')) return compareOp(op.slice(0, -4), variable, read(expected, roots));
  return compareOp(op, variable, expected);
}

function asRule(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value))
    throw new StatesError('States.Runtime', `Invalid Choice rule ${toJsonText(value)}`);
  return value;
}
