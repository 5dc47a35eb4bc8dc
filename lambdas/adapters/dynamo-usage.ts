import { countDynamoRequest, type DynamoUnits, metering } from '../core/usage.js';
import type { DocumentClientHooks } from './dynamo-http.js';

/**
 * The DynamoDB half of the usage meter (`lambdas/core/usage.ts`): hooks on
 * the handlers' DynamoDB client (`dynamo-http.ts`) that count every request
 * in request units, once per command whatever its retries.
 *
 * It asks DynamoDB for `ReturnConsumedCapacity: TOTAL` and counts what the
 * answer reports, which is what the bill counts (the local runtime's
 * DynamoDB reports it too, transactions included). When an answer reports
 * nothing (a local TransactGetItems) it counts by kind and size, as
 * DynamoDB's pricing page defines a unit: a read of up to 4 KB (half for an
 * eventually consistent read, double in a transaction), a write of up to 1 KB
 * (double in a transaction), rounded up per item. A request that fails is
 * counted at the minimum of its kind (a failed conditional write still costs
 * its write unit).
 */
export const dynamoUsageHooks: DocumentClientHooks = {
  prepare(op, input) {
    const fields = input as Record<string, unknown>;
    // A copy: the caller's input object is never changed.
    return metering() && UNITS_REPORTED.has(op) && fields.ReturnConsumedCapacity === undefined
      ? { ...fields, ReturnConsumedCapacity: 'TOTAL' }
      : input;
  },
  settled(op, input, output) {
    if (!metering()) return;
    countDynamoRequest(
      output
        ? (reportedUnits(op, output.ConsumedCapacity) ?? estimatedUnits(op, input, output))
        : minimumUnits(op, input),
    );
  },
};

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const UNITS_REPORTED = new Set([...READS, ...WRITES]);

/** The units an answer reports, or undefined when it reports none. */
export function reportedUnits(op: string, consumed: unknown): DynamoUnits | undefined {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  if (list.length === 0) return undefined;
  let readUnits = 0;
  let writeUnits = 0;
  for (const c of list) {
    if (!c || typeof c !== 'object') continue;
    const { CapacityUnits, ReadCapacityUnits, WriteCapacityUnits } = c as Record<string, unknown>;
    if (typeof ReadCapacityUnits === 'number' || typeof WriteCapacityUnits === 'number') {
      readUnits += typeof ReadCapacityUnits === 'number' ? ReadCapacityUnits : 0;
      writeUnits += typeof WriteCapacityUnits === 'number' ? WriteCapacityUnits : 0;
    } else if (typeof CapacityUnits === 'number') {
      if (READS.has(op)) readUnits += CapacityUnits;
      else writeUnits += CapacityUnits;
    }
  }
  return { readUnits, writeUnits };
}

const KB = 1024;
const readUnitsOf = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);
const writeUnitsOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / KB));

/**
 * Units by kind and size, for an answer that reports none. Writes are sized
 * by the item written (an update by the attributes it sets: the item's size
 * before it is unknown here, so an update of a large item counts low).
 */
export function estimatedUnits(
  op: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
): DynamoUnits {
  const consistent = input.ConsistentRead === true;
  switch (op) {
    case 'GetItem':
      return { readUnits: readUnitsOf(itemBytes(output.Item), consistent), writeUnits: 0 };
    case 'Query':
    case 'Scan': {
      const items = Array.isArray(output.Items) ? output.Items : [];
      const bytes = items.reduce((n: number, i) => n + itemBytes(i), 0);
      return { readUnits: readUnitsOf(bytes, consistent), writeUnits: 0 };
    }
    case 'BatchGetItem': {
      const responses = (output.Responses ?? {}) as Record<string, unknown[]>;
      let readUnits = 0;
      for (const items of Object.values(responses))
        for (const i of items ?? []) readUnits += readUnitsOf(itemBytes(i), consistent);
      return { readUnits, writeUnits: 0 };
    }
    case 'TransactGetItems': {
      const items = Array.isArray(output.Responses) ? output.Responses : [];
      const readUnits = items.reduce(
        (n: number, r) => n + 2 * readUnitsOf(itemBytes((r as { Item?: unknown }).Item), true),
        0,
      );
      return { readUnits, writeUnits: 0 };
    }
    case 'PutItem':
      return { readUnits: 0, writeUnits: writeUnitsOf(itemBytes(input.Item)) };
    case 'UpdateItem':
      return { readUnits: 0, writeUnits: writeUnitsOf(updateBytes(input)) };
    case 'DeleteItem':
      return { readUnits: 0, writeUnits: 1 };
    case 'BatchWriteItem': {
      const requests = (input.RequestItems ?? {}) as Record<string, Array<Record<string, unknown>>>;
      let writeUnits = 0;
      for (const list of Object.values(requests))
        for (const r of list ?? [])
          writeUnits += writeUnitsOf(itemBytes((r.PutRequest as { Item?: unknown } | undefined)?.Item));
      return { readUnits: 0, writeUnits };
    }
    case 'TransactWriteItems':
      return { readUnits: 0, writeUnits: transactWriteUnits(input) };
    default:
      return { readUnits: 0, writeUnits: 0 };
  }
}

