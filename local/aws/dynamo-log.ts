/**
 * Where the local DynamoDB keeps its data: dynalite's store in memory
 * (`sorted-store.ts`, in place of the `memory-level` dynalite uses without a path), with
 * every write appended first to one log file, `store.jsonl`, as one line per
 * put, delete or batch. A request is answered after its line is written, so
 * a kill -9 loses nothing that was answered, as with LevelDB's unsynced log
 * before; under `machine` durability (`local/durability.ts`) only after the
 * line is also fdatasynced, in a group commit, so a power cut loses nothing
 * answered either. A torn last line (a kill mid-write) is cut off at the next open.
 * Opening replays the log and, once it has grown to several times the data it
 * holds (or past 64 MiB with more lines than keys), rewrites it as one
 * snapshot (a temporary file, fsynced, renamed). It is only rewritten at open:
 * a long session's log grows until the next start.
 *
 * Why not LevelDB on disk (dynalite's default with a path): every write went
 * through the thread pool and back, and a profile of the agent loop spent more
 * there, and in the fsyncs of the execution journal that its dirty pages
 * slowed, than in the writes themselves. A data directory an earlier version
 * left in LevelDB is read once into the log on first open, and its files are
 * left as they were.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DEFAULT_DURABILITY, type Durability, durabilityOption } from '../durability.js';
import { appendWhole, fsyncPath } from '../fs-append.js';
import type { DynaliteStore, StoreWrite } from './dynalite-engine.js';

const require = createRequire(import.meta.url);

const FILE_MODE = 0o600;
/** Puts per line of a snapshot. */
const SNAPSHOT_BATCH = 256;
/** A log is rewritten at open once it has this many lines per live key, and at least this many lines. */
const COMPACT_RATIO = 4;
const COMPACT_MIN_LINES = 10_000;
/** …or once it is this large and has more lines than live keys. */
const COMPACT_BYTES = 64 * 1024 * 1024;

/** The log cannot be read back: which file, which line, and why. Nothing was changed. */
export class DynamoLogCorruptError extends Error {
  override readonly name = 'DynamoLogCorruptError';
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`the local DynamoDB's log ${file} is damaged at line ${line}: ${reason}; it was left as it is`);
  }
}

/** One logged change: `[key, value]` puts, `[key]` deletes. */
type LoggedOp = [string, unknown] | [string];

type Level = DynaliteStore['db'] & {
  put(key: string, value: unknown, cb?: (err?: Error | null) => void): Promise<void> | undefined;
  del(key: string, cb?: (err?: Error | null) => void): Promise<void> | undefined;
  batch(ops: StoreWrite[], cb?: (err?: Error | null) => void): Promise<void> | undefined;
  iterator(): AsyncIterable<[string, unknown]>;
};

/** What {@link openLoggedStore} found and did, for the caller to tell a person. */
export interface LogOpened {
  warnings: string[];
  /** Stops logging and closes the file (the store itself is closed by its owner). */
  close(): void;
}

/** How the log syncs its file: `fs.fdatasync`, or a test's disk that records what a power cut would keep. */
export interface LogDisk {
  fsync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void;
}

/** Options of {@link openLoggedStore}. */
export interface LogOptions {
  /**
   * `machine` (`local/durability.ts`): a write's callback waits until its line
   * is fdatasynced (a group commit: one sync for every line written while the
   * one before it ran), so no write is answered that a power cut could take
   * back. `process`: it is called once the line is written. @default 'process'
   */
  durability?: Durability;
  /** @default `fs.fdatasync` */
  disk?: LogDisk;
}

/**
 * Loads `dir`'s log into `store` (an open, empty, in-memory dynalite store)
 * and logs every later write there. Throws {@link DynamoLogCorruptError} when
 * a line other than the last cannot be read.
 */
