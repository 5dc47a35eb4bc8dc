/**
 * The API port of a data directory. Approval links in emails carry the API
 * URL, so a restarted stack must listen where the links point: the first
 * start picks a port (or takes the one asked for) and writes it to
 * `ports.json`; later starts reuse it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError } from './errors.js';

/** Ports kept in the data directory. */
export interface PersistedPorts {
  api?: number;
}

const FILE = 'ports.json';

/** Reads `ports.json`; empty when there is none yet. */
export function readPorts(dataDir: string): PersistedPorts {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const api = typeof value === 'object' && value !== null ? (value as { api?: unknown }).api : undefined;
    return typeof api === 'number' && Number.isInteger(api) && api > 0 && api < 65536 ? { api } : {};
  } catch (err) {
    throw new DataDirError(`${file} is not valid JSON; delete it (or start with --reset)`, { cause: err });
  }
}

/** Writes `ports.json`. */
export function writePorts(dataDir: string, ports: PersistedPorts): void {
  writeFileSync(join(dataDir, FILE), `${JSON.stringify(ports, null, 2)}\n`);
}