/** The units a TransactWriteItems request will consume: twice each item's write units. */
export function transactWriteUnits(input: Record<string, unknown>): number {
  const items = Array.isArray(input.TransactItems) ? input.TransactItems : [];
  let units = 0;
  for (const t of items as Array<Record<string, Record<string, unknown>>>) {
    if (t.Put) units += 2 * writeUnitsOf(itemBytes(t.Put.Item));
    else if (t.Update) units += 2 * writeUnitsOf(updateBytes(t.Update));
    else units += 2;
  }
  return units;
}

function minimumUnits(op: string, input: Record<string, unknown>): DynamoUnits {
  if (READS.has(op)) return { readUnits: op === 'TransactGetItems' ? 2 : 1, writeUnits: 0 };
  if (op === 'TransactWriteItems') {
    const n = Array.isArray(input.TransactItems) ? input.TransactItems.length : 1;
    return { readUnits: 0, writeUnits: 2 * n };
  }
  return WRITES.has(op) ? { readUnits: 0, writeUnits: 1 } : { readUnits: 0, writeUnits: 0 };
}

/** The key and the values an update sets: the least the updated item weighs. */
function updateBytes(update: Record<string, unknown>): number {
  return (
    itemBytes(update.Key) +
    itemBytes(update.ExpressionAttributeValues) +
    Object.values((update.ExpressionAttributeNames ?? {}) as Record<string, unknown>).reduce(
      (n: number, name) => n + (typeof name === 'string' ? Buffer.byteLength(name) : 0),
      0,
    )
  );
}

/**
 * An item's size as DynamoDB counts it: attribute names plus values (strings
 * and binaries by length, numbers about one byte per two digits plus one,
 * 3 bytes per list or map plus 1 per element). Takes the marshalled form
 * (`{ S: … }`) or plain values.
 */
export function itemBytes(item: unknown): number {
  if (!item || typeof item !== 'object') return 0;
  let n = 0;
  for (const [name, value] of Object.entries(item as Record<string, unknown>))
    n += Buffer.byteLength(name) + valueBytes(value);
  return n;
}

function valueBytes(v: unknown): number {
  if (v === null || v === undefined) return 1;
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (typeof v === 'number') return Math.ceil(String(v).replace(/[^0-9]/g, '').length / 2) + 1;
  if (typeof v === 'boolean') return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (Array.isArray(v)) return 3 + v.reduce((n: number, x) => n + 1 + valueBytes(x), 0);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [tag] = keys as [string];
    const inner = o[tag];
    switch (tag) {
      case 'S':
        return Buffer.byteLength(String(inner));
      case 'N':
        return Math.ceil(String(inner).replace(/[^0-9]/g, '').length / 2) + 1;
      case 'B':
        return inner instanceof Uint8Array ? inner.byteLength : String(inner).length;
      case 'BOOL':
      case 'NULL':
        return 1;
      case 'L':
        return 3 + (inner as unknown[]).reduce((n: number, x) => n + 1 + valueBytes(x), 0);
      case 'M':
        return 3 + itemBytes(inner) + Object.keys(inner as object).length;
      case 'SS':
      case 'NS':
      case 'BS':
        return (inner as unknown[]).reduce((n: number, x) => n + valueBytes(x), 0);
    }
  }
  return 3 + itemBytes(o) + keys.length;
}
