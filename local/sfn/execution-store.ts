import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsync as fsyncCallback,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { type Durability, durabilityOption } from '../durability.js';
import { appendWhole, fsyncPath } from '../fs-append.js';
import { type HistoryEvent, type JournalLine, toHistoryEvent } from './history.js';
import { JournalCorruptError } from './journal-errors.js';
import { readJournalFile } from './journal-file.js';
import { isObject } from './types.js';

/** Journals hold task tokens: only the owner may read them. */
const FILE_MODE = 0o600;

/** What is known about an execution before its journal is read. */
export interface ExecutionMeta {
  /** Internal id, also the directory name. */
  id: string;
  executionArn: string;
  stateMachineArn: string;
  name: string;
  /** The definition as it was when the execution started (JSON text). */
  definition: string;
  input: string;
  startDate: string;
  roleArn: string;
}

/**
 * The journal of one execution: history events plus internal records, both
 * keyed by a deterministic path so a replay can find what already happened.
 */
export class ExecutionJournal {
  readonly events: HistoryEvent[] = [];
  /**
   * Set when the journal was found damaged at boot: `events` is the good
   * prefix, the execution is not resumed and nothing more is written.
   */
  damage: { error: JournalCorruptError; at: Date } | undefined;
  private readonly eventsByKey = new Map<string, HistoryEvent>();
  private readonly records = new Map<string, unknown>();

  constructor(
    readonly meta: ExecutionMeta,
    private readonly sink: (line: JournalLine) => void,
    lines: JournalLine[] = [],
  ) {
    for (const line of lines) this.index(line);
  }

  private index(line: JournalLine): void {
    if (line.kind === 'event') {
      const ev = toHistoryEvent(line);
      if (!line.hidden) this.events.push(ev);
      this.eventsByKey.set(line.key, ev);
    } else {
      this.records.set(line.key, line.value);
    }
  }

  /** The event recorded under `key`, if any. */
  event(key: string): HistoryEvent | undefined {
    return this.eventsByKey.get(key);
  }

  /** True when an internal record exists under `key`. */
  hasRecord(key: string): boolean {
    return this.records.has(key);
  }

  /** The internal record under `key`. */
  record(key: string): unknown {
    return this.records.get(key);
  }

  /** Id the next appended event will get. */
  get nextEventId(): number {
    return this.events.length + 1;
  }

  /** Appends an event durably; returns the existing one if the key was already recorded. */
  appendEvent(
    key: string,
    type: string,
    previousEventId: number,
    timestamp: number,
    details: Record<string, unknown>,
    hidden = false,
  ): HistoryEvent {
    const existing = this.eventsByKey.get(key);
    if (existing) return existing;
    const line: JournalLine = {
      kind: 'event',
      key,
      ...(hidden ? { hidden } : {}),
      event: {
        id: hidden ? 0 : this.nextEventId,
        previousEventId,
        type,
        timestamp: new Date(timestamp).toISOString(),
        ...details,
      },
    };
    this.sink(line);
    this.index(line);
    return this.eventsByKey.get(key) as HistoryEvent;
  }

  /** Appends an internal record durably (first write wins). */
  appendRecord(key: string, value: unknown): unknown {
    if (this.records.has(key)) return this.records.get(key);
    const line: JournalLine = { kind: 'record', key, value };
    this.sink(line);
    this.index(line);
    return value;
  }
}

/** What a store found at boot. */
export interface LoadedExecutions {
  /** Every execution with readable metadata; damaged ones carry `damage`. */
  journals: ExecutionJournal[];
  /** Damage that leaves no execution to show (its `meta.json` is empty or unreadable). */
  damaged: JournalCorruptError[];
  /** Repairs made and leftovers ignored (a torn last line cut off), one sentence each. */
  warnings: string[];
}

/** Where execution journals live. */
export interface ExecutionStore {
  create(meta: ExecutionMeta): ExecutionJournal;
  /** Every execution found in the store, journals loaded. */
  loadAll(): LoadedExecutions;
  /**
   * Resolves when every line appended so far, in every journal, is as durable
   * as the store's level (`local/durability.ts`): written under `process`;
   * written and synced under `machine` (group commit: one fsync per journal
   * for all the lines since its last one, off the event loop). Await it before
   * acting on what was appended.
   */
  durable(): Promise<void>;
  /** {@link durable}, blocking: for an answer that acknowledges a change (SendTaskSuccess). */
  durableSync(): void;
  /** Writes every pending line, without an fsync: before an answer that shows what a kill -9 must not take back. */
  writePending(): void;
  /** Commits what is left and lets go of open files. */
  close(): Promise<void>;
}

