import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REDRIVABLE_REFUSALS, TERMINAL_ERRORS } from '../../../state-machines/compile/context.js';

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The names of the error classes in `lambdas/` that say no retry can help (`retryable = false`). */
function nonRetryableErrors(): string[] {
  const names: string[] = [];
  for (const file of sources(join(import.meta.dirname, '../../../lambdas'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/class (\w+) extends \w+ \{([\s\S]*?)\n\}/g)) {
      const body = m[2] ?? '';
      const name = /readonly name = '(\w+)'/.exec(body)?.[1];
      if (name && /readonly retryable = false/.test(body)) names.push(name);
    }
  }
  return names.sort();
}

describe('the terminal errors the state machines catch', () => {
  it('name every error a handler throws as not retryable, so none leaves a failed execution with its run still RUNNING', () => {
    const found = nonRetryableErrors();
    // The scan finds them (a rename of the pattern must not make this test pass empty).
    expect(found).toEqual(
      expect.arrayContaining(['ValidationError', 'SummaryRefusedError', 'S3RequestError']),
    );
    // A new one must be decided: recorded as the run's failure, or left for a redrive after a fix.
    expect(found.filter((n) => !TERMINAL_ERRORS.includes(n) && !REDRIVABLE_REFUSALS.includes(n))).toEqual([]);
    expect(TERMINAL_ERRORS.filter((n) => REDRIVABLE_REFUSALS.includes(n))).toEqual([]);
  });
});
