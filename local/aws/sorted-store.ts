/**
 * The memory under dynalite's store: every key's value as its JSON text in a
 * `Map`, with the keys in order for range reads, installed in place of the
 * reads and writes of the `memory-level` database dynalite creates (which
 * stays open, empty, for its status and its close). Dynalite's actions, its
 * sublevel prefixes and its locks are untouched; only the layer under them
 * changes.
 *
 * Why: `memory-level` answered each put and batch through a promise, a
 * lifecycle tracker and a `setImmediate`, encoded and decoded every value
 * through its transcoder and kept keys in a persistent red-black tree; in a
 * profile of the agent loop that layer was about 6% of the CPU. Here a write
 * is a `Map.set` of the value's JSON and a read a `JSON.parse` of it (a fresh
 * copy, as the transcoder gave: dynalite changes the items it reads); a
 * read answers in a microtask, a write in a `setImmediate` (so a caller
 * writing in a loop still lets timers run).
 *
 * Keys compare as `memory-level` compares them with its default `buffer`
 * store: by their UTF-8 bytes, which is code point order (not JavaScript's
 * UTF-16 order, which differs for characters above U+FFFF). A range read
 * copies the range's texts when it is created, so it sees the store as it
 * was then, as a LevelDB iterator's snapshot does.
 */
import { Readable } from 'node:stream';
import type { StoreWrite } from './dynalite-engine.js';

type Callback<T = void> = (err: Error | null, value?: T) => void;

/** A range read as dynalite asks for one (its `createValueStream` options). */
export interface RangeOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  /** `-1` or absent: no limit. */
  limit?: number;
}

/** The surrogates (D800–DFFF) above E000–FFFF, so that code units compare as code points do. */
const codePointOrder = (unit: number): number =>
  unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit;

/** Compares two keys by code point (the order of their UTF-8 bytes). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

/** A code unit at or above U+D800: where UTF-16 order and code point order can disagree. */
const HIGH_UNIT = /[\uD800-\uFFFF]/;