export async function openLoggedStore(
  store: DynaliteStore,
  dir: string,
  options: LogOptions = {},
): Promise<LogOpened> {
  durabilityOption(options.durability, 'the local DynamoDB option durability');
  const db = store.db as Level;
  const file = join(dir, 'store.jsonl');
  const warnings: string[] = [];
  const unlock = lock(join(dir, 'store.lock'));
  try {
    return await openLocked(store, db, dir, file, warnings, unlock, options);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function openLocked(
  store: DynaliteStore,
  db: Level,
  dir: string,
  file: string,
  warnings: string[],
  unlock: () => void,
  options: LogOptions,
): Promise<LogOpened> {
  if (!existsSync(file) && existsSync(join(dir, 'CURRENT'))) {
    await snapshot(file, await readLevelDb(dir));
    warnings.push(
      `local DynamoDB: read the LevelDB data in ${dir} into ${file}; the LevelDB files are no longer used`,
    );
  }
  const live = new Map<string, unknown>();
  const { lines, goodBytes, tornBytes } = readLog(file, (op) => {
    if (op.length === 2) live.set(op[0], op[1]);
    else live.delete(op[0]);
  });
  if (tornBytes > 0) {
    warnings.push(
      `local DynamoDB: ${file}: cut off a torn last line (${tornBytes} bytes, a crash mid-write)`,
    );
    const fd = openSync(file, 'r+');
    try {
      ftruncateSync(fd, goodBytes);
    } finally {
      closeSync(fd);
    }
  }
  const writes: StoreWrite[] = [...live].map(([key, value]) => ({ type: 'put', key, value }));
  for (let i = 0; i < writes.length; i += SNAPSHOT_BATCH)
    await callback((cb) => db.batch(writes.slice(i, i + SNAPSHOT_BATCH), cb));
  // Many lines per live key, or a large log with more lines than keys (a snapshot has far fewer).
  const grown =
    (lines >= COMPACT_MIN_LINES && lines > COMPACT_RATIO * Math.max(1, live.size)) ||
    (goodBytes > COMPACT_BYTES && lines > live.size);
  if (grown) await snapshot(file, live);

  const fd = openSync(file, 'a', FILE_MODE);
  /** The log's length: every line before it whole. */
  let logBytes = statSync(file).size;
  let open = true;
  const lifecycle = store.lifecycleManager as { getState?(): string } | undefined;
  const log = (line: string): void => {
    // A write the store would refuse is not logged either: the log holds only what was applied.
    if (!open || lifecycle?.getState?.() === 'closed' || (db as { status?: string }).status !== 'open')
      throw new Error('Database is closed');
    logBytes = appendWhole(fd, Buffer.from(line), logBytes);
    linesWritten += 1;
  };
  const sync = (options.durability ?? DEFAULT_DURABILITY) === 'machine';
  const disk = options.disk ?? { fsync: fdatasync };
  let linesWritten = 0;
  let linesSynced = 0;
  let syncing: Promise<void> | undefined;
  /** Resolves once the first `upTo` lines are synced: joins the sync under way, then starts at most one for the rest. */
  const synced = async (upTo: number): Promise<void> => {
    while (linesSynced < upTo) {
      if (!syncing) {
        const target = linesWritten;
        syncing = new Promise<void>((resolve, reject) =>
          disk.fsync(fd, (err) => (err ? reject(err) : resolve())),
        )
          .then(() => {
            linesSynced = Math.max(linesSynced, target);
          })
          .finally(() => {
            syncing = undefined;
          });
      }
      await syncing;
    }
  };
  const batch = db.batch.bind(db);
  type Done = ((err?: Error | null) => void) | undefined;
  /**
   * Logs first, then applies the writes to the store with the values' JSON
   * the line was made of (each value encoded once); a write that cannot be
   * logged (or whose value is not JSON) fails as the store's own failure
   * would, and changes nothing.
   */
  const logged = (ops: StoreWrite[], done: Done): Promise<void> | undefined => {
    let encoded: StoreWrite[];
    try {
      const line = logLine(ops);
      log(line.text);
      encoded = line.ops;
    } catch (err) {
      if (typeof done === 'function') return void setImmediate(done, err as Error);
      return Promise.reject(err);
    }
    const apply = (cb: Done) => batch(encoded, cb);
    if (!sync) return apply(done);
    // Under `machine` durability the write is applied, so readers see it, and answered only once
    // its line is on the disk: nobody can act on what a power cut would take back. (Writers of
    // the same item wait anyway: dynalite holds the item's lock until the answer.)
    const upTo = linesWritten;
    if (typeof done !== 'function') return synced(upTo).then(() => apply(undefined));
    synced(upTo).then(
      () => apply(done),
      (syncErr: Error) => done(syncErr),
    );
    return undefined;
  };
  // A put or a delete is applied as a batch of one: the same change, answered the same way.
  db.put = (key: string, value: unknown, done?: Done) => logged([{ type: 'put', key, value }], done);
  db.del = (key: string, done?: Done) => logged([{ type: 'del', key }], done);
  db.batch = (ops: StoreWrite[], done?: Done) => logged(ops, done);
  return {
    warnings,
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
      unlock();
    },
  };
}

/**
 * A batch's log line, `[[key, value], [key]…]` as `JSON.stringify` writes
 * it, built from each value's JSON text, and the writes carrying those texts
 * for the store to keep. Throws when a value is not JSON (the store refuses it too).
 */
export function logLine(ops: readonly StoreWrite[]): { text: string; ops: StoreWrite[] } {
  const parts: string[] = [];
  const out: StoreWrite[] = [];
  for (const op of ops) {
    if (op.type === 'del') {
      parts.push(`[${JSON.stringify(op.key)}]`);
      out.push(op);
      continue;
    }
    const text = op.text ?? JSON.stringify(op.value);
    if (text === undefined) throw new TypeError(`local DynamoDB: the value at ${op.key} is not JSON`);
    parts.push(`[${JSON.stringify(op.key)},${text}]`);
    out.push({ type: 'put', key: op.key, value: op.value, text });
  }
  return { text: `[${parts.join(',')}]\n`, ops: out };
}

/** Who holds a data directory: the process, and when it started (a reused pid is another process). */
interface Holder {
  pid: number;
  /** `performance.timeOrigin` of the holding process: tells this process from an earlier one with its pid. */
  origin: number;
  /** The process's start in clock ticks since boot (`/proc/<pid>/stat`), where there is one. */
  ticks?: number;
}

/** Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks since boot. */
function startTicks(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.origin === 'number' ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** True while the process that wrote `holder` is still running. */
function holds(holder: Holder): boolean {
  if (holder.pid === process.pid) return holder.origin === performance.timeOrigin;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  // Alive: the same process, unless its start time says the pid was reused.
  const now = startTicks(holder.pid);
  return holder.ticks === undefined || now === undefined || now === holder.ticks;
}

/**
 * The data directory is this process's until the returned function is
 * called; refused while a running process holds it. The lock file is created
 * whole (written aside, then hard-linked into place), and one left by a
 * process that is gone (a kill -9, or a pid now someone else's) is taken
 * over only if it is still the one read.
 */
function lock(file: string): () => void {
  const ticks = startTicks('self');
  const mine = JSON.stringify({
    pid: process.pid,
    origin: performance.timeOrigin,
    ...(ticks !== undefined ? { ticks } : {}),
  });
  const aside = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(aside, mine, { mode: FILE_MODE });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(aside, file);
        return () => {
          // Only our own: a lock taken over after us is not ours to remove.
          if (existsSync(file) && readFileSync(file, 'utf8') === mine) rmSync(file, { force: true });
        };
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
      let seen: string;
      try {
        seen = readFileSync(file, 'utf8');
      } catch {
        continue; // Removed meanwhile: try again.
      }
      const holder = parseHolder(seen);
      if (holder && holds(holder))
        throw new Error(`the local DynamoDB in ${join(file, '..')} is open in process ${holder.pid}`);
      // Gone (or unreadable): take it over, unless someone else did first.
      try {
        if (readFileSync(file, 'utf8') === seen) rmSync(file, { force: true });
      } catch {
        // Removed meanwhile: try again.
      }
    }
    throw new Error(`the local DynamoDB in ${join(file, '..')}: could not take its lock ${file}`);
  } finally {
    rmSync(aside, { force: true });
  }
}

