import { createHash, randomUUID } from 'node:crypto';
import jsonata from 'jsonata';
import { EvaluationError, StatesError } from './errors.js';
import { compileFast, FALLBACK, type FastExpression } from './jsonata-fast.js';
import { isObject } from './types.js';

/** What a JSONata expression sees: `$states` plus the variables in scope. */
export interface JsonataEnv {
  states: Record<string, unknown>;
  variables: Record<string, unknown>;
  /** Random source for `$random()` / `$uuid()` (recorded so replays agree). */
  random(): number;
  uuid(): string;
  /** Evaluation time for `$now()` / `$millis()`. */
  now: number;
}

const cache = new Map<string, jsonata.Expression>();
/** Each expression's synchronous evaluator (`jsonata-fast.ts`), or null when it uses more than that handles. */
const fastCache = new Map<string, FastExpression | null>();

function fastOf(text: string, expr: jsonata.Expression): FastExpression | null {
  let fast = fastCache.get(text);
  if (fast === undefined) {
    fast = compileFast(expr.ast()) ?? null;
    fastCache.set(text, fast);
  }
  return fast;
}
const fromMillis = jsonata('$fromMillis($ms, $p, $t)');

/** True for a string of the form `{% expr %}`. */
export function isJsonataString(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('{%') && value.endsWith('%}') && value.length >= 4;
}

/** The expression text inside `{% ... %}`. */
export function expressionText(value: string): string {
  return value.slice(2, -2).trim();
}

/** Compiles an expression once per text; throws a QueryEvaluationError naming the field on a syntax error. */
export function compile(text: string, field = 'expression'): jsonata.Expression {
  const hit = cache.get(text);
  if (hit) return hit;
  let expr: jsonata.Expression;
  try {
    expr = jsonata(text);
  } catch (err) {
    throw new EvaluationError(
      'States.QueryEvaluationError',
      `The JSONata expression '${text}' specified for the field '${field}' could not be parsed. ${errorText(err)}`,
      field,
    );
  }
  cache.set(text, expr);
  return expr;
}

function errorText(err: unknown): string {
  if (isObject(err)) {
    const code = typeof err.code === 'string' ? `${err.code}: ` : '';
    return `${code}${typeof err.message === 'string' ? err.message : String(err)}`;
  }
  return String(err);
}

const hashAlgorithms: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

function sfnFunctions(env: JsonataEnv): Record<string, unknown> {
  return {
    partition(array: unknown, size: unknown): unknown[] {
      if (!Array.isArray(array)) throw new Error('$partition: first argument must be an array');
      if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0)
        throw new Error('$partition: size must be a positive integer');
      const out: unknown[][] = [];
      for (let i = 0; i < array.length; i += size) out.push(array.slice(i, i + size));
      return out;
    },
    range(start: unknown, end: unknown, step: unknown): unknown {
      if (typeof start !== 'number' || typeof end !== 'number' || typeof step !== 'number' || step === 0) {
        throw new Error('$range: arguments must be numbers and step must not be 0');
      }
      const out: number[] = [];
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) out.push(v);
      return out.length === 1 ? out[0] : out;
    },
    hash(value: unknown, algorithm: unknown): string {
      if (typeof value !== 'string') throw new Error('$hash: value must be a string');
      const algo = typeof algorithm === 'string' ? hashAlgorithms[algorithm] : undefined;
      if (!algo) throw new Error(`$hash: unsupported algorithm ${String(algorithm)}`);
      return createHash(algo).update(value).digest('hex');
    },
    random(seed?: unknown): number {
      if (seed === undefined) return env.random();
      return seededRandom(typeof seed === 'number' ? seed : hashSeed(JSON.stringify(seed)));
    },
    uuid: () => env.uuid(),
    // $now/$millis read the state's recorded time, so a replay evaluates them identically.
    now: (picture?: unknown, timezone?: unknown): Promise<unknown> | string =>
      picture === undefined
        ? new Date(env.now).toISOString()
        : fromMillis.evaluate({}, { ms: env.now, p: picture, t: timezone }),
    millis: () => env.now,
    parse(text: unknown): unknown {
      if (typeof text !== 'string') throw new Error('$parse: argument must be a string');
      return JSON.parse(text);
    },
  };
}

function hashSeed(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

function seededRandom(seed: number): number {
  let t = (Math.floor(seed) + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Converts a JSONata result to plain JSON; `undefined` stays `undefined`, functions are refused. */
function toJson(value: unknown, text: string, field: string): unknown {
  if (value === undefined) return undefined;
  if (
    typeof value === 'function' ||
    (isObject(value) && (value._jsonata_lambda || value._jsonata_function))
  ) {
    throw new EvaluationError(
      'States.QueryEvaluationError',
      `The JSONata expression '${text}' specified for the field '${field}' returned an unsupported result type.`,
      field,
    );
  }
  return JSON.parse(JSON.stringify(value));
}

/**
 * Evaluates one `{% expr %}` string. An undefined result is an error unless
 * `allowUndefined` (AWS: "returned nothing (undefined)").
 */
export async function evaluateExpression(
  source: string,
  env: JsonataEnv,
  field: string,
  allowUndefined = false,
): Promise<unknown> {
  const text = expressionText(source);
  const expr = compile(text, field);
  const fast = fastOf(text, expr);
  let result: unknown = fast
    ? fast({
        states: env.states,
        // Read only by an expression that names a variable (the environment builds them then).
        get variables() {
          return env.variables;
        },
        input: env.states.input,
      })
    : FALLBACK;
  try {
    if (result === FALLBACK) {
      const bindings: Record<string, unknown> = {
        ...env.variables,
        states: env.states,
        ...sfnFunctions(env),
      };
      result = await expr.evaluate(env.states.input, bindings);
    }
  } catch (err) {
    if (err instanceof StatesError) throw err;
    throw new EvaluationError(
      'States.QueryEvaluationError',
      `The JSONata expression '${text}' specified for the field '${field}' threw an error during evaluation. ${errorText(err)}`,
      field,
    );
  }
  const json = toJson(result, text, field);
  if (json === undefined && !allowUndefined) {
    throw new EvaluationError(
      'States.QueryEvaluationError',
      `The JSONata expression '${text}' specified for the field '${field}' returned nothing (undefined).`,
      field,
    );
  }
  return json;
}

/**
 * Evaluates a JSON template whose strings may be `{% expr %}` (Arguments,
 * Output, Assign values, ItemSelector...). `field` names the location for
 * error messages, e.g. `Output` or `Arguments/FunctionName`.
 */
export async function evaluateTemplate(template: unknown, env: JsonataEnv, field: string): Promise<unknown> {
  if (isJsonataString(template)) return evaluateExpression(template, env, field);
  if (Array.isArray(template)) {
    const out: unknown[] = [];
    for (let i = 0; i < template.length; i++)
      out.push(await evaluateTemplate(template[i], env, `${field}[${i}]`));
    return out;
  }
  if (isObject(template)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) out[k] = await evaluateTemplate(v, env, `${field}/${k}`);
    return out;
  }
  return template;
}

/** Default random sources when nothing is recorded. */
export const defaultRandom = { random: Math.random, uuid: randomUUID };