/** Keeps journals in memory only (conformance runs, throwaway tests). */
export class MemoryExecutionStore implements ExecutionStore {
  private readonly journals: ExecutionJournal[] = [];
  create(meta: ExecutionMeta): ExecutionJournal {
    const j = new ExecutionJournal(meta, () => undefined);
    this.journals.push(j);
    return j;
  }
  loadAll(): LoadedExecutions {
    return { journals: [...this.journals], damaged: [], warnings: [] };
  }
  async durable(): Promise<void> {}
  durableSync(): void {}
  writePending(): void {}
  async close(): Promise<void> {}
}

/** How a store syncs a journal's descriptor: the real `fs.fdatasync`/`fs.fdatasyncSync`, or a test's disk that records what a power cut would keep. */
export interface JournalDisk {
  fsync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void;
  fsyncSync(fd: number): void;
}

/**
 * A journal is only appended to, and `fdatasync` flushes its data with the
 * metadata needed to read it back (its length), skipping the rest (times):
 * an append's commit costs less than with `fsync`, for the same lines after a
 * power cut. `meta.json` and the directories are still `fsync`ed.
 */
const REAL_DISK: JournalDisk = { fsync: fdatasync, fsyncSync: fdatasyncSync };

/**
 * One journal file's group commit. Appended lines are written together in
 * order, one `write` for all the lines a burst of work appended (at the end
 * of the event-loop turn, or at once when a commit comes first), so a kill -9
 * loses only lines nothing has acted on yet. A commit ({@link durable},
 * {@link durableSync}) writes what is pending and fsyncs everything appended
 * before it was called, sharing an fsync already under way and starting at
 * most one more; the service commits before it invokes, sends or answers. A
 * new execution's `meta.json` is written at once and fsynced, with its
 * directory and the one above, in its first commit, and its lines wait for
 * that commit so none is on disk without it. Under `inline` (a virtual clock) each line
 * is written as it is appended and the fsync runs on the event loop.
 */
class JournalFile {
  private pending: string[] = [];
  /** A write of the pending lines is queued (`setImmediate`). */
  private flushing = false;
  private written = 0;
  /** The file's length while it is open. */
  private bytes = 0;
  private synced = 0;
  private syncing: Promise<void> | undefined;
  private fd: number | undefined;

  constructor(
    readonly file: string,
    private readonly disk: JournalDisk,
    private readonly inline: boolean,
    /** The directory whose `meta.json` the first commit makes durable, while it has not. */
    private metaDir: string | undefined,
    /** `machine` durability: a commit fsyncs; under `process` it only writes (see `local/durability.ts`). */
    private readonly sync: boolean,
  ) {}

  get dirty(): boolean {
    return this.pending.length > 0 || this.synced < this.written || this.metaDir !== undefined;
  }

  append(text: string): void {
    this.pending.push(text);
    // A new execution's lines wait for its first commit, which puts meta.json on disk before them.
    if (this.metaDir !== undefined) return;
    if (this.inline) {
      this.flush();
      return;
    }
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      try {
        this.flush();
      } catch {
        // Left pending: the next commit writes them again and fails with this error where it is awaited.
      }
    });
  }

  /** Writes the pending lines in one `write`; returns how many lines are written in all. */
  flush(): number {
    // Not before meta.json is on disk (the commit that syncs it clears metaDir, then writes).
    if (this.metaDir !== undefined) return this.written;
    if (this.pending.length > 0) {
      if (this.fd === undefined) {
        this.fd = openSync(this.file, 'a', FILE_MODE);
        this.bytes = fstatSync(this.fd).size;
      }
      const lines = this.pending.length;
      const text = lines === 1 ? (this.pending[0] as string) : this.pending.join('');
      // Whole or not at all (a full disk): the lines stay pending for the next commit to report.
      this.bytes = appendWhole(this.fd, Buffer.from(text), this.bytes);
      this.written += lines;
      this.pending = [];
    }
    return this.written;
  }

  async durable(): Promise<void> {
    if (this.inline || !this.sync) return this.durableSync();
    const metaDir = this.metaDir;
    if (metaDir !== undefined) {
      await syncMeta(metaDir);
      this.metaDir = undefined;
    }
    const target = this.flush();
    while (this.synced < target) {
      if (!this.syncing) {
        const upTo = this.flush();
        const fd = this.fd;
        this.syncing = new Promise<void>((resolve, reject) => {
          if (fd === undefined) return resolve();
          this.disk.fsync(fd, (err) => (err ? reject(err) : resolve()));
        })
          .then(() => {
            this.synced = Math.max(this.synced, upTo);
          })
          .finally(() => {
            this.syncing = undefined;
          });
      }
      await this.syncing;
    }
  }

  durableSync(): void {
    if (!this.sync) {
      // Written is as far as `process` durability goes: the kernel has it, a kill -9 cannot take it back.
      this.synced = this.flush();
      return;
    }
    if (this.metaDir !== undefined) {
      syncMetaSync(this.metaDir);
      this.metaDir = undefined;
    }
    this.flush();
    if (this.synced >= this.written || this.fd === undefined) return;
    this.disk.fsyncSync(this.fd);
    this.synced = this.written;
  }

  /** Closes the descriptor once everything is synced; whether none is open now. */
  closeIfSynced(): boolean {
    if (this.fd === undefined) return true;
    if (this.dirty || this.syncing) return false;
    closeSync(this.fd);
    this.fd = undefined;
    return true;
  }
}

