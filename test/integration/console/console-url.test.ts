import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../local/cli/start.js';

describe('npm start / chaperone dev', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('prints the run console’s URL on the local API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-console-url-'));
    dirs.push(dir);
    const lines: string[] = [];

    const code = await main(['--data-dir', dir, '--no-demo'], (l) => lines.push(l), {});

    const api = /API (http:\/\/127\.0\.0\.1:\d+)/.exec(lines.join('\n'))?.[1];
    expect(code).toBe(0);
    expect(api).toBeDefined();
    expect(lines).toContain(`Console: ${api}/console`);
  });
});
