import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Tests fail on stray console output (STYLE.md): a test that means to print
 * must capture the output itself.
 */
const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
let stray: string[] = [];

beforeEach(() => {
  stray = [];
  for (const m of methods) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      stray.push(`console.${m}: ${args.map(String).join(' ').slice(0, 300)}`);
    });
  }
});

afterEach(() => {
  for (const m of methods) vi.mocked(console[m]).mockRestore();
  if (stray.length > 0) {
    const lines = stray;
    stray = [];
    throw new Error(`stray console output in test:\n${lines.join('\n')}`);
  }
});