/**
 * Most journal descriptors a store keeps open between commits. Before, one
 * was closed after a single batch without a line for it, which under 10
 * concurrent executions reopened nearly every journal at every line (an
 * open and a close, about 1% of the agent loop's CPU).
 */
export const MAX_OPEN_JOURNALS = 64;

/** What a new execution's first commit puts on disk: its `meta.json`, its directory and the entry naming that directory. */
const metaPaths = (dir: string) => [join(dir, 'meta.json'), dir, join(dir, '..')];

/** fsyncs a new execution's {@link metaPaths} at once: its lines wait for all three, in no order among them. */
async function syncMeta(dir: string): Promise<void> {
  await Promise.all(
    metaPaths(dir).map(async (path) => {
      const fd = openSync(path, 'r');
      try {
        await new Promise<void>((resolve, reject) =>
          fsyncCallback(fd, (err) => (err ? reject(err) : resolve())),
        );
      } finally {
        closeSync(fd);
      }
    }),
  );
}

function syncMetaSync(dir: string): void {
  for (const path of metaPaths(dir)) fsyncPath(path);
}

/**
 * One directory per execution under `<dataDir>/executions/`: `meta.json`
 * (written atomically) and `journal.jsonl`. A burst's lines are written
 * together at the end of the turn, so a kill -9 loses only lines nothing has
 * acted on; a commit ({@link durable}), which the service awaits before it
 * acts on them (invokes a Lambda function, answers an API call, reports an
 * execution ended), writes every pending line, and under `machine`
 * durability is the group commit whose fsync makes them survive a power cut.
 */
export class FileExecutionStore implements ExecutionStore {
  private readonly root: string;
  /** Journals with lines (or a `meta.json`) not yet committed. */
  private readonly dirty = new Set<JournalFile>();
  /** Journals whose descriptor may be open, least recently committed first. */
  private readonly open = new Set<JournalFile>();

  private readonly disk: JournalDisk;
  private readonly inline: boolean;
  private readonly sync: boolean;

  /**
   * `inline`: fsync on the event loop at each {@link durable} (still one per
   * batch): for a virtual clock, which reads an idle event loop as "nothing
   * pending" and would fire timers while an fsync is in flight on the thread pool.
   * `durability` (`local/durability.ts`): under `process` a commit writes the
   * pending lines and syncs nothing; under `machine` it fsyncs as described above.
   */
  constructor(
    dataDir: string,
    options: { disk?: JournalDisk; inline?: boolean; durability?: Durability } = {},
  ) {
    this.disk = options.disk ?? REAL_DISK;
    this.inline = options.inline ?? false;
    this.sync =
      durabilityOption(options.durability, 'the local Step Functions option durability') === 'machine';
    this.root = join(dataDir, 'executions');
    mkdirSync(this.root, { recursive: true });
  }

  /**
   * Commits every journal appended to since the last commit. A journal's
   * descriptor stays open between its lines, so running executions append
   * without reopening their files; at most {@link MAX_OPEN_JOURNALS} stay
   * open, the least recently written closed first.
   */
  async durable(): Promise<void> {
    const dirty = [...this.dirty];
    await Promise.all(dirty.map((f) => f.durable()));
    this.settle(dirty);
  }

  durableSync(): void {
    const dirty = [...this.dirty];
    for (const f of dirty) f.durableSync();
    this.settle(dirty);
  }

  /**
   * After a commit of `committed`: the clean ones leave the dirty set and become the most
   * recently used open journals; past {@link MAX_OPEN_JOURNALS}, the least recently used clean
   * ones are closed (reopened by their next line).
   */
  private settle(committed: readonly JournalFile[]): void {
    for (const f of committed) {
      if (!f.dirty) this.dirty.delete(f);
      this.open.delete(f);
      this.open.add(f);
    }
    if (this.open.size <= MAX_OPEN_JOURNALS) return;
    for (const f of this.open) {
      if (this.open.size <= MAX_OPEN_JOURNALS) break;
      if (f.closeIfSynced()) this.open.delete(f);
    }
  }

  writePending(): void {
    for (const f of this.dirty) f.flush();
  }

  async close(): Promise<void> {
    await this.durable();
    for (const f of this.open) f.closeIfSynced();
    this.open.clear();
  }

