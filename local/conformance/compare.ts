import { isObject } from '../sfn/types.js';

/** Keys whose values are never compared (SDK metadata, Lambda request ids and stack traces). */
const IGNORED_KEYS = new Set(['SdkHttpMetadata', 'SdkResponseMetadata', 'requestId', 'stackTrace']);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds a matcher for a string that may embed placeholders (`<uuid:1>`, `date`, `Request ID: <request_id>`...). */
function stringMatches(expected: string, actual: string, placeholders: string[]): boolean {
  if (expected === actual) return true;
  const tokens = placeholders.filter((p) => expected.includes(p)).sort((a, b) => b.length - a.length);
  const generic = expected.match(/<[A-Za-z0-9_:-]+>/g) ?? [];
  const all = [...new Set([...tokens, ...generic])].sort((a, b) => b.length - a.length);
  if (all.length === 0) return false;
  let pattern = escapeRegExp(expected);
  for (const t of all) pattern = pattern.split(escapeRegExp(t)).join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(actual);
}

function parseJsonObject(text: string): unknown {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/**
 * Compares an expected JSON value from the corpus with an actual one: numbers
 * by value, key order ignored, placeholders as wildcards, JSON text compared
 * as JSON. Returns the path of the first difference, or undefined when equal.
 */
export function diff(
  expected: unknown,
  actual: unknown,
  placeholders: string[],
  path = '$',
): string | undefined {
  if (typeof expected === 'string') {
    if (placeholders.includes(expected) || expected === 'date' || expected === 'timestamp') return undefined;
    if (typeof actual === 'string') {
      if (stringMatches(expected, actual, placeholders)) return undefined;
      const e = parseJsonObject(expected);
      const a = parseJsonObject(actual);
      if (e !== undefined && a !== undefined) return diff(e, a, placeholders, path);
      return `${path}: expected ${JSON.stringify(expected).slice(0, 160)} got ${JSON.stringify(actual).slice(0, 160)}`;
    }
    if (isObject(actual) || Array.isArray(actual)) {
      const e = parseJsonObject(expected);
      if (e !== undefined) return diff(e, actual, placeholders, path);
    }
    return `${path}: expected ${JSON.stringify(expected).slice(0, 160)} got ${JSON.stringify(actual)?.slice(0, 160)}`;
  }
  if (typeof expected === 'number') {
    return typeof actual === 'number' && actual === expected
      ? undefined
      : `${path}: expected ${expected} got ${JSON.stringify(actual)?.slice(0, 100)}`;
  }
  if (Array.isArray(expected)) {
    if (typeof actual === 'string') {
      const a = parseJsonObject(actual);
      if (a !== undefined) return diff(expected, a, placeholders, path);
    }
    if (!Array.isArray(actual)) return `${path}: expected array got ${JSON.stringify(actual)?.slice(0, 160)}`;
    if (expected.length !== actual.length)
      return `${path}: expected ${expected.length} items got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = diff(expected[i], actual[i], placeholders, `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(expected)) {
    if (typeof actual === 'string') {
      const a = parseJsonObject(actual);
      if (a !== undefined) return diff(expected, a, placeholders, path);
    }
    if (!isObject(actual)) return `${path}: expected object got ${JSON.stringify(actual)?.slice(0, 160)}`;
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const k of keys) {
      if (IGNORED_KEYS.has(k)) continue;
      if (!(k in expected)) return `${path}.${k}: unexpected key`;
      if (!(k in actual)) return `${path}.${k}: missing`;
      const d = diff(expected[k], actual[k], placeholders, `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return expected === actual
    ? undefined
    : `${path}: expected ${JSON.stringify(expected)} got ${JSON.stringify(actual)?.slice(0, 160)}`;
}
