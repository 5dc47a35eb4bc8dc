import { convertToAttr, convertToNative, type NativeAttributeValue } from '@aws-sdk/util-dynamodb';

/**
 * `@aws-sdk/util-dynamodb`'s `marshall` (with `removeUndefinedValues`) and
 * `unmarshall`, with the values nearly every request holds (strings, safe
 * numbers, booleans, null, plain objects and arrays) converted here and
 * everything else (sets, maps, bytes, bigints, `NumberValue`s, numbers past
 * the safe range, class instances) handed to the SDK's own converters, so
 * every answer and every error is the SDK's (`dynamo-marshal.test.ts`
 * compares both on generated values).
 *
 * Why: the SDK's converters test each value's constructor name against a
 * dozen types, build three strings per number to refuse NaN and the
 * infinities, and copy every attribute value through `Object.entries`; for
 * the handlers' items that was about as much CPU as the request's JSON.
 */

const OPTIONS = { removeUndefinedValues: true } as const;
type AttributeValue = Record<string, unknown>;

/** An object the SDK marshals as a map of its enumerable properties (its `Object` test, verbatim). */
const isPlainObject = (data: object): boolean =>
  (data as { constructor?: { name?: string } }).constructor?.name === 'Object' ||
  !(data as { constructor?: unknown }).constructor;

function toAttribute(data: unknown): AttributeValue {
  switch (typeof data) {
    case 'string':
      return { S: data };
    case 'number':
      // NaN, the infinities and numbers past the safe range: the SDK's refusal, word for word.
      return Number.isFinite(data) && Math.abs(data) <= Number.MAX_SAFE_INTEGER
        ? { N: data.toString() }
        : (convertToAttr(data, OPTIONS) as unknown as AttributeValue);
    case 'boolean':
      return { BOOL: data };
    case 'object': {
      if (data === null) return { NULL: true };
      if (Array.isArray(data)) {
        const list: AttributeValue[] = [];
        // By index, skipping holes, as the SDK's filter reads an array (not through its iterator).
        for (let i = 0; i < data.length; i++) {
          if (!(i in data)) continue;
          const item: unknown = data[i];
          if (typeof item !== 'function' && item !== undefined) list.push(toAttribute(item));
        }
        return { L: list };
      }
      if (isPlainObject(data)) return { M: mapOf(data as Record<string, unknown>) };
      return convertToAttr(data as NativeAttributeValue, OPTIONS) as unknown as AttributeValue;
    }
    default:
      return convertToAttr(data as NativeAttributeValue, OPTIONS) as unknown as AttributeValue;
  }
}

function mapOf(data: Record<string, unknown>): Record<string, AttributeValue> {
  const map: Record<string, AttributeValue> = {};
  // `for…in`, as the SDK walks an object: inherited enumerable properties too.
  for (const key in data) {
    const value = data[key];
    if (typeof value !== 'function' && value !== undefined) map[key] = toAttribute(value);
  }
  return map;
}

/**
 * `marshall(data, { removeUndefinedValues: true })`: an object's attribute
 * map, an array's list, any other value's attribute value.
 */
export function marshallValue(data: unknown): unknown {
  const attribute = toAttribute(data);
  // The SDK looks at the attribute value's first field (it has one).
  for (const key in attribute) return key === 'M' || key === 'L' ? attribute[key] : attribute;
  return attribute;
}

function toNative(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return convertToNative(value as never);
  const av = value as AttributeValue;
  // The SDK reads the first own field whose value is defined.
  for (const key in av) {
    const inner = av[key];
    if (inner === undefined || !Object.hasOwn(av, key)) continue;
    switch (key) {
      case 'S':
        return inner;
      case 'N': {
        const n = Number(inner);
        return n <= Number.MAX_SAFE_INTEGER && n >= Number.MIN_SAFE_INTEGER
          ? n
          : convertToNative(av as never);
      }
      case 'BOOL':
        return Boolean(inner);
      // An answer handed over as a value (not parsed from text with base64 revived) carries bytes as base64.
      case 'B':
        return typeof inner === 'string' ? fromBase64(inner) : convertToNative(av as never);
      case 'BS':
        return Array.isArray(inner) && inner.some((b) => typeof b === 'string')
          ? convertToNative({
              BS: inner.map((b: unknown) => (typeof b === 'string' ? fromBase64(b) : b)),
            } as never)
          : convertToNative(av as never);
      case 'NULL':
        return null;
      case 'L':
        return Array.isArray(inner) ? inner.map(toNative) : convertToNative(av as never);
      case 'M':
        return inner !== null && typeof inner === 'object'
          ? nativeMap(inner as Record<string, unknown>)
          : convertToNative(av as never);
      default:
        return convertToNative(av as never);
    }
  }
  return convertToNative(av as never);
}

const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

function nativeMap(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(map)) out[key] = toNative(map[key]);
  return out;
}

/** `unmarshall(item)`: an attribute map as plain values. */
export function unmarshallItem(item: Record<string, unknown>): Record<string, unknown> {
  return nativeMap(item);
}
