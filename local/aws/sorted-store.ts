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

/** A position among the sorted keys: a run's index and an index in it (`[runs, 0]`: past the last key). */
type Cursor = [run: number, index: number];

/** Keys per run of {@link SortedKeys} past which a run is split in two. */
const MAX_RUN = 512;

/**
 * Keys in order, kept as consecutive sorted runs of at most `maxRun` keys
 * (a run split in two past it, dropped when emptied): a new key moves at
 * most a run's keys to make room, not all the keys after it, so writing to
 * a store of n keys costs O(√n)-ish instead of O(n) (a store of 100,000
 * items no longer moves 50,000 references per insert).
 */
export class SortedKeys {
  private runs: string[][] = [];

  constructor(
    /** How keys compare; may be replaced by an order that agrees on every key held so far. */
    public compare: (a: string, b: string) => number,
    private readonly maxRun = MAX_RUN,
  ) {}

  /** Keys already in order. */
  static of(
    sorted: readonly string[],
    compare: (a: string, b: string) => number,
    maxRun = MAX_RUN,
  ): SortedKeys {
    const keys = new SortedKeys(compare, maxRun);
    const size = Math.max(1, maxRun >> 1);
    for (let i = 0; i < sorted.length; i += size) keys.runs.push(sorted.slice(i, i + size));
    return keys;
  }

  get length(): number {
    let n = 0;
    for (const run of this.runs) n += run.length;
    return n;
  }

  /** Every key, in order. */
  toArray(): string[] {
    return this.runs.flat();
  }

  /** Where the first key not below `key` is (past the end when every key is below it). */
  lowerBound(key: string): Cursor {
    const runs = this.runs;
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const run = runs[mid] as string[];
      if (this.compare(run[run.length - 1] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === runs.length) return [lo, 0];
    const run = runs[lo] as string[];
    let a = 0;
    let b = run.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.compare(run[mid] as string, key) < 0) a = mid + 1;
      else b = mid;
    }
    return [lo, a];
  }

  /** The position past the last key. */
  end(): Cursor {
    return [this.runs.length, 0];
  }

  /** The key at `at`, if any. */
  at(at: Cursor): string | undefined {
    return this.runs[at[0]]?.[at[1]];
  }

  /** The position after `at`. */
  next(at: Cursor): Cursor {
    const run = this.runs[at[0]];
    return run && at[1] + 1 < run.length ? [at[0], at[1] + 1] : [at[0] + 1, 0];
  }

  /** The position before `at` (`[-1, 0]` before the first key). */
  previous(at: Cursor): Cursor {
    if (at[1] > 0) return [at[0], at[1] - 1];
    const run = this.runs[at[0] - 1];
    return run ? [at[0] - 1, run.length - 1] : [-1, 0];
  }

  /** Inserts a key not held yet. */
  insert(key: string): void {
    const runs = this.runs;
    if (runs.length === 0) {
      runs.push([key]);
      return;
    }
    let [r, i] = this.lowerBound(key);
    if (r === runs.length) {
      r -= 1;
      i = (runs[r] as string[]).length;
    }
    const run = runs[r] as string[];
    run.splice(i, 0, key);
    if (run.length > this.maxRun) runs.splice(r + 1, 0, run.splice(run.length >> 1));
  }

  /** Removes a key held. */
  delete(key: string): void {
    const [r, i] = this.lowerBound(key);
    const run = this.runs[r];
    if (run?.[i] !== key) return;
    run.splice(i, 1);
    if (run.length === 0) this.runs.splice(r, 1);
  }
}

/** Whether cursor `a` comes before cursor `b`. */
const before = (a: Cursor, b: Cursor): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * Every key and its JSON text; the keys sorted on the first range read and
 * kept sorted after it ({@link SortedKeys}). While no key has a code unit at
 * or above U+D800 (dynalite's keys are hex and ASCII), they are compared by
 * the engine's own string order, which is then code point order; from the
 * first such key on, by {@link compareKeys}.
 */
export class SortedStore {
  private readonly texts = new Map<string, string>();
  private sorted: SortedKeys | undefined;
  private compare: (a: string, b: string) => number = compareUnits;

  /** `maxRun`: keys per run of the sorted keys (small in tests, to split and drop runs often). */
  constructor(private readonly maxRun = MAX_RUN) {}

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
      if (this.compare === compareUnits && HIGH_UNIT.test(key)) {
        // Both orders agree on every key held so far (none has such a unit).
        this.compare = compareKeys;
        if (this.sorted) this.sorted.compare = compareKeys;
      }
      this.sorted?.insert(key);
    }
    this.texts.set(key, text);
  }

  del(key: string): void {
    if (!this.texts.delete(key) || !this.sorted) return;
    this.sorted.delete(key);
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
    this.sorted ??= SortedKeys.of([...this.texts.keys()].sort(this.compare), this.compare, this.maxRun);
    const keys = this.sorted;
    let from: Cursor = [0, 0];
    if (options.gte !== undefined) from = keys.lowerBound(options.gte);
    else if (options.gt !== undefined) {
      from = keys.lowerBound(options.gt);
      if (keys.at(from) === options.gt) from = keys.next(from);
    }
    // Given both, `lte` wins over `lt` and `gte` over `gt`, as in abstract-level's range options.
    let to: Cursor = keys.end();
    if (options.lte !== undefined) {
      to = keys.lowerBound(options.lte);
      if (keys.at(to) === options.lte) to = keys.next(to);
    } else if (options.lt !== undefined) to = keys.lowerBound(options.lt);
    const out: Array<[string, string]> = [];
    const limit = options.limit === undefined || options.limit < 0 ? Number.POSITIVE_INFINITY : options.limit;
    if (options.reverse) {
      for (let at = keys.previous(to); !before(at, from) && out.length < limit; at = keys.previous(at)) {
        const k = keys.at(at);
        if (k === undefined) break;
        out.push([k, this.texts.get(k) as string]);
      }
    } else {
      for (let at = from; before(at, to) && out.length < limit; at = keys.next(at)) {
        const k = keys.at(at);
        if (k === undefined) break;
        out.push([k, this.texts.get(k) as string]);
      }
    }
    return out;
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
