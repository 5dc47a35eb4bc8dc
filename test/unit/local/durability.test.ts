import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../local/cli/start.js';
import { DurabilityError, durabilityFromEnv } from '../../../local/durability.js';

describe('CHAPERONE_DURABILITY', () => {
  it('is process when unset or empty, and either level by name', () => {
    expect(durabilityFromEnv({})).toBe('process');
    expect(durabilityFromEnv({ CHAPERONE_DURABILITY: ' ' })).toBe('process');
    expect(durabilityFromEnv({ CHAPERONE_DURABILITY: 'machine' })).toBe('machine');
    expect(durabilityFromEnv({ CHAPERONE_DURABILITY: 'process' })).toBe('process');
  });

  it('refuses any other value by name instead of quietly meaning the default', () => {
    expect(() => durabilityFromEnv({ CHAPERONE_DURABILITY: 'fsync' })).toThrow(DurabilityError);
    expect(() => durabilityFromEnv({ CHAPERONE_DURABILITY: 'Machine' })).toThrow(
      `CHAPERONE_DURABILITY="Machine" is not a durability level: use 'process' or 'machine'`,
    );
  });

  it('npm start with a misspelt level says so and exits 2 before it starts anything', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'chaperone-durability-')), 'data');
    const lines: string[] = [];
    try {
      const code = await main(['--data-dir', dataDir], (l) => lines.push(l), {
        CHAPERONE_DURABILITY: 'power',
      });
      expect(code).toBe(2);
      expect(lines).toEqual([
        `npm start: CHAPERONE_DURABILITY="power" is not a durability level: use 'process' or 'machine'`,
      ]);
      expect(() => readdirSync(dataDir)).toThrow(/ENOENT/);
    } finally {
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  });
});