/** UTF-16 order: code point order too for keys without a {@link HIGH_UNIT}. */
const compareUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every key and its JSON text; the keys sorted on the first range read and
 * kept sorted after it. While no key has a code unit at or above U+D800
 * (dynalite's keys are hex and ASCII), they are compared by the engine's own
 * string order, which is then code point order; from the first such key on,
 * by {@link compareKeys}.
 */
export class SortedStore {
  private readonly texts = new Map<string, string>();
  private sorted: string[] | undefined;
  private compare: (a: string, b: string) => number = compareUnits;

  get size(): number {
    return this.texts.size;
  }

  /** A fresh copy of the value at `key`, or undefined. */
  get(key: string): unknown {
    const text = this.texts.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  put(key: string, value: unknown): void {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`sorted store: the value at ${key} is not JSON`);
    this.set(key, text);
  }

  private set(key: string, text: string): void {
    if (!this.texts.has(key)) {
      if (this.compare === compareUnits && HIGH_UNIT.test(key)) this.compare = compareKeys;
      if (this.sorted) this.sorted.splice(this.indexOf(key), 0, key);
    }
    this.texts.set(key, text);
  }

  del(key: string): void {
    if (!this.texts.delete(key) || !this.sorted) return;
    this.sorted.splice(this.indexOf(key), 1);
  }

  /** Every write of the batch, or none: values are encoded before the first is applied. */
  batch(ops: readonly StoreWrite[]): void {
    const texts = ops.map((op) => (op.type === 'put' ? (op.text ?? JSON.stringify(op.value)) : undefined));
    ops.forEach((op, i) => {
      if (op.type === 'put' && texts[i] === undefined)
        throw new TypeError(`sorted store: the value at ${op.key} is not JSON`);
    });
    ops.forEach((op, i) => {
      if (op.type === 'del') this.del(op.key);
      else this.set(op.key, texts[i] as string);
    });
  }

  /** The keys (and their texts) in the range, in order, as they are now. */
  range(options: RangeOptions): Array<[string, string]> {
    this.sorted ??= [...this.texts.keys()].sort(this.compare);
    const keys = this.sorted;
    let from = 0;
    if (options.gte !== undefined) from = this.indexOf(options.gte);
    else if (options.gt !== undefined) {
      from = this.indexOf(options.gt);
      if (keys[from] === options.gt) from += 1;
    }
    // Given both, `lte` wins over `lt` and `gte` over `gt`, as in abstract-level's range options.
    let to = keys.length;
    if (options.lte !== undefined) {
      to = this.indexOf(options.lte);
      if (keys[to] === options.lte) to += 1;
    } else if (options.lt !== undefined) to = this.indexOf(options.lt);
    const out: Array<[string, string]> = [];
    const limit = options.limit === undefined || options.limit < 0 ? Number.POSITIVE_INFINITY : options.limit;
    if (options.reverse) {
      for (let i = to - 1; i >= from && out.length < limit; i--) {
        const k = keys[i] as string;
        out.push([k, this.texts.get(k) as string]);
      }
    } else {
      for (let i = from; i < to && out.length < limit; i++) {
        const k = keys[i] as string;
        out.push([k, this.texts.get(k) as string]);
      }
    }
    return out;
  }

  /** The first index in the sorted keys whose key is not below `key`. */
  private indexOf(key: string): number {
    const keys = this.sorted as string[];
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(keys[mid] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The database methods dynalite's store calls (its callback wrappers, as installed on a `memory-level`). */
interface LevelMethods {
  status?: string;
  get(key: string, cb?: Callback<unknown>): unknown;
  getSync(key: string): unknown;
  put(key: string, value: unknown, cb?: Callback): Promise<void> | undefined;
  del(key: string, cb?: Callback): Promise<void> | undefined;
  batch(ops: StoreWrite[], cb?: Callback): Promise<void> | undefined;
  createKeyStream(options?: RangeOptions): Readable;
  createValueStream(options?: RangeOptions): Readable;
}

const closed = () => new Error('Database is closed');

/**
 * Puts a {@link SortedStore} under `db` (dynalite's main database, open and
 * empty): its reads, writes and range streams go to the store from now on.
 * Returns the store.
 */
export function installSortedStore(db: LevelMethods): SortedStore {
  const store = new SortedStore();
  const isOpen = () => db.status === undefined || db.status === 'open';
  /** Runs a write now; answers by callback in a microtask, or by promise. */
  const write = (apply: () => void, cb: Callback | undefined): Promise<void> | undefined => {
    let failure: Error | null = null;
    try {
      if (!isOpen()) throw closed();
      apply();
    } catch (err) {
      failure = err as Error;
    }
    if (typeof cb !== 'function') return failure ? Promise.reject(failure) : Promise.resolve();
    // A macrotask, as memory-level's wrapper answered: a caller writing in a loop still lets timers run.
    setImmediate(() => cb(failure));
    return undefined;
  };
  db.getSync = (key) => {
    if (!isOpen()) throw closed();
    return store.get(key);
  };
  db.get = (key, cb) => {
    let failure: Error | null = null;
    let value: unknown;
    try {
      value = db.getSync(key);
    } catch (err) {
      failure = err as Error;
    }
    if (typeof cb !== 'function') return failure ? Promise.reject(failure) : Promise.resolve(value);
    queueMicrotask(() => (failure ? cb(failure) : cb(null, value)));
    return undefined;
  };
  db.put = (key, value, cb) => write(() => store.put(key, value), cb);
  db.del = (key, cb) => write(() => store.del(key), cb);
  db.batch = (ops, cb) => write(() => store.batch(ops), cb);
  const stream = <T>(options: RangeOptions | undefined, pick: (entry: [string, string]) => T): Readable => {
    if (!isOpen()) {
      const failed = new Readable({ objectMode: true, read() {} });
      queueMicrotask(() => failed.destroy(closed()));
      return failed;
    }
    const entries = store.range(options ?? {});
    let i = 0;
    return new Readable({
      objectMode: true,
      read() {
        // One at a time, as a LevelDB iterator hands them over; parsed as they are read.
        this.push(i < entries.length ? pick(entries[i++] as [string, string]) : null);
      },
    });
  };
  db.createKeyStream = (options) => stream(options, ([key]) => key);
  db.createValueStream = (options) => stream(options, ([, text]) => JSON.parse(text));
  return store;
}