function callback(run: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((err) => (err ? reject(err) : resolve())));
}

/** How much of the log is read at a time when it is opened. */
export const LOG_READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** A longer line is damage: a real one holds at most a transaction's 100 items of 400 KB, or a snapshot batch. */
export const LOG_MAX_LINE_BYTES = 256 * 1024 * 1024;

/**
 * Applies the log's changes in order, read a chunk at a time (so a log of any
 * size opens, in the memory of its live data); a torn last line is reported,
 * not read.
 */
function readLog(
  file: string,
  apply: (op: LoggedOp) => void,
): { lines: number; goodBytes: number; tornBytes: number } {
  if (!existsSync(file)) return { lines: 0, goodBytes: 0, tornBytes: 0 };
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(LOG_READ_CHUNK_BYTES);
    /** The start of a line read so far, in pieces (each a copy: the chunk is read into again). */
    let head: Buffer[] = [];
    let headBytes = 0;
    /** Where in the file that line starts. */
    let lineAt = 0;
    let lines = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const bytes = chunk.subarray(0, n);
      let start = 0;
      for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a, start)) {
        lines += 1;
        const text =
          headBytes > 0
            ? Buffer.concat([...head, bytes.subarray(start, end)]).toString('utf8')
            : bytes.toString('utf8', start, end);
        for (const op of parseLine(file, lines, text)) apply(op);
        lineAt += headBytes + end - start + 1;
        head = [];
        headBytes = 0;
        start = end + 1;
      }
      if (start < n) {
        head.push(Buffer.from(bytes.subarray(start)));
        headBytes += n - start;
        if (headBytes > LOG_MAX_LINE_BYTES)
          throw new DynamoLogCorruptError(file, lines + 1, `a line longer than ${LOG_MAX_LINE_BYTES} bytes`);
      }
    }
    // No newline after the last bytes: the last line, torn by a crash mid-write.
    return { lines, goodBytes: lineAt, tornBytes: headBytes };
  } finally {
    closeSync(fd);
  }
}

