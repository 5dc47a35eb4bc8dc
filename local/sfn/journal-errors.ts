/**
 * Damage found in an execution's files at boot. Named and loud: the
 * execution is not resumed (it would replay from a history with a hole in
 * it), nothing on disk is changed, and the report says which execution,
 * which file and which line.
 */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  /** The execution's directory name (its internal id). */
  readonly executionId: string;
  /** The execution's name, when `meta.json` could be read. */
  readonly executionName: string | undefined;
  readonly executionArn: string | undefined;
  readonly file: string;
  /** 1-based line of `file` that is damaged (absent for `meta.json`). */
  readonly line: number | undefined;
  readonly reason: string;

  constructor(
    where: {
      executionId: string;
      executionName?: string;
      executionArn?: string;
      file: string;
      line?: number;
      reason: string;
    },
    options?: { cause?: unknown },
  ) {
    const who = where.executionName
      ? `execution ${where.executionName} (${where.executionId})`
      : `execution directory ${where.executionId}`;
    super(
      `${who}: ${where.file}${where.line !== undefined ? ` line ${where.line}` : ''}: ${where.reason}; the execution is not resumed and its files are left as they are`,
      options,
    );
    this.executionId = where.executionId;
    this.executionName = where.executionName;
    this.executionArn = where.executionArn;
    this.file = where.file;
    this.line = where.line;
    this.reason = where.reason;
  }
}

/** The Step Functions error a damaged execution is reported FAILED with. */
export const JOURNAL_CORRUPT_ERROR = 'States.JournalCorrupt';
