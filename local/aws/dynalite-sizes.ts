/**
 * Dynalite's item sizes and item keys, computed as it computes them without
 * what made them a large part of every write's CPU here: a `big.js` number
 * per numeric attribute for its size (three sizings per written item: the
 * 400 KB check, the consumed capacity of the new item and of the old), and
 * an MD5 hash of the partition key for every key it builds (every item of a
 * run shares one partition key).
 *
 * {@link installFastSizes} replaces the functions dynalite's actions and
 * validations call through its `db` module (`itemSize`, `capacityUnits`,
 * `addConsumedCapacity`, `hashPrefix`, `createKey`, `toRangeStr`); the calls inside that
 * module (its queries' sizes) keep its own. Every answer is dynalite's
 * (`dynalite-sizes.test.ts` compares both on generated items and numbers); a
 * number that is not plain decimal digits (an exponent, a leading point) is
 * sized with `big.js`, as dynalite sizes it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;
interface KeyTable {
  KeySchema: Array<{ AttributeName: string; KeyType: string }>;
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
}
type HashPrefix = (hashKey: unknown, hashType: string, rangeKey?: unknown, rangeType?: string) => string;

/** The part of dynalite's `db` module this replaces and reads. */
export interface DynaliteSizing {
  itemSize(item: Item, compress?: boolean, addMetaSize?: boolean, rangeKey?: string): number;
  capacityUnits(item: Item | undefined, isRead: boolean, isConsistent?: boolean): number;
  addConsumedCapacity(
    data: Record<string, unknown>,
    isRead: boolean,
    newItem?: Item,
    oldItem?: Item,
  ): Record<string, unknown> | undefined;
  hashPrefix: HashPrefix;
  createKey(item: Item, table: KeyTable, keySchema?: KeyTable['KeySchema']): string;
  traverseKey(
    table: KeyTable,
    keySchema: KeyTable['KeySchema'],
    visit: (attr: string, type: string, isHash: boolean) => unknown,
  ): unknown;
  toRangeStr(keyPiece: unknown, type: string): string;
}

/** `big.js`, the copy dynalite sizes numbers with. */
const Big = require(require.resolve('big.js', { paths: [require.resolve('dynalite')] })) as new (
  n: string,
) => { c: number[]; e: number; s: number };

/** Digits with at most one point inside them: sized without `big.js`. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * The bytes DynamoDB (as dynalite models it) counts for a number: 1, plus a
 * byte per two significant digits, plus one when the digits do not pair up
 * with the decimal exponent, plus one for a minus sign.
 */
export function numberSize(text: string): number {
  if (!PLAIN_NUMBER.test(text)) {
    const n = new Big(text);
    const digits = n.c.length;
    if (digits === 1 && n.c[0] === 0) return 1;
    return 1 + Math.ceil(digits / 2) + (digits % 2 || n.e % 2 ? 0 : 1) + (n.s === -1 ? 1 : 0);
  }
  const negative = text.charCodeAt(0) === 45;
  const point = text.indexOf('.');
  const integerEnd = point < 0 ? text.length : point;
  // The first and last significant (non-zero) digits.
  let first = -1;
  let last = -1;
  for (let i = negative ? 1 : 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 || c === 48) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return 1;
  const digits = last - first + 1 - (point > first && point < last ? 1 : 0);
  // big.js's exponent: where the first significant digit sits from the point.
  const exponent = first < integerEnd ? integerEnd - first - 1 : integerEnd - first;
  return 1 + Math.ceil(digits / 2) + (digits % 2 || exponent % 2 ? 0 : 1) + (negative ? 1 : 0);
}

/** Dynalite's `itemSize`: an item's bytes, or (compressed, with metadata) what a query's 1 MB page counts. */
export function itemSize(item: Item, compress?: boolean, addMetaSize?: boolean, rangeKey?: string): number {
  let rangeKeySize = 0;
  let size = 0;
  for (const attr of Object.keys(item)) {
    const bytes = sizeWithStorage(item[attr] as AttributeValue, compress === true && attr !== rangeKey);
    if (compress && attr === rangeKey) {
      rangeKeySize = bytes;
      continue;
    }
    size += bytes + (compress ? 1 : attr.length);
  }
  return !addMetaSize ? size : 2 + size + (1 + Math.floor((1 + size) / 3072)) * (18 + rangeKeySize);
}

function firstKey(value: AttributeValue): string | undefined {
  for (const key in value) return key;
  return undefined;
}

function sizeWithStorage(value: AttributeValue, compress: boolean): number {
  const type = firstKey(value);
  const inner = value[type as string];
  const size = valueSize(inner, type, compress);
  if (!compress) return size;
  switch (type) {
    case 'S':
      return size + (size < 128 ? 1 : size < 16384 ? 2 : 3);
    case 'B':
    case 'N':
      return size + 1;
    case 'SS':
    case 'BS':
    case 'NS':
      return size + (inner as unknown[]).length + 1;
    case 'NULL':
      return 0;
    case 'BOOL':
      return 1;
    default:
      // L and M; dynalite answers undefined for a type it does not know, which makes the sum NaN.
      return type === 'L' || type === 'M' ? size : Number.NaN;
  }
}