/** One line's changes, or the error naming the line. */
function parseLine(file: string, line: number, text: string): LoggedOp[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DynamoLogCorruptError(file, line, `not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (!Array.isArray(parsed)) throw new DynamoLogCorruptError(file, line, 'not a list of changes');
  for (const op of parsed)
    if (!Array.isArray(op) || typeof op[0] !== 'string' || op.length < 1 || op.length > 2)
      throw new DynamoLogCorruptError(file, line, 'a change is not [key, value] or [key]');
  return parsed as LoggedOp[];
}

/** Replaces the log with `entries` as puts, whole or not at all. */
async function snapshot(file: string, entries: Map<string, unknown>): Promise<void> {
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'w', FILE_MODE);
  try {
    let length = 0;
    const line = (ops: LoggedOp[]) => {
      length = appendWhole(fd, Buffer.from(`${JSON.stringify(ops)}\n`), length);
    };
    let batch: LoggedOp[] = [];
    for (const [key, value] of entries) {
      batch.push([key, value]);
      if (batch.length === SNAPSHOT_BATCH) {
        line(batch);
        batch = [];
      }
    }
    if (batch.length > 0) line(batch);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncPath(join(file, '..'));
}

/** Every entry of an earlier version's LevelDB store in `dir`. */
async function readLevelDb(dir: string): Promise<Map<string, unknown>> {
  // dynalite's own `level` (it is dynalite's dependency, not ours), as dynalite opened it with a path.
  const fromDynalite = createRequire(require.resolve('dynalite/package.json'));
  const { Level } = fromDynalite('level') as {
    Level: new (
      path: string,
      o: { valueEncoding: 'json' },
    ) => { open(): Promise<void>; close(): Promise<void>; iterator(): AsyncIterable<[string, unknown]> };
  };
  const old = new Level(dir, { valueEncoding: 'json' });
  await old.open();
  try {
    const out = new Map<string, unknown>();
    for await (const [key, value] of old.iterator()) out.set(key, value);
    return out;
  } finally {
    await old.close();
  }
}
