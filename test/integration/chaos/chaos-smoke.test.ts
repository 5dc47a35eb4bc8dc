import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const KEYS = [
  'runsPosted',
  'kills',
  'runsLost',
  'runsStuck',
  'runsFailed',
  'sideEffectsDoubled',
  'modelCallsRepeated',
  'conversationsChanged',
  'trailEventsMissing',
  'trailEventsDuplicated',
  'tokensUnsettled',
];

function chaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/chaos/chaos.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ANTHROPIC_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run chaos (smoke, tiny numbers)', () => {
  it('kills and restarts the real dev server, then prints the figures as one JSON object', async () => {
    const { code, stdout, stderr } = await chaos([
      '--runs',
      '3',
      '--kills',
      '2',
      '--seed',
      '11',
      '--deadline',
      '60',
      '--json',
    ]);

    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const figures = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    for (const key of KEYS) {
      expect(Number.isInteger(figures[key]), key).toBe(true);
      expect(figures[key] as number, key).toBeGreaterThanOrEqual(0);
    }
    expect(figures.runsPosted).toBe(3);
    expect(figures.kills as number).toBeGreaterThanOrEqual(2);
    expect(stderr).toMatch(/kill 2 \(/);
  }, 240_000);

  it('refuses an unknown flag with a usage error', async () => {
    const { code, stderr } = await chaos(['--runz', '3']);

    expect(code).toBe(2);
    expect(stderr).toContain('unknown option --runz');
  });
});
