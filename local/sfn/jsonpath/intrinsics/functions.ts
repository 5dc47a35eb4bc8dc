/**
 * Implementations of the Step Functions intrinsic functions (`States.*`).
 * Each receives already-evaluated arguments; failures raise `States.IntrinsicFailure`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { StatesError } from '../../errors.js';
import { deepEqual, isPlainObject, toJavaString, toJsonText } from '../json-util.js';
import { javaRandomInt } from './java-random.js';

/** A function body: evaluated arguments plus, for string literals, their raw (escaped) text. */
export type IntrinsicImpl = (args: unknown[], rawStrings: (string | undefined)[]) => unknown;

function fail(name: string, message: string): never {
  throw new StatesError('States.IntrinsicFailure', `${name}: ${message}`);
}

function arity(name: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    fail(name, `expected ${expected} argument(s) but received ${args.length}`);
  }
}

function arrayArg(name: string, value: unknown, position: number): unknown[] {
  if (!Array.isArray(value))
    fail(name, `argument ${position} must be an array, but was ${toJsonText(value)}`);
  return value;
}

function stringArg(name: string, value: unknown, position: number): string {
  if (typeof value !== 'string')
    fail(name, `argument ${position} must be a string, but was ${toJsonText(value)}`);
  return value;
}

function numberArg(name: string, value: unknown, position: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(name, `argument ${position} must be a number, but was ${toJsonText(value)}`);
  return value;
}

/** Integer argument; AWS rounds fractional numbers half up (Java `Math.round`). */
function intArg(name: string, value: unknown, position: number): number {
  const n = Math.round(numberArg(name, value, position));
  if (n > 2147483647 || n < -2147483648)
    fail(name, `argument ${position} is outside the 32-bit integer range`);
  return n;
}

const MAX_STRING = 10000;
const HASHES: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : toJavaString(value);
}

function format(args: unknown[], raw: (string | undefined)[]): string {
  if (args.length < 1) fail('States.Format', 'expected at least 1 argument');
  const template = raw[0] ?? stringArg('States.Format', args[0], 1);
  let out = '';
  let next = 1;
  for (let i = 0; i < template.length; i++) {
    const c = template.charAt(i);
    if (c === '\\' && raw[0] !== undefined && i + 1 < template.length) {
      out += template.charAt(++i);
    } else if (c === '{' && template.charAt(i + 1) === '}') {
      if (next >= args.length)
        fail('States.Format', 'the number of arguments does not match the number of placeholders');
      out += formatValue(args[next++]);
      i++;
    } else out += c;
  }
  if (next !== args.length)
    fail('States.Format', 'the number of arguments does not match the number of placeholders');
  return out;
}