  create(meta: ExecutionMeta): ExecutionJournal {
    const dir = join(this.root, meta.id);
    makeDirectory(dir);
    writeAtomically(join(dir, 'meta.json'), JSON.stringify(meta));
    // Under `machine` durability, created empty now, so the first commit's sync of the directory
    // names it too: fdatasync of its lines later does not promise the directory entry of a file
    // it created. Under `process` durability the first line's write creates it.
    if (this.sync) closeSync(openSync(join(dir, 'journal.jsonl'), 'a', FILE_MODE));
    return new ExecutionJournal(meta, this.sinkFor(dir, dir));
  }

  /**
   * Reads every execution directory. A torn last journal line (a crash
   * mid-append) is cut off with a warning; any other damage makes a
   * {@link JournalCorruptError} and leaves the files untouched.
   */
  loadAll(): LoadedExecutions {
    const out: LoadedExecutions = { journals: [], damaged: [], warnings: [] };
    const now = new Date();
    for (const id of readdirSync(this.root).sort()) {
      const dir = join(this.root, id);
      if (!statSync(dir).isDirectory()) continue;
      const metaFile = join(dir, 'meta.json');
      const journalFile = join(dir, 'journal.jsonl');
      const hasJournal = existsSync(journalFile) && statSync(journalFile).size > 0;
      if (!existsSync(metaFile)) {
        if (hasJournal) {
          out.damaged.push(
            new JournalCorruptError({
              executionId: id,
              file: metaFile,
              reason: 'missing, but the journal has lines',
            }),
          );
        } else {
          // mkdir, then meta.json by rename: a crash in between leaves an execution StartExecution never answered for.
          out.warnings.push(
            `execution directory ${id} has no meta.json and no journal (a crash inside StartExecution); ignored`,
          );
        }
        continue;
      }
      const meta = parseMeta(readFileSync(metaFile, 'utf8'));
      if (typeof meta === 'string') {
        out.damaged.push(new JournalCorruptError({ executionId: id, file: metaFile, reason: meta }));
        continue;
      }
      const where = {
        executionId: id,
        executionName: meta.name,
        executionArn: meta.executionArn,
        file: journalFile,
      };
      const read = existsSync(journalFile)
        ? readJournalFile(journalFile)
        : { ok: true as const, lines: [], tornBytes: 0 };
      if (!read.ok) {
        const journal = new ExecutionJournal(meta, readOnly(journalFile), read.lines);
        journal.damage = {
          error: new JournalCorruptError({ ...where, line: read.line, reason: read.reason }),
          at: now,
        };
        out.journals.push(journal);
        continue;
      }
      if (read.tornBytes > 0) {
        out.warnings.push(
          `execution ${meta.name} (${id}): ${journalFile}: cut off a torn last line (${read.tornBytes} bytes, a crash mid-append); the execution resumes after line ${read.lines.length}`,
        );
      }
      out.journals.push(new ExecutionJournal(meta, this.sinkFor(dir), read.lines));
    }
    return out;
  }

  /** `newMetaDir`: a new execution's directory, whose `meta.json` the first commit syncs. */
  private sinkFor(dir: string, newMetaDir?: string): (line: JournalLine) => void {
    const file = join(dir, 'journal.jsonl');
    // Under `process` durability meta.json needs no sync before the lines: it was renamed into place before any was written.
    const journal = new JournalFile(
      file,
      this.disk,
      this.inline,
      this.sync ? newMetaDir : undefined,
      this.sync,
    );
    if (journal.dirty) this.dirty.add(journal);
    return (line) => {
      journal.append(`${JSON.stringify(line)}\n`);
      this.dirty.add(journal);
    };
  }
}

/**
 * `mkdir -p` for an execution's directory, whose parent is there already:
 * one call (a recursive mkdir walks the path from the root, ~5× slower here).
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') mkdirSync(dir, { recursive: true });
    else if (code !== 'EEXIST') throw err;
  }
}

/** Whole or not at all, even to a kill -9 mid-write: a temporary file, then a rename. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', FILE_MODE);
  try {
    appendWhole(fd, Buffer.from(text), 0);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** A sink that refuses: a damaged journal is never appended to. */
function readOnly(file: string): (line: JournalLine) => void {
  return (line) => {
    throw new Error(`${file} is damaged and read-only; refused to append ${line.key}`);
  };
}

/** The metadata, or why it cannot be read. */
function parseMeta(text: string): ExecutionMeta | string {
  if (!text.trim()) return 'empty';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return `not JSON: ${JSON.stringify(text.slice(0, 80))}`;
  }
  if (!isObject(raw)) return 'not a JSON object';
  const fields = [
    'id',
    'executionArn',
    'stateMachineArn',
    'name',
    'definition',
    'input',
    'startDate',
    'roleArn',
  ] as const;
  for (const f of fields) if (typeof raw[f] !== 'string') return `field ${f} is missing or not a string`;
  return raw as unknown as ExecutionMeta;
}
