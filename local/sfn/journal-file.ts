/**
 * Reading one `journal.jsonl` strictly. A crash mid-append can tear only the
 * last line (appends are one write each, fsynced before anyone relies on
 * them), so a last line without its newline is the one legitimate damage: it
 * is cut off and reported as a warning. Anything else (a line that is not
 * JSON, not a journal line, a repeated key, an event id out of sequence) is
 * corruption: reported with its line number, never skipped or reordered.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import type { JournalLine } from './history.js';
import { isObject } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What reading a journal found. */
export type JournalRead =
  | { ok: true; lines: JournalLine[]; tornBytes: number }
  | { ok: false; lines: JournalLine[]; line: number; reason: string };

/** Parses journal text; `lines` is the good prefix when it is damaged. */
export function parseJournal(data: Buffer | string): JournalRead {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const end = buf.lastIndexOf(0x0a) + 1;
  const tornBytes = buf.length - end;
  const rows: Buffer[] = [];
  for (let start = 0; start < end; ) {
    const nl = buf.indexOf(0x0a, start);
    rows.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  const lines: JournalLine[] = [];
  const keys = new Set<string>();
  let visible = 0;
  for (const [i, row] of rows.entries()) {
    const bad = (reason: string): JournalRead => ({ ok: false, lines, line: i + 1, reason });
    let text: string;
    try {
      text = utf8.decode(row);
    } catch {
      return bad('not UTF-8');
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return bad(`not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
    if (!isObject(raw) || typeof raw.key !== 'string') return bad('not a journal line (no string "key")');
    if (keys.has(raw.key)) return bad(`key ${raw.key} recorded twice`);
    if (raw.kind === 'event') {
      if (!isObject(raw.event) || typeof raw.event.type !== 'string' || typeof raw.event.id !== 'number')
        return bad(`event ${raw.key} has no event type and id`);
      if (raw.hidden !== true) {
        if (raw.event.id !== visible + 1)
          return bad(
            `event ${raw.key} has id ${raw.event.id}, expected ${visible + 1} (events missing or out of order)`,
          );
        visible += 1;
      }
    } else if (raw.kind !== 'record') {
      return bad(`unknown line kind ${JSON.stringify(raw.kind)}`);
    }
    keys.add(raw.key);
    lines.push(raw as JournalLine);
  }
  return { ok: true, lines, tornBytes };
}

/** Reads a journal file; a torn last line is cut off (durably) before anything is appended. */
export function readJournalFile(file: string): JournalRead {
  const data = readFileSync(file);
  const read = parseJournal(data);
  if (read.ok && read.tornBytes > 0) {
    const fd = openSync(file, 'r+');
    try {
      ftruncateSync(fd, data.length - read.tornBytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return read;
}
