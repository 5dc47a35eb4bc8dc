/**
 * `stack.json` in the data directory: where a running local stack listens
 * (written at start, removed at close), so the CLI can find it without
 * `--api`. A file left by a stack that died (kill -9) names a process that
 * no longer exists and is ignored.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a running stack writes about itself. */
export interface RunningStack {
  pid: number;
  apiUrl: string;
  sfnUrl: string;
  dynamoUrl: string;
  servicesUrl: string;
  startedAt: string;
}

/** The file's name in the data directory. */
export const RUNNING_FILE = 'stack.json';

/** Writes `stack.json` (mode 0600); returns a function that removes it if it is still this process's. */
export function announceRunningStack(dataDir: string, running: RunningStack): () => void {
  const file = join(dataDir, RUNNING_FILE);
  writeFileSync(file, `${JSON.stringify(running, null, 2)}\n`, { mode: 0o600 });
  return () => {
    if (readRunningStack(dataDir, { checkAlive: false })?.pid === running.pid) rmSync(file, { force: true });
  };
}

/**
 * The stack running on this data directory, if `stack.json` names a live
 * process; undefined when there is none (or it names a dead one).
 */
export function readRunningStack(
  dataDir: string,
  options: { checkAlive?: boolean } = {},
): RunningStack | undefined {
  const file = join(dataDir, RUNNING_FILE);
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const r = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const strings = ['apiUrl', 'sfnUrl', 'dynamoUrl', 'servicesUrl', 'startedAt'] as const;
  if (typeof r.pid !== 'number' || strings.some((k) => typeof r[k] !== 'string')) return undefined;
  const running = r as unknown as RunningStack;
  if (options.checkAlive !== false && !isAlive(running.pid)) return undefined;
  return running;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
