import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type HistoryEvent, type JournalLine, parseJournalLine, toHistoryEvent } from './history.js';
import { isObject } from './types.js';

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

/** Where execution journals live. */
export interface ExecutionStore {
  create(meta: ExecutionMeta): ExecutionJournal;
  /** Every execution found in the store, journals loaded. */
  loadAll(): ExecutionJournal[];
}

/** Keeps journals in memory only (conformance runs, throwaway tests). */
export class MemoryExecutionStore implements ExecutionStore {
  private readonly journals: ExecutionJournal[] = [];
  create(meta: ExecutionMeta): ExecutionJournal {
    const j = new ExecutionJournal(meta, () => undefined);
    this.journals.push(j);
    return j;
  }
  loadAll(): ExecutionJournal[] {
    return [...this.journals];
  }
}

/**
 * One directory per execution under `<dataDir>/executions/`: `meta.json`
 * (written atomically) and `journal.jsonl`, fsynced after every append so a
 * kill -9 loses at most the line being written.
 */
export class FileExecutionStore implements ExecutionStore {
  private readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'executions');
    mkdirSync(this.root, { recursive: true });
  }

  create(meta: ExecutionMeta): ExecutionJournal {
    const dir = join(this.root, meta.id);
    mkdirSync(dir, { recursive: true });
    writeDurably(join(dir, 'meta.json'), JSON.stringify(meta));
    return new ExecutionJournal(meta, this.sinkFor(dir));
  }

  loadAll(): ExecutionJournal[] {
    const out: ExecutionJournal[] = [];
    for (const id of readdirSync(this.root).sort()) {
      const dir = join(this.root, id);
      const metaFile = join(dir, 'meta.json');
      if (!existsSync(metaFile)) continue;
      const meta = parseMeta(readFileSync(metaFile, 'utf8'));
      if (!meta) continue;
      const journalFile = join(dir, 'journal.jsonl');
      const lines: JournalLine[] = [];
      if (existsSync(journalFile)) {
        let text = readFileSync(journalFile, 'utf8');
        const end = text.lastIndexOf('\n') + 1;
        if (end < text.length) {
          // A line torn by a crash mid-write: drop it so the next append starts on a clean line.
          truncateSync(journalFile, Buffer.byteLength(text.slice(0, end)));
          text = text.slice(0, end);
        }
        for (const lineText of text.split('\n')) {
          const line = parseJournalLine(lineText);
          if (line) lines.push(line);
        }
      }
      out.push(new ExecutionJournal(meta, this.sinkFor(dir), lines));
    }
    return out;
  }

  private sinkFor(dir: string): (line: JournalLine) => void {
    const file = join(dir, 'journal.jsonl');
    return (line) => {
      const fd = openSync(file, 'a');
      try {
        writeSync(fd, `${JSON.stringify(line)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    };
  }
}

function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

function parseMeta(text: string): ExecutionMeta | undefined {
  try {
    const raw: unknown = JSON.parse(text);
    if (!isObject(raw)) return undefined;
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
    for (const f of fields) if (typeof raw[f] !== 'string') return undefined;
    return raw as unknown as ExecutionMeta;
  } catch {
    return undefined;
  }
}