function valueSize(inner: unknown, type: string | undefined, compress: boolean): number {
  switch (type) {
    case 'S':
      return (inner as string).length;
    case 'B':
      return Buffer.from(inner as string, 'base64').length;
    case 'N':
      return numberSize(inner as string);
    case 'SS': {
      let n = 0;
      for (const s of inner as string[]) n += s.length;
      return n;
    }
    case 'BS': {
      let n = 0;
      for (const b of inner as string[]) n += Buffer.from(b, 'base64').length;
      return n;
    }
    case 'NS': {
      let n = 0;
      for (const s of inner as string[]) n += numberSize(s);
      return n;
    }
    case 'NULL':
    case 'BOOL':
      return 1;
    case 'L': {
      let n = 3;
      for (const v of inner as AttributeValue[]) n += 1 + sizeWithStorage(v, compress);
      return n;
    }
    case 'M':
      return 3 + Object.keys(inner as object).length + itemSize(inner as Item, compress);
    default:
      return Number.NaN;
  }
}

/** Dynalite's `capacityUnits`: an item's read or write units. */
export function capacityUnits(item: Item | undefined, isRead: boolean, isConsistent?: boolean): number {
  const size = item ? Math.ceil(itemSize(item) / 1024 / (isRead ? 4 : 1)) : 1;
  return size / (!isRead || isConsistent ? 1 : 2);
}

/** Dynalite's `addConsumedCapacity`: the `ConsumedCapacity` a request asked for, or undefined. */
export function addConsumedCapacity(
  data: Record<string, unknown>,
  isRead: boolean,
  newItem?: Item,
  oldItem?: Item,
): Record<string, unknown> | undefined {
  const asked = data.ReturnConsumedCapacity;
  if (asked !== 'TOTAL' && asked !== 'INDEXES') return undefined;
  const consistent = data.ConsistentRead as boolean | undefined;
  let capacity = capacityUnits(newItem, isRead, consistent);
  if (oldItem != null) capacity = Math.max(capacity, capacityUnits(oldItem, isRead, consistent));
  return {
    CapacityUnits: capacity,
    TableName: data.TableName,
    Table: asked === 'INDEXES' ? { CapacityUnits: capacity } : undefined,
  };
}

/** String key pieces whose hex is remembered: past this many, the memory starts over. */
const MAX_HEXES = 8192;

/** Partition keys whose hash prefix is remembered: past this many, the memory starts over. */
const MAX_PREFIXES = 4096;

/**
 * Replaces dynalite's sizing and key functions on its `db` module with
 * these (see the module's comment); idempotent.
 */
export function installFastSizes(db: DynaliteSizing): void {
  if ((db as { [INSTALLED]?: boolean })[INSTALLED]) return;
  (db as { [INSTALLED]?: boolean })[INSTALLED] = true;
  const md5Prefix = db.hashPrefix;
  const prefixes = new Map<string, string>();
  /** Dynalite's hash prefix (MD5 of the key's bytes), remembered per partition key. */
  const hashPrefix: HashPrefix = (hashKey, hashType, rangeKey, rangeType) => {
    if (rangeKey || typeof hashKey !== 'string') return md5Prefix(hashKey, hashType, rangeKey, rangeType);
    const memo = `${hashType}\u0000${hashKey}`;
    let prefix = prefixes.get(memo);
    if (prefix === undefined) {
      prefix = md5Prefix(hashKey, hashType);
      if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
      prefixes.set(memo, prefix);
    }
    return prefix;
  };
  const rangeStr = db.toRangeStr;
  const hexes = new Map<string, string>();
  // A string's UTF-8 bytes in hex, remembered (a run's keys repeat in every request), spelt from a
  // table while its units are ASCII.
  db.toRangeStr = (keyPiece, type) => {
    if (type !== 'S' || typeof keyPiece !== 'string') return rangeStr(keyPiece, type);
    let hex = hexes.get(keyPiece);
    if (hex === undefined) {
      hex = asciiHex(keyPiece) ?? rangeStr(keyPiece, type);
      if (hexes.size >= MAX_HEXES) hexes.clear();
      hexes.set(keyPiece, hex);
    }
    return hex;
  };
  db.itemSize = itemSize;
  db.capacityUnits = capacityUnits;
  db.addConsumedCapacity = addConsumedCapacity;
  db.hashPrefix = hashPrefix;
  // Dynalite's createKey, with the remembered prefix.
  db.createKey = (item, table, keySchema) => {
    let key: string | undefined;
    db.traverseKey(table, keySchema ?? table.KeySchema, (attr, type, isHash) => {
      const piece = (item[attr] as AttributeValue)[type];
      if (isHash) key = `${hashPrefix(piece, type)}/`;
      key += `${db.toRangeStr(piece, type)}/`;
      return undefined;
    });
    return key as string;
  };
}

const INSTALLED = Symbol.for('chaperone.dynaliteFastSizes');

const HEX = Array.from({ length: 128 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The hex of an ASCII string's bytes (each unit's two digits); undefined past U+007F. */
function asciiHex(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x80) return undefined;
    out += HEX[unit];
  }
  return out;
}
