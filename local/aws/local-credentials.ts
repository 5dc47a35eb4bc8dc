/**
 * The region and credentials of the local AWS endpoints. Every endpoint
 * (Step Functions, DynamoDB, SES/SNS/Secrets Manager) verifies SigV4
 * signatures: a stack signs with credentials generated once per data
 * directory (`credentials.json`, mode 0600), so another process on this
 * machine cannot send a task callback or read a table without reading that
 * file first. Servers started on their own (tests, the benchmark) default to
 * the well-known pair {@link LOCAL_CREDENTIALS}.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Region of every local client and ARN. */
export const LOCAL_REGION = 'us-east-1';

/** An access key pair. */
export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The default pair of servers started without credentials of their own (tests, bench). */
export const LOCAL_CREDENTIALS: LocalCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The file in a data directory that holds its credentials. */
export const CREDENTIALS_FILE = 'credentials.json';

/** Thrown when `credentials.json` exists but cannot be used. */
export class LocalCredentialsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalCredentialsError';
  }
}

/**
 * The data directory's credentials: read from `credentials.json`, or
 * generated and written there (mode 0600, created exclusively) on first use.
 */
export function dataDirCredentials(dataDir: string): LocalCredentials {
  const file = join(dataDir, CREDENTIALS_FILE);
  if (!existsSync(file)) {
    const fresh: LocalCredentials = {
      accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64url'),
    };
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(fresh, null, 2)}\n`);
      } finally {
        closeSync(fd);
      }
      return fresh;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another start wrote it first: read theirs.
    }
  }
  // A file from before (or copied in) keeps its keys but loses any group/other access.
  chmodSync(file, 0o600);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LocalCredentialsError(`${file} is not valid JSON; delete it (or start with --reset)`, {
      cause: err,
    });
  }
  const rec = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  if (typeof rec.accessKeyId !== 'string' || typeof rec.secretAccessKey !== 'string')
    throw new LocalCredentialsError(`${file} lacks accessKeyId/secretAccessKey; delete it (or --reset)`);
  return { accessKeyId: rec.accessKeyId, secretAccessKey: rec.secretAccessKey };
}