/** All intrinsic functions by their `States.*` name. */
export const INTRINSICS: Record<string, IntrinsicImpl> = {
  'States.Format': format,

  'States.StringToJson': (args) => {
    arity('States.StringToJson', args, 1);
    const text = stringArg('States.StringToJson', args[0], 1).trim();
    if (text === '') return null;
    try {
      // AWS parses "-0" as 0.
      return JSON.parse(text, (_k, v) => (Object.is(v, -0) ? 0 : v));
    } catch {
      return fail('States.StringToJson', `the string '${text}' is not valid JSON`);
    }
  },

  'States.JsonToString': (args) => {
    arity('States.JsonToString', args, 1);
    return toJsonText(args[0]);
  },

  'States.Array': (args) => [...args],

  'States.ArrayPartition': (args) => {
    arity('States.ArrayPartition', args, 2);
    const array = arrayArg('States.ArrayPartition', args[0], 1);
    const size = intArg('States.ArrayPartition', args[1], 2);
    if (size <= 0)
      fail('States.ArrayPartition', `the chunk size must be a positive integer, but was ${size}`);
    const out: unknown[][] = [];
    for (let i = 0; i < array.length; i += size) out.push(array.slice(i, i + size));
    return out;
  },

  'States.ArrayContains': (args) => {
    arity('States.ArrayContains', args, 2);
    return arrayArg('States.ArrayContains', args[0], 1).some((v) => deepEqual(v, args[1]));
  },

  'States.ArrayRange': (args) => {
    arity('States.ArrayRange', args, 3);
    const [start, end, step] = args.map((a, i) => intArg('States.ArrayRange', a, i + 1)) as [
      number,
      number,
      number,
    ];
    if (step === 0) fail('States.ArrayRange', 'the step must not be 0');
    const out: number[] = [];
    for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
      out.push(v);
      if (out.length > 1000) fail('States.ArrayRange', 'the resulting array would hold more than 1000 items');
    }
    return out;
  },

  'States.ArrayGetItem': (args) => {
    arity('States.ArrayGetItem', args, 2);
    const array = arrayArg('States.ArrayGetItem', args[0], 1);
    const index = intArg('States.ArrayGetItem', args[1], 2);
    if (index < 0 || index >= array.length)
      fail(
        'States.ArrayGetItem',
        `the index ${index} is out of bounds for an array of length ${array.length}`,
      );
    return array[index];
  },

  'States.ArrayLength': (args) => {
    arity('States.ArrayLength', args, 1);
    return arrayArg('States.ArrayLength', args[0], 1).length;
  },

  'States.ArrayUnique': (args) => {
    arity('States.ArrayUnique', args, 1);
    const out: unknown[] = [];
    for (const v of arrayArg('States.ArrayUnique', args[0], 1))
      if (!out.some((u) => deepEqual(u, v))) out.push(v);
    return out;
  },

  'States.Base64Encode': (args) => {
    arity('States.Base64Encode', args, 1);
    const text = stringArg('States.Base64Encode', args[0], 1);
    if (text.length > MAX_STRING) fail('States.Base64Encode', `the input exceeds ${MAX_STRING} characters`);
    return Buffer.from(text, 'utf8').toString('base64');
  },

  'States.Base64Decode': (args) => {
    arity('States.Base64Decode', args, 1);
    const text = stringArg('States.Base64Decode', args[0], 1);
    if (text.length > MAX_STRING) fail('States.Base64Decode', `the input exceeds ${MAX_STRING} characters`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s/g, '')))
      fail('States.Base64Decode', `the input '${text}' is not valid Base64`);
    return Buffer.from(text, 'base64').toString('utf8');
  },

  'States.Hash': (args) => {
    arity('States.Hash', args, 2);
    const data = typeof args[0] === 'string' ? args[0] : toJsonText(args[0]);
    if (data.length > MAX_STRING) fail('States.Hash', `the input exceeds ${MAX_STRING} characters`);
    const algorithm = stringArg('States.Hash', args[1], 2);
    const nodeAlg = HASHES[algorithm];
    if (!nodeAlg)
      fail(
        'States.Hash',
        `the hash algorithm '${algorithm}' is not supported; use one of ${Object.keys(HASHES).join(', ')}`,
      );
    return createHash(nodeAlg).update(data, 'utf8').digest('hex');
  },

  'States.JsonMerge': (args) => {
    arity('States.JsonMerge', args, 3);
    const [a, b, deep] = args;
    if (!isPlainObject(a))
      fail('States.JsonMerge', `argument 1 must be a JSON object, but was ${toJsonText(a)}`);
    if (!isPlainObject(b))
      fail('States.JsonMerge', `argument 2 must be a JSON object, but was ${toJsonText(b)}`);
    // AWS supports only the shallow mode: the third argument must be false.
    if (deep !== false)
      fail('States.JsonMerge', 'argument 3 (isDeepMerge) must be false; only shallow merging is supported');
    return { ...a, ...b };
  },

  'States.MathRandom': (args) => {
    arity('States.MathRandom', args, 2, 3);
    const start = intArg('States.MathRandom', args[0], 1);
    const end = intArg('States.MathRandom', args[1], 2);
    if (end <= start) fail('States.MathRandom', 'the end value must be greater than the start value');
    if (args.length === 3) return start + javaRandomInt(intArg('States.MathRandom', args[2], 3), end - start);
    return start + Math.floor(Math.random() * (end - start));
  },

  'States.MathAdd': (args) => {
    arity('States.MathAdd', args, 2);
    return intArg('States.MathAdd', args[0], 1) + intArg('States.MathAdd', args[1], 2);
  },

  'States.StringSplit': (args) => {
    arity('States.StringSplit', args, 2);
    const text = stringArg('States.StringSplit', args[0], 1);
    const delimiters = stringArg('States.StringSplit', args[1], 2);
    if (delimiters === '') return text === '' ? [] : [text];
    const out: string[] = [];
    let current = '';
    for (const c of text) {
      if (delimiters.includes(c)) {
        if (current !== '') out.push(current);
        current = '';
      } else current += c;
    }
    if (current !== '') out.push(current);
    return out;
  },

  'States.UUID': (args) => {
    arity('States.UUID', args, 0);
    return randomUUID();
  },
};
